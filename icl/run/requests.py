"""What a built run asks of its engine: each item's requests (a generation, or one score per candidate
label), each under the cache key its answer is stored by, and what an item's answers say (`outcome`).

One builder (`item_requests`) for everyone who needs to know: the runner sends exactly these, `icl
plan` counts exactly these, and the no-op check compares runs by them; one reader (`outcome`) for the
runner's predictions and the authoring page's items. Cache keys are the engine
identity (engine, model and its files' fingerprint, output-changing arguments), the decoding
parameters and the exact prompt.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from icl.engines import GenParams
from icl.engines.models import model_fingerprint
from icl.run.cache import cache_key, cache_keys
from icl.spec import ModelSpec, RunSpec
from icl.tasks import argmax, get_task
from icl.values import LabelSet
from icl.values.prompt import Prompt

if TYPE_CHECKING:
    from icl.run.items import PromptItem

NON_SEMANTIC_ARGS = frozenset({
    "endpoints", "concurrency", "timeout", "retries", "api_key", "tensor_parallel_size", "pipeline_parallel_size",
    "data_parallel_size", "kv_cache_memory_bytes", "gpu_memory_utilization", "max_num_seqs", "enforce_eager",
    "batch_size", "threads", "distributed_executor_backend", "swap_space", "max_num_batched_tokens", "scoring",
    "speculative_config",
})
"""Engine arguments that change speed or placement but not outputs; left out of cache keys.
`speculative_config` is one because icl only decodes greedily (no run sets a temperature), and greedy
speculative decoding keeps the model's own argmax tokens (icl.engines.vllm_engine.NGRAM_SPECULATION)."""


def engine_identity(model: ModelSpec) -> str:
    """What identifies a model's outputs: engine, model (with its local files' fingerprint), and
    output-changing arguments."""
    args = {k: v for k, v in model.args.items() if k not in NON_SEMANTIC_ARGS}
    return json.dumps([model.engine, model.name, args, model_fingerprint(model.name)], sort_keys=True)


def gen_key(identity: str, prompt: Prompt, params: GenParams) -> str:
    return cache_key("gen", identity, prompt.as_key(), params.max_tokens, params.temperature, list(params.stop),
                     params.seed)


def score_key(identity: str, prompt: Prompt, continuation: str) -> str:
    return cache_key("score", identity, prompt.as_key(), continuation)


def score_keys(identity: str, prompt: Prompt, continuations: Sequence[str]) -> list[str]:
    """`score_key` of each continuation after one prompt (the prompt serialised once)."""
    return cache_keys(("score", identity, prompt.as_key()), continuations)


def gen_params(spec: RunSpec, item: PromptItem) -> GenParams:
    """The decoding parameters of a generated item (the template's stop strings, the run's limits)."""
    return GenParams(max_tokens=spec.max_tokens, stop=item.stop, seed=spec.seed)


@dataclass(frozen=True)
class GenRequest:
    """Generate from a prompt."""

    key: str
    prompt: Prompt
    params: GenParams


@dataclass(frozen=True)
class ScoreRequest:
    """Score one continuation (a candidate label's answer) after a prompt."""

    key: str
    prompt: Prompt
    continuation: str


Request = GenRequest | ScoreRequest


def item_requests(spec: RunSpec, item: PromptItem, identity: str) -> tuple[Request, ...]:
    """An item's requests: one score per candidate (a ranking mode, aligned with the run's labels),
    or its one generation."""
    if spec.ranks:
        return tuple(ScoreRequest(key, item.prompt, c)
                     for key, c in zip(score_keys(identity, item.prompt, item.candidates), item.candidates, strict=True))
    params = gen_params(spec, item)
    return (GenRequest(gen_key(identity, item.prompt, params), item.prompt, params),)


def item_keys(spec: RunSpec, item: PromptItem, identity: str) -> tuple[str, ...]:
    """The cache keys of an item's answers, in `item_requests` order."""
    return tuple(r.key for r in item_requests(spec, item, identity))


@dataclass(frozen=True)
class Outcome:
    """An item's answers read back: the output, its error, and the task's prediction."""

    output: str
    """The generation, or (a ranking mode) the best label's continuation."""
    error: str | None
    prediction: str | None
    """None where the generation failed."""
    scores: tuple[float, ...] = ()
    """A ranking mode: every label's summed log-probability, in label order."""


def outcome(spec: RunSpec, item: PromptItem, keys: Sequence[str], results: Mapping[str, Any],
            labels: LabelSet | None) -> Outcome:
    """What an item's answers (under its `item_keys`) say: the best-scored label, or the generation
    and the prediction the task reads from it."""
    task = get_task(spec.task)
    if spec.ranks:
        scores = [results[k] for k in keys]
        return Outcome(item.candidates[argmax(scores)], None, task.pick(scores, labels), tuple(scores))
    got = results[keys[0]]
    prediction = task.predict(got["text"], labels) if got["error"] is None else None
    return Outcome(got["text"], got["error"], prediction)
