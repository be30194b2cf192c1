"""Jinja prompt templates: `prompts/<task>/<name>.j2`, rendered in a sandbox with StrictUndefined.

A template owns the whole format of a prompt, answers included: it must define a macro `answer(...)`
that it uses for its demonstrations, and icl calls the same macro to build the continuations it scores
in rank mode, so a demo and a scored label can never be formatted differently. A template may `{% set
stop = [...] %}` to say where a generated answer ends. Chat templates wrap turns in
`{% call message("user") %}...{% endcall %}`; the engine then applies the model's own chat format.

Rendering has a time budget per prompt (icl.prompts.budget).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import jinja2
from jinja2 import meta
from jinja2.sandbox import ImmutableSandboxedEnvironment

from icl.config import prompts_dir
from icl.data.files import TEXT_ENCODING, read_text
from icl.errors import TemplateError
from icl.prompts.budget import BudgetedEnvironment, BudgetedRange, OverBudget, run_within_budget, template_budget
from icl.prompts.versions import split_version, template_file, version_text
from icl.tasks import TASKS
from icl.values.prompt import Prompt

_ROLE_OPEN, _ROLE_SEP, _ROLE_CLOSE = "\x1e", "\x1f", "\x1d"
_ROLES = ("system", "user", "assistant")
_STEM = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]*")
_RENDER_ERRORS = (jinja2.TemplateError, TemplateError, TypeError, ValueError, AttributeError, KeyError, IndexError,
                  ArithmeticError, RecursionError)
"""What a template's own code can raise while it renders (`{{ 1/0 }}`, a macro calling itself): each
becomes a TemplateError at the template's line, not a traceback. (jinja2.UndefinedError and the
sandbox's SecurityError are TemplateErrors.)"""

@dataclass(frozen=True)
class RenderedTemplate:
    """A loaded template bound to a task."""

    name: str
    """`<task>/<name>`."""
    path: Path
    """Where it lives, or would live once saved (`prompts/<task>/<name>.j2`); errors name it."""
    template: jinja2.Template
    source: str | None = None
    """Its text where that is not the file at `path` (a template edited but not saved, `template_from_source`)."""


def _message(role: str, caller: Any) -> str:
    if role not in _ROLES:
        raise TemplateError(f"message role {role!r}: expected one of {', '.join(_ROLES)}")
    return f"{_ROLE_OPEN}{role}{_ROLE_SEP}{caller()}{_ROLE_CLOSE}"


def _within_budget(tpl: RenderedTemplate, render_fn: Callable[[], Any]) -> Any:
    """`render_fn()` within the budget, or TemplateError naming the template (and line, where known)."""
    try:
        return run_within_budget(render_fn)
    except OverBudget as exc:
        line = _template_line(tpl, exc)
        where = f"{tpl.path}:{line}" if line else str(tpl.path)
        raise TemplateError(f"{where}: rendering one prompt took over {template_budget():g} s, the budget per prompt "
                            f"(a loop too large or never ending? ICL_TEMPLATE_BUDGET sets the budget)") from None


@cache
def environment(root: Path) -> ImmutableSandboxedEnvironment:
    """One sandboxed environment per template folder (templates cannot reach Python internals)."""
    env = BudgetedEnvironment(
        loader=jinja2.FileSystemLoader(str(root), encoding=TEXT_ENCODING),  # a BOM is not template text
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=False,
        autoescape=False,
    )
    env.globals["message"] = _message
    env.globals["range"] = BudgetedRange
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
    ast = tpl.template.environment.parse(tpl.source if tpl.source is not None else read_text(tpl.path))
    return set(meta.find_undeclared_variables(ast)) - set(tpl.template.environment.globals)


def load_template(name: str, root: Path | None = None) -> RenderedTemplate:
    """Parse `prompts/<task>/<name>.j2` (or a saved version, `<name>@<n>`: icl.prompts.versions); a
    syntax error names file:line."""
    base = root or prompts_dir()
    task, stem = _split(name)
    relative = template_file(task, stem)
    path = base / relative
    if not path.is_file():
        plain, number = split_version(stem)
        if number is not None:
            version_text(task, plain, number, base)  # says which versions there are
        known = ", ".join(n for n in template_names(base) if n.startswith(task + "/"))
        raise TemplateError(f"{path}: template not found (known {task} templates: {known or 'none'})")
    try:
        template = environment(base).get_template(relative)
    except jinja2.TemplateSyntaxError as exc:
        raise TemplateError(f"{path}:{exc.lineno}: {exc.message}") from None
    return RenderedTemplate(name=name, path=path, template=template)


def template_from_source(name: str, source: str, root: Path | None = None) -> RenderedTemplate:
    """A template from text that is not (yet) a file: what `icl author` renders while a template is edited.

    Compiled in the same sandboxed, budgeted environment as `load_template` (so `{% import %}` of other
    templates, StrictUndefined and the render budget behave exactly as in a run) and under the path it
    would be saved to, so that every error names that file and the line in `source`."""
    base = root or prompts_dir()
    task, stem = _split(name)
    if not _STEM.fullmatch(split_version(stem)[0]):
        raise TemplateError(f"template {name!r}: a name is letters, digits, '_' and '-' (it becomes a file name)")
    relative = template_file(task, stem)
    path = base / relative
    env = environment(base)
    try:
        code = env.compile(source, name=relative, filename=str(path))
    except jinja2.TemplateSyntaxError as exc:
        raise TemplateError(f"{path}:{exc.lineno}: {exc.message}") from None
    template = env.template_class.from_code(env, code, env.make_globals(None))
    return RenderedTemplate(name=name, path=path, template=template, source=source)


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
        except _RENDER_ERRORS as exc:
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
        except _RENDER_ERRORS as exc:
            raise _render_error(tpl, exc) from None

    return list(_within_budget(tpl, call_all))
