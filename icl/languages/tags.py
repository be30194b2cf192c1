"""Rule 2 and 3 of icl.languages: a BCP-47 tag, ISO code or other English name -> a table row.

Kept apart from the table and its exact index because scripts/build_languages.py uses the very same
rule to match other sets' codes to FLORES rows while it writes the table: table and lookups agree.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

SAME_SCRIPT = {"Kore": "Hang"}
"""CLDR's likely script -> FLORES's name for the same writing (Korean is Hang in FLORES)."""


@dataclass(frozen=True)
class _Row:
    """What `resolve_tag` needs of a row (the generator passes its own rows with the same fields)."""

    code: str
    iso3: str
    iso1: str | None
    flores: str | None
    script: str
    likely: bool


@cache
def _split(code: str, macro: bool = False) -> tuple[str, str | None]:
    """(language subtag, region) of a code as CLDR standardises it: prs -> (fa, AF), cmn -> (cmn, None),
    or with macro=True (zh, None). Unparseable codes give (code, None)."""
    import langcodes

    try:
        lang = langcodes.Language.get(langcodes.standardize_tag(code.replace("_", "-"), macro=macro))
    except (ValueError, LookupError):  # LanguageTagError is a ValueError
        return code.lower(), None
    return lang.language or code.lower(), lang.territory


def _own_codes(row: Any) -> tuple[str, ...]:
    return _codes_of(row.iso3, row.flores, row.iso1)


@cache
def _codes_of(iso3: str, flores: str | None, iso1: str | None) -> tuple[str, ...]:
    found = [iso3, flores.split("_")[0] if flores else None, iso1]
    return tuple(c for c in dict.fromkeys(found) if c)


@cache
def _tags_of(codes: tuple[str, ...]) -> tuple[tuple[tuple[str, str | None], ...], tuple[tuple[str, str | None], ...]]:
    """(standardised, macro-normalised) (language, region) of each code."""
    return tuple(_split(c) for c in codes), tuple(_split(c, macro=True) for c in codes)


@cache
def _macrolanguages() -> tuple[dict[str, str], dict[str, str]]:
    """(individual -> macrolanguage, macrolanguage -> CLDR's representative individual language)."""
    from langcodes.data_dicts import MACROLANGUAGES, NORMALIZED_MACROLANGUAGES

    return dict(MACROLANGUAGES), {v: k for k, v in NORMALIZED_MACROLANGUAGES.items()}


def _levels(rows: Sequence[Any], lang: str, family: bool) -> list[list[tuple[Any, str | None]]]:
    """Candidate (row, region of the row's tag) lists, most direct relation first."""
    macro_of, _ = _macrolanguages()
    own, normal, up, down = [], [], [], []
    wanted_macro = macro_of.get(lang)
    lang_normal = _split(lang, macro=True)[0]
    for row in rows:
        tags, normed = _tags_of(_own_codes(row))
        hit = next((reg for lg, reg in tags if lg == lang), "")
        if hit != "":
            own.append((row, hit))
            continue
        hit = next((reg for lg, reg in normed if lg == lang_normal), "")
        if hit != "":
            normal.append((row, hit))
            continue
        if not family:
            continue
        if wanted_macro and any(lg == wanted_macro for lg, _ in tags):
            up.append((row, None))  # an individual language; the table has its macrolanguage (as a row's own code)
        elif row.likely and any(macro_of.get(lg) == lang for lg, _ in tags):
            down.append((row, None))  # a macrolanguage; the table has individual members (their likely rows)
    return [own, normal, up + down] if family else [own, normal]


def _pick(cands: list[tuple[Any, str | None]], lang: str, region: str | None) -> Any:
    if region:
        with_region = [c for c in cands if c[1] == region]
        cands = with_region or [c for c in cands if c[1] is None] or cands
    else:
        cands = [c for c in cands if c[1] is None] or cands
    rows = list({id(r): r for r, _ in cands}.values())
    if len(rows) > 1:
        _, representative = _macrolanguages()
        rep = representative.get(lang)
        rows = [r for r in rows if rep and rep in [_split(c)[0] for c in _own_codes(r)]] or rows
    if len(rows) > 1:
        rows = [r for r in rows if r.likely] or rows
    if len(rows) > 1:
        import langcodes

        pops = sorted(((langcodes.Language.get(_split(_own_codes(r)[0])[0]).writing_population(), r.code), r)
                      for r in rows)
        if pops[-1][0][0] > pops[-2][0][0]:
            rows = [pops[-1][1]]
    return rows[0] if len(rows) == 1 else None


def resolve_tag(rows: Iterable[Any], tag: str, *, family: bool = True) -> Any:
    """The row a BCP-47 tag (or ISO code) names, by rule 2 of the module docstring, or None.

    `rows` need code, iso3, iso1, flores, script and likely; scripts/build_languages.py passes its
    own rows, so the table and the lookups follow one rule. `family=False` leaves out the
    macrolanguage relation (level 3)."""
    import langcodes

    text = tag.strip().replace("_", "-")
    try:
        parsed = langcodes.Language.get(text)
    except (ValueError, LookupError):
        return None
    if not parsed.language or parsed.language == "und" or parsed.extlangs:
        return None
    if not langcodes.Language.make(language=parsed.language, script=parsed.script, variants=parsed.variants).is_valid():
        return None  # an unregistered language, script or variant: nothing to resolve
    lang = parsed.language
    region = parsed.territory if langcodes.Language.make(territory=parsed.territory).is_valid() else None  # gsw-ZH
    wanted = parsed.script or parsed.maximize().script
    wanted = SAME_SCRIPT.get(wanted, wanted)
    levels = _levels(list(rows), lang, family)
    for level in levels:
        in_script = [c for c in level if c[0].script == wanted]
        if in_script:
            return _pick(in_script, lang, region)
    if parsed.script:  # a script the table does not have for this language
        return None
    for level in levels:  # CLDR's likely script is not the one the data has (ayl is Arab in GATITOS)
        if level:
            return _pick(level, lang, region)
    return None


@cache
def _english_names() -> Any:
    from language_data.names import load_trie
    from language_data.util import data_filename

    return load_trie(data_filename("trie/en/name_to_language.marisa"))


def english_name_tag(name: str) -> str | None:
    """The tag whose English name (CLDR and ISO names, as language_data has them) is exactly `name`,
    up to case and punctuation; None otherwise. Exact on purpose: langcodes.find also accepts a known
    name's prefix, which makes "Arapesh" Arabic."""
    from language_data.names import normalize_name

    key = normalize_name(name)
    trie = _english_names()
    return trie[key][0].decode("utf-8") if key and key in trie else None
