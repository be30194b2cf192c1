"""A results/<sweep> folder as pandas DataFrames, for a notebook: `load(path)` (and `icl.run(...)`, which
returns the same) gives a `Results` whose tables are read from the folder's files on first access and kept.

Tables hold what the files hold, no more: `runs` and `items` are icl.analysis.records' rows; `gains`,
`classes` and `replicability` are gains.json's lists with every field each entry has, so a field that
a later icl adds to the study shows up as a column without a change here.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import pandas as pd

from icl.analysis.records import item_rows, run_rows, study_parts
from icl.errors import DataError


@dataclass(frozen=True)
class Results:
    """One sweep's results folder, read as tables."""

    path: Path
    """results/<sweep>."""

    @property
    def name(self) -> str:
        """The sweep's name (its folder's)."""
        return self.path.name

    @cached_property
    def runs(self) -> pd.DataFrame:
        """One row per finished run: its spec fields (model as `model`, `engine`, `model_args`; `pair`),
        its scores by metric name (`chrf++`, `bleu`, `accuracy`, ...; NaN where a run has no such score),
        and the rest of its metrics.json (`n`, `errors`, `postprocess`, ...)."""
        return _frame(run_rows(self.path))

    @cached_property
    def items(self) -> pd.DataFrame:
        """One row per item of each finished run: `run_id`, the run's fields to group by (`task`, `pair`,
        `shots`, `selector`, ...), the item as predictions.jsonl holds it (`id`, `source`, `prompt`,
        `demo_ids`, `output`, `prediction`, `reference`, ...) and its own score (`chrf++` for a
        translation, `correct` for a label)."""
        return _frame(item_rows(self.path))

    @cached_property
    def _study(self) -> dict[str, list[dict[str, Any]]]:
        return study_parts(self.path)

    @cached_property
    def gains(self) -> pd.DataFrame:
        """gains.json's rows: one per comparison, language pair and metric, with every field it holds."""
        return _frame(self._study["rows"])

    @cached_property
    def classes(self) -> pd.DataFrame:
        """gains.json's mean gains by resource class and over all pairs, with their intervals."""
        return _frame(self._study["classes"])

    @cached_property
    def replicability(self) -> pd.DataFrame:
        """gains.json's "improves (hurts) at least k of N languages" per comparison."""
        return _frame(self._study["replicability"])

    def __repr__(self) -> str:
        return f"Results({str(self.path)!r})"


def _frame(rows: list[dict[str, Any]]) -> pd.DataFrame:
    """Rows as a DataFrame; a column of booleans with gaps (`correct`, which translations lack) becomes pandas'
    nullable boolean, so that `items[items.task == "intent"]["correct"].mean()` is a number, not an object."""
    frame = pd.DataFrame(rows)
    for column in frame.columns[frame.dtypes == object]:
        present = frame[column].dropna()
        if len(present) and all(isinstance(v, bool) for v in present):
            frame[column] = frame[column].astype("boolean")
    return frame


def load(path: str | Path) -> Results:
    """The results of a sweep that has run: `load("results/quickstart")`."""
    folder = Path(path)
    if not folder.is_dir():
        raise DataError(f"{folder}: results folder not found")
    if not (folder / "runs.txt").is_file() and not any(folder.glob("*/spec.json")):
        raise DataError(f"{folder}: not a sweep's results folder (no runs.txt, no <run>/spec.json)")
    return Results(folder)
