"""Gains of one condition over its baseline, per language, with paired-bootstrap 95% intervals.

A sweep's `gains:` section names comparisons as two filters over run-spec fields, e.g.
`{name: +hints, baseline: {augment: none, template: mt/plain}, system: {augment: hints, template: mt/hints}}`.
Each run matching `system` is paired with the run matching `baseline` that agrees with it on every field
neither filter names (model, language pair, seed, shots, limit, ...). Items are paired by id; MT uses
sacrebleu's paired bootstrap, intent a bootstrap over items. Everything is read from result files.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from icl.analysis.results import read_json, read_jsonl, run_dirs
from icl.errors import DataError
from icl.languages import RESOURCE_ORDER, get_language, non_english, pair_label
from icl.metrics import PairedResult
from icl.sweep.comparisons import Comparison
from icl.tasks import get_task

_IGNORED = {"run_id", "sweep", "labels", "demo_source", "same_as"}
"""Written with a run but not run fields: where its demos came from follows from its pool, and
`same_as` lists the runs collapsed into it; neither may keep a baseline and a system apart."""


@dataclass(frozen=True)
class Gain:
    """One row of a gains table."""

    comparison: str
    task: str
    pair: str
    template: str
    shots: int
    language: str
    resource: str
    """The language's coarse resource level (low, mid, high, unknown)."""
    resource_class: int | None
    """Its Joshi et al. (2020) class 0-5, None when unknown (icl.languages)."""
    metric: str
    baseline: float
    system: float
    delta: float
    ci_low: float
    ci_high: float
    p_value: float
    n: int
    baseline_run: str
    system_run: str


def _flat(spec: Mapping[str, Any]) -> dict[str, Any]:
    flat = {k: v for k, v in spec.items() if k not in _IGNORED}
    flat["model"] = spec["model"]["name"]
    flat["engine"] = spec["model"]["engine"]
    flat["fixed_ids"] = tuple(spec.get("fixed_ids", ()))
    return flat


def _matches(flat: Mapping[str, Any], filt: Mapping[str, Any]) -> bool:
    return all(flat.get(k) == v for k, v in filt.items())


def _key(flat: Mapping[str, Any], named: set[str]) -> tuple:
    return tuple(sorted((k, repr(v)) for k, v in flat.items() if k not in named))


def compare_runs(a: Path, b: Path, resamples: int = 1000, seed: int = 12345) -> list[PairedResult]:
    """Paired bootstrap of run b over run a on the items both scored (same task required)."""
    spec_a, spec_b = read_json(a / "spec.json"), read_json(b / "spec.json")
    if spec_a["task"] != spec_b["task"]:
        raise DataError(f"{b}: task {spec_b['task']!r} cannot be compared with {a}'s {spec_a['task']!r}")
    rows_a = {r["id"]: r for r in read_jsonl(a / "predictions.jsonl")}
    rows_b = {r["id"]: r for r in read_jsonl(b / "predictions.jsonl")}
    ids = [i for i in rows_a if i in rows_b]
    if not ids:
        raise DataError(f"{a} and {b} share no scored items")
    for i in ids:
        if rows_a[i]["reference"] != rows_b[i]["reference"]:
            raise DataError(f"{b}: item {i} has a different reference than in {a}; not the same test set")
    return get_task(spec_a["task"]).compare([rows_a[i]["prediction"] for i in ids],
                                            [rows_b[i]["prediction"] for i in ids],
                                            [rows_a[i]["reference"] for i in ids], resamples, seed)


def compute_gains(sweep_dir: Path, comparisons: Sequence[Comparison], resamples: int = 1000) -> list[Gain]:
    """Every comparison for every run pair it finds; low-resource languages first."""
    runs = []
    for run in run_dirs(sweep_dir):
        if (run / "predictions.jsonl").is_file():
            runs.append((run, _flat(read_json(run / "spec.json"))))
    gains: list[Gain] = []
    for comp in comparisons:
        named = set(comp.baseline) | set(comp.system)
        baselines: dict[tuple, Path] = {}
        for run, flat in runs:
            if _matches(flat, comp.baseline):
                baselines[_key(flat, named)] = run
        for run, flat in runs:
            if not _matches(flat, comp.system):
                continue
            base = baselines.get(_key(flat, named))
            if base is None or base == run:
                continue
            lang = get_language(non_english(flat["src"], flat["tgt"]))
            pair = pair_label(flat["src"], flat["tgt"])
            for res in compare_runs(base, run, resamples):
                gains.append(Gain(comp.name, flat["task"], pair, flat["template"].split("/", 1)[1],
                                  int(flat["shots"]), lang.name, lang.resource, lang.resource_class, res.metric,
                                  res.baseline,
                                  res.system, res.delta, res.ci_low, res.ci_high, res.p_value, res.n, base.name,
                                  run.name))
    gains.sort(key=lambda g: (g.task, RESOURCE_ORDER[g.resource], 6 if g.resource_class is None else g.resource_class,
                              g.language, g.pair, g.comparison, g.template, g.shots, g.metric))
    return gains


def not_compared(sweep_dir: Path, comparisons: Sequence[Comparison]) -> list[str]:
    """Comparisons whose system run was collapsed into its own baseline run (identical prompts,
    icl.run.noops): said once each, so a missing row is never mistaken for a missing experiment and
    no +0.00 row pretends to be a measurement."""
    notes = []
    for run in run_dirs(sweep_dir):
        spec = read_json(run / "spec.json")
        flat = _flat(spec)
        for entry in spec.get("same_as", ()):
            collapsed = {**flat, **entry["fields"]}
            for comp in comparisons:
                if _matches(collapsed, comp.system) and _matches(flat, comp.baseline):
                    notes.append(f"{comp.name}, {pair_label(flat['src'], flat['tgt'])}, {flat['shots']} shots: "
                                 f"not compared, the system's prompts are the baseline's ({entry['why']})")
    return notes


def is_significant(p_value: float, ci_low: float, ci_high: float, alpha: float = 0.05) -> bool:
    """Both the bootstrap p-value and the interval must say so.

    sacrebleu's p-value tests a mean-centred resampling while the interval is the percentile interval of
    the paired deltas; on small test sets they can disagree (an interval touching 0 at p = 0.1, or a
    degenerate [0, +x] interval when most resamples tie), and a star then would overclaim.
    """
    return p_value < alpha and (ci_low > 0 or ci_high < 0)


@dataclass(frozen=True)
class ClassGains:
    """The gains of one comparison (and metric, shots) for the languages of one resource class."""

    task: str
    comparison: str
    shots: int
    metric: str
    resource_class: int | None
    pairs: int
    """Language pairs (runs compared) in the class."""
    mean: float
    low: float
    high: float
    """Smallest and largest gain of a pair in the class."""
    up: int
    """Pairs whose gain is significant and positive (`is_significant`)."""
    down: int
    """... significant and negative."""


def by_class(gains: Sequence[Mapping[str, Any]]) -> list[ClassGains]:
    """Gains grouped by (task, comparison, shots, metric) and resource class 0-5 (unknown last), every
    language of the sweep: what "gains by resource level" means, per class rather than per level.
    Rows are Gain fields as dicts (gains.json), so the report can group files written before classes
    were recorded: a row without `resource_class` takes its language's class now."""
    groups: dict[tuple, list[Mapping[str, Any]]] = {}
    for g in gains:
        cls = g["resource_class"] if "resource_class" in g else get_language(g["language"]).resource_class
        key = (g["task"], g["comparison"], int(g.get("shots", -1)), g["metric"], cls)
        groups.setdefault(key, []).append(g)
    out = []
    for (task, comparison, shots, metric, cls), rows in groups.items():
        deltas = [float(r["delta"]) for r in rows]
        sig = [r for r in rows if is_significant(r["p_value"], r["ci_low"], r["ci_high"])]
        out.append(ClassGains(task, comparison, shots, metric, cls, len(rows), sum(deltas) / len(deltas),
                              min(deltas), max(deltas), sum(r["delta"] > 0 for r in sig),
                              sum(r["delta"] < 0 for r in sig)))
    out.sort(key=lambda c: (c.task, c.comparison, c.shots, c.metric, 6 if c.resource_class is None else c.resource_class))
    return out


def class_markdown(gains: Sequence[Mapping[str, Any]]) -> list[str]:
    """The by-class table of one task's gains (lines of gains.md)."""
    rows = by_class(gains)
    if not rows:
        return []
    lines = ["### by resource class (Joshi et al. 2020, 0-5), all languages of the sweep", "",
             "| comparison | shots | metric | class | pairs | mean gain | range | significant + / - |",
             "|---|---|---|---|---|---|---|---|"]
    for c in rows:
        cls = "unknown" if c.resource_class is None else c.resource_class
        lines.append(f"| {c.comparison} | {c.shots} | {c.metric} | {cls} | {c.pairs} | {c.mean:+.2f} "
                     f"| [{c.low:+.2f}, {c.high:+.2f}] | {c.up} / {c.down} |")
    return [*lines, ""]


def gains_markdown(gains: Sequence[Gain], notes: Sequence[str] = ()) -> str:
    """One table per task; `*` only where the interval and the test agree, so a reader can trust the mark."""
    lines = []
    for task in sorted({g.task for g in gains}):
        header = ("| language | class | resource | pair | template | shots | comparison | metric | baseline | system "
                  "| gain | 95% CI | p | n |")
        lines += [f"## {task}", "", header, "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
        for g in (g for g in gains if g.task == task):
            mark = "*" if is_significant(g.p_value, g.ci_low, g.ci_high) else ""
            cls = "-" if g.resource_class is None else g.resource_class
            lines.append(f"| {g.language} | {cls} | {g.resource} | {g.pair} | {g.template} | {g.shots} | {g.comparison} "
                         f"| {g.metric} | {g.baseline:.2f} "
                         f"| {g.system:.2f} | {g.delta:+.2f}{mark} | [{g.ci_low:+.2f}, {g.ci_high:+.2f}] "
                         f"| {g.p_value:.3f} | {g.n} |")
        lines.append("")
        lines += class_markdown([asdict(g) for g in gains if g.task == task])
    lines.append("`*`: significant at 0.05: p < 0.05 and the paired-bootstrap 95% interval excludes 0. "
                 "Scores in points (chrF++, BLEU, accuracy %). class: Joshi et al. (2020), 0-5; `-` unknown.")
    if notes:
        lines += ["", "## Not compared: identical prompts", "", *(f"- {n}" for n in notes)]
    return "\n".join(lines) + "\n"


def write_gains(sweep_dir: Path, gains: Sequence[Gain], notes: Sequence[str] = ()) -> Path:
    """gains.md, gains.csv and gains.json beside the table."""
    import csv
    import io
    import json

    (sweep_dir / "gains.json").write_text(json.dumps([asdict(g) for g in gains], indent=1) + "\n", encoding="utf-8")
    buf = io.StringIO()
    fields = list(Gain.__dataclass_fields__)
    writer = csv.DictWriter(buf, fieldnames=fields)
    writer.writeheader()
    writer.writerows(asdict(g) for g in gains)
    (sweep_dir / "gains.csv").write_text(buf.getvalue(), encoding="utf-8")
    md = sweep_dir / "gains.md"
    md.write_text(gains_markdown(gains, notes), encoding="utf-8")
    return md
