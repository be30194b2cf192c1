"""A self-contained HTML report of a sweep, from its result files only (no model, no network).

`results/<sweep>/report.html` embeds its plots (PNG as data URIs) and styles, so it opens from disk and
can be mailed around; the same plots are written as PNG and SVG under `results/<sweep>/plots/`
(icl.analysis.plots). The page is the Jinja template `icl/analysis/templates/report.html.j2`
(autoescaped, StrictUndefined), rendered from a context this module reads from the files.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from functools import cache
from importlib.resources import files
from pathlib import Path
from typing import Any

from icl.analysis.gains import Study, is_significant
from icl.analysis.gains_files import (
    FAMILY_HEADERS,
    SEQ_FAMILY_HEADERS,
    SEQ_HEADERS,
    family_rows,
    format_p,
    read_study,
    sequential_family_rows,
    sequential_markdown,
)
from icl.analysis.plots import Plot, class_plots, gains_plots, shots_plot, template_plot
from icl.analysis.provenance import provenance_lines
from icl.analysis.results import read_json, read_jsonl, run_dirs, table_rows
from icl.errors import DataError
from icl.languages import Language, get_language, non_english, resource_rank
from icl.tasks import TASKS, get_task

SAMPLE_ROWS = 20
SUMMARY_OPEN_ROWS = 40
"""A longer summary is folded, so that the gains and plots are one click away, not 200 rows down."""
TEMPLATE = "templates/report.html.j2"


@cache
def _template() -> Any:
    import jinja2

    env = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined, trim_blocks=False)
    return env.from_string(files("icl.analysis").joinpath(TEMPLATE).read_text(encoding="utf-8"))


def _prompt_text(prompt: Any) -> str:
    if isinstance(prompt, list):
        return "\n\n".join(f"[{m['role']}]\n{m['content']}" for m in prompt)
    return str(prompt)


def _samples(run: Path, spec: dict[str, Any], metrics: dict[str, Any]) -> dict[str, Any]:
    """One run's first SAMPLE_ROWS predictions, as the template shows them."""
    labelled = get_task(spec["task"]).labelled
    items = []
    for r in read_jsonl(run / "predictions.jsonl")[:SAMPLE_ROWS]:
        items.append({"id": r["id"], "source": r["source"], "demo_ids": r["demo_ids"], "output": r["output"],
                      "mark": (" ✓" if r["prediction"] == r["reference"] else " ✗") if labelled else "",
                      "hints": json.dumps(r["hints"], ensure_ascii=False) if r.get("hints") else "",
                      "prediction": str(r["prediction"]), "reference": r["reference"],
                      "prompt": _prompt_text(r["prompt"])})
    scores = ", ".join(f"{k} {v['value']}" for k, v in metrics["scores"].items() if v["value"] is not None)
    return {"run_id": spec["run_id"], "scores": scores, "items": items,
            "demo_source": metrics.get("demo_source", spec.get("demo_source", ""))}


def _summary(rows: list[dict[str, Any]]) -> dict[str, Any]:
    cols = ["task", "pair", "template", "shots", "selector", "pool", "demo_source", "augment", "morph", "mode", "n",
            "bleu", "chrf++", "accuracy", "macro_f1"]
    langs: dict[str, Language] = {r["pair"]: get_language(non_english(r["src"], r["tgt"])) for r in rows}
    rows = sorted(rows, key=lambda r: (r["task"], resource_rank(langs[r["pair"]]), r["pair"], r["template"],
                                       r["augment"], r["morph"], r["shots"]))

    def cls(lang: Language) -> str:
        return "-" if lang.resource_class is None else str(lang.resource_class)

    return {"headers": ["class", "resource", *cols], "folded": len(rows) > SUMMARY_OPEN_ROWS,
            "rows": [[cls(langs[r["pair"]]), langs[r["pair"]].resource, *(r.get(c, "") for c in cols)] for r in rows]}


def _gains(study: Study) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any], list[str]]:
    """The gains table, the by-class table, the family lines and the replicability lines."""
    if study.design is not None:
        return _sequential_gains(study)
    table = {"headers": ["task", "language", "class", "pair", "template", "shots", "comparison", "metric",
                         "baseline", "system", "gain", "95% CI", "p", "p (Holm)", "MDE", "n", "family"],
             "rows": [[g.task, g.language, "-" if g.resource_class is None else g.resource_class, g.pair, g.template,
                       g.shots, g.comparison, g.metric, f"{g.baseline:.2f}", f"{g.system:.2f}",
                       f"{g.delta:+.2f}{'*' if is_significant(g) else ''}", f"[{g.ci_low:+.2f}, {g.ci_high:+.2f}]",
                       format_p(g.p_value), format_p(g.p_holm), "-" if g.mde is None else f"{g.mde:.2f}", g.n,
                       f"{g.family} ({g.family_size})"] for g in study.rows]}
    classes = _classes(study, "95% CI", "* + / -")
    families = {"headers": list(FAMILY_HEADERS), "rows": family_rows(study.rows)}
    return table, classes, families, [r.line() for r in study.replicability]


def _sequential_gains(study: Study) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any], list[str]]:
    """A sequential study's tables: each row's decision, look, items and repeated interval (gains.md's columns)."""
    table = {"headers": ["task", *SEQ_HEADERS], "rows": [[g.task, *sequential_markdown(g)] for g in study.rows]}
    classes = _classes(study, "95% CI (at each row's stopping look)", "effects + / -")
    families = {"headers": list(SEQ_FAMILY_HEADERS), "rows": sequential_family_rows(study.rows)}
    return table, classes, families, [r.line() for r in study.replicability]


def _classes(study: Study, interval: str, counts: str) -> dict[str, Any]:
    """The by-class table: each class's mean gain, its interval and its significant rows up / down."""
    return {"headers": ["task", "comparison", "shots", "metric", "class", "pairs", "mean gain", interval, "range",
                        counts],
            "rows": [[c.task, c.comparison, c.shots, c.metric, c.scope.removeprefix("class ") or
                      ("unknown" if c.resource_class is None else c.resource_class), c.pairs, f"{c.mean:+.2f}",
                      "-" if c.ci_low is None else f"[{c.ci_low:+.2f}, {c.ci_high:+.2f}]",
                      f"[{c.low:+.2f}, {c.high:+.2f}]", f"{c.up} / {c.down}"] for c in study.classes]}


def _cls(g: dict[str, Any]) -> str:
    cls = g["resource_class"] if "resource_class" in g else get_language(g["language"]).resource_class
    return "-" if cls is None else str(cls)


def write_report(sweep_dir: Path) -> Path:
    """report.html plus plots/ for one sweep folder."""
    rows = table_rows(sweep_dir)
    if not rows:
        raise DataError(f"{sweep_dir}: no finished runs to report")
    plots_dir = sweep_dir / "plots"
    plots_dir.mkdir(exist_ok=True)
    study = read_study(sweep_dir / "gains.json") if (sweep_dir / "gains.json").is_file() else Study((), (), ())
    gains = [asdict(g) for g in study.rows]

    plots: list[Plot] = [*class_plots(gains, plots_dir, study.classes), *gains_plots(gains, plots_dir)]
    for task in TASKS:
        for make in (shots_plot, template_plot):
            plot = make(rows, task, plots_dir)
            if plot is not None:
                plots.append(plot)

    signatures, samples = [], []
    for run in run_dirs(sweep_dir):
        if not (run / "metrics.json").is_file():
            continue
        spec, metrics = read_json(run / "spec.json"), read_json(run / "metrics.json")
        for name, score in metrics["scores"].items():
            signatures.append([spec["run_id"], name, score["value"], score["signature"] or score["note"]])
        samples.append(_samples(run, spec, metrics))
    gains_table, class_table, families, replicability = _gains(study)
    page = _template().render(
        sweep=sweep_dir.name, sweep_dir=str(sweep_dir), summary=_summary(rows), gains=gains_table,
        by_class=class_table, families=families, replicability=replicability,
        provenance=[line.removeprefix("- ") for line in provenance_lines(sweep_dir, study.rows)], signatures=signatures, samples=samples, sample_rows=SAMPLE_ROWS,
        plots=[{"title": p.title, "data_uri": p.data_uri, "png": p.png.name, "svg": p.svg.name} for p in plots],
        sweep_yaml=(sweep_dir / "sweep.yaml").read_text(encoding="utf-8") if (sweep_dir / "sweep.yaml").is_file() else "",
        config=json.dumps({r.name: read_json(r / "spec.json") for r in run_dirs(sweep_dir)}, indent=1, ensure_ascii=False))
    out = sweep_dir / "report.html"
    out.write_text(page, encoding="utf-8")
    return out
