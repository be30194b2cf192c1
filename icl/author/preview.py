"""One page view: a setting and a template's text -> every item's exact prompt (demos marked), the
model's raw output, the prediction, the reference and the item's score, plus the aggregate with its
bootstrap interval; and two views compared on the same items, as `icl compare` compares two runs.

Prompts are built by `icl.run.items.build_items` from the `RunSpec` the setting makes (the unsaved
template passed in), requests, cache keys and the reading of answers come from `icl.run.requests`, and
the session's `icl.run.answer.Answerer` (the runner's service) answers them, asking the engine only for
what the completion cache lacks, so a sweep of the same setting re-runs from this cache without a model.
Scores come from the task object only.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from time import perf_counter
from typing import Any

from icl.data import Registry
from icl.errors import DataError
from icl.metrics import Interval, PairedResult
from icl.prompts.render import template_from_source
from icl.run.answer import QUIET, Answerer, CachedLabeler, Listener
from icl.run.items import PromptItem, RunItems, build_items
from icl.run.requests import Outcome, engine_identity, item_requests, outcome
from icl.spec import RunSpec
from icl.tasks import Task, get_task
from icl.values import Example
from icl.values.prompt import Prompt

RESAMPLES, BOOTSTRAP_SEED = 1000, 12345
"""`icl compare`'s defaults (icl.analysis.gains.compare_runs), used for every interval on the page."""
TOP_LABELS = 5
"""Ranking modes: how many best labels an item shows with their log-probabilities."""


@dataclass(frozen=True)
class Segment:
    """A piece of a displayed prompt: plain template text, a demonstration, or the query."""

    text: str
    kind: str = ""
    """'' (template text), `demo` or `query`."""
    demo: int = -1
    """Which demonstration (0-based) for `demo` pieces."""


@dataclass(frozen=True)
class ItemView:
    """One item as the page shows it."""

    id: str
    source: str
    reference: str
    demo_ids: tuple[str, ...]
    segments: tuple[Segment, ...]
    """The exact prompt (chat turns shown as `[role]` blocks), cut where demos and the query are."""
    stop: tuple[str, ...]
    output: str
    """The raw output (ranking modes: the best label's continuation)."""
    error: str | None
    prediction: str | None
    score: float | None
    """The task's main metric on this item alone (sentence chrF++ for MT, 0/100 for accuracy)."""
    top: tuple[tuple[str, float], ...] = ()
    """Ranking modes: the best labels and their summed log-probabilities, best first."""
    cached: bool = False
    """Its answer came from the completion cache (no engine call)."""
    pending: bool = False
    """Its answer is still being generated (a streamed view's first update): no output or score yet."""


@dataclass(frozen=True)
class Update:
    """What a streamed view tells the page as it goes: at first every item (its exact prompt, and the
    answers the cache had), then the items whose answers just arrived. The metrics over the items
    answered so far are left to `so_far`, so the engine's thread, which makes updates between its
    steps, never waits on a bootstrap."""

    task: str
    """The setting's task (its metrics score the answered items)."""
    items: tuple[tuple[int, ItemView], ...]
    """(position on the page, view), in page order: what changed since the last update."""
    shown: tuple[ItemView, ...]
    """Every item as it stands (pending ones without output)."""

    @property
    def answered(self) -> int:
        return sum(not v.pending for v in self.shown)


@dataclass(frozen=True)
class SoFar:
    """The metrics and their bootstrap intervals over the items answered so far."""

    answered: int
    total: int
    metrics: tuple[tuple[str, float | None], ...]
    intervals: tuple[Interval, ...]


def so_far(update: Update) -> SoFar:
    """What the aggregate shows mid-stream: every metric over the answered items, as `view` computes it
    over all of them (the same resamples and seed), so the last update's figures are the view's."""
    task = get_task(update.task)
    done = [v for v in update.shown if not v.pending]
    preds, refs = [v.prediction for v in done], [v.reference for v in done]
    scored = task.score(preds, refs) if done else {}
    intervals = tuple(task.interval(preds, refs, RESAMPLES, BOOTSTRAP_SEED)) if done else ()
    return SoFar(len(done), len(update.shown), tuple((n, s.value) for n, s in scored.items()), intervals)


@dataclass(frozen=True)
class Preview:
    """A page view of one setting."""

    spec: RunSpec
    items: tuple[ItemView, ...]
    metrics: tuple[tuple[str, float | None], ...]
    """Every metric of the task over the items (None: could not be computed, e.g. spBLEU offline)."""
    main_metric: str
    intervals: tuple[Interval, ...]
    """Bootstrap 95% intervals over the items (Task.interval), one per gain metric."""
    cached: int
    """Items whose answers were all in the completion cache."""
    asked: int
    """Answers the engine was asked for."""
    seconds: float
    phases: tuple[tuple[str, float], ...] = ()
    """Where `seconds` went: building the prompts (data, demos, template), the cache and the model,
    and scoring (per item, aggregate, bootstrap intervals)."""


def _display_text(prompt: Prompt) -> str:
    if prompt.messages is None:
        return prompt.text or ""
    return "\n\n".join(f"[{role}]\n{content}" for role, content in prompt.messages)


def segments(text: str, demos: Sequence[Example], query: str) -> tuple[Segment, ...]:
    """Cut a prompt where each demonstration's source ... target block and the query's source stand.

    Found by searching the texts in order (demos first, then the query after the last demo), so a
    template that writes a demo differently (a label reformatted by its `answer` macro) still gets the
    demo's source marked; what is not found is simply not marked."""
    cuts: list[tuple[int, int, str, int]] = []
    pos = 0
    for i, demo in enumerate(demos):
        start = text.find(demo.source, pos) if demo.source else -1
        if start < 0:
            continue
        end = start + len(demo.source)
        after = text.find(demo.target, end) if demo.target else -1
        if after >= 0 and "\n\n" not in text[end:after].strip("\n"):
            end = after + len(demo.target)
        cuts.append((start, end, "demo", i))
        pos = end
    start = text.rfind(query, pos) if query else -1
    if start >= 0:
        cuts.append((start, start + len(query), "query", -1))
    out: list[Segment] = []
    pos = 0
    for start, end, kind, index in cuts:
        if start > pos:
            out.append(Segment(text[pos:start]))
        out.append(Segment(text[start:end], kind, index))
        pos = end
    if pos < len(text):
        out.append(Segment(text[pos:]))
    return tuple(out)


def build(spec: RunSpec, source: str, registry: Registry, answerer: Answerer) -> RunItems:
    """The run's prompts with the page's template text in place of the file (an unsaved edit); demos
    the model labels itself are answered by the session's answerer, as a sweep's are."""
    template = template_from_source(spec.template, source)
    return build_items(spec, registry, labeler=CachedLabeler(spec.model, answerer), template=template)


def answer(spec: RunSpec, run_items: RunItems, answerer: Answerer,
           on_ready: Callable[[dict[int, Outcome]], None] | None = None,
           cancel: threading.Event | None = None) -> tuple[list[Outcome], list[bool], int]:
    """Each item's outcome, whether its answers were all in the cache, and how many answers the engine
    was asked for (the answerer asks it only for what the cache lacks, under the keys `icl run` uses).

    `on_ready({position: outcome})` hears first of the items the cache answered (called even when it
    answered none), then of each item as its last answer arrives; `cancel` stops the engine's work."""
    identity = engine_identity(spec.model)
    requests = [item_requests(spec, item, identity) for item in run_items.items]
    keys = [tuple(r.key for r in per_item) for per_item in requests]
    results: dict[str, Any] = {}
    waiting: set[int] = set()

    def read(done: Sequence[int], answers: Mapping[str, Any]) -> dict[int, Outcome]:
        return {i: outcome(spec, run_items.items[i], keys[i], answers, run_items.labels) for i in done}

    def heard(new: Mapping[str, Any]) -> list[int]:
        results.update(new)
        done = [i for i in sorted(waiting) if all(k in results for k in keys[i])]
        waiting.difference_update(done)
        return done

    def tell(done: Sequence[int]) -> None:
        if on_ready is not None:
            on_ready(read(done, results))

    def found(hits: Mapping[str, Any]) -> None:
        waiting.update(range(len(keys)))
        tell(heard(hits))  # even when the cache had nothing: the page shows every prompt now

    def answered(new: Mapping[str, Any]) -> None:
        done = heard(new)
        if done:
            tell(done)

    listener = Listener(found=found, answered=answered) if on_ready is not None else QUIET
    got = answerer.answer([r for per_item in requests for r in per_item], spec.model.name, listener, cancel)
    was_cached = [all(k in got.cached for k in item_keys) for item_keys in keys]
    return list(read(range(len(keys)), got.results).values()), was_cached, got.asked


def view(spec: RunSpec, source: str, registry: Registry, answerer: Answerer,
         on_update: Callable[[Update], None] | None = None, cancel: threading.Event | None = None) -> Preview:
    """Build, answer and score one setting's items. With `on_update`, the page hears of every item's
    prompt (and the cached answers) as soon as the prompts are built, then of each answer as the engine
    finishes it (in the engine's thread: `on_update` should hand the update on, not work on it); `cancel` (a newer edit) stops the engine and raises Cancelled."""
    began = perf_counter()
    task = get_task(spec.task)
    run_items = build(spec, source, registry, answerer)
    built = perf_counter()
    names = run_items.labels.labels if run_items.labels is not None else ()
    shown = [_pending_view(item) for item in run_items.items]
    cached_now: list[bool] = []

    def ready(got: dict[int, Outcome]) -> None:
        first = not cached_now
        cached_now.append(True)
        for i, outcome_ in got.items():
            shown[i] = replace(_item_view(run_items.items[i], outcome_, task, names), cached=first)
        if on_update is not None:
            changed = range(len(shown)) if first else sorted(got)
            on_update(Update(spec.task, tuple((i, shown[i]) for i in changed), tuple(shown)))

    outcomes, was_cached, asked = answer(spec, run_items, answerer, ready if on_update is not None else None, cancel)
    answered = perf_counter()
    views = [replace(_item_view(item, got, task, names), cached=hit)
             for item, got, hit in zip(run_items.items, outcomes, was_cached, strict=True)]
    preds = [v.prediction for v in views]
    refs = [v.reference for v in views]
    scored = task.score(preds, refs) if views else {}
    intervals = tuple(task.interval(preds, refs, RESAMPLES, BOOTSTRAP_SEED)) if views else ()
    return Preview(spec=spec, items=tuple(views), metrics=tuple((n, s.value) for n, s in scored.items()),
                   main_metric=task.main_metric, intervals=intervals, cached=sum(was_cached), asked=asked,
                   seconds=perf_counter() - began,
                   phases=(("prompts", built - began), ("model", answered - built), ("scores", perf_counter() - answered)))


def _pending_view(item: PromptItem) -> ItemView:
    """An item whose answer is not there yet: its exact prompt, no output."""
    return ItemView(id=item.example.id, source=item.example.source, reference=item.example.target,
                    demo_ids=tuple(d.id for d in item.demos),
                    segments=segments(_display_text(item.prompt), item.demos, item.example.source),
                    stop=item.stop, output="", error=None, prediction=None, score=None, pending=True)


def _item_view(item: PromptItem, got: Outcome, task: Task, names: Sequence[str]) -> ItemView:
    top = tuple(sorted(zip(names, (round(float(s), 4) for s in got.scores), strict=True),
                       key=lambda p: -p[1])[:TOP_LABELS]) if got.scores else ()
    score = task.score([got.prediction], [item.example.target])[task.main_metric].value
    return ItemView(id=item.example.id, source=item.example.source, reference=item.example.target,
                    demo_ids=tuple(d.id for d in item.demos),
                    segments=segments(_display_text(item.prompt), item.demos, item.example.source),
                    stop=item.stop, output=got.output, error=got.error, prediction=got.prediction, score=score,
                    top=top)


def compare(a: Preview, b: Preview) -> list[PairedResult]:
    """Paired bootstrap of B over A on the items both show, as `icl compare` does for two runs."""
    if a.spec.task != b.spec.task:
        raise DataError(f"B is a {b.spec.task} setting and A a {a.spec.task} one: nothing to pair")
    rows_b = {v.id: v for v in b.items}
    shared = [v for v in a.items if v.id in rows_b]
    if not shared:
        raise DataError("A and B share no items (another language, direction, data set or held-out pool?)")
    for v in shared:
        if v.reference != rows_b[v.id].reference:
            raise DataError(f"item {v.id} has another reference in B than in A: not the same test set")
    return get_task(a.spec.task).compare([v.prediction for v in shared], [rows_b[v.id].prediction for v in shared],
                                         [v.reference for v in shared], RESAMPLES, BOOTSTRAP_SEED)
