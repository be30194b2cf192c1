"""`icl prompts lint`: every template parses, uses only what its task really provides, and formats
answers with the arguments its task passes.

"Really provides" is not a hand list: it is the keys of the task's own `context` on a sample item,
so a task that gives its templates something new is checked against that at once.
"""

from __future__ import annotations

import re
from pathlib import Path

import jinja2
import jinja2.meta
from jinja2 import nodes

from icl.config import prompts_dir
from icl.data.files import read_text
from icl.prompts.render import _split, environment, template_names
from icl.prompts.versions import template_file
from icl.tasks import TASKS, Task
from icl.values import Example, LabelSet


def provided_variables(task: Task) -> frozenset[str]:
    """What a task really gives its templates: the keys of its own `context` on a sample item."""
    sample = Example("sample:0", "text", "reference", "eng", "eng", "sample")
    return frozenset(task.context(sample, [sample], [], LabelSet(("label",), {"label": "group"})))


def _answer_macro_args(ast: nodes.Template) -> list[str] | None:
    for macro in ast.find_all(nodes.Macro):
        if macro.name == "answer":
            return [arg.name for arg in macro.args]
    return None


def lint_source(name: str, source: str, root: Path | None = None) -> list[str]:
    """Check one template's text (saved or not) against its task: it parses, reads only what the task
    provides, and its `answer` macro takes what the task passes. Problems name `path:line`."""
    base = root or prompts_dir()
    task, stem = _split(name)
    path = base / template_file(task, stem)
    env = environment(base)
    try:
        ast = env.parse(source)
    except jinja2.TemplateSyntaxError as exc:
        return [f"{path}:{exc.lineno}: {exc.message}"]
    problems = []
    variables = provided_variables(TASKS[task])
    for var in sorted(jinja2.meta.find_undeclared_variables(ast) - variables - set(env.globals)):
        lines = [i for i, line in enumerate(source.splitlines(), 1) if re.search(rf"\b{re.escape(var)}\b", line)]
        problems.append(f"{path}:{lines[0] if lines else 1}: variable {var!r} is not provided by task {task!r} "
                        f"(it provides {', '.join(sorted(variables))})")
    args = _answer_macro_args(ast)
    fields = TASKS[task].answer_fields
    if args is None:
        problems.append(f"{path}:1: defines no `answer` macro")
    elif not set(args) <= set(fields):
        problems.append(f"{path}:1: `answer` takes {args}; task {task!r} passes {list(fields)}")
    return problems


def lint(root: Path | None = None) -> list[str]:
    """Parse every template and check its variables against its task; returns problems (empty = clean)."""
    base = root or prompts_dir()
    problems = []
    for name in template_names(base):
        task, stem = _split(name)
        problems += lint_source(name, read_text(base / task / f"{stem}.j2"), base)
    return problems
