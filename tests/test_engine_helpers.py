"""Engine helpers that need no model: the label trie, stop truncation, engine registry errors."""

from __future__ import annotations

import pytest

from icl.engines import ENGINES, EngineSpec, LabelTrie, make_engine, truncate_at_stop
from icl.errors import ConfigError, EngineError


def test_trie_asks_shared_prefixes_once_and_sums_steps() -> None:
    trie = LabelTrie.build([[([1, 2], [5, 6]), ([1, 2], [5, 7]), ([1, 2], [8])],
                            [([3], [5, 6])]])
    assert trie.nodes() == [(1, 2), (1, 2, 5), (3,), (3, 5)]
    assert trie.children[(1, 2)] == {5, 8} and trie.children[(1, 2, 5)] == {6, 7}
    assert trie.contexts() == [(1, 2), (3,)]
    logprob = {(1, 2, 5): -1.0, (1, 2, 5, 6): -0.5, (1, 2, 5, 7): -2.0, (1, 2, 8): -3.0, (3, 5): -0.1,
               (3, 5, 6): -0.2}
    assert trie.totals(logprob) == [[-1.5, -3.0, -3.0], [pytest.approx(-0.3)]]


def test_trie_rejects_empty_continuations() -> None:
    with pytest.raises(ValueError):
        LabelTrie.build([[([1], [])]])


@pytest.mark.parametrize("text,stop,expected", [
    (" Le chat.\nEnglish: x", ["\n"], " Le chat."),
    ("a\n\nb", ["\n\n", "\nEnglish:"], "a"),
    ("abc", [], "abc"),
    ("abc", [""], "abc"),
    ("xEnglish:y\n\n", ["\n\n", "English:"], "x"),
])
def test_truncate_at_stop(text: str, stop: list[str], expected: str) -> None:
    assert truncate_at_stop(text, stop) == expected


def test_unknown_engine_and_unreachable_server() -> None:
    assert set(ENGINES) == {"vllm", "hf", "openai"}
    with pytest.raises(ConfigError, match="unknown engine 'tgi'"):
        make_engine(EngineSpec("tgi", "m"))
    with pytest.raises(EngineError, match=r"no endpoint reachable \(http://127.0.0.1:9/v1\)"):
        make_engine(EngineSpec("openai", "m", {"endpoints": ["http://127.0.0.1:9/v1"]}))
