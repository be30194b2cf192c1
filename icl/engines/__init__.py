"""Engines behind one small Protocol: `generate` text and `score` candidate continuations.

Engines are made through the plain dict `ENGINES` (name -> factory that imports its backend lazily),
so importing icl never imports vLLM or torch.
"""

from __future__ import annotations

import importlib
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from icl.errors import ConfigError
from icl.values.prompt import Prompt


@dataclass(frozen=True)
class GenParams:
    """Decoding parameters; greedy by default so that runs are reproducible."""

    max_tokens: int = 128
    temperature: float = 0.0
    stop: tuple[str, ...] = ("\n",)
    seed: int = 0


@dataclass(frozen=True)
class Completion:
    """One generation, or the recorded reason it failed (never an empty string standing in for an error)."""

    text: str
    error: str | None = None


class Cancelled(Exception):
    """A generation stopped because its caller no longer wants it (`icl author`: a newer edit)."""


class Engine(Protocol):
    """What every engine offers."""

    def generate(self, prompts: Sequence[Prompt], params: GenParams,
                 on_result: Callable[[int, Completion], None] | None = None,
                 cancel: threading.Event | None = None) -> list[Completion]:
        """Greedy (or sampled) continuations, one per prompt, in order; `on_result(i, completion)` is
        called as each one finishes, so callers can store it durably before the batch ends.

        Once `cancel` is set (it is only ever passed by the authoring page) the engine drops the work it
        still has for this call and raises Cancelled; so does an `on_result` that raises it. Callers
        that never cancel need not pass it, so an engine without the keyword still serves a sweep."""
        ...

    def score(self, prompts: Sequence[Prompt], continuations: Sequence[Sequence[str]]) -> list[list[float]]:
        """Sum of token log-probabilities of each continuation given its prompt."""
        ...

    def close(self) -> None:
        """Release the model (and any server connection)."""
        ...


@dataclass(frozen=True)
class EngineSpec:
    """Which engine, which model, and the arguments passed through to the backend."""

    name: str
    model: str
    args: Mapping[str, Any] = field(default_factory=dict)
    verbose: bool = False
    """Let the backend print as it likes instead of writing to the engine log (`icl run --verbose`)."""


_FACTORIES: dict[str, str] = {
    "vllm": "icl.engines.vllm_engine:VllmEngine",
    "hf": "icl.engines.hf_engine:HfEngine",
    "openai": "icl.engines.openai_engine:OpenAIEngine",
}
ENGINES: dict[str, str] = _FACTORIES
"""name -> `module:Class`; each class is built as `Class(model, verbose=..., **args)`."""


def make_engine(spec: EngineSpec) -> Engine:
    """Build an engine; backends are imported only here."""
    target = ENGINES.get(spec.name)
    if target is None:
        raise ConfigError(f"engine: unknown engine {spec.name!r} (known: {', '.join(sorted(ENGINES))})")
    module_name, _, cls_name = target.partition(":")
    cls: Callable[..., Engine] = getattr(importlib.import_module(module_name), cls_name)
    return cls(spec.model, verbose=spec.verbose, **dict(spec.args))


def split_continuation(tokenizer: Any, context: str, continuation: str, add_special: bool) -> tuple[list[int], list[int]]:
    """Token ids of context and continuation, tokenised together as the model would see them.

    Tokenising the continuation alone can split differently at the boundary; like lm-eval, encode the
    whole string and take what follows the context's tokens, falling back to separate encoding only when
    the context's tokens are not a prefix of the whole.
    """
    ctx = tokenizer(context, add_special_tokens=add_special)["input_ids"]
    whole = tokenizer(context + continuation, add_special_tokens=add_special)["input_ids"]
    if whole[: len(ctx)] == ctx and len(whole) > len(ctx):
        return list(ctx), list(whole[len(ctx):])
    return list(ctx), list(tokenizer(continuation, add_special_tokens=False)["input_ids"])


def split_continuations(tokenizer: Any, context: str, continuations: Sequence[str],
                        add_special: bool) -> tuple[list[int], list[list[int]]]:
    """`split_continuation` for every continuation of one context: the same token ids, with the whole
    strings encoded in one batch call (60 labels of a quickstart prompt: ~5x faster than one by one)."""
    ctx = list(tokenizer(context, add_special_tokens=add_special)["input_ids"])
    wholes = tokenizer([context + c for c in continuations], add_special_tokens=add_special)["input_ids"]
    conts = []
    for cont, whole in zip(continuations, wholes, strict=True):
        if whole[: len(ctx)] == ctx and len(whole) > len(ctx):
            conts.append(list(whole[len(ctx):]))
        else:
            conts.append(list(tokenizer(cont, add_special_tokens=False)["input_ids"]))
    return ctx, conts


def truncate_at_stop(text: str, stop: Sequence[str]) -> str:
    """Cut a generation at the first stop sequence (engines that cannot stop by themselves)."""
    cut = len(text)
    for s in stop:
        if s:
            i = text.find(s)
            if i != -1:
                cut = min(cut, i)
    return text[:cut]


@dataclass(frozen=True)
class LabelTrie:
    """Every (context + continuation prefix) of a scoring batch, as a token trie.

    Scoring one internal node gives the log-probabilities of all its children at once, so shared label
    prefixes (`alarm_` in alarm_set / alarm_query) are asked once per context, not once per label.
    """

    children: dict[tuple[int, ...], frozenset[int]]
    """Internal node (token ids) -> the next tokens below it."""
    plans: list[list[list[tuple[int, ...]]]]
    """[prompt][continuation] -> the steps (node + token) whose log-probabilities add up to its score."""

    @classmethod
    def build(cls, token_pairs: Sequence[Sequence[tuple[list[int], list[int]]]]) -> LabelTrie:
        """From [prompt][continuation] -> (context ids, continuation ids)."""
        children: dict[tuple[int, ...], set[int]] = {}
        plans = []
        for per_prompt in token_pairs:
            plan = []
            for ctx, cont in per_prompt:
                if not cont:
                    raise ValueError("a continuation with no tokens cannot be scored")
                steps = [tuple(ctx + cont[: j + 1]) for j in range(len(cont))]
                for step in steps:
                    children.setdefault(step[:-1], set()).add(step[-1])
                plan.append(steps)
            plans.append(plan)
        return cls({k: frozenset(v) for k, v in children.items()}, plans)

    def contexts(self) -> list[tuple[int, ...]]:
        """The distinct contexts, to warm a prefix cache before the nodes are asked."""
        return sorted({steps[0][:-1] for plan in self.plans for steps in plan})

    def nodes(self) -> list[tuple[int, ...]]:
        """Internal nodes, sorted so that neighbours share prefixes."""
        return sorted(self.children)

    def totals(self, logprob: Mapping[tuple[int, ...], float]) -> list[list[float]]:
        """Sum each continuation's step log-probabilities (`logprob[node + (token,)]`)."""
        return [[sum(logprob[s] for s in steps) for steps in plan] for plan in self.plans]
