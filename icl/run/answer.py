"""One service that answers requests: the completion cache first, the engine for what it lacks.

`Answerer` is the one object that talks to the engine and the cache, for the runner, for `icl plan`
(which may not start a model) and for the authoring page. Requests and their cache keys come from
icl.run.requests; the answerer picks generation or ranking by the request, stores every answer as it
arrives, and tells a `Listener` what the cache had, what arrived, and how far each step has got. An
engine starts only when something is missing, so a finished sweep re-runs without loading a model.
Each call's duration is recorded in the cache, which `icl plan` turns into time estimates, and in the
answerer's `Phases` (timings.json).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from time import perf_counter
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeElapsedColumn

from icl.engines import Cancelled, Completion, Engine, EngineSpec, GenParams, make_engine
from icl.errors import EngineError
from icl.run.cache import CompletionCache
from icl.run.requests import GenRequest, Request, ScoreRequest, engine_identity, gen_key, score_key
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


def _ignore(*_: object) -> None:
    """A callback nobody listens to."""


@dataclass(frozen=True)
class Listener:
    """Who hears how one `Answerer.answer` call goes: the runner's progress bars, the page's streamed
    items. Called in the answering thread between engine steps (so a listener should hand things on,
    not work on them); every callback is optional."""

    found: Callable[[Mapping[str, Any]], None] = _ignore
    """The answers the cache had (key -> answer), once, before any engine call; also when it had none."""
    answered: Callable[[Mapping[str, Any]], None] = _ignore
    """Answers that just arrived from the engine, already stored in the cache (failures are not)."""
    started: Callable[[str, int], None] = _ignore
    """A step begins: its description (`generate <name>`, `score <name>`) and how many units it has."""
    advanced: Callable[[str, int], None] = _ignore
    """That many more units of the named step are done."""
    timed: Callable[[str, float], None] = _ignore
    """A phase took this many seconds ("cache lookup", "engine start" and the engine's own start-up
    phases, "generation", "rank scoring"); the answerer also adds each to its `phases`."""


QUIET = Listener()
"""Hears nothing (a labelling call on the page, the planner)."""


@dataclass(frozen=True)
class Answers:
    """What one `answer` call got: every request's answer, which came from the cache, and how many
    answers the engine was asked for."""

    results: Mapping[str, Any]
    """Cache key -> a generation ({"text", "error"}) or a score (summed log-probability)."""
    cached: frozenset[str]
    """The keys the cache had."""
    asked: int
    made_by: Mapping[str, str | None] = field(default_factory=dict)
    """Cached key -> the maker the cache recorded for it (CompletionCache.get_made; None: unknown)."""


class NeedsModel(Exception):
    """Requests that are not cached while no model may be asked (`icl plan`)."""

    def __init__(self, missing: list[str]) -> None:
        super().__init__(f"{len(missing)} labelling requests not cached")
        self.missing = missing
        """Their cache keys: once they are cached, the run can be built without the model."""


class Answerer:
    """The completion cache and one model's engine (started on first need), answering batches of
    requests. Without an engine (`icl plan`), anything the cache lacks raises NeedsModel. Counts what
    it answered (`generated`, `scored`, `cached`) and times its steps into `phases`."""

    def __init__(self, cache: CompletionCache, engine: LazyEngine | None = None, phases: Phases | None = None,
                 chunk_size: int = 0, prompts_per_call: int = 16) -> None:
        self.cache = cache
        self.engine = engine
        self.phases = phases if phases is not None else Phases()
        self.chunk_size = chunk_size
        """Prompts with the same decoding parameters per generate call (0: all of them in one)."""
        self.prompts_per_call = prompts_per_call
        """Prompts (each with all its continuations) per score call."""
        self.generated = self.scored = self.cached = 0

    def answer(self, requests: Iterable[Request], name: str, listener: Listener = QUIET,
               cancel: threading.Event | None = None, fresh: bool = False) -> Answers:
        """Answer every request: what the cache has (unless `fresh`), then generations, then scores,
        each answer stored as it arrives. `cancel` (the page's newer edit) stops the engine between (and,
        for engines that take it, within) calls and raises Cancelled; what arrived before is kept."""
        gen: dict[str, GenRequest] = {}
        score: dict[str, ScoreRequest] = {}
        for r in requests:
            if isinstance(r, GenRequest):
                gen[r.key] = r
            else:
                score[r.key] = r
        began = perf_counter()
        results: dict[str, Any] = {}
        made_by: dict[str, str | None] = {}
        if not fresh:
            results, made_by = self.cache.get_made([*gen, *score])
        self._phase("cache lookup", perf_counter() - began, listener)
        cached = frozenset(results)
        self.cached += len(cached)
        listener.found(dict(results))
        missing = [k for k in [*gen, *score] if k not in results]
        if missing and self.engine is None:
            raise NeedsModel(missing)
        asked = self.generated + self.scored
        self._generate([r for k, r in gen.items() if k not in results], results, name, listener, cancel)
        self._score([r for k, r in score.items() if k not in results], results, name, listener, cancel)
        return Answers(results, cached, self.generated + self.scored - asked, made_by)

    def _phase(self, phase: str, seconds: float, listener: Listener) -> None:
        self.phases.add(phase, seconds)
        listener.timed(phase, seconds)

    def _started(self, listener: Listener) -> Engine:
        """The engine, started if need be; start-up is recorded apart from the per-prompt times (in the
        cache for `icl plan`'s estimates, and as the "engine start" phase)."""
        assert self.engine is not None
        if self.engine.engine is not None:
            return self.engine.get()
        began = perf_counter()
        started = self.engine.get()
        took = perf_counter() - began
        self.cache.record_throughput(engine_identity(self.engine.model), "start", 1, None, took)
        # An engine that times its own start-up (`startup`: phase -> seconds) shows how it divides.
        split: dict[str, float] = dict(getattr(started, "startup", {}))
        for phase, seconds in split.items():
            self._phase(phase, seconds, listener)
        self._phase("engine start", took - sum(split.values()), listener)
        return started

    def _timed(self, kind: str, phase: str, prompts: int, began: float, listener: Listener) -> None:
        assert self.engine is not None
        took = perf_counter() - began
        self.cache.record_throughput(engine_identity(self.engine.model), kind, prompts, None, took)
        self._phase(phase, took, listener)

    def _generate(self, missing: list[GenRequest], results: dict[str, Any], name: str, listener: Listener,
                  cancel: threading.Event | None) -> None:
        """Generate in chunks of one decoding setting, prompts sorted so that neighbours share prefixes
        (vLLM's prefix cache); each answer committed the moment it arrives."""
        if not missing:
            return
        step = f"generate {name}"
        listener.started(step, len(missing))
        by_params: dict[GenParams, list[GenRequest]] = {}
        for r in missing:
            by_params.setdefault(r.params, []).append(r)
        for params, group in by_params.items():
            group.sort(key=lambda r: r.prompt.as_key())
            size = self.chunk_size or len(group)
            for start in range(0, len(group), size):
                chunk = group[start : start + size]

                def store(i: int, out: Completion, chunk: list[GenRequest] = chunk) -> None:
                    # failures are recorded in predictions, never cached
                    value = {"text": out.text, "error": out.error}
                    if out.error is None:
                        self.cache.put_many({chunk[i].key: value})
                    results[chunk[i].key] = value
                    self.generated += 1
                    listener.advanced(step, 1)
                    listener.answered({chunk[i].key: value})

                if cancel is not None and cancel.is_set():
                    raise Cancelled(f"{len(missing)} generations cancelled before they started")
                engine = self._started(listener)
                began = perf_counter()
                prompts = [r.prompt for r in chunk]
                if cancel is None:  # engines outside icl may not take the keyword; sweeps never cancel
                    engine.generate(prompts, params, on_result=store)
                else:
                    engine.generate(prompts, params, on_result=store, cancel=cancel)
                self._timed("generate", "generation", len(chunk), began, listener)

    def _score(self, missing: list[ScoreRequest], results: dict[str, Any], name: str, listener: Listener,
               cancel: threading.Event | None) -> None:
        """Score each prompt's continuations together, `prompts_per_call` prompts an engine call, each
        call's answers stored before the next; a set `cancel` stops before the next call."""
        if not missing:
            return
        by_prompt: dict[str, tuple[Prompt, list[ScoreRequest]]] = {}
        for r in missing:
            by_prompt.setdefault(r.prompt.as_key(), (r.prompt, []))[1].append(r)
        groups = [by_prompt[k] for k in sorted(by_prompt)]
        step = f"score {name}"
        listener.started(step, len(groups))
        for start in range(0, len(groups), self.prompts_per_call):
            chunk = groups[start : start + self.prompts_per_call]
            if cancel is not None and cancel.is_set():
                raise Cancelled(f"{len(groups) - start} prompts' scoring cancelled")
            engine = self._started(listener)
            began = perf_counter()
            scores = engine.score([p for p, _ in chunk], [[r.continuation for r in rs] for _, rs in chunk])
            self._timed("score", "rank scoring", len(chunk), began, listener)
            new = {r.key: s for (_, rs), row in zip(chunk, scores, strict=True) for r, s in zip(rs, row, strict=True)}
            self.cache.put_many(new)
            results.update(new)
            self.scored += len(new)
            listener.advanced(step, len(chunk))
            listener.answered(new)


def progress_bar(console: Console) -> Progress:
    return Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                    console=console, transient=False)


def advance(progress: Progress, task_id: TaskID, n: int = 1) -> None:
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


def bar_listener(progress: Progress) -> Listener:
    """The runner's listener: a progress bar for each step, advanced as its answers arrive."""
    bars: dict[str, TaskID] = {}

    def started(step: str, total: int) -> None:
        bars[step] = progress.add_task(step, total=total)

    return Listener(started=started, advanced=lambda step, n: advance(progress, bars[step], n))


@dataclass(frozen=True)
class CachedLabeler:
    """A model lent to augmentations that label demonstrations (icl.augment.selflabel) while prompts
    are built: every call is answered by the run's `Answerer`, under the runner's own keys (so an
    answerer without an engine, `icl plan`'s, raises NeedsModel for anything not cached)."""

    model: ModelSpec
    answerer: Answerer
    listener: Listener = QUIET

    @property
    def name(self) -> str:
        return f"{self.model.name} ({self.model.engine})"

    def _answers(self, requests: Sequence[Request]) -> Mapping[str, Any]:
        return self.answerer.answer(requests, f"{self.model.name} (labelling)", self.listener).results

    def generate(self, prompts: Sequence[Prompt], params: GenParams) -> list[str]:
        identity = engine_identity(self.model)
        requests = [GenRequest(gen_key(identity, p, params), p, params) for p in prompts]
        results = self._answers(requests)
        outs = [results[r.key] for r in requests]
        failed = [o["error"] for o in outs if o["error"] is not None]
        if failed:
            raise EngineError(f"selflabel: {len(failed)} labelling generations failed, e.g. {failed[0]}")
        return [o["text"] for o in outs]

    def score(self, prompts: Sequence[Prompt], continuations: Sequence[Sequence[str]]) -> list[list[float]]:
        identity = engine_identity(self.model)
        requests = [[ScoreRequest(score_key(identity, p, c), p, c) for c in conts]
                    for p, conts in zip(prompts, continuations, strict=True)]
        results = self._answers([r for row in requests for r in row])
        return [[results[r.key] for r in row] for row in requests]
