"""A content-addressed completion cache in SQLite: (engine identity, parameters, prompt) -> result.

Completions are committed as each engine chunk returns, so a killed sweep loses at most the chunk in
flight, and a re-run sends only prompts that are missing. Anything that changes a prompt or the decoding
parameters changes its key, so exactly the affected entries are recomputed.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any


def cache_key(*parts: Any) -> str:
    """sha256 over the JSON of the parts (stable across processes and machines)."""
    return hashlib.sha256(json.dumps(parts, sort_keys=True, ensure_ascii=False).encode()).hexdigest()


class CompletionCache:
    """Durable key -> JSON value store; WAL mode so readers never block the writer."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self.db = sqlite3.connect(str(path), timeout=60)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=NORMAL")
        self.db.execute("CREATE TABLE IF NOT EXISTS completions (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
        self.db.commit()

    def get_many(self, keys: Iterable[str]) -> dict[str, Any]:
        """The cached values of those keys that are present."""
        keys = list(dict.fromkeys(keys))
        found: dict[str, Any] = {}
        for start in range(0, len(keys), 500):
            chunk = keys[start : start + 500]
            marks = ",".join("?" * len(chunk))
            for key, value in self.db.execute(f"SELECT key, value FROM completions WHERE key IN ({marks})", chunk):
                found[key] = json.loads(value)
        return found

    def put_many(self, items: Mapping[str, Any]) -> None:
        """Write and commit (durable once this returns)."""
        self.db.executemany("INSERT OR REPLACE INTO completions (key, value) VALUES (?, ?)",
                            [(k, json.dumps(v, ensure_ascii=False)) for k, v in items.items()])
        self.db.commit()

    def __len__(self) -> int:
        return int(self.db.execute("SELECT COUNT(*) FROM completions").fetchone()[0])

    def close(self) -> None:
        self.db.close()
