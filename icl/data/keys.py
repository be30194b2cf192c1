"""What each key of a data-set declaration may hold (icl.data.declaration), and what to write instead: every
check names the declaration (`where`) and the key."""

from __future__ import annotations

import string
from collections.abc import Mapping
from typing import Any

from icl.errors import ConfigError
from icl.tasks import TASKS

FIXED_PLACEHOLDERS = {"split", "data"}
LANGUAGE_FIELDS = ("code", "iso3", "iso1", "flores", "ntrex", "massive", "gatitos", "muse", "unimorph")
"""Language fields a path may name, e.g. `{flores}` -> `swh_Latn`."""


def fields_of(pattern: str) -> set[str]:
    return {f for _, f, _, _ in string.Formatter().parse(pattern) if f} - FIXED_PLACEHOLDERS


def fail(where: str, key: str, message: str) -> ConfigError:
    return ConfigError(f"{where}: {key}: {message}")


def string_of(raw: Mapping[str, Any], key: str, where: str, default: str | None = None) -> str:
    value = raw.get(key, default)
    if not isinstance(value, str) or not value:
        raise fail(where, key, f"expected a non-empty string, got {value!r}")
    return value


def str_list(raw: Mapping[str, Any], key: str, where: str) -> tuple[str, ...]:
    value = raw.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise fail(where, key, f"expected a list of names, got {value!r}")
    return tuple(value)


def split_fix(path: str, splits: tuple[str, ...]) -> str:
    """What to write instead of a path that names no split: the path with the split it names (or a
    `{split}` before its extension) as the placeholder, one file per split."""
    if named := [s for s in splits if s in path]:
        fixed = path.replace(max(named, key=len), "{split}")
    else:
        stem, dot, ext = path.rpartition(".")
        fixed = f"{stem}.{{split}}.{ext}" if dot and "/" not in ext else f"{path}.{{split}}"
    return (f"write path: {fixed!r} (one file per split: {', '.join(fixed.replace('{split}', s) for s in splits)}), "
            f"or name the column that says each record's split (split_column: <column>), or list one split")


def check_languages(languages: tuple[str, ...], task: str, path: str, columns: Mapping[str, str], where: str) -> None:
    """`languages:` names the fixed language(s) of a file that does not say them; where the path has a
    language field or a column says each item's language, the message says to drop it."""
    if not languages:
        return
    parallel, told = TASKS[task].parallel, ""
    in_path = sorted(fields_of(path) & set(LANGUAGE_FIELDS))
    in_columns = [r for r in ("language", "source_language", "target_language") if r in columns]
    if in_path and not parallel:
        told = (f"the path's {{{in_path[0]}}} already gives each file's language (one file per language), so drop "
                f"`languages:` and the set has every language it has files for (a sweep picks them in its section's "
                f"`languages:`)")
    elif in_columns:
        told = f"column {columns[in_columns[0]]!r} ({in_columns[0]}) already says each item's language, so drop `languages:`"
    if told:
        raise fail(where, "languages", f"{list(languages)} is not needed here: {told}")
    if len(languages) != (want := 2 if parallel else 1):
        shape = "[<source column's language>, <target column's language>], e.g. [eng, yor]" if parallel else \
            "[<the file's language>], e.g. [deu]; or one file per language with a language field in the path " \
            "(e.g. path: data/{iso1}.{split}.conll) and no `languages:`"
        raise fail(where, "languages", f"task {task} names {want} language(s) (got {len(languages)}): write "
                                        f"languages: {shape}")


def check_columns(raw: Any, task: str, fmt: str, where: str) -> dict[str, str]:
    if not isinstance(raw, Mapping):
        raise fail(where, "columns", "expected a mapping of role -> column name")
    roles = TASKS[task].roles
    for role, column in raw.items():
        if role not in roles:
            raise fail(where, f"columns.{role}", f"not a role of task {task} (roles: {', '.join(roles)})")
        if not isinstance(column, str | int) or isinstance(column, bool):
            raise fail(where, f"columns.{role}", f"expected a column name or index, got {column!r}")
    if fmt == "lines":
        if raw:
            raise fail(where, "columns", "format lines has no columns (one sentence a line)")
        return {}
    conll = TASKS[task].conll_columns
    defaults = {r: conll.get(r, c) if fmt == "conll" else c for r, c in roles.items()}
    merged = {r: c for r, c in defaults.items() if c is not None}
    merged.update({r: str(c) for r, c in raw.items()})
    return merged
