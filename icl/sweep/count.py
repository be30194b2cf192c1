"""How many runs a sweep may have before `icl run` asks for `--yes`. Runs are counted from the checked
lists of the sweep (`icl.sweep.load.Grid.counts`), before any RunSpec is built (a 900,000-run sweep takes
40 s to expand)."""

from __future__ import annotations

from pathlib import Path

from icl.errors import ConfigError

RUN_LIMIT = 10_000
"""`icl run` refuses a sweep with more runs than this unless told `--yes`."""


def refuse_over_limit(path: Path, runs: int) -> None:
    """ConfigError where `runs` is over RUN_LIMIT."""
    if runs > RUN_LIMIT:
        raise ConfigError(f"{path}: {runs:,} runs (over {RUN_LIMIT:,}); check its lists or pass --yes")
