"""Language identities across data sets, read from `icl/resources/languages.tsv`.

The table is generated from the data (scripts/build_languages.py: every FLORES-200 variety, every
NTREX-128 and MASSIVE locale, every GATITOS/MUSE/UniMorph language), so a language is known because
the data has it, not because someone listed it. Each set names a language its own way (FLORES
`swh_Latn`, NTREX `swa`, MASSIVE `sw-KE`, UniMorph `swc`, GATITOS `fa-AF`); any of those codes, an
ISO 639-1/3 code, a BCP-47 tag or the English name finds the language. `Language.code` is icl's key.

`get_language` resolves, first rule that answers (case-insensitive, `_` and `-` alike):

1. An exact spelling from the table, in tiers; a spelling an earlier tier claims is never taken by a
   later one (`shadowed_aliases()` lists where that happens, and a test pins the list):
   (1) icl's key; (2) a set's own code: FLORES stem, NTREX code, MASSIVE locale (unique per set);
   (3) ISO codes: ISO 639-3, the FLORES file's individual code (`swh`), ISO 639-1, of likely rows
   only: a bare code means the row in the language's likely script (`zh` is zho_Hans, `ms` is not
   Jawi Malay); (4) lexicon/morphology file codes (GATITOS, MUSE, UniMorph); (5) the English name.
   Two rows claiming one spelling within a tier, with no likely row between them, is a table error.
2. A BCP-47 tag or ISO code read with langcodes (CLDR), by `resolve_tag`: the languages it names are
   looked for at three levels, first level with a row in the wanted script wins: the code itself
   (`pt`, `fa-AF` = Dari), its CLDR macrolanguage normalisation (`cmn` = `zh`, so `ar` finds `arb`),
   then the ISO 639-3 macrolanguage relation either way where the table has only one side (`no` ->
   Bokmål, `ekk` -> Estonian, `kok` -> Goan Konkani). The script is the tag's, else CLDR's likely
   script for the whole tag (`zh-TW` is Hant). A region picks the row with that region (`fa-AF`),
   else the row without one (`pt-BR` is Portuguese). Still several rows: CLDR's representative
   individual language of a macrolanguage (`ar` -> `arb`), then the likely row, then the larger
   CLDR writing population (`no` -> `nb`); else nothing.
3. Another English name of a language, exactly as CLDR or ISO 639-3 list it (`english_name_tag`:
   "Farsi", "Malay", "Norwegian"), then rule 2.

A miss suggests a real near match (a code one letter off, or a code or name that differs by a typo)
or nothing; never an arbitrary code.
"""

from __future__ import annotations

import difflib
import os
from dataclasses import dataclass, field
from functools import cache, lru_cache
from importlib.resources import files
from typing import Any

from icl.errors import ConfigError
from icl.languages.tags import _Row, english_name_tag, resolve_tag

_TABLE = "languages.tsv"


@dataclass(frozen=True)
class Language:
    """One language (variety) and its code in every set icl reads."""

    code: str
    """icl's own key (RunSpec.src/tgt, Example.src_lang, catalogue keys): the ISO 639-3 code, or
    `<iso3>_<Script>` where one ISO code has two scripts (zho_Hans, kas_Deva). The 42 languages of
    the first hand-made table keep their keys (swa, fas, orm, ...)."""
    name: str
    """English name, used in prompts ("Swahili"), never the code."""
    iso3: str
    """ISO 639-3 code (an individual language or a macrolanguage), never with a script suffix."""
    iso1: str | None
    """ISO 639-1 code where the language has one."""
    script: str
    """ISO 15924 script of the FLORES text (else of the set's text, else the likely script)."""
    flores: str | None
    """FLORES-200 file stem, e.g. `swh_Latn`."""
    ntrex: str | None
    """NTREX-128 code, e.g. `swa`."""
    massive: str | None
    """MASSIVE 1.1 locale, e.g. `sw-KE`."""
    gatitos: str | None
    """GATITOS file code (`en_<code>.tsv`), e.g. `fa-AF`."""
    muse: str | None
    """MUSE file code (`en-<code>.0-5000.txt`), e.g. `fa`."""
    unimorph: str | None
    """UniMorph repository code, e.g. `swc`."""
    sigmorphon: str | None
    """`year:code` of the SIGMORPHON shared-task files, e.g. `2020:swa`."""
    resource_class: int | None
    """Joshi et al. (2020) class, 0 (left behind) .. 5 (winners); None where no rule of the generator
    reaches one (scripts/joshi_classes.py; `resource_source` then says why)."""
    resource: str
    """The coarse level of the class: low (0-2), mid (3), high (4-5), or unknown."""
    resource_source: str
    """How the class was reached (`joshi2020:class2`, `joshi2020:class1 via ace_Latn`, ...), or why the
    language is unknown."""

    @property
    def codes(self) -> tuple[str, ...]:
        """Every code that names this language in some set."""
        found = (self.code, self.iso3, self.iso1, self.flores, self.ntrex, self.massive, self.gatitos, self.muse,
                 self.unimorph)
        return tuple(dict.fromkeys(c for c in found if c))


RESOURCE_ORDER = {"low": 0, "mid": 1, "high": 2, "unknown": 3}
"""Reports list low-resource languages first."""

RESOURCE_CLASSES = (0, 1, 2, 3, 4, 5)
"""Joshi et al. (2020)'s classes; `resource_level` maps each to its coarse level."""


def resource_level(cls: int | None) -> str:
    """The coarse level of a class: low (0-2), mid (3), high (4-5); unknown for None."""
    return "unknown" if cls is None else "low" if cls <= 2 else "mid" if cls == 3 else "high"


def resource_rank(lang: Language) -> tuple[int, int]:
    """Sort key: low-resource first, by level then class (unknown last)."""
    return RESOURCE_ORDER[lang.resource], 6 if lang.resource_class is None else lang.resource_class

_OPTIONAL = ("iso1", "flores", "ntrex", "massive", "gatitos", "muse", "unimorph", "sigmorphon")


def _parse(text: str) -> tuple[tuple[Language, ...], frozenset[str]]:
    rows = [line for line in text.splitlines() if line and not line.startswith("#")]
    header = rows[0].split("\t")
    langs, likely = [], set()
    for row in rows[1:]:
        values: dict[str, Any] = dict(zip(header, row.split("\t"), strict=True))
        if values.pop("likely") == "yes":
            likely.add(values["code"])
        for name in _OPTIONAL:
            values[name] = None if values[name] == "-" else values[name]
        values["resource_class"] = None if values["resource_class"] == "-" else int(values["resource_class"])
        langs.append(Language(**values))
    return tuple(langs), frozenset(likely)


@cache
def _table_text() -> str:
    return files("icl.resources").joinpath(_TABLE).read_text(encoding="utf-8")


def all_languages() -> tuple[Language, ...]:
    """Every language in the table, in table order (package data: independent of the data folder)."""
    return _table(_table_text()).languages


# --- rule 1: the exact index ---------------------------------------------------------------------------

_TIERS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("key", ("code",)),
    ("set code", ("flores", "ntrex", "massive")),
    ("ISO code", ("iso3", "flores_iso3", "iso1")),
    ("file code", ("gatitos", "muse", "unimorph")),
    ("name", ("name",)),
)


@dataclass(frozen=True)
class _Table:
    languages: tuple[Language, ...]
    rows: tuple[_Row, ...]
    index: dict[str, Language]
    spelling: dict[str, str] = field(default_factory=dict)
    """lowercased spelling -> as the table writes it (for suggestions)."""
    shadowed: tuple[tuple[str, str, str, str], ...] = ()
    """(spelling, field of the losing row, losing row, winning row)."""


def _value(lang: Language, name: str) -> str | None:
    if name == "flores_iso3":
        return lang.flores.split("_")[0] if lang.flores else None
    return getattr(lang, name)


def _forms(value: str) -> set[str]:
    low = value.lower()
    return {low, low.replace("_", "-"), low.replace("-", "_")}


@cache
def _table(text: str) -> _Table:
    """The languages and their exact index, built once per table text (rule 1)."""
    langs, likely = _parse(text)
    index: dict[str, Language] = {}
    spelling: dict[str, str] = {}
    shadowed = []
    for tier, names in _TIERS:
        claims: dict[str, dict[str, tuple[Language, str]]] = {}
        for lang in langs:
            if tier == "ISO code" and lang.code not in likely:
                continue  # a bare ISO code means the language's likely row (zh: zho_Hans; ms: not Jawi Malay)
            for name in names:
                value = _value(lang, name)
                for form in _forms(value) if value else ():
                    claims.setdefault(form, {}).setdefault(lang.code, (lang, name))
        for form, by_code in claims.items():
            owners = list(by_code.values())
            if len(owners) > 1:
                preferred = [o for o in owners if o[0].code in likely]
                if len(preferred) != 1:
                    raise ConfigError(f"{_TABLE}: {form!r} names {', '.join(by_code)}, and not one of them is a "
                                      "likely row; fix scripts/build_languages.py")
                owners = preferred + [o for o in owners if o is not preferred[0]]
            winner = index.get(form, owners[0][0])
            shadowed.extend((form, name, lang.code, winner.code) for lang, name in owners
                            if lang.code != winner.code and form == (_value(lang, name) or "").lower())
            if form not in index:
                index[form] = winner
                value = _value(winner, owners[0][1]) or form
                spelling[form] = next((v for v in (value, value.replace("_", "-"), value.replace("-", "_"))
                                       if v.lower() == form), form)
    rows = tuple(_Row(lg.code, lg.iso3, lg.iso1, lg.flores, lg.script, lg.code in likely) for lg in langs)
    return _Table(langs, rows, index, spelling, tuple(sorted(set(shadowed))))


def shadowed_aliases() -> tuple[tuple[str, str, str, str], ...]:
    """(spelling, field, row, winner): where a row's code or name finds another row (rule 1's tiers);
    e.g. GATITOS names its Twi file `ak`, the ISO 639-1 code of Akan."""
    return _table(_table_text()).shadowed


# --- lookups ---------------------------------------------------------------------------------------------

@lru_cache(maxsize=4096)
def find_language(text: str) -> Language | None:
    """The language a code, tag or name names, or None (rules 1-3 of the module docstring)."""
    table = _table(_table_text())
    spelling = text.strip().lower()
    if not spelling:
        return None
    found = table.index.get(spelling)
    if found is not None:
        return found
    row = resolve_tag(table.rows, spelling)
    if row is None and len(spelling) > 3:  # an English name in another spelling ("Farsi", "Malay", "Norwegian")
        tag = english_name_tag(spelling)
        row = resolve_tag(table.rows, tag) if tag else None
    return None if row is None else next(lg for lg in table.languages if lg.code == row.code)


def _suggest(text: str) -> str | None:
    """A real near match: a code of the same length one letter off (the longest shared prefix first),
    or a code or name that differs by a typo (difflib ratio >= 0.8); None when nothing is that close."""
    table = _table(_table_text())
    spelling = text.strip().lower()
    keys = sorted(table.index)
    if len(spelling) <= 3:
        near = [k for k in keys if len(k) == len(spelling) and sum(a != b for a, b in zip(k, spelling)) == 1]
        near.sort(key=lambda k: (-len(os.path.commonprefix([k, spelling])), k))  # swk: swa before slk
    else:
        near = difflib.get_close_matches(spelling, keys, n=1, cutoff=0.8)
    if not near:
        return None
    lang = table.index[near[0]]
    return f"{table.spelling.get(near[0], near[0])!r} ({lang.name}, {lang.code})"


def get_language(code: str, key: str = "language") -> Language:
    """Find a language by any of its codes, a BCP-47 tag or its English name; suggest on a miss."""
    found = find_language(code)
    if found is None:
        near = _suggest(code)
        hint = f" (did you mean {near}?)" if near else ""
        raise ConfigError(f"{key}: unknown language code {code!r}{hint}; `icl langs` lists them")
    return found


def pair_label(src: str, tgt: str) -> str:
    """`eng-swa` for a translation pair, `swa` where input and output language are one (intent)."""
    return src if src == tgt else f"{src}-{tgt}"


def non_english(src: str, tgt: str) -> str:
    """The language a run is about: the non-English side of a pair, or the only language."""
    if src == tgt or tgt == "eng":
        return src
    if src == "eng":
        return tgt
    raise ConfigError(f"{src}-{tgt}: expected English on one side of the pair")
