"""A run's prediction rows -> metrics.json, at run time and again by `icl score` (no model needed).

The label inventory a classification run parsed against is saved beside it (labels.json), so
re-scoring needs neither the model nor the data set's files.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

from icl import derived
from icl.analysis.results import metrics_json, read_json, read_jsonl, read_labels, write_json
from icl.tasks import get_mode, get_task


def write_metrics(run_dir: Path, run_id: str, task: str, mode: str, rows: Sequence[Mapping[str, Any]],
                  demo_source: str = "", language: str | None = None) -> dict[str, Any]:
    """Score a run from its prediction rows and write metrics.json. `demo_source` (RunData.pool_source:
    `flores200/dev`, `ntrex128/test`, ...) says which data set and split the demonstrations came from, so
    a score is never read without knowing whether its demos could have been test lines. `language`: the
    run's target language (RunSpec.tgt), what MT outputs are identified against (off-target share)."""
    the_task = get_task(task)
    preds = [r["prediction"] for r in rows]
    extra: dict[str, Any] = {"n": len(rows), "mode": mode, "errors": sum(r.get("error") is not None for r in rows)}
    if demo_source:
        extra["demo_source"] = demo_source
    if the_task.labelled:
        extra["unparseable"] = sum(p is None for p in preds)
    labels = read_labels(run_dir)
    warnings = labels.warnings() if labels is not None else []
    spec_path = run_dir / "spec.json"  # near misses of the leak check (icl.run.leaks), kept with the run
    warnings += read_json(spec_path).get("leak_warnings", []) if spec_path.is_file() else []
    if warnings:
        extra["warnings"] = warnings
    body = metrics_json(run_id, task, scores_json(task, preds, [r["reference"] for r in rows], language),
                        get_mode(task, mode).note, extra)
    write_json(run_dir / "metrics.json", body)
    return body


def scores_json(task: str, preds: Sequence[Any], refs: Sequence[str], language: str | None = None) -> dict[str, Any]:
    """The task's scores of these predictions, as metrics.json writes them. Kept on disk (icl.derived) keyed
    on the predictions, references and target language: sacrebleu's corpus statistics were most of what a
    cached re-run still spent scoring."""
    digest = derived.key("scores", task, language,
                         derived.text_digest([json.dumps([list(preds), list(refs)], ensure_ascii=False)]))
    text = derived.cached("scores", digest, lambda: json.dumps({name: asdict(score) for name, score in
                                                                 get_task(task).score(preds, refs, language).items()}))
    return json.loads(text)


def rescore_run(run_dir: Path) -> bool:
    """Parse every saved output again and rewrite metrics.json; False when the run has no predictions."""
    if not (run_dir / "predictions.jsonl").is_file():
        return False
    spec = read_json(run_dir / "spec.json")
    rows = read_jsonl(run_dir / "predictions.jsonl")
    task = get_task(spec["task"])
    if not get_mode(spec["task"], spec["mode"]).ranks:  # ranked predictions are the label scores' argmax
        labels = read_labels(run_dir)
        for row in rows:
            row["prediction"] = task.predict(row["output"], labels) if row.get("error") is None else None
    write_metrics(run_dir, spec["run_id"], spec["task"], spec["mode"], rows, spec.get("demo_source", ""), spec["tgt"])
    return True
