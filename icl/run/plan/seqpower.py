"""`icl plan --power` for a sweep with a `sequential:` design: from a pilot, the most and the expected items of
each comparison's runs and what they cost, beside the fixed design of the same maximum.

Each simulated study draws every row's looks from the pilot (its gain as the truth, its standard error scaled to
the items of each look, icl.analysis.simulate's normal looks), decides them family by family as a study does
(icl.analysis.sequential), and gives each run the items of its last row still asking for them (a run serves
several rows; it stops when all of them are decided). The pilot may be a results folder with its runs, or only
its gains.json (a study's committed summary): a row needs its gain, standard error (or discordant share), items,
family and run names.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from icl.analysis.gains import Gain
from icl.analysis.sequential import OPEN, RowPath
from icl.analysis.simulate import normal_look, stopped
from icl.run.plan.power import available_items
from icl.sweep.design import Design, schedule


@dataclass(frozen=True)
class SeqPowerRow:
    """One comparison (shots, metric) of a sequential design, over its language pairs."""

    comparison: str
    task: str
    shots: int
    metric: str
    family: str
    rows: int
    most: int
    """Items a run may get (the task's maximum)."""
    expected: float
    """Mean items of the comparison's runs at stopping, over the simulated studies."""
    effect: float
    """Share of rows decided `effect`."""
    no_effect: float
    open: float


@dataclass(frozen=True)
class SeqPowerPlan:
    rows: tuple[SeqPowerRow, ...]
    fixed_seconds: float | None
    """Engine time of every run at its maximum, at the recorded seconds per item."""
    expected_seconds: float | None
    fixed_items: int
    expected_items: float
    studies: int


def sequential_power(sweep: Any, pilot: Sequence[Gain], design: Design, max_items: Mapping[str, int],
                     seconds_per_item: Mapping[str, float | None], studies: int = 500, seed: int = 0) -> SeqPowerPlan:
    """Simulate the design `studies` times on the pilot's rows (`max_items`: each task's maximum)."""
    rng = np.random.default_rng(seed)
    rows = [g for g in pilot if g.task in max_items]
    plans = {task: schedule(n, design.looks) for task, n in max_items.items()}
    runs = sorted({r for g in rows for r in (g.baseline_run, g.system_run)})
    task_of = {r: g.task for g in rows for r in (g.baseline_run, g.system_run)}
    items = np.zeros((studies, len(runs)))
    counts = np.zeros((len(rows), 3))
    stop_items = np.zeros((studies, len(rows)))
    for s in range(studies):
        paths = [_path(i, g, plans[g.task], rng) for i, g in enumerate(rows)]
        decisions = _replayed(paths, design)
        for i, (g, d) in enumerate(zip(rows, decisions, strict=True)):
            counts[i, ("effect", "no effect", OPEN).index(d.decision)] += 1
            stop_items[s, i] = d.items
            if design.drives(g.family.split("/")[0], g.metric) or d.look == 1:
                for r in (g.baseline_run, g.system_run):
                    j = runs.index(r)
                    items[s, j] = max(items[s, j], d.items)
        for j, r in enumerate(runs):  # a run serving no driving row gets the first look's items
            items[s, j] = max(items[s, j], plans[task_of[r]][0])
    return _summary(sweep, rows, runs, task_of, plans, items, counts, stop_items, seconds_per_item, studies)


def _path(key: int, g: Gain, plan: Sequence[int], rng: np.random.Generator) -> RowPath:
    """A row's looks drawn around the pilot's gain, its standard error scaled from the pilot's n to each look."""
    se_pilot = _se(g)
    fractions = tuple(n / plan[-1] for n in plan)
    w = np.cumsum(rng.standard_normal(len(plan)) * np.sqrt(np.diff((0.0, *fractions))))
    se_max = se_pilot * math.sqrt(g.n / plan[-1])
    looks = tuple(normal_look(n, g.delta + se_max * w[k] / t, se_max / math.sqrt(t))
                  for k, (n, t) in enumerate(zip(plan, fractions, strict=True)))
    return RowPath(key, g.family.split("/")[0], g.metric, fractions, looks)


def _se(g: Gain) -> float:
    if g.discordant is not None:
        d = g.discordant
        return 100.0 * math.sqrt(max(d - (g.delta / 100.0) ** 2, 1e-6) / g.n)
    return g.se


def _replayed(paths: Sequence[RowPath], design: Design) -> list:
    return stopped(paths, design)


def _summary(sweep: Any, rows: Sequence[Gain], runs: Sequence[str], task_of: Mapping[str, str],
             plans: Mapping[str, Sequence[int]], items: np.ndarray, counts: np.ndarray, stop_items: np.ndarray,
             seconds_per_item: Mapping[str, float | None], studies: int) -> SeqPowerPlan:
    groups: dict[tuple[str, str, int, str, str], list[int]] = {}
    for i, g in enumerate(rows):
        groups.setdefault((g.comparison, g.task, g.shots, g.metric, g.family), []).append(i)
    out = []
    for (comparison, task, shots, metric, family), members in groups.items():
        share = counts[members].sum(0) / (studies * len(members))
        out.append(SeqPowerRow(comparison, task, shots, metric, family, len(members), plans[task][-1],
                               float(stop_items[:, members].mean()), *map(float, share)))
    out.sort(key=lambda r: (r.task, r.family, r.comparison, r.shots, r.metric))
    fixed = sum(plans[task_of[r]][-1] for r in runs)
    rates = [seconds_per_item.get(task_of[r]) for r in runs]
    known = all(rate is not None for rate in rates)
    fixed_s = sum(plans[task_of[r]][-1] * rate for r, rate in zip(runs, rates, strict=True)) if known else None
    expected_s = float(sum(items[:, j].mean() * rate for j, rate in enumerate(rates))) if known else None
    return SeqPowerPlan(tuple(out), fixed_s, expected_s, fixed, float(items.sum(1).mean()), studies)


def maximum_items(sweep: Any) -> dict[str, int]:
    """Each task's maximum: its runs' `limit`, or their test set where smaller (or where there is none)."""
    out = {}
    for task in sorted({spec.task for spec in sweep.runs}):
        limits = [spec.limit for spec in sweep.runs if spec.task == task]
        available = available_items(sweep, task)
        top = max((lim for lim in limits if lim is not None), default=None)
        out[task] = min(x for x in (top, available) if x is not None)
    return out
