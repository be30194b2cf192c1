"""Demos that carry the answer: a run's demonstrations checked against the items it scores, before any
model loads.

A demonstration leaks when it is a scored item, in any language, or reads like one:
- the same item: the same data set, split and item id as a scored item (`flores:3` of French devtest
  is `flores:3` of Wolof devtest: FLORES, NTREX and MASSIVE are translations of one another, item for
  item, and so is any declared set whose files share ids across languages). Checked over the whole
  pool: a pool drawn from the split being scored is refused whichever demos a selector happens to show;
- the same text: a demo's source or target whose normalised text (`normalise`) equals, or nearly
  equals (`similarity` >= LEAK), a scored item's source or reference (an intent item's label is not
  text and is never compared). Checked over the demos the prompts show.

A pool the sweep means to share the scored split (`heldout:N`) loses its overlapping items before
demos are chosen instead (`exclude`), and the run records how many (`leak_excluded` in spec.json).
Demos above NEAR but below LEAK are near misses: never refused, written into metrics.json as warnings
so a reader can judge.

Everything here is a pure function of the texts; `icl.run.items.build_items` calls it for every run it
builds, so `icl run`, `icl plan`, `icl author` and `icl prompts render` all check the same way.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache

from icl import derived
from icl.values import Example

LEAK = 0.9
"""Similarity from which a demo counts as a near duplicate of a scored text (refused): at most about
one trigram in twenty differs, i.e. a typo, an article or a digit in a sentence; "set an alarm for
seven am" against "... six am" (0.73) is a template's other instance, not the same utterance."""
NEAR = 0.7
"""Similarity from which a demo is reported as a near miss in metrics.json."""
GRAM = 3
"""Character n-gram length of `similarity`."""
LISTED = 3
"""Overlapping pairs named in a warning before "and N more"."""


@lru_cache(maxsize=1 << 16)
def normalise(text: str) -> str:
    """Text as compared: Unicode NFKC, case-folded, punctuation (Unicode category P*) turned into spaces,
    whitespace collapsed. Two texts that differ only in these ways are the same text."""
    folded = unicodedata.normalize("NFKC", text).casefold()
    return " ".join("".join(" " if unicodedata.category(c).startswith("P") else c for c in folded).split())


@lru_cache(maxsize=1 << 16)
def grams(norm: str) -> frozenset[str]:
    """Character GRAM-grams of a normalised text padded with a space at each end (so a text shorter than
    GRAM still has one, and word edges count)."""
    padded = f" {norm} "
    return frozenset(padded[i:i + GRAM] for i in range(max(1, len(padded) - GRAM + 1)))


def similarity(a: str, b: str) -> float:
    """Jaccard index of the two texts' character trigram sets, after `normalise`: 1.0 for texts equal
    once normalised, 0.0 when either is empty. Trigram sets rather than an edit ratio because they can
    be indexed: a near duplicate is found by set sizes and intersections, never by comparing all pairs."""
    na, nb = normalise(a), normalise(b)
    if not na or not nb:
        return 0.0
    if na == nb:
        return 1.0
    ga, gb = grams(na), grams(nb)
    return len(ga & gb) / len(ga | gb)


@dataclass(frozen=True)
class Overlap:
    """A demo that is, or reads like, a scored item."""

    demo: Example
    item: Example
    """The scored item it overlaps."""
    similarity: float
    """1.0 for the same text or the same item."""
    same_item: bool
    """Same data set, split and id (the item itself, perhaps in another language)."""

    def describe(self) -> str:
        demo, item = self.demo, self.item
        if self.same_item:
            how = "is scored item " + item.id + (" itself" if demo.src_lang == item.src_lang and
                                                  demo.tgt_lang == item.tgt_lang else " in another language")
        else:
            how = (f"{'repeats' if self.similarity >= 1.0 else f'nearly repeats ({self.similarity:.2f})'} "
                   f"scored item {item.id}")
        return f"demo {demo.id} ({_pair(demo)}, {_clip(demo.source)}) {how}"


def _pair(ex: Example) -> str:
    return ex.src_lang if ex.src_lang == ex.tgt_lang else f"{ex.src_lang}-{ex.tgt_lang}"


def _clip(text: str, width: int = 40) -> str:
    """A text as quoted in a message: on one line, its whitespace as spaces, cut at `width`."""
    flat = " ".join(text.split())
    return '"' + (flat if len(flat) <= width else flat[: width - 3] + "...") + '"'


class ScoredIndex:
    """The scored texts of a run, indexed for exact (hash) and near (trigram sets bucketed by size)
    lookups, and the (origin, id) of every scored item."""

    def __init__(self, items: Sequence[Example], parallel: bool) -> None:
        self.items = tuple(items)
        self.keys = {(ex.origin, ex.id): ex for ex in self.items}
        self.exact: dict[str, Example] = {}
        self.sized: list[tuple[int, frozenset[str], Example]] = []
        for ex in self.items:
            for text in (ex.source, ex.target) if parallel else (ex.source,):
                norm = normalise(text)
                if norm and norm not in self.exact:
                    self.exact[norm] = ex
                    self.sized.append((len(grams(norm)), grams(norm), ex))
        self.sized.sort(key=lambda row: row[0])
        self._memo: dict[str, tuple[float, Example | None]] = {}

    def nearest(self, text: str) -> tuple[float, Example | None]:
        """The best similarity of `text` to a scored text at or above NEAR, and that item (else 0, None).
        Only texts whose trigram-set sizes allow a Jaccard index of NEAR are compared."""
        norm = normalise(text)
        if not norm:
            return 0.0, None
        if norm in self.exact:
            return 1.0, self.exact[norm]
        if norm not in self._memo:
            mine = grams(norm)
            lo, hi = NEAR * len(mine), len(mine) / NEAR
            best: tuple[float, Example | None] = (0.0, None)
            for size, theirs, ex in self.sized:
                if size < lo:
                    continue
                if size > hi:
                    break
                shared = len(mine & theirs)
                score = shared / (len(mine) + size - shared)
                if score >= NEAR and score > best[0]:
                    best = (score, ex)
            self._memo[norm] = best
        return self._memo[norm]

    def overlap(self, demo: Example, parallel: bool) -> Overlap | None:
        """How `demo` overlaps a scored item (the same item first, then its closest text), or None."""
        same = self.keys.get((demo.origin, demo.id))
        if same is not None:
            return Overlap(demo, same, 1.0, True)
        found = max((self.nearest(t) for t in ((demo.source, demo.target) if parallel else (demo.source,))),
                    key=lambda pair: pair[0])
        return Overlap(demo, found[1], found[0], False) if found[1] is not None else None


@lru_cache(maxsize=64)
def _index(items: tuple[Example, ...], parallel: bool) -> ScoredIndex:
    return ScoredIndex(items, parallel)


def scored_index(items: Sequence[Example], parallel: bool) -> ScoredIndex:
    """The index of a run's scored items (shared by runs that score the same items)."""
    return _index(tuple(items), parallel)


def exclude(pool: Sequence[Example], scored: Sequence[Example], parallel: bool) -> tuple[list[Example], int]:
    """The pool without the items that leak (the same item, or a text at or above LEAK), and how many
    were dropped: what a held-out pool does before any demo is chosen. Comparing a large pool with the
    scored texts takes seconds, so which positions leak is kept on disk (icl.derived), keyed on both
    sides' ids, origins, languages and texts."""
    digest = derived.key("exclude", examples_digest(pool), examples_digest(scored), parallel, LEAK, GRAM)
    dropped = set(derived.cached("leaks", digest, lambda: _leaking(pool, scored, parallel)))
    kept = [ex for i, ex in enumerate(pool) if i not in dropped]
    return kept, len(pool) - len(kept)


def _leaking(pool: Sequence[Example], scored: Sequence[Example], parallel: bool) -> tuple[int, ...]:
    """Positions of the pool items that are a scored item or a text at or above LEAK against one."""
    index = scored_index(scored, parallel)
    out = []
    for i, ex in enumerate(pool):
        found = index.overlap(ex, parallel)
        if found is not None and found.similarity >= LEAK:
            out.append(i)
    return tuple(out)


def examples_digest(examples: Sequence[Example]) -> str:
    """What the leak check reads of Examples, hashed: identity (origin, id), languages and both texts."""
    return derived.text_digest(f"{ex.origin}\0{ex.id}\0{ex.src_lang}\0{ex.tgt_lang}\0{ex.source}\0{ex.target}"
                               for ex in examples)


@dataclass(frozen=True)
class LeakReport:
    """What the check found in one run."""

    leaks: tuple[Overlap, ...]
    """Demos that are scored items or near duplicates of one (the run must not go ahead)."""
    near: tuple[Overlap, ...]
    """Demos shown with a similarity in [NEAR, LEAK): reported, never refused."""


def check(pool: Sequence[Example], demos: Iterable[Example], scored: Sequence[Example], parallel: bool) -> LeakReport:
    """Every pool item with a scored item's identity, and every shown demo whose text is at or above NEAR
    against a scored text (each distinct demo once, in the order shown)."""
    index = scored_index(scored, parallel)
    origins = {origin for origin, _ in index.keys}
    leaks = [Overlap(ex, index.keys[(ex.origin, ex.id)], 1.0, True) for ex in pool
             if ex.origin in origins and (ex.origin, ex.id) in index.keys]
    near = []
    seen = {o.demo.id for o in leaks}
    for demo in demos:
        if demo.id in seen:
            continue
        seen.add(demo.id)
        found = index.overlap(demo, parallel)
        if found is None:
            continue
        (leaks if found.same_item or found.similarity >= LEAK else near).append(found)
    return LeakReport(tuple(leaks), tuple(near))


def leak_message(pool_text: str, pool_source: str, leaks: Sequence[Overlap]) -> str:
    """One line: the pool, the first overlapping demos and scored items, and what to do instead."""
    named = "; ".join(o.describe() for o in leaks[:LISTED])
    more = f"; and {len(leaks) - LISTED} more" if len(leaks) > LISTED else ""
    same_item = any(o.same_item for o in leaks)
    fix = ("draw demos from a split that is not scored (e.g. dev or train), or use pools: [\"heldout:N\"]"
           if same_item else "remove the repeated lines from the pool's split, or write `leaks: exclude` in the "
                             "task's section, which leaves them out of the pool and counts them")
    return f"pools: {pool_text!r} ({pool_source}) shows scored items as demos: {named}{more}; {fix}"


def near_warnings(report: LeakReport) -> list[str]:
    """metrics.json warnings for the near misses of a run (empty when there are none)."""
    if not report.near:
        return []
    named = "; ".join(o.describe() for o in report.near[:LISTED])
    more = f"; and {len(report.near) - LISTED} more" if len(report.near) > LISTED else ""
    line = (f"{len(report.near)} demo(s) resemble a scored item (trigram similarity {NEAR}-{LEAK}, below the "
            f"{LEAK} that refuses a run): {named}{more}")
    return [line]
