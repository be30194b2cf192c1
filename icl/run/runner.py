"""Run a sweep: build every prompt, send what the cache lacks to one engine per model, write results.

All runs that share a model are answered together: their prompts are pooled, de-duplicated, sorted so
that shared prefixes (instructions, the few-shot block) sit side by side for vLLM's prefix cache, and
sent in chunks whose results are committed to the completion cache as each chunk returns. An engine is
only started when something is missing, so re-running a finished sweep makes no model call at all.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import Progress

from icl.analysis.results import write_json, write_jsonl, write_labels, write_run_list, write_tables
from icl.analysis.scoring import write_metrics
from icl.augment.selflabel import Labeler
from icl.config import cache_dir
from icl.data import load_run
from icl.engines import Engine, GenParams
from icl.engines.logs import console_stream
from icl.prompts.prompt import Prompt
from icl.run.cache import CompletionCache
from icl.run.engine_calls import (
    CachedLabeler,
    LazyEngine,
    SweepReport,
    advance,
    engine_identity,
    gen_params,
    generate_missing,
    item_keys,
    progress_bar,
    score_missing,
)
from icl.run.items import RunItems, build_items
from icl.run.timings import Phases, process_age
from icl.sweep.load import Sweep
from icl.sweep.spec import ModelSpec, RunSpec, spec_to_json
from icl.tasks import argmax, get_task


def run_sweep(sweep: Sweep, out_root: Path, fresh: bool = False, console: Console | None = None,
              chunk_size: int = 0, cache_path: Path | None = None,
              augmenter: Callable[..., Any] | None = None,
              engine_factory: Callable[[ModelSpec], Engine] | None = None,
              phases: Phases | None = None) -> SweepReport:
    """Execute every run of a sweep and write its results and tables.

    `chunk_size` 0 sends all of a model's prompts with the same decoding parameters in one engine call
    (completions are cached one by one as they finish, so a large call loses nothing when killed).
    `engine_factory` supplies engines instead of building them (benchmarks reuse one warm engine).
    `phases` (with what the caller timed before) collects the time of each step into timings.json.
    """
    console = console or Console(file=console_stream())  # the terminal, even while engine logs are captured
    sweep_dir = out_root / sweep.name
    sweep_dir.mkdir(parents=True, exist_ok=True)
    if sweep.path.is_file():  # the exact file that produced these results travels with them
        shutil.copyfile(sweep.path, sweep_dir / "sweep.yaml")
    write_run_list(sweep_dir, [spec.run_id for spec in sweep.runs])
    cache = CompletionCache(cache_path or cache_dir() / "completions.sqlite")
    report = SweepReport(sweep_dir=sweep_dir, phases=phases or Phases())
    models = list(dict.fromkeys(spec.model for spec in sweep.runs))
    engines = {model: LazyEngine(model, engine_factory) for model in models}
    try:
        with progress_bar(console) as progress:
            task_id = progress.add_task("prompts", total=len(sweep.runs))
            built = _build(sweep, sweep_dir, progress, task_id, augmenter, report.phases, later=False)
            for model in models:  # one model in memory at a time
                labeler = CachedLabeler(engines[model], cache, progress, report, chunk_size)
                built.update(_build(sweep, sweep_dir, progress, task_id, augmenter, report.phases, later=True,
                                    model=model, labeler=labeler))
                items = {spec: built[spec] for spec in sweep.runs if spec.model == model}
                _run_model(engines[model], items, sweep_dir, cache, fresh, progress, chunk_size, report)
                report.engine_calls += engines[model].calls
                with report.phases.phase("engine close"):
                    engines[model].close()
    finally:
        for engine in engines.values():
            engine.close()
        cache.close()
    with report.phases.phase("writing results"):
        write_tables(sweep_dir)
    if sweep.gains:
        with report.phases.phase("gains"):
            from icl.analysis.gains import compute_gains, write_gains

            write_gains(sweep_dir, compute_gains(sweep_dir, sweep.gains))
    write_json(sweep_dir / "timings.json", report.phases.to_json(process_age()))
    return report


def _build(sweep: Sweep, sweep_dir: Path, progress: Progress, task_id: Any, augmenter: Callable[..., Any] | None,
           phases: Phases, later: bool, model: ModelSpec | None = None,
           labeler: Labeler | None = None) -> dict[RunSpec, RunItems]:
    """Prompts of the runs that need no model (`later=False`; the data of the others is checked too,
    so a bad input stops the sweep before any model loads), or of one model's runs whose
    demonstrations that model labels itself (`later=True`)."""
    from icl.augment.augmenters import NEEDS_MODEL

    built: dict[RunSpec, RunItems] = {}
    for spec in sweep.runs:
        if (spec.augment in NEEDS_MODEL) != later or (model is not None and spec.model != model):
            if not later and spec.augment in NEEDS_MODEL:
                with phases.phase("data load"):
                    load_run(spec, sweep.datasets)
            continue
        # data load and the model's labelling (`selflabel`) are timed as phases of their own
        with phases.rest("prompt build"):
            built[spec] = build_items(spec, sweep.datasets, augmenter, labeler, phases)
            run_dir = sweep_dir / spec.run_id
            run_dir.mkdir(exist_ok=True)
            write_json(run_dir / "spec.json", {**spec_to_json(spec), "demo_source": built[spec].pool_source})
            if built[spec].labels is not None:
                write_labels(run_dir, built[spec].labels)
        advance(progress, task_id)
    return built


def _run_model(engine: LazyEngine, items: dict[RunSpec, RunItems], sweep_dir: Path, cache: CompletionCache,
               fresh: bool, progress: Progress, chunk_size: int, report: SweepReport) -> None:
    model = engine.model
    identity = engine_identity(model)
    gen_requests: dict[str, tuple[Prompt, GenParams]] = {}
    score_requests: dict[str, tuple[Prompt, str]] = {}
    with report.phases.phase("cache lookup"):
        keys = {spec: [item_keys(spec, item, identity) for item in run_items.items]
                for spec, run_items in items.items()}
        for spec, run_items in items.items():
            for item, answer_keys in zip(run_items.items, keys[spec], strict=True):
                if spec.ranks:
                    score_requests.update({k: (item.prompt, c) for k, c in zip(answer_keys, item.candidates, strict=True)})
                else:
                    gen_requests[answer_keys[0]] = (item.prompt, gen_params(spec, item))
        results: dict[str, Any] = {} if fresh else cache.get_many(list(gen_requests) + list(score_requests))
    report.cached += len(results)
    generate_missing(engine, gen_requests, results, cache, progress, chunk_size, model.name, report)
    score_missing(engine, score_requests, results, cache, progress, model.name, report)
    for spec, run_items in items.items():
        write_run(sweep_dir / spec.run_id, spec, run_items, identity, results, report.phases, keys[spec])
        report.runs.append(spec.run_id)


def _prompt_json(prompt: Prompt) -> Any:
    return prompt.text if prompt.messages is None else [{"role": r, "content": c} for r, c in prompt.messages]


def write_run(run_dir: Path, spec: RunSpec, run_items: RunItems, identity: str, results: dict[str, Any],
              phases: Phases | None = None, keys: Sequence[tuple[str, ...]] | None = None) -> None:
    """predictions.jsonl and metrics.json of one run (`keys`: each item's cache keys, if known)."""
    task = get_task(spec.task)
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
            if spec.ranks:
                scores = [results[k] for k in answer_keys]
                row.update({"output": item.candidates[argmax(scores)], "prediction": task.pick(scores, run_items.labels),
                            "error": None,
                            "label_scores": {lb: round(s, 4) for lb, s in zip(labels, scores, strict=True)}})
            else:
                got = results[answer_keys[0]]
                output = got["text"]
                row.update({"stop": list(item.stop), "output": output, "error": got["error"],
                            "prediction": task.predict(output, run_items.labels) if got["error"] is None else None})
            rows.append(row)
        write_jsonl(run_dir / "predictions.jsonl", rows)
    with phases.phase("scoring"):
        write_metrics(run_dir, spec.run_id, spec.task, spec.mode, rows, run_items.pool_source)
