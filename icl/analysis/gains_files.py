"""A study as files: gains.md (families, rows with corrected p and MDE, classes, replicability), gains.csv (the
rows) and gains.json (all of it, what `icl report` reads), and reading gains.json back."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path

from icl.analysis.gains import ClassGains, Gain, Study, class_gains, is_significant
from icl.analysis.study import ALPHA, Replicability
from icl.languages import get_language
from icl.metrics.base import RESAMPLES
from icl.sweep.comparisons import Comparison
from icl.sweep.design import Design


def read_study(path: Path) -> Study:
    """gains.json as written by `write_gains`; a file of older icl (a bare list of rows, p-values without a
    family) is read as rows only: no class intervals, no replicability, and no star (its p-values were never
    corrected)."""
    import json

    body = json.loads(path.read_text(encoding="utf-8"))
    if isinstance(body, list):
        rows = tuple(Gain(**{k: v for k, v in r.items() if k in Gain.__dataclass_fields__},
                          **({} if "resource_class" in r else
                             {"resource_class": get_language(r["language"]).resource_class}),
                          p_holm=1.0) for r in body)
        return Study(rows, tuple(class_gains(rows, [None] * len(rows))), ())
    return Study(tuple(Gain(**r) for r in body["rows"]), tuple(ClassGains(**c) for c in body["classes"]),
                 tuple(Replicability(**{k: (tuple(v) if isinstance(v, list) else v) for k, v in r.items()
                                        if k != "line"}) for r in body["replicability"]),
                 body["alpha"], body["correction"], body.get("design"))


def _fmt(value: float | None, spec: str = "+.2f") -> str:
    return "-" if value is None else format(value, spec)


def format_p(p: float) -> str:
    """p-values to the resolution a family needs (0.0001 where 3 decimals would print 0.000)."""
    return f"{p:.4f}" if p >= 0.0001 else f"{p:.1e}"


FAMILY_HEADERS = ("family", "rows", "first rejection needs", "p <= 0.05 uncorrected", "* (Holm)", "median MDE")


def family_rows(rows: Sequence[Gain]) -> list[list[str]]:
    """One row per family: its size, the level of its first rejection, stars before and after correction."""
    out = []
    for fam in sorted({g.family for g in rows}):
        members = [g for g in rows if g.family == fam]
        mdes = sorted(g.mde for g in members if g.mde is not None)
        median = mdes[len(mdes) // 2] if mdes else None
        out.append([fam, str(len(members)), f"p <= {ALPHA / len(members):.2g}",
                    str(sum(g.p_value <= ALPHA for g in members)), str(sum(is_significant(g) for g in members)),
                    _fmt(median, ".2f")])
    return out


def families_markdown(rows: Sequence[Gain]) -> list[str]:
    if any(g.decision is not None for g in rows):
        return _table(SEQ_FAMILY_HEADERS, sequential_family_rows(rows))
    return _table(FAMILY_HEADERS, family_rows(rows))


def _table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    return [f"| {' | '.join(headers)} |", "|---" * len(headers) + "|", *(f"| {' | '.join(r)} |" for r in rows), ""]


SEQ_FAMILY_HEADERS = ("family", "rows", "effect", "no effect", "open", "items used / fixed design",
                      "median MDE at the maximum (open rows)")


def sequential_family_rows(rows: Sequence[Gain]) -> list[list[str]]:
    """One row per family of a sequential study: its decisions, the items its rows used against what a fixed
    design of the same maximum gives them, and what its open rows could still detect."""
    out = []
    for fam in sorted({g.family for g in rows}):
        members = [g for g in rows if g.family == fam]
        count = {d: sum(g.decision == d for g in members) for d in ("effect", "no effect", "open")}
        used, fixed = sum(g.n for g in members), sum(g.fixed_items or g.n for g in members)
        mdes = sorted(g.mde for g in members if g.decision == "open" and g.mde is not None)
        median = mdes[len(mdes) // 2] if mdes else None
        out.append([fam, str(len(members)), str(count["effect"]), str(count["no effect"]), str(count["open"]),
                    f"{used:,} / {fixed:,} ({100 * used / max(fixed, 1):.0f}%)", _fmt(median, ".2f")])
    return out


def class_markdown(classes: Sequence[ClassGains], task: str) -> list[str]:
    """The by-class table of one task (lines of gains.md)."""
    rows = [c for c in classes if c.task == task]
    if not rows:
        return []
    lines = ["### by resource class (Joshi et al. 2020, 0-5), and over all pairs", "",
             ("| comparison | shots | metric | class | pairs | mean gain | 95% CI (pairs, then items) | range "
              "| * + / - (Holm) |"), "|---|---|---|---|---|---|---|---|---|"]
    for c in rows:
        scope = c.scope.removeprefix("class ") if c.scope else ("unknown" if c.resource_class is None else c.resource_class)
        ci = "-" if c.ci_low is None else f"[{c.ci_low:+.2f}, {c.ci_high:+.2f}]"
        lines.append(f"| {c.comparison} | {c.shots} | {c.metric} | {scope} | {c.pairs} | {c.mean:+.2f} | {ci} "
                     f"| [{c.low:+.2f}, {c.high:+.2f}] | {c.up} / {c.down} |")
    return [*lines, ""]


SEQ_HEADERS = ("language", "class", "pair", "template", "shots", "comparison", "metric", "baseline", "system",
               "gain", "95% repeated CI", "decision", "look", "items / max", "z / boundary", "family interval",
               "MDE at max", "family")


def sequential_markdown(g: Gain) -> list[str]:
    """A sequential study's row as gains.md shows it."""
    mark = "*" if is_significant(g) else ""
    cls = "-" if g.resource_class is None else g.resource_class
    return [g.language, str(cls), g.pair, g.template, str(g.shots), g.comparison, g.metric, f"{g.baseline:.2f}",
            f"{g.system:.2f}", f"{g.delta:+.2f}{mark}", f"[{g.ci_low:+.2f}, {g.ci_high:+.2f}]", g.decision or "-",
            f"{g.look}/{g.looks}", f"{g.n} / {g.fixed_items}", f"{_fmt(g.z, '+.2f')} / {_fmt(g.boundary, '.2f')}",
            f"[{_fmt(g.family_low)}, {_fmt(g.family_high)}]", _fmt(g.mde, ".2f"), f"{g.family} ({g.family_size})"]


def _design_line(design: dict) -> str:
    effects = ", ".join(f"{m} {d:g}" for m, d in design["effects"].items())
    fams = f"; families asking for items: {', '.join(design['families'])}" if design.get("families") else ""
    return (f"Sequential design: {design['looks']} looks at equal shares of each run's maximum, "
            f"{'Lan-DeMets O.Brien-Fleming' if design['spending'] == 'obf' else 'Lan-DeMets Pocock'}-type alpha "
            f"spending, family-wise alpha {design['alpha']:g} shared by Holm's graph (Maurer & Bretz 2013); "
            f"smallest effects of interest: {effects}{fams}.").replace("O.Brien", "O'Brien")


def gains_markdown(study: Study, notes: Sequence[str] = (), fdr: bool = False) -> str:
    """Families first, then one table per task; `*` only where the family-corrected p says so."""
    if study.design is not None:
        return _sequential_gains_markdown(study, notes)
    rows = study.rows
    lines = ["## families", "", *families_markdown(rows)] if rows else []
    for task in sorted({g.task for g in rows}):
        q = " q (BH) |" if fdr else ""
        lines += [f"## {task}", "",
                  ("| language | class | pair | template | shots | comparison | metric | baseline | system | gain "
                   f"| 95% CI | p | p (Holm) |{q} MDE | n | family |"),
                  "|---|---|---|---|---|---|---|---|---|---|---|---|---|" + ("---|" if fdr else "") + "---|---|---|"]
        for g in (g for g in rows if g.task == task):
            mark = "*" if is_significant(g) else ""
            cls = "-" if g.resource_class is None else g.resource_class
            qcol = f" {format_p(g.q_bh)} |" if fdr else ""
            lines.append(f"| {g.language} | {cls} | {g.pair} | {g.template} | {g.shots} | {g.comparison} | {g.metric} "
                         f"| {g.baseline:.2f} | {g.system:.2f} | {g.delta:+.2f}{mark} "
                         f"| [{g.ci_low:+.2f}, {g.ci_high:+.2f}] | {format_p(g.p_value)} | {format_p(g.p_holm)} |{qcol} "
                         f"{_fmt(g.mde, '.2f')} | {g.n} | {g.family} ({g.family_size}) |")
        lines += ["", *class_markdown(study.classes, task)]
        reps = [r for r in study.replicability if r.task == task]
        if reps:
            lines += ["### replicability over languages", "", *(f"- {r.line()}" for r in reps), ""]
    lines.append(f"`*`: Holm-adjusted p <= {study.alpha} within the row's family (a comparison's `family` and the "
                 "metric; m rows in brackets). p: the row's own two-sided test (MT: paired bootstrap over items, "
                 "whose percentile interval is the 95% CI; accuracy: McNemar's score test with Tango's score interval, which it inverts). Rows pooled over draws (seeds, templates): a two-level bootstrap, draws then items. "
                 f"MDE: the smallest gain the row could detect with 80% power at {study.alpha}/m. Scores in points "
                 "(chrF++, BLEU, accuracy %). class: Joshi et al. (2020), 0-5; `-` unknown.")
    if notes:
        lines += ["", "## Not compared: identical prompts", "", *(f"- {n}" for n in notes)]
    return "\n".join(lines) + "\n"


def _sequential_gains_markdown(study: Study, notes: Sequence[str]) -> str:
    rows = study.rows
    lines = ["## families", "", _design_line(study.design or {}), "", *families_markdown(rows)]
    for task in sorted({g.task for g in rows}):
        lines += [f"## {task}", "", *_table(SEQ_HEADERS, [sequential_markdown(g) for g in rows if g.task == task]),
                  *class_markdown(study.classes, task)]
        reps = [r for r in study.replicability if r.task == task]
        if reps:
            lines += ["### replicability over languages", "", *(f"- {r.line()}" for r in reps), ""]
    lines.append("decision: `effect` (`*`): the row crossed its boundary under the family's procedure (Holm's graph "
                 "over the looks); `no effect`: its family interval lies inside (-d, d), d the metric's smallest effect "
                 "of interest; `open`: neither by its last look. 95% repeated CI: covers the gain with probability "
                 "0.95 whatever look the study stopped at (Jennison & Turnbull); p in gains.csv/json is the repeated "
                 "p-value. items / max: items the row used / what a fixed design of the same maximum gives it. MDE at "
                 "max: the gain its test detects with 80% power by the last look at alpha/m.")
    if notes:
        lines += ["", "## Not compared: identical prompts", "", *(f"- {n}" for n in notes)]
    return "\n".join(lines) + "\n"


GAINS_FILES = ("gains.json", "gains.csv", "gains.md")
"""What `write_gains` writes, in a sweep's folder."""


def write_sweep_gains(sweep_dir: Path, comparisons: Sequence[Comparison], resamples: int = RESAMPLES,
                      design: Design | None = None) -> Path:
    """`write_gains` of the sweep's study and notes, byte for byte, but computed only when its inputs changed:
    the files are kept (icl.derived) under a key over the comparisons, `resamples` and every run's spec.json
    and predictions.jsonl, so a re-run whose answers all came from the cache skips the bootstraps."""
    from icl import derived
    from icl.analysis.gains import not_compared
    from icl.analysis.results import run_dirs
    from icl.analysis.seqgains import any_study

    inputs = [(run.name, derived.file_digest(run / "spec.json", memo=False),
               derived.file_digest(run / "predictions.jsonl", memo=False)) for run in run_dirs(sweep_dir)]
    def computed() -> tuple[bytes, ...]:
        write_gains(sweep_dir, any_study(sweep_dir, comparisons, design, resamples), not_compared(sweep_dir, comparisons))
        return tuple((sweep_dir / name).read_bytes() for name in GAINS_FILES)

    stored = derived.cached("gains", derived.key("gains", tuple(comparisons), resamples, design, inputs), computed)
    for name, data in zip(GAINS_FILES, stored, strict=True):  # computed or not, the folder holds these bytes
        (sweep_dir / name).write_bytes(data)
    _append_provenance(sweep_dir)
    return sweep_dir / "gains.md"


def _append_provenance(sweep_dir: Path) -> str:
    """gains.md's "Provenance warnings", from the rows just written: outside the stored bytes, since each
    run's provenance.json changes (its times) on every run while the gains do not."""
    from icl.analysis.provenance import append_provenance

    return append_provenance(sweep_dir, read_study(sweep_dir / "gains.json").rows)


def write_gains(sweep_dir: Path, study: Study, notes: Sequence[str] = (), fdr: bool = False) -> Path:
    """gains.md, gains.csv (the rows) and gains.json (rows, classes, replicability) beside the table."""
    import csv
    import io
    import json

    (sweep_dir / "gains.json").write_text(json.dumps(study.to_json(), indent=1) + "\n", encoding="utf-8")
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=list(Gain.__dataclass_fields__))
    writer.writeheader()
    writer.writerows(asdict(g) for g in study.rows)
    (sweep_dir / "gains.csv").write_text(buf.getvalue(), encoding="utf-8")
    md = sweep_dir / "gains.md"
    md.write_text(gains_markdown(study, notes, fdr), encoding="utf-8")
    return md
