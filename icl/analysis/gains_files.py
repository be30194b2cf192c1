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
                 body["alpha"], body["correction"])


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
    return [f"| {' | '.join(FAMILY_HEADERS)} |", "|---" * len(FAMILY_HEADERS) + "|",
            *(f"| {' | '.join(r)} |" for r in family_rows(rows)), ""]


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


def gains_markdown(study: Study, notes: Sequence[str] = (), fdr: bool = False) -> str:
    """Families first, then one table per task; `*` only where the family-corrected p says so."""
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
                 "whose percentile interval is the 95% CI; accuracy: McNemar's exact test with its exact interval). "
                 f"MDE: the smallest gain the row could detect with 80% power at {study.alpha}/m. Scores in points "
                 "(chrF++, BLEU, accuracy %). class: Joshi et al. (2020), 0-5; `-` unknown.")
    if notes:
        lines += ["", "## Not compared: identical prompts", "", *(f"- {n}" for n in notes)]
    return "\n".join(lines) + "\n"


GAINS_FILES = ("gains.json", "gains.csv", "gains.md")
"""What `write_gains` writes, in a sweep's folder."""


def write_sweep_gains(sweep_dir: Path, comparisons: Sequence[Comparison], resamples: int = RESAMPLES) -> Path:
    """`write_gains` of the sweep's study and notes, byte for byte, but computed only when its inputs changed:
    the files are kept (icl.derived) under a key over the comparisons, `resamples` and every run's spec.json
    and predictions.jsonl, so a re-run whose answers all came from the cache skips the bootstraps."""
    from icl import derived
    from icl.analysis.gains import compute_study, not_compared
    from icl.analysis.results import run_dirs

    inputs = [(run.name, derived.file_digest(run / "spec.json", memo=False),
               derived.file_digest(run / "predictions.jsonl", memo=False)) for run in run_dirs(sweep_dir)]
    def computed() -> tuple[bytes, ...]:
        write_gains(sweep_dir, compute_study(sweep_dir, comparisons, resamples), not_compared(sweep_dir, comparisons))
        return tuple((sweep_dir / name).read_bytes() for name in GAINS_FILES)

    stored = derived.cached("gains", derived.key("gains", tuple(comparisons), resamples, inputs), computed)
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
