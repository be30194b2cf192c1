"""`icl plan --power`: how many items each comparison needs to detect a chosen effect, read from a pilot.

The pilot is the sweep's own results folder (runs already done, e.g. at a small `limit`): each gains row gives
its standard error (MT) or discordant share (accuracy) on n items, which is all the power formulas of
icl.analysis.power need. Items are sized at the family's row level (alpha / m, m the rows of the row's
family in the pilot: the same rows the full sweep will have), and priced with the engine's recorded
throughput (the completion cache), so a researcher sees before anything runs what "detect 2 chrF++"
costs on this machine.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from icl.analysis.gains import Gain
from icl.analysis.power import items_bootstrap, items_mcnemar
from icl.analysis.study import ALPHA
from icl.errors import ConfigError, DataError

DEFAULT_EFFECTS = {"chrf++": 2.0, "bleu": 1.0, "accuracy": 5.0}
"""Effects sized for by default (points): the size of published lexicon gains in MT, a few intent points."""


@dataclass(frozen=True)
class PowerRow:
    """One comparison (shots, metric) over its language pairs: what the pilot could see, what the target takes."""

    comparison: str
    task: str
    shots: int
    metric: str
    family: str
    family_size: int
    pairs: int
    items_now: int
    """Items per run in the pilot (the smallest over the pairs)."""
    mde_now: float | None
    """Median MDE over the pairs at the family's row level."""
    effect: float
    items_median: int
    """Items a run needs so the median pair detects `effect` with 80% power at alpha / m."""
    items_max: int
    """... so every pair does."""
    available: int | None
    """Test items the data set has for the smallest of these runs (None where unknown)."""
    seconds: float | None
    """Engine time to bring this comparison's runs from items_now to items_median, from recorded throughput."""


def parse_effects(values: Sequence[str]) -> dict[str, float]:
    """`--effect chrf++=2 --effect accuracy=5` on top of the defaults."""
    effects = dict(DEFAULT_EFFECTS)
    for value in values:
        metric, sep, number = value.partition("=")
        try:
            size = float(number)
        except ValueError:
            size = -1.0
        if not sep or size <= 0:
            raise ConfigError(f"--effect {value}: expected METRIC=POINTS with POINTS > 0, e.g. chrf++=2")
        effects[metric.strip()] = size
    return effects


def _needed(g: Gain, effect: float) -> int:
    alpha = ALPHA / g.family_size
    if g.discordant is not None:
        return items_mcnemar(g.discordant, effect, alpha)
    return items_bootstrap(g.n, g.se, effect, alpha)


def power_plan(sweep: Any, pilot_dir: Path, effects: Mapping[str, float],
               seconds_per_item: Mapping[str, float | None]) -> list[PowerRow]:
    """One PowerRow per (comparison, shots, metric) found in the pilot; `seconds_per_item` by task."""
    if not (pilot_dir / "sweep.yaml").is_file():
        raise DataError(f"{pilot_dir}: no pilot here (run the sweep first, e.g. with a small `limit`)")
    if not sweep.gains:
        raise ConfigError(f"{sweep.path}: gains: no comparisons declared, so there is nothing to size")
    study_rows = pilot_rows(pilot_dir, sweep)
    if not study_rows:
        raise DataError(f"{pilot_dir}: the pilot has no run pair for any comparison of {sweep.path}")
    groups: dict[tuple[str, str, int, str], list[Gain]] = {}
    for g in study_rows:
        if g.metric in effects:
            groups.setdefault((g.comparison, g.task, g.shots, g.metric), []).append(g)
    out = []
    for (comparison, task, shots, metric), rows in groups.items():
        effect = effects[metric]
        needed = sorted(_needed(g, effect) for g in rows)
        mdes = sorted(g.mde for g in rows if g.mde is not None)
        now = min(g.n for g in rows)
        median = needed[len(needed) // 2]
        rate = seconds_per_item.get(task)
        runs = len({g.system_run for g in rows} | {g.baseline_run for g in rows})
        out.append(PowerRow(comparison, task, shots, metric, rows[0].family, rows[0].family_size, len(rows), now,
                            mdes[len(mdes) // 2] if mdes else None, effect, median, needed[-1],
                            available_items(sweep, task), None if rate is None else max(0, median - now) * runs * rate))
    out.sort(key=lambda r: (r.task, r.family, r.comparison, r.shots, r.metric))
    return out


def available_items(sweep: Any, task: str) -> int | None:
    """The smallest test set of the sweep's runs of `task` without their limit."""
    from dataclasses import replace

    from icl.data import load_run

    distinct = {(s.src, s.tgt, s.dataset): s for s in sweep.runs if s.task == task}
    sizes = [len(load_run(replace(spec, limit=None), sweep.datasets).test) for spec in distinct.values()]
    return min(sizes) if sizes else None


def seconds_per_item(sweep: Any) -> dict[str, float | None]:
    """Each task's recorded seconds per prompt for its kind of call (generate or score), from the cache."""
    from icl.config import cache_dir
    from icl.run.cache import CompletionCache
    from icl.run.requests import engine_identity

    path = cache_dir() / "completions.sqlite"
    if not path.is_file():
        return {}
    cache = CompletionCache(path)
    try:
        rates: dict[str, float | None] = {}
        for spec in sweep.runs:
            if spec.task not in rates:
                rate = cache.throughput(engine_identity(spec.model), "score" if spec.ranks else "generate")
                rates[spec.task] = None if rate is None else rate.seconds_per_prompt
        return rates
    finally:
        cache.close()


def pilot_rows(pilot_dir: Path, sweep: Any) -> list[Gain]:
    """The pilot's study rows: computed from its runs where it has them, else read from its gains.json."""
    from icl.analysis.gains import compute_study
    from icl.analysis.gains_files import read_study
    from icl.analysis.results import run_dirs

    if any((run / "predictions.jsonl").is_file() for run in run_dirs(pilot_dir)):
        return list(compute_study(pilot_dir, sweep.gains).rows)
    if (pilot_dir / "gains.json").is_file():
        return list(read_study(pilot_dir / "gains.json").rows)
    raise DataError(f"{pilot_dir}: no pilot here (neither run folders nor gains.json; run the sweep first)")
