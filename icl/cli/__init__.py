"""The `icl` command line (Typer): `main` holds the sweep commands and mounts the sub-apps
(`prompts`, `models`, `lexicon`, one module each). Every command turns an IclError into one line
on stderr and exit status 2."""

from icl.cli.main import app, main

__all__ = ["app", "main"]
