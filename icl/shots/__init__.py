"""The shots step: few-shot demonstrations chosen from a pool. Selectors select; they never format.

A selector is `(pool, query, k, rng) -> list[Example]` and never returns the query itself. The
runner prepares one per run (`prepare`), so that selectors with an index (bm25, similar) build it
once per pool content and can see every query of the run up front.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from functools import partial
from typing import Any

from icl.errors import ConfigError
from icl.shots.basic import (
    eligible,
    first_eligible,
    select_first,
    select_fixed,
    select_random,
    select_shared,
    shared_order,
)
from icl.shots.bm25 import bm25_index
from icl.values import Example

Selector = Callable[[Sequence[Example], Example, int, random.Random], list[Example]]
Prepared = Callable[[Example, int, random.Random], list[Example]]
"""A selector bound to one run's pool: (query, k, rng) -> demos."""


def select_bm25(pool: Sequence[Example], query: Example, k: int, rng: random.Random) -> list[Example]:
    """The k pool items most similar to the query by BM25 over source text (most similar first)."""
    return bm25_index(pool).top(query, k)


def select_similar(pool: Sequence[Example], query: Example, k: int, rng: random.Random) -> list[Example]:
    """The k pool items closest to the query by multilingual sentence embeddings (cosine)."""
    from icl.shots.similar import similar_index

    return similar_index(pool).top(query, k)


SELECTORS: dict[str, Selector] = {
    "first": select_first,
    "random": select_random,
    "shared": select_shared,
    "bm25": select_bm25,
    "similar": select_similar,
    "fixed": select_fixed,
}
"""Selector name (sweep `selectors:`) -> selector."""


def get_selector(name: str, ids: Sequence[str] = ()) -> Selector:
    """A selector by name; `fixed` takes its ids from the config."""
    if name not in SELECTORS:
        raise ConfigError(f"selector: unknown selector {name!r} (known: {', '.join(SELECTORS)})")
    if name == "fixed":
        if not ids:
            raise ConfigError("selector: `fixed` needs `fixed_ids` (demo ids from the pool)")
        return partial(select_fixed, ids=tuple(ids))
    return SELECTORS[name]


def prepare(name: str, pool: Sequence[Example], queries: Sequence[Example], ids: Sequence[str] = (),
            k: int = 0) -> Prepared:
    """The selector of one run, bound to its pool. Index-based selectors build (or find) their index
    here, once: BM25 ranks every query of the run for `k` demos up front (from disk where a process
    before did), and the similarity selector embeds every query of the run in one batch."""
    select = get_selector(name, ids)
    if name == "bm25":
        index = bm25_index(pool)
        if queries and k:
            index.prefetch(queries, k)
        return lambda query, k, rng: index.top(query, k)
    if name == "similar":
        from icl.shots.similar import similar_index

        sim = similar_index(pool)
        sim.prefetch(queries)
        return lambda query, k, rng: sim.top(query, k)
    frozen = tuple(pool)
    if name == "shared":  # the order depends only on the rng's state, which `shared` never advances
        memo: dict[str, Any] = {}

        def shared(query: Example, k: int, rng: random.Random) -> list[Example]:
            state = rng.getstate()
            if memo.get("state") != state:
                memo.update(state=state, order=shared_order(frozen, rng))
            return first_eligible(memo["order"], query, k)

        return shared
    return lambda query, k, rng: select(frozen, query, k, rng)


__all__ = ["SELECTORS", "Prepared", "Selector", "eligible", "get_selector", "prepare", "select_bm25", "select_first",
           "select_fixed", "select_random", "select_shared", "select_similar"]
