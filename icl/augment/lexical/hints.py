"""Dictionary hints: the lexicon entries found in a query's source sentence, for templates.

DiPMT (Ghazvininejad et al. 2023) and chain-of-dictionary (Lu et al. 2023) put such hints in the
prompt. Hints come from the lexicon (and UniMorph tables) only, never from a reference translation.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from functools import cache
from typing import Any

from icl.augment.lexical.inflect import translate_word
from icl.augment.lexical.lexicon import Lexicon
from icl.augment.lexical.pseudo import MorphTables
from icl.augment.lexical.tokens import has_letter, normalize, tokenize
from icl.errors import ConfigError
from icl.values import Example

MAX_HINTS = 8
"""Default cap on hints per query: enough for the content words of a news sentence, short enough
that the hint block does not outweigh the demonstrations."""

MAX_TRANSLATIONS = 3
"""Translations shown per hint (the lexicon's first ones, in its priority order)."""

STOP_DF = 0.1
"""A word in at least this fraction of the pool's sentences is a stop word for hints. On NTREX
English that is the/to/of/a/and/in/on/that/for/is/said/with/he/was/at/it/as/his; on MASSIVE sw-KE
train ya/kwa/ni/na/wa. A frequency cut, not a word list, so it works for every language."""

STOP_MIN_TEXTS = 200
"""Below this many pool sentences in the query's language, frequencies mean little: no stop words."""

HintFn = Callable[[Example], list[dict[str, Any]]]
"""query -> its hints (see `hints_for`)."""


@cache
def frequent_words(texts: tuple[str, ...], min_df: float = STOP_DF, min_texts: int = STOP_MIN_TEXTS) -> frozenset[str]:
    """Casefolded words found in at least `min_df` of the texts: the stop words hints skip.

    Empty below `min_texts` texts. Counted per sentence (document frequency), so one long sentence
    repeating a word does not make it frequent.
    """
    if len(texts) < min_texts:
        return frozenset()
    df: Counter[str] = Counter()
    for text in texts:
        df.update({normalize(text[s:e]) for s, e in tokenize(text)})
    return frozenset(w for w, n in df.items() if n >= min_df * len(texts))


def hints_for(example: Example, lexicon: Lexicon, tables: MorphTables | None = None, max_hints: int = MAX_HINTS,
              skip: frozenset[str] = frozenset()) -> list[dict[str, Any]]:
    """Dictionary hints for the source of one example, from the lexicon only (never `example.target`).

    Each hint is `{"source", "translations", "inflected", "pos", "lemma"}`: the source surface, up to
    MAX_TRANSLATIONS translations in lexicon order, a bool per translation (inflected from the
    target UniMorph table or not), the first translation's part of speech (None where the lexicon
    has none) and the English lemma used (None for a direct entry).

    Selection rules:
    1. Candidates are `lexicon.match` hits (greedy longest match), then, with `tables`, single words
       the lexicon lacks whose English lemma it has (`translate_word`, inflected where it can be).
    2. Skipped: spans with no letter; stop words (`skip`, casefolded; see `frequent_words`);
       translations identical to the source ("Berlin" -> "berlin") and hints left with none;
       a source phrase already hinted earlier in the sentence.
    3. Over `max_hints`, the longest entries win (more tokens, then more characters: long words are
       the rare ones a model is least likely to know), ties by position; the kept hints are shown
       in sentence order.
    """
    if max_hints < 0:
        raise ConfigError(f"max_hints: {max_hints} must be >= 0")
    sentence = example.source
    found = _Candidates(skip)
    spans = tokenize(sentence)
    matched: set[tuple[int, int]] = set()
    for m in lexicon.match(sentence):
        inside = [(s, e) for s, e in spans if m.start <= s and e <= m.end]
        matched.update(inside)
        if has_letter(m.text):
            texts = [t.text for t in m.translations]
            found.add(m.start, len(inside), m.text, texts, [False] * len(texts), m.translations[0].pos, None)
    if tables is not None:
        _add_inflected(found, sentence, [span for span in spans if span not in matched], lexicon, tables)
    return _strongest(sorted(found.items, key=lambda c: c[0]), max_hints)


class _Candidates:
    """Hints in the order found, each source phrase once, stop words and self-translations left out."""

    def __init__(self, skip: frozenset[str]) -> None:
        self.skip = skip
        self.seen: set[str] = set()
        self.items: list[tuple[int, int, dict[str, Any]]] = []
        """(start, tokens, hint)"""

    def add(self, start: int, tokens: int, surface: str, texts: list[str], inflected: list[bool], pos: str | None,
            lemma: str | None) -> None:
        key = normalize(surface)
        if key in self.seen or (tokens == 1 and key in self.skip):
            return
        keep = [(t, f) for t, f in zip(texts, inflected, strict=True) if normalize(t) != key]
        keep = list(dict.fromkeys(keep))[:MAX_TRANSLATIONS]
        if not keep:
            return
        self.seen.add(key)
        self.items.append((start, tokens, {"source": surface, "translations": [t for t, _ in keep],
                                           "inflected": [f for _, f in keep], "pos": pos, "lemma": lemma}))


def _add_inflected(found: _Candidates, sentence: str, spans: list[tuple[int, int]], lexicon: Lexicon,
                   tables: MorphTables) -> None:
    """Single words the lexicon lacks whose English lemma it has, inflected like the source where it can."""
    for s, e in spans:
        word = sentence[s:e]
        if not has_letter(word):
            continue
        wt = translate_word(word, lexicon, tables.src, tables.tgt)
        if wt.target is None or wt.lemma is None or wt.target_lemma is None:
            continue
        others = [t.text for t in lexicon.lookup(wt.lemma) if t.text not in (wt.target, wt.target_lemma)]
        texts = [wt.target] + ([wt.target_lemma] if wt.inflected else []) + others
        flags = [wt.inflected] + [False] * (len(texts) - 1)
        found.add(s, 1, word, texts, flags, None, wt.lemma if wt.features is not None else None)


def _strongest(candidates: list[tuple[int, int, dict[str, Any]]], max_hints: int) -> list[dict[str, Any]]:
    """Over `max_hints`, the longest entries (tokens, then characters), ties by position; in sentence order."""
    if len(candidates) > max_hints:
        ranked = sorted(range(len(candidates)),
                        key=lambda i: (-candidates[i][1], -len(candidates[i][2]["source"]), i))
        candidates = [candidates[i] for i in sorted(ranked[:max_hints])]
    return [hint for _, _, hint in candidates]
