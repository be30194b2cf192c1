"""Derived data on disk (icl.derived): keyed on content, never on modification times, and what a later
process reads back is what the first one computed."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from icl import derived
from icl.data import builtin_registry
from icl.data.load import _label_set, _load, label_set, load_examples
from icl.run.leaks import _leaking, exclude
from icl.run.requests import score_key, score_keys
from icl.shots.bm25 import Bm25Index
from icl.values import Example
from icl.values.prompt import Prompt


@pytest.fixture(autouse=True)
def _own_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """This file's tests start from an empty derived folder (the session shares one elsewhere)."""
    monkeypatch.setenv("ICL_DERIVED_DIR", str(tmp_path / "cache" / "derived"))


def test_a_value_is_read_back_and_a_failed_computation_stores_nothing(tmp_path: Path) -> None:
    calls = []
    digest = derived.key("test", 1)
    assert derived.cached("test", digest, lambda: calls.append(1) or (1, [2.5, "x"], {"a": None})) == (1, [2.5, "x"],
                                                                                                      {"a": None})
    assert derived.cached("test", digest, lambda: calls.append(1) or ()) == (1, [2.5, "x"], {"a": None})
    assert len(calls) == 1
    other = derived.key("test", 2)

    def fail() -> None:
        raise ValueError("no")

    try:
        derived.cached("test", other, fail)
    except ValueError:
        pass
    assert derived.load("test", other) is None
    assert not [p for p in (tmp_path / "cache" / "derived" / "test").iterdir() if p.name.startswith(".tmp")]


def test_an_unreadable_file_is_a_miss(tmp_path: Path) -> None:
    digest = derived.key("test", "truncated")
    derived.save("test", digest, ("a", 1))
    path = tmp_path / "cache" / "derived" / "test" / f"{digest}.marshal"
    path.write_bytes(path.read_bytes()[:3])
    assert derived.load("test", digest) is None


def test_the_file_digest_follows_content_not_time(tmp_path: Path) -> None:
    a, b = tmp_path / "a.txt", tmp_path / "b.txt"
    a.write_text("same", encoding="utf-8")
    b.write_text("same", encoding="utf-8")
    os.utime(b, ns=(1, 1))
    assert derived.file_digest(a) == derived.file_digest(b) == derived.file_digest(b, memo=False)
    a.write_text("diff", encoding="utf-8")
    assert derived.file_digest(a, memo=False) != derived.file_digest(b)


def test_examples_and_labels_from_disk_equal_the_parsed_ones() -> None:
    spec = builtin_registry().get("massive")
    first = load_examples(spec, "test", "sw-KE")
    labels = label_set(spec, "sw-KE")
    _load.cache_clear()
    _label_set.cache_clear()  # a new process, as far as these caches go: now read from icl.derived
    assert load_examples(spec, "test", "sw-KE") == first
    assert label_set(spec, "sw-KE") == labels


def _ex(i: int, text: str, origin: str = "pool") -> Example:
    return Example(f"x:{i}", text, "label", "eng", "eng", origin)


def test_excluded_positions_are_keyed_on_the_texts() -> None:
    scored = [_ex(0, "set an alarm for seven am", "test"), _ex(1, "what is the weather like", "test")]
    pool = [_ex(5, "Set an alarm for seven AM!"), _ex(6, "play some jazz"), _ex(1, "anything", "test")]
    assert _leaking(pool, scored, False) == (0, 2)
    assert exclude(pool, scored, False) == ([pool[1]], 2)
    assert exclude(pool, scored, False) == ([pool[1]], 2)  # read back
    changed = [_ex(5, "set an alarm for noon"), *pool[1:]]
    assert exclude(changed, scored, False) == (changed[:2], 1)


def test_bm25_rankings_read_back_pick_the_same_demos() -> None:
    pool = [_ex(i, text) for i, text in enumerate(["wake me up at six", "play jazz music", "what time is it",
                                                    "turn the lights off", "set an alarm at six", "hello"])]
    queries = [_ex(10, "alarm at six please"), _ex(11, "jazz"), _ex(12, "!!!")]
    live = Bm25Index(pool)
    expected = [live.top(q, 2) for q in queries]
    Bm25Index(pool).prefetch(queries, 2)  # ranks and stores
    stored = Bm25Index(pool)
    stored.prefetch(queries, 2)  # reads
    assert stored._retriever is None
    assert [stored.top(q, 2) for q in queries] == expected


def test_score_keys_equal_one_key_at_a_time() -> None:
    prompt = Prompt("Intent of «ndiyo»: \"x\"\n")
    conts = [" alarm_set", " 日本", "", "\"q\"", " a\\b"]
    assert score_keys("ident", prompt, conts) == [score_key("ident", prompt, c) for c in conts]
