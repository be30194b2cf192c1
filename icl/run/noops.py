"""Conditions that change nothing: runs whose prompts are exactly another run's, found from the prompts.

A sweep is the product of its lists, so some combinations cannot differ from others (a selector at 0
shots, where no demo is chosen) and some only look as if they do (hints under a template that never
renders them). Which is which is decided by data, not by a list of cases: every built run gets a
fingerprint of what its engine would be asked (each item's prompt, decoding parameters or scored
continuations, and its reference), and runs with equal fingerprints are one run.

For an axis value that makes a run equal to another, the question is whether that value changes what
the model sees anywhere in the sweep:
- it does somewhere (selectors at 5 shots, but not at 0): the equal runs are collapsed into one, the
  one with the baseline value (augment `none`, morph off, else the first value the sweep lists), and
  the table says which other values it also stands for and why;
- it does nowhere (`augment: [none, hints]` with mt/plain only): the sweep is refused, one line per
  such value, naming the runs and what would make it take effect.
An augmentation or morph value with no baseline run in the sweep is compared with a twin built
outside it (the same run with augment `none` / morph off), so a lone `augment: [hints]` under a
template without hints is refused too. A zero in a gains table is then always a measured zero.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, fields, replace
from typing import Any

from icl.prompts.render import load_template, template_variables
from icl.run.items import RunItems
from icl.run.requests import gen_params
from icl.spec import RunSpec

BASELINES: dict[str, Any] = {"augment": "none", "morph": False}
"""Axis values that mean "without it", compared with even when the sweep does not list them."""

AXES = ("template", "selector", "pool", "seed", "augment", "morph")
"""Listed sweep values that can turn out to change nothing; a difference in any other field (model,
language, shots, data set, limits) is always a real one."""

SWEEP_WIDE = frozenset({"seed"})
"""Axes listed once for the whole sweep (`seeds:`), not per task section: a seed that matters for one
task's runs is meant for the sweep, though it changes nothing in another's."""

_SKIP = ("sweep",)


def fingerprint(spec: RunSpec, run_items: RunItems, identity: str) -> str:
    """What a run would ask its engine, item by item, and what its answers are scored against. The
    decoding seed counts only where decoding samples (it never changes a greedy output)."""
    digest = hashlib.sha256(identity.encode())
    for item in run_items.items:
        parts: list[Any] = [item.example.target]
        prompt = item.prompt.as_key()
        if spec.ranks:  # what item_requests would send, without hashing a cache key per label
            parts += [[prompt, continuation] for continuation in item.candidates]
        else:
            params = gen_params(spec, item)
            parts.append([prompt, params.max_tokens, list(params.stop), params.temperature,
                          params.seed if params.temperature > 0 else None])
        digest.update(json.dumps(parts, ensure_ascii=False).encode())
    return digest.hexdigest()


@dataclass(frozen=True)
class SameAs:
    """Another run (or a twin outside the sweep) that would show the model exactly what a kept run shows."""

    fields: tuple[tuple[str, Any], ...]
    """Where it differs from the kept run, as spec.json spells the values."""
    run_id: str | None
    """Its id; None for a twin outside the sweep."""
    why: str
    """Why the difference changes nothing here."""

    def to_json(self) -> dict[str, Any]:
        return {"fields": dict(self.fields), "run_id": self.run_id, "why": self.why}


@dataclass(frozen=True)
class NoOps:
    """The outcome of the check."""

    kept: tuple[RunSpec, ...]
    """Runs that stay, in sweep order (unbuilt runs stay too)."""
    same_as: Mapping[RunSpec, tuple[SameAs, ...]]
    """Kept run -> the runs collapsed into it (and twins it equals)."""
    problems: tuple[str, ...]
    """Values that change no prompt anywhere in the sweep: the sweep must not run as it is."""


def _spelled(field: str, value: Any) -> Any:
    """A value as spec.json writes it (morph on/off, a pool's text), so filters over spec.json match it."""
    if field == "morph":
        return "on" if value else "off"
    if field == "pool":
        return value.text
    return value


def find_noops(runs: Sequence[RunSpec], prints: Mapping[RunSpec, str],
               twin_print: Callable[[RunSpec], str | None]) -> NoOps:
    """Collapse or refuse runs equal to others (see the module docstring). `prints`: the fingerprint of
    every built run; `twin_print(spec)` builds a run outside the sweep and fingerprints it (None where
    it cannot be built without the model)."""
    check = _Check(runs, prints, twin_print)
    groups: dict[str, list[RunSpec]] = {}
    for spec in runs:
        if spec in prints:
            groups.setdefault(prints[spec], []).append(spec)
    for group in groups.values():
        if len(group) > 1:
            check.collapse(group)
    for spec in runs:
        if spec in prints and spec not in check.dropped:
            check.against_twins(spec)
    lines = tuple(f"{f}: {value} changes no prompt in {len(specs)} run{'s' if len(specs) > 1 else ''} "
                  f"(e.g. {specs[0].run_id}): {why}" for (f, value, why), specs in check.problems.items())
    return NoOps(tuple(s for s in runs if s not in check.dropped), {k: tuple(v) for k, v in check.same_as.items()},
                 lines)


class _Check:
    """The state of one no-op check: fingerprints (built lazily for twins outside the sweep), which values
    change a prompt somewhere, and what was collapsed or refused so far."""

    def __init__(self, runs: Sequence[RunSpec], prints: Mapping[RunSpec, str],
                 twin_print: Callable[[RunSpec], str | None]) -> None:
        self.runs, self.prints, self.twin_print = runs, prints, twin_print
        self.order = {spec: i for i, spec in enumerate(runs)}
        self.first: dict[tuple[str, str], Any] = {}
        for spec in runs:
            for f in AXES:
                self.first.setdefault((spec.task, f), getattr(spec, f))
        self.twins: dict[RunSpec, str | None] = {}
        self.effective_memo: dict[tuple[str, str, Any], bool] = {}
        self.same_as: dict[RunSpec, list[SameAs]] = {}
        self.dropped: set[RunSpec] = set()
        self.problems: dict[tuple[str, str, str], list[RunSpec]] = {}

    def print_of(self, spec: RunSpec) -> str | None:
        if spec in self.prints:
            return self.prints[spec]
        if spec not in self.twins:
            self.twins[spec] = self.twin_print(spec)
        return self.twins[spec]

    def baseline(self, spec: RunSpec, f: str) -> Any:
        return BASELINES.get(f, self.first[(spec.task, f)])

    def effective(self, task: str, f: str, value: Any) -> bool:
        """Whether `f: value` changes a prompt in at least one run of the sweep (or can't be told): of the
        task's section, or of any task for the sweep-wide seeds."""
        key = (task if f not in SWEEP_WIDE else "", f, value)
        if key not in self.effective_memo:
            self.effective_memo[key] = False
            for spec in self.runs:
                if (key[0] and spec.task != task) or getattr(spec, f) != value or value == self.baseline(spec, f):
                    continue
                mine, theirs = self.prints.get(spec), self.print_of(replace(spec, **{f: self.baseline(spec, f)}))
                if mine is None or theirs is None or mine != theirs:
                    self.effective_memo[key] = True
                    break
        return self.effective_memo[key]

    def collapse(self, group: list[RunSpec]) -> None:
        """Runs with one fingerprint: kept is the baseline's (augment none, morph off, else the first listed);
        each other is collapsed into it, or refused where its value changes nothing anywhere."""
        kept = min(group, key=lambda s: (s.augment != BASELINES["augment"], s.morph != BASELINES["morph"],
                                         self.order[s]))
        for other in group:
            if other is kept:
                continue
            diffs = [f.name for f in fields(RunSpec) if f.name not in _SKIP and getattr(other, f.name) != getattr(kept, f.name)]
            inert = [f for f in diffs if f in AXES and not self.effective(other.task, f, getattr(other, f))]
            why = explain(other, kept, diffs)
            if inert:
                for f in inert:
                    self.problems.setdefault((f, _spelled(f, getattr(other, f)), why), []).append(other)
                continue
            self.same_as.setdefault(kept, []).append(
                SameAs(tuple((f, _spelled(f, getattr(other, f))) for f in diffs), other.run_id, why))
            self.dropped.add(other)

    def against_twins(self, spec: RunSpec) -> None:
        """A lone non-baseline augment/morph value: compared with its twin outside the sweep."""
        for f, base in BASELINES.items():
            twin = replace(spec, **{f: base})
            if getattr(spec, f) == base or twin in self.order or self.print_of(twin) != self.prints[spec]:
                continue
            why = explain(spec, twin, [f])
            if self.effective(spec.task, f, getattr(spec, f)):
                self.same_as.setdefault(spec, []).append(SameAs(((f, _spelled(f, base)),), None, why))
            else:
                self.problems.setdefault((f, _spelled(f, getattr(spec, f)), why), []).append(spec)


def explain(spec: RunSpec, other: RunSpec, diffs: Sequence[str]) -> str:
    """Why `spec` shows the model what `other` shows, in the words a researcher needs to act on it."""
    reasons = []
    for f in diffs:
        value, base = getattr(spec, f), getattr(other, f)
        if f in ("selector", "pool", "seed") and spec.shots == 0:
            reasons.append(f"at 0 shots no demo is shown, so the {f} changes nothing (it takes effect with shots > 0)")
        elif f == "seed":
            reasons.append(f"nothing here is random: the {spec.selector} selector picks the same demos for every "
                           "seed and decoding is greedy (seeds matter with the random or shared selector)")
        elif f == "augment":
            reasons.append(_augment_reason(spec, value, base))
        elif f == "morph":
            reasons.append(_morph_reason(spec))
        elif f == "template":
            reasons.append(f"templates {value} and {base} render the same prompts for these items")
        else:
            reasons.append(f"{f} {_spelled(f, value)} gives the same prompts as {_spelled(f, base)}")
    return "; ".join(dict.fromkeys(reasons))


def _augment_reason(spec: RunSpec, value: str, base: str) -> str:
    hints = "hints" in value.split("+") and "hints" not in base.split("+")
    demos = value != base and spec.shots == 0
    reasons = []
    if hints and "hints" not in template_variables(load_template(spec.template)):
        reasons.append(f"template {spec.template} does not render hints (use one that does, e.g. "
                       f"{spec.task}/hints)")
    elif hints:
        reasons.append("no query word is in the lexicon, so no item got a hint")
    if demos and value.replace("hints", "").strip("+"):
        reasons.append("at 0 shots no demo is shown, so demos made by the augmentation change nothing")
    return "; ".join(reasons) or f"augment {value} gives the same prompts as {base} here"


def _morph_reason(spec: RunSpec) -> str:
    if "hints" not in spec.augment and "synthetic" not in spec.augment:
        return f"morph inflects lexicon words, and augment {spec.augment} uses none (use hints or synthetic)"
    if spec.augment == "hints" and spec.src != "eng":
        return "hints look the source language's words up as they are; morph inflects English-source hints only"
    from icl.augment.lexical.pseudo import morph_tables

    if morph_tables(spec.language).tgt is None:
        return f"UniMorph has no table for {spec.language}, so no word can be inflected"
    return "no lexicon word here needed inflecting"
