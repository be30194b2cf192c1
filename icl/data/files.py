"""Reading the text files users write (data sets, lexicons, tables, templates, YAML): every reader opens
them here, so a file saved with a byte-order mark or Windows line ends (CRLF) reads like any other,
and every problem names the file, and the line where there is one."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path
from typing import IO, Any

import yaml

from icl.errors import ConfigError

TEXT_ENCODING = "utf-8-sig"
"""UTF-8 with or without a byte-order mark (Notepad and Excel write one); the mark is dropped."""


Stamp = tuple[tuple[str, int, int], ...]
"""(path, size, modification time in ns) of files: part of the key of every cache over file contents."""


_reads: ContextVar[dict[str, None] | None] = ContextVar("icl_reads", default=None)
"""The files stamped inside `recording()` (insertion-ordered), or None outside it."""


def stamp(*paths: Path) -> Stamp:
    """Where files are and what state they are in, so a cache keyed on it reads an edited file again
    within the same process (a missing file is (-1, -1): found later, it is read then).

    Every cache over file contents stamps the files it would read, hit or miss, so inside `recording()`
    the stamped files are exactly the files a step depends on (a run's provenance lists them)."""
    out = []
    reads = _reads.get()
    for path in paths:
        try:
            st = path.stat()
            out.append((str(path), st.st_size, st.st_mtime_ns))
            if reads is not None:
                reads[str(path)] = None
        except OSError:
            out.append((str(path), -1, -1))
    return tuple(out)


@contextmanager
def recording() -> Iterator[list[str]]:
    """The paths of existing files stamped inside the block (filled when it ends), nested recordings
    each seeing their own block's files and passing them on to the enclosing one."""
    outer = _reads.get()
    reads: dict[str, None] = {}
    token = _reads.set(reads)
    found: list[str] = []
    try:
        yield found
    finally:
        _reads.reset(token)
        found.extend(reads)
        if outer is not None:
            outer.update(reads)


def open_text(path: Path, newline: str | None = None) -> IO[str]:
    """A text file for reading: a leading byte-order mark dropped, `\r\n` read as `\n` (pass
    `newline=""` for the csv module, which handles line ends itself)."""
    return path.open(encoding=TEXT_ENCODING, newline=newline)


def read_text(path: Path) -> str:
    """A whole text file, as `open_text` reads it."""
    with open_text(path) as fh:
        return fh.read()


def load_yaml(path: Path, what: str = "YAML file") -> Any:
    """Parse a YAML file, naming file:line on a syntax error; `what` names a missing file."""
    if not path.is_file():
        raise ConfigError(f"{path}: {what} not found")
    try:
        return yaml.safe_load(read_text(path))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f":{mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise ConfigError(f"{path}{line}: malformed YAML: {problem}") from None
