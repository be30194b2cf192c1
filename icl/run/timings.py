"""Where a sweep's time goes, phase by phase, written to results/<sweep>/timings.json.

A `Phases` is handed along explicitly (no global timer): the CLI times loading the sweep, the runner
each step of the sweep, the engine calls their start-up and generation. What happens before any icl
code runs (interpreter start, imports) no timer inside the program can see; `process_age` reads it
from the operating system, so the benchmark can show it as a phase of its own.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

ORDER = ("start and imports", "sweep load", "data load", "prompt build", "cache lookup", "engine import", "model load", "engine start", "generation",
         "rank scoring", "scoring", "writing results", "provenance", "engine close", "gains")
"""The phases of `icl run` in the order they happen (a sweep shows only those it went through)."""


@dataclass
class Phases:
    """Seconds per named phase; a phase entered several times (one per model or run) adds up."""

    seconds: dict[str, float] = field(default_factory=dict)

    @contextmanager
    def phase(self, name: str) -> Iterator[None]:
        began = time.perf_counter()
        try:
            yield
        finally:
            self.add(name, time.perf_counter() - began)

    @contextmanager
    def rest(self, name: str) -> Iterator[None]:
        """Like `phase`, but counting only what the phases timed inside the block did not claim."""
        began, claimed = time.perf_counter(), sum(self.seconds.values())
        try:
            yield
        finally:
            self.add(name, time.perf_counter() - began - (sum(self.seconds.values()) - claimed))

    def add(self, name: str, seconds: float) -> None:
        self.seconds[name] = self.seconds.get(name, 0.0) + seconds

    def ordered(self) -> list[tuple[str, float]]:
        known = [(n, self.seconds[n]) for n in ORDER if n in self.seconds]
        return known + sorted((n, s) for n, s in self.seconds.items() if n not in ORDER)

    def to_json(self, process_seconds: float | None) -> dict[str, object]:
        return {"phases": {n: round(s, 3) for n, s in self.ordered()},
                "process_seconds": None if process_seconds is None else round(process_seconds, 3)}

    def line(self) -> str:
        return ", ".join(f"{n} {s:.1f}s" for n, s in self.ordered() if s >= 0.05)


def process_age() -> float | None:
    """Seconds since this process started, from Linux's /proc (10 ms resolution); None elsewhere."""
    try:
        fields = Path("/proc/self/stat").read_text(encoding="ascii").rsplit(")", 1)[1].split()
        started = int(fields[19]) / os.sysconf("SC_CLK_TCK")  # field 22 of stat(5): start time after boot
        return time.clock_gettime(time.CLOCK_BOOTTIME) - started
    except (OSError, ValueError, IndexError, AttributeError):
        return None
