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

SCHEMA_VERSION = 3
"""`PRAGMA user_version` of the file. 1 (or 0, before it was set): completions only; 2: + throughput;
3: + which software made each answer (`makers`, `completions.maker`). Tables and columns are added when
missing, so older files gain them on first open and keep their entries (whose maker stays unknown, NULL);
an older icl opening a newer file ignores what it does not know, and its answers' maker is NULL."""

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
    """Durable key -> JSON value store; WAL mode so readers never block the writer. Each stored answer
    notes its maker: the software that computed it (`maker`, a JSON text such as icl's version and commit
    and the engine library's version), kept once in `makers` and referenced by id, so a run answered from
    the cache can say which versions made its answers (provenance.json)."""

    def __init__(self, path: Path, maker: str | None = None) -> None:
        """`maker`: what put_many records as the maker of new answers (None: icl.run.provenance.maker(),
        computed on the first put)."""
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._maker = maker
        self._maker_id: int | None = None
        self._makers: dict[int, str] | None = None
        self.db = sqlite3.connect(str(path), timeout=60)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=NORMAL")
        self.db.execute("CREATE TABLE IF NOT EXISTS completions (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
        self.db.execute("CREATE TABLE IF NOT EXISTS throughput (identity TEXT NOT NULL, kind TEXT NOT NULL, "
                        "prompts INTEGER NOT NULL, prompt_tokens INTEGER, seconds REAL NOT NULL, at REAL NOT NULL)")
        self.db.execute("CREATE INDEX IF NOT EXISTS throughput_by_identity ON throughput (identity, kind, at)")
        self.db.execute("CREATE TABLE IF NOT EXISTS makers (id INTEGER PRIMARY KEY, maker TEXT NOT NULL UNIQUE)")
        if not self._has_maker():
            try:
                self.db.execute("ALTER TABLE completions ADD COLUMN maker INTEGER")
            except sqlite3.OperationalError:  # another process added it since we looked
                if not self._has_maker():
                    raise
        if int(self.db.execute("PRAGMA user_version").fetchone()[0]) < SCHEMA_VERSION:
            self.db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        self.db.commit()

    def _has_maker(self) -> bool:
        return "maker" in {row[1] for row in self.db.execute("PRAGMA table_info(completions)")}

    def get_many(self, keys: Iterable[str]) -> dict[str, Any]:
        """The cached values of those keys that are present."""
        return self.get_made(keys)[0]

    def get_made(self, keys: Iterable[str]) -> tuple[dict[str, Any], dict[str, str | None]]:
        """`get_many`, and each found key's maker (None where unknown: stored before makers were kept,
        or by an older icl), read in the same query."""
        keys = list(dict.fromkeys(keys))
        found: dict[str, Any] = {}
        made: dict[str, int | None] = {}
        for start in range(0, len(keys), 500):
            chunk = keys[start : start + 500]
            marks = ",".join("?" * len(chunk))
            for key, value, maker in self.db.execute(
                    f"SELECT key, value, maker FROM completions WHERE key IN ({marks})", chunk):
                found[key] = json.loads(value)
                made[key] = maker
        if self._makers is None or any(m is not None and m not in self._makers for m in made.values()):
            self._makers = dict(self.db.execute("SELECT id, maker FROM makers"))
        return found, {k: None if m is None else self._makers.get(m) for k, m in made.items()}

    @property
    def maker(self) -> str:
        """What new answers are recorded as made by."""
        if self._maker is None:
            from icl.run.provenance import maker

            self._maker = maker()
        return self._maker

    def _maker_row(self) -> int:
        if self._maker_id is None:
            self.db.execute("INSERT OR IGNORE INTO makers (maker) VALUES (?)", (self.maker,))
            self._maker_id = int(self.db.execute("SELECT id FROM makers WHERE maker = ?", (self.maker,)).fetchone()[0])
        return self._maker_id

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
        """Write and commit (durable once this returns), each answer noted as made by `maker`."""
        maker = self._maker_row()
        self.db.executemany("INSERT OR REPLACE INTO completions (key, value, maker) VALUES (?, ?, ?)",
                            [(k, json.dumps(v, ensure_ascii=False), maker) for k, v in items.items()])
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
