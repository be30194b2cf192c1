"""A sweep's result files as plain records, one per run or per item: what a notebook's tables
(icl.analysis.frames) and an experiment tracker (icl.analysis.track) read, from the files alone.

A run's record is its spec.json with the model spelled out (`model`, `engine`, `model_args`), its language
pair as the table and gains.json spell it (`pair`), and every score of its metrics.json under the score's
name; an item's record is its predictions.jsonl line with the run's fields a reader groups by and the
item's own score from its task (`Task.item_scores`: sentence chrF++, or whether the label is right).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from icl.analysis.results import read_json, read_jsonl, run_dirs
from icl.errors import DataError
from icl.languages import pair_label
from icl.tasks import TASKS

ITEM_RUN_FIELDS = ("task", "model", "dataset", "pair", "src", "tgt", "template", "shots", "selector", "pool",
                   "augment", "morph", "mode", "seed")
"""The run fields each item record repeats, so that items group by condition without a join."""


@dataclass(frozen=True)
class RunRecord:
    """One finished run, read from its folder."""

    fields: dict[str, Any]
    """spec.json, flattened: `model`, `engine`, `model_args` for its model, `pair` added, lists kept."""
    scores: dict[str, float | None]
    """Each score's value by the score's name (None where the metric could not be computed)."""
    counts: dict[str, Any]
    """The rest of metrics.json that is not already a field (items scored, errors, post-processing)."""


def read_run(run_dir: Path) -> RunRecord:
    """The record of a run folder that has a spec.json and a metrics.json."""
    spec = read_json(run_dir / "spec.json")
    metrics = read_json(run_dir / "metrics.json")
    fields = {k: v for k, v in spec.items() if k != "model"}
    model = spec["model"]
    fields.update(model=model["name"], engine=model["engine"], model_args=json.dumps(model.get("args", {}),
                                                                                      sort_keys=True),
                  pair=pair_label(spec["src"], spec["tgt"]))
    scores = {name: score.get("value") for name, score in metrics["scores"].items()}
    counts = {k: v for k, v in metrics.items() if k not in fields and k != "scores"}
    return RunRecord(fields, scores, counts)


def finished_runs(sweep_dir: Path) -> Iterator[tuple[Path, RunRecord]]:
    """Each finished run of the sweep as it last ran (runs.txt), in run id order; runs without metrics.json
    (not finished) are left out, as the table leaves them out."""
    for run_dir in run_dirs(sweep_dir):
        if (run_dir / "metrics.json").is_file():
            yield run_dir, read_run(run_dir)


def run_rows(sweep_dir: Path) -> list[dict[str, Any]]:
    """One flat row per finished run: its fields, its scores, then the rest of its metrics.json."""
    return [{"run_id": record.fields["run_id"], **record.fields, **record.scores, **record.counts}
            for _, record in finished_runs(sweep_dir)]


def item_rows(sweep_dir: Path) -> list[dict[str, Any]]:
    """One row per item per finished run: run_id, the run's ITEM_RUN_FIELDS, the item's predictions.jsonl
    fields as written, and its task's per-item scores."""
    rows: list[dict[str, Any]] = []
    for run_dir, record in finished_runs(sweep_dir):
        task = TASKS.get(record.fields["task"])
        if task is None:
            raise DataError(f"{run_dir / 'spec.json'}: task: unknown task {record.fields['task']!r} "
                            f"(known: {', '.join(TASKS)})")
        items = read_jsonl(run_dir / "predictions.jsonl")
        scores = task.item_scores([i.get("prediction") for i in items], [i["reference"] for i in items])
        keys = {f: record.fields.get(f) for f in ITEM_RUN_FIELDS}
        for n, item in enumerate(items):
            rows.append({"run_id": record.fields["run_id"], **keys, **item,
                         **{name: values[n] for name, values in scores.items()}})
    return rows


def study_parts(sweep_dir: Path) -> dict[str, list[dict[str, Any]]]:
    """gains.json's lists (`rows`, `classes`, `replicability`) as written, every field of every entry kept;
    a gains.json of older icl (a bare list of rows) has rows only."""
    path = sweep_dir / "gains.json"
    if not path.is_file():
        raise DataError(f"{path}: file not found (the sweep declares no `gains:` comparisons, or its runs have "
                        "not finished; `icl gains` writes it)")
    body = read_json(path)
    if isinstance(body, list):
        return {"rows": body, "classes": [], "replicability": []}
    return {part: list(body.get(part, [])) for part in ("rows", "classes", "replicability")}
