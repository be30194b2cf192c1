"""Morphology-aware word translation: an English form rendered as the right target-language form.

`translate_word` joins an English table, a lexicon and a target table: "walked" -> walk + V;PST ->
Swahili tembea -> the tembea form whose cell holds V and PST (alitembea).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType

from icl.augment.lexical.lexicon import Lexicon
from icl.augment.lexical.unimorph import POS_TAGS, Features, MorphTable, format_features, unlayer

HOWS = ("untranslated", "direct", "lemma", "inflected")
"""How a single word was produced, from least to most morphology (`WordTranslation.how`)."""

TAG_ALIASES: Mapping[str, str] = MappingProxyType({"PRES": "PRS"})
"""Tags some tables spell differently (swc writes PRES for the present); compared as the value."""

UNMARKED: frozenset[str] = frozenset({"NOM", "ABS", "IND", "FIN", "3", "SG", "MASC", "PFV", "POS", "ACT",
                                      "DECL", "PRS"})
"""Default values: a target cell may hold them beyond what English marks without counting as marked.

Third person singular because most English verbs in running text have such subjects; masculine as
the traditionally unmarked gender (Hindi, Urdu); perfective because an English simple past is
usually one. INDF is left out on purpose: it means an indefinite article in some tables and the
Swahili -a- tense in swc."""

CITATION: tuple[frozenset[str], ...] = (frozenset(), frozenset({"NFIN"}), frozenset({"SG"}))
"""English feature bundles (part of speech aside) whose translation is the citation form itself."""


def _comparable(features: Iterable[str]) -> Features:
    """Features ready to compare across tables: unlayered, aliases applied."""
    return frozenset(TAG_ALIASES.get(t, t) for t in unlayer(features))


def select_cell(features: Features, paradigm: Mapping[Features, Sequence[str]]) -> Features | None:
    """The target paradigm cell that renders English features, or None for the citation form.

    The rule: English features are unlayered (NOM(3,SG) -> 3, SG) and aliases applied. A bundle that marks nothing
    beyond its part of speech, NFIN or SG (run, dog) keeps the citation form. Otherwise a cell must
    contain every English tag (N;PL needs N and PL; V;PST needs V and PST). Among several, the least
    marked wins: fewest tags that are neither English's nor default values (UNMARKED), then the most
    default values (so 3;SG;IND beats 1;SG), then the first in canonical order. No cell holding
    every tag means no inflection: a wrong person or tense is worse than the citation form.
    """
    wanted = _comparable(features)
    if (wanted - POS_TAGS) in CITATION:
        return None
    best: tuple[int, int, str] | None = None
    chosen: Features | None = None
    for cell in paradigm:
        flat = _comparable(cell)
        if not wanted <= flat:
            continue
        extra = flat - wanted
        key = (len(extra - UNMARKED), -len(extra & UNMARKED), format_features(cell))
        if best is None or key < best:
            best, chosen = key, cell
    return chosen


@dataclass(frozen=True)
class WordTranslation:
    """One English word rendered in the target language, and how it got there."""

    source: str
    """The English form as given."""
    target: str | None
    """The target word; None when neither the form nor any lemma of it is in the lexicon."""
    lemma: str | None
    """The English entry looked up: the form itself, or the lemma `analyze` gave."""
    features: Features | None
    """The English features of `source` under that lemma; None for a direct (form) hit."""
    target_lemma: str | None
    """The lexicon's translation of `lemma`, before inflection."""
    cell: Features | None
    """The target paradigm cell used; None when the citation form was kept."""
    inflected: bool
    """Whether `target` is an inflected form from the target table (not the lexicon's word)."""



    @property
    def how(self) -> str:
        """One of HOWS: no translation, the form's own entry, a lemma's translation, or inflected."""
        if self.target is None:
            return "untranslated"
        if self.inflected:
            return "inflected"
        return "direct" if self.features is None else "lemma"

def translate_word(form: str, lexicon: Lexicon, src_table: MorphTable,
                   tgt_table: MorphTable | None) -> WordTranslation:
    """An English word translated and, where the target table allows, inflected to match.

    Decisions:
    1. An exact lexicon entry for the form wins and is not re-inflected, lemma or not: GATITOS
       translators translated "abandoned" themselves, which beats rebuilding it.
    2. Otherwise each English analysis (lemma, features), in table order, is tried until a lemma is
       in the lexicon; its translations are tried in lexicon order for a target paradigm.
    3. The target form is the `select_cell` cell of that paradigm; with no such cell (or no target
       table, or a lemma the table lacks) the lexicon's first translation is kept, uninflected.
    """
    direct = lexicon.lookup(form)
    if direct:
        return WordTranslation(form, direct[0].text, form, None, direct[0].text, None, False)
    for lemma, feats in src_table.analyze(form):
        translations = lexicon.lookup(lemma)
        if not translations:
            continue
        if tgt_table is not None:
            for t in translations:
                if not tgt_table.has_lemma(t.text):
                    continue
                paradigm = tgt_table.paradigm(t.text)
                cell = select_cell(feats, paradigm)
                if cell is not None:
                    target = paradigm[cell][0]
                    return WordTranslation(form, target, lemma, feats, t.text, cell, target != t.text)
        first = translations[0].text
        return WordTranslation(form, first, lemma, feats, first, None, False)
    return WordTranslation(form, None, None, None, None, None, False)


@dataclass(frozen=True)
class InflectionCounts:
    """How a batch of word translations went, for reporting how often inflection applied."""

    total: int
    """Words translated."""
    untranslated: int
    """No lexicon entry for the form or any lemma."""
    direct: int
    """The form itself was a lexicon entry."""
    lemma: int
    """Found through a lemma, citation form kept."""
    inflected: int
    """Found through a lemma and inflected from the target table."""


    @classmethod
    def tally(cls, hows: Iterable[str]) -> InflectionCounts:
        """Counts of words by how each was produced (values of HOWS); `total` counts them all."""
        counts = Counter(hows)
        unknown = set(counts) - set(HOWS)
        if unknown:
            raise ValueError(f"unknown word outcomes {sorted(unknown)} (expected {HOWS})")
        return cls(sum(counts.values()), *(counts[h] for h in HOWS))


def count_inflections(results: Iterable[WordTranslation]) -> InflectionCounts:
    """Tally `translate_word` results by how each was produced."""
    return InflectionCounts.tally(r.how for r in results)
