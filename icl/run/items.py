"""A run's prompts: its data, augmented demonstration pool, selected demos and rendered templates.

The steps data -> augment -> shots -> prompts, for one run, in one function (`build_items`), so the
runner, `icl plan` and `icl prompts render` build exactly the same prompts.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any

from icl.augment.selflabel import Labeler
from icl.data import Registry, RunData, builtin_registry, load_run
from icl.data.files import recording
from icl.errors import ConfigError
from icl.prompts.render import RenderedTemplate, answers, load_template, render
from icl.run.leaks import check, exclude, leak_message, near_warnings
from icl.run.timings import Phases
from icl.shots import prepare
from icl.spec import RunSpec
from icl.tasks import get_task
from icl.values import Example, LabelSet
from icl.values.prompt import Prompt


@dataclass(frozen=True)
class PromptItem:
    """One test item ready for the engine."""

    example: Example
    demos: tuple[Example, ...]
    prompt: Prompt
    stop: tuple[str, ...]
    candidates: tuple[str, ...] = ()
    """Rank mode: the answer continuation of every label, aligned with the run's `labels`."""
    hints: tuple[dict[str, Any], ...] = ()


@dataclass(frozen=True)
class RunItems:
    """A run's rendered prompts and the label inventory they were built against."""

    items: tuple[PromptItem, ...]
    labels: LabelSet | None
    pool_source: str = ""
    """Where the gold demonstration pool came from (RunData.pool_source, e.g. `flores200/dev`): written
    to spec.json and metrics.json as `demo_source`."""
    leak_excluded: int | None = None
    """A held-out pool's items left out because they repeat a scored item (icl.run.leaks.exclude);
    None where the pool is not held out. Written to spec.json."""
    leak_warnings: tuple[str, ...] = ()
    """Near misses: demos that resemble a scored item below the refusing threshold (metrics.json)."""
    template_path: str = ""
    """The template file rendered ('' for an unsaved edit): its hash goes into provenance.json."""
    files: tuple[str, ...] = ()
    """The files the run's data, pool, labels and augmentation were read from (icl.data.files.recording):
    their hashes go into provenance.json."""


def build_items(spec: RunSpec, registry: Registry | None = None, augmenter: Callable[..., Any] | None = None,
                labeler: Labeler | None = None, phases: Phases | None = None,
                template: RenderedTemplate | None = None) -> RunItems:
    """Select demos and render every prompt of a run (deterministic for a given spec). `labeler` lends
    the run's model to augmentations that need it (`selflabel`). `phases` times reading the data apart
    from the rest. `template` renders instead of the file `spec.template` names (`icl author`'s unsaved
    edit of it; everything else about the run stays the spec's)."""
    task = get_task(spec.task)
    registry = registry or builtin_registry()
    unsaved = template is not None
    with recording() as files:  # everything read below, lexicons that hints look up lazily included
        with (phases or Phases()).phase("data load"):
            data = load_run(spec, registry)
        data, excluded = _held_out(spec, data, task.parallel)
        if augmenter is None and spec.augment != "none":
            from icl.augment.augmenters import augment as augmenter
        hint_fn = None
        pool: list[Example] | tuple[Example, ...] = data.pool
        if augmenter is not None:
            pool, hint_fn = augmenter(spec, data, labeler, registry)
        template = template or load_template(spec.template)
        items = _render_items(spec, data, pool, hint_fn, template)
    report = check(data.pool if spec.shots else (), (d for item in items for d in item.demos), data.test,
                   task.parallel)
    if report.leaks:
        raise ConfigError(leak_message(spec.pool.text, data.pool_source, report.leaks))
    return RunItems(tuple(items), data.labels, data.pool_source, excluded, tuple(near_warnings(report)),
                    "" if unsaved else str(template.path), tuple(files))


def _render_items(spec: RunSpec, data: RunData, pool: Sequence[Example], hint_fn: Callable[[Example], Any] | None,
                  template: RenderedTemplate) -> list[PromptItem]:
    """Each test item's demos (the run's own seeded `random.Random`), hints and rendered prompt."""
    task = get_task(spec.task)
    rng = random.Random(spec.seed)
    select = prepare(spec.selector, pool, data.test if spec.shots else (), spec.fixed_ids, spec.shots)
    cand_args = task.answer_args(data.labels) if spec.ranks else []
    items = []
    for ex in data.test:
        demos = tuple(select(ex, spec.shots, rng)) if spec.shots else ()
        hints = tuple(hint_fn(ex)) if hint_fn is not None else ()
        ctx = task.context(ex, demos, hints, data.labels)
        rendered = render(template, ctx)
        cands = tuple(answers(template, ctx, cand_args)) if cand_args else ()
        items.append(PromptItem(ex, demos, rendered.prompt, rendered.stop, cands, hints))
    return items


def _held_out(spec: RunSpec, data: RunData, parallel: bool) -> tuple[RunData, int | None]:
    """A held-out pool (or any pool under `leaks: exclude`) without the items that repeat a scored item (the
    sweep means the pool to share the scored split, so they are left out rather than refused), and how
    many; (data, None) otherwise."""
    if not (spec.pool.heldout or spec.leaks == "exclude"):
        return data, None
    if not spec.shots:
        return data, 0
    kept, excluded = exclude(data.pool, data.test, parallel)
    return (replace(data, pool=tuple(kept)) if excluded else data), excluded


def check_pool(spec: RunSpec, data: RunData) -> None:
    """The part of the check that needs no demos (a pool drawn from the scored split), for runs whose
    demos the model makes first (self-labelled): raise ConfigError as build_items would."""
    if not spec.shots:
        return
    report = check(data.pool, (), data.test, get_task(spec.task).parallel)
    if report.leaks:
        raise ConfigError(leak_message(spec.pool.text, data.pool_source, report.leaks))
