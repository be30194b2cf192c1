"""Words as lexicons see them: normalized lookup keys and tokens as character offsets.

Every lexical step (lexicon matching, pseudo translation, hints, coverage) splits and compares text
the same way, so these few functions are the one place that decides what a word is.
"""

from __future__ import annotations

import unicodedata
from functools import cache

_JOINERS = frozenset("'\u2019-\u2010")
"""Apostrophes (' and U+2019) and hyphens (- and U+2010) kept inside a token when a word character
follows (don't, e-mail)."""


def _is_punct(ch: str) -> bool:
    return unicodedata.category(ch).startswith("P")


@cache
def _is_word_char(ch: str) -> bool:
    # Combining marks count: Devanagari vowel signs (Mc/Mn) are not `str.isalnum`, and splitting
    # Hindi words at them would make every multi-syllable word unmatchable.
    return ch.isalnum() or unicodedata.category(ch).startswith("M")


def normalize(text: str) -> str:
    """The lookup key of a phrase: NFC, casefolded, surrounding punctuation stripped, spaces collapsed.

    Keys are normalized on both sides (entries when read, sentence spans when matched) so that
    "Dog," in a sentence finds the entry "dog", and composed/decomposed accents compare equal.
    """
    folded = unicodedata.normalize("NFC", unicodedata.normalize("NFC", text).casefold())
    collapsed = " ".join(folded.split())
    start, end = 0, len(collapsed)
    while start < end and (_is_punct(collapsed[start]) or collapsed[start].isspace()):
        start += 1
    while end > start and (_is_punct(collapsed[end - 1]) or collapsed[end - 1].isspace()):
        end -= 1
    return collapsed[start:end]


def tokenize(text: str) -> list[tuple[int, int]]:
    """Word tokens as (start, end) character offsets into `text`; punctuation and spaces are skipped.

    A token is a run of letters, digits and combining marks, with an apostrophe or hyphen kept inside
    it when a word character follows. Offsets, not strings, so matches can point back at the
    original sentence.
    """
    spans: list[tuple[int, int]] = []
    i, n = 0, len(text)
    while i < n:
        if not _is_word_char(text[i]):
            i += 1
            continue
        j = i + 1
        while j < n:
            if _is_word_char(text[j]):
                j += 1
            elif text[j] in _JOINERS and j + 1 < n and _is_word_char(text[j + 1]):
                j += 2
            else:
                break
        spans.append((i, j))
        i = j
    return spans


def fold(text: str) -> str:
    """normalize() without the punctuation strip: for single tokens and the gaps between them."""
    return unicodedata.normalize("NFC", unicodedata.normalize("NFC", text).casefold())


def has_letter(text: str) -> bool:
    """Whether a token is a word: numbers and punctuation are neither translated nor counted."""
    return any(ch.isalpha() for ch in text)
