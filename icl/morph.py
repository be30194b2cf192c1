"""UniMorph inflection tables, SIGMORPHON shared-task data, and morphology-aware word translation.

A `MorphTable` answers both questions an augmenter asks: what lemma and features a form has
(`analyze`), and which form a lemma takes for some features (`inflect`). `translate_word` joins an
English table, a lexicon and a target table: "walked" -> walk + V;PST -> Swahili tembea -> the
tembea form whose cell holds V and PST.

What the files are like (checked on every file under the data folder):
- UniMorph tables are lemma TAB form TAB features. Several (ben, kan, kaz, pus, swc, tel, zul) put
  a blank line between paradigms; others end with one; lug, mlg, nya, sna, tgl, kaz.sm, swc.sm,
  zul.sm use CRLF line ends. Blank lines are skipped; CR is stripped.
- A language folder can hold the main table `<code>`, SIGMORPHON-2020 source tables `<code>.sm`,
  `kaz.noun.tsv`, and `<code>.args`, the same paradigms re-annotated in the layered 2023 schema
  (`V;PRS;NOM(3,SG)`). `load_unimorph` reads the flat-schema files (`<code>`, `.sm`, `.noun.tsv`)
  and falls back to `.args` only where nothing else exists: English has only `eng/eng.args`.
- SIGMORPHON 2020 keeps covered test files (lemma TAB tags, no form) beside train/dev; the forms are
  in `GOLD-TEST/<code>.tst`. SIGMORPHON 2023 files are lemma TAB tags TAB form, layered schema.
- Features are a frozenset: SIGMORPHON sorts tags canonically, UniMorph tables do not.
"""

from __future__ import annotations

import difflib
import os
import re
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from types import MappingProxyType

from icl.config import data_dir
from icl.errors import ConfigError, DataError
from icl.languages import all_languages, get_language
from icl.lexicon import Lexicon

Features = frozenset[str]

POS_TAGS = frozenset({"N", "PROPN", "V", "V.PTCP", "V.CVB", "V.MSDR", "ADJ", "ADV", "PRO", "DET", "ART",
                      "NUM", "ADP", "CONJ", "COMP", "INTJ", "PART", "CLF", "AUX"})
"""UniMorph part-of-speech tags; they sort first when features are printed."""

SPLITS = ("trn", "dev", "tst")


def parse_features(tags: str) -> Features:
    """`V;PST` -> frozenset({"V", "PST"}); order and empty tags do not matter.

    Semicolons inside a layer stay in it: SIGMORPHON 2023 writes `N;ABL(PL;DEF)`, one case layer.
    """
    out, depth, start = [], 0, 0
    for i, ch in enumerate(tags):
        depth += (ch == "(") - (ch == ")")
        if ch == ";" and depth == 0:
            out.append(tags[start:i])
            start = i + 1
    out.append(tags[start:])
    return frozenset(t.strip() for t in out if t.strip())


_LAYER = re.compile(r"([^()]+)\((.*)\)")


def unlayer(features: Iterable[str]) -> Features:
    """Layered (2023-schema) tags written flat, as the UniMorph tables write them.

    `N;ABL(PL;DEF)` -> N, ABL, PL, DEF: on nouns a layer is a case holding its number and
    definiteness. On verbs a layer marks an argument (`V;PRS;NOM(3,SG)`: the subject is 3rd person
    singular), and flat tables write only the agreement: V, PRS, 3, SG. A possessor layer becomes the
    flat schema's one tag (`PSS(2,SG,MASC)` -> PSS2SM). Flat tags pass unchanged.
    """
    features = frozenset(features)
    verb = any(t == "V" or t.startswith("V.") for t in features)
    out: set[str] = set()
    for tag in features:
        m = _LAYER.fullmatch(tag)
        if m is None:
            out.add(tag)
            continue
        args = [a.strip() for a in re.split(r"[,;]", m.group(2)) if a.strip()]
        if m.group(1) == "PSS":
            out.update(_possessor(args))
            continue
        if not verb:
            out.add(m.group(1))
        out.update(args)
    return frozenset(out)


_PSS_CODES = {"SG": "S", "PL": "P", "DU": "D", "MASC": "M", "FEM": "F"}


def _possessor(args: list[str]) -> set[str]:
    """PSS(2,SG,MASC) -> PSS2SM, the flat schema's single possessor tag; other values (FORM) stay."""
    code = "".join(a for a in args if a in ("1", "2", "3")) + "".join(_PSS_CODES[a] for a in args if a in _PSS_CODES)
    return {f"PSS{code}"} | {a for a in args if a not in _PSS_CODES and a not in ("1", "2", "3")}


def format_features(features: Iterable[str]) -> str:
    """Canonical text of a feature set: part of speech first, the rest sorted (SIGMORPHON's order)."""
    return ";".join(sorted(features, key=lambda t: (t not in POS_TAGS, t)))


# --------------------------------------------------------------------------- tables


Entry = tuple[str, str, Features]
"""(lemma, form, features): one row of a UniMorph table."""


@dataclass(frozen=True)
class MorphTable:
    """A language's inflection table, indexed by form and by lemma (indexes built once)."""

    lang: str
    """ISO 639-3 of the language (not the UniMorph folder code)."""
    entries: tuple[Entry, ...]
    """Every (lemma, form, features) row, in file order, duplicates removed."""
    _by_form: Mapping[str, tuple[tuple[str, Features], ...]] = field(init=False, repr=False, compare=False)
    """form -> (lemma, features) analyses, built once in __post_init__."""
    _by_lemma: Mapping[str, Mapping[Features, tuple[str, ...]]] = field(init=False, repr=False, compare=False)
    """lemma -> features -> forms: the paradigms, built once in __post_init__."""

    def __post_init__(self) -> None:
        entries = tuple(dict.fromkeys(self.entries))
        by_form: dict[str, dict[tuple[str, Features], None]] = {}
        by_lemma: dict[str, dict[Features, dict[str, None]]] = {}
        for lemma, form, feats in entries:
            by_form.setdefault(form, {})[(lemma, feats)] = None
            by_lemma.setdefault(lemma, {}).setdefault(feats, {})[form] = None
        object.__setattr__(self, "entries", entries)
        object.__setattr__(self, "_by_form", {f: tuple(a) for f, a in by_form.items()})
        object.__setattr__(self, "_by_lemma", {lm: {ft: tuple(fs) for ft, fs in cells.items()}
                                                for lm, cells in by_lemma.items()})

    def __len__(self) -> int:
        return len(self.entries)

    def analyze(self, form: str) -> list[tuple[str, Features]]:
        """Every (lemma, features) the form has, in table order.

        A form the table lacks is retried lowercased, so sentence-initial "Walked" is analyzed.
        """
        found = self._by_form.get(form)
        if found is None and form.lower() != form:
            found = self._by_form.get(form.lower())
        return list(found or ())

    def inflect(self, lemma: str, features: Features) -> list[str]:
        """The forms of one paradigm cell; empty when the table lacks the lemma or the cell."""
        return list(self._by_lemma.get(lemma, {}).get(frozenset(features), ()))

    def paradigm(self, lemma: str) -> dict[Features, list[str]]:
        """Every cell of a lemma's paradigm: features -> forms."""
        return {feats: list(forms) for feats, forms in self._by_lemma.get(lemma, {}).items()}

    def lemmas(self) -> list[str]:
        """Every lemma, in table order."""
        return list(self._by_lemma)

    def has_lemma(self, lemma: str) -> bool:
        """Whether the table has a paradigm for this lemma."""
        return lemma in self._by_lemma


def _tsv_rows(path: Path, n: int) -> Iterator[tuple[int, list[str]]]:
    """(line number, fields) of a TAB-separated file with exactly n non-empty fields a line."""
    if not path.is_file():
        raise DataError(f"{path}: file not found")
    with path.open(encoding="utf-8") as fh:
        for lineno, line in enumerate(fh, 1):
            line = line.rstrip("\r\n")
            if not line.strip():
                continue
            parts = [p.strip() for p in line.split("\t")]
            if len(parts) != n:
                raise DataError(f"{path}:{lineno}: expected {n} TAB-separated fields, found {len(parts)}")
            if not all(parts):
                raise DataError(f"{path}:{lineno}: empty field")
            yield lineno, parts


def read_unimorph(path: Path) -> list[Entry]:
    """One UniMorph file: lemma TAB form TAB features; blank lines skipped."""
    return [(lemma, form, parse_features(tags)) for _, (lemma, form, tags) in _tsv_rows(path, 3)]


def unimorph_dir() -> Path:
    """`$UNIMORPH` (the `unimorph` package's convention: `$UNIMORPH/<code>/<code>`), else
    `<data>/unimorph`. Nothing is ever downloaded: a missing folder is a DataError."""
    env = os.environ.get("UNIMORPH")
    return Path(env).expanduser() if env else data_dir() / "unimorph"


UNIMORPH_FILES = ("{code}", "{code}.sm", "{code}.noun.tsv")
"""The flat-schema files of a language folder that `load_unimorph` merges, in this order."""


def unimorph_files(code: str) -> list[Path]:
    """The table files read for a UniMorph code (see UNIMORPH_FILES; `.args` only as a fallback)."""
    folder = unimorph_dir() / code
    if not folder.is_dir():
        raise DataError(f"{folder}: UniMorph folder not found")
    files = [folder / pattern.format(code=code) for pattern in UNIMORPH_FILES]
    found = [f for f in files if f.is_file()]
    if not found and (folder / f"{code}.args").is_file():
        found = [folder / f"{code}.args"]
    if not found:
        raise DataError(f"{folder}: no UniMorph table ({code}, {code}.sm or {code}.args)")
    return found


def load_unimorph(lang: str) -> MorphTable:
    """The UniMorph table of a language, by any code icl.languages knows (swa -> swc; cached)."""
    return _load_unimorph(get_language(lang).iso3)


@cache
def _load_unimorph(iso3: str) -> MorphTable:
    language = get_language(iso3)
    if not language.unimorph:
        raise ConfigError(f"language: UniMorph has no {language.name} ({iso3}) in icl/resources/languages.tsv")
    rows: list[Entry] = []
    for path in unimorph_files(language.unimorph):
        rows.extend(read_unimorph(path))
    return MorphTable(iso3, tuple(rows))


# --------------------------------------------------------------------------- SIGMORPHON


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
        raise ConfigError(f"language: SIGMORPHON has no {language.name} ({language.iso3}) in languages.tsv")
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
    for _, parts in _tsv_rows(path, 3):
        lemma, form, tags = (parts[0], parts[2], parts[1]) if year == "2023" else parts
        items.append((lemma, parse_features(tags), form))
    return items


@cache
def _load_sigmorphon(lang: str, split: str) -> tuple[Item, ...]:
    year = (get_language(lang).sigmorphon or "").partition(":")[0]
    return tuple(read_sigmorphon(sigmorphon_path(lang, split), year))


def load_sigmorphon(lang: str, split: str = "tst") -> list[Item]:
    """SIGMORPHON items (lemma, features, form) of a language and split (trn, dev, tst; cached)."""
    return list(_load_sigmorphon(get_language(lang).iso3, split))


# --------------------------------------------------------------------------- fallback inflection


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


# --------------------------------------------------------------------------- evaluation


@dataclass(frozen=True)
class Accuracy:
    """How well table lookup (and the affix-rule fallback) reproduces SIGMORPHON test forms."""

    lang: str
    """ISO 639-3."""
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
    table = load_unimorph(language.iso3)
    items = load_sigmorphon(language.iso3, split)
    rules = learn_affix_rules(load_sigmorphon(language.iso3, "trn")) if fallback else None
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
    return Accuracy(language.iso3, data, len(items), covered, correct, in_cell,
                    rescued if fallback else None, by_rules if fallback else None)


def morph_languages() -> list[str]:
    """ISO 639-3 of every languages.tsv language with both a UniMorph table and SIGMORPHON data."""
    return [lang.iso3 for lang in all_languages() if lang.unimorph and lang.sigmorphon]


# --------------------------------------------------------------------------- word translation


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


def count_inflections(results: Iterable[WordTranslation]) -> InflectionCounts:
    """Tally `translate_word` results by how each was produced."""
    tally: Counter[str] = Counter()
    for r in results:
        tally["total"] += 1
        if r.target is None:
            tally["untranslated"] += 1
        elif r.inflected:
            tally["inflected"] += 1
        elif r.features is None:
            tally["direct"] += 1
        else:
            tally["lemma"] += 1
    return InflectionCounts(**{k: tally[k] for k in ("total", "untranslated", "direct", "lemma", "inflected")})
