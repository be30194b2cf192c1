"""`icl prompts ...`: print the exact prompt of one item, and check every template against its task."""

from __future__ import annotations

import typer

from icl.cli.common import clean_errors

app = typer.Typer(help="Render and check prompt templates.", no_args_is_help=True)


@app.command("render")
@clean_errors
def render(
    template: str = typer.Argument(..., help="<task>/<name>, e.g. mt/plain or intent/labels"),
    lang: str = typer.Option(..., help="Target language (mt) or locale (intent)."),
    src: str = typer.Option("eng", help="Source language (mt)."),
    shots: int = typer.Option(0, help="Number of demonstrations."),
    seed: int = typer.Option(0, help="Seed of the run's rng."),
    selector: str = typer.Option("shared", help="first, random, shared, bm25, similar."),
    index: int = typer.Option(0, help="Which test item (0-based)."),
    mode: str = typer.Option("", help="A mode of the task (intent: generate or rank; rank also lists the scored "
                                      "continuations). Default: the task's first."),
    pool: str = typer.Option("", help="Demonstration pool (default: the task's)."),
    dataset: str = typer.Option("", help="Data set (default: the task's; shipped ones only)."),
) -> None:
    """Print the exact prompt icl would send for one test item."""
    from icl.languages import get_language
    from icl.run.items import build_items
    from icl.spec import ModelSpec, Pool, RunSpec
    from icl.tasks import get_mode, get_task

    name = template.split("/", 1)[0]
    task = get_task(name, key="template")
    if mode:
        get_mode(task.name, mode, key="--mode")
    tgt = get_language(lang, key="--lang").code
    source = tgt if task.labelled else get_language(src, key="--src").code  # labelled text is in one language
    spec = RunSpec(sweep="render", task=task.name, model=ModelSpec("none", "hf"), src=source, tgt=tgt,
                   template=template, shots=shots, selector=selector, seed=seed, pool=Pool(pool or task.pool),
                   mode=mode, limit=index + 1, dataset=dataset)
    item = build_items(spec).items[index]
    typer.echo(f"# item {item.example.id}; demos: {', '.join(d.id for d in item.demos) or 'none'}; "
               f"stop: {list(item.stop)}", err=True)
    if item.prompt.messages is None:
        typer.echo(item.prompt.text)
    else:
        for role, content in item.prompt.messages:
            typer.echo(f"[{role}]\n{content}\n")
    if item.candidates:
        typer.echo(f"# {len(item.candidates)} scored continuations, e.g. {item.candidates[:3]}", err=True)


@app.command("lint")
@clean_errors
def lint() -> None:
    """Parse every template and check its variables against what its task provides."""
    from icl.prompts.lint import lint as lint_templates
    from icl.prompts.render import template_names

    problems = lint_templates()
    for p in problems:
        typer.echo(p, err=True)
    if problems:
        raise typer.Exit(1)
    typer.echo(f"{len(template_names())} templates OK")
