"""Reading a declared data set's files: one function per format, each returning records by role.

A record is `{role: value}` for the roles the declaration maps (`source`, `target`, `text`, `label`,
`id`, `group`, language roles) plus its position, so that every error can name file:line and the
declaration key that asked for the missing piece.
"""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from types import MappingProxyType
from typing import Any

from icl.data.declaration import DatasetSpec
from icl.data.files import Stamp, open_text, stamp
from icl.errors import DataError, MissingFileError


@dataclass(frozen=True)
class Record:
    """One item of a data set file before it becomes an Example."""

    line: int
    """1-based line (or row, or block start) in its file: errors and default ids use it."""
    index: int
    """0-based position among the file's records of its split (the default id)."""
    values: Mapping[str, str]
    """role -> value."""


FILES_CACHED = 256
"""Files whose contents a process keeps (keyed on their stamp: an edited file is read again)."""


def read_lines(path: Path) -> tuple[str, ...]:
    """One sentence a line, exactly as in the file (trailing newline stripped, nothing else)."""
    return _read_lines(path, stamp(path))


@lru_cache(maxsize=FILES_CACHED)
def _read_lines(path: Path, state: Stamp) -> tuple[str, ...]:
    if not path.is_file():
        raise MissingFileError(f"{path}: file not found")
    with open_text(path) as fh:
        return tuple(line.rstrip("\n").rstrip("\r") for line in fh)


def _missing(path: Path, line: int, column: str, role: str, spec: DatasetSpec) -> DataError:
    return DataError(f"{path}:{line}: no column {column!r} (declared as columns.{role} in {spec.where})")


def _pick(raw: Mapping[str, Any], path: Path, line: int, spec: DatasetSpec) -> dict[str, str]:
    out = {}
    for role, column in spec.columns:
        if column not in raw or raw[column] is None:
            raise _missing(path, line, column, role, spec)
        out[role] = str(raw[column])
    if spec.split_column is not None:
        if spec.split_column not in raw:
            raise DataError(f"{path}:{line}: no column {spec.split_column!r} (declared as split_column in {spec.where})")
        out["_split"] = str(raw[spec.split_column])
    return out


def _jsonl(path: Path, spec: DatasetSpec) -> list[tuple[int, dict[str, str]]]:
    rows = []
    with open_text(path) as fh:
        for lineno, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                raw = json.loads(line)
            except json.JSONDecodeError as exc:
                raise DataError(f"{path}:{lineno}: not a JSON record ({exc.msg})") from None
            if not isinstance(raw, dict):
                raise DataError(f"{path}:{lineno}: not a JSON object")
            rows.append((lineno, _pick(raw, path, lineno, spec)))
    return rows


def _delimited(path: Path, spec: DatasetSpec) -> list[tuple[int, dict[str, str]]]:
    delimiter = "\t" if spec.format == "tsv" else ","
    with open_text(path, newline="") as fh:
        reader = csv.reader(fh, delimiter=delimiter, quoting=csv.QUOTE_NONE if delimiter == "\t" else csv.QUOTE_MINIMAL)
        table = [(reader.line_num, row) for row in reader if any(cell.strip() for cell in row)]
    if spec.header:
        if not table:
            return []
        header = table[0][1]
        for role, column in [*spec.columns, *([("split_column", spec.split_column)] if spec.split_column else [])]:
            if column not in header:
                key = role if role == "split_column" else f"columns.{role}"
                raise DataError(f"{path}:{table[0][0]}: no column {column!r} in the header ({', '.join(header)}); "
                                f"declared as {key} in {spec.where}")
        return [(line, _pick(dict(zip(header, row, strict=False)), path, line, spec)) for line, row in table[1:]]
    rows = []
    for line, row in table:
        raw: dict[str, Any] = {}
        for role, column in spec.columns:
            if not column.isdigit():
                raise DataError(f"{spec.where}: columns.{role}: {column!r} must be a 0-based index when header: false")
            if int(column) >= len(row):
                raise DataError(f"{path}:{line}: {len(row)} fields, but columns.{role} is field {column} "
                                f"(0-based; {spec.where})")
            raw[column] = row[int(column)]
        rows.append((line, _pick(raw, path, line, spec)))
    return rows


_COMMENT = re.compile(r"#\s*([\w-]+)\s*[=:]\s?(.*)")


def _conll(path: Path, spec: DatasetSpec) -> list[tuple[int, dict[str, str]]]:
    """xSID-style blocks: `# key = value` (or `# key: value`) comments, then one token a line
    (id TAB form ...), a blank line between items. Text missing from the comments is rebuilt from
    the tokens' second column, joined by spaces."""
    rows = []
    block: dict[str, str] = {}
    tokens: list[str] = []
    start = 0

    def flush() -> None:
        if not block and not tokens:
            return
        if "text" not in block and tokens:
            block.setdefault("text", " ".join(tokens))
        rows.append((start, _pick(block, path, start, spec)))

    with open_text(path) as fh:
        for lineno, line in enumerate(fh, 1):
            line = line.rstrip("\r\n")
            if not line.strip():
                flush()
                block, tokens = {}, []
                continue
            if not block and not tokens:
                start = lineno
            if line.startswith("#"):
                match = _COMMENT.match(line)
                if match:
                    block[match.group(1)] = match.group(2).strip()
                continue
            fields = line.split("\t")
            if len(fields) < 2:
                raise DataError(f"{path}:{lineno}: expected a token line 'id<TAB>form...', a # comment or a blank line")
            tokens.append(fields[1])
    flush()
    return rows


def _hf(spec: DatasetSpec, split: str, values: Mapping[str, str]) -> list[tuple[int, dict[str, str]]]:
    """`datasets.load_dataset(**hf, split=split)`; ClassLabel columns become their names."""
    import datasets

    def fill(value: Any) -> Any:
        if isinstance(value, str):
            return value.format(**values)
        if isinstance(value, Mapping):
            return {k: fill(v) for k, v in value.items()}
        if isinstance(value, list):
            return [fill(v) for v in value]
        return value

    kwargs = fill(spec.hf)
    if "data_files" in kwargs:  # relative to the declaration, like every other path
        base = Path(spec.base)

        def absolute(v: Any) -> Any:
            if isinstance(v, str):
                return str(base / v) if not Path(v).is_absolute() else v
            if isinstance(v, Mapping):
                return {k: absolute(x) for k, x in v.items()}
            return [absolute(x) for x in v]

        kwargs["data_files"] = absolute(kwargs["data_files"])
    where = f"{spec.where}: hf"
    try:
        ds = datasets.load_dataset(**kwargs, split=split)
    except (FileNotFoundError, ValueError, ConnectionError, OSError) as exc:
        raise DataError(f"{where}: datasets.load_dataset({kwargs.get('path')!r}, split={split!r}) failed: "
                        f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}") from None
    names = {c: f.names for c, f in ds.features.items() if hasattr(f, "names")}
    rows = []
    for i, raw in enumerate(ds):
        decoded = {c: (names[c][v] if c in names and isinstance(v, int) else v) for c, v in raw.items()}
        rows.append((i + 1, _pick(decoded, Path(str(kwargs.get("path"))), i + 1, spec)))
    return rows


READERS: dict[str, Callable[[Path, DatasetSpec], list[tuple[int, dict[str, str]]]]] = {
    "jsonl": _jsonl,
    "tsv": _delimited,
    "csv": _delimited,
    "conll": _conll,
}
"""format -> reader of one file's records (`lines` and `hf` are read by their own functions)."""


def read_records(spec: DatasetSpec, split: str, path: Path | None, values: Mapping[str, str]) -> tuple[Record, ...]:
    """The records of one split: from its file (rows of other splits dropped where one file holds
    several) or from `datasets.load_dataset`."""
    rows: Sequence[tuple[int, Mapping[str, str]]]
    if spec.format == "hf":
        rows = _hf(spec, split, values)
    else:
        assert path is not None
        if not path.is_file():
            raise MissingFileError(f"{path}: file not found (data set {spec.name}, {spec.where}: path)"
                                   f"{_other_splits(spec, split, path)}")
        rows = _file_rows(spec, path, stamp(path))
        if not rows:
            raise DataError(f"{path}: empty file (data set {spec.name}, {spec.where})")
    if spec.split_column is not None:
        found = sorted({r["_split"] for _, r in rows})
        rows = [(line, r) for line, r in rows if r["_split"] == split]
        if not rows:
            raise DataError(f"{path}: no record has {spec.split_column}={split!r} (values found: {', '.join(found)}; "
                            f"{spec.where}: splits)")
    return tuple(Record(line, i, MappingProxyType({k: v for k, v in r.items() if k != "_split"}))
                 for i, (line, r) in enumerate(rows))


def _other_splits(spec: DatasetSpec, split: str, path: Path) -> str:
    """Where a split's file is missing but the path's pattern finds files of other split names beside
    it (`de.validation.conll` for a declared `dev`): what to write in `splits:` instead."""
    if "{split}" not in spec.path or split not in path.name:
        return ""
    head, _, tail = path.name.rpartition(split)
    found = sorted(f.name[len(head): len(f.name) - len(tail) or None] for f in path.parent.glob(f"{head}*{tail}")
                   if f.is_file() and len(f.name) > len(head) + len(tail))
    found = [name for name in found if name and "/" not in name]
    if not found:
        return ""
    return (f"; the path finds files for splits {', '.join(found)} here, not {split!r}: write splits: "
            f"[{', '.join(found)}] (and name that split in test_split, demo_split or pools)")


@lru_cache(maxsize=FILES_CACHED)
def _file_rows(spec: DatasetSpec, path: Path, state: Stamp) -> tuple[tuple[int, Mapping[str, str]], ...]:
    if not path.is_file():
        raise MissingFileError(f"{path}: file not found (data set {spec.name}, {spec.where}: path)")
    return tuple((line, MappingProxyType(row)) for line, row in READERS[spec.format](path, spec))
