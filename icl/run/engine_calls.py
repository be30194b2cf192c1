"""Asking an engine only what the completion cache lacks, and storing every answer as it arrives.

Requests and their cache keys come from icl.run.requests; an engine starts only when something is
missing, so a finished sweep re-runs without loading a model. Each call's duration is recorded in the
cache, which `icl plan` turns into time estimates.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from time import perf_counter
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from icl.engines import Cancelled, Completion, Engine, EngineSpec, GenParams, make_engine
from icl.errors import EngineError
from icl.run.cache import CompletionCache
from icl.run.requests import engine_identity, gen_key, score_key
from icl.run.timings import Phases
from icl.spec import ModelSpec
from icl.values.prompt import Prompt


@dataclass
class LazyEngine:
    """Starts the engine on first use, so a fully cached sweep never loads a model."""

    model: ModelSpec
    factory: Callable[[ModelSpec], Engine] | None = None
    verbose: bool = False
    """Backends print as they like instead of into the engine log."""
    engine: Engine | None = None
    calls: int = 0
    logs: list[Path] = field(default_factory=list)
    """Log files of the engines it started (named by `icl run` at the end)."""

    def get(self) -> Engine:
        if self.engine is None:
            self.engine = (self.factory(self.model) if self.factory is not None
                           else make_engine(EngineSpec(self.model.engine, self.model.name, self.model.args,
                                                       self.verbose)))
            log = getattr(getattr(self.engine, "log", None), "path", None)
            if isinstance(log, Path):
                self.logs.append(log)
        self.calls += 1
        return self.engine

    def close(self) -> None:
        if self.engine is not None and self.factory is None:  # a supplied engine belongs to its owner
            self.engine.close()
        self.engine = None


@dataclass
class SweepReport:
    """What a sweep did: where it wrote, and how much the engines were asked."""

    sweep_dir: Path
    runs: list[str] = field(default_factory=list)
    generated: int = 0
    scored: int = 0
    cached: int = 0
    engine_calls: int = 0
    logs: list[Path] = field(default_factory=list)
    """Engine log files written."""
    collapsed: int = 0
    """Runs of the sweep collapsed into others (identical prompts; icl.run.noops)."""
    phases: Phases = field(default_factory=Phases)


def progress_bar(console: Console) -> Progress:
    return Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                    console=console, transient=False)


def advance(progress: Progress, task_id: Any, n: int = 1) -> None:
    """Advance a bar; where there is no terminal to draw on (CI logs, nohup), print a line at every
    tenth of the way instead."""
    progress.advance(task_id, n)
    if not progress.console.is_terminal:
        task = progress.tasks[task_id]
        total = int(task.total or 0)
        step = max(1, total // 10)
        if int(task.completed) // step != (int(task.completed) - n) // step or task.completed >= total:
            progress.console.print(f"{task.description}: {int(task.completed)}/{total} ({task.elapsed or 0:.0f}s)",
                                   highlight=False)


def generate_missing(engine: LazyEngine, requests: dict[str, tuple[Prompt, GenParams]], results: dict[str, Any],
                      cache: CompletionCache, progress: Progress, chunk_size: int, name: str,
                      report: SweepReport, on_answer: Callable[[list[str]], None] | None = None,
                      cancel: threading.Event | None = None) -> None:
    """Generate what `results` lacks, storing each answer as it arrives and then telling `on_answer`
    its key. `cancel` (the authoring page's newer edit) is handed to the engine, which stops and raises
    Cancelled; answers that arrived before are kept in the cache."""
    missing = [k for k in requests if k not in results]
    if not missing:
        return
    identity = engine_identity(engine.model)
    by_params: dict[GenParams, list[str]] = {}
    for key in missing:
        by_params.setdefault(requests[key][1], []).append(key)
    task_id = progress.add_task(f"generate {name}", total=len(missing))
    for params, keys in by_params.items():
        keys.sort(key=lambda k: requests[k][0].as_key())  # neighbours share prefixes
        size = chunk_size or len(keys)
        for start in range(0, len(keys), size):
            chunk = keys[start : start + size]

            def store(i: int, out: Completion, chunk: list[str] = chunk) -> None:
                # Committed the moment it arrives; failures are recorded in predictions, never cached.
                value = {"text": out.text, "error": out.error}
                if out.error is None:
                    cache.put_many({chunk[i]: value})
                results[chunk[i]] = value
                report.generated += 1
                advance(progress, task_id)
                if on_answer is not None:
                    on_answer([chunk[i]])

            if cancel is not None and cancel.is_set():
                raise Cancelled(f"{len(missing)} generations cancelled before they started")
            started = _started(engine, cache, identity, report)
            began = perf_counter()
            if cancel is None:  # engines outside icl may not take the keyword; sweeps never cancel
                started.generate([requests[k][0] for k in chunk], params, on_result=store)
            else:
                started.generate([requests[k][0] for k in chunk], params, on_result=store, cancel=cancel)
            cache.record_throughput(identity, "generate", len(chunk), None, perf_counter() - began)
            report.phases.add("generation", perf_counter() - began)


def _started(engine: LazyEngine, cache: CompletionCache, identity: str, report: SweepReport) -> Engine:
    """The engine, started if need be; start-up is recorded apart from the per-prompt times (in the
    cache for `icl plan`'s estimates, and as the sweep's "engine start" phase)."""
    if engine.engine is not None:
        return engine.get()
    began = perf_counter()
    started = engine.get()
    took = perf_counter() - began
    cache.record_throughput(identity, "start", 1, None, took)
    # An engine that times its own start-up (`startup`: phase -> seconds) shows how it divides.
    split: dict[str, float] = dict(getattr(started, "startup", {}))
    for name, seconds in split.items():
        report.phases.add(name, seconds)
    report.phases.add("engine start", took - sum(split.values()))
    return started


def score_missing(engine: LazyEngine, requests: dict[str, tuple[Prompt, str]], results: dict[str, Any],
                   cache: CompletionCache, progress: Progress, name: str, report: SweepReport,
                   prompts_per_call: int = 16, on_answer: Callable[[list[str]], None] | None = None,
                   cancel: threading.Event | None = None) -> None:
    """Score what `results` lacks, `prompts_per_call` prompts an engine call, each call's answers stored
    and then told to `on_answer`; a set `cancel` stops before the next call (Cancelled)."""
    missing = [k for k in requests if k not in results]
    if not missing:
        return
    identity = engine_identity(engine.model)
    by_prompt: dict[str, tuple[Prompt, list[str]]] = {}
    for key in missing:
        prompt, _ = requests[key]
        by_prompt.setdefault(prompt.as_key(), (prompt, []))[1].append(key)
    groups = [by_prompt[k] for k in sorted(by_prompt)]
    task_id = progress.add_task(f"score {name}", total=len(groups))
    for start in range(0, len(groups), prompts_per_call):
        chunk = groups[start : start + prompts_per_call]
        if cancel is not None and cancel.is_set():
            raise Cancelled(f"{len(groups) - start} prompts' scoring cancelled")
        started = _started(engine, cache, identity, report)
        began = perf_counter()
        scores = started.score([p for p, _ in chunk], [[requests[k][1] for k in keys] for _, keys in chunk])
        cache.record_throughput(identity, "score", len(chunk), None, perf_counter() - began)
        report.phases.add("rank scoring", perf_counter() - began)
        new = {k: s for (_, keys), row in zip(chunk, scores, strict=True) for k, s in zip(keys, row, strict=True)}
        cache.put_many(new)
        results.update(new)
        report.scored += len(new)
        advance(progress, task_id, len(chunk))
        if on_answer is not None:
            on_answer(list(new))


class NeedsModel(Exception):
    """Labelling requests that are not cached while no model may be asked (`icl plan`)."""

    def __init__(self, missing: list[str]) -> None:
        super().__init__(f"{len(missing)} labelling requests not cached")
        self.missing = missing
        """Their cache keys: once they are cached, the run can be built without the model."""


@dataclass
class CachedLabeler:
    """A model lent to augmentations that label demonstrations (icl.augment.selflabel) while prompts
    are built: every call goes through the completion cache with the runner's own keys. Without an
    engine (`icl plan`), anything not cached raises NeedsModel instead of starting one."""

    model: ModelSpec
    cache: CompletionCache
    engine: LazyEngine | None = None
    progress: Progress | None = None
    report: SweepReport | None = None
    chunk_size: int = 0

    @property
    def name(self) -> str:
        return f"{self.model.name} ({self.model.engine})"

    def _missing(self, keys: Sequence[str], results: dict[str, Any]) -> list[str]:
        return [k for k in dict.fromkeys(keys) if k not in results]

    def generate(self, prompts: Sequence[Prompt], params: GenParams) -> list[str]:
        identity = engine_identity(self.model)
        requests = {gen_key(identity, p, params): (p, params) for p in prompts}
        results = self.cache.get_many(list(requests))
        if self.engine is None:
            missing = [k for k in requests if k not in results or results[k].get("error")]
            if missing:
                raise NeedsModel(missing)
        else:
            assert self.progress is not None and self.report is not None
            generate_missing(self.engine, requests, results, self.cache, self.progress, self.chunk_size,
                             f"{self.model.name} (labelling)", self.report)
        outs = [results[gen_key(identity, p, params)] for p in prompts]
        failed = [o["error"] for o in outs if o["error"] is not None]
        if failed:
            raise EngineError(f"selflabel: {len(failed)} labelling generations failed, e.g. {failed[0]}")
        return [o["text"] for o in outs]

    def score(self, prompts: Sequence[Prompt], continuations: Sequence[Sequence[str]]) -> list[list[float]]:
        identity = engine_identity(self.model)
        requests = {score_key(identity, p, c): (p, c) for p, conts in zip(prompts, continuations, strict=True)
                    for c in conts}
        results = self.cache.get_many(list(requests))
        if self.engine is None:
            missing = self._missing(list(requests), results)
            if missing:
                raise NeedsModel(missing)
        else:
            assert self.progress is not None and self.report is not None
            score_missing(self.engine, requests, results, self.cache, self.progress,
                          f"{self.model.name} (labelling)", self.report)
        return [[results[score_key(identity, p, c)] for c in conts]
                for p, conts in zip(prompts, continuations, strict=True)]
