"""`plan_sweep`: every prompt built as the runner builds it, its cache keys looked up, and the time
of what is missing estimated from recorded throughput."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from icl.run.plan.memo import _digest, _Memo, _RunKeys, inputs_stamp
from icl.run.plan.tokens import TokenCounter, _tokenizer_source, token_counter
from icl.spec import ModelSpec, RunSpec


@dataclass(frozen=True)
class Estimate:
    """Time for what is missing, from this engine identity's recorded throughput."""

    seconds: float | None
    """None where some missing work has no recorded throughput."""
    basis: str
    """How it was estimated, e.g. "1,234 recorded generations at 0.41 s each"."""


@dataclass(frozen=True)
class ModelPlan:
    """What one model will be asked."""

    model: str
    engine: str
    runs: int
    runs_by_task: tuple[tuple[str, int], ...]
    unbuilt: int
    """Runs whose prompts need the model itself (self-labelled demos not yet cached): not counted below."""
    items: int
    """Test items over all built runs (one prompt each, before de-duplication)."""
    generate: int
    """Distinct generations the runner would request."""
    generate_cached: int
    score_prompts: int
    """Distinct prompts whose label continuations are scored."""
    score_prompts_missing: int
    """Of those, prompts with at least one continuation not cached."""
    continuations: int
    """Distinct (prompt, continuation) pairs to score."""
    continuations_cached: int
    prompt_tokens: int | None
    """Tokens of the distinct prompts (generation prompts and scoring contexts); None where unknown."""
    missing_tokens: int | None
    """Tokens of the distinct prompts with something missing."""
    tokens_source: str
    """The tokenizer used, or why tokens are unknown."""
    estimate: Estimate

    @property
    def generate_missing(self) -> int:
        return self.generate - self.generate_cached

    @property
    def continuations_missing(self) -> int:
        return self.continuations - self.continuations_cached


@dataclass(frozen=True)
class Plan:
    """A sweep's size and what its engines would be asked, model by model."""

    sweep: str
    path: Path
    runs: int
    runs_by_task: tuple[tuple[str, int], ...]
    models: tuple[ModelPlan, ...]
    cache_path: Path
    remembered: int
    """Runs whose keys came from the plan memo rather than a fresh build."""
    seconds: float
    """How long planning took."""
    collapsed: int = 0
    """Runs collapsed into others: identical prompts (icl.run.noops); not counted above."""
    failed: int = 0
    """Runs that cannot be built (`problems` says why); not counted above."""
    problems: str = ""
    """Why `icl run` would refuse the sweep as written ('' where it would run)."""

    @property
    def estimate_seconds(self) -> float | None:
        values = [m.estimate.seconds for m in self.models]
        return None if any(v is None for v in values) else sum(v for v in values if v is not None)


def _run_keys(spec: RunSpec, run_items: Any, identity: str, counter: TokenCounter) -> _RunKeys:
    """The runner's requests for one built run (icl.run.requests, as the runner asks) and the run's
    fingerprint (icl.run.noops)."""
    from icl.run.noops import fingerprint
    from icl.run.requests import item_keys

    prompts = [item.prompt for item in run_items.items]
    tokens = counter.count(prompts) or [None] * len(prompts)
    gen: list[tuple[str, str, int | None]] = []
    score: list[tuple[str, int | None, tuple[str, ...]]] = []
    for item, n in zip(run_items.items, tokens, strict=True):
        digest = _digest(item.prompt.as_key())
        keys = item_keys(spec, item, identity)
        if spec.ranks:
            score.append((digest, n, keys))
        else:
            gen.append((keys[0], digest, n))
    return _RunKeys(len(prompts), tuple(gen), tuple(score), fingerprint(spec, run_items, identity))


def _estimate(cache: Any, identity: str, generate: int, score_prompts: int) -> Estimate:
    if generate == 0 and score_prompts == 0:
        return Estimate(0.0, "nothing to compute: all cached")
    if cache is None:
        return Estimate(None, "no completion cache yet, so no recorded throughput")
    seconds = 0.0
    parts: list[str] = []
    known = True
    for kind, n, what in (("generate", generate, "generations"), ("score", score_prompts, "scored prompts")):
        if n == 0:
            continue
        rate = cache.throughput(identity, kind)
        if rate is None:
            known = False
            parts.append(f"no recorded {what} for this engine and model")
            continue
        seconds += n * rate.seconds_per_prompt
        calls = f"{rate.calls:,} engine call{'s' if rate.calls != 1 else ''}"
        parts.append(f"{n:,} {what} x {rate.seconds_per_prompt:.2f} s, the rate recorded over {rate.prompts:,} "
                     f"{what} in {calls}")
    start = cache.throughput(identity, "start")
    if start is not None:
        seconds += start.seconds_per_prompt
        parts.append(f"+ engine start {start.seconds_per_prompt:.0f} s (mean of {start.calls:,})")
    return Estimate(seconds if known else None, "; ".join(parts))


def plan_sweep(sweep: Any, cache_path: Path | None = None, use_memo: bool = True,
               on_run: Callable[[int, int], None] | None = None) -> Plan:
    """Count what running `sweep` would ask of its engines (no model is loaded), through the runner's own
    prepare step (icl.run.prepare) with request keys in place of prompts.

    `on_run(done, total)` is called as runs are built (a progress bar); runs remembered from an
    earlier plan with unchanged inputs are not rebuilt. Runs that cannot be built and conditions that
    change nothing are reported as the runner would refuse them (`Plan.problems`), not raised.
    """
    from icl.config import cache_dir
    from icl.run.cache import CompletionCache
    from icl.run.prepare import prepare
    from icl.run.requests import engine_identity

    began = time.perf_counter()
    cache_path = cache_path or cache_dir() / "completions.sqlite"
    cache = CompletionCache(cache_path) if cache_path.is_file() else None
    planner = _Planner(sweep, cache, _Memo(sweep.path, inputs_stamp(sweep) if use_memo else None))
    done = [0]

    def tick() -> None:
        done[0] += 1
        if on_run is not None:
            on_run(done[0], len(sweep.runs))

    try:
        prepared = prepare(sweep.runs, sweep.datasets, planner.keys, lambda spec, keys: keys.fingerprint,
                           on_run=tick)
        planner.save(use_memo)
        plans = []
        for model in dict.fromkeys(spec.model for spec in prepared.runs):
            specs = [s for s in prepared.runs if s.model == model]
            plans.append(_model_plan(model, specs, [prepared.built[s] for s in specs if s in prepared.built],
                                     sum(s in planner.unbuilt for s in specs), cache, engine_identity(model),
                                     planner.memo.sources.get(_tokenizer_source(model), _tokenizer_source(model))))
    finally:
        if cache is not None:
            cache.close()
    return Plan(sweep=sweep.name, path=sweep.path, runs=len(prepared.runs), runs_by_task=_by_task(prepared.runs),
                models=tuple(plans), cache_path=cache_path, remembered=planner.remembered,
                seconds=time.perf_counter() - began, collapsed=prepared.collapsed, failed=prepared.failed,
                problems=prepared.problems)


class _Planner:
    """The planner's `build` for icl.run.prepare: a run's request keys, from the plan memo where its inputs are
    unchanged, else built as the runner builds its prompts; a self-labelling run whose labels are not cached
    is left unbuilt (None), remembering the labels it waits for."""

    def __init__(self, sweep: Any, cache: Any, memo: _Memo) -> None:
        self.sweep, self.cache, self.memo = sweep, cache, memo
        self.kept: dict[str, _RunKeys] = {}
        self.waiting: dict[str, list[str]] = {}
        """self-labelling runs that need the model -> the labelling keys they wait for"""
        self.unbuilt: set[RunSpec] = set()
        self.counters: dict[ModelSpec, TokenCounter] = {}
        self.built = self.remembered = 0

    def keys(self, spec: RunSpec) -> _RunKeys | None:
        from icl.augment.augmenters import needs_model
        from icl.data import load_run
        from icl.run.answer import Answerer, CachedLabeler, NeedsModel
        from icl.run.cache import cache_key
        from icl.run.items import build_items, check_pool
        from icl.run.requests import engine_identity
        from icl.spec import spec_to_json

        identity, source = engine_identity(spec.model), _tokenizer_source(spec.model)
        memo_key = cache_key("plan", spec_to_json(spec), identity, source)
        found, needs = self.memo.get(memo_key), self.memo.needs(memo_key)
        if found is not None:
            self.remembered += 1
        elif needs_model(spec) and self.cache is None:
            check_pool(spec, load_run(spec, self.sweep.datasets))  # what the runner checks before its model loads
            self.unbuilt.add(spec)
        elif needs is not None and self.cache is not None and len(self.cache.existing(needs)) < len(set(needs)):
            self.unbuilt.add(spec)  # still waiting for the same labels: not worth building again
            self.waiting[memo_key] = needs
        else:
            labeler = (CachedLabeler(spec.model, Answerer(self.cache)) if needs_model(spec) and self.cache is not None
                       else None)
            try:
                found = _run_keys(spec, build_items(spec, self.sweep.datasets, labeler=labeler), identity,
                                  self.counter(spec.model))
                self.built += 1
            except NeedsModel as exc:
                self.unbuilt.add(spec)
                self.waiting[memo_key] = exc.missing
        if found is not None:
            self.kept[memo_key] = found
        return found

    def counter(self, model: ModelSpec) -> TokenCounter:
        """The model's token counter, loaded only when a run has to be built."""
        if model not in self.counters:
            self.counters[model] = token_counter(model)
            self.memo.sources[_tokenizer_source(model)] = self.counters[model].source
        return self.counters[model]

    def save(self, use_memo: bool) -> None:
        memo = self.memo
        if use_memo and (self.built or set(self.kept) | set(self.waiting) != set(memo.runs)
                         or any(memo.needs(k) != v for k, v in self.waiting.items())):
            # stamped after building: the synthetic sets it wrote are inputs too
            memo.save(inputs_stamp(self.sweep), self.kept, self.waiting)


def _by_task(specs: Sequence[RunSpec]) -> tuple[tuple[str, int], ...]:
    counts: dict[str, int] = {}
    for spec in specs:
        counts[spec.task] = counts.get(spec.task, 0) + 1
    return tuple(counts.items())


def _model_plan(model: ModelSpec, specs: list[RunSpec], runs: list[_RunKeys], unbuilt: int, cache: Any,
                identity: str, tokens_source: str) -> ModelPlan:
    gen_digest: dict[str, str] = {}
    tokens: dict[str, int | None] = {}
    score_keys: dict[str, tuple[str, ...]] = {}
    for run in runs:
        for key, digest, n in run.gen:
            gen_digest[key] = digest
            tokens[digest] = n
        for digest, n, keys in run.score:
            score_keys[digest] = tuple(dict.fromkeys(score_keys.get(digest, ()) + keys))
            tokens[digest] = n
    all_score = {k for keys in score_keys.values() for k in keys}
    cached = cache.existing(list(gen_digest) + list(all_score)) if cache is not None else set()
    missing_digests = {d for k, d in gen_digest.items() if k not in cached}
    missing_score_prompts = {d for d, keys in score_keys.items() if any(k not in cached for k in keys)}
    missing_digests |= missing_score_prompts
    known = all(n is not None for n in tokens.values())
    gen_missing = sum(k not in cached for k in gen_digest)
    return ModelPlan(
        model=model.name, engine=model.engine, runs=len(specs), runs_by_task=_by_task(specs), unbuilt=unbuilt,
        items=sum(r.items for r in runs), generate=len(gen_digest),
        generate_cached=len(gen_digest) - gen_missing, score_prompts=len(score_keys),
        score_prompts_missing=len(missing_score_prompts), continuations=len(all_score),
        continuations_cached=sum(k in cached for k in all_score),
        prompt_tokens=sum(n or 0 for n in tokens.values()) if known else None,
        missing_tokens=sum(tokens[d] or 0 for d in missing_digests) if known else None,
        tokens_source=tokens_source,
        estimate=_estimate(cache, identity, gen_missing, len(missing_score_prompts)),
    )
