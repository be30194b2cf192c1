"""Run a sweep: build every prompt, send what the cache lacks to one engine per model, write results.

All runs that share a model are answered together: their prompts are pooled, de-duplicated, sorted so
that shared prefixes (instructions, the few-shot block) sit side by side for vLLM's prefix cache, and
sent in chunks whose results are committed to the completion cache as each chunk returns. An engine is
only started when something is missing, so re-running a finished sweep makes no model call at all.
"""

from __future__ import annotations

import json
import random
import shutil
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from icl import tasks
from icl.cache import CompletionCache, cache_key
from icl.config import cache_dir
from icl.data import Example, intent_labels, load_flores, load_massive, load_ntrex
from icl.engines import Completion, Engine, EngineSpec, GenParams, make_engine
from icl.models import model_fingerprint
from icl.prompts import Prompt, answers, load_template, render
from icl.results import metrics_body, write_json, write_jsonl, write_run_list, write_tables
from icl.shots import get_selector
from icl.sweep import ModelSpec, RunSpec, Sweep, spec_to_json

NON_SEMANTIC_ARGS = frozenset({
    "endpoints", "concurrency", "timeout", "retries", "api_key", "tensor_parallel_size", "pipeline_parallel_size",
    "data_parallel_size", "kv_cache_memory_bytes", "gpu_memory_utilization", "max_num_seqs", "enforce_eager",
    "batch_size", "threads", "distributed_executor_backend", "swap_space", "max_num_batched_tokens",
})
"""Engine arguments that change speed or placement but not outputs; left out of cache keys."""


def engine_identity(model: ModelSpec) -> str:
    """What identifies a model's outputs: engine, model (with its local files' fingerprint), and
    output-changing arguments."""
    args = {k: v for k, v in model.args.items() if k not in NON_SEMANTIC_ARGS}
    return json.dumps([model.engine, model.name, args, model_fingerprint(model.name)], sort_keys=True)


@dataclass(frozen=True)
class PromptItem:
    """One test item ready for the engine."""

    example: Example
    demos: tuple[Example, ...]
    prompt: Prompt
    stop: tuple[str, ...]
    candidates: tuple[str, ...] = ()
    """Rank mode: the answer continuation of every label, aligned with `intent_labels()`."""
    hints: tuple[dict[str, Any], ...] = ()


def test_and_pool(spec: RunSpec) -> tuple[list[Example], list[Example]]:
    """The scored items and the demonstration pool of a run (a held-out pool is never scored)."""
    if spec.task == "mt":
        test = load_flores(spec.src, spec.tgt)
        if spec.pool.startswith("flores-heldout:"):
            n = int(spec.pool.split(":", 1)[1])
            pool, test = test[:n], test[n:]
        else:
            pool = load_ntrex(spec.src, spec.tgt)
    else:
        test = load_massive(spec.src, "test")
        _, _, locale = spec.pool.partition(":")
        pool = load_massive(locale or spec.src, "train")
    if spec.limit is not None:
        test = test[: spec.limit]
    return test, pool


def build_items(spec: RunSpec, augmenter: Callable[..., Any] | None = None) -> list[PromptItem]:
    """Select demos and render every prompt of a run (deterministic for a given spec)."""
    test, pool = test_and_pool(spec)
    if augmenter is None and spec.augment != "none":
        from icl.augment import augment as augmenter
    hint_fn = None
    if augmenter is not None:
        pool, hint_fn = augmenter(spec, pool)
    rng = random.Random(spec.seed)
    select = get_selector(spec.selector, spec.fixed_ids)
    template = load_template(spec.template)
    cand_args = tasks.answer_args(spec.task) if spec.mode == "rank" else []
    items = []
    for ex in test:
        demos = tuple(select(pool, ex, spec.shots, rng)) if spec.shots else ()
        hints = tuple(hint_fn(ex)) if hint_fn is not None else ()
        ctx = tasks.context(spec.task, ex, demos, hints)
        rendered = render(template, ctx)
        cands = tuple(answers(template, ctx, cand_args)) if cand_args else ()
        items.append(PromptItem(ex, demos, rendered.prompt, rendered.stop, cands, hints))
    return items


@dataclass
class _LazyEngine:
    """Starts the engine on first use, so a fully cached sweep never loads a model."""

    model: ModelSpec
    factory: Callable[[ModelSpec], Engine] | None = None
    engine: Engine | None = None
    calls: int = 0

    def get(self) -> Engine:
        if self.engine is None:
            self.engine = (self.factory(self.model) if self.factory is not None
                           else make_engine(EngineSpec(self.model.engine, self.model.name, self.model.args)))
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


def _gen_key(identity: str, prompt: Prompt, params: GenParams) -> str:
    return cache_key("gen", identity, prompt.as_key(), params.max_tokens, params.temperature, list(params.stop),
                     params.seed)


def _score_key(identity: str, prompt: Prompt, continuation: str) -> str:
    return cache_key("score", identity, prompt.as_key(), continuation)


def _progress(console: Console) -> Progress:
    return Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                    console=console, transient=False)


def _advance(progress: Progress, task_id: Any, n: int = 1) -> None:
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


def run_sweep(sweep: Sweep, out_root: Path, fresh: bool = False, console: Console | None = None,
              chunk_size: int = 0, cache_path: Path | None = None,
              augmenter: Callable[..., Any] | None = None,
              engine_factory: Callable[[ModelSpec], Engine] | None = None) -> SweepReport:
    """Execute every run of a sweep and write its results and tables.

    `chunk_size` 0 sends all of a model's prompts with the same decoding parameters in one engine call
    (completions are cached one by one as they finish, so a large call loses nothing when killed).
    `engine_factory` supplies engines instead of building them (benchmarks reuse one warm engine).
    """
    console = console or Console(stderr=True)
    sweep_dir = out_root / sweep.name
    sweep_dir.mkdir(parents=True, exist_ok=True)
    if sweep.path.is_file():  # the exact file that produced these results travels with them
        shutil.copyfile(sweep.path, sweep_dir / "sweep.yaml")
    write_run_list(sweep_dir, [spec.run_id for spec in sweep.runs])
    cache = CompletionCache(cache_path or cache_dir() / "completions.sqlite")
    report = SweepReport(sweep_dir=sweep_dir)
    by_model: dict[ModelSpec, list[RunSpec]] = {}
    for spec in sweep.runs:
        by_model.setdefault(spec.model, []).append(spec)
    try:
        with _progress(console) as progress:
            for model, specs in by_model.items():
                _run_model(model, specs, sweep_dir, cache, fresh, progress, chunk_size, report, augmenter,
                           engine_factory)
    finally:
        cache.close()
    write_tables(sweep_dir)
    if sweep.gains:
        from icl.gains import compute_gains, write_gains

        write_gains(sweep_dir, compute_gains(sweep_dir, sweep.gains))
    return report


def _run_model(model: ModelSpec, specs: Sequence[RunSpec], sweep_dir: Path, cache: CompletionCache, fresh: bool,
               progress: Progress, chunk_size: int, report: SweepReport, augmenter: Callable[..., Any] | None,
               engine_factory: Callable[[ModelSpec], Engine] | None) -> None:
    identity = engine_identity(model)
    task_id = progress.add_task(f"prompts {model.name}", total=len(specs))
    items: dict[RunSpec, list[PromptItem]] = {}
    for spec in specs:
        run_dir = sweep_dir / spec.run_id
        run_dir.mkdir(exist_ok=True)
        write_json(run_dir / "spec.json", spec_to_json(spec))
        items[spec] = build_items(spec, augmenter)
        _advance(progress, task_id)

    gen_requests: dict[str, tuple[Prompt, GenParams]] = {}
    score_requests: dict[str, tuple[Prompt, str]] = {}
    for spec, run_items in items.items():
        for item in run_items:
            if spec.mode == "rank":
                for cand in item.candidates:
                    score_requests[_score_key(identity, item.prompt, cand)] = (item.prompt, cand)
            else:
                params = GenParams(max_tokens=spec.max_tokens, stop=item.stop, seed=spec.seed)
                gen_requests[_gen_key(identity, item.prompt, params)] = (item.prompt, params)

    results: dict[str, Any] = {} if fresh else cache.get_many(list(gen_requests) + list(score_requests))
    report.cached += len(results)
    engine = _LazyEngine(model, engine_factory)
    try:
        _generate_missing(engine, gen_requests, results, cache, progress, chunk_size, model.name, report)
        _score_missing(engine, score_requests, results, cache, progress, model.name, report)
    finally:
        report.engine_calls += engine.calls
        engine.close()

    for spec, run_items in items.items():
        write_run(sweep_dir / spec.run_id, spec, run_items, identity, results)
        report.runs.append(spec.run_id)


def _generate_missing(engine: _LazyEngine, requests: dict[str, tuple[Prompt, GenParams]], results: dict[str, Any],
                      cache: CompletionCache, progress: Progress, chunk_size: int, name: str,
                      report: SweepReport) -> None:
    missing = [k for k in requests if k not in results]
    if not missing:
        return
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
                _advance(progress, task_id)

            engine.get().generate([requests[k][0] for k in chunk], params, on_result=store)


def _score_missing(engine: _LazyEngine, requests: dict[str, tuple[Prompt, str]], results: dict[str, Any],
                   cache: CompletionCache, progress: Progress, name: str, report: SweepReport,
                   prompts_per_call: int = 16) -> None:
    missing = [k for k in requests if k not in results]
    if not missing:
        return
    by_prompt: dict[str, tuple[Prompt, list[str]]] = {}
    for key in missing:
        prompt, _ = requests[key]
        by_prompt.setdefault(prompt.as_key(), (prompt, []))[1].append(key)
    groups = [by_prompt[k] for k in sorted(by_prompt)]
    task_id = progress.add_task(f"score {name}", total=len(groups))
    for start in range(0, len(groups), prompts_per_call):
        chunk = groups[start : start + prompts_per_call]
        scores = engine.get().score([p for p, _ in chunk], [[requests[k][1] for k in keys] for _, keys in chunk])
        new = {k: s for (_, keys), row in zip(chunk, scores, strict=True) for k, s in zip(keys, row, strict=True)}
        cache.put_many(new)
        results.update(new)
        report.scored += len(new)
        _advance(progress, task_id, len(chunk))


def _prompt_json(prompt: Prompt) -> Any:
    return prompt.text if prompt.messages is None else [{"role": r, "content": c} for r, c in prompt.messages]


def write_run(run_dir: Path, spec: RunSpec, items: Sequence[PromptItem], identity: str, results: dict[str, Any]) -> None:
    """predictions.jsonl and metrics.json of one run."""
    rows = []
    labels = intent_labels()
    for item in items:
        row: dict[str, Any] = {"id": item.example.id, "source": item.example.source,
                               "reference": item.example.target, "demo_ids": [d.id for d in item.demos],
                               "prompt": _prompt_json(item.prompt)}
        if item.hints:
            row["hints"] = list(item.hints)
        if spec.mode == "rank":
            scores = [results[_score_key(identity, item.prompt, c)] for c in item.candidates]
            best = max(range(len(scores)), key=scores.__getitem__)
            row.update({"output": item.candidates[best], "prediction": labels[best], "error": None,
                        "label_scores": {lb: round(s, 4) for lb, s in zip(labels, scores, strict=True)}})
        else:
            params = GenParams(max_tokens=spec.max_tokens, stop=item.stop, seed=spec.seed)
            got = results[_gen_key(identity, item.prompt, params)]
            output = got["text"]
            row.update({"stop": list(item.stop), "output": output, "error": got["error"],
                        "prediction": predict(spec.task, output) if got["error"] is None else None})
        rows.append(row)
    write_jsonl(run_dir / "predictions.jsonl", rows)
    write_metrics(run_dir, spec.run_id, spec.task, spec.mode, rows)


def predict(task: str, output: str) -> str | None:
    """The post-processed prediction of one raw output."""
    return tasks.postprocess_mt(output) if task == "mt" else tasks.parse_intent(output)


def write_metrics(run_dir: Path, run_id: str, task: str, mode: str, rows: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Score a run from its prediction rows and write metrics.json."""
    preds = [r["prediction"] for r in rows]
    refs = [r["reference"] for r in rows]
    scored = tasks.score_task(task, preds, refs)
    extra: dict[str, Any] = {"n": len(rows), "mode": mode, "errors": sum(r.get("error") is not None for r in rows)}
    if task == "intent":
        extra["unparseable"] = sum(p is None for p in preds)
    postprocess = "rank: argmax of summed label log-probabilities" if mode == "rank" else scored.postprocess
    body = metrics_body(run_id, task, scored.scores, postprocess, extra)
    write_json(run_dir / "metrics.json", body)
    return body
