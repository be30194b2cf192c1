"""Selectors are deterministic per seed, differ across seeds, and never return the test item."""

from __future__ import annotations

import random
import subprocess
import sys

import pytest

from icl.data import load_flores, load_massive, load_ntrex
from icl.errors import ConfigError
from icl.shots import SELECTORS, get_selector, select_bm25, select_random, select_shared
from icl.values import Example

POOL = load_ntrex("eng", "swa")
QUERIES = load_flores("eng", "swa")[:20]


@pytest.mark.parametrize("name", ["first", "random", "shared", "bm25"])
def test_deterministic_per_seed(name: str) -> None:
    select = get_selector(name)
    a = [[d.id for d in select(POOL, q, 5, random.Random(7))] for q in QUERIES]
    b = [[d.id for d in select(POOL, q, 5, random.Random(7))] for q in QUERIES]
    assert a == b and all(len(x) == 5 for x in a)


@pytest.mark.parametrize("name", ["random", "shared"])
def test_seeds_change_random_choices(name: str) -> None:
    select = get_selector(name)
    assert [d.id for d in select(POOL, QUERIES[0], 5, random.Random(1))] != \
        [d.id for d in select(POOL, QUERIES[0], 5, random.Random(2))]


def test_shared_is_one_set_for_the_whole_run_and_random_is_not() -> None:
    rng = random.Random(3)
    shared = {tuple(d.id for d in select_shared(POOL, q, 4, rng)) for q in QUERIES}
    assert len(shared) == 1
    rng = random.Random(3)
    per_item = {tuple(d.id for d in select_random(POOL, q, 4, rng)) for q in QUERIES}
    assert len(per_item) > 1


@pytest.mark.parametrize("name", ["first", "random", "shared", "bm25"])
def test_never_returns_the_query_even_when_it_is_in_the_pool(name: str) -> None:
    pool = load_flores("eng", "swa")[:30]  # a held-out style pool that contains the queries
    select = get_selector(name)
    for query in pool[:10]:
        chosen = select(pool, query, 8, random.Random(0))
        assert query.id not in {d.id for d in chosen}
        assert query.source not in {d.source for d in chosen}


def test_duplicate_text_under_another_id_is_excluded() -> None:
    query = Example("q", "set an alarm", "alarm_set", "eng", "eng", "massive-test")
    twin = Example("t", "set an alarm ", "alarm_set", "eng", "eng", "massive-train")
    other = Example("o", "play music", "play_music", "eng", "eng", "massive-train")
    for name in ("first", "random", "shared", "bm25"):
        assert [d.id for d in get_selector(name)([twin, other], query, 2, random.Random(0))] == ["o"]


def test_bm25_finds_lexically_similar_demos() -> None:
    pool = load_massive("en-US", "train")
    query = Example("q", "wake me up at seven am tomorrow", "alarm_set", "eng", "eng", "massive-test", "alarm")
    demos = select_bm25(pool, query, 5, random.Random(0))
    assert sum(d.scenario == "alarm" for d in demos) >= 3


def test_fixed_ids_in_order_and_unknown_ids_named() -> None:
    select = get_selector("fixed", ["ntrex:5", "ntrex:2"])
    assert [d.id for d in select(POOL, QUERIES[0], 2, random.Random(0))] == ["ntrex:5", "ntrex:2"]
    with pytest.raises(ConfigError, match="ntrex:99999"):
        get_selector("fixed", ["ntrex:99999"])(POOL, QUERIES[0], 1, random.Random(0))
    with pytest.raises(ConfigError, match="unknown selector 'nearest'"):
        get_selector("nearest")
    assert set(SELECTORS) == {"first", "random", "shared", "bm25", "similar", "fixed"}


def test_bm25_does_not_load_llvmlite_that_breaks_vllm_start() -> None:
    """vLLM's CPU kernel registration crashes on llvmlite's attribute-answering `ffi.lib`; bm25 must not load it."""
    code = ("import random, sys\n"
            "from icl.values import Example\n"
            "from icl.shots import select_bm25\n"
            "pool = [Example(f'p:{i}', s, 'x', 'eng', 'eng', 't') for i, s in enumerate(['set an alarm', 'play music'])]\n"
            "q = Example('q', 'alarm please', 'x', 'eng', 'eng', 't')\n"
            "assert select_bm25(pool, q, 1, random.Random(0))[0].id == 'p:0'\n"
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('numba', 'llvmlite')))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


@pytest.mark.parametrize("name", ["bm25", "similar"])
def test_pools_with_one_english_side_keep_their_own_translations(name: str) -> None:
    """Retrieval indexes are shared between runs by pool content: FLORES dev into Kinyarwanda and into
    Yoruba have the same ids and English sources, and each run must get its own language's demos."""
    from icl.data import builtin_registry, load_examples

    flores = builtin_registry().get("flores200")
    query = load_flores("eng", "kin")[0]
    for tgt in ("kin", "yor", "kin"):
        pool = load_examples(flores, "dev", "eng", tgt)[:200]
        demos = get_selector(name)(pool, query, 3, random.Random(0))
        assert len(demos) == 3 and all(d.tgt_lang == tgt and d in pool for d in demos), (name, tgt)
