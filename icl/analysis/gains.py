"""Gains of one condition over its baseline, per language, as a study: each row's paired test and interval,
its family-corrected p-value and detectable effect, then means by resource class and replicability counts.

A sweep's `gains:` section names comparisons as two filters over run-spec fields, e.g.
`{name: +hints, baseline: {augment: none, template: mt/plain}, system: {augment: hints, template: mt/hints}}`.
Each run matching `system` is paired with the run matching `baseline` that agrees with it on every field
neither filter names (model, language pair, seed, shots, limit, ...). Items are paired by id; MT uses a
paired bootstrap, accuracy McNemar's exact test (icl.metrics.paired); families, corrections and counts over
languages are icl.analysis.study's. Everything is read from result files.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from icl.analysis.power import mde_bootstrap, mde_mcnemar
from icl.analysis.results import read_json, read_jsonl, run_dirs
from icl.analysis.study import ALPHA, Replicability, adjust, replicability, two_level_interval
from icl.errors import DataError
from icl.languages import RESOURCE_ORDER, get_language, non_english, pair_label
from icl.metrics import RESAMPLES, PairedResult
from icl.sweep.comparisons import Comparison
from icl.tasks import get_task

_IGNORED = {"run_id", "sweep", "labels", "demo_source", "same_as", "leak_excluded", "leak_warnings"}
"""Written with a run but not run fields: where its demos came from follows from its pool, `same_as` lists
the runs collapsed into it, and the leak check's counts and near misses describe its demos; none may keep a
baseline and a system apart."""


@dataclass(frozen=True)
class Gain:
    """One row of a gains table: a paired test, its family-corrected p-value and what it could have seen."""

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
    """Raw two-sided p of the row's own test (icl.metrics.paired: the test its interval inverts)."""
    n: int
    baseline_run: str
    system_run: str
    family: str = ""
    """The rows corrected together: the comparison's `family` (or `default`) and the metric."""
    family_size: int = 1
    p_holm: float | None = 1.0
    """Holm-adjusted p within the family: `*` where at most ALPHA (None in a sequential study: `decision` says)."""
    q_bh: float | None = 1.0
    """Benjamini-Hochberg q within the family (false discovery rate), for `icl gains --fdr`."""
    p_greater: float = 1.0
    """One-sided p that the system is better (replicability counts combine these)."""
    p_less: float = 1.0
    se: float = 0.0
    """Standard error of the gain."""
    discordant: float | None = None
    """Accuracy: share of items where exactly one system is right."""
    mde: float | None = None
    """Minimum detectable gain at 80% power and the family's row level ALPHA / family_size (icl.analysis.power);
    in a sequential study, at the run's maximum with the last look's boundary."""
    method: str = ""
    decision: str | None = None
    """Sequential study (icl.analysis.sequential): `effect`, `no effect` (larger than the metric's smallest effect
    of interest) or `open`; None in a fixed study."""
    look: int | None = None
    """The look it was decided at (its last look where open); `n` is its items then, ci_low/ci_high its 95%
    repeated confidence interval there and p_value its repeated p-value."""
    looks: int | None = None
    """Looks the design plans."""
    z: float | None = None
    boundary: float | None = None
    """|z| the row needed at that look, with the share of the family's alpha it ended with."""
    alpha_share: float | None = None
    family_low: float | None = None
    family_high: float | None = None
    """The interval at the row's own alpha: inside (-d, d) is what `no effect` means."""
    fixed_items: int | None = None
    """Items a fixed design would have given the row's runs (the design's maximum)."""


@dataclass(frozen=True)
class ClassGains:
    """The gains of one comparison (and metric, shots) over the language pairs of one resource class, or of
    all of them (`resource_class` None with `scope` 'all')."""

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
    """Pairs whose gain is significant and positive after the family's correction (Holm)."""
    down: int
    """... significant and negative."""
    ci_low: float | None = None
    ci_high: float | None = None
    """95% two-level bootstrap interval of the mean gain (pairs, then items); None for files without draws."""
    scope: str = ""
    """'class N', 'class unknown' or 'all'."""


@dataclass(frozen=True)
class Study:
    """A sweep's gains as a study: the rows, the by-class means with intervals, and replicability counts."""

    rows: tuple[Gain, ...]
    classes: tuple[ClassGains, ...]
    replicability: tuple[Replicability, ...]
    alpha: float = ALPHA
    correction: str = "holm"
    design: dict[str, Any] | None = None
    """A sequential study's design (icl.sweep.design.design_to_json); None for a fixed study."""

    def to_json(self) -> dict[str, Any]:
        return {"alpha": self.alpha, "correction": self.correction, "design": self.design,
                "rows": [asdict(g) for g in self.rows],
                "classes": [asdict(c) for c in self.classes],
                "replicability": [{**asdict(r), "line": r.line()} for r in self.replicability]}


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


def compare_runs(a: Path, b: Path, resamples: int = RESAMPLES, seed: int = 12345) -> list[PairedResult]:
    """Paired test of run b over run a on the items both scored (same task required). A sequential run holds
    the items of its last look; in a study its rows are tested look by look (icl.analysis.looks)."""
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
                                            [rows_a[i]["reference"] for i in ids], resamples, seed, spec_a["tgt"])


def find_pairs(sweep_dir: Path, comparisons: Sequence[Comparison]) -> list[tuple[Comparison, dict[str, Any], Path, Path]]:
    """(comparison, system's fields, baseline run, system run) for every run pair a comparison finds. A run stands
    for the runs collapsed into it (spec.json `same_as`: identical prompts), so a seed-independent 0-shot baseline
    run serves the system runs of every seed."""
    runs = []
    for run in run_dirs(sweep_dir):
        if (run / "predictions.jsonl").is_file():
            spec = read_json(run / "spec.json")
            flat = _flat(spec)
            runs.append((run, flat, [flat, *({**flat, **entry["fields"]} for entry in spec.get("same_as", ()))]))
    found = []
    for comp in comparisons:
        named = set(comp.baseline) | set(comp.system)
        baselines: dict[tuple, Path] = {}
        for run, _, aliases in runs:
            for alias in aliases:
                if _matches(alias, comp.baseline):
                    baselines.setdefault(_key(alias, named), run)
        for run, flat, _ in runs:
            base = baselines.get(_key(flat, named)) if _matches(flat, comp.system) else None
            if base is not None and base != run:
                found.append((comp, flat, base, run))
    return found


def row_fields(comp: Comparison, flat: Mapping[str, Any], base: Path, run: Path, res: PairedResult) -> dict[str, Any]:
    """A row's fields from its comparison, its runs and its paired test."""
    lang = get_language(non_english(flat["src"], flat["tgt"]))
    return {"comparison": comp.name, "task": flat["task"], "pair": pair_label(flat["src"], flat["tgt"]),
            "template": flat["template"].split("/", 1)[1], "shots": int(flat["shots"]),
            "language": lang.name, "resource": lang.resource, "resource_class": lang.resource_class,
            "metric": res.metric, "baseline": res.baseline, "system": res.system, "delta": res.delta,
            "ci_low": res.ci_low, "ci_high": res.ci_high, "p_value": res.p_value, "n": res.n,
            "baseline_run": base.name, "system_run": run.name,
            "family": f"{comp.family or 'default'}/{res.metric}", "p_greater": res.p_greater,
            "p_less": res.p_less, "se": res.se, "discordant": res.discordant, "method": res.method}


def compute_study(sweep_dir: Path, comparisons: Sequence[Comparison], resamples: int = RESAMPLES) -> Study:
    """Every comparison for every run pair it finds, each family corrected (Holm, and BH q), each row with
    its detectable effect; then by-class means with two-level intervals and replicability counts. (A sequential
    study: icl.analysis.seqgains.)"""
    from icl.analysis.draws import pool_draws

    raw: list[tuple[dict[str, Any], Any, dict[str, Any]]] = []
    for comp, flat, base, run in find_pairs(sweep_dir, comparisons):
        raw += [(row_fields(comp, flat, base, run, res), res.draws, flat)
                for res in compare_runs(base, run, resamples)]
    pooled = pool_draws(raw)
    return assemble(_corrected(pooled), [d for _, d in pooled])


def assemble(rows: Sequence[Gain], draws: Sequence[Any], design: dict[str, Any] | None = None) -> Study:
    """A study from its rows (any order) and their item-level bootstrap draws: rows sorted, class means with
    their intervals, replicability counts."""
    from icl.analysis.draws import PER_DRAW

    order = sorted(range(len(rows)), key=lambda i: _row_order(rows[i]))
    rows, draws = [rows[i] for i in order], [draws[i] for i in order]
    claims = [i for i, g in enumerate(rows) if not g.family.endswith(PER_DRAW)]  # a draw is not a claim of its own
    kept = [rows[i] for i in claims]
    return Study(tuple(rows), tuple(class_gains(kept, [draws[i] for i in claims])), tuple(_replicability(kept)),
                 design=design)


def _row_order(g: Gain) -> tuple:
    return (g.task, RESOURCE_ORDER[g.resource], 6 if g.resource_class is None else g.resource_class, g.language,
            g.pair, g.comparison, g.template, g.shots, g.metric)


def _corrected(raw: Sequence[tuple[dict[str, Any], Any]]) -> list[Gain]:
    """Rows with Holm's p, BH's q and the MDE at the family's row level, family by family."""
    families: dict[str, list[int]] = {}
    for i, (fields, _) in enumerate(raw):
        families.setdefault(fields["family"], []).append(i)
    out: list[Gain | None] = [None] * len(raw)
    for members in families.values():
        ps = [raw[i][0]["p_value"] for i in members]
        m = len(members)
        for i, holm, q in zip(members, adjust(ps, "holm"), adjust(ps, "bh"), strict=True):
            fields = raw[i][0]
            out[i] = Gain(**fields, family_size=m, p_holm=holm, q_bh=q, mde=_mde(fields, ALPHA / m))
    return [g for g in out if g is not None]


def _mde(fields: Mapping[str, Any], alpha: float) -> float | None:
    if fields["discordant"] is not None:
        return mde_mcnemar(fields["n"], fields["discordant"], alpha)
    return None if fields["se"] is None else mde_bootstrap(fields["se"], alpha)


def is_significant(g: Gain | Mapping[str, Any], alpha: float = ALPHA) -> bool:
    """A star: the row's family-corrected (Holm) p-value is at most alpha, or in a sequential study its family's
    procedure decided `effect`. Rows of files written before corrections (no `p_holm`) are never starred: their
    p-values had no family."""
    decision = g.decision if isinstance(g, Gain) else g.get("decision")
    if decision is not None:
        return decision == "effect"
    p = g.p_holm if isinstance(g, Gain) else g.get("p_holm")
    return p is not None and p <= alpha


def _group_key(g: Gain) -> tuple[str, str, int, str]:
    return (g.task, g.comparison, g.shots, g.metric)


def class_gains(rows: Sequence[Gain], draws: Sequence[Any]) -> list[ClassGains]:
    """Mean gain per (comparison, shots, metric) and resource class 0-5 (unknown last), and over all pairs,
    each with its two-level 95% interval; up / down count Holm-significant pairs."""
    groups: dict[tuple, list[int]] = {}
    for i, g in enumerate(rows):
        groups.setdefault((*_group_key(g), g.resource_class, "class"), []).append(i)
        groups.setdefault((*_group_key(g), None, "all"), []).append(i)
    out = []
    for (task, comparison, shots, metric, cls, kind), members in groups.items():
        deltas = [rows[i].delta for i in members]
        have = [draws[i] for i in members if draws[i] is not None]
        low, high = two_level_interval(have) if len(have) == len(members) else (None, None)
        scope = "all" if kind == "all" else f"class {'unknown' if cls is None else cls}"
        out.append(ClassGains(task, comparison, shots, metric, cls, len(members), sum(deltas) / len(deltas),
                              min(deltas), max(deltas), sum(is_significant(rows[i]) and rows[i].delta > 0 for i in members),
                              sum(is_significant(rows[i]) and rows[i].delta < 0 for i in members), low, high, scope))
    out.sort(key=lambda c: (c.task, c.comparison, c.shots, c.metric, c.scope == "all",
                            6 if c.resource_class is None else c.resource_class))
    return out


def _replicability(rows: Sequence[Gain]) -> list[Replicability]:
    """Per comparison (shots, metric): over all its pairs, and per resource class."""
    groups: dict[tuple, list[Gain]] = {}
    for g in rows:
        groups.setdefault((*_group_key(g), g.family, None, "all"), []).append(g)
        groups.setdefault((*_group_key(g), g.family, g.resource_class, "class"), []).append(g)
    out = []
    for (task, comparison, shots, metric, family, cls, kind), members in sorted(
            groups.items(), key=lambda kv: (kv[0][:5], kv[0][6] != "all", 6 if kv[0][5] is None else kv[0][5])):
        scope = "all" if kind == "all" else f"class {'unknown' if cls is None else cls}"
        out.append(replicability(task, comparison, shots, metric, family, cls, scope, [g.pair for g in members],
                                 [g.p_greater for g in members], [g.p_less for g in members]))
    return out


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
