"""Run a sweep: build every prompt, send what the cache lacks to one engine per model, write results.

All runs that share a model are answered together: their prompts are pooled, de-duplicated, sorted so
that shared prefixes (instructions, the few-shot block) sit side by side for vLLM's prefix cache, and
sent in chunks whose results are committed to the completion cache as each chunk returns. An engine is
only started when something is missing, so re-running a finished sweep makes no model call at all.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from rich.console import Console

from icl.analysis.results import write_json, write_jsonl, write_labels, write_run_list, write_tables
from icl.analysis.scoring import write_metrics
from icl.config import cache_dir
from icl.engines import Engine
from icl.run.answer import Answerer, CachedLabeler, LazyEngine, Listener, advance, bar_listener, progress_bar
from icl.run.cache import CompletionCache
from icl.run.items import RunItems, build_items
from icl.run.noops import SameAs
from icl.run.prepare import prepare_runs
from icl.run.provenance import now, write_provenance
from icl.run.requests import Request, engine_identity, item_keys, item_requests, outcome
from icl.run.timings import Phases, process_age
from icl.spec import ModelSpec, RunSpec, spec_to_json
from icl.sweep.load import Sweep
from icl.values.prompt import Prompt


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
    tracked: str = ""
    """Where the sweep was logged (icl.analysis.track), if it was."""
    started: datetime = field(default_factory=now)
    """When the sweep began (provenance.json)."""

    def count(self, answerer: Answerer, engine: LazyEngine) -> None:
        """Add what one model's answerer and engine did."""
        self.generated += answerer.generated
        self.scored += answerer.scored
        self.cached += answerer.cached
        self.engine_calls += engine.calls
        self.logs += engine.logs


def run_sweep(sweep: Sweep, out_root: Path, fresh: bool = False, console: Console | None = None,
              chunk_size: int = 0, cache_path: Path | None = None,
              augmenter: Callable[..., Any] | None = None,
              engine_factory: Callable[[ModelSpec], Engine] | None = None,
              phases: Phases | None = None, verbose: bool = False) -> SweepReport:
    """Execute every run of a sweep and write its results and tables.

    `chunk_size` 0 sends all of a model's prompts with the same decoding parameters in one engine call
    (completions are cached one by one as they finish, so a large call loses nothing when killed).
    `engine_factory` supplies engines instead of building them (benchmarks reuse one warm engine).
    `phases` (with what the caller timed before) collects the time of each step into timings.json.
    `verbose` lets engines print as they like instead of into their log files (icl.engines.logs).
    """
    console = console or Console(stderr=True)
    sweep_dir = out_root / sweep.name
    sweep_dir.mkdir(parents=True, exist_ok=True)
    if sweep.path.is_file():  # the exact file that produced these results travels with them
        shutil.copyfile(sweep.path, sweep_dir / "sweep.yaml")
    cache = CompletionCache(cache_path or cache_dir() / "completions.sqlite")
    report = SweepReport(sweep_dir=sweep_dir, phases=phases or Phases())
    models = list(dict.fromkeys(spec.model for spec in sweep.runs))
    engines = {model: LazyEngine(model, engine_factory, verbose) for model in models}
    try:
        with progress_bar(console) as progress:
            task_id = progress.add_task("prompts", total=len(sweep.runs))
            # every problem of the sweep is found here, before any model loads (one message for all)
            prepared = prepare_runs(sweep.runs, sweep.datasets, augmenter, report.phases,
                                    on_run=lambda: advance(progress, task_id))
            report.collapsed = len(sweep.runs) - len(prepared.runs)
            write_run_list(sweep_dir, [spec.run_id for spec in prepared.runs])
            built = dict(prepared.built)
            planned = sweep.design is not None
            for spec, run_items in built.items():
                _write_spec(sweep_dir, spec, run_items, prepared.same_as.get(spec, ()), planned)
            listener = bar_listener(progress)
            if planned:
                _run_sequential(sweep, prepared, built, cache, engines, sweep_dir, fresh, chunk_size, listener, report,
                                augmenter)
                models = []
            for model in models:  # one model in memory at a time
                answerer = Answerer(cache, engines[model], report.phases, chunk_size)
                labeler = CachedLabeler(model, answerer, listener)
                for spec in prepared.runs:  # demos the model labels itself: built now that it is here
                    if spec.model == model and spec not in built:
                        with report.phases.rest("prompt build"):
                            built[spec] = build_items(spec, sweep.datasets, augmenter, labeler, report.phases)
                        _write_spec(sweep_dir, spec, built[spec], prepared.same_as.get(spec, ()))
                items = {spec: built[spec] for spec in prepared.runs if spec.model == model}
                _run_model(answerer, model, items, sweep_dir, fresh, listener, report)
                report.count(answerer, engines[model])
                with report.phases.phase("engine close"):
                    engines[model].close()
    finally:
        for engine in engines.values():
            engine.close()
        cache.close()
    _write_summaries(sweep, report)
    return report


def _write_summaries(sweep: Sweep, report: SweepReport) -> None:
    """The sweep's tables, its gains where it declares comparisons, and timings.json (last: it times the rest)."""
    sweep_dir = report.sweep_dir
    with report.phases.phase("writing results"):
        write_tables(sweep_dir)
    if sweep.gains:
        with report.phases.phase("gains"):
            from icl.analysis.gains_files import write_sweep_gains

            write_sweep_gains(sweep_dir, sweep.gains, design=sweep.design)
    write_json(sweep_dir / "timings.json", report.phases.to_json(process_age()))


def _run_sequential(sweep: Sweep, prepared: Any, built: dict[RunSpec, RunItems], cache: CompletionCache,
                    engines: Mapping[ModelSpec, LazyEngine], sweep_dir: Path, fresh: bool, chunk_size: int,
                    listener: Listener, report: SweepReport, augmenter: Callable[..., Any] | None) -> None:
    """A sweep with a `sequential:` design: its runs answered look by look (icl.run.looks)."""
    from icl.run.looks import run_looks

    answerers = {model: Answerer(cache, engines[model], report.phases, chunk_size) for model in engines}
    for spec in prepared.runs:  # self-labelled demos: built with their model first, as a fixed sweep does
        if spec not in built:
            labeler = CachedLabeler(spec.model, answerers[spec.model], listener)
            with report.phases.rest("prompt build"):
                built[spec] = build_items(spec, sweep.datasets, augmenter, labeler, report.phases)
            _write_spec(sweep_dir, spec, built[spec], prepared.same_as.get(spec, ()), True)

    def write(run_dir: Path, spec: RunSpec, items: RunItems, identity: str, results: Mapping[str, Any],
              keys: Sequence[tuple[str, ...]], made_by: Mapping[str, str | None]) -> None:
        write_run(run_dir, spec, items, identity, results, report.phases, keys)
        with report.phases.phase("provenance"):
            write_provenance(run_dir, spec, items.template_path, items.files, keys, made_by, report.started,
                             answerers[spec.model].cache.maker)

    run_looks(sweep, list(prepared.runs), built, answerers, engines, sweep_dir, fresh, listener, write)
    report.runs += [spec.run_id for spec in prepared.runs]
    for model in engines:
        report.count(answerers[model], engines[model])
        with report.phases.phase("engine close"):
            engines[model].close()


def _write_spec(sweep_dir: Path, spec: RunSpec, run_items: RunItems, same_as: Sequence[SameAs],
                planned: bool = False) -> None:
    """spec.json (with the runs it stands for, where identical ones were collapsed into it) and the
    label inventory of a classification run; in a sequential sweep, the run's planned maximum (`max_items`)."""
    run_dir = sweep_dir / spec.run_id
    run_dir.mkdir(exist_ok=True)
    body = {**spec_to_json(spec), "demo_source": run_items.pool_source}
    if planned:
        body["max_items"] = len(run_items.items)
    if same_as:
        body["same_as"] = [s.to_json() for s in same_as]
    if run_items.leak_excluded is not None:  # outside spec_to_json: run ids stay as they were
        body["leak_excluded"] = run_items.leak_excluded
    if run_items.leak_warnings:
        body["leak_warnings"] = list(run_items.leak_warnings)
    write_json(run_dir / "spec.json", body)
    if run_items.labels is not None:
        write_labels(run_dir, run_items.labels)


def _run_model(answerer: Answerer, model: ModelSpec, items: dict[RunSpec, RunItems], sweep_dir: Path,
               fresh: bool, listener: Listener, report: SweepReport) -> None:
    """Answer all of a model's runs together (their requests pooled and de-duplicated), then write each."""
    identity = engine_identity(model)
    requests: list[Request] = []
    keys: dict[RunSpec, list[tuple[str, ...]]] = {}
    with report.phases.phase("cache lookup"):
        for spec, run_items in items.items():
            keys[spec] = []
            for item in run_items.items:
                asked = item_requests(spec, item, identity)
                keys[spec].append(tuple(r.key for r in asked))
                requests += asked
    answers = answerer.answer(requests, model.name, listener, fresh=fresh)
    for spec, run_items in items.items():
        write_run(sweep_dir / spec.run_id, spec, run_items, identity, answers.results, report.phases, keys[spec])
        with report.phases.phase("provenance"):
            write_provenance(sweep_dir / spec.run_id, spec, run_items.template_path, run_items.files, keys[spec],
                             answers.made_by, report.started, answerer.cache.maker)
        report.runs.append(spec.run_id)


def _prompt_json(prompt: Prompt) -> Any:
    return prompt.text if prompt.messages is None else [{"role": r, "content": c} for r, c in prompt.messages]


def write_run(run_dir: Path, spec: RunSpec, run_items: RunItems, identity: str, results: Mapping[str, Any],
              phases: Phases | None = None, keys: Sequence[tuple[str, ...]] | None = None) -> None:
    """predictions.jsonl and metrics.json of one run (`keys`: each item's cache keys, if known)."""
    labels = run_items.labels.labels if run_items.labels is not None else ()
    phases = phases or Phases()
    rows = []
    with phases.phase("writing results"):
        for i, item in enumerate(run_items.items):
            answer_keys = keys[i] if keys is not None else item_keys(spec, item, identity)
            row: dict[str, Any] = {"id": item.example.id, "source": item.example.source,
                                   "reference": item.example.target, "demo_ids": [d.id for d in item.demos],
                                   "prompt": _prompt_json(item.prompt)}
            if item.hints:
                row["hints"] = list(item.hints)
            if any(d.provenance for d in item.demos):
                row["demo_provenance"] = [dict(d.provenance) for d in item.demos]
            got = outcome(spec, item, answer_keys, results, run_items.labels)
            if spec.ranks:
                row.update({"output": got.output, "prediction": got.prediction, "error": None,
                            "label_scores": {lb: round(s, 4) for lb, s in zip(labels, got.scores, strict=True)}})
            else:
                row.update({"stop": list(item.stop), "output": got.output, "error": got.error,
                            "prediction": got.prediction})
            rows.append(row)
        write_jsonl(run_dir / "predictions.jsonl", rows)
    with phases.phase("scoring"):
        write_metrics(run_dir, spec.run_id, spec.task, spec.mode, rows, run_items.pool_source, spec.tgt)
