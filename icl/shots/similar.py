"""Demonstrations by meaning: the pool items whose sources are closest to the query's by cosine
similarity of multilingual sentence embeddings (icl.shots.embed).

The pool is embedded once per pool content and embedder, through the disk cache, so a sweep embeds
each pool once across runs and processes. The queries of a run can be embedded in one batch
(`prefetch`, which `icl.shots.prepare` calls) and are cached on disk too. Pool and queries need not
share a language: an English pool serves a Swahili query (the encoder is multilingual).
"""

from __future__ import annotations

import random
from collections.abc import Sequence

import numpy as np

from icl.shots.basic import first_eligible
from icl.shots.bm25 import INDEXES_KEPT, Indexes, pool_digest
from icl.shots.embed import DEFAULT_EMBEDDER, Embedder, embed_cached, get_embedder, normalise
from icl.values import Example

__all__ = ["DEFAULT_EMBEDDER", "SimilarIndex", "select_similar", "similar_index"]


class SimilarIndex:
    """A pool's embeddings, built once, answering every query of a run. A text has one vector
    whichever side it is on (same prefix for pool and query), so a query that reads like a pool item
    reuses its vector."""

    def __init__(self, pool: Sequence[Example], embedder: Embedder | None = None) -> None:
        self.pool = tuple(pool)
        self.embedder = embedder if embedder is not None else get_embedder(DEFAULT_EMBEDDER)
        rows: dict[str, int] = {}
        for ex in self.pool:  # a repeated source is embedded once
            rows.setdefault(ex.source, len(rows))
        self.vectors = embed_cached(self.embedder, list(rows))
        """(distinct pool sources, d), unit rows."""
        self.item_rows = np.fromiter((rows[ex.source] for ex in self.pool), dtype=np.intp, count=len(self.pool))
        """pool position -> its row in `vectors`."""
        self.known: dict[str, np.ndarray] = {text: self.vectors[row] for text, row in rows.items()}
        """text -> vector, for pool sources and every query seen so far."""

    def prefetch(self, queries: Sequence[Example]) -> None:
        """Embed every query not yet known in one batch (through the disk cache)."""
        todo = list(dict.fromkeys(q.source for q in queries if q.source not in self.known))
        if todo:
            self.known.update(zip(todo, embed_cached(self.embedder, todo), strict=True))

    def vector(self, query: Example) -> np.ndarray:
        """The query's vector; one not prefetched is embedded alone (memory only: no file per query)."""
        if query.source not in self.known:
            self.known[query.source] = normalise(self.embedder.embed([query.source]), 1, self.embedder.name)[0]
        return self.known[query.source]

    def scores(self, query: Example) -> np.ndarray:
        """Cosine similarity of the query to each pool item, in pool order."""
        return (self.vectors @ self.vector(query))[self.item_rows]

    def top(self, query: Example, k: int) -> list[Example]:
        """The k most similar pool items, most similar first; equal scores keep pool order; never the
        query itself (same id or same source text)."""
        if k <= 0 or not self.pool:
            return []
        order = np.argsort(-self.scores(query), kind="stable")
        return first_eligible((self.pool[i] for i in order), query, k)


_INDEXES: Indexes[tuple[str, str], SimilarIndex] = Indexes(INDEXES_KEPT)
"""(embedder name, pool_digest) -> index: one per pool content, shared by every run that uses it."""


def similar_index(pool: Sequence[Example], embedder: str = DEFAULT_EMBEDDER) -> SimilarIndex:
    """The (cached) index of a pool, keyed on the embedder and the pool's content, not its identity."""
    model = get_embedder(embedder)
    return _INDEXES.get((model.name, pool_digest(pool)), lambda: SimilarIndex(pool, model))


def select_similar(pool: Sequence[Example], query: Example, k: int, rng: random.Random) -> list[Example]:
    """The k pool items closest in meaning to the query (most similar first); `rng` is unused."""
    return similar_index(pool).top(query, k)
