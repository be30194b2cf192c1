"""The sweep commands (`icl run`, `plan`, `score`, `table`, `gains`, `report`, `compare`, `langs`) and the
app that mounts the sub-apps. Heavy modules are imported inside each command, so `icl --help` and
the cheap commands start fast."""

from __future__ import annotations

import json
import logging
import os
import sys
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.table import Table

from icl.cli import author, lexicon, models, prompts
from icl.cli.common import clean_errors, out, print_table, study_lines
from icl.cli.power import duration, print_power
from icl.errors import IclError
from icl.metrics.base import RESAMPLES

app = typer.Typer(help="Multilingual in-context learning with lexicon augmentation.", no_args_is_help=True,
                  pretty_exceptions_enable=False)
app.add_typer(prompts.app, name="prompts")
app.add_typer(models.app, name="models")
app.add_typer(lexicon.app, name="lexicon")
app.command("author")(author.author)


@app.command()
@clean_errors
def run(
    sweep_file: Path = typer.Argument(..., help="Sweep YAML, e.g. experiments/quickstart.yaml"),
    fresh: bool = typer.Option(False, "--fresh", help="Ignore the completion cache (recompute everything)."),
    results: Path | None = typer.Option(None, help="Results root (default: $ICL_RESULTS_DIR or ./results)."),
    chunk_size: int = typer.Option(0, help="Prompts per engine call; 0 = all of a model's prompts in one call "
                                           "(each completion is cached as it finishes either way)."),
    yes: bool = typer.Option(False, "--yes", help="Run a sweep of more than 10,000 runs."),
    verbose: bool = typer.Option(False, "--verbose", help="Show engine logs live (by default they go to a log "
                                                          "file, named at the end and in any engine error)."),
    track: str | None = typer.Option(None, "--track", help="Log the finished sweep to a tracker: mlflow (one "
                                     "experiment per sweep, one run per icl run; needs `pip install 'icl[track]'`)."),
    track_uri: str | None = typer.Option(None, "--track-uri", help="Tracking URI (default: $MLFLOW_TRACKING_URI, "
                                         "else sqlite:///mlflow.db here)."),
) -> None:
    """Run every combination of a sweep, write results/<sweep>/, and print the table."""
    from icl.run.entry import start_sweep
    from icl.run.timings import Phases, process_age

    phases = Phases()
    phases.add("start and imports", process_age() or 0.0)
    report = start_sweep(sweep_file, results, fresh=fresh, yes=yes, chunk_size=chunk_size,
                         console=Console(stderr=True), phases=phases, verbose=verbose, track=track,
                         track_uri=track_uri)
    typer.echo(f"generated {report.generated}, scored {report.scored}, from cache {report.cached}, "
               f"engine calls {report.engine_calls}", err=True)
    if report.collapsed:
        typer.echo(f"{report.collapsed} runs collapsed into others: identical prompts (table column same_as)", err=True)
    typer.echo(f"time: {report.phases.line()} (timings.json)", err=True)
    for log in report.logs:
        typer.echo(f"engine log: {log}", err=True)
    print_table(report.sweep_dir)
    if (report.sweep_dir / "gains.json").is_file():
        for line in study_lines(report.sweep_dir):
            out.print(line, highlight=False)
    typer.echo(f"results in {report.sweep_dir}", err=True)
    if report.tracked:
        typer.echo(f"tracked: {report.tracked}", err=True)


@app.command()
@clean_errors
def plan(
    sweep_file: Path = typer.Argument(..., help="Sweep YAML, e.g. experiments/lowres_gains.yaml"),
    yes: bool = typer.Option(False, "--yes", help="Build the prompts of a sweep of more than 10,000 runs too."),
    rebuild: bool = typer.Option(False, "--rebuild", help="Build every prompt again (ignore the plan memo)."),
    quick: bool = typer.Option(False, "--quick", help="Only the upper bound read from the data (no prompt built)."),
    power: bool = typer.Option(False, "--power", help="Size the comparisons from a pilot: items each needs to "
                               "detect --effect at 80% power and the family's level, and what they cost here."),
    effect: list[str] = typer.Option([], "--effect", help="METRIC=POINTS to detect (defaults: chrf++=2, bleu=1, "
                                     "accuracy=5); with --power."),
    pilot: Path | None = typer.Option(None, "--pilot", help="The pilot's results folder (default: results/<sweep>)."),
) -> None:
    """Without loading a model: runs, prompts, prompt tokens, what is cached, and a time estimate; with --power,
    how many items each comparison needs, read from a pilot."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    from icl.run.plan import plan_sweep, quick_plan
    from icl.sweep.count import RUN_LIMIT
    from icl.sweep.load import load_grid

    grid = load_grid(sweep_file)
    counts = grid.counts()
    if sum(counts.values()) > RUN_LIMIT and not yes:
        by_task = ", ".join(f"{task} {n:,}" for task, n in counts.items())
        out.print(f"{sweep_file}: {sum(counts.values()):,} runs ({by_task}): over {RUN_LIMIT:,}, so prompts were "
                  "not built; `icl run` refuses it without --yes (check its lists, or pass --yes here too)",
                  highlight=False)
        return
    sweep = grid.expand()
    if power:
        print_power(sweep, pilot, effect)
        return
    for count in quick_plan(sweep):  # seconds, from the data alone; the exact plan follows
        _print_quick(count)
    if quick:
        from icl.run.prepare import pool_problems

        problems = pool_problems(sweep.runs, sweep.datasets)  # the data's part of the leak check
        if problems:
            typer.echo(f"icl run would refuse this sweep: {problems}", err=True)
            raise typer.Exit(2)
        return
    with Progress(TextColumn("building prompts"), BarColumn(), MofNCompleteColumn(), transient=True,
                  console=Console(stderr=True)) as progress:
        task_id = progress.add_task("build", total=len(sweep.runs))
        result = plan_sweep(sweep, use_memo=not rebuild,
                            on_run=lambda done, total: progress.update(task_id, completed=done))
    _print_plan(result)
    if result.problems:  # what `icl run` would refuse, all of it
        typer.echo(f"icl run would refuse this sweep: {result.problems}", err=True)
        raise typer.Exit(2)


def _print_quick(q: Any) -> None:
    work = ", ".join(part for part in (f"{q.generate:,} prompts to generate" if q.generate else "",
                                       f"{q.score_prompts:,} to score ({q.continuations:,} label continuations)"
                                       if q.score_prompts else "") if part)
    seconds = q.estimate.seconds
    labelling = f", plus the labelling of {q.labelling_runs:,} self-labelling runs" if q.labelling_runs else ""
    out.print(f"{q.model} ({q.engine}): {q.runs:,} runs, {q.items:,} test items: at most {work}; if nothing "
              f"were cached, at most {duration(seconds) if seconds is not None else 'unknown time'}"
              f"{labelling} ({q.estimate.basis})", highlight=False)


def plan_header(result: Any) -> str:
    """`sweep NAME (PATH): N runs (by task)`, then what became of the others: collapsed into these (identical
    prompts), or not buildable (the refusal below says why)."""
    by_task = ", ".join(f"{task} {n:,}" for task, n in result.runs_by_task)
    head = f"sweep {result.sweep} ({result.path}): {result.runs:,} run{'' if result.runs == 1 else 's'}"
    head += f" ({by_task})" if by_task else ""
    if result.collapsed:  # a collapsed run always leaves the one it equals
        head += f"; {result.collapsed:,} more collapsed into these (identical prompts, see the table's same_as)"
    if result.failed:
        head += f"; {result.failed:,} cannot be built (below)"
    return head


def _print_plan(result: Any) -> None:
    out.print(plan_header(result), highlight=False)
    for m in result.models:
        table_ = Table(title=f"{m.model} ({m.engine}): {m.runs:,} runs", title_justify="left")
        for col, justify in (("", "left"), ("total", "right"), ("cached", "right"), ("missing", "right")):
            table_.add_column(col, justify=justify)  # type: ignore[arg-type]
        if m.generate:
            table_.add_row("prompts to generate", f"{m.generate:,}", f"{m.generate_cached:,}",
                           f"{m.generate_missing:,}")
        if m.score_prompts:
            table_.add_row("prompts to score", f"{m.score_prompts:,}",
                           f"{m.score_prompts - m.score_prompts_missing:,}", f"{m.score_prompts_missing:,}")
            table_.add_row("  label continuations", f"{m.continuations:,}", f"{m.continuations_cached:,}",
                           f"{m.continuations_missing:,}")
        if m.prompt_tokens is not None and m.missing_tokens is not None:
            table_.add_row("prompt tokens", f"{m.prompt_tokens:,}", f"{m.prompt_tokens - m.missing_tokens:,}",
                           f"{m.missing_tokens:,}")
        else:
            table_.add_row("prompt tokens", "unknown", "", "")
        out.print(table_)
        notes = [f"{m.items:,} test items; tokens: {m.tokens_source}"]
        if m.unbuilt:
            notes.append(f"{m.unbuilt:,} runs not counted: their demos are labelled by the model itself "
                         "and those labels are not cached yet")
        seconds = m.estimate.seconds
        notes.append(f"estimate: {duration(seconds) if seconds is not None else 'unknown'} ({m.estimate.basis})")
        for note in notes:
            out.print(f"  {note}", highlight=False)
    total = result.estimate_seconds
    if len(result.models) > 1:
        out.print(f"estimate, all models: {duration(total) if total is not None else 'unknown'}", highlight=False)
    memo = (f"; prompts of {result.remembered:,} runs remembered from an earlier plan (--rebuild builds them again)"
            if result.remembered else "")
    out.print(f"planned in {result.seconds:.1f} s, no model loaded{memo}", highlight=False)




@app.command()
@clean_errors
def score(sweep_dir: Path = typer.Argument(..., help="results/<sweep>")) -> None:
    """Re-score every run from its predictions.jsonl (no model needed), then rebuild the table."""
    from icl.analysis.results import run_dirs, write_tables
    from icl.analysis.scoring import rescore_run

    done = sum(rescore_run(run_dir) for run_dir in run_dirs(sweep_dir))
    write_tables(sweep_dir)
    typer.echo(f"re-scored {done} runs", err=True)
    print_table(sweep_dir)


@app.command()
@clean_errors
def table(sweep_dir: Path = typer.Argument(..., help="results/<sweep>")) -> None:
    """Rebuild table.md and table.csv from the run folders and print the table."""
    from icl.analysis.results import write_tables

    md, csv_path = write_tables(sweep_dir)
    print_table(sweep_dir)
    typer.echo(f"wrote {md} and {csv_path}", err=True)


@app.command()
@clean_errors
def gains(
    sweep_dir: Path = typer.Argument(..., help="results/<sweep> (its sweep.yaml lists the comparisons)"),
    resamples: int = typer.Option(RESAMPLES, help="Bootstrap resamples of each MT row (19,999: p down to 0.0001)."),
    fdr: bool = typer.Option(False, "--fdr", help="Also show Benjamini-Hochberg q-values (false discovery rate)."),
) -> None:
    """The sweep's comparisons (`gains:`) as a study: each row's test and 95% CI, Holm-corrected p within its
    family, the effect it could detect, means by resource class with intervals, and replicability counts."""
    from icl.analysis.gains import not_compared
    from icl.analysis.gains_files import gains_markdown, write_gains
    from icl.analysis.provenance import append_provenance
    from icl.analysis.results import run_dirs
    from icl.analysis.seqgains import any_study
    from icl.sweep.load import load_study_plan

    comparisons, design = load_study_plan(sweep_dir / "sweep.yaml")
    if not comparisons:
        raise IclError(f"{sweep_dir / 'sweep.yaml'}: gains: no comparisons declared")
    if not any((run / "predictions.jsonl").is_file() for run in run_dirs(sweep_dir)):
        raise IclError(f"{sweep_dir}: no run here has predictions (a folder of committed summaries?); run the sweep "
                       "first: its gains files were left as they are")
    study = any_study(sweep_dir, comparisons, design, resamples)
    notes = not_compared(sweep_dir, comparisons)
    path = write_gains(sweep_dir, study, notes, fdr)
    typer.echo(gains_markdown(study, notes, fdr) + append_provenance(sweep_dir, study.rows))
    typer.echo(f"wrote {path}", err=True)


@app.command()
@clean_errors
def report(sweep_dir: Path = typer.Argument(..., help="results/<sweep>")) -> None:
    """Write results/<sweep>/report.html (self-contained) and plots/ (PNG and SVG) from the result files."""
    from icl.analysis.report import write_report

    typer.echo(str(write_report(sweep_dir)))


@app.command()
@clean_errors
def compare(
    run_a: Path = typer.Argument(..., help="Baseline run folder"),
    run_b: Path = typer.Argument(..., help="System run folder"),
    resamples: int = typer.Option(RESAMPLES, help="Bootstrap resamples (MT)."),
) -> None:
    """Paired test of run B against run A (MT: paired bootstrap; accuracy: McNemar's exact test), one row per
    metric: the gain, its 95% CI and the p-value of the same procedure (uncorrected: one comparison)."""
    from icl.analysis.gains import compare_runs

    table_ = Table(title=f"{run_b.name} vs {run_a.name}")
    for col in ("metric", "baseline", "system", "gain", "95% CI", "p", "n"):
        table_.add_column(col)
    for r in compare_runs(run_a, run_b, resamples):
        table_.add_row(r.metric, f"{r.baseline:.2f}", f"{r.system:.2f}", f"{r.delta:+.2f}",
                       f"[{r.ci_low:+.2f}, {r.ci_high:+.2f}]", f"{r.p_value:.4f}", str(r.n))
    out.print(table_)


@app.command()
@clean_errors
def langs(
    has: str = typer.Option("", help="Only languages with all of these here, comma-separated: flores, ntrex, "
                                     "massive, lexicon, gatitos, muse, unimorph, sigmorphon."),
    resource: str = typer.Option("", help="Only these resource levels (low, mid, high, unknown) or Joshi et al. "
                                          "classes (0-5), comma-separated: low, 1, 0,1,unknown."),
    why: bool = typer.Option(False, "--why", help="Add how each class was reached, or why it is unknown."),
    as_json: bool = typer.Option(False, "--json", help="Machine-readable output."),
) -> None:
    """Every language icl knows, its codes in each data set, and which data is here for it."""
    from icl.cli.langs import availability

    rows = availability(has=[h.strip() for h in has.split(",") if h.strip()], resource=resource or None)
    if as_json:
        typer.echo(json.dumps(rows, indent=1, ensure_ascii=False))
        return
    if not rows:
        typer.echo("no language matches", err=True)
        return
    cols = [c for c in rows[0] if why or c != "resource_source"]
    table_ = Table(title=f"{len(rows)} languages (Joshi et al. 2020 class and level, codes, data under ICL_DATA_DIR)")
    for c in cols:
        table_.add_column(c)
    for r in rows:
        table_.add_row(*(str(r[c]) for c in cols))
    out.print(table_)


def main() -> None:
    """The `icl` command. A command that loaded torch (an engine, an encoder) ends without the
    interpreter's teardown of torch and vLLM, about 2 s here: by then results, the completion cache
    and the engine logs are written and closed, so there is nothing left for it to do."""
    code: int | str | None = 0
    try:
        app()
    except SystemExit as done:
        code = done.code
    if "torch" not in sys.modules:
        raise SystemExit(code)
    if isinstance(code, str):
        print(code, file=sys.stderr)
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code if isinstance(code, int) else 0 if code is None else 1)


if __name__ == "__main__":
    sys.exit(main())
