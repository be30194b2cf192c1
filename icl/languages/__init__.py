"""Languages: one table of every language icl knows (`table`, generated from the data) and how any
spelling of a language resolves to a row (`tags`: BCP-47 and ISO codes read with langcodes)."""

from icl.languages.table import (
    RESOURCE_CLASSES,
    RESOURCE_ORDER,
    Language,
    all_languages,
    find_language,
    get_language,
    non_english,
    pair_label,
    resource_level,
    resource_rank,
    shadowed_aliases,
)

__all__ = ["RESOURCE_CLASSES", "RESOURCE_ORDER", "Language", "all_languages", "find_language", "get_language",
           "non_english", "pair_label", "resource_level", "resource_rank", "shadowed_aliases"]
