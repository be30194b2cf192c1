"""What data is here for each language (`icl langs`), filtered on kinds of data and resource level.

"Here" means under the data folder (`icl.config.data_dir()`): a language's FLORES/NTREX/MASSIVE test
file exists (the shipped data set declarations say where), its lexicon files as the catalogue lists
them exist, its UniMorph folder and SIGMORPHON test file exist. A few hundred rows, a few stat calls
each.
"""

from __future__ import annotations

from collections.abc import Collection
from pathlib import Path
from typing import Any

from icl.config import data_dir
from icl.errors import ConfigError, DataError
from icl.languages import RESOURCE_CLASSES, RESOURCE_ORDER, Language, all_languages, resource_rank

HAS = ("flores", "ntrex", "massive", "lexicon", "gatitos", "muse", "unimorph", "sigmorphon")
"""What `icl langs --has` can ask for: data of that kind is in the data folder for the language
(`lexicon`: the catalogue lists lexicons for it and all their files are here; `gatitos`/`muse`: the
catalogue lists that source and its files are here)."""


def _present(lang: Language, root: Path, lexicons: dict[str, list[dict[str, str]]]) -> dict[str, bool]:
    from icl.data import has_file
    from icl.data.declaration import SHIPPED_KINDS

    rows = lexicons.get(lang.code, [])
    here = {r["path"]: (root / r["path"]).is_file() for r in rows}

    def source_here(source: str) -> bool:
        paths = [r["path"] for r in rows if r["source"] == source]
        return bool(paths) and all(here[p] for p in paths)

    return {
        # the language's code in a shipped set (lang.flores, lang.ntrex, lang.massive) and its file here
        **{kind: bool(getattr(lang, kind)) and has_file(name, lang) for name, kind in SHIPPED_KINDS.items()},
        "lexicon": bool(rows) and all(here.values()),
        "gatitos": source_here("gatitos"),
        "muse": source_here("muse"),
        "unimorph": bool(lang.unimorph) and (root / "unimorph" / lang.unimorph).is_dir(),
        "sigmorphon": bool(lang.sigmorphon) and _sigmorphon_here(lang),
    }


def _sigmorphon_here(lang: Language) -> bool:
    from icl.augment.lexical.sigmorphon import sigmorphon_path

    try:
        return sigmorphon_path(lang.code, "tst").is_file()
    except (ConfigError, DataError):
        return False


RESOURCE_VALUES = (*RESOURCE_ORDER, *map(str, RESOURCE_CLASSES))
"""What `icl langs --resource` takes: a coarse level or a Joshi et al. (2020) class 0-5."""


def _resource_filter(resource: str | None) -> set[str] | None:
    """`--resource low`, `--resource 1`, `--resource 0,1,unknown` -> the values a row's level or class may have."""
    if resource is None:
        return None
    wanted = {r.strip() for r in resource.split(",") if r.strip()}
    bad = sorted(wanted - set(RESOURCE_VALUES))
    if bad or not wanted:
        raise ConfigError(f"--resource: {(bad or [resource])[0]!r} is not one of {', '.join(RESOURCE_VALUES)} "
                          "(a level, or a class 0-5; several comma-separated)")
    return wanted


def availability(has: Collection[str] = (), resource: str | None = None) -> list[dict[str, Any]]:
    """One row per language, low-resource first (by level, then class; unknown last; by code within).

    Each row: code (icl's key), name, script, class (Joshi et al. 2020, 0-5 or `-`), resource (its
    level), flores/ntrex/massive (the language's code in those sets, `-` if none), iso (ISO 639-3/
    639-1), data (the kinds of data here, from HAS, without gatitos/muse, which `lexicons` names),
    lexicons (the catalogue's sources for it), resource_source (how the class was reached, or why the
    language is unknown). `has` keeps languages with every named kind of data here; `resource` keeps
    the levels and/or classes named (comma-separated: `low`, `1`, `0,1,unknown`). A name outside HAS or
    RESOURCE_VALUES is a ConfigError naming the vocabulary.
    """
    unknown = [h for h in has if h not in HAS]
    if unknown:
        raise ConfigError(f"--has: {unknown[0]!r} is not one of {', '.join(HAS)}")
    wanted = _resource_filter(resource)
    from icl.augment.lexical.catalogue import catalogue

    root = data_dir()
    lexicons = catalogue()
    rows = []
    for lang in sorted(all_languages(), key=lambda lg: (resource_rank(lg), lg.code)):
        cls = "-" if lang.resource_class is None else str(lang.resource_class)
        if wanted is not None and not {lang.resource, cls} & wanted:
            continue
        present = _present(lang, root, lexicons)
        if not all(present[h] for h in has):
            continue
        rows.append({
            "code": lang.code, "name": lang.name, "script": lang.script, "class": cls, "resource": lang.resource,
            "flores": lang.flores or "-", "ntrex": lang.ntrex or "-", "massive": lang.massive or "-",
            "iso": "/".join(c for c in (lang.iso3, lang.iso1) if c),
            "data": ",".join(h for h in HAS if present[h] and h not in ("gatitos", "muse")) or "-",
            "lexicons": ",".join(dict.fromkeys(r["source"] for r in lexicons.get(lang.code, []))) or "-",
            "resource_source": lang.resource_source,
        })
    return rows
