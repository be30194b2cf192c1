"""What every `icl` command shares: one-line errors, the results table printer and the study's summary."""

from __future__ import annotations

import functools
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import typer
from rich.console import Console
from rich.table import Table

from icl.errors import IclError

F = TypeVar("F", bound=Callable[..., Any])
out = Console(width=max(Console().width, 160))
"""stdout, wide enough for the results table; progress and messages go to stderr."""


def clean_errors(fn: F) -> F:
    """User errors end in one line on stderr and exit 2; results already written stay on disk."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except IclError as exc:
            typer.echo(f"icl: error: {exc}", err=True)
            raise typer.Exit(2) from None
        except KeyboardInterrupt:
            typer.echo("icl: interrupted; finished completions are cached, re-run to resume", err=True)
            raise typer.Exit(130) from None

    return wrapper  # type: ignore[return-value]


def print_table(sweep_dir: Path) -> None:
    """The sweep's results table on stdout (columns that say nothing are left out)."""
    from icl.analysis.results import table_rows

    rows = table_rows(sweep_dir)
    if not rows:
        out.print(f"no finished runs under {sweep_dir}")
        return
    cols = ["task", "dataset", "pair", "template", "shots", "selector", "pool", "augment", "morph", "mode", "n",
            "bleu", "chrf++", "spbleu", "off-target", "accuracy", "macro_f1"]
    cols = [c for c in cols if any(str(r.get(c, "")) not in ("", "none", "off") for r in rows) or c in ("task", "pair")]
    table = Table(title=f"{sweep_dir.name} ({len(rows)} runs)")
    numeric = ("shots", "n", "bleu", "chrf++", "spbleu", "off-target", "accuracy", "macro_f1")
    for c in cols:
        table.add_column(c, justify="right" if c in numeric else "left")
    for r in rows:
        table.add_row(*(str(r.get(c, "")) for c in cols))
    out.print(table)
    standing = [r for r in rows if r.get("same_as")]
    if standing:
        out.print(f"{len(standing)} runs also stand for runs with identical prompts (collapsed; column same_as of "
                  f"{sweep_dir / 'table.md'} says which and why)", highlight=False)


def shown_path(path: Path) -> str:
    """A path as output that may be saved and committed shows it: relative to the working directory, never
    this machine's absolute path (as it is only where no relative path exists, on another drive)."""
    if not path.is_absolute():
        return str(path)
    try:
        return os.path.relpath(path)
    except ValueError:
        return str(path)


def study_lines(sweep_dir: Path) -> list[str]:
    """The end of `icl run` for a sweep with comparisons: each family's rows, stars after Holm and median
    MDE; the rows that survive the correction (comparison, pair, metric, gain, CI); and where gains.md is.
    [] where the sweep wrote no gains.json."""
    from icl.analysis.gains import is_significant
    from icl.analysis.gains_files import family_rows, read_study

    if not (sweep_dir / "gains.json").is_file():
        return []
    study = read_study(sweep_dir / "gains.json")
    lines = ["study: families (rows corrected together with Holm)"]
    lines += [f"  {fam}: {rows} rows, {stars} * after Holm, median MDE {mde}"
              for fam, rows, _, _, stars, mde in family_rows(study.rows)]
    kept = [g for g in study.rows if is_significant(g, study.alpha)]
    lines.append(f"{len(kept)} of {len(study.rows)} rows survive the correction" + (" (gain, 95% CI):" if kept else ""))
    lines += [f"  {g.comparison} | {g.pair} | {g.metric} | {g.delta:+.2f} [{g.ci_low:+.2f}, {g.ci_high:+.2f}]"
              for g in kept]
    lines.append(f"the study in full: {shown_path(sweep_dir / 'gains.md')}")
    return lines
