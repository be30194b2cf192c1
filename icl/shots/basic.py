"""The selectors that need no index: first, random, shared and fixed demonstrations.

Every selector first removes the query itself from the pool (same id, or same source text), so a
demonstration can never equal the test item, whatever the pool is.
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Sequence
from itertools import islice

from icl.errors import ConfigError
from icl.values import Example


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


def shared_order(pool: Sequence[Example], rng: random.Random) -> list[Example]:
    """The pool shuffled by a copy of the run rng's state (the rng itself is not advanced)."""
    order = list(pool)
    copy = random.Random()
    copy.setstate(rng.getstate())
    copy.shuffle(order)
    return order


def first_eligible(order: Iterable[Example], query: Example, k: int) -> list[Example]:
    """The first k items of `order` that are not the query (stops as soon as it has k)."""
    return list(islice((ex for ex in order if ex.id != query.id and ex.source.strip() != query.source.strip()), k))


def select_shared(pool: Sequence[Example], query: Example, k: int, rng: random.Random) -> list[Example]:
    """One seeded random k-shot set for the whole run (the usual fixed-prompt setting of MT papers).

    The shuffle uses a copy of the run rng's state without advancing it, so it is the same for every
    query of a run and differs between seeds; a demo equal to a query is replaced by the next item of
    the same shuffled order.
    """
    return first_eligible(shared_order(pool, rng), query, k)


def select_fixed(pool: Sequence[Example], query: Example, k: int, rng: random.Random, ids: Sequence[str] = ()) -> list[Example]:
    """The demos named by id in the config, in that order (the query itself is skipped)."""
    by_id = {ex.id: ex for ex in pool}
    missing = [i for i in ids if i not in by_id]
    if missing:
        raise ConfigError(f"selector.ids: {', '.join(missing[:5])} not in the demonstration pool")
    chosen = [by_id[i] for i in ids]
    return eligible(chosen, query)[:k]


