"""The one answering service (icl.run.answer.Answerer) with a fake engine: the cache before the engine,
what its listener hears and in which order, the times it records, cancellation, and no engine at all."""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest

from icl.engines import Cancelled, Completion, GenParams
from icl.run.answer import Answerer, CachedLabeler, LazyEngine, Listener, NeedsModel
from icl.run.cache import CompletionCache
from icl.run.requests import GenRequest, Request, ScoreRequest, engine_identity, gen_key, score_key
from icl.spec import ModelSpec
from icl.values.prompt import Prompt

MODEL = ModelSpec("fake-model", "hf")
IDENTITY = engine_identity(MODEL)
PARAMS = GenParams(max_tokens=8)


class FakeEngine:
    """Echoes each prompt upper-cased (a prompt containing `fail` fails); a continuation scores minus
    its length. Counts its calls, and honours `cancel` between prompts."""

    def __init__(self) -> None:
        self.generated: list[str] = []
        self.scored: list[str] = []
        self.startup = {"model load": 0.0}

    def generate(self, prompts: Sequence[Prompt], params: GenParams,
                 on_result: Callable[[int, Completion], None] | None = None,
                 cancel: threading.Event | None = None) -> list[Completion]:
        outs = []
        for i, prompt in enumerate(prompts):
            if cancel is not None and cancel.is_set():
                raise Cancelled(f"{len(prompts) - i} generations cancelled")
            text = prompt.text or ""
            out = Completion("", "engine said no") if "fail" in text else Completion(text.upper())
            self.generated.append(text)
            outs.append(out)
            if on_result is not None:
                on_result(i, out)
        return outs

    def score(self, prompts: Sequence[Prompt], continuations: Sequence[Sequence[str]]) -> list[list[float]]:
        self.scored += [p.text or "" for p in prompts]
        return [[-float(len(c)) for c in conts] for conts in continuations]

    def close(self) -> None:
        pass


def _gen(text: str) -> GenRequest:
    prompt = Prompt(text=text)
    return GenRequest(gen_key(IDENTITY, prompt, PARAMS), prompt, PARAMS)


def _score(text: str, continuation: str) -> ScoreRequest:
    prompt = Prompt(text=text)
    return ScoreRequest(score_key(IDENTITY, prompt, continuation), prompt, continuation)


def _answerer(tmp_path: Path, engine: FakeEngine | None = None, **kwargs: Any) -> Answerer:
    lazy = LazyEngine(MODEL, lambda _model: engine) if engine is not None else None
    return Answerer(CompletionCache(tmp_path / "c.sqlite"), lazy, **kwargs)


def _recorder(heard: list[tuple[str, Any]]) -> Listener:
    def keys(event: str) -> Callable[[Mapping[str, Any]], None]:
        return lambda got: heard.append((event, sorted(got)))

    return Listener(found=keys("found"), answered=keys("answered"),
                    started=lambda step, total: heard.append(("started", (step, total))),
                    advanced=lambda step, n: heard.append(("advanced", (step, n))))


def test_the_engine_is_asked_only_for_what_the_cache_lacks(tmp_path: Path) -> None:
    engine = FakeEngine()
    answerer = _answerer(tmp_path, engine)
    requests: list[Request] = [_gen("b"), _gen("a"), _score("q", "yes"), _score("q", "no")]
    first = answerer.answer(requests, "fake")
    assert dict(first.results) == {requests[0].key: {"text": "B", "error": None},
                                   requests[1].key: {"text": "A", "error": None},
                                   requests[2].key: -3.0, requests[3].key: -2.0}
    assert (first.cached, first.asked) == (frozenset(), 4)
    assert engine.generated == ["a", "b"] and engine.scored == ["q"]  # sorted: neighbours share prefixes
    again = answerer.answer([*requests, _gen("c")], "fake")
    assert (again.cached, again.asked) == (frozenset(r.key for r in requests), 1)
    assert engine.generated == ["a", "b", "c"] and engine.scored == ["q"]
    assert (answerer.generated, answerer.scored, answerer.cached) == (3, 2, 4)


def test_a_cached_batch_never_starts_the_engine(tmp_path: Path) -> None:
    _answerer(tmp_path, FakeEngine()).answer([_gen("a")], "fake")
    lazy = LazyEngine(MODEL, lambda _model: pytest.fail("the engine was started"))
    answerer = Answerer(CompletionCache(tmp_path / "c.sqlite"), lazy)
    assert answerer.answer([_gen("a")], "fake").asked == 0 and lazy.calls == 0
    assert "engine start" not in answerer.phases.seconds


def test_the_listener_hears_the_cache_then_each_step_as_answers_arrive(tmp_path: Path) -> None:
    answerer = _answerer(tmp_path, FakeEngine(), prompts_per_call=1)
    cached = _gen("a")
    answerer.answer([cached], "fake")
    heard: list[tuple[str, Any]] = []
    b, s1, s2 = _gen("b"), _score("p", "x"), _score("q", "x")
    answerer.answer([cached, b, s1, s2], "fake", _recorder(heard))
    assert heard == [("found", [cached.key]),
                     ("started", ("generate fake", 1)), ("advanced", ("generate fake", 1)), ("answered", [b.key]),
                     ("started", ("score fake", 2)),
                     ("advanced", ("score fake", 1)), ("answered", [s1.key]),
                     ("advanced", ("score fake", 1)), ("answered", [s2.key])]


def test_failures_are_answered_but_never_cached(tmp_path: Path) -> None:
    answerer = _answerer(tmp_path, FakeEngine())
    failed = _gen("fail here")
    assert answerer.answer([failed], "fake").results[failed.key] == {"text": "", "error": "engine said no"}
    assert answerer.cache.get_many([failed.key]) == {}


def test_times_are_recorded_in_phases_and_in_the_cache(tmp_path: Path) -> None:
    answerer = _answerer(tmp_path, FakeEngine())
    timed: list[tuple[str, float]] = []
    answerer.answer([_gen("a"), _score("q", "x")], "fake", Listener(timed=lambda p, s: timed.append((p, s))))
    assert {"cache lookup", "model load", "engine start", "generation", "rank scoring"} <= set(answerer.phases.seconds)
    # the listener hears each phase as it ends, with the seconds the phases record
    assert [p for p, _ in timed] == ["cache lookup", "model load", "engine start", "generation", "rank scoring"]
    assert all(answerer.phases.seconds[p] == pytest.approx(t) for p, t in timed)
    for kind, prompts in (("start", 1), ("generate", 1), ("score", 1)):
        recorded = answerer.cache.throughput(IDENTITY, kind)
        assert recorded is not None and (recorded.calls, recorded.prompts) == (1, prompts)


def test_a_cancel_keeps_what_arrived_and_stops_the_rest(tmp_path: Path) -> None:
    engine = FakeEngine()
    answerer = _answerer(tmp_path, engine)
    cancel = threading.Event()
    requests = [_gen(t) for t in "abcd"]
    with pytest.raises(Cancelled):
        answerer.answer(requests, "fake", Listener(answered=lambda got: cancel.set()), cancel)
    assert engine.generated == ["a"]
    assert list(answerer.cache.get_many([r.key for r in requests])) == [requests[0].key]
    with pytest.raises(Cancelled):  # already cancelled: the engine is not asked at all
        answerer.answer(requests, "fake", cancel=cancel)
    assert engine.generated == ["a"]


def test_without_an_engine_what_the_cache_lacks_is_named(tmp_path: Path) -> None:
    _answerer(tmp_path, FakeEngine()).answer([_gen("a")], "fake")
    answerer = _answerer(tmp_path)
    assert answerer.answer([_gen("a")], "fake").asked == 0
    with pytest.raises(NeedsModel) as raised:
        answerer.answer([_gen("a"), _gen("b"), _score("q", "x")], "fake")
    assert raised.value.missing == [_gen("b").key, _score("q", "x").key]


def test_the_labeler_answers_through_the_same_keys(tmp_path: Path) -> None:
    engine = FakeEngine()
    labeler = CachedLabeler(MODEL, _answerer(tmp_path, engine))
    prompts = [Prompt(text="a"), Prompt(text="b")]
    assert labeler.generate(prompts, PARAMS) == ["A", "B"]
    assert labeler.score(prompts, [["x", "yy"], ["zzz"]]) == [[-1.0, -2.0], [-3.0]]
    planner = CachedLabeler(MODEL, _answerer(tmp_path))  # `icl plan`: no engine, the same cache
    assert planner.generate(prompts, PARAMS) == ["A", "B"] and engine.generated == ["a", "b"]
