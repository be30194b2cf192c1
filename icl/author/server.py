"""The web layer of `icl author`: a Starlette app with the page and a small JSON API.

Starlette because it is small (routing, requests, responses, no templating or ORM to carry), typed,
maintained, and already here as a dependency of vLLM's server, and uvicorn serves it. Every IclError
(a bad setting, a template error, an engine that cannot start) becomes a JSON message the page shows
next to the editor, at the template line where there is one; anything else is a bug and answers 500
with the server still up.

API (all JSON): GET /api/options, GET /api/status, GET /api/template?task=&name= (`name@n`: a saved
version), GET /api/versions?task=&name=, POST /api/lint {task, name, source}, POST /api/preview {side},
POST /api/compare {a, b}, POST /api/save {columns, index}, POST /api/diff {side, old, new}; and
POST /api/stream {a, b?}, what the page itself uses: a view streamed as newline-delimited JSON events
(`_events`). A side is {setting, source, original}: see icl.author.session.Side. Every request passes
icl.author.guard first: the page's own address, origin and token, or 403.
"""

from __future__ import annotations

import asyncio
import difflib
import json
import re
import threading
from collections.abc import AsyncIterator, Callable
from dataclasses import asdict
from importlib.resources import files
from typing import Any

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from icl.author.guard import Guard, GuardMiddleware
from icl.author.preview import Preview, SoFar, Update, so_far
from icl.author.session import AuthorSession, Saved, Side, VersionDiff
from icl.author.settings import MAX_ITEMS, setting_from_json
from icl.engines import Cancelled
from icl.errors import ConfigError, IclError
from icl.prompts.render import template_names
from icl.shots import SELECTORS
from icl.spec import spec_to_json
from icl.sweep.grid import AUGMENTS
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


def update_json(side: str, u: Update, now: SoFar | None) -> dict[str, Any]:
    """A streamed view's update as one line of the stream; `now` (the metrics so far) is None where a
    later update is already waiting, whose figures will replace them anyway."""
    body: dict[str, Any] = {"event": "update", "side": side, "answered": u.answered, "total": len(u.shown),
                            "items": [{"index": i, **asdict(item)} for i, item in u.items]}
    if now is not None:
        body.update(metrics=[{"name": n, "value": v} for n, v in now.metrics],
                    intervals=[asdict(i) for i in now.intervals])
    return body


def diff_json(d: VersionDiff) -> dict[str, Any]:
    """Two versions compared: texts, a unified diff of them, the changed items and the paired result."""
    old, new = (f"{d.task}/{d.name}@{n}" for n in (d.old, d.new))
    lines = list(difflib.unified_diff(d.texts[0].splitlines(), d.texts[1].splitlines(), old, new, lineterm=""))
    return {"task": d.task, "name": d.name, "old": d.old, "new": d.new, "texts": list(d.texts), "diff": lines,
            "items": len(d.old_view.items), "run_ids": [d.old_view.spec.run_id, d.new_view.spec.run_id],
            "metrics": [dict(d.old_view.metrics), dict(d.new_view.metrics)],
            "changed": [{"id": a.id, "source": a.source, "reference": a.reference, "old": a.prediction,
                         "new": b.prediction, "old_score": a.score, "new_score": b.score} for a, b in d.changed],
            "paired": [r.to_json() for r in d.paired]}


def _line(event: dict[str, Any]) -> bytes:
    return (json.dumps(event, ensure_ascii=False) + "\n").encode()


async def _events(session: AuthorSession, sides: list[tuple[str, Side]], cancel: threading.Event
                  ) -> AsyncIterator[bytes]:
    """The stream of one edit. The worker thread hands updates over through the event loop; a page
    that goes away (or a newer edit) sets `cancel`, which stops the engine's work for this edit."""
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[Update | None] = asyncio.Queue()
    behind = [0]  # updates queued and not yet sent (None, a side's end, is not one)

    def enqueue(item: Update | None) -> None:
        behind[0] += item is not None
        queue.put_nowait(item)

    def put(item: Update | None) -> None:
        loop.call_soon_threadsafe(enqueue, item)

    results: dict[str, Preview] = {}
    try:
        for name, side in sides:
            future = session.stream(side, put, cancel)
            future.add_done_callback(lambda _: put(None))  # after every update: one thread, in order
            while (update := await queue.get()) is not None:
                behind[0] -= 1
                # The bootstrap runs beside the engine, not between its steps, and only for the newest state.
                now = await asyncio.to_thread(so_far, update) if not behind[0] else None
                yield _line(update_json(name, update, now))
            try:
                results[name] = future.result()
            except Cancelled:
                yield _line({"event": "cancelled", "side": name})
                return
            except IclError as exc:
                yield _line({"event": "error", **problem(str(exc), name)})
                return
            yield _line({"event": "done", "side": name, "view": preview_json(results[name])})
        if "b" in results:
            try:
                paired = await asyncio.wrap_future(session.paired(results["a"], results["b"]))
            except IclError as exc:
                yield _line({"event": "error", **problem(str(exc), "b")})
                return
            yield _line({"event": "paired", "paired": [r.to_json() for r in paired]})
    finally:
        cancel.set()  # nothing of this edit stays queued once its stream ends


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


def _edit_routes(session: AuthorSession) -> list[Route]:
    """The routes of streamed edits and of saved versions."""
    latest: dict[str, threading.Event] = {}

    async def stream(request: Request) -> Response:
        """Newline-delimited JSON, one event a line: `update`s of side A (then B), each side's `done`
        with its whole view, then `paired` when two sides were sent; or `error`, or `cancelled` when a
        newer stream (the page's next edit) came first. A newer stream cancels this one's engine work."""
        body = await _body(request)
        sides = [("a", _side(body.get("a"), "a"))]
        if body.get("b") is not None:
            sides.append(("b", _side(body.get("b"), "b")))
        cancel = threading.Event()
        if "stream" in latest:
            latest["stream"].set()
        latest["stream"] = cancel
        return StreamingResponse(_events(session, sides, cancel), media_type="application/x-ndjson")

    async def versions(request: Request) -> Response:
        found = session.versions(request.query_params.get("task", ""), request.query_params.get("name", ""))
        return JSONResponse({"versions": [asdict(v) for v in found]})

    async def diff(request: Request) -> Response:
        body = await _body(request)
        setting = _side(body.get("side"), "a").setting
        old, new = body.get("old"), body.get("new")
        if not isinstance(old, int) or not isinstance(new, int):
            raise ConfigError("diff: expected {side, old, new} with two version numbers")
        return JSONResponse(diff_json(await asyncio.wrap_future(session.diff(setting, old, new))))

    return [Route("/api/stream", stream, methods=["POST"]), Route("/api/versions", versions),
            Route("/api/diff", diff, methods=["POST"])]


def _page_routes(session: AuthorSession, language: str, token: str) -> list[Route]:
    """The page itself (with the token its script sends), and what it reads: options, engine status,
    a template's text, lint."""

    async def page(request: Request) -> Response:
        html = files("icl.author").joinpath("page.html").read_text(encoding="utf-8")
        return HTMLResponse(html.replace("__ICL_LANGUAGE__", json.dumps(language))
                            .replace("__ICL_TOKEN__", json.dumps(token)))

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

    return [Route("/", page), Route("/api/options", get_options), Route("/api/status", status),
            Route("/api/template", template), Route("/api/lint", lint, methods=["POST"])]


def _view_routes(session: AuthorSession, on_saved: Callable[[Saved], None] | None) -> list[Route]:
    """Whole views of one or two columns, and saving them."""

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
                             "paired": [r.to_json() for r in paired]})

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
        return JSONResponse({"path": str(saved.path), "yaml": saved.sweep_yaml, "note": saved.note,
                             "version": saved.version})

    return [Route("/api/preview", preview, methods=["POST"]), Route("/api/compare", compare, methods=["POST"]),
            Route("/api/save", save, methods=["POST"])]


def make_app(session: AuthorSession, guard: Guard, on_saved: Callable[[Saved], None] | None = None,
             language: str = "fra") -> Starlette:
    """The page and its API over one session, answering only what `guard` lets through (`language`: the
    page's first language)."""

    async def icl_error(request: Request, exc: Exception) -> Response:
        return JSONResponse(problem(str(exc), getattr(exc, "side", "")), status_code=422)

    routes = [*_page_routes(session, language, guard.token), *_view_routes(session, on_saved),
              *_edit_routes(session)]
    return Starlette(routes=routes, exception_handlers={IclError: icl_error},
                     middleware=[Middleware(GuardMiddleware, guard=guard)])
