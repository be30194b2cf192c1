"""Joshi et al. (2020) resource classes 0-5 for the rows of icl's language table (used by build_languages.py).

Source of truth: `icl/resources/joshi2020.tsv`, the shipped verbatim copy of their `lang2tax.txt` with its
provenance (URL, sha256) in its header. The table is package data and must come out the same from the
repository alone, so it is generated from the copy that travels with the code; the data folder's
`taxonomy/lang2tax.txt` is the same published file, and the generator stops when the two differ (a
silent drift between them would make `--check` pass on one machine and fail on another).

The rules, in order (also written into the table's header):

1. A name reaches a tag: the language whose CLDR or ISO 639-3 English name is exactly the name
   (`english_name_tag`), else the name with its diacritics removed ("gã" is Ga), else with southern/
   northern/eastern/western read as south/north/east/west ("southern azerbaijani" is South Azerbaijani),
   else the name + " languages" (ISO 639-5 collective names: "berber" is "Berber languages"), else the
   code ALIASES gives the spelling (ten names lang2tax spells otherwise than CLDR and ISO, each with its
   reason). A tag with a script or variant names a writing of a language, not a language, and is skipped.
2. A tag reaches a row: `resolve_tag` without the macrolanguage relation (as lookups do: "arabic" ->
   ar -> Standard Arabic), else, for an ISO 639-3 macrolanguage of which the table holds exactly one
   individual language, that one ("konkani" -> kok -> Goan Konkani; "tamashek" -> tmh -> Tamasheq).
   The class goes to the likely row of the language reached.
3. One class reaches a language: that class. Several: the class of the name that is the row's ISO 639-3
   reference name (its parenthesised qualifier dropped: "Mari (Russia)" is "mari"), when exactly that
   name is among them ("belarusian" 3 over "belorussian" 0; compared as written first, then without
   diacritics); otherwise unknown, with both listed.
4. A row of a language in another script (ace_Arab, zho_Hant) has its language's class: the likely row's,
   or, for a row of a macrolanguage's other script (msa_Arab), that of the row its bare code names (zsm).
5. Everything else stays unknown, with the reason; nothing is guessed.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import langcodes
import pycountry

from icl.languages.tags import english_name_tag, resolve_tag

JOSHI = Path(__file__).resolve().parent.parent / "icl" / "resources" / "joshi2020.tsv"
DATA_COPY = Path("taxonomy") / "lang2tax.txt"
ALIASES = {
    "fongbe": ("fon", "Fon's own name (Fɔ̀ngbè)"),
    "makassar": ("mak", "the usual English spelling of Makasar"),
    "yucatec": ("yua", "Yucatec Maya; ISO 639-3 writes Yucateco"),
    "baule": ("bci", "Baoulé without its French spelling"),
    "seychelles creole": ("crs", "Seselwa Creole French is the creole of the Seychelles"),
    "k'ekchí": ("kek", "Q'eqchi', ISO 639-3 Kekchí"),
    "kiluba": ("lub", "Luba-Katanga's own name"),
    "bena-lulua": ("lua", "Luba-Lulua (Tshiluba), named after its speakers"),
    "melayu betawi": ("bew", "Betawi's name in Malay"),
    "eastern punjabi": ("pan", "ISO 639-3 pan; the table's Western Panjabi is pnb"),
}
"""lang2tax spellings -> the ISO 639-3 code they name, where CLDR and ISO spell the language otherwise.
DistaLs (the package our copy comes from, data/lang2tax.txt.codes) maps the first nine the same way.
Left out on purpose: "nkore-kiga" (Nyankore and Chiga), "ndebele" (North or South), "fulfulde" (any
Fula variety), "azari" (South Azerbaijani, already class 1 as "southern azerbaijani", here 0), "hmong
daw" (White Hmong, one language of the macrolanguage Hmong): they would be guesses."""
_CARDINAL = {"southern": "south", "northern": "north", "eastern": "east", "western": "west"}


@dataclass(frozen=True)
class Verdict:
    """A row's class (None: unknown) and how it was reached, or why not."""

    cls: int | None
    source: str


def read_joshi(data: Path) -> list[tuple[str, int]]:
    """(name, class) of every line of the shipped copy, checked against the data folder's file if present."""
    text = JOSHI.read_text(encoding="utf-8")
    lines = [ln for ln in text.splitlines() if ln and not ln.startswith("#")]
    if lines[0] != "name\tclass":
        raise SystemExit(f"{JOSHI}:1: expected the header 'name<TAB>class'")
    pairs = []
    for i, line in enumerate(lines[1:], 2):
        name, _, cls = line.rpartition("\t")
        if not name or cls not in tuple("012345"):
            raise SystemExit(f"{JOSHI}: data line {i}: expected name<TAB>class 0-5, got {line!r}")
        pairs.append((name, int(cls)))
    copy = data / DATA_COPY
    if copy.is_file():
        theirs = copy.read_bytes()
        ours = "".join(f"{n},{c}\n" for n, c in pairs).encode("utf-8")
        if theirs != ours:
            raise SystemExit(f"{copy} (sha256 {hashlib.sha256(theirs).hexdigest()[:12]}) differs from the shipped "
                             f"copy {JOSHI.name}: check which is the published file before regenerating")
    return pairs


def _fold(name: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFD", name) if unicodedata.category(c) != "Mn")


@cache
def name_tag(name: str) -> str | None:
    """Rule 1: the language tag a lang2tax name reaches, or None."""
    folded = _fold(name)
    for form in (name, folded, " ".join(_CARDINAL.get(w, w) for w in folded.split()), f"{folded} languages"):
        tag = english_name_tag(form)
        if tag is not None:
            lang = langcodes.Language.get(tag)
            return None if lang.script or lang.variants else lang.to_tag()
    return ALIASES[name][0] if name in ALIASES else None


def _macro_member(rows: list[Any], tag: str) -> Any:
    """Rule 2's second half: the one row of the table that is an individual language of macrolanguage `tag`."""
    from langcodes.data_dicts import MACROLANGUAGES

    members = {r.language for r in rows if MACROLANGUAGES.get(r.language) == tag or MACROLANGUAGES.get(r.iso3) == tag}
    if len(members) != 1:
        return None
    (language,) = members
    return next(r for r in rows if r.language == language and r.likely)


def reference_name(iso3: str) -> str | None:
    """ISO 639-3's reference name, lower case, without its parenthesised qualifier."""
    entry = pycountry.languages.get(alpha_3=iso3)
    return re.sub(r"\s*\(.*\)$", "", entry.name).lower() if entry else None


def _why_not(row: Any, named: dict[str, list[str]]) -> str:
    """Why no name reaches a row: lang2tax names only its macrolanguage, or none of its names."""
    from langcodes.data_dicts import MACROLANGUAGES

    macro = MACROLANGUAGES.get(row.language) or MACROLANGUAGES.get(row.iso3)
    if macro in named:
        return (f"lang2tax names only its macrolanguage {macro} ({', '.join(named[macro])}), whose class is not "
                f"this variety's")
    names = dict.fromkeys(n for n in (row.name.lower(), reference_name(row.iso3)) if n)
    return f"lang2tax has none of its CLDR/ISO 639-3 names ({', '.join(names)})"


def classify(rows: Iterable[Any], joshi: list[tuple[str, int]]) -> tuple[dict[str, Verdict], list[str]]:
    """Every row's Verdict (rules 1-5), and the settled conflicts as header lines.

    `rows` need code, iso3, language (the ISO code rows of one language share), likely and name."""
    rows = list(rows)
    reached: dict[str, dict[int, list[str]]] = defaultdict(lambda: defaultdict(list))
    via: dict[str, str] = {}
    named: dict[str, list[str]] = defaultdict(list)
    for name, cls in joshi:
        tag = name_tag(name)
        if tag is None:
            continue
        named[tag].append(name)
        row = resolve_tag(rows, tag, family=False)
        if row is None and (row := _macro_member(rows, tag)) is not None:
            via[row.code] = f" via macrolanguage {tag}"
        if row is None:
            continue
        likely = next(r for r in rows if r.language == row.language and r.likely)
        reached[likely.code][cls].append(name)
    verdicts: dict[str, Verdict] = {}
    settled: list[str] = []
    for row in rows:
        if not row.likely:
            continue
        classes = reached.get(row.code)
        if not classes:
            verdicts[row.code] = Verdict(None, _why_not(row, named))
            continue
        said = "; ".join(f"{', '.join(n)}: {c}" for c, n in sorted(classes.items()))
        if len(classes) == 1:
            (cls,) = classes
            verdicts[row.code] = Verdict(cls, f"joshi2020:class{cls}{via.get(row.code, '')}")
            continue
        ref = reference_name(row.iso3)
        hits = [c for c, names in classes.items() if ref in names]
        if not hits:
            hits = [c for c, names in classes.items() if ref is not None and _fold(ref) in {_fold(n) for n in names}]
        if len(hits) == 1:
            verdicts[row.code] = Verdict(hits[0], f"joshi2020:class{hits[0]} by reference name {ref!r}")
            settled.append(f"{row.code} ({said}): class {hits[0]}, its reference name {ref!r}")
        else:
            verdicts[row.code] = Verdict(None, f"lang2tax names disagree ({said}) and its reference name "
                                               f"{ref!r} is not one of them")
    for row in rows:
        if row.likely:
            continue
        likely = next((r for r in rows if r.language == row.language and r.likely), None)
        if likely is None:  # a macrolanguage's row in another script (msa_Arab): the row its bare code names
            likely = resolve_tag([r for r in rows if r.likely], row.iso3)
        base = verdicts.get(likely.code) if likely is not None else None
        if base is None:
            verdicts[row.code] = Verdict(None, "a script variant of no classified language")
        elif base.cls is None:
            verdicts[row.code] = Verdict(None, f"a script variant of {likely.code}, which is unknown")
        else:
            verdicts[row.code] = Verdict(base.cls, f"joshi2020:class{base.cls} via {likely.code}")
    return verdicts, settled
