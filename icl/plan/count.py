"""Counting a sweep's runs from its parsed lists, without building a RunSpec (a 900,000-run sweep takes
40 s to expand), so `icl run` can refuse a sweep that is far too large at once."""

from __future__ import annotations

import itertools
from pathlib import Path

from icl.errors import ConfigError, IclError

RUN_LIMIT = 10_000
"""`icl run` refuses a sweep with more runs than this unless told `--yes`."""

def count_runs(path: Path) -> dict[str, int] | None:
    """Runs per task of a sweep file, counted from its lists with the rules of `icl.sweep._task_runs`
    (no RunSpec, no run id, no data: a 900,000-run sweep counts in a second). None where the file does
    not parse as a sweep: `load_sweep` then reports the problem with its usual message. The tests check
    it against `load_sweep` on every shipped experiment."""
    from icl.languages import get_language
    from icl.spec import Pool, non_english
    from icl.sweep import morph_flag
    from icl.tasks import TASKS
    from icl.validate import load_yaml

    def kept(src: str, tgt: str, k: int, selector: str, pool: Pool, augment: str, morph: bool,
             first_selector: str, first_pool: Pool) -> bool:
        if augment in ("none", "selflabel") and morph:
            return False
        if k == 0 and (selector != first_selector or pool != first_pool or augment == "synthetic"):
            return False
        if augment in ("synthetic", "hints+synthetic") and pool != first_pool:
            return False
        return augment != "selflabel" or (k != 0 and (
            pool.language is None or get_language(pool.language).code == non_english(src, tgt)))

    try:
        raw = load_yaml(path, "sweep file")
        models, seeds = raw["models"], raw.get("seeds", [0])
        if not isinstance(models, list) or not isinstance(seeds, list):
            return None
        counts: dict[str, int] = {}
        for task in TASKS.values():
            section = raw.get(task.name)
            if section is None:
                continue
            combos = task.runs(section, [get_language(code).code for code in section["languages"]], path)
            selectors = section.get("selectors", ["first"])
            pools = [Pool(p) for p in section.get("pools", [task.pool])]
            morphs = [morph_flag(m, "morph", path) for m in section.get("morph", ["off"])]
            per_model = sum(
                kept(src, tgt, k, selector, pool, augment, morph, selectors[0], pools[0])
                for (src, tgt, _), k, selector, pool, augment, morph in itertools.product(
                    combos, section.get("shots", [0]), selectors, pools, section.get("augment", ["none"]), morphs))
            counts[task.name] = (per_model * len(models) * len(section.get("datasets", [task.dataset]))
                                 * len(section.get("templates", [task.template])) * len(seeds))
        return counts
    except (IclError, KeyError, TypeError, AttributeError, ValueError):
        return None


def check_run_count(path: Path, yes: bool = False) -> None:
    """Refuse a sweep of more than RUN_LIMIT runs unless `yes` (one line, before anything is built)."""
    counts = count_runs(path)
    if counts is not None and not yes:
        refuse_over_limit(path, sum(counts.values()))


def refuse_over_limit(path: Path, runs: int) -> None:
    """ConfigError where `runs` is over RUN_LIMIT."""
    if runs > RUN_LIMIT:
        raise ConfigError(f"{path}: {runs:,} runs (over {RUN_LIMIT:,}); check its lists or pass --yes")
