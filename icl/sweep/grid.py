"""Which combinations of a sweep's lists are runs: the one rule a sweep is counted and expanded by (icl.sweep.load.TaskGrid).

A sweep is the product of its lists. A combination is left out only where it cannot be built at all:
self-labelled demos (`selflabel`) label the pool's text in the run's own language, so a pool in another
language (`train:en-US` for sw-KE) has nothing to label. Combinations that can be built but would show
the model the same prompts as another (a selector at 0 shots, hints under a template without hints)
are not decided here, from names, but by `icl.run.noops` from the prompts themselves.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from icl.errors import ConfigError
from icl.languages import get_language, non_english

AUGMENTS = ("none", "hints", "synthetic", "hints+synthetic", "selflabel")
"""The keys of icl.augment.augmenters.AUGMENTERS (kept here so that reading a sweep loads no lexicon code;
a test checks they agree)."""

IN_LANGUAGE_AUGMENTS = frozenset({"selflabel"})
"""Augmentations that need the pool's text in the run's own language."""


def applicable(src: str, tgt: str, augment: str, pool_language: str | None) -> bool:
    """Whether a combination can be built (see the module docstring)."""
    if augment in IN_LANGUAGE_AUGMENTS and pool_language is not None:
        return get_language(pool_language).code == non_english(src, tgt)
    return True


def morph_flag(value: Any, where: str, path: Path) -> bool:
    """`morph: [off, on]` (YAML 1.1 reads them as booleans) or the strings "off"/"on"."""
    if isinstance(value, bool):
        return value
    if value in ("off", "on"):
        return value == "on"
    raise ConfigError(f"{path}: {where}: {value!r} is not one of off, on")
