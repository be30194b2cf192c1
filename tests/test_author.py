"""`icl author` without a browser: settings checked as a sweep checks them, a view built through the
runner's own steps and cache, the saved template and sweep YAML re-running from that cache, and the
JSON API answering bad input with a message at the template line (tests/test_author_page.py drives
the page itself in Chromium)."""

from __future__ import annotations

import json
import re
import shutil
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import replace
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from icl.author.guard import HEADER, Guard, guard_for, is_loopback
from icl.author.preview import segments, so_far, view
from icl.author.server import make_app, problem
from icl.author.session import AuthorSession, Side, page_engine_args
from icl.author.settings import Setting, run_spec, setting_from_json, sweep_yaml
from icl.data import builtin_registry
from icl.engines import Cancelled, Completion, GenParams
from icl.engines.vllm_engine import NGRAM_SPECULATION
from icl.errors import ConfigError, TemplateError
from icl.run.answer import Answerer, LazyEngine
from icl.run.cache import CompletionCache
from icl.run.requests import engine_identity
from icl.run.runner import run_sweep
from icl.spec import ModelSpec
from icl.sweep.load import load_sweep
from icl.values import Example
from icl.values.prompt import Prompt

REPO = Path(__file__).resolve().parent.parent
MODEL = ModelSpec("gemma-3-270m", "vllm")
TOKEN = "a-test-token-of-this-launch"
GUARD = Guard(TOKEN, frozenset({"testserver"}))
"""The guard of a page whose address is TestClient's (`http://testserver`)."""


class PromptEngine:
    """A stand-in model whose every output depends on the whole prompt (its length and last words), so
    any template edit gives new outputs; rank scores prefer short labels. Counts what it was asked."""

    def __init__(self) -> None:
        self.generated = 0
        self.scored = 0

    def generate(self, prompts: Sequence[Prompt], params: GenParams,
                 on_result: Callable[[int, Completion], None] | None = None) -> list[Completion]:
        outs = [Completion(text=f" {len(p.as_key())} " + " ".join(p.as_key().split()[-4:])) for p in prompts]
        self.generated += len(prompts)
        for i, out in enumerate(outs):
            if on_result is not None:
                on_result(i, out)
        return outs

    def score(self, prompts: Sequence[Prompt], continuations: Sequence[Sequence[str]]) -> list[list[float]]:
        self.scored += sum(len(c) for c in continuations)
        return [[-float(len(c)) - len(p.as_key()) % 7 for c in conts] for p, conts in zip(prompts, continuations,
                                                                                          strict=True)]

    def close(self) -> None:
        pass


class GatedEngine(PromptEngine):
    """PromptEngine's outputs handed over one at a time, shortest prompt first, as vLLM's step loop
    hands them over; while `hold()` is in force each output waits for a `release()`, so a test decides
    what has arrived when. Honours `cancel` while it waits, and counts the outputs it dropped."""

    def __init__(self) -> None:
        super().__init__()
        self.gate: threading.Semaphore | None = None
        self.cancelled = 0
        self.waiting = threading.Event()
        """Set while an output waits at the gate."""

    def hold(self) -> None:
        self.gate = threading.Semaphore(0)

    def release(self, n: int = 1) -> None:
        assert self.gate is not None
        self.gate.release(n)

    def open(self) -> None:
        gate, self.gate = self.gate, None
        if gate is not None:
            gate.release(1000)

    def generate(self, prompts: Sequence[Prompt], params: GenParams,
                 on_result: Callable[[int, Completion], None] | None = None,
                 cancel: threading.Event | None = None) -> list[Completion]:
        outs: list[Completion | None] = [None] * len(prompts)
        for left, i in enumerate(sorted(range(len(prompts)), key=lambda i: len(prompts[i].as_key()))):
            while (gate := self.gate) is not None and not gate.acquire(timeout=0.02):
                self.waiting.set()
                if cancel is not None and cancel.is_set():
                    self.cancelled += len(prompts) - left
                    self.waiting.clear()
                    raise Cancelled(f"{len(prompts) - left} generations cancelled")
            self.waiting.clear()
            outs[i] = Completion(text=f" {len(prompts[i].as_key())} " + " ".join(prompts[i].as_key().split()[-4:]))
            self.generated += 1
            if on_result is not None:
                on_result(i, outs[i])
        return [o for o in outs if o is not None]


@pytest.fixture
def prompts(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A copy of prompts/ that saving may write into."""
    root = tmp_path / "prompts"
    shutil.copytree(REPO / "prompts", root)
    monkeypatch.setenv("ICL_PROMPTS_DIR", str(root))
    return root


def _source(name: str) -> str:
    return (REPO / "prompts" / f"{name}.j2").read_text(encoding="utf-8")


@pytest.mark.parametrize(("body", "message"), [
    ({"task": "nope", "language": "fra"}, "task: unknown task 'nope'"),
    ({"task": "mt", "language": "fra", "shots": -1}, "shots: expected a whole number 0..64"),
    ({"task": "mt", "language": "fra", "items": 0}, "items: expected a whole number 1..64"),
    ({"task": "mt", "language": "fra", "axes": {"modes": "rank"}}, "axes.modes: task mt has no such key"),
    ({"task": "intent", "language": "fra", "axes": {"modes": "vote"}}, "axes.modes: 'vote' is not one of"),
    ({"task": "mt", "language": "fra", "colour": "red"}, "setting: unknown keys ['colour']"),
    ({"task": "mt", "language": "fra", "morph": "yes"}, "morph: expected true or false"),
])
def test_bad_settings_name_the_field(body: dict, message: str) -> None:
    with pytest.raises(ConfigError, match="^" + message.replace("[", r"\[").replace("]", r"\]").replace("(", r"\(")):
        setting_from_json(body)


@pytest.mark.parametrize(("setting", "message"), [
    (Setting("mt", "plain", "klingon"), "language: unknown language"),
    (Setting("mt", "plain", "fra", selector="psychic"), "selector: 'psychic' is not one of"),
    (Setting("mt", "plain", "fra", pool="nowhere"), "pool: 'nowhere' is neither a split"),
    (Setting("mt", "plain", "fra", dataset="massive"), "dataset: massive is a intent data set"),
    (Setting("mt", "plain", "eng"), "language: 'eng' gives no run of task mt"),
    (Setting("intent", "labels", "sw-KE", augment="selflabel", pool="train:en-US"), "augment: selflabel labels"),
])
def test_settings_that_make_no_run_say_why(setting: Setting, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        run_spec(setting, MODEL, builtin_registry())


@pytest.mark.parametrize("settings", [
    [Setting("mt", "plain", "fra", shots=2)],
    [Setting("mt", "plain", "swh", axes=(("directions", "xx-en"),), pool="heldout:3", shots=1, items=5)],
    [Setting("intent", "labels", "sw-KE", axes=(("modes", "rank"),), pool="train", shots=2, items=4)],
    [Setting("mt", "plain", "fra", shots=1), Setting("mt", "instruct", "fra", shots=1)],
    [Setting("mt", "plain", "fra", shots=0), Setting("mt", "instruct", "fra", shots=2, selector="random")],
    [Setting("intent", "labels", "fra", axes=(("modes", "rank"),)), Setting("intent", "labels", "fra", axes=(("modes", "generate"),))],
])
def test_the_sweep_yaml_makes_exactly_the_runs_the_page_showed(settings: list[Setting], tmp_path: Path) -> None:
    registry = builtin_registry()
    specs = [run_spec(s, MODEL, registry) for s in settings]
    path = tmp_path / "page.yaml"
    path.write_text(sweep_yaml("page", MODEL, specs, settings), encoding="utf-8")
    sweep = load_sweep(path)
    ids = {r.run_id for r in sweep.runs}
    assert {s.run_id for s in specs} <= ids
    if len(specs) == 2:
        (comparison,) = sweep.gains
        flat = [{**s.to_json(), "model": MODEL.name, "engine": MODEL.engine} for s in specs]
        assert all(flat[0][k] == v for k, v in comparison.baseline.items())
        assert all(flat[1][k] == v for k, v in comparison.system.items())
        differing = len(comparison.system)
        assert len(ids) == (2 if differing == 1 else 2 ** differing)


def test_segments_mark_each_demo_block_and_the_query() -> None:
    demos = [Example("d:1", "Good morning.", "Bonjour.", "eng", "fra", "x"),
             Example("d:2", "Thank you.", "Merci.", "eng", "fra", "x")]
    text = "English: Good morning.\nFrench: Bonjour.\n\nEnglish: Thank you.\nFrench: Merci.\n\nEnglish: Hi.\nFrench:"
    parts = segments(text, demos, "Hi.")
    assert "".join(p.text for p in parts) == text
    marked = [(p.kind, p.demo, p.text) for p in parts if p.kind]
    assert marked == [("demo", 0, "Good morning.\nFrench: Bonjour."), ("demo", 1, "Thank you.\nFrench: Merci."),
                      ("query", -1, "Hi.")]
    # a demo whose source the template does not show is left unmarked, the rest still are
    assert [p.kind for p in segments("English: Hi.\nFrench:", demos, "Hi.") if p.kind] == ["query"]


def test_a_view_asks_the_engine_only_for_what_the_cache_lacks(tmp_path: Path) -> None:
    engine = PromptEngine()
    cache = CompletionCache(tmp_path / "c.sqlite")
    answerer = Answerer(cache, LazyEngine(MODEL, lambda _model: engine))
    registry = builtin_registry()
    spec = run_spec(Setting("mt", "plain", "fra", shots=2), MODEL, registry)
    first = view(spec, _source("mt/plain"), registry, answerer)
    assert (len(first.items), first.cached, first.asked, engine.generated) == (8, 0, 8, 8)
    item = first.items[0]
    assert item.output.startswith(" ") and item.prediction == item.output.strip() and item.reference
    assert [s.kind for s in item.segments if s.kind] == ["demo", "demo", "query"]
    assert dict(first.metrics)["chrf++"] is not None and first.intervals[0].metric == "chrf++"
    assert first.intervals[0].ci_low <= dict(first.metrics)["chrf++"] <= first.intervals[0].ci_high
    again = view(spec, _source("mt/plain"), registry, answerer)
    assert (again.cached, again.asked, engine.generated) == (8, 0, 8) and again.items == tuple(
        v.__class__(**{**v.__dict__, "cached": True}) for v in first.items)
    edited = view(spec, "Translate.\n" + _source("mt/plain"), registry, answerer)
    assert (edited.cached, edited.asked) == (0, 8) and edited.items[0].output != item.output


def test_a_rank_view_shows_the_best_labels_with_their_log_probabilities(tmp_path: Path) -> None:
    answerer = Answerer(CompletionCache(tmp_path / "c.sqlite"), LazyEngine(MODEL, lambda _model: PromptEngine()))
    registry = builtin_registry()
    spec = run_spec(Setting("intent", "labels", "sw-KE", axes=(("modes", "rank"),), pool="train", items=3),
                    MODEL, registry)
    result = view(spec, _source("intent/labels"), registry, answerer)
    item = result.items[0]
    assert len(item.top) == 5 and item.top[0][0] == item.prediction
    assert [s for _, s in item.top] == sorted((s for _, s in item.top), reverse=True)
    assert item.score in (0.0, 100.0) and result.main_metric == "accuracy"


@pytest.fixture
def session(prompts: Path, tmp_path: Path) -> Iterator[AuthorSession]:
    engine = PromptEngine()
    made = AuthorSession(MODEL, engine_factory=lambda model: engine)
    made.start().result()
    yield made
    made.close()


def test_saving_writes_the_template_and_a_sweep_that_reruns_from_the_cache(session: AuthorSession, prompts: Path,
                                                                           tmp_path: Path) -> None:
    source = "{#- mine -#}\nTranslate into {{ tgt_name }}.\n" + _source("mt/plain")
    side = Side(Setting("mt", "mine", "fra", shots=1), source)
    shown = session.preview(side).result()
    base = Side(Setting("mt", "plain", "fra", shots=1), _source("mt/plain"), "plain")
    session.preview(base).result()
    saved = session.save([base, side], 1)
    assert saved.path == prompts / "mt" / "mine.j2" and saved.path.read_text(encoding="utf-8") == source
    assert saved.note == "" and "gains:" in saved.sweep_yaml
    sweep_file = tmp_path / "again.yaml"
    sweep_file.write_text(saved.sweep_yaml, encoding="utf-8")
    report = run_sweep(load_sweep(sweep_file), tmp_path / "results",
                       engine_factory=lambda model: pytest.fail("an engine was started: the page's cache missed"))
    assert report.generated == 0 and report.cached == 16
    rows = [json.loads(line) for line in
            (report.sweep_dir / shown.spec.run_id / "predictions.jsonl").read_text(encoding="utf-8").splitlines()]
    assert [r["output"] for r in rows] == [v.output for v in shown.items]
    assert [r["prompt"] for r in rows] == ["".join(s.text for s in v.segments) for v in shown.items]


@pytest.mark.parametrize(("name", "source", "original", "message"), [
    ("broken", "{% macro answer(target) %}{{ target }}{% endmacro %}\n{{ sorce }}", "",
     "not saved: .*broken.j2:2: variable 'sorce' is not provided"),
    ("instruct", "{% macro answer(target) %}{{ target }}{% endmacro %}\n{{ source }}", "plain",
     "instruct.j2: not saved: another template has this name"),
    ("../up", "{% macro answer(target) %}{{ target }}{% endmacro %}", "", "a name is letters, digits"),
])
def test_saving_refuses_what_would_break_a_sweep_or_another_file(session: AuthorSession, name: str, source: str,
                                                                 original: str, message: str) -> None:
    with pytest.raises(TemplateError, match=message):
        session.save([Side(Setting("mt", name, "fra"), source, original)])


def test_saving_leaves_out_a_column_whose_template_is_not_saved_as_shown(session: AuthorSession) -> None:
    mine = Side(Setting("mt", "mine", "fra"), _source("mt/plain") + "\n{# mine #}")
    edited = Side(Setting("mt", "plain", "fra"), "Edited.\n" + _source("mt/plain"), "plain")
    saved = session.save([edited, mine], 1)
    assert "plain" in saved.note and "templates: [mine]" in saved.sweep_yaml and "gains" not in saved.sweep_yaml


@pytest.fixture
def client(session: AuthorSession) -> TestClient:
    """The page's API as the page's own script calls it: with the token in its header."""
    return TestClient(make_app(session, GUARD), raise_server_exceptions=False, headers={HEADER: TOKEN})


def _side(template: str, source: str, **setting: object) -> dict:
    return {"setting": {"task": "mt", "template": template, "language": "fra", **setting}, "source": source,
            "original": template}


@pytest.mark.parametrize(("body", "side", "line", "message"), [
    ({"side": _side("plain", "{% macro answer(target) %}{% endmacro %}\n\n{{ nope }}")}, "a", 3, "'nope' is undefined"),
    ({"side": _side("plain", "{% macro answer(target) %}{% endmacro %}\n{% for %}")}, "a", 2, "Expected an expression"),
    ({"side": _side("plain", "{{ 1/0 }}")}, "a", 1, "ZeroDivisionError"),
    ({"side": _side("plain", "x", language="xx-zz")}, "a", None, "language: unknown language"),
    ({"side": _side("plain", "x", shots="many")}, "a", None, "shots: expected a whole number"),
    ({"side": {"source": 3}}, "a", None, "a: expected {setting, source, original}"),
    ({"a": _side("plain", _source("mt/plain")), "b": _side("plain", _source("mt/plain"), language="spa")}, "b", None,
     "another reference in B"),
    ({"a": _side("plain", _source("mt/plain")), "b": _side("plain", "{{ oops }}")}, "b", 1, "'oops' is undefined"),
])
def test_the_api_answers_bad_input_with_a_message_at_the_line(client: TestClient, body: dict, side: str,
                                                              line: int | None, message: str) -> None:
    response = client.post("/api/compare" if "a" in body else "/api/preview", json=body)
    assert response.status_code == 422, response.text
    data = response.json()
    assert message in data["error"] and data["line"] == line and data["side"] == side
    assert client.post("/api/preview", json={"side": _side("plain", _source("mt/plain"))}).status_code == 200


def test_the_api_survives_what_is_not_json_and_a_bug(client: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    response = client.post("/api/preview", content=b"{no", headers={"Content-Type": "application/json"})
    assert response.json()["error"] == "request: the body is not JSON"
    import icl.author.session as session_module

    def broken(*args: object) -> None:
        raise RuntimeError("a bug")

    monkeypatch.setattr(session_module, "view", broken)
    assert client.post("/api/preview", json={"side": _side("plain", _source("mt/plain"))}).status_code == 500
    monkeypatch.undo()
    assert client.get("/api/status").json() == {"engine": "ready"}


def test_lint_and_template_endpoints(client: TestClient, prompts: Path) -> None:
    got = client.get("/api/template", params={"task": "mt", "name": "plain"}).json()
    assert got["source"] == _source("mt/plain") and got["mtime"] > 0
    problems = client.post("/api/lint", json={"task": "mt", "name": "plain",
                                              "source": got["source"].replace("{{ source }}", "{{ sorce }}")}).json()
    (only,) = problems["problems"]
    assert only["line"] == 9 and only["file"] == str(prompts / "mt" / "plain.j2")
    assert client.get("/api/template", params={"task": "mt", "name": "nothing"}).status_code == 422
    assert problem("x.j2:4: boom") == {"error": "x.j2:4: boom", "file": "x.j2", "line": 4, "side": ""}
    options = client.get("/api/options").json()
    assert "plain" in options["tasks"]["mt"]["templates"] and options["tasks"]["intent"]["axes"][0]["key"] == "modes"
    assert "first" in options["selectors"] and "none" in options["augments"]


@pytest.mark.model
def test_a_page_session_on_the_transformers_engine(model_dir: Path, prompts: Path) -> None:
    """`icl author --engine hf`: the session's engine runs in its worker thread and answers a view."""
    made = AuthorSession(ModelSpec("gemma-3-270m", "hf"))
    try:
        made.start().result()
        assert made.engine_state == "ready"
        shown = made.preview(Side(Setting("mt", "plain", "fra", shots=1, items=2, max_tokens=16),
                                  _source("mt/plain"), "plain")).result()
        assert len(shown.items) == 2 and shown.asked == 2 and all(v.error is None for v in shown.items)
        assert all(v.score is not None for v in shown.items)
    finally:
        made.close()


def test_a_template_over_its_render_budget_is_an_error_at_its_line(client: TestClient,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """The page renders in its worker thread, where only the budget's deadline checks run (no SIGALRM):
    they stop a runaway loop there too."""
    monkeypatch.setenv("ICL_TEMPLATE_BUDGET", "0.3")
    source = ("{% macro answer(target) %}{% endmacro %}\n{% for i in range(100000) %}\n"
              "{% for j in range(100000) %}{% endfor %}{% endfor %}")
    response = client.post("/api/preview", json={"side": _side("plain", source)})
    data = response.json()
    assert response.status_code == 422 and "over 0.3 s, the budget per prompt" in data["error"]
    assert data["line"] in (2, 3)


@pytest.mark.parametrize(("args", "message"), [
    (["--engine", "nope"], "--engine: unknown engine 'nope'"),
    (["--args", "[1]"], "--args: expected a JSON object"),
    (["--args", "{x"], "--args: not JSON"),
    (["--lang", "klingon"], "--lang: unknown language"),
])
def test_the_command_refuses_bad_options_in_one_line(args: list[str], message: str) -> None:
    from typer.testing import CliRunner

    from icl.cli import app

    result = CliRunner().invoke(app, ["author", *args])
    assert result.exit_code == 2 and message in result.output and "Traceback" not in result.output


def test_the_command_says_when_its_port_is_taken() -> None:
    import socket

    from typer.testing import CliRunner

    from icl.cli import app

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        result = CliRunner().invoke(app, ["author", "--port", str(port)])
    assert result.exit_code == 2 and f"--port: cannot listen on 127.0.0.1:{port}" in result.output
    assert "warning" not in result.output  # loopback: nothing to warn about


@pytest.mark.parametrize(("engine", "args", "expected"), [
    ("vllm", {}, {"speculative_config": NGRAM_SPECULATION}),
    ("vllm", {"speculative_config": None}, {"speculative_config": None}),  # the author turned it off
    ("vllm", {"max_num_seqs": 4}, {"max_num_seqs": 4, "speculative_config": NGRAM_SPECULATION}),
    ("hf", {"threads": 2}, {"threads": 2}),
])
def test_the_page_speculates_on_vllm_without_leaving_the_sweeps_cache(engine: str, args: dict,
                                                                      expected: dict) -> None:
    model = ModelSpec("gemma-3-270m", engine, json.dumps(args))
    assert page_engine_args(model) == expected
    # the page's engine keys its outputs as the sweep's engine without speculation does
    with_page_args = ModelSpec("gemma-3-270m", engine, json.dumps(page_engine_args(model)))
    assert engine_identity(with_page_args) == engine_identity(model)


@pytest.fixture
def gated(prompts: Path, tmp_path: Path) -> Iterator[tuple[AuthorSession, GatedEngine]]:
    engine = GatedEngine()
    made = AuthorSession(MODEL, engine_factory=lambda model: engine, cache_path=tmp_path / "c.sqlite")
    made.start().result()
    yield made, engine
    engine.open()
    made.close()


def _until(condition: Callable[[], object], what: str, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, what
        time.sleep(0.01)


def test_a_streamed_view_shows_every_prompt_first_then_each_answer_as_it_arrives(
        gated: tuple[AuthorSession, GatedEngine]) -> None:
    session, engine = gated
    engine.hold()
    updates: list = []
    side = Side(Setting("mt", "plain", "fra", shots=1), _source("mt/plain"), "plain")
    future = session.stream(side, updates.append, threading.Event())
    _until(engine.waiting.is_set, "the engine was never asked")
    (first,) = updates  # every prompt on the page before any output
    assert (first.answered, so_far(first).metrics, len(first.items), len(first.shown)) == (0, (), 8, 8)
    assert all(v.pending and v.output == "" and v.segments for _, v in first.items)
    engine.release(1)
    _until(lambda: len(updates) == 2, "the first output did not arrive alone")
    (index, arrived), = updates[1].items
    assert not arrived.pending and arrived.output and updates[1].answered == 1
    assert dict(so_far(updates[1]).metrics)["chrf++"] == arrived.score  # the metric over the one answered item
    engine.open()
    shown = future.result()
    assert len(updates) == 9 and [u.answered for u in updates] == list(range(9))
    assert sorted(i for u in updates[1:] for i, _ in u.items) == list(range(8))
    last = {i: v for u in updates for i, v in u.items}
    assert tuple(last[i] for i in range(8)) == shown.items  # what streamed is what the view returns
    assert (so_far(updates[-1]).metrics, so_far(updates[-1]).intervals) == (shown.metrics, shown.intervals)
    assert shown.items[index] == arrived


def test_a_cancelled_view_stops_the_engine_and_keeps_what_arrived(gated: tuple[AuthorSession, GatedEngine]) -> None:
    session, engine = gated
    engine.generated = 0  # not counting the session's warm-up
    engine.hold()
    cancel = threading.Event()
    side = Side(Setting("mt", "plain", "fra", shots=1), "Edit one.\n" + _source("mt/plain"), "plain")
    future = session.stream(side, lambda update: None, cancel)
    engine.release(2)
    _until(lambda: engine.generated == 2 and engine.waiting.is_set(), "two outputs did not arrive")
    cancel.set()
    with pytest.raises(Cancelled):
        future.result(timeout=20)
    assert (engine.generated, engine.cancelled) == (2, 6)  # the other 6 were never generated
    engine.open()
    again = session.stream(side, lambda update: None, threading.Event()).result()
    assert (again.cached, again.asked) == (2, 6)  # the two that arrived were stored under the run's keys
    late = threading.Event()
    late.set()  # cancelled while it waited its turn: the engine is not asked at all
    with pytest.raises(Cancelled):
        session.stream(side, lambda update: None, late).result()
    assert engine.generated == 8


def test_the_stream_endpoint_sends_prompts_then_outputs_then_the_view(gated: tuple[AuthorSession, GatedEngine]) -> None:
    session, _ = gated
    client = TestClient(make_app(session, GUARD), raise_server_exceptions=False, headers={HEADER: TOKEN})
    body = {"a": _side("plain", _source("mt/plain")), "b": _side("instruct", _source("mt/instruct"))}
    with client.stream("POST", "/api/stream", json=body) as response:
        events = [json.loads(line) for line in response.iter_lines() if line]
    kinds = [(e["event"], e.get("side")) for e in events]
    assert kinds == [*[("update", "a")] * 9, ("done", "a"), *[("update", "b")] * 9, ("done", "b"), ("paired", None)]
    assert all(item["pending"] for item in events[0]["items"]) and len(events[0]["items"]) == 8
    assert events[8]["answered"] == 8 and events[8]["metrics"] == events[9]["view"]["metrics"]  # the newest has them
    assert {m["metric"] for m in events[-1]["paired"]} == {"chrf++", "bleu"}
    again = client.post("/api/preview", json={"side": body["a"]}).json()["a"]
    assert [i["output"] for i in again["items"]] == [i["output"] for i in events[9]["view"]["items"]]
    bad = client.post("/api/stream", json={"a": _side("plain", "{{ nope }}")})
    (error,) = [json.loads(line) for line in bad.text.splitlines()]
    assert error["event"] == "error" and "'nope' is undefined" in error["error"] and error["line"] == 1


def test_saving_keeps_every_version(session: AuthorSession, prompts: Path) -> None:
    from icl.prompts.lint import lint
    from icl.prompts.render import load_template, template_names
    from icl.prompts.versions import versions

    original = _source("mt/plain")
    edits = ["{#- two -#}\n" + original, "{#- three -#}\n" + original]
    for text in edits:
        saved = session.save([Side(Setting("mt", "plain", "fra"), text, "plain")])
    assert saved.version == 3 and saved.path.read_text(encoding="utf-8") == edits[1]
    assert session.save([Side(Setting("mt", "plain", "fra"), edits[1], "plain")]).version == 3  # nothing new
    folder = prompts / "mt" / ".versions" / "plain"
    assert [(folder / f"{n}.j2").read_text(encoding="utf-8") for n in (1, 2, 3)] == [original, *edits]
    found = versions("mt", "plain")
    assert [v.version for v in found] == [1, 2, 3] and "on disk" in found[0].note
    assert all(re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00", v.saved) for v in found)
    assert lint() == [] and not [n for n in template_names() if "@" in n or "versions" in n]
    assert load_template("mt/plain@2").path == folder / "2.j2"
    with pytest.raises(TemplateError, match=r"has no version 9 \(its versions: 1, 2, 3\)"):
        load_template("mt/plain@9")
    with pytest.raises(TemplateError, match="a version is kept as it was"):
        session.save([Side(Setting("mt", "plain@2", "fra"), edits[0], "plain@2")])


def test_a_saved_version_runs_as_a_sweep(session: AuthorSession, prompts: Path, tmp_path: Path) -> None:
    from icl.run.prepare import prepare_runs

    original = _source("mt/plain")
    session.save([Side(Setting("mt", "plain", "fra"), "Translate.\n" + original, "plain")])  # 1 original, 2 this
    sweep_file = tmp_path / "versions.yaml"
    sweep_file.write_text("name: versions\nmodels: [{name: gemma-3-270m, engine: vllm}]\n"
                          "mt:\n  languages: [fra]\n  templates: [plain, plain@1, plain@2]\n  shots: [1]\n  limit: 3\n",
                          encoding="utf-8")
    sweep = load_sweep(sweep_file)
    assert [r.template for r in sweep.runs] == ["mt/plain", "mt/plain@1", "mt/plain@2"]
    ids = [r.run_id for r in sweep.runs]
    assert len(set(ids)) == 3 and "-plain@1-" in ids[1]
    with pytest.raises(ConfigError, match=r"mt/plain@2 changes no prompt .*-plain@2-.*templates mt/plain@2 and "
                                          r"mt/plain render the same prompts"):
        prepare_runs(sweep.runs, sweep.datasets)  # the live file is version 2: the no-op check says so
    sweep_file.write_text(sweep_file.read_text(encoding="utf-8").replace("plain, plain@1, plain@2", "plain, plain@1"),
                          encoding="utf-8")
    sweep = load_sweep(sweep_file)
    assert [r.run_id for r in sweep.runs] == ids[:2]
    report = run_sweep(sweep, tmp_path / "results", engine_factory=lambda model: PromptEngine())
    rows = [json.loads(line) for line in (report.sweep_dir / ids[1] / "predictions.jsonl").read_text(
        encoding="utf-8").splitlines()]
    assert rows[0]["prompt"].startswith("English: ")  # version 1 is the original text


def test_a_version_diff_shows_only_the_items_whose_prediction_changed(session: AuthorSession,
                                                                     client: TestClient) -> None:
    setting = Setting("mt", "plain", "fra", shots=1)
    lengths = sorted(len(v.source) for v in session.preview(Side(setting, _source("mt/plain"))).result().items)
    cut = lengths[len(lengths) // 2]
    longer = _source("mt/plain").replace("{{ src_name }}: {{ source }}\n{{ tgt_name }}:",
                                         "{% if source|length > " + str(cut) + " %}Long one.\n{% endif %}"
                                         "{{ src_name }}: {{ source }}\n{{ tgt_name }}:")
    assert longer != _source("mt/plain")
    session.save([Side(setting, longer, "plain")])
    body = client.post("/api/diff", json={"side": _side("plain", longer, shots=1), "old": 1, "new": 2}).json()
    changed = {c["id"] for c in body["changed"]}
    old = session.preview(Side(replace(setting, template="plain@1"), _source("mt/plain"))).result()
    assert changed == {v.id for v in old.items if len(v.source) > cut} and 0 < len(changed) < 8
    assert all(c["old"] != c["new"] for c in body["changed"])
    assert any(line.startswith("+{% if source|length") for line in body["diff"])
    assert body["texts"] == [_source("mt/plain"), longer] and body["items"] == 8
    assert {r["metric"]: r["n"] for r in body["paired"]} == {"chrf++": 8, "bleu": 8}
    versions = client.get("/api/versions", params={"task": "mt", "name": "plain"}).json()["versions"]
    assert [v["version"] for v in versions] == [1, 2]
    assert client.get("/api/template", params={"task": "mt", "name": "plain@1"}).json()["source"] == _source("mt/plain")


def _files(root: Path) -> dict[str, bytes]:
    """Every file under `root` with its bytes: what a refused request must leave as it was."""
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


OWNED = {"columns": [{"setting": {"task": "mt", "template": "plain", "language": "fra"},
                      "source": "{#- owned -#}\n" + _source("mt/plain"), "original": "plain"}], "index": 0}
"""A save that rewrites prompts/mt/plain.j2, as an attacking page would send it."""
JSON = {"Content-Type": "application/json"}
ATTACK = json.dumps(OWNED)


@pytest.mark.parametrize(("method", "path", "headers", "reason"), [
    ("POST", "/api/save", {"Content-Type": "text/plain", "Origin": "http://evil.example"},
     "a POST from http://evil.example is refused: only the page itself may change anything"),
    ("POST", "/api/save", {**JSON, HEADER: TOKEN, "Origin": "http://evil.example"},
     "a POST from http://evil.example is refused: only the page itself may change anything"),
    ("POST", "/api/save", {**JSON, HEADER: TOKEN, "Origin": "null"},
     "a POST from null is refused: only the page itself may change anything"),
    ("POST", "/api/save", {**JSON, HEADER: TOKEN, "Origin": "http://testserver:8080"},
     "a POST from http://testserver:8080 is refused: only the page itself may change anything"),
    ("POST", "/api/save", {**JSON, HEADER: TOKEN, "Referer": "http://evil.example/attack.html"},
     "a POST from http://evil.example is refused: only the page itself may change anything"),
    ("POST", "/api/save", {"Content-Type": "text/plain", HEADER: TOKEN},
     "a POST with Content-Type 'text/plain' is refused: the API takes application/json"),
    ("POST", "/api/save", {"Content-Type": "application/x-www-form-urlencoded", HEADER: TOKEN,
                           "Origin": "http://testserver"},
     "a POST with Content-Type 'application/x-www-form-urlencoded' is refused: the API takes application/json"),
    ("POST", "/api/save", JSON, "no token: the API takes the token `icl author` printed in the X-ICL-Token header"),
    ("POST", "/api/save", {**JSON, HEADER: "a-guessed-token-of-this-launch"}, "wrong token in the X-ICL-Token header"),
    ("POST", "/api/save", {**JSON, HEADER: TOKEN, "Host": "evil.example:8765"},
     "Host 'evil.example:8765' is not this page's address (testserver)"),
    ("GET", "/api/template?task=mt&name=plain", {},
     "no token: the API takes the token `icl author` printed in the X-ICL-Token header"),
    ("GET", "/api/template?task=mt&name=plain", {HEADER: "é".encode() * 30}, "wrong token in the X-ICL-Token header"),
    ("GET", "/api/template?task=mt&name=plain", {HEADER: TOKEN, "Host": "evil.example"},
     "Host 'evil.example' is not this page's address (testserver)"),
    ("GET", "/", {}, "no token: open the URL that `icl author` printed (http://…/?token=…)"),
    ("GET", f"/?token={TOKEN}x", {}, "wrong token: open the URL that `icl author` printed"),
    ("GET", f"/?token={TOKEN}", {"Host": "evil.example:8765"},
     "Host 'evil.example:8765' is not this page's address (testserver)"),
    ("GET", "/", {"Cookie": "icl_author=an-old-token-of-another-launch"},
     "no token: open the URL that `icl author` printed (http://…/?token=…)"),
])
def test_the_page_refuses_whoever_is_not_its_owner_and_changes_nothing(
        session: AuthorSession, prompts: Path, method: str, path: str, headers: dict, reason: str) -> None:
    """No token, a wrong one, another Host (DNS rebinding), another origin's POST, a body that is not
    JSON (a cross-origin "simple" request): 403 with the reason in one line, and no file touched."""
    before = _files(prompts)
    bare = TestClient(make_app(session, GUARD), raise_server_exceptions=False)
    response = bare.request(method, path, headers=headers, content=ATTACK if method == "POST" else None)
    assert (response.status_code, response.json()) == (403, {"error": reason})
    assert "\n" not in response.text and "set-cookie" not in response.headers
    assert _files(prompts) == before


def test_the_owner_with_the_token_still_saves(session: AuthorSession, prompts: Path) -> None:
    """The same save as the refused ones, from the page itself with its token: it writes the file
    (so the refusals above are the guard's, not a bad request's)."""
    owner = TestClient(make_app(session, GUARD), raise_server_exceptions=False)
    response = owner.post("/api/save", content=ATTACK,
                          headers={**JSON, HEADER: TOKEN, "Origin": "http://testserver",
                                   "Referer": "http://testserver/"})
    assert response.status_code == 200, response.text
    assert (prompts / "mt" / "plain.j2").read_text(encoding="utf-8") == OWNED["columns"][0]["source"]


def test_the_token_url_opens_the_page_and_a_cookie_keeps_it(session: AuthorSession) -> None:
    browser = TestClient(make_app(session, GUARD), raise_server_exceptions=False)
    first = browser.get("/", params={"token": TOKEN})
    assert first.status_code == 200 and f"const TOKEN = {json.dumps(TOKEN)};" in first.text
    cookie = first.headers["set-cookie"]
    assert cookie.startswith(f"icl_author={TOKEN};") and "HttpOnly" in cookie and "SameSite=Strict" in cookie
    assert first.headers["x-frame-options"] == "DENY"
    again = browser.get("/")  # the cookie, without the token in the URL: a reload
    assert again.status_code == 200 and "set-cookie" not in again.headers
    assert browser.get("/api/status", headers={HEADER: TOKEN}).json() == {"engine": "ready"}
    assert browser.get("/api/status").status_code == 403  # the cookie opens the page, not the API


@pytest.mark.parametrize(("host", "port", "hosts"), [
    ("127.0.0.1", 8765, {"127.0.0.1:8765", "localhost:8765", "[::1]:8765"}),
    ("localhost", 80, {"127.0.0.1:80", "localhost:80", "[::1]:80", "127.0.0.1", "localhost", "[::1]"}),
    ("::1", 9000, {"127.0.0.1:9000", "localhost:9000", "[::1]:9000"}),
    ("192.168.1.20", 8765, {"127.0.0.1:8765", "localhost:8765", "[::1]:8765", "192.168.1.20:8765"}),
    ("Lab-Box", 8765, {"127.0.0.1:8765", "localhost:8765", "[::1]:8765", "lab-box:8765"}),
])
def test_a_launch_has_its_own_token_and_answers_its_own_addresses(host: str, port: int, hosts: set[str]) -> None:
    one, two = guard_for(host, port), guard_for(host, port)
    assert one.hosts == hosts and one.cookie == f"icl_author_{port}"
    assert one.token != two.token and len(one.token) >= 40
    assert one.origins == {f"http://{h}" for h in hosts}


@pytest.mark.parametrize(("host", "loopback"), [
    ("127.0.0.1", True), ("127.1.2.3", True), ("localhost", True), ("::1", True), ("[::1]", True),
    ("0.0.0.0", False), ("::", False), ("192.168.1.20", False), ("lab-box", False),
])
def test_only_loopback_addresses_count_as_local(host: str, loopback: bool) -> None:
    assert is_loopback(host) is loopback


def test_a_guard_refuses_a_short_token() -> None:
    with pytest.raises(ConfigError, match="^author token: expected at least 16 characters$"):
        Guard("", frozenset({"testserver"}))


def test_the_command_warns_when_it_listens_beyond_this_machine() -> None:
    import socket

    from typer.testing import CliRunner

    from icl.cli import app

    with socket.socket() as taken:  # the port is taken, so the command stops right after its warning
        taken.bind(("0.0.0.0", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        result = CliRunner().invoke(app, ["author", "--host", "0.0.0.0", "--port", str(port)])
    assert result.exit_code == 2 and f"--port: cannot listen on 0.0.0.0:{port}" in result.output
    assert ("icl author: warning: --host 0.0.0.0 is not a loopback address: anyone who can reach it and has the "
            "token (in the URL below) can run the model and write templates") in result.output
