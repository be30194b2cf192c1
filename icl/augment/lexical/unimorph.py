"""UniMorph inflection tables: features, the `MorphTable` type, and reading tables from the data.

A `MorphTable` answers both questions an augmenter asks: what lemma and features a form has
(`analyze`), and which form a lemma takes for some features (`inflect`).

What the files are like (checked on every file under the data folder):
- UniMorph tables are lemma TAB form TAB features. Several (ben, kan, kaz, pus, swc, tel, zul) put
  a blank line between paradigms; others end with one; lug, mlg, nya, sna, tgl, kaz.sm, swc.sm,
  zul.sm use CRLF line ends. Blank lines are skipped; CR is stripped.
- A language folder can hold the main table `<code>`, SIGMORPHON-2020 source tables `<code>.sm`,
  `kaz.noun.tsv`, and `<code>.args`, the same paradigms re-annotated in the layered 2023 schema
  (`V;PRS;NOM(3,SG)`). `load_unimorph` reads the flat-schema files (`<code>`, `.sm`, `.noun.tsv`)
  and falls back to `.args` only where nothing else exists: English has only `eng/eng.args`.
- Features are a frozenset: SIGMORPHON sorts tags canonically, UniMorph tables do not.

icl reads the tables itself, not through the `unimorph` package, whose pandas reader changes real
entries (English "null", Tagalog trailing spaces): docs/unimorph.md, tests/test_unimorph_package.py.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from icl.config import data_dir
from icl.data.files import Stamp, open_text, stamp
from icl.errors import ConfigError, DataError
from icl.languages import get_language

Features = frozenset[str]

POS_TAGS = frozenset({"N", "PROPN", "V", "V.PTCP", "V.CVB", "V.MSDR", "ADJ", "ADV", "PRO", "DET", "ART",
                      "NUM", "ADP", "CONJ", "COMP", "INTJ", "PART", "CLF", "AUX"})
"""UniMorph part-of-speech tags; they sort first when features are printed."""


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



Entry = tuple[str, str, Features]
"""(lemma, form, features): one row of a UniMorph table."""


@dataclass(frozen=True)
class MorphTable:
    """A language's inflection table, indexed by form and by lemma (indexes built once)."""

    lang: str
    """icl language code (not the UniMorph folder code)."""
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


def tsv_rows(path: Path, n: int) -> Iterator[tuple[int, list[str]]]:
    """(line number, fields) of a TAB-separated file with exactly n non-empty fields a line."""
    if not path.is_file():
        raise DataError(f"{path}: file not found")
    with open_text(path) as fh:
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
    return [(lemma, form, parse_features(tags)) for _, (lemma, form, tags) in tsv_rows(path, 3)]


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
    """The UniMorph table of a language, by any code icl.languages knows (swa -> swc; cached on the
    files read, so another data folder gives another table)."""
    language = get_language(lang)
    if not language.unimorph:
        raise ConfigError(f"language: UniMorph has no {language.name} ({language.code}) in icl/resources/languages.tsv")
    paths = tuple(unimorph_files(language.unimorph))
    return _read_table(language.code, paths, stamp(*paths))


@lru_cache(maxsize=16)
def _read_table(lang: str, paths: tuple[Path, ...], state: Stamp) -> MorphTable:
    rows: list[Entry] = []
    for path in paths:
        rows.extend(read_unimorph(path))
    return MorphTable(lang, tuple(rows))
