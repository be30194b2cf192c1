"""The web layer of `icl author`: a Starlette app with the page and a small JSON API.

Starlette because it is small (routing, requests, responses, no templating or ORM to carry), typed,
maintained, and already here as a dependency of vLLM's server, and uvicorn serves it. Every IclError
(a bad setting, a template error, an engine that cannot start) becomes a JSON message the page shows
next to the editor, at the template line where there is one; anything else is a bug and answers 500
with the server still up.

API (all JSON): GET /api/options, GET /api/status, GET /api/template?task=&name=, POST /api/lint
{task, name, source}, POST /api/preview {side}, POST /api/compare {a, b}, POST /api/save {columns, index}.
A side is {setting, source, original}: see icl.author.session.Side.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Callable
from dataclasses import asdict
from importlib.resources import files
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route

from icl.author.preview import Preview
from icl.author.session import AuthorSession, Saved, Side
from icl.author.settings import MAX_ITEMS, setting_from_json
from icl.errors import ConfigError, IclError
from icl.prompts.render import template_names
from icl.shots import SELECTORS
from icl.sweep.grid import AUGMENTS
from icl.sweep.spec import spec_to_json
from icl.tasks import TASKS

_WHERE = re.compile(r"(?P<file>[^\s:]+\.j2):(?P<line>\d+): ")


def problem(message: str, side: str = "") -> dict[str, Any]:
    """An error as the page shows it: the message, and the template file and line it names (if any)."""
    found = _WHERE.search(message)
    return {"error": message, "file": found.group("file") if found else None,
            "line": int(found.group("line")) if found else None, "side": side}


class SideError(IclError):
    """An IclError of one column of the page (`a` or `b`), so the page shows it beside that editor."""

    def __init__(self, side: str, error: IclError) -> None:
        super().__init__(str(error))
        self.side = side


def _side(raw: Any, name: str) -> Side:
    if not isinstance(raw, dict) or not isinstance(raw.get("source"), str):
        raise SideError(name, ConfigError(f"{name}: expected {{setting, source, original}}"))
    try:
        return Side(setting_from_json(raw.get("setting")), raw["source"], str(raw.get("original") or ""))
    except IclError as exc:
        raise SideError(name, exc) from None


async def _body(request: Request) -> dict[str, Any]:
    try:
        body = await request.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise ConfigError("request: the body is not JSON") from None
    if not isinstance(body, dict):
        raise ConfigError("request: expected a JSON object")
    return body


def preview_json(p: Preview) -> dict[str, Any]:
    """A Preview as the page reads it."""
    return {"run_id": p.spec.run_id, "spec": spec_to_json(p.spec), "main_metric": p.main_metric,
            "metrics": [{"name": n, "value": v} for n, v in p.metrics],
            "intervals": [asdict(i) for i in p.intervals], "cached": p.cached, "asked": p.asked,
            "seconds": round(p.seconds, 3), "phases": {name: round(t, 3) for name, t in p.phases},
            "items": [asdict(item) for item in p.items]}


def options(session: AuthorSession) -> dict[str, Any]:
    """What the page's menus offer: each task's templates, data sets, own sweep keys and defaults."""
    names = template_names()
    tasks = {}
    for task in TASKS.values():
        tasks[task.name] = {
            "templates": [n.split("/", 1)[1] for n in names if n.startswith(task.name + "/")],
            "datasets": [d for d in session.registry.names() if session.registry.get(d).task == task.name],
            "dataset": task.dataset, "template": task.template, "pool": task.pool, "max_tokens": task.max_tokens,
            "axes": [{"key": a.key, "values": list(a.values), "default": a.default[0]} for a in task.axes],
            "modes": {m.name: {"ranks": m.ranks, "note": m.note} for m in task.modes.values()},
            "main_metric": task.main_metric,
        }
    return {"model": session.model.name, "engine": session.model.engine, "tasks": tasks,
            "selectors": list(SELECTORS), "augments": list(AUGMENTS), "max_items": MAX_ITEMS}


def make_app(session: AuthorSession, on_saved: Callable[[Saved], None] | None = None,
             language: str = "fra") -> Starlette:
    """The page and its API over one session (`language`: the page's first language)."""

    async def page(request: Request) -> Response:
        html = files("icl.author").joinpath("page.html").read_text(encoding="utf-8")
        return HTMLResponse(html.replace("__ICL_LANGUAGE__", json.dumps(language)))

    async def get_options(request: Request) -> Response:
        return JSONResponse(options(session))

    async def status(request: Request) -> Response:
        return JSONResponse({"engine": session.engine_state})

    async def template(request: Request) -> Response:
        source, mtime = session.template_source(request.query_params.get("task", ""),
                                                request.query_params.get("name", ""))
        return JSONResponse({"source": source, "mtime": mtime})

    async def lint(request: Request) -> Response:
        body = await _body(request)
        found = session.lint(str(body.get("task", "")), str(body.get("name", "")), str(body.get("source", "")))
        return JSONResponse({"problems": [problem(p) for p in found]})

    async def preview(request: Request) -> Response:
        side = _side((await _body(request)).get("side"), "a")
        try:
            result = await asyncio.wrap_future(session.preview(side))
        except IclError as exc:
            raise SideError("a", exc) from None
        return JSONResponse({"a": preview_json(result)})

    async def compare(request: Request) -> Response:
        body = await _body(request)
        a, b = _side(body.get("a"), "a"), _side(body.get("b"), "b")
        results = {}
        for name, side in (("a", a), ("b", b)):
            try:
                results[name] = await asyncio.wrap_future(session.preview(side))
            except IclError as exc:
                raise SideError(name, exc) from None
        try:
            paired = await asyncio.wrap_future(session.paired(results["a"], results["b"]))
        except IclError as exc:
            raise SideError("b", exc) from None
        return JSONResponse({"a": preview_json(results["a"]), "b": preview_json(results["b"]),
                             "paired": [asdict(r) for r in paired]})

    async def save(request: Request) -> Response:
        body = await _body(request)
        raw = body.get("columns")
        index = body.get("index", 0)
        if not isinstance(raw, list) or not isinstance(index, int) or not 0 <= index < len(raw):
            raise ConfigError("save: expected {columns: [side, ...], index}")
        names = "ab"
        saved = session.save([_side(c, names[i % 2]) for i, c in enumerate(raw)], index)
        if on_saved is not None:
            on_saved(saved)
        return JSONResponse({"path": str(saved.path), "yaml": saved.sweep_yaml, "note": saved.note})

    async def icl_error(request: Request, exc: Exception) -> Response:
        return JSONResponse(problem(str(exc), getattr(exc, "side", "")), status_code=422)

    routes = [Route("/", page), Route("/api/options", get_options), Route("/api/status", status),
              Route("/api/template", template), Route("/api/lint", lint, methods=["POST"]),
              Route("/api/preview", preview, methods=["POST"]), Route("/api/compare", compare, methods=["POST"]),
              Route("/api/save", save, methods=["POST"])]
    return Starlette(routes=routes, exception_handlers={IclError: icl_error})
