"""SIGMORPHON inflection shared-task data, an affix-rule baseline, and how well UniMorph tables
reproduce the shared tasks' forms (`icl lexicon morph-eval`).

SIGMORPHON 2020 keeps covered test files (lemma TAB tags, no form) beside train/dev; the forms are in
`GOLD-TEST/<code>.tst`. SIGMORPHON 2023 files are lemma TAB tags TAB form, layered schema.
"""

from __future__ import annotations

import difflib
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from types import MappingProxyType

from icl.augment.lexical.unimorph import Features, load_unimorph, parse_features, tsv_rows, unlayer
from icl.config import data_dir
from icl.data.files import Stamp, stamp
from icl.errors import ConfigError, DataError
from icl.languages import all_languages, get_language

SPLITS = ("trn", "dev", "tst")

Item = tuple[str, Features, str]
"""(lemma, features, form): one SIGMORPHON item."""


def sigmorphon_path(lang: str, split: str) -> Path:
    """The SIGMORPHON file of a language's `year:code` (languages.tsv) and split.

    2020 test forms come from GOLD-TEST/ (the per-family .tst files are covered). Oromo is listed as
    `2020:gaz` but its files are named `orm`: when `<code>` has no file, the ISO 639-3 code is tried.
    """
    if split not in SPLITS:
        raise ConfigError(f"split: {split!r} is not one of {', '.join(SPLITS)}")
    language = get_language(lang)
    if not language.sigmorphon:
        raise ConfigError(f"language: SIGMORPHON has no {language.name} ({language.code}) in languages.tsv")
    year, _, code = language.sigmorphon.partition(":")
    root = data_dir() / "sigmorphon"
    for name in dict.fromkeys((code, language.iso3)):
        if year == "2020":
            if split == "tst":
                candidates = [root / "2020_task0" / "GOLD-TEST" / f"{name}.tst"]
            else:
                candidates = sorted((root / "2020_task0").glob(f"*-LANGUAGES/*/{name}.{split}"))
        elif year == "2023":
            candidates = [root / "2023_part1" / f"{name}.{split}"]
        else:
            raise ConfigError(f"languages.tsv: sigmorphon {language.sigmorphon!r}: year must be 2020 or 2023")
        found = [c for c in candidates if c.is_file()]
        if found:
            return found[0]
    raise DataError(f"{root}: no SIGMORPHON {year} {split} file for {code}")


def read_sigmorphon(path: Path, year: str) -> list[Item]:
    """One SIGMORPHON file: 2020 is lemma TAB form TAB tags, 2023 lemma TAB tags TAB form.

    A covered test file (no form column) is a DataError: it cannot be scored.
    """
    if year not in ("2020", "2023"):
        raise ConfigError(f"sigmorphon year: {year!r} is not 2020 or 2023")
    items = []
    for _, parts in tsv_rows(path, 3):
        lemma, form, tags = (parts[0], parts[2], parts[1]) if year == "2023" else parts
        items.append((lemma, parse_features(tags), form))
    return items


def load_sigmorphon(lang: str, split: str = "tst") -> list[Item]:
    """SIGMORPHON items (lemma, features, form) of a language and split (trn, dev, tst; cached on the
    file read)."""
    path = sigmorphon_path(lang, split)
    year = (get_language(lang).sigmorphon or "").partition(":")[0]
    return list(_read_items(path, year, stamp(path)))


@lru_cache(maxsize=32)
def _read_items(path: Path, year: str, state: Stamp) -> tuple[Item, ...]:
    return tuple(read_sigmorphon(path, year))



@dataclass(frozen=True)
class AffixRules:
    """Edit rules learned from (lemma, form) pairs: the baseline for lemmas a table lacks.

    Each training pair is split around its longest common substring, giving a rule
    "lemma = lp + stem + ls  ->  form = fp + stem + fs". Prefixing (Swahili ni-ta-soma) and
    suffixing (Finnish) languages are both covered. For a new lemma the rule with the longest
    matching lemma ending (its `ls` plus up to two characters of stem context) wins, then the most
    frequent.
    """

    rules: Mapping[Features, Mapping[str, Counter[tuple[str, str, str, str]]]]
    """features -> lemma ending (context) -> Counter of (lp, ls, fp, fs)."""

    def apply(self, lemma: str, features: Features) -> str | None:
        """The predicted form, or None when no rule for these features fits the lemma."""
        by_context = self.rules.get(frozenset(features))
        if not by_context:
            return None
        for k in range(len(lemma), -1, -1):
            counter = by_context.get(lemma[len(lemma) - k:] if k else "")
            if not counter:
                continue
            for (lp, ls, fp, fs), _ in counter.most_common():
                if lemma.startswith(lp) and lemma.endswith(ls) and len(lemma) >= len(lp) + len(ls):
                    return fp + lemma[len(lp):len(lemma) - len(ls)] + fs
        return None


def learn_affix_rules(items: Iterable[Item], context: int = 2) -> AffixRules:
    """AffixRules from training items (lemma, features, form)."""
    rules: dict[Features, dict[str, Counter[tuple[str, str, str, str]]]] = {}
    for lemma, feats, form in items:
        m = difflib.SequenceMatcher(None, lemma, form, autojunk=False).find_longest_match(
            0, len(lemma), 0, len(form))
        if m.size == 0:
            rule, stem_len = (lemma, "", form, ""), 0
        else:
            rule = (lemma[:m.a], lemma[m.a + m.size:], form[:m.b], form[m.b + m.size:])
            stem_len = m.size
        ls = rule[1]
        by_context = rules.setdefault(feats, {})
        for k in range(min(context, stem_len) + 1):
            ctx = lemma[len(lemma) - len(ls) - k:] if len(ls) + k else ""
            by_context.setdefault(ctx, Counter())[rule] += 1
    return AffixRules(MappingProxyType(rules))



@dataclass(frozen=True)
class Accuracy:
    """How well table lookup (and the affix-rule fallback) reproduces SIGMORPHON test forms."""

    lang: str
    """Language code (icl.languages)."""
    data: str
    """What was compared: `unimorph:<code> vs sigmorphon:<year>:<code>/<split>`."""
    items: int
    """SIGMORPHON items."""
    covered: int
    """Items whose lemma and feature set are a cell of the UniMorph table."""
    correct: int
    """Items whose table form (the cell's first form) equals the gold form."""
    in_cell: int
    """Items whose gold form is one of the cell's forms (misses among them are variant forms)."""
    fallback_correct: int | None
    """Items the table does not cover that the affix rules (learned on trn) get right; None if off."""
    rules_correct: int | None
    """Items the affix rules alone get right, table ignored: the baseline's own accuracy; None if off."""

    @property
    def coverage(self) -> float:
        """covered / items."""
        return self.covered / self.items if self.items else 0.0

    @property
    def accuracy(self) -> float:
        """Table lookup accuracy over all items (an uncovered item counts as wrong)."""
        return self.correct / self.items if self.items else 0.0

    @property
    def covered_accuracy(self) -> float:
        """Table lookup accuracy over covered items only: does the table agree with SIGMORPHON?"""
        return self.correct / self.covered if self.covered else 0.0

    @property
    def rules_accuracy(self) -> float | None:
        """Affix rules alone over all items."""
        if self.rules_correct is None:
            return None
        return self.rules_correct / self.items if self.items else 0.0

    @property
    def combined_accuracy(self) -> float | None:
        """Table, then affix rules for what it lacks, over all items."""
        if self.fallback_correct is None:
            return None
        return (self.correct + self.fallback_correct) / self.items if self.items else 0.0


def inflection_accuracy(lang: str, split: str = "tst", fallback: bool = True, unlayered: bool = True) -> Accuracy:
    """Exact-match accuracy of UniMorph table lookup on a language's SIGMORPHON items.

    The prediction for (lemma, features) is the first form of that cell. Features are compared as
    sets. With `unlayered`, an item whose layered 2023 tags find no cell is retried with `unlayer`ed
    tags (N;ABL(PL;DEF) -> N;ABL;PL;DEF); there is no other translation between schemas.
    With `fallback`, items the table lacks are inflected by AffixRules learned on the trn split,
    reported separately in `fallback_correct` (and over every item in `rules_correct`).
    """
    language = get_language(lang)
    table = load_unimorph(language.code)
    items = load_sigmorphon(language.code, split)
    rules = learn_affix_rules(load_sigmorphon(language.code, "trn")) if fallback else None
    covered = correct = in_cell = rescued = by_rules = 0
    for lemma, feats, form in items:
        forms = table.inflect(lemma, feats)
        if not forms and unlayered:
            forms = table.inflect(lemma, unlayer(feats))
        guess = rules.apply(lemma, feats) if rules is not None else None
        by_rules += guess == form
        if forms:
            covered += 1
            correct += forms[0] == form
            in_cell += form in forms
        else:
            rescued += guess == form
    data = f"unimorph:{language.unimorph} vs sigmorphon:{language.sigmorphon}/{split}"
    if unlayered and language.sigmorphon and language.sigmorphon.startswith("2023"):
        data += " (unlayered)"
    return Accuracy(language.code, data, len(items), covered, correct, in_cell,
                    rescued if fallback else None, by_rules if fallback else None)


def morph_languages() -> list[str]:
    """ISO 639-3 of every languages.tsv language with both a UniMorph table and SIGMORPHON data."""
    return [lang.code for lang in all_languages() if lang.unimorph and lang.sigmorphon]


