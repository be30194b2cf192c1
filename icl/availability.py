"""What data exists here for each language (for `icl langs`)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from icl.config import data_dir
from icl.data import flores_path, massive_path, ntrex_path
from icl.errors import DataError
from icl.languages import RESOURCE_ORDER, Language, all_languages


def _exists(fn: Any, lang: Language) -> bool:
    try:
        return Path(fn(lang)).is_file()
    except DataError:
        return False


def availability() -> list[dict[str, Any]]:
    """One row per language, low-resource first."""
    root = data_dir()
    try:
        from icl.lexicon import catalogue

        lexicons: dict[str, Any] = catalogue()
    except ModuleNotFoundError:
        lexicons = {}
    rows = []
    for lang in sorted(all_languages(), key=lambda lg: (RESOURCE_ORDER[lg.resource], lg.iso3)):
        um = lang.unimorph and (root / "unimorph" / lang.unimorph).is_dir()
        sources = lexicons.get(lang.iso3, [])
        names = sorted({s["format"] if isinstance(s, dict) else str(s) for s in sources}) if sources else []
        rows.append({
            "iso3": lang.iso3, "name": lang.name, "resource": lang.resource, "flores": lang.flores or "-",
            "ntrex": lang.ntrex or "-", "massive": lang.massive or "-",
            "FLORES": "yes" if _exists(flores_path, lang) else "-",
            "NTREX": "yes" if _exists(ntrex_path, lang) else "-",
            "MASSIVE": "yes" if _exists(massive_path, lang) else "-",
            "UniMorph": lang.unimorph if um else "-",
            "SIGMORPHON": lang.sigmorphon or "-",
            "lexicons": ",".join(names) or "-",
        })
    return rows
