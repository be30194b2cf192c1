"""A self-contained HTML report of a sweep, from its result files only (no model, no network).

`results/<sweep>/report.html` embeds its plots (PNG as data URIs) and styles, so it opens from disk and
can be mailed around; the same plots are written as PNG and SVG under `results/<sweep>/plots/`.
"""

from __future__ import annotations

import base64
import html
import io
import json
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from icl.analysis.gains import is_significant
from icl.analysis.results import read_json, read_jsonl, run_dirs, table_rows
from icl.errors import DataError
from icl.languages import RESOURCE_ORDER, get_language, non_english
from icl.tasks import TASKS, get_task

SAMPLE_ROWS = 20


@dataclass(frozen=True)
class Plot:
    """One figure: where its files are and the PNG to inline."""

    title: str
    png: Path
    svg: Path
    data_uri: str


def _figure(plots_dir: Path, name: str, title: str, draw: Any) -> Plot:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig = draw(plt)
    fig.suptitle(title)
    fig.tight_layout()
    png, svg = plots_dir / f"{name}.png", plots_dir / f"{name}.svg"
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110)
    png.write_bytes(buf.getvalue())
    fig.savefig(svg, format="svg")
    plt.close(fig)
    return Plot(title, png, svg, "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode())


def _shots_plot(rows: list[dict[str, Any]], task: str, plots_dir: Path) -> Plot | None:
    metric = get_task(task).main_metric
    series: dict[str, dict[int, list[float]]] = defaultdict(lambda: defaultdict(list))
    for r in rows:
        if r["task"] == task and r[metric] != "" and r["augment"] == "none":
            series[f"{r['pair']} {r['template']}"][int(r["shots"])].append(float(r[metric]))
    if not any(len(points) > 1 for points in series.values()):
        return None

    def draw(plt: Any) -> Any:
        fig, ax = plt.subplots(figsize=(7, 4))
        for label, points in sorted(series.items()):
            xs = sorted(points)
            ax.plot(xs, [sum(points[x]) / len(points[x]) for x in xs], marker="o", label=label)
        ax.set_xlabel("shots")
        ax.xaxis.get_major_locator().set_params(integer=True)
        ax.set_ylabel(metric)
        ax.legend(fontsize=7, ncol=2)
        ax.grid(alpha=0.3)
        return fig

    return _figure(plots_dir, f"{task}_shots", f"{task}: {metric} vs number of shots (no augmentation)", draw)


def _template_plot(rows: list[dict[str, Any]], task: str, plots_dir: Path) -> Plot | None:
    metric = get_task(task).main_metric
    by: dict[str, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    for r in rows:
        if r["task"] == task and r[metric] != "":
            by[r["pair"]][r["template"]].append(float(r[metric]))
    templates = sorted({t for d in by.values() for t in d})
    if len(templates) < 2:
        return None

    def draw(plt: Any) -> Any:
        fig, ax = plt.subplots(figsize=(8, 4))
        pairs = sorted(by)
        width = 0.8 / len(templates)
        for i, template in enumerate(templates):
            values = [sum(by[p][template]) / len(by[p][template]) if by[p][template] else 0 for p in pairs]
            ax.bar([x + i * width for x in range(len(pairs))], values, width, label=template)
        ax.set_xticks([x + 0.4 - width / 2 for x in range(len(pairs))], pairs, rotation=45, ha="right", fontsize=7)
        ax.set_ylabel(f"{metric} (mean over runs)")
        ax.legend(fontsize=7)
        return fig

    return _figure(plots_dir, f"{task}_templates", f"{task}: template comparison", draw)


def _gains_plots(gains: list[dict[str, Any]], plots_dir: Path) -> list[Plot]:
    plots = []
    groups: dict[tuple[str, str, int, str], list[dict[str, Any]]] = defaultdict(list)
    for g in gains:
        if g["metric"] in ("chrf++", "accuracy"):
            groups[(g["task"], g["comparison"], g.get("shots", -1), g["metric"])].append(g)
    for i, ((task, comparison, shots, metric), items) in enumerate(sorted(groups.items())):
        items.sort(key=lambda g: (RESOURCE_ORDER[g["resource"]], g["language"], g["pair"]))

        def draw(plt: Any, items: list[dict[str, Any]] = items, metric: str = metric) -> Any:
            colours = {"low": "#c0392b", "mid": "#e67e22", "high": "#2c7fb8"}
            fig, ax = plt.subplots(figsize=(max(6, 0.45 * len(items) + 2), 4))
            xs = range(len(items))
            deltas = [g["delta"] for g in items]
            err = [[g["delta"] - g["ci_low"] for g in items], [g["ci_high"] - g["delta"] for g in items]]
            ax.bar(xs, deltas, color=[colours[g["resource"]] for g in items], yerr=err, capsize=3)
            ax.axhline(0, color="black", linewidth=0.8)
            several = len({g.get("template") for g in items}) > 1
            labels = [f"{g['pair']} {g.get('template', '')}" if several else g["pair"] for g in items]
            ax.set_xticks(list(xs), labels, rotation=60, ha="right", fontsize=7)
            ax.set_ylabel(f"gain in {metric} (95% CI)")
            handles = [plt.Rectangle((0, 0), 1, 1, color=c) for c in colours.values()]
            ax.legend(handles, [f"{k}-resource" for k in colours], fontsize=7)
            return fig

        at = f", {shots}-shot" if shots >= 0 else ""
        plots.append(_figure(plots_dir, f"gains_{i}", f"{task}: {comparison}{at} ({metric})", draw))
    return plots


SUMMARY_OPEN_ROWS = 40


def _table(headers: Sequence[str], rows: Sequence[Sequence[Any]], cls: str = "") -> str:
    head = "".join(f"<th>{html.escape(str(h))}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in row) + "</tr>" for row in rows)
    return f'<table class="{cls}"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


def _prompt_text(prompt: Any) -> str:
    if isinstance(prompt, list):
        return "\n\n".join(f"[{m['role']}]\n{m['content']}" for m in prompt)
    return str(prompt)


def _samples(run: Path, spec: dict[str, Any], metrics: dict[str, Any]) -> str:
    rows = read_jsonl(run / "predictions.jsonl")[:SAMPLE_ROWS]
    scores = ", ".join(f"{k} {v['value']}" for k, v in metrics["scores"].items() if v["value"] is not None)
    items = []
    for r in rows:
        ok = (" ✓" if r["prediction"] == r["reference"] else " ✗") if get_task(spec["task"]).labelled else ""
        hints = f"<p><b>hints</b> {html.escape(json.dumps(r['hints'], ensure_ascii=False))}</p>" if r.get("hints") else ""
        items.append(
            f'<details class="item"><summary>{html.escape(r["id"])}{ok} — {html.escape(r["source"][:90])}</summary>'
            f"<p><b>demos</b> {html.escape(', '.join(r['demo_ids']) or 'none')}</p>{hints}"
            f"<p><b>output</b></p><pre>{html.escape(r['output'])}</pre>"
            f"<p><b>prediction</b> {html.escape(str(r['prediction']))}</p>"
            f"<p><b>reference</b> {html.escape(r['reference'])}</p>"
            f"<p><b>exact prompt</b></p><pre>{html.escape(_prompt_text(r['prompt']))}</pre></details>"
        )
    return (f'<details class="run" data-run="{html.escape(spec["run_id"])}"><summary>{html.escape(spec["run_id"])}'
            f" ({html.escape(scores)})</summary>{''.join(items)}</details>")


CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,sans-serif;margin:2em auto;max-width:1200px;color:#222;padding:0 1em}
h1{font-size:1.6em} h2{border-bottom:1px solid #ddd;padding-bottom:.2em;margin-top:2em}
table{border-collapse:collapse;font-size:.82em;margin:1em 0;width:100%}
th,td{border:1px solid #ddd;padding:.25em .5em;text-align:left;vertical-align:top}
th{background:#f4f4f4;position:sticky;top:0} tr:nth-child(even){background:#fafafa}
img.plot{max-width:100%;border:1px solid #eee;margin:.5em 0}
pre{white-space:pre-wrap;background:#f7f7f7;padding:.5em;font-size:.8em;max-height:24em;overflow:auto}
details.run{margin:.3em 0} details.item{margin-left:1.5em} summary{cursor:pointer}
.sig{font-family:monospace;font-size:.75em} .note{color:#666;font-size:.85em}
"""

CHECK_JS = """
window.addEventListener('load', function () {
  var imgs = Array.prototype.slice.call(document.querySelectorAll('img.plot'));
  var ok = imgs.every(function (i) { return i.complete && i.naturalWidth > 0; });
  document.body.setAttribute('data-plots', imgs.length);
  document.body.setAttribute('data-plots-rendered', ok ? 'yes' : 'no');
});
"""


def write_report(sweep_dir: Path) -> Path:
    """report.html plus plots/ for one sweep folder."""
    rows = table_rows(sweep_dir)
    if not rows:
        raise DataError(f"{sweep_dir}: no finished runs to report")
    plots_dir = sweep_dir / "plots"
    plots_dir.mkdir(exist_ok=True)
    gains = json.loads((sweep_dir / "gains.json").read_text()) if (sweep_dir / "gains.json").is_file() else []

    plots: list[Plot] = _gains_plots(gains, plots_dir)
    for task in TASKS:
        for make in (_shots_plot, _template_plot):
            plot = make(rows, task, plots_dir)
            if plot is not None:
                plots.append(plot)

    cols = ["task", "pair", "template", "shots", "selector", "pool", "augment", "morph", "mode", "n", "bleu", "chrf++",
            "accuracy", "macro_f1"]
    langs = {r["pair"]: get_language(non_english(r["src"], r["tgt"])) for r in rows}
    rows.sort(key=lambda r: (r["task"], RESOURCE_ORDER[langs[r["pair"]].resource], r["pair"], r["template"],
                             r["augment"], r["morph"], r["shots"]))
    summary = _table(["resource"] + cols, [[langs[r["pair"]].resource] + [r[c] for c in cols] for r in rows],
                     "summary")

    gains_html = ""
    if gains:
        gains_html = "<h2>Gains over baseline (paired bootstrap, 95% CI)</h2>" + _table(
            ["task", "language", "resource", "pair", "template", "shots", "comparison", "metric", "baseline", "system",
             "gain", "95% CI", "p", "n"],
            [[g["task"], g["language"], g["resource"], g["pair"], g.get("template", ""), g.get("shots", ""),
              g["comparison"], g["metric"], f"{g['baseline']:.2f}", f"{g['system']:.2f}",
              f"{g['delta']:+.2f}{'*' if is_significant(g['p_value'], g['ci_low'], g['ci_high']) else ''}", f"[{g['ci_low']:+.2f}, {g['ci_high']:+.2f}]",
              f"{g['p_value']:.3f}", g["n"]] for g in gains], "gains") + (
            '<p class="note">* p &lt; 0.05 and the 95% interval excludes 0.</p>')

    sig_rows, samples = [], []
    for run in run_dirs(sweep_dir):
        if not (run / "metrics.json").is_file():
            continue
        spec, metrics = read_json(run / "spec.json"), read_json(run / "metrics.json")
        for name, score in metrics["scores"].items():
            sig_rows.append([spec["run_id"], name, score["value"], score["signature"] or score["note"]])
        samples.append(_samples(run, spec, metrics))
    config = json.dumps({r.name: read_json(r / "spec.json") for r in run_dirs(sweep_dir)}, indent=1,
                        ensure_ascii=False)
    sweep_yaml = (sweep_dir / "sweep.yaml").read_text(encoding="utf-8") if (sweep_dir / "sweep.yaml").is_file() else ""

    # A long sweep's summary is folded so that the gains and plots are one click away, not 200 rows down.
    summary_block = (summary if len(rows) <= SUMMARY_OPEN_ROWS else
                     f"<details><summary>all {len(rows)} runs (click to expand)</summary>{summary}</details>")
    figures = "".join(f'<figure><img class="plot" alt="{html.escape(p.title)}" src="{p.data_uri}">'
                      f"<figcaption class=note>{html.escape(p.title)} — {p.png.name}, {p.svg.name}</figcaption></figure>"
                      for p in plots)
    page = f"""<!doctype html><html lang="en"><head><meta charset="utf-8">
<title>icl report: {html.escape(sweep_dir.name)}</title><style>{CSS}</style><script>{CHECK_JS}</script></head><body>
<h1>icl report: {html.escape(sweep_dir.name)}</h1>
<p class="note">{len(rows)} runs. Everything below is computed from the files in {html.escape(str(sweep_dir))};
languages are ordered low-resource first. MT: BLEU and chrF++ (sacrebleu, signatures below); intent: accuracy, macro-F1.</p>
<p class="note">Contents: <a href="#summary">summary</a> · <a href="#gains">gains</a> · <a href="#plots">plots</a> ·
<a href="#signatures">signatures</a> · <a href="#predictions">predictions</a> · <a href="#configuration">configuration</a></p>
<h2 id="summary">Summary</h2>{summary_block}
<div id="gains">{gains_html}</div>
<h2 id="plots">Plots</h2>{figures or '<p class="note">No plot applies to this sweep (one shot count, one template, no gains).</p>'}
<h2 id="signatures">Signatures</h2>{_table(["run", "metric", "value", "sacrebleu signature / note"], sig_rows, "sig")}
<h2 id="predictions">Predictions (first {SAMPLE_ROWS} of each run)</h2>{''.join(samples)}
<h2 id="configuration">Configuration</h2><details><summary>sweep.yaml</summary><pre>{html.escape(sweep_yaml)}</pre></details>
<details><summary>run specs</summary><pre>{html.escape(config)}</pre></details>
</body></html>"""
    out = sweep_dir / "report.html"
    out.write_text(page, encoding="utf-8")
    return out
