"""Derived data kept on disk between processes, keyed on content: what a re-run would otherwise rebuild.

A re-run of a finished sweep reads the same files, excludes the same leaking pool items, retrieves the
same BM25 demos and recomputes the same gains. Each of these is a pure function of file contents, texts
and icl's own code, so its result is stored under `cache_dir()/derived/<kind>/` with a key that hashes
all of them (`key`): a changed data file, pool, result or source file of icl is a different key, never a
stale hit. Modification times are never part of a key.

Values are plain Python data (tuples, lists, dicts, str, int, float, None) written with `marshal`,
which loads them ten times faster than JSON and never runs code. Writes go to a temporary file in the
same folder, then `os.replace`, so concurrent runs see either nothing or a whole file; a file that
cannot be read (truncated by a full disk, written by another Python) counts as a miss.
"""

from __future__ import annotations

import hashlib
import marshal
import os
import sys
import tempfile
from collections.abc import Callable, Iterable
from functools import cache
from pathlib import Path
from typing import Any, TypeVar

from icl.config import derived_dir

FORMAT = 1
"""Bumped when the layout of stored values changes (old files are then never read)."""

T = TypeVar("T")


@cache
def code_digest() -> str:
    """sha256 over every file of the installed icl package (path and bytes) and the Python version:
    any edit to icl's code or shipped tables changes every derived key, so a result computed by other
    code is never reused."""
    root = Path(__file__).resolve().parent
    digest = hashlib.sha256(f"{sys.version}\0{FORMAT}\0".encode())
    for path in sorted(p for p in root.rglob("*") if p.is_file() and "__pycache__" not in p.parts):
        digest.update(f"{path.relative_to(root).as_posix()}\0".encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


@cache
def _file_digest(path: str, size: int, mtime_ns: int) -> str:
    del size, mtime_ns  # part of the in-process memo key only: the digest itself is of the bytes
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def file_digest(path: Path, memo: bool = True) -> str:
    """sha256 of a file's bytes ("missing" where it cannot be read). `memo`: hashed once per process and
    file state (size, modification time), as icl's in-process caches of data files are keyed; without
    it, hashed on every call (files a process writes itself, such as results)."""
    try:
        st = path.stat()
        if not memo:
            return hashlib.sha256(path.read_bytes()).hexdigest()
        return _file_digest(str(path), st.st_size, st.st_mtime_ns)
    except OSError:
        return "missing"


def key(*parts: Any) -> str:
    """sha256 over the repr of the parts and icl's code digest."""
    digest = hashlib.sha256(code_digest().encode())
    for part in parts:
        digest.update(b"\0")
        digest.update(repr(part).encode())
    return digest.hexdigest()


def text_digest(texts: Iterable[str]) -> str:
    """sha256 over a sequence of strings (each one delimited, so the split between them counts)."""
    digest = hashlib.sha256()
    for text in texts:
        digest.update(text.encode())
        digest.update(b"\0\1")
    return digest.hexdigest()


def _path(kind: str, digest: str) -> Path:
    return derived_dir() / kind / f"{digest}.marshal"


def load(kind: str, digest: str) -> Any | None:
    """The value stored under that key, or None (never stored, or unreadable)."""
    try:
        data = _path(kind, digest).read_bytes()
    except OSError:
        return None
    try:
        return marshal.loads(data)
    except (EOFError, ValueError, TypeError):
        return None


def save(kind: str, digest: str, value: Any) -> None:
    """Store a value atomically (a temporary file renamed over the key's file)."""
    path = _path(kind, digest)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(marshal.dumps(value))
        os.replace(tmp, path)
    finally:  # gone once renamed; left behind only when writing failed
        Path(tmp).unlink(missing_ok=True)


def cached(kind: str, digest: str, compute: Callable[[], T], encode: Callable[[T], Any] = lambda v: v,
           decode: Callable[[Any], T] = lambda v: v) -> T:
    """`decode(load(...))` when stored, else `compute()`, stored as `encode(value)` (exceptions from
    `compute` propagate and nothing is stored)."""
    stored = load(kind, digest)
    if stored is not None:
        return decode(stored)
    value = compute()
    save(kind, digest, encode(value))
    return value
