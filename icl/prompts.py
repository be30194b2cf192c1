"""Jinja prompt templates: `prompts/<task>/<name>.j2`, rendered in a sandbox with StrictUndefined.

A template owns the whole format of a prompt, answers included: it must define a macro `answer(...)`
that it uses for its demonstrations, and icl calls the same macro to build the continuations it scores
in rank mode, so a demo and a scored label can never be formatted differently. A template may `{% set
stop = [...] %}` to say where a generated answer ends. Chat templates wrap turns in
`{% call message("user") %}...{% endcall %}`; the engine then applies the model's own chat format.

Rendering one prompt has a time budget (TEMPLATE_BUDGET_S, or ICL_TEMPLATE_BUDGET seconds): a template
whose loops never end, or multiply (`range` inside `range`), stops with one TemplateError naming the file
instead of hanging the sweep. Two guards, because neither covers every case alone: the sandbox's
`range`, attribute and item lookups and calls check a deadline (works in any thread, but a loop over a
huge string or list that touches none of them goes unchecked), and in the main thread a SIGALRM timer
interrupts whatever Python code runs at the deadline (but only there, and only where no one else
uses the timer). A single C-level operation (`"x" * 10**10`) is interruptible by neither.
"""

from __future__ import annotations

import os
import re
import signal
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import jinja2
from jinja2 import meta
from jinja2.sandbox import ImmutableSandboxedEnvironment, safe_range

from icl.config import prompts_dir
from icl.errors import ConfigError, TemplateError
from icl.tasks import TASKS

_ROLE_OPEN, _ROLE_SEP, _ROLE_CLOSE = "\x1e", "\x1f", "\x1d"
_ROLES = ("system", "user", "assistant")

TEMPLATE_BUDGET_S = 2.0
"""Seconds one prompt (or one scored answer) may take to render; ICL_TEMPLATE_BUDGET overrides, 0 = none.
Real templates render in about a millisecond."""


@dataclass(frozen=True)
class Prompt:
    """What an engine receives: plain text, or chat messages the engine formats for its model."""

    text: str | None = None
    messages: tuple[tuple[str, str], ...] | None = None

    def as_key(self) -> str:
        """A stable string form, for cache keys and for saving with predictions."""
        if self.messages is None:
            return self.text or ""
        return "".join(f"<|{role}|>{content}" for role, content in self.messages)


@dataclass(frozen=True)
class RenderedTemplate:
    """A loaded template bound to a task."""

    name: str
    """`<task>/<name>`."""
    path: Path
    template: jinja2.Template


def _message(role: str, caller: Any) -> str:
    if role not in _ROLES:
        raise TemplateError(f"message role {role!r}: expected one of {', '.join(_ROLES)}")
    return f"{_ROLE_OPEN}{role}{_ROLE_SEP}{caller()}{_ROLE_CLOSE}"


def template_budget() -> float:
    """The per-prompt render budget in seconds (0: none)."""
    raw = os.environ.get("ICL_TEMPLATE_BUDGET", "").strip()
    if not raw:
        return TEMPLATE_BUDGET_S
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(f"ICL_TEMPLATE_BUDGET: expected seconds, got {raw!r}") from None
    return max(0.0, value)


class _OverBudget(BaseException):
    """Raised inside a render past its deadline; a BaseException so no `except Exception` in the
    template machinery can swallow it."""


_deadline = threading.local()


def _check_deadline() -> None:
    deadline = getattr(_deadline, "at", None)
    if deadline is not None and time.monotonic() > deadline:
        raise _OverBudget


class _BudgetedRange:
    """The sandbox's `range` (capped at 100,000 items) that checks the render deadline as it is walked."""

    def __init__(self, *args: int) -> None:
        self.items = safe_range(*args)

    def __iter__(self) -> Iterator[int]:
        for i, value in enumerate(self.items):
            if not i & 255:
                _check_deadline()
            yield value

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, index: Any) -> Any:
        return self.items[index]

    def __reversed__(self) -> Iterator[int]:
        return reversed(self.items)


class _Environment(ImmutableSandboxedEnvironment):
    """The immutable sandbox, with the render deadline checked at every call, attribute and item."""

    def call(self, context: Any, obj: Any, /, *args: Any, **kwargs: Any) -> Any:
        _check_deadline()
        return super().call(context, obj, *args, **kwargs)

    def getattr(self, obj: Any, attribute: str) -> Any:
        _check_deadline()
        return super().getattr(obj, attribute)

    def getitem(self, obj: Any, argument: Any) -> Any:
        _check_deadline()
        return super().getitem(obj, argument)


def _on_alarm(signum: int, frame: Any) -> None:
    raise _OverBudget


def _start_alarm(seconds: float) -> Any:
    """A SIGALRM timer for the main thread, where no other handler or timer is in use; returns the
    handler to put back, or None where no timer was set."""
    if not hasattr(signal, "setitimer") or threading.current_thread() is not threading.main_thread():
        return None
    try:
        previous = signal.getsignal(signal.SIGALRM)
        if previous not in (signal.SIG_DFL, None) or signal.getitimer(signal.ITIMER_REAL)[0] > 0:
            return None
        signal.signal(signal.SIGALRM, _on_alarm)
        signal.setitimer(signal.ITIMER_REAL, seconds)
    except (ValueError, OSError):
        return None
    return previous


def _within_budget(tpl: RenderedTemplate, render_fn: Callable[[], Any]) -> Any:
    """`render_fn()` within the budget, or TemplateError naming the template (and line, where known).
    A plain function, not a context manager: an alarm landing anywhere between the call and the timer's
    cancellation must still be caught here."""
    limit = template_budget()
    if limit <= 0 or getattr(_deadline, "at", None) is not None:  # no budget, or already inside one
        return render_fn()
    previous = None
    try:
        try:
            _deadline.at = time.monotonic() + limit
            previous = _start_alarm(limit * 1.1 + 0.05)  # after the deadline checks, which know the line
            return render_fn()
        finally:
            if previous is not None:
                signal.setitimer(signal.ITIMER_REAL, 0)
                signal.signal(signal.SIGALRM, previous)
            _deadline.at = None
    except _OverBudget as exc:
        line = _template_line(tpl, exc)
        where = f"{tpl.path}:{line}" if line else str(tpl.path)
        raise TemplateError(f"{where}: rendering one prompt took over {limit:g} s, the budget per prompt (a loop too "
                            f"large or never ending? ICL_TEMPLATE_BUDGET sets the budget)") from None


@cache
def environment(root: Path) -> ImmutableSandboxedEnvironment:
    """One sandboxed environment per template folder (templates cannot reach Python internals)."""
    env = _Environment(
        loader=jinja2.FileSystemLoader(str(root)),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=False,
        autoescape=False,
    )
    env.globals["message"] = _message
    env.globals["range"] = _BudgetedRange
    return env


def template_names(root: Path | None = None) -> list[str]:
    """Every `<task>/<name>` under the prompts folder."""
    base = root or prompts_dir()
    return sorted(f"{p.parent.name}/{p.stem}" for p in base.glob("*/*.j2"))


def _split(name: str) -> tuple[str, str]:
    task, _, stem = name.partition("/")
    if task not in TASKS or not stem:
        raise TemplateError(f"template {name!r}: expected <task>/<name> with task in {sorted(TASKS)}")
    return task, stem


def template_variables(tpl: RenderedTemplate) -> set[str]:
    """The variables a template reads from its context (not counting its own macros and sets)."""
    ast = tpl.template.environment.parse(tpl.path.read_text(encoding="utf-8"))
    return set(meta.find_undeclared_variables(ast)) - set(tpl.template.environment.globals)


def load_template(name: str, root: Path | None = None) -> RenderedTemplate:
    """Parse `prompts/<task>/<name>.j2`; a syntax error names file:line."""
    base = root or prompts_dir()
    task, stem = _split(name)
    path = base / task / f"{stem}.j2"
    if not path.is_file():
        known = ", ".join(n for n in template_names(base) if n.startswith(task + "/"))
        raise TemplateError(f"{path}: template not found (known {task} templates: {known or 'none'})")
    try:
        template = environment(base).get_template(f"{task}/{stem}.j2")
    except jinja2.TemplateSyntaxError as exc:
        raise TemplateError(f"{path}:{exc.lineno}: {exc.message}") from None
    return RenderedTemplate(name=name, path=path, template=template)


def _template_line(tpl: RenderedTemplate, exc: BaseException) -> int | None:
    line = None
    tb = exc.__traceback__
    while tb is not None:  # Jinja rewrites frames so the template file and line show in the traceback
        if tb.tb_frame.f_code.co_filename == str(tpl.path):
            compiled = "__jinja_template__" in tb.tb_frame.f_globals
            line = tpl.template.get_corresponding_lineno(tb.tb_lineno) if compiled else tb.tb_lineno
        tb = tb.tb_next
    return line


def _render_error(tpl: RenderedTemplate, exc: Exception) -> TemplateError:
    line = _template_line(tpl, exc)
    where = f"{tpl.path}:{line}" if line else str(tpl.path)
    return TemplateError(f"{where}: {type(exc).__name__}: {exc}".replace("\n", " "))


def _module(tpl: RenderedTemplate, context: Mapping[str, Any]) -> Any:
    def make() -> Any:
        try:
            return tpl.template.make_module(dict(context))
        except (jinja2.UndefinedError, jinja2.TemplateError, TemplateError, TypeError, ValueError,
                AttributeError, KeyError, IndexError) as exc:
            raise _render_error(tpl, exc) from None

    return _within_budget(tpl, make)


def _parse_messages(text: str, tpl: RenderedTemplate) -> Prompt:
    if _ROLE_OPEN not in text:
        return Prompt(text=text)
    messages = []
    pattern = re.compile(f"{_ROLE_OPEN}(\\w+){_ROLE_SEP}(.*?){_ROLE_CLOSE}", re.DOTALL)
    pos = 0
    for match in pattern.finditer(text):
        if text[pos:match.start()].strip():
            raise TemplateError(f"{tpl.path}: text outside message(...) blocks in a chat template")
        messages.append((match.group(1), match.group(2).strip()))
        pos = match.end()
    if text[pos:].strip():
        raise TemplateError(f"{tpl.path}: text outside message(...) blocks in a chat template")
    return Prompt(messages=tuple(messages))


@dataclass(frozen=True)
class RenderResult:
    """A rendered prompt and what the template says about its answers."""

    prompt: Prompt
    stop: tuple[str, ...]


def render(tpl: RenderedTemplate, context: Mapping[str, Any]) -> RenderResult:
    """Render one prompt; missing variables and sandbox violations become TemplateError(file:line)."""
    module = _module(tpl, context)
    prompt = _parse_messages(str(module), tpl)
    stop = getattr(module, "stop", None)
    if stop is None:
        stop_t: tuple[str, ...] = () if prompt.messages is not None else ("\n",)
    elif isinstance(stop, str) or not all(isinstance(s, str) for s in stop):
        raise TemplateError(f"{tpl.path}: `stop` must be a list of strings")
    else:
        stop_t = tuple(stop)
    return RenderResult(prompt=prompt, stop=stop_t)


def answers(tpl: RenderedTemplate, context: Mapping[str, Any], args: Sequence[Mapping[str, Any]]) -> list[str]:
    """The template's `answer` macro applied to each candidate (for rank-mode scoring)."""
    module = _module(tpl, context)
    macro = getattr(module, "answer", None)
    if macro is None:
        raise TemplateError(f"{tpl.path}: defines no `answer` macro (needed to format and score answers)")
    accepted = set(macro.arguments)

    def call_all() -> list[str]:
        # One budget for all of a prompt's answers: a timer per answer cost more than the 60 MASSIVE
        # labels' macros themselves.
        try:
            return [str(macro(**{k: v for k, v in kwargs.items() if k in accepted})) for kwargs in args]
        except (jinja2.UndefinedError, jinja2.TemplateError, TypeError) as exc:
            raise _render_error(tpl, exc) from None

    return list(_within_budget(tpl, call_all))
