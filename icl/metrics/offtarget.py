"""Off-target outputs: translations in a language other than the one asked for, counted with a language
identifier.

The commonest failure of a small model translating into a low-resource language is answering in the wrong
language (echoing the English source, or a related high-resource language), which chrF++ hides: a copied
English sentence shares names and numbers with the reference and still scores. Each MT output is identified
with CLD2 (Chromium's Compact Language Detector 2, 165 languages: Ganda, Wolof, Tigrinya, Oromo and Lingala
among them) through pycld2, whose wheel carries the model: nothing is downloaded. docs/offtarget.md compares
it with the other identifiers PyPI ships with their models (benchmarks/bench_lid.py): it knows the most
FLORES-200 varieties (132 of 204), is right on 93% of their sentences, and is the fastest.

Rules (one definition for the score and the paired test):

- An identifier label is resolved to an icl language with `icl.languages.get_language` (its ISO 639-1/3 or
  BCP-47 code; a macrolanguage code is its representative language: `sw` is Swahili, `ar` Standard Arabic),
  and labels and targets are compared by ISO 639-3 code, so a script variant counts as its language (CLD2's
  `zh` and `zh-Hant` are both Chinese). Labels that ISO reads as another language than the identifier means
  are mapped first (`CLD2_ALIASES`: CLD2's `bh` is the Bihari group, not Bhojpuri alone).
- An output is on target when it has a letter and the identifier's top label is the target language. An
  empty output, or one without a letter (a number, punctuation), counts as off target (the item did not
  get a translation into the target) and is also counted on its own in the score's note; so is an output
  CLD2 cannot tell (`un`: too short or unlike any language it knows), in the note as `unrecognised`.
- A target language that none of the identifier's labels resolves to gets no number: the score is None
  with the note "identifier does not know <language>", and gains has no off-target row for it.
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from types import MappingProxyType

from icl.errors import ConfigError
from icl.metrics.base import PairedResult, Score
from icl.metrics.paired import mcnemar_accuracy

CLD2_ALIASES: Mapping[str, str | None] = MappingProxyType({"bh": None})
"""CLD2 labels whose ISO 639 reading is another language -> the ISO code of what CLD2 means, or None where
it means no single language (`bh`: BIHARI, the group of Bhojpuri, Maithili and Magahi, which icl resolves
to Bhojpuri alone)."""


@dataclass(frozen=True)
class Identifier:
    """A language identifier: its labels and what it says of a text."""

    name: str
    """What it is, with the version of the package that ships it (written into every score's signature)."""
    labels: tuple[str, ...]
    """Every label it can answer, as it spells them."""
    predict: Callable[[str], str | None]
    """One text (a single line) -> its top label, or None where it gives no answer."""
    aliases: Mapping[str, str | None] = dataclasses.field(default_factory=lambda: MappingProxyType({}))
    """Labels whose ISO 639 reading is another language -> the code meant (see `CLD2_ALIASES`)."""


@cache
def label_language(label: str) -> str | None:
    """The ISO 639-3 code of the icl language a label names (None: no language icl knows)."""
    from icl.languages import get_language

    try:
        return get_language(label).iso3
    except ConfigError:
        return None


def _group(identifier: Identifier, label: str | None) -> str | None:
    meant = identifier.aliases.get(label, label) if label is not None else None
    return None if meant is None else label_language(meant)


def known_languages(identifier: Identifier) -> frozenset[str]:
    """ISO 639-3 codes of the icl languages some label of the identifier names."""
    groups = (_group(identifier, label) for label in identifier.labels)
    return frozenset(g for g in groups if g is not None)


def has_letter(text: str) -> bool:
    return any(ch.isalpha() for ch in text)


def identify(identifier: Identifier, texts: Sequence[str]) -> list[str | None]:
    """The ISO 639-3 code each text is identified as; None for a text without a letter, one the identifier
    cannot tell, and a label that names no language icl knows (CLD2's `xx-Bugi`)."""
    out: list[str | None] = []
    for text in texts:
        line = " ".join(text.split())  # one line, as the benchmark identified FLORES sentences
        out.append(_group(identifier, identifier.predict(line)) if has_letter(line) else None)
    return out


@cache
def cld2() -> Identifier:
    """CLD2 through pycld2 (its tables are compiled into the extension: nothing to load)."""
    from importlib.metadata import version

    import pycld2

    detected = set(pycld2.DETECTED_LANGUAGES)
    labels = tuple(dict.fromkeys(code for name, code in pycld2.LANGUAGES if name in detected))

    def predict(text: str) -> str | None:
        try:
            code = pycld2.detect(text)[2][0][1]
        except pycld2.error:  # text CLD2 refuses (invalid UTF-8 such as lone surrogates): no answer
            return None
        return None if code == "un" else code

    return Identifier(f"CLD2 (pycld2 {version('pycld2')})", labels, predict, CLD2_ALIASES)


IDENTIFIERS: dict[str, Callable[[], Identifier]] = {"cld2": cld2}
"""Identifier name -> its loader (cached per process). benchmarks/bench_lid.py adds the candidates it was
chosen from."""

DEFAULT_IDENTIFIER = "cld2"


@dataclass(frozen=True)
class OffTarget:
    """Each output's verdict for one target language."""

    language: str
    """The target's ISO 639-3 code."""
    known: bool
    """Whether the identifier has the target among its labels (else no verdict counts)."""
    identified: tuple[str | None, ...]
    """What each output was identified as (None: empty, no letter, or a label icl does not know)."""
    empty: tuple[bool, ...]
    """Outputs with no letter at all."""

    @property
    def off(self) -> list[bool]:
        """Per output: not identified as the target (empty outputs included)."""
        return [found != self.language for found in self.identified]


def off_target(hypotheses: Sequence[str | None], language: str, identifier: str = DEFAULT_IDENTIFIER) -> OffTarget:
    """Identify every output of a run into `language` (any code icl.languages resolves)."""
    from icl.languages import get_language

    if identifier not in IDENTIFIERS:
        raise ConfigError(f"identifier: {identifier!r} is not one of {', '.join(IDENTIFIERS)}")
    lid = IDENTIFIERS[identifier]()
    target = get_language(language).iso3
    texts = [h or "" for h in hypotheses]
    known = target in known_languages(lid)
    identified = tuple(identify(lid, texts)) if known else tuple(None for _ in texts)
    return OffTarget(target, known, identified, tuple(not has_letter(t) for t in texts))


def score_off_target(hypotheses: Sequence[str | None], language: str | None,
                     identifier: str = DEFAULT_IDENTIFIER) -> Score:
    """Percentage of outputs not identified as the target language (0-100; empty outputs count as off
    target and are counted in the note too); None where the identifier does not know the language."""
    from icl.languages import get_language

    n = len(hypotheses)
    if language is None:
        return Score("off-target", None, "", n, note="no target language given")
    lid = IDENTIFIERS[identifier]()
    name = get_language(language).name
    result = off_target(hypotheses, language, identifier)
    if not result.known:
        return Score("off-target", None, lid.name, n, note=f"identifier does not know {name}")
    off = result.off
    others = Counter(found for found, empty in zip(result.identified, result.empty, strict=True)
                     if found != result.language and not empty)
    said = ", ".join(f"{code or 'unrecognised'} {k}" for code, k in others.most_common(3))
    note = (f"{sum(off)} of {n} outputs not identified as {name} ({result.language}): {sum(result.empty)} empty "
            f"or without a letter" + (f"; identified as {said}" if said else ""))
    return Score("off-target", round(100.0 * sum(off) / n, 4) if n else None, lid.name, n, note=note)


def paired_off_target(baseline: Sequence[str | None], system: Sequence[str | None], language: str,
                      resamples: int, seed: int, identifier: str = DEFAULT_IDENTIFIER) -> PairedResult | None:
    """McNemar's exact test of the change in off-target share (system minus baseline: negative is fewer
    outputs in the wrong language), on the same items; None where the identifier does not know the language.

    The test, interval and item-level draws are `mcnemar_accuracy`'s on each item's off-target verdict, so
    `delta` and its interval are the change in the share. The one-sided p-values are oriented as
    PairedResult defines them, by what is better: `p_greater` is the p that the system has *fewer*
    off-target outputs (what the replicability counts of gains read as "improves")."""
    a, b = off_target(baseline, language, identifier), off_target(system, language, identifier)
    if not a.known:
        return None
    result = mcnemar_accuracy(a.off, b.off, resamples, seed)
    return dataclasses.replace(result, metric="off-target", p_greater=result.p_less, p_less=result.p_greater,
                               method=f"{result.method}, on each item's off-target verdict "
                                      f"({IDENTIFIERS[identifier]().name}); one-sided p: fewer off target is better")
