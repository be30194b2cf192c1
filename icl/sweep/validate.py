"""Checks for values read from a sweep YAML, each failing with the file and the key path named, so a bad
value reads the same wherever it was written."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from icl.errors import ConfigError


def check_keys(where: str, mapping: Any, known: set[str], path: Path) -> Mapping[str, Any]:
    """A mapping whose keys are all known."""
    if not isinstance(mapping, Mapping):
        raise ConfigError(f"{path}: {where}: expected a mapping, got {type(mapping).__name__}")
    for key in mapping:
        if key not in known:
            prefix = f"{where}." if where else ""
            raise ConfigError(f"{path}: {prefix}{key}: unknown key (known: {', '.join(sorted(known))})")
    return mapping


def check_list(where: str, value: Any, kind: type, path: Path, allowed: Sequence[Any] | None = None) -> list[Any]:
    """A non-empty list of `kind` (booleans are not ints), each in `allowed` when given."""
    if not isinstance(value, list) or not value:
        raise ConfigError(f"{path}: {where}: expected a non-empty list, got {value!r}")
    for item in value:
        if not isinstance(item, kind) or isinstance(item, bool) and kind is int:
            raise ConfigError(f"{path}: {where}: {item!r} is not a {kind.__name__}")
        if allowed is not None and item not in allowed:
            raise ConfigError(f"{path}: {where}: {item!r} is not one of {', '.join(map(str, allowed))}")
    return value


def check_scalar(where: str, value: Any, kind: type, path: Path) -> Any:
    """One value of `kind` (booleans only where `kind` is bool)."""
    if not isinstance(value, kind) or isinstance(value, bool) and kind is not bool:
        raise ConfigError(f"{path}: {where}: expected {kind.__name__}, got {value!r}")
    return value
