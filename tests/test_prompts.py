"""Templates: every one parses and uses only what its task provides; sandbox and errors are clean."""

from __future__ import annotations

from pathlib import Path

import pytest

from icl.data import builtin_registry, label_set, load_flores, load_massive
from icl.errors import TemplateError
from icl.prompts.lint import lint, lint_source
from icl.prompts.render import answers, load_template, render, template_from_source, template_names, template_variables
from icl.tasks import TASKS
from icl.values import Example

MASSIVE_LABELS = label_set(builtin_registry().get("massive"), "sw-KE")


def context(task: str, query: Example, demos: list[Example], hints: list[dict] | None = None) -> dict:
    return TASKS[task].context(query, demos, hints or [], MASSIVE_LABELS if task == "intent" else None)


def answer_args(task: str) -> list[dict[str, str]]:
    return TASKS[task].answer_args(MASSIVE_LABELS if task == "intent" else None)


def test_lint_is_clean_on_every_template() -> None:
    assert lint() == []
    names = template_names()
    assert {"mt/plain", "mt/instruct", "mt/chat", "intent/labels", "intent/scenario"} <= set(names)


@pytest.mark.parametrize("name", [n for n in template_names() if n.startswith("mt/")])
@pytest.mark.parametrize("shots", [0, 2])
def test_mt_templates_render_language_names_and_demos(name: str, shots: int) -> None:
    pairs = load_flores("eng", "swa")
    ctx = context("mt", pairs[0], pairs[1 : 1 + shots])
    prompt = render(load_template(name), ctx).prompt
    text = prompt.as_key()
    assert "Swahili" in text and "swh_Latn" not in text
    assert pairs[0].source in text
    for demo in pairs[1 : 1 + shots]:
        assert demo.target in text
    assert pairs[0].target not in text  # the reference never leaks into its own prompt


@pytest.mark.parametrize("name", [n for n in template_names() if n.startswith("intent/")])
def test_intent_templates_score_the_same_answer_format_as_their_demos(name: str) -> None:
    train = load_massive("sw-KE", "train")[:3]
    query = load_massive("sw-KE", "test")[0]
    template = load_template(name)
    ctx = context("intent", query, train)
    text = render(template, ctx).prompt.as_key()
    conts = answers(template, ctx, answer_args("intent"))
    assert len(conts) == 60
    # Each demo's answer, as the template writes it, is exactly the scored continuation of its label.
    labels = [a["intent"] for a in answer_args("intent")]
    for demo in train:
        assert conts[labels.index(demo.target)] in text


def test_labels_template_lists_all_sixty_intents() -> None:
    query = load_massive("en-US", "test")[0]
    text = render(load_template("intent/labels"), context("intent", query, [])).prompt.text or ""
    assert all(label in text for label in (a["intent"] for a in answer_args("intent")))


def test_chat_template_becomes_messages() -> None:
    pairs = load_flores("eng", "fra")
    prompt = render(load_template("mt/chat"), context("mt", pairs[0], pairs[1:3])).prompt
    assert prompt.messages is not None
    assert [r for r, _ in prompt.messages] == ["system", "user", "assistant", "user", "assistant", "user"]
    assert prompt.messages[-1][1] == pairs[0].source


def _write(root: Path, name: str, body: str) -> None:
    path = root / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(body, encoding="utf-8")


def test_syntax_error_names_file_and_line(tmp_path: Path) -> None:
    _write(tmp_path, "mt/broken.j2", "{% macro answer(target) %}{{ target }}{% endmacro %}\nline two\n{% for x in %}\n")
    with pytest.raises(TemplateError, match=r"broken\.j2:3: "):
        load_template("mt/broken", root=tmp_path)
    assert any("broken.j2:3" in p for p in lint(tmp_path))


def test_missing_variable_names_file_and_line(tmp_path: Path) -> None:
    _write(tmp_path, "mt/typo.j2", "{% macro answer(target) %}{{ target }}{% endmacro %}\n{{ src_name }}:\n{{ sorce }}\n")
    problems = lint(tmp_path)
    assert problems and "typo.j2:3: variable 'sorce' is not provided" in problems[0]
    pairs = load_flores("eng", "fra")
    with pytest.raises(TemplateError, match=r"typo\.j2:3: UndefinedError: 'sorce' is undefined"):
        render(load_template("mt/typo", root=tmp_path), context("mt", pairs[0], []))


@pytest.mark.parametrize("attack", [
    "{{ source.__class__.__mro__[1].__subclasses__() }}",
    "{{ demos.__class__.__init__.__globals__ }}",
    "{{ answer.__globals__ }}",
    "{{ ''.__class__.__base__.__subclasses__() }}",
    "{{ message.__globals__['__builtins__'] }}",
])
def test_sandbox_blocks_python_internals(tmp_path: Path, attack: str) -> None:
    _write(tmp_path, "mt/evil.j2", "{% macro answer(target) %}{{ target }}{% endmacro %}\n" + attack + "\n")
    pairs = load_flores("eng", "fra")
    with pytest.raises(TemplateError, match=r"evil\.j2"):
        render(load_template("mt/evil", root=tmp_path), context("mt", pairs[0], []))


def test_template_without_answer_macro_is_reported(tmp_path: Path) -> None:
    _write(tmp_path, "intent/noanswer.j2", "Utterance: {{ source }}\nIntent:")
    assert any("defines no `answer` macro" in p for p in lint(tmp_path))


def _shipped_templates() -> list[str]:
    from icl.prompts.render import template_names

    return template_names()


@pytest.mark.parametrize("name", _shipped_templates())
def test_every_shipped_template_shows_demos_and_exactly_the_hints_it_declares(name: str) -> None:
    """Property over prompts/: demos always reach the prompt, and hints reach it exactly when the
    template reads `hints` (what the no-op check relies on to explain a refusal)."""
    from icl.prompts.render import load_template, render, template_variables
    from icl.tasks import get_task
    from icl.values import Example, LabelSet

    task = get_task(name.split("/")[0])
    labels = LabelSet(("alarm_set", "play_music"), {"alarm_set": "alarm", "play_music": "play"})
    lang = "eng" if task.labelled else "swh"
    query = Example("q:0", "Wake me up at seven", "alarm_set" if task.labelled else "Niamshe saa moja",
                    "eng", lang, "test", "alarm" if task.labelled else None)
    demo = Example("d:0", "Play some jazz", "play_music" if task.labelled else "Cheza jazz", "eng", lang, "train",
                   "play" if task.labelled else None)
    hint = {"source": "wake", "translations": ["amka"], "lemma": "wake", "inflected": False}
    tpl = load_template(name)

    def prompt(demos: list[Example], hints: list[dict]) -> str:
        return render(tpl, task.context(query, demos, hints, labels if task.labelled else None)).prompt.as_key()

    assert prompt([demo], []) != prompt([], [])
    uses_hints = "hints" in template_variables(tpl)
    assert (prompt([], [hint]) != prompt([], [])) is uses_hints


@pytest.mark.parametrize("name", template_names())
def test_template_from_source_renders_exactly_as_the_file(name: str) -> None:
    """An unsaved edit (icl author) renders in the same environment as the saved file would."""
    task = name.split("/", 1)[0]
    saved = load_template(name)
    unsaved = template_from_source(name, saved.path.read_text(encoding="utf-8"))
    assert unsaved.path == saved.path and template_variables(unsaved) == template_variables(saved)
    if task == "mt":
        pairs = load_flores("eng", "fra")
        ctx = context(task, pairs[0], pairs[1:3], [{"source": "dog", "translations": ["chien"]}])
    else:
        items = load_massive("sw-KE")
        ctx = context(task, items[0], items[1:3], [{"source": "kengele", "translations": ["alarm"]}])
    assert render(unsaved, ctx) == render(saved, ctx)
    if task == "intent":
        assert answers(unsaved, ctx, answer_args(task)) == answers(saved, ctx, answer_args(task))


@pytest.mark.parametrize(("source", "line", "message"), [
    ("{% macro answer(target) %}{{ target }}{% endmacro %}\nok\n{% for x in %}", 3, "Expected an expression"),
    ("{% macro answer(target) %}{{ target }}{% endmacro %}\n{{ source }}\n{{ sorce }}", 3, "'sorce' is undefined"),
    ("{% macro answer(target) %}{{ target }}{% endmacro %}\n{{ 1 / 0 }}", 2, "ZeroDivisionError"),
    ("{% macro f() %}{{ f() }}{% endmacro %}\n{{ f() }}", 1, "RecursionError"),
    ("{% macro answer(target) %}{{ target }}{% endmacro %}\n\n{{ 'x' * 10**10 }}", 3, "at most 1,000,000"),
    ("{% macro answer(target) %}{{ target }}{% endmacro %}\n{{ 7 ** 100000 }}", 2, "exponent 100,000"),
])
def test_unsaved_template_errors_name_the_file_it_would_be_and_the_line(source: str, line: int,
                                                                         message: str) -> None:
    pairs = load_flores("eng", "fra")
    with pytest.raises(TemplateError) as caught:
        render(template_from_source("mt/draft", source), context("mt", pairs[0], []))
    assert f"mt/draft.j2:{line}: " in str(caught.value) and message in str(caught.value)


def test_unsaved_template_names_must_be_file_names() -> None:
    with pytest.raises(TemplateError, match="letters, digits"):
        template_from_source("mt/../../etc/passwd", "x")


def test_lint_source_checks_one_unsaved_text_like_lint() -> None:
    good = load_template("mt/plain").path.read_text(encoding="utf-8")
    assert lint_source("mt/draft", good) == []
    bad = good.replace("{{ source }}", "{{ sorce }}")
    problems = lint_source("mt/draft", bad)
    assert len(problems) == 1 and "draft.j2:" in problems[0] and "'sorce' is not provided" in problems[0]
    assert lint_source("intent/draft", "{% if %}")[0].endswith("draft.j2:1: Expected an expression, got 'end of statement block'")
