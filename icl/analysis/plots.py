"""The report's figures, from result rows and gains only: score vs shots, templates, gains per language,
and gains against resource class. Each is written as PNG and SVG under `results/<sweep>/plots/` and
inlined into report.html as a PNG data URI."""

from __future__ import annotations

import base64
import io
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from icl.languages import RESOURCE_CLASSES, RESOURCE_ORDER, get_language
from icl.tasks import get_task


@dataclass(frozen=True)
class Plot:
    """One figure: where its files are and the PNG to inline."""

    title: str
    png: Path
    svg: Path
    data_uri: str


def figure(plots_dir: Path, name: str, title: str, draw: Any) -> Plot:
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


def shots_plot(rows: list[dict[str, Any]], task: str, plots_dir: Path) -> Plot | None:
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

    return figure(plots_dir, f"{task}_shots", f"{task}: {metric} vs number of shots (no augmentation)", draw)


def template_plot(rows: list[dict[str, Any]], task: str, plots_dir: Path) -> Plot | None:
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

    return figure(plots_dir, f"{task}_templates", f"{task}: template comparison", draw)


def gains_plots(gains: list[dict[str, Any]], plots_dir: Path) -> list[Plot]:
    plots = []
    groups: dict[tuple[str, str, int, str], list[dict[str, Any]]] = defaultdict(list)
    for g in gains:
        if g["metric"] in ("chrf++", "accuracy"):
            groups[(g["task"], g["comparison"], g.get("shots", -1), g["metric"])].append(g)
    for i, ((task, comparison, shots, metric), items) in enumerate(sorted(groups.items())):
        items.sort(key=lambda g: (RESOURCE_ORDER[g["resource"]], g["language"], g["pair"]))

        def draw(plt: Any, items: list[dict[str, Any]] = items, metric: str = metric) -> Any:
            colours = {"low": "#c0392b", "mid": "#e67e22", "high": "#2c7fb8", "unknown": "#999999"}
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
        plots.append(figure(plots_dir, f"gains_{i}", f"{task}: {comparison}{at} ({metric})", draw))
    return plots


def _class_of(g: dict[str, Any]) -> int | None:
    """A gain's resource class (gains.json written before classes were recorded: its language's now)."""
    return g["resource_class"] if "resource_class" in g else get_language(g["language"]).resource_class


def class_plots(gains: list[dict[str, Any]], plots_dir: Path,
                classes: Sequence[Any] = ()) -> list[Plot]:
    """Gain with its 95% CI for every language pair of the sweep against its resource class, classes 0-5
    on one axis (unknown to the right), one figure per comparison, shot count and main metric; a bar
    marks each class's mean gain, and a band its two-level 95% interval (`classes`, icl.analysis.gains'
    ClassGains). The figure "gains by resource level" is about."""
    bands = {(c.task, c.comparison, c.shots, c.metric, c.resource_class): (c.ci_low, c.ci_high) for c in classes
             if c.scope != "all" and c.ci_low is not None}
    groups: dict[tuple[str, str, int, str], list[dict[str, Any]]] = defaultdict(list)
    for g in gains:
        if g["metric"] == get_task(g["task"]).main_metric:
            groups[(g["task"], g["comparison"], g.get("shots", -1), g["metric"])].append(g)
    plots = []
    for i, ((task, comparison, shots, metric), items) in enumerate(sorted(groups.items())):
        def draw(plt: Any, items: list[dict[str, Any]] = items, metric: str = metric,
                 key: tuple[str, str, int, str] = (task, comparison, shots, metric)) -> Any:
            unknown = len(RESOURCE_CLASSES)
            xs_of = {c: [] for c in [*RESOURCE_CLASSES, unknown]}
            for g in sorted(items, key=lambda g: g["pair"]):
                cls = _class_of(g)
                xs_of[unknown if cls is None else cls].append(g)
            fig, ax = plt.subplots(figsize=(8, 4.5))
            for x, members in xs_of.items():
                for j, g in enumerate(members):
                    at = x + (j - (len(members) - 1) / 2) * min(0.08, 0.7 / max(len(members), 1))
                    err = [[g["delta"] - g["ci_low"]], [g["ci_high"] - g["delta"]]]
                    ax.errorbar([at], [g["delta"]], yerr=err, fmt="o", ms=4, capsize=2, color="#2c7fb8", alpha=0.8)
                    if len(items) <= 40:
                        several = len({h.get("template") for h in items}) > 1
                        label = f"{g['pair']} {g.get('template', '')}" if several else g["pair"]
                        ax.annotate(label, (at, g["ci_high"]), fontsize=5, ha="center", va="bottom", rotation=90)
                if members:
                    mean = sum(g["delta"] for g in members) / len(members)
                    ax.hlines(mean, x - 0.4, x + 0.4, color="#c0392b", linewidth=2)
                    band = bands.get((*key, None if x == unknown else x))
                    if band is not None:
                        ax.fill_between([x - 0.4, x + 0.4], band[0], band[1], color="#c0392b", alpha=0.15, lw=0)
            ax.axhline(0, color="black", linewidth=0.8)
            ticks = [*RESOURCE_CLASSES] + ([unknown] if xs_of[unknown] else [])
            ax.set_xticks(ticks, [f"{c}\n({len(xs_of[c])})" for c in RESOURCE_CLASSES]
                          + ([f"unknown\n({len(xs_of[unknown])})"] if xs_of[unknown] else []))
            ax.set_xlim(-0.6, ticks[-1] + 0.6)
            ax.set_xlabel("resource class (Joshi et al. 2020; language pairs)")
            ax.set_ylabel(f"gain in {metric} (95% CI)")
            ax.margins(y=0.15)  # room for the pair labels above the intervals
            ax.grid(axis="y", alpha=0.3)
            return fig

        at = f", {shots}-shot" if shots >= 0 else ""
        plots.append(figure(plots_dir, f"gains_by_class_{i}", f"{task}: {comparison}{at} ({metric}) by resource class",
                            draw))
    return plots
