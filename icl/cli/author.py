"""`icl author`: the prompt-authoring page on http://127.0.0.1:<port>/?token=<this launch's secret>, with one
engine kept warm."""

from __future__ import annotations

import json
import socket

import typer

from icl.cli.common import clean_errors
from icl.errors import ConfigError


def _listen(host: str, port: int) -> socket.socket:
    """A socket listening on `host`:`port` (an IPv6 address with or without brackets)."""
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host.strip("[]"), port))
        sock.listen(128)  # connections wait from now on, while the app is still being built
    except OSError as exc:
        sock.close()
        raise ConfigError(f"--port: cannot listen on {host}:{port} ({exc.strerror}); try --port 0") from None
    return sock


@clean_errors
def author(
    model: str = typer.Option("gemma-3-270m", help="Model: the embedded default, a local folder or a hub id."),
    engine: str = typer.Option("vllm", help="Engine: vllm, hf or openai (as in a sweep's models[].engine)."),
    args: str = typer.Option("{}", help="Engine arguments as JSON (a sweep's models[].args)."),
    port: int = typer.Option(8765, help="Port on 127.0.0.1 (0: any free port)."),
    host: str = typer.Option("127.0.0.1", help="Address to listen on (another than loopback: anyone who can reach "
                                               "it and sees the token can use the page; keep it local)."),
    lang: str = typer.Option("fra", help="The language the page opens with."),
    verbose: bool = typer.Option(False, "--verbose", help="Show engine logs live instead of in the log file."),
) -> None:
    """Write a template in the browser and see its prompts, the model's outputs and scores on real items."""
    import uvicorn

    from icl.author.guard import guard_for, is_loopback, url_host
    from icl.author.server import make_app
    from icl.author.session import AuthorSession, Saved
    from icl.engines import ENGINES
    from icl.languages import get_language
    from icl.spec import ModelSpec

    if engine not in ENGINES:
        raise ConfigError(f"--engine: unknown engine {engine!r} (known: {', '.join(ENGINES)})")
    try:
        engine_args = json.loads(args)
    except json.JSONDecodeError as exc:
        raise ConfigError(f"--args: not JSON ({exc.msg})") from None
    if not isinstance(engine_args, dict):
        raise ConfigError("--args: expected a JSON object of engine arguments")
    get_language(lang, key="--lang")
    spec = ModelSpec(model, engine, json.dumps(engine_args, sort_keys=True))
    if not is_loopback(host):
        typer.echo(f"icl author: warning: --host {host} is not a loopback address: anyone who can reach it and has "
                   "the token (in the URL below) can run the model and write templates", err=True)
    sock = _listen(host, port)
    session = AuthorSession(spec, verbose=verbose)

    def saved(result: Saved) -> None:
        typer.echo(f"saved {result.path}; this sweep re-runs what the page showed:\n{result.sweep_yaml}", err=True)

    session.start()
    guard = guard_for(host, sock.getsockname()[1])
    url = f"http://{url_host(host)}:{sock.getsockname()[1]}/?token={guard.token}"
    typer.echo(f"icl author: {url} (model {model} on {engine}, starting in the background; Ctrl+C stops)",
               err=True)
    app = make_app(session, guard, on_saved=saved, language=lang)
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning"))
    try:
        server.run(sockets=[sock])
    finally:
        session.close()
