"""Before any model loads: every run's prompts built (or its data checked, where its model must label
its demos first), every problem collected into one message, and runs that change nothing collapsed or
refused (icl.run.noops). `icl run` and `icl plan` both go through here, so a sweep that cannot run as
written says everything that is wrong with it at once, and only once.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from icl.augment.augmenters import needs_model
from icl.data import Registry, load_run
from icl.errors import ConfigError, IclError
from icl.run.items import RunItems, build_items, check_pool
from icl.run.noops import NoOps, SameAs, find_noops, fingerprint
from icl.run.requests import engine_identity
from icl.run.timings import Phases
from icl.spec import RunSpec

MAX_LISTED = 6
"""Run ids named per problem in the message (the count says how many more)."""


T = TypeVar("T")


@dataclass(frozen=True)
class Prepared(Generic[T]):
    """What is left to run, and how."""

    runs: tuple[RunSpec, ...]
    """Runs that stay, in sweep order (without those that cannot be built)."""
    built: Mapping[RunSpec, T]
    """What `build` made of each kept run that needs no model (prompts, or request keys)."""
    same_as: Mapping[RunSpec, tuple[SameAs, ...]]
    """Kept run -> the runs it stands for (identical prompts)."""
    problems: str = ""
    """Why the sweep cannot run as written, as one message ('' where it can)."""
    collapsed: int = 0
    """Runs collapsed into others (identical prompts)."""
    failed: int = 0
    """Runs that cannot be built (`problems` says why); neither kept nor collapsed."""


def sweep_problems(build: Mapping[str, Sequence[str]], noop_lines: Sequence[str], total: int) -> str:
    """One message for everything that stops a sweep: each distinct problem once, with the runs it
    concerns (`build`: message -> run ids), then each value that changes nothing. A single problem
    stays one line, as every icl error is."""
    lines = []
    for message, run_ids in build.items():
        listed = ", ".join(run_ids[:MAX_LISTED]) + (f" and {len(run_ids) - MAX_LISTED} more" if len(run_ids) > MAX_LISTED
                                                     else "")
        lines.append(f"{message} ({len(run_ids)} of {total} runs: {listed})")
    lines += list(noop_lines)
    if len(lines) == 1:
        return lines[0]
    unusable = sum(len(v) for v in build.values())
    head = f"{unusable} of {total} runs cannot be built" if unusable else "some conditions of the sweep change nothing"
    if unusable and noop_lines:
        head += ", and some conditions change nothing"
    return f"{head}; nothing was run, fix these first:\n" + "\n".join(f"- {line}" for line in lines)


def prepare(runs: Sequence[RunSpec], registry: Registry, build: Callable[[RunSpec], T | None],
            fingerprint_of: Callable[[RunSpec, T], str], augmenter: Callable[..., Any] | None = None,
            on_run: Callable[[], None] | None = None) -> Prepared[T]:
    """The one prepare step of `icl run`, `icl plan` and `icl author`: `build` each run (its prompts for the
    runner, its request keys for the planner; None where its model must label its demos first), collect
    every problem by message, and settle no-ops on the fingerprints. Problems are returned, not raised, so
    the planner lists the same ones the runner refuses."""
    built: dict[RunSpec, T] = {}
    problems: dict[str, list[str]] = {}
    for spec in runs:
        try:
            value = build(spec)
            if value is not None:
                built[spec] = value
        except IclError as exc:
            problems.setdefault(str(exc), []).append(spec.run_id)
        if on_run is not None:
            on_run()
    failed = {run_id for ids in problems.values() for run_id in ids}
    noops = check_noops([s for s in runs if s.run_id not in failed], {}, registry, augmenter,
                        prints={s: fingerprint_of(s, v) for s, v in built.items()})
    message = sweep_problems(problems, noops.problems, len(runs)) if problems or noops.problems else ""
    kept = tuple(s for s in noops.kept if s.run_id not in failed)
    return Prepared(kept, {s: built[s] for s in kept if s in built}, noops.same_as, message,
                    len(runs) - len(failed) - len(noops.kept), len(failed))


def prepare_runs(runs: Sequence[RunSpec], registry: Registry, augmenter: Callable[..., Any] | None = None,
                 phases: Phases | None = None, on_run: Callable[[], None] | None = None) -> Prepared[RunItems]:
    """`prepare` with the runner's build (every prompt of a run that needs no model; the data of the others
    checked); raises one ConfigError listing every problem where the sweep cannot run as written."""
    phases = phases or Phases()
    identities: dict[Any, str] = {}

    def build(spec: RunSpec) -> RunItems | None:
        if needs_model(spec):  # built once its model is loaded; its data and pool are checked now
            with phases.phase("data load"):
                check_pool(spec, load_run(spec, registry))
            return None
        with phases.rest("prompt build"):  # data load is a phase of its own inside
            return build_items(spec, registry, augmenter, None, phases)

    def fingerprint_of(spec: RunSpec, items: RunItems) -> str:
        identity = identities.setdefault(spec.model, engine_identity(spec.model))
        return fingerprint(spec, items, identity)

    prepared = prepare(runs, registry, build, fingerprint_of, augmenter, on_run)
    if prepared.problems:
        raise ConfigError(prepared.problems)
    return prepared


def pool_problems(runs: Sequence[RunSpec], registry: Registry) -> str:
    """What the data alone says is wrong (`icl plan --quick`): pools drawn from the split a run scores
    (icl.run.leaks), and data that cannot be read, as one message ('' where there is nothing)."""
    problems: dict[str, list[str]] = {}
    for spec in runs:
        try:
            check_pool(spec, load_run(spec, registry))
        except IclError as exc:
            problems.setdefault(str(exc), []).append(spec.run_id)
    return sweep_problems(problems, (), len(runs)) if problems else ""


def check_noops(runs: Sequence[RunSpec], built: Mapping[RunSpec, RunItems], registry: Registry,
                augmenter: Callable[..., Any] | None = None, prints: Mapping[RunSpec, str] | None = None) -> NoOps:
    """icl.run.noops on built runs (or on fingerprints already known, `prints`); twins outside the sweep
    are built here when it needs one."""

    def twin_print(spec: RunSpec) -> str | None:
        if needs_model(spec):
            return None
        try:
            return fingerprint(spec, build_items(spec, registry, augmenter), engine_identity(spec.model))
        except IclError:
            return None

    if prints is None:
        identities = {model: engine_identity(model) for model in {spec.model for spec in built}}
        prints = {spec: fingerprint(spec, items, identities[spec.model]) for spec, items in built.items()}
    return find_noops(runs, prints, twin_print)
