"""How much English a language's lexicon covers: `icl lexicon stats`.

Coverage is measured on the English that augmentation actually translates or hints (FLORES-200
devtest, MASSIVE en-US), with the same greedy longest match augmenters use.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from icl.augment.lexical.catalogue import default_sources, load_lexicon
from icl.augment.lexical.lexicon import Lexicon
from icl.augment.lexical.tokens import fold, has_letter, tokenize
from icl.config import data_dir
from icl.languages import get_language


@dataclass(frozen=True)
class Coverage:
    """How much of a corpus's English a lexicon's longest-match hits cover."""

    corpus: str
    """Which text: `flores200-devtest` or `massive-en-US`."""
    tokens: int
    """Word tokens (casefolded; a token needs a letter, so numbers and punctuation are left out)."""
    types: int
    """Distinct word tokens."""
    token_coverage: float
    """Fraction of tokens inside a lexicon match."""
    type_coverage: float
    """Fraction of types with at least one occurrence inside a lexicon match."""


def coverage(lexicon: Lexicon, sentences: Iterable[str], corpus: str) -> Coverage:
    """Token and type coverage of a lexicon's greedy longest matches over some sentences."""
    tokens = covered = 0
    seen: set[str] = set()
    hit: set[str] = set()
    for sentence in sentences:
        spans = tokenize(sentence)
        inside = [False] * len(spans)
        for i, j, _ in lexicon.match_tokens(sentence, spans):
            inside[i:j] = [True] * (j - i)
        for (s, e), ok in zip(spans, inside, strict=True):
            word = sentence[s:e]
            if not has_letter(word):
                continue
            word = fold(word)
            tokens += 1
            seen.add(word)
            if ok:
                covered += 1
                hit.add(word)
    return Coverage(corpus, tokens, len(seen), covered / tokens if tokens else 0.0,
                    len(hit) / len(seen) if seen else 0.0)


@dataclass(frozen=True)
class LexiconStats:
    """Size and English coverage of a language's en-xx lexicon."""

    lang: str
    """Language code (icl.languages)."""
    entries_by_source: tuple[tuple[str, int], ...]
    """(source, entries) for each default catalogue source, in catalogue order."""
    entries: int
    """Entries of the merged lexicon (fewer than the sum where sources share entries)."""
    coverage: tuple[Coverage, ...]
    """FLORES-200 devtest English, then MASSIVE en-US (all 16,521 utterances, every partition)."""


def _english_corpora() -> tuple[tuple[str, tuple[str, ...]], ...]:
    return _english_corpora_in(data_dir())


@cache
def _english_corpora_in(root: Path) -> tuple[tuple[str, tuple[str, ...]], ...]:
    """FLORES-200 devtest English and all of MASSIVE en-US (keyed on the data folder they come from)."""
    # Imported here: icl.data is only needed for statistics, not for looking words up.
    from icl.data import load_flores, load_massive

    # The English side is the same file whatever the pair; eng-fra always exists.
    flores = tuple(ex.source for ex in load_flores("eng", "fra"))
    massive = tuple(ex.source for ex in load_massive("en-US"))
    return (("flores200-devtest", flores), ("massive-en-US", massive))


def lexicon_stats(lang: str) -> LexiconStats:
    """Entries per source and merged, and English token/type coverage on FLORES and MASSIVE."""
    code = get_language(lang).code
    merged = load_lexicon(code, "en-xx")
    # by catalogue source name (a user's `source: mine` read as `format: tsv` is "mine", not "tsv")
    by_source = tuple((s, len(load_lexicon(code, "en-xx", [s]))) for s in default_sources(code))
    return LexiconStats(code, by_source, len(merged),
                        tuple(coverage(merged, sents, name) for name, sents in _english_corpora()))
