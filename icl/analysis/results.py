"""Reading and writing results/<sweep>/<run_id>/{spec.json, predictions.jsonl, metrics.json} and tables.

Scoring and tables read only these files, so `icl score` and `icl table` need no model.
"""

from __future__ import annotations

import csv
import io
import json
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from icl.errors import DataError
from icl.languages import pair_label
from icl.spec import default_dataset
from icl.values import LabelSet

TABLE_COLUMNS = ("run_id", "task", "model", "engine", "dataset", "pair", "template", "shots", "selector", "pool",
                 "demo_source", "augment", "morph", "mode", "n", "bleu", "chrf++", "spbleu", "off-target", "accuracy",
                 "macro_f1", "same_as")
"""`demo_source`: the data set and split the demos came from (`flores200/dev`), as spec.json records it.
`off-target`: the percentage of MT outputs not identified as the target language (icl.metrics.offtarget;
empty where the identifier does not know the language).
`same_as`: the other values a run stands for, where the sweep listed runs with identical prompts
(icl.run.noops collapsed them into this one), and why they changed nothing."""


def same_as_text(entries: Sequence[Mapping[str, Any]]) -> str:
    """`selector=bm25; selector=similar: <why>` — entries sharing a reason are joined before it."""
    by_why: dict[str, list[str]] = {}
    for entry in entries:
        spelled = ",".join(f"{k}={v}" for k, v in entry["fields"].items())
        if entry.get("run_id") is None:
            spelled += " (not in this sweep)"
        by_why.setdefault(entry["why"], []).append(spelled)
    return " | ".join(f"{'; '.join(what)}: {why}" for why, what in by_why.items())


def write_json(path: Path, data: Any) -> None:
    """Write atomically (temp file + rename) so a killed process never leaves half a file."""
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    os.replace(tmp, path)


def write_jsonl(path: Path, rows: Sequence[Mapping[str, Any]]) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    with tmp.open("w", encoding="utf-8") as fh:
        for row in rows:
            fh.write(json.dumps(row, ensure_ascii=False) + "\n")
    os.replace(tmp, path)


def read_json(path: Path) -> Any:
    if not path.is_file():
        raise DataError(f"{path}: file not found")
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise DataError(f"{path}:{exc.lineno}: malformed JSON ({exc.msg})") from None


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    if not path.is_file():
        raise DataError(f"{path}: file not found")
    rows = []
    with path.open(encoding="utf-8") as fh:
        for lineno, line in enumerate(fh, 1):
            if line.strip():
                try:
                    rows.append(json.loads(line))
                except json.JSONDecodeError as exc:
                    raise DataError(f"{path}:{lineno}: malformed JSON ({exc.msg})") from None
    return rows


def metrics_json(run_id: str, task: str, scores: Mapping[str, Mapping[str, Any]], postprocess: str,
                 extra: Mapping[str, Any]) -> dict[str, Any]:
    """metrics.json content from scores already in their JSON form (`asdict` of each Score)."""
    return {"run_id": run_id, "task": task, "postprocess": postprocess, "scores": dict(scores), **extra}


LABELS_FILE = "labels.json"
"""Beside spec.json in a classification run: the label inventory it ranked or parsed against, so
`icl score` parses outputs again without the data set's files."""


def write_labels(run_dir: Path, labels: LabelSet) -> None:
    body: dict[str, Any] = {"labels": list(labels.labels), "groups": dict(labels.groups)}
    if labels.test_only:
        body["test_only"] = list(labels.test_only)
    write_json(run_dir / LABELS_FILE, body)


def read_labels(run_dir: Path) -> LabelSet | None:
    """The saved label inventory of a run (None for runs without labels)."""
    path = run_dir / LABELS_FILE
    if not path.is_file():
        return None
    body = read_json(path)
    return LabelSet(tuple(body["labels"]), body.get("groups", {}), tuple(body.get("test_only", ())))


RUNS_FILE = "runs.txt"


def write_run_list(sweep_dir: Path, run_ids: Sequence[str]) -> None:
    """Record which runs the sweep now consists of.

    Editing a sweep's YAML changes run ids; the old run folders stay on disk (nothing computed is
    deleted) but must not leak into the new tables, gains and reports.
    """
    (sweep_dir / RUNS_FILE).write_text("".join(f"{r}\n" for r in run_ids), encoding="utf-8")


def run_dirs(sweep_dir: Path) -> list[Path]:
    """Run folders of a sweep that have a spec.json, sorted by id: those in runs.txt when it exists."""
    if not sweep_dir.is_dir():
        raise DataError(f"{sweep_dir}: results folder not found")
    found = sorted(p.parent for p in sweep_dir.glob("*/spec.json"))
    listed = sweep_dir / RUNS_FILE
    if listed.is_file():
        current = set(listed.read_text(encoding="utf-8").split())
        found = [p for p in found if p.name in current]
    return found


def table_rows(sweep_dir: Path) -> list[dict[str, Any]]:
    """One row per finished run (runs without metrics.json are skipped: not finished)."""
    rows = []
    for run in run_dirs(sweep_dir):
        if not (run / "metrics.json").is_file():
            continue
        spec, metrics = read_json(run / "spec.json"), read_json(run / "metrics.json")
        scores = metrics["scores"]
        pair = pair_label(spec["src"], spec["tgt"])
        row: dict[str, Any] = {"run_id": spec["run_id"], "task": spec["task"], "model": spec["model"]["name"],
                               "engine": spec["model"]["engine"], "pair": pair, "src": spec["src"], "tgt": spec["tgt"],
                               "dataset": "" if spec.get("dataset", "") in ("", default_dataset(spec["task"]))
                               else spec["dataset"],
                               "template": spec["template"].split("/", 1)[1], "shots": spec["shots"],
                               "selector": spec["selector"], "pool": spec.get("pool", ""),
                               "demo_source": spec.get("demo_source", "") if spec["shots"] else "",
                               "augment": spec.get("augment", "none"),
                               "morph": spec.get("morph", "off"), "mode": spec["mode"],
                               "n": max((s["n"] for s in scores.values()), default=0)}
        for name in ("bleu", "chrf++", "spbleu", "off-target", "accuracy", "macro_f1"):
            value = scores.get(name, {}).get("value")
            row[name] = "" if value is None else f"{value:.2f}"
        row["same_as"] = same_as_text(spec.get("same_as", ()))
        rows.append(row)
    rows.sort(key=lambda r: (r["task"], r["model"], r["pair"], r["template"], r["augment"], r["morph"], r["shots"],
                             r["selector"], r["pool"], r["mode"]))
    return rows


def _drop_empty(rows: list[dict[str, Any]]) -> list[str]:
    return [c for c in TABLE_COLUMNS if c == "run_id" or any(str(r.get(c, "")) != "" for r in rows)]


def write_tables(sweep_dir: Path) -> tuple[Path, Path]:
    """table.md and table.csv of a sweep, from its files."""
    rows = table_rows(sweep_dir)
    cols = _drop_empty(rows)
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=cols, extrasaction="ignore")
    writer.writeheader()
    writer.writerows(rows)
    csv_path = sweep_dir / "table.csv"
    csv_path.write_text(buf.getvalue(), encoding="utf-8")
    md = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    md += ["| " + " | ".join(str(r.get(c, "")) for c in cols) + " |" for r in rows]
    md_path = sweep_dir / "table.md"
    md_path.write_text("\n".join(md) + "\n", encoding="utf-8")
    return md_path, csv_path
