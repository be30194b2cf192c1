"""Language identities across data sets, read from `icl/resources/languages.tsv`.

Every set names a language its own way (FLORES `swh_Latn`, NTREX `swa`, MASSIVE `sw-KE`, UniMorph
`swc`, lexicons `sw`). One table maps them; any of those codes finds the language.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from functools import cache
from importlib.resources import files

from icl.errors import ConfigError

_TABLE = "languages.tsv"


@dataclass(frozen=True)
class Language:
    """One language and its code in every set icl reads."""

    iso3: str
    """ISO 639-3 (macro)language code: icl's own key."""
    name: str
    """English name, used in prompts ("Swahili"), never the code."""
    iso1: str | None
    """ISO 639-1 code, used by GATITOS and MUSE file names where it exists."""
    flores: str | None
    """FLORES-200 file stem, e.g. `swh_Latn`."""
    ntrex: str | None
    """NTREX-128 code, e.g. `swa`."""
    massive: str | None
    """MASSIVE locale, e.g. `sw-KE`."""
    unimorph: str | None
    """UniMorph repository code, e.g. `swc`."""
    sigmorphon: str | None
    """`year:code` of the SIGMORPHON shared-task files, e.g. `2020:swa`."""
    script: str
    """ISO 15924 script of the FLORES text."""
    resource: str
    """high / mid / low."""
    resource_source: str
    """Where the resource level comes from, e.g. `joshi2020:class2`."""

    @property
    def codes(self) -> tuple[str, ...]:
        """Every code that names this language."""
        return tuple(c for c in (self.iso3, self.iso1, self.flores, self.ntrex, self.massive, self.unimorph) if c)


RESOURCE_ORDER = {"low": 0, "mid": 1, "high": 2}
"""Reports list low-resource languages first."""


@cache
def all_languages() -> tuple[Language, ...]:
    """Every language in the table, in table order."""
    text = files("icl.resources").joinpath(_TABLE).read_text(encoding="utf-8")
    rows = [line for line in text.splitlines() if line and not line.startswith("#")]
    header = rows[0].split("\t")
    langs = []
    for row in rows[1:]:
        values = dict(zip(header, row.split("\t"), strict=True))
        langs.append(Language(**{k: (None if v == "-" else v) for k, v in values.items()}))  # type: ignore[arg-type]
    return tuple(langs)


@cache
def _index() -> dict[str, Language]:
    index: dict[str, Language] = {}
    for lang in all_languages():
        for code in lang.codes:
            index.setdefault(code.lower(), lang)
        index.setdefault(lang.name.lower(), lang)
    return index


def get_language(code: str, key: str = "language") -> Language:
    """Find a language by any of its codes or its English name; suggest the nearest on a miss."""
    found = _index().get(code.lower())
    if found is None:
        near = difflib.get_close_matches(code.lower(), list(_index()), n=1, cutoff=0.5)
        hint = f" (did you mean {near[0]!r}?)" if near else ""
        raise ConfigError(f"{key}: unknown language code {code!r}{hint}; `icl langs` lists them")
    return found
