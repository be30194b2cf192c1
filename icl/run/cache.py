"""A content-addressed completion cache in SQLite: (engine identity, parameters, prompt) -> result.

Completions are committed as each engine chunk returns, so a killed sweep loses at most the chunk in
flight, and a re-run sends only prompts that are missing. Anything that changes a prompt or the decoding
parameters changes its key, so exactly the affected entries are recomputed.

The same file records how long each engine call took (`record_throughput`), so that `icl plan` can
estimate a sweep's time from this machine's own history (`throughput`).
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

SCHEMA_VERSION = 2
"""`PRAGMA user_version` of the file. 1 (or 0, before it was set): completions only; 2: + throughput.
Tables are created when missing, so older files gain the new table on first open and keep their entries;
an older icl opening a newer file simply ignores the table it does not know."""

THROUGHPUT_WINDOW = 200
"""`throughput` reads at most this many of the latest engine calls of a kind (machines and versions
change; old history should fade)."""


def cache_key(*parts: Any) -> str:
    """sha256 over the JSON of the parts (stable across processes and machines)."""
    return hashlib.sha256(json.dumps(parts, sort_keys=True, ensure_ascii=False).encode()).hexdigest()


def cache_keys(head: Sequence[Any], tails: Iterable[Any]) -> list[str]:
    """`cache_key(*head, tail)` for each tail, the head's JSON written once: an intent item ranks 60
    labels after one prompt, and serialising that prompt per label was most of a cached re-run's lookup.
    Equal keys, since a JSON list is its items' JSON joined by ", " between brackets."""
    prefix = json.dumps(list(head), sort_keys=True, ensure_ascii=False)[:-1] + (", " if head else "")
    return [hashlib.sha256((prefix + json.dumps(tail, sort_keys=True, ensure_ascii=False) + "]").encode()).hexdigest()
            for tail in tails]


class CompletionCache:
    """Durable key -> JSON value store; WAL mode so readers never block the writer."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self.db = sqlite3.connect(str(path), timeout=60)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=NORMAL")
        self.db.execute("CREATE TABLE IF NOT EXISTS completions (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
        self.db.execute("CREATE TABLE IF NOT EXISTS throughput (identity TEXT NOT NULL, kind TEXT NOT NULL, "
                        "prompts INTEGER NOT NULL, prompt_tokens INTEGER, seconds REAL NOT NULL, at REAL NOT NULL)")
        self.db.execute("CREATE INDEX IF NOT EXISTS throughput_by_identity ON throughput (identity, kind, at)")
        if int(self.db.execute("PRAGMA user_version").fetchone()[0]) < SCHEMA_VERSION:
            self.db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
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

    def existing(self, keys: Iterable[str]) -> set[str]:
        """Which of those keys are cached (values are not read)."""
        keys = list(dict.fromkeys(keys))
        found: set[str] = set()
        for start in range(0, len(keys), 500):
            chunk = keys[start : start + 500]
            marks = ",".join("?" * len(chunk))
            found.update(k for (k,) in self.db.execute(f"SELECT key FROM completions WHERE key IN ({marks})", chunk))
        return found

    def put_many(self, items: Mapping[str, Any]) -> None:
        """Write and commit (durable once this returns)."""
        self.db.executemany("INSERT OR REPLACE INTO completions (key, value) VALUES (?, ?)",
                            [(k, json.dumps(v, ensure_ascii=False)) for k, v in items.items()])
        self.db.commit()

    def record_throughput(self, identity: str, kind: str, prompts: int, prompt_tokens: int | None,
                          seconds: float) -> None:
        """Record one engine call: `prompts` prompts (`kind` "generate"; or "score": prompts whose
        continuations were scored) answered in `seconds` of wall time, engine start-up excluded."""
        if prompts <= 0 or seconds < 0:
            return
        self.db.execute("INSERT INTO throughput (identity, kind, prompts, prompt_tokens, seconds, at) "
                        "VALUES (?, ?, ?, ?, ?, ?)", (identity, kind, prompts, prompt_tokens, seconds, time.time()))
        self.db.commit()

    def throughput(self, identity: str, kind: str) -> Throughput | None:
        """This engine identity's recorded speed for one kind of call, or None where it has none.

        Total-based: the summed seconds of the latest `THROUGHPUT_WINDOW` calls over their summed
        prompts, so a call of 500 prompts weighs 500 times one of a single prompt (a median over calls
        would let many small labelling calls outvote the big ones)."""
        row = self.db.execute(
            "SELECT COUNT(*), SUM(prompts), SUM(seconds) FROM (SELECT prompts, seconds FROM throughput "
            "WHERE identity = ? AND kind = ? ORDER BY at DESC LIMIT ?)", (identity, kind, THROUGHPUT_WINDOW)
        ).fetchone()
        calls, prompts, seconds = int(row[0]), int(row[1] or 0), float(row[2] or 0.0)
        return Throughput(kind, calls, prompts, seconds) if prompts else None

    def __len__(self) -> int:
        return int(self.db.execute("SELECT COUNT(*) FROM completions").fetchone()[0])

    def close(self) -> None:
        self.db.close()


@dataclass(frozen=True)
class Throughput:
    """Recorded engine speed for one engine identity and kind of call."""

    kind: str
    """`generate` or `score`."""
    calls: int
    """Engine calls the figure rests on."""
    prompts: int
    """Prompts those calls answered."""
    seconds: float
    """Their summed wall time."""

    @property
    def seconds_per_prompt(self) -> float:
        return self.seconds / self.prompts
