"""What a plan remembers between calls: each run's cache keys and token counts, valid while nothing
prompts are made of has changed (`inputs_stamp`)."""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from icl.errors import IclError

MEMO_VERSION = 2
"""Bumped when what the plan memo stores changes."""

_STAMP_MAX_FILES = 50_000
"""A folder tree larger than this is not stamped file by file; plans of such sweeps are not remembered."""


@dataclass(frozen=True)
class _RunKeys:
    """One run's requests: what the plan needs of its built prompts (and what the memo stores)."""

    items: int
    gen: tuple[tuple[str, str, int | None], ...]
    """(cache key, prompt digest, prompt tokens)."""
    score: tuple[tuple[str, int | None, tuple[str, ...]], ...]
    """(prompt digest, prompt tokens, cache key of each continuation)."""
    fingerprint: str
    """What the run would ask its engine (icl.run.noops.fingerprint): equal runs are one run."""

    def to_json(self) -> dict[str, Any]:
        return {"items": self.items, "gen": [list(g) for g in self.gen],
                "score": [[d, t, list(keys)] for d, t, keys in self.score], "fingerprint": self.fingerprint}

    @classmethod
    def from_json(cls, body: dict[str, Any]) -> _RunKeys:
        return cls(int(body["items"]), tuple((k, d, t) for k, d, t in body["gen"]),
                   tuple((d, t, tuple(keys)) for d, t, keys in body["score"]), str(body["fingerprint"]))


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:24]


_NOT_PROMPT_CODE = ("analysis", "cli", "metrics")
"""Subpackages of icl that neither build prompts nor make cache keys: editing them keeps plans valid."""


def _files_under(root: Path, budget: list[int], skip: tuple[str, ...] = ()) -> Iterator[tuple[str, int, int]]:
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if d != "__pycache__" and not d.startswith(".")
                             and not (dirpath == str(root) and d in skip))
        for name in sorted(filenames):
            budget[0] -= 1
            if budget[0] < 0:
                raise OverflowError(root)
            try:
                st = os.stat(os.path.join(dirpath, name))
            except OSError:
                continue
            yield os.path.join(dirpath, name), st.st_size, st.st_mtime_ns


def inputs_stamp(sweep: Any) -> str | None:
    """A digest of everything prompts are made of besides the run's spec: the data set declarations and
    every file's size and modification time under the icl package, templates, lexicon catalogue, data
    folder, UniMorph folder, synthetic-demo cache, and the folders declared data sets read. None where
    that is too many files to stamp."""
    from icl.config import cache_dir, catalogue_path, data_dir, prompts_dir

    package = Path(__file__).resolve().parents[2]  # icl/, found from here: `import icl` is the notebook facade
    roots = {package, prompts_dir().resolve(), catalogue_path().resolve().parent,
             (cache_dir() / "synthetic").resolve()}
    try:
        roots.add(data_dir().resolve())
    except IclError:
        pass  # a sweep of its own data sets needs none; one that does fails building, as `icl run` would
    if os.environ.get("UNIMORPH"):
        roots.add(Path(os.environ["UNIMORPH"]).expanduser().resolve())
    for spec in sweep.datasets.specs:
        for pattern in (spec.path, *(p for _, p in spec.paths)):
            if pattern and "{data}" not in pattern:
                prefix = pattern.split("{", 1)[0]
                roots.add((Path(spec.base) / (prefix if prefix.endswith("/") else os.path.dirname(prefix))).resolve())
    digest = hashlib.sha256(json.dumps([MEMO_VERSION, repr(sweep.datasets.specs)]).encode())
    budget = [_STAMP_MAX_FILES]
    try:
        for root in sorted(roots):
            digest.update(str(root).encode() + b"\0")
            if root.is_dir():
                for entry in _files_under(root, budget, _NOT_PROMPT_CODE if root == package else ()):
                    digest.update(repr(entry).encode())
    except OverflowError:
        return None
    return digest.hexdigest()


class _Memo:
    """Per-sweep-file store of run keys: `cache_dir()/plans/<digest of the sweep's path>.json`."""

    def __init__(self, sweep_path: Path, stamp: str | None) -> None:
        from icl.config import cache_dir

        self.path = cache_dir() / "plans" / f"{_digest(str(sweep_path.resolve()))}.json"
        self.stamp = stamp
        self.runs: dict[str, dict[str, Any]] = {}
        self.sources: dict[str, str] = {}
        """tokenizer (as `_tokenizer_source` names it) -> what `token_counter` said of it"""
        if stamp is None or not self.path.is_file():
            return
        try:
            body = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError):
            return
        if body.get("stamp") == stamp:
            self.runs = body.get("runs", {})
            self.sources = body.get("sources", {})

    def get(self, key: str) -> _RunKeys | None:
        body = self.runs.get(key)
        return _RunKeys.from_json(body) if body is not None and "needs" not in body else None

    def needs(self, key: str) -> list[str] | None:
        """A self-labelling run remembered as unbuildable: the labelling keys it was waiting for."""
        body = self.runs.get(key)
        return list(body["needs"]) if body is not None and "needs" in body else None

    def save(self, stamp: str | None, runs: dict[str, _RunKeys], waiting: dict[str, list[str]]) -> None:
        if stamp is None:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(f".{os.getpid()}.tmp")
        entries: dict[str, Any] = {k: v.to_json() for k, v in runs.items()}
        entries.update({k: {"needs": v} for k, v in waiting.items()})
        body = {"stamp": stamp, "sources": self.sources, "runs": entries}
        tmp.write_text(json.dumps(body), encoding="utf-8")
        tmp.replace(self.path)
