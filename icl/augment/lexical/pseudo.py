"""Word-by-word pseudo translation of English text through a lexicon (Wang, Ruder & Neubig 2022).

Greedy longest match over the lexicon, optionally with UniMorph inflection for words found only
through their lemma; everything the lexicon lacks is copied, so names, numbers and punctuation
survive. Synthetic demonstrations (icl.lexical.synthetic) are made of these.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from icl.augment.lexical.inflect import InflectionCounts, translate_word
from icl.augment.lexical.lexicon import Lexicon, Translation
from icl.augment.lexical.tokens import has_letter, normalize, tokenize
from icl.augment.lexical.unimorph import MorphTable, load_unimorph
from icl.errors import ConfigError
from icl.languages import get_language

Chooser = Callable[[tuple[Translation, ...], str, random.Random], str]
"""(translations of an entry, source surface, rng) -> the translation text used."""


def _informative(translations: tuple[Translation, ...], surface: str) -> list[str]:
    """Translation texts that differ from the source (MUSE lists "berlin" -> "berlin", "house" ->
    "house"); all of them when every one is identical (a name is then kept as it is)."""
    texts = [t.text for t in translations]
    differ = [t for t in texts if normalize(t) != normalize(surface)]
    return differ or texts


def choose_first(translations: tuple[Translation, ...], surface: str, rng: random.Random) -> str:
    """The first informative translation in lexicon priority order; the rng is not touched."""
    return _informative(translations, surface)[0]


def choose_random(translations: tuple[Translation, ...], surface: str, rng: random.Random) -> str:
    """A uniform draw among the informative translations, from the caller's rng.

    The default for synthetic data: MUSE lists many translations per word in no quality order, and
    drawing among them varies the pseudo text across seeds instead of always repeating one sense.
    The rng is advanced only when there is more than one candidate.
    """
    texts = _informative(translations, surface)
    return texts[0] if len(texts) == 1 else rng.choice(texts)


CHOOSERS: dict[str, Chooser] = {"first": choose_first, "random": choose_random}
"""How a pseudo translation picks among several translations of one entry."""


@dataclass(frozen=True)
class MorphTables:
    """The UniMorph tables morphology needs: English (to lemmatize) and the target (to inflect)."""

    src: MorphTable
    """The English table: analyzes "walked" as walk + V;PST."""
    tgt: MorphTable | None
    """The target language's table; None where UniMorph has none (the lemma's translation is kept)."""


@dataclass(frozen=True)
class Replacement:
    """One span of the English sentence replaced in the pseudo translation."""

    start: int
    """Character offset of the span in the English sentence."""
    end: int
    """One past its last character."""
    source: str
    """The English surface."""
    target: str
    """What replaced it."""
    how: str
    """`phrase` (multi-word entry), `direct` (the word is an entry), `lemma` (found through its lemma,
    citation form kept) or `inflected` (found through its lemma and inflected from the target table)."""
    tokens: int
    """Word tokens with a letter inside the span (what coverage counts)."""


@dataclass(frozen=True)
class PseudoTranslation:
    """A sentence translated word by word, and how much of it the lexicon covered."""

    text: str
    """The pseudo translation: replaced spans, everything else (names, numbers, punctuation,
    spacing) copied from the source."""
    covered_tokens: int
    """Word tokens (with a letter) inside a replaced span."""
    total_tokens: int
    """Word tokens (with a letter) in the sentence; numbers and punctuation are not counted."""
    inflected: int
    """Replacements inflected from the target UniMorph table."""
    replacements: tuple[Replacement, ...]
    """Every replaced span, left to right."""

    @property
    def coverage(self) -> float:
        """covered_tokens / total_tokens (0.0 for a sentence with no word)."""
        return self.covered_tokens / self.total_tokens if self.total_tokens else 0.0


def morph_tables(lang: str) -> MorphTables:
    """English and target UniMorph tables (the target's None where UniMorph lacks the language)."""
    language = get_language(lang)
    return MorphTables(load_unimorph("eng"), load_unimorph(language.code) if language.unimorph else None)


def _match_case(surface: str, target: str) -> str:
    """Capitalize the target when the source word is capitalized (sentence starts, names); lexicon
    keys are casefolded, so "The" and "the" find the same entry."""
    if surface[:1].isupper() and target[:1].islower():
        return target[:1].upper() + target[1:]
    return target


def pseudo_translate(sentence: str, lexicon: Lexicon, rng: random.Random, tables: MorphTables | None = None,
                     choose: str = "random") -> PseudoTranslation:
    """Word-by-word translation of an English sentence (Wang et al. 2022), greedy longest match.

    Rules:
    1. `lexicon.match` gives the longest entry at each token, left to right ("a lot of" before "a").
       Each hit is replaced by one of its translations (`CHOOSERS[choose]`; a translation identical
       to the source is used only when it is the only one).
    2. With `tables`, a single word the lexicon lacks goes through `morph.translate_word`: its English
       lemma is looked up and the translation inflected to the English features where the target
       table has a matching cell ("walked" -> walk -> tembea -> alitembea). A word that *is* an entry
       keeps rule 1, as translate_word itself does, so morph on and off pick the same words for
       entries and the rng stays aligned between them.
    3. Everything unmatched (names, numbers, unknown words) and every character between tokens is
       copied, so punctuation and spacing survive. A capitalized source word gives a capitalized
       replacement.
    """
    chooser = CHOOSERS.get(choose)
    if chooser is None:
        raise ConfigError(f"choose: {choose!r} is not one of {', '.join(CHOOSERS)}")
    spans = tokenize(sentence)
    starts = {s: k for k, (s, _) in enumerate(spans)}
    reps: list[Replacement] = []
    covered: set[int] = set()
    for m in lexicon.match(sentence):
        first = starts[m.start]
        idx = list(range(first, first + len(tokenize(m.text))))
        words = sum(has_letter(sentence[spans[k][0]:spans[k][1]]) for k in idx)
        covered.update(idx)
        target = _match_case(m.text, chooser(m.translations, m.text, rng))
        reps.append(Replacement(m.start, m.end, m.text, target, "phrase" if len(idx) > 1 else "direct", words))
    if tables is not None:
        for k, (s, e) in enumerate(spans):
            word = sentence[s:e]
            if k in covered or not has_letter(word):
                continue
            wt = translate_word(word, lexicon, tables.src, tables.tgt)
            if wt.target is not None:
                reps.append(Replacement(s, e, word, _match_case(word, wt.target), wt.how, 1))
    reps.sort(key=lambda r: r.start)
    out, pos = [], 0
    for r in reps:
        out.append(sentence[pos:r.start])
        out.append(r.target)
        pos = r.end
    out.append(sentence[pos:])
    total = sum(has_letter(sentence[s:e]) for s, e in spans)
    return PseudoTranslation("".join(out), sum(r.tokens for r in reps), total,
                             sum(r.how == "inflected" for r in reps), tuple(reps))



def word_counts(pseudo: Sequence[PseudoTranslation]) -> tuple[InflectionCounts, int]:
    """How the single words of some pseudo translations were produced (`InflectionCounts`), and how
    many multi-word phrase entries were used besides. `total` counts words with a letter outside
    phrase matches, so total = untranslated + direct + lemma + inflected."""
    hows: list[str] = []
    phrases = 0
    for p in pseudo:
        singles = [r.how for r in p.replacements if r.how != "phrase" and r.tokens]
        in_phrases = sum(r.tokens for r in p.replacements if r.how == "phrase")
        phrases += sum(r.how == "phrase" for r in p.replacements)
        hows += singles + ["untranslated"] * (p.total_tokens - in_phrases - len(singles))
    return InflectionCounts.tally(hows), phrases
