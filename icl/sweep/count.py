"""Counting a sweep's runs from its parsed lists, without building a RunSpec (a 900,000-run sweep takes
40 s to expand), so `icl run` can refuse a sweep that is far too large at once."""

from __future__ import annotations

import itertools
from pathlib import Path

from icl.errors import ConfigError, IclError

RUN_LIMIT = 10_000
"""`icl run` refuses a sweep with more runs than this unless told `--yes`."""

def count_runs(path: Path) -> dict[str, int] | None:
    """Runs per task of a sweep file, counted from its lists with the rule `load_sweep` uses
    (icl.sweep.grid.applicable): no RunSpec, no run id, no data, so a 900,000-run sweep counts in a
    second. None where the file does not parse as a sweep: `load_sweep` then reports the problem with
    its usual message. The tests check it against `load_sweep` on every shipped experiment."""
    from icl.data.files import load_yaml
    from icl.languages import get_language
    from icl.sweep.grid import applicable, morph_flag
    from icl.sweep.spec import Pool
    from icl.tasks import TASKS

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
            options = {axis.key: section.get(axis.key, list(axis.default)) for axis in task.axes}
            combos = task.runs(options, [get_language(code).code for code in section["languages"]])
            languages = [Pool(p).language for p in section.get("pools", [task.pool])]
            per_model = sum(applicable(src, tgt, augment, language)
                            for (src, tgt, _), augment, language in itertools.product(
                                combos, section.get("augment", ["none"]), languages))
            per_model *= (len(section.get("shots", [0])) * len(section.get("selectors", ["first"]))
                          * len([morph_flag(m, "morph", path) for m in section.get("morph", ["off"])]))
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
