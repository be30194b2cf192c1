"""A sequential study read from result files: each comparison row's statistics at every look its runs reached.

A run of a sequential sweep answers its items in the data's fixed order, look by look, so its predictions.jsonl
holds a prefix of its items and spec.json its planned maximum (`max_items`). A row's look k is the paired test on
the first n_k items of both runs (icl.sweep.design.schedule), the same test a fixed study runs on all of them
(the task's `compare`). icl.analysis.sequential turns the looks into decisions; this module only reads.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from icl.analysis.results import read_json, read_jsonl
from icl.analysis.sequential import LookStat, RowPath
from icl.errors import DataError
from icl.metrics import PairedResult
from icl.sweep.design import Design, schedule
from icl.tasks import get_task

_MEMO: dict[str, list[PairedResult]] = {}
"""Paired tests by the content they were computed from: `icl run` replays every earlier look at each new one."""


@dataclass(frozen=True)
class PairLooks:
    """One run pair of a comparison over its looks: the paired results (every metric) at each look reached."""

    plan: tuple[int, ...]
    """Items at each planned look."""
    results: tuple[tuple[PairedResult, ...], ...]
    """results[k]: the task's paired tests on the first plan[k] items."""

    @property
    def max_items(self) -> int:
        return self.plan[-1] if self.plan else 0


def planned_items(run: Path) -> int | None:
    """The run's planned maximum (spec.json `max_items`, written by a sequential sweep), None for a fixed run."""
    value = read_json(run / "spec.json").get("max_items")
    return int(value) if value is not None else None


def pair_looks(base: Path, run: Path, design: Design, resamples: int, seed: int = 12345) -> PairLooks:
    """The pair's paired tests at every look both runs reached (items in the files' order, which is the data's)."""
    task = get_task(read_json(run / "spec.json")["task"])
    rows_a, rows_b = read_jsonl(base / "predictions.jsonl"), read_jsonl(run / "predictions.jsonl")
    planned = [p for p in (planned_items(base), planned_items(run)) if p is not None]
    top = min(planned) if planned else min(len(rows_a), len(rows_b))
    plan = schedule(top, design.looks)
    have = min(len(rows_a), len(rows_b))
    out = []
    for n in plan:
        if n > have:
            break
        a, b = rows_a[:n], rows_b[:n]
        for ra, rb in zip(a, b, strict=True):
            if ra["id"] != rb["id"] or ra["reference"] != rb["reference"]:
                raise DataError(f"{run}: item {rb['id']} does not line up with {base}'s item {ra['id']}: "
                                "a sequential study compares the same items in the same order")
        out.append(tuple(_compare(task, a, b, resamples, seed, read_json(run / "spec.json").get("tgt"))))
    return PairLooks(plan, tuple(out))


def _compare(task: Any, a: Sequence[dict[str, Any]], b: Sequence[dict[str, Any]], resamples: int,
             seed: int, language: str | None) -> list[PairedResult]:
    preds_a, preds_b = [r["prediction"] for r in a], [r["prediction"] for r in b]
    refs = [r["reference"] for r in a]
    key = hashlib.sha256(json.dumps([task.name, preds_a, preds_b, refs, resamples, seed, language]).encode()).hexdigest()
    if key not in _MEMO:
        _MEMO[key] = task.compare(preds_a, preds_b, refs, resamples, seed, language=language)
    return _MEMO[key]


def look_stat(res: PairedResult) -> LookStat:
    """A paired result as the sequential procedure reads it: paired accuracy by its counts, a corpus gain by its
    jackknife pseudo-values (icl.analysis.sequential.LookStat)."""
    if res.wins is not None and res.losses is not None:
        return LookStat.paired(res.n, res.delta, res.wins, res.losses)
    if res.pseudo_mean is None or res.pseudo_ss is None:
        raise DataError(f"{res.metric}: this paired test gives no statistic a sequential look can use")
    return LookStat.corpus(res.n, res.delta, res.pseudo_mean, res.pseudo_ss)


def row_path(key: Any, family: str, looks: PairLooks, metric: str) -> RowPath:
    """The looks of one metric of a pair (a row of the study)."""
    top = looks.max_items
    stats = tuple(look_stat(next(r for r in at if r.metric == metric)) for at in looks.results)
    return RowPath(key, family, metric, tuple(n / top for n in looks.plan), stats)
