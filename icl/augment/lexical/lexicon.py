"""The `Lexicon` type: normalized source phrase -> translations, with greedy longest-match lookup.

Readers (icl.lexical.readers) build lexicons from files; augmenters look words up or find every
lexicon hit in a sentence without knowing which lexicon an entry came from.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType

from icl.augment.lexical.tokens import fold, normalize, tokenize
from icl.errors import ConfigError

DIRECTIONS = ("en-xx", "xx-en")
"""en-xx: English is the source side (lookup English words); xx-en: the other language is."""

_SPACES = re.compile(r"\s+")

@dataclass(frozen=True)
class Translation:
    """One target-side rendering of a lexicon entry, with where it came from."""

    text: str
    """The translation as the lexicon gives it (whitespace collapsed, case kept)."""
    pos: str | None
    """Part of speech in the lexicon's own tag set (`n`, `vblex`, ...); None where it has none."""
    source: str
    """Which lexicon: gatitos, muse, freedict, apertium, apertium_tsv, tsv."""


@dataclass(frozen=True)
class Match:
    """One lexicon hit in a sentence."""

    start: int
    """Character offset of the first character in the original sentence."""
    end: int
    """Character offset one past the last character."""
    text: str
    """The original surface, `sentence[start:end]`."""
    key: str
    """The normalized entry it matched."""
    translations: tuple[Translation, ...]
    """Every translation of that entry, in lexicon order."""


@dataclass(frozen=True)
class Lexicon:
    """Normalized source phrase -> translations, for one language pair.

    Multi-word entries stay phrases ("a lot of"), so `match` can prefer them over their words.
    """

    src_lang: str
    """ISO 639-3 of the entries."""
    tgt_lang: str
    """ISO 639-3 of the translations."""
    sources: tuple[str, ...]
    """The lexicons merged into this one, in priority order."""
    entries: Mapping[str, tuple[Translation, ...]]
    """normalize(entry) -> translations, deduplicated by text in first-seen order (read-only)."""
    _first: Mapping[str, int] = field(init=False, repr=False, compare=False)
    """first token of a key -> the most tokens of any key starting with it (bounds `match`)."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "entries", MappingProxyType(dict(self.entries)))
        first: dict[str, int] = {}
        for key in self.entries:
            toks = tokenize(key)
            if toks:
                head = key[toks[0][0]:toks[0][1]]
                first[head] = max(first.get(head, 0), len(toks))
        object.__setattr__(self, "_first", first)

    def __len__(self) -> int:
        return len(self.entries)

    def fingerprint(self) -> str:
        """A digest of every entry and translation: what decides anything made from the lexicon (the
        synthetic sets' disk cache), whichever files it came from."""
        import hashlib
        import json

        body = [self.src_lang, self.tgt_lang, list(self.sources),
                [[k, [[t.text, t.pos, t.source] for t in ts]] for k, ts in sorted(self.entries.items())]]
        return hashlib.sha1(json.dumps(body, ensure_ascii=False).encode()).hexdigest()[:16]

    @property
    def max_tokens(self) -> int:
        """Tokens in the longest entry: how far `match` looks ahead."""
        return max(self._first.values(), default=0)

    def lookup(self, phrase: str) -> tuple[Translation, ...]:
        """Translations of a phrase (normalized first); empty when the lexicon lacks it."""
        return self.entries.get(normalize(phrase), ())

    def match_tokens(self, sentence: str, spans: list[tuple[int, int]]) -> Iterator[tuple[int, int, str]]:
        """Greedy longest match over token indices: yields (first token, last token + 1, key)."""
        words = [fold(sentence[s:e]) for s, e in spans]
        # A gap between two tokens becomes part of a key as normalize() would see it: whitespace
        # collapses to one space, punctuation stays (so "a, lot" never matches the entry "a lot").
        gaps = [_SPACES.sub(" ", fold(sentence[spans[k][1]:spans[k + 1][0]])) for k in range(len(spans) - 1)]
        i = 0
        while i < len(spans):
            longest = min(self._first.get(words[i], 1), len(spans) - i)
            for n in range(longest, 0, -1):
                key = words[i] + "".join(gaps[k] + words[k + 1] for k in range(i, i + n - 1))
                if key in self.entries:
                    yield i, i + n, key
                    i += n
                    break
            else:
                i += 1

    def match(self, sentence: str) -> list[Match]:
        """Every lexicon hit in a sentence, left to right, the longest entry winning at each token."""
        spans = tokenize(sentence)
        out = []
        for i, j, key in self.match_tokens(sentence, spans):
            start, end = spans[i][0], spans[j - 1][1]
            out.append(Match(start, end, sentence[start:end], key, self.entries[key]))
        return out

    def invert(self) -> Lexicon:
        """The same pairs read the other way (tgt -> src).

        Entry keys are stored normalized, so the inverted translations are lowercased phrases.
        """
        pairs = ((t.text, Translation(key, t.pos, t.source)) for key, ts in self.entries.items() for t in ts)
        return build_lexicon(self.tgt_lang, self.src_lang, self.sources, pairs)


def build_lexicon(src_lang: str, tgt_lang: str, sources: Sequence[str],
                  pairs: Iterable[tuple[str, Translation]]) -> Lexicon:
    """A Lexicon from (source phrase, translation) pairs: keys normalized, duplicates dropped.

    Duplicates are translations with the same text under one key; the first one seen (and so its
    part of speech and source) is kept, so the order of `pairs` is the priority order.
    """
    entries: dict[str, dict[str, Translation]] = {}
    for phrase, translation in pairs:
        key = normalize(phrase)
        if key:
            entries.setdefault(key, {}).setdefault(translation.text, translation)
    return Lexicon(src_lang, tgt_lang, tuple(dict.fromkeys(sources)),
                   {k: tuple(v.values()) for k, v in entries.items()})


def merge(*lexicons: Lexicon) -> Lexicon:
    """One lexicon from several of the same language pair; earlier lexicons take priority."""
    if not lexicons:
        raise ConfigError("merge: no lexicons given")
    pairs = {(lx.src_lang, lx.tgt_lang) for lx in lexicons}
    if len(pairs) > 1:
        raise ConfigError(f"merge: lexicons of different language pairs {sorted(pairs)}")
    src, tgt = lexicons[0].src_lang, lexicons[0].tgt_lang
    return build_lexicon(src, tgt, [s for lx in lexicons for s in lx.sources],
                         ((k, t) for lx in lexicons for k, ts in lx.entries.items() for t in ts))

