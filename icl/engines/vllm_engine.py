"""vLLM's offline `LLM`: prefix caching on, float32 on CPU, engine arguments passed through.

Rank scoring (`scoring`: auto | tree | trie). On CPU (`auto`) it goes to icl.engines.tree_score over a
transformers copy of the same model folder, loaded on the first scoring call: one pass per pack of
items over their own tokens and their labels' trie, the shared prompt prefix computed once. vLLM's
prefix cache hits whole 32-token blocks only, and every trie node is its own request, so the trie path
below recomputes up to 31 context tokens per node (~1,500 body tokens an item against the tree pass's
~70); benchmarks/bench_rank.py measures both on the same items (README, "Engines"). Scores agree with
vLLM's to ~1e-4 (kernel rounding), so cached scores stay valid.

On a GPU (`auto`), or with `scoring: trie`, the continuations form a token trie and each internal node
is one request that returns the raw log-probabilities of all its children (`logprob_token_ids`), with
the shared context read from the prefix cache (`prompt_logprobs` would disable prefix-cache hits and was
~10x slower here). Not measured on a GPU; the tree pass as written runs on the CPU.

Everything vLLM prints (hundreds of lines at start-up) goes to the engine's log file through vLLM's own
switches unless `verbose` (icl.engines.logs); a failure ends in one EngineError line quoting the log's tail.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from icl.engines import Cancelled, Completion, GenParams, LabelTrie, split_continuations
from icl.engines.logs import EngineLog, no_progress_bars, quiet_backends
from icl.engines.models import resolve_model
from icl.errors import EngineError
from icl.values.prompt import Prompt

_CPU_DEFAULTS: dict[str, Any] = {
    "dtype": "float32",  # bf16 can die with SIGILL in the AMX attention kernel on these CPUs
    "enforce_eager": True,  # no torch.compile: starts in seconds
    "max_model_len": 4096,
    # Gemma 3 mixes sliding-window and global layers; vLLM's hybrid KV-cache manager then caches
    # prefixes in 128-token blocks, so each scored label recomputed up to 127 context tokens. One
    # uniform cache with 32-token blocks (the CPU kernel's minimum) made rank scoring 3x faster here.
    "disable_hybrid_kv_cache_manager": True,
    "block_size": 32,
}


NGRAM_SPECULATION: dict[str, Any] = {"method": "ngram", "num_speculative_tokens": 4, "prompt_lookup_min": 2,
                                     "prompt_lookup_max": 4}
"""vLLM's prompt-lookup drafts, for `speculative_config`. A decode step here is mostly float32 matrix
products over all of the weights (Gemma 3's 262k-row output layer alone is a third of an `icl author`
edit), so checking 4 drafted tokens costs much less than making them one step at a time: edits gave 8 MT
outputs 1.07-1.4x faster (benchmarks/bench_author.py). icl decodes greedily, and greedy speculation
accepts a draft only where it is the model's own argmax, so outputs do not change (tests/test_engines.py
compares them); the argument is therefore left out of cache keys (icl.run.requests.NON_SEMANTIC_ARGS).
Not a sweep default: its effect on large batches was not measured."""


def _on_cpu() -> bool:
    try:
        import torch
    except ImportError:
        return True
    return not torch.cuda.is_available()


@contextmanager
def _offline_tokenizer() -> Iterator[None]:
    """Build the offline `LLM` without the renderer's pool of deep-copied tokenizers.

    vLLM wraps its tokenizer in a pool of deep copies (at least two) for the async server path, where
    several threads tokenise at once; deep-copying Gemma 3's 262k-token tokenizer takes ~8 s of a
    ~17 s start on this machine. The offline `LLM` renders synchronously in the calling thread and
    never uses the pool (vLLM says so where it warns about `renderer_num_workers` in
    entrypoints/llm.py), so while it is built the wrapper is left out. Other vLLM versions, which may
    lack the hook, start as they are.
    """
    try:
        from vllm.renderers import hf as renderer
    except ImportError:
        yield
        return
    original = getattr(renderer, "maybe_make_thread_pool", None)
    if original is None:
        yield
        return
    renderer.maybe_make_thread_pool = lambda tokenizer, copies=1: tokenizer
    try:
        yield
    finally:
        renderer.maybe_make_thread_pool = original


class VllmEngine:
    """Offline vLLM engine in this process."""

    def __init__(self, model: str, scoring: str = "auto", verbose: bool = False, **engine_args: Any) -> None:
        if scoring not in ("auto", "tree", "trie"):
            raise EngineError(f"engine vllm: scoring {scoring!r} is not auto, tree or trie")
        self.scoring = scoring
        self.tree: Any = None  # icl.engines.tree_score.TreeScorer, loaded on the first tree-scored call
        quiet_backends(verbose)  # before torch and vLLM are imported: they read these switches then
        self.log = EngineLog("vllm", verbose, loggers=("vllm", "transformers", "torch"))
        try:
            with self.log.capture("start"):
                self._start(model, engine_args)
        except BaseException:
            self.log.close()
            raise

    def _start(self, model: str, engine_args: dict[str, Any]) -> None:
        began = time.perf_counter()
        try:
            from vllm import LLM
        except ImportError as exc:
            raise EngineError(f"engine vllm: cannot import vllm ({exc}); run the README set-up command") from None
        imported = time.perf_counter()
        path = self.path = resolve_model(model)
        args: dict[str, Any] = {"enable_prefix_caching": True, "seed": 0}
        if _on_cpu():
            # One process (a few seconds to start, ~1 GB) instead of three; the KV cache must be sized
            # explicitly on CPU or vLLM refuses to start. Both can be overridden from the environment.
            os.environ.setdefault("VLLM_CPU_KVCACHE_SPACE", "2")
            os.environ.setdefault("VLLM_ENABLE_V1_MULTIPROCESSING", "0")
            args.update(_CPU_DEFAULTS)
        args.update(engine_args)
        args.setdefault("max_logprobs", 256)  # a trie node of the 60 MASSIVE labels has up to ~20 children
        if not self.log.verbose:
            args.setdefault("use_tqdm_on_load", False)  # the weight-loading progress bar
        template = Path(path) / "chat_template.jinja"
        if "chat_template" not in args and template.is_file():
            # vLLM's warm-up otherwise loads the model's AutoProcessor (a second tokenizer, ~3 s here)
            # only to look for this template; icl renders chat prompts with the tokenizer itself.
            args["chat_template"] = str(template)
        with _offline_tokenizer():
            self.llm = LLM(model=path, **args)
        self.tokenizer = self.llm.get_tokenizer()
        # start-up seconds by phase, for the sweep's timings.json
        self.startup = {"engine import": imported - began, "model load": time.perf_counter() - imported}

    def _token_ids(self, prompt: Prompt) -> list[int]:
        if prompt.messages is not None:
            msgs = [{"role": r, "content": c} for r, c in prompt.messages]
            return list(self.tokenizer.apply_chat_template(msgs, add_generation_prompt=True, tokenize=True,
                                                           return_dict=False))
        return list(self.tokenizer(prompt.text or "")["input_ids"])

    def generate(self, prompts: Sequence[Prompt], params: GenParams,
                 on_result: Callable[[int, Completion], None] | None = None,
                 cancel: threading.Event | None = None) -> list[Completion]:
        with self.log.capture("generate"):
            return self._generate(prompts, params, on_result, cancel)

    def _generate(self, prompts: Sequence[Prompt], params: GenParams,
                  on_result: Callable[[int, Completion], None] | None,
                  cancel: threading.Event | None = None) -> list[Completion]:
        from vllm import SamplingParams
        from vllm.inputs import TokensPrompt

        sp = SamplingParams(temperature=params.temperature, max_tokens=params.max_tokens,
                            stop=list(params.stop) or None, seed=params.seed)
        inputs = [TokensPrompt(prompt_token_ids=self._token_ids(p)) for p in prompts]
        add = getattr(self.llm, "_add_completion_requests", None)
        if (on_result is None and cancel is None) or add is None:  # nothing to stream, or no private API
            outs = self.llm.generate(inputs, sp, use_tqdm=False)
            results = [Completion(text=o.outputs[0].text) for o in outs]
            if on_result is not None:
                for i, c in enumerate(results):
                    on_result(i, c)
            return results
        # Drive the engine ourselves so each completion is handed over the moment it finishes: a sweep
        # killed mid-batch keeps every completion that had finished, and the page shows each at once.
        request_ids = add(prompts=inputs, params=sp, use_tqdm=False)
        streamed = self._step_loop(request_ids, on_result, cancel)
        missing = [i for i, c in enumerate(streamed) if c is None]
        if missing:
            raise EngineError(f"engine vllm: {len(missing)} requests ended without output")
        return [c for c in streamed if c is not None]

    def _step_loop(self, request_ids: list[str], on_result: Callable[[int, Completion], None] | None,
                   cancel: threading.Event | None) -> list[Completion | None]:
        """Step the engine until these requests finish, handing each over as it does. A set `cancel`
        (checked between steps, ~0.1 s apart here) or an `on_result` that raises aborts the requests
        still running, so the engine is idle again for the next call instead of finishing them."""
        # vLLM hands back its internal id ("<external>-<random>") while outputs may carry either form.
        index = {rid: i for i, rid in enumerate(request_ids)}
        index.update({rid.rsplit("-", 1)[0]: i for i, rid in enumerate(request_ids)})
        streamed: list[Completion | None] = [None] * len(request_ids)
        engine = self.llm.llm_engine
        try:
            while engine.has_unfinished_requests():
                if cancel is not None and cancel.is_set():
                    raise Cancelled(f"{sum(c is None for c in streamed)} generations cancelled")
                for out in engine.step():
                    if out.finished and out.request_id in index:
                        i = index[out.request_id]
                        streamed[i] = Completion(text=out.outputs[0].text)
                        if on_result is not None:
                            on_result(i, streamed[i])
        except BaseException:
            engine.abort_request([rid for rid, c in zip(request_ids, streamed, strict=True) if c is None],
                                 internal=True)
            raise
        return streamed

    def score(self, prompts: Sequence[Prompt], continuations: Sequence[Sequence[str]]) -> list[list[float]]:
        with self.log.capture("score"):
            return self._score(prompts, continuations)

    def _score(self, prompts: Sequence[Prompt], continuations: Sequence[Sequence[str]]) -> list[list[float]]:
        requests = []
        for prompt, conts in zip(prompts, continuations, strict=True):
            if prompt.messages is None:
                requests.append(split_continuations(self.tokenizer, prompt.text or "", conts, add_special=True))
            else:
                requests.append((self._token_ids(prompt),
                                 [list(self.tokenizer(c, add_special_tokens=False)["input_ids"]) for c in conts]))
        try:
            if self.scoring == "tree" or (self.scoring == "auto" and _on_cpu()):
                return self._tree_scorer().score(requests)
            trie = LabelTrie.build([[(ctx, cont) for cont in conts] for ctx, conts in requests])
        except ValueError as exc:
            raise EngineError(f"engine vllm: {exc}") from None
        return self._score_trie(trie)

    def _tree_scorer(self) -> Any:
        """transformers' copy of the same model, loaded on the first scoring call (about a second and
        1 GB here); it shares nothing with vLLM but the files."""
        if self.tree is None:
            from icl.engines.tree_score import load_tree_scorer

            with no_progress_bars(self.log.verbose):
                self.tree = load_tree_scorer(self.path)
        return self.tree

    def _score_trie(self, trie: LabelTrie) -> list[list[float]]:
        from vllm import SamplingParams
        from vllm.inputs import TokensPrompt

        # Contexts go first, alone: requests scheduled in the same engine step cannot reuse each other's
        # blocks, so without this every trie request of an item recomputed the item's whole context.
        self.llm.generate([TokensPrompt(prompt_token_ids=list(c)) for c in trie.contexts()],
                          SamplingParams(max_tokens=1, temperature=0.0), use_tqdm=False)
        nodes = trie.nodes()
        sps = [SamplingParams(max_tokens=1, temperature=0.0, logprobs=len(trie.children[node]),
                              logprob_token_ids=sorted(trie.children[node])) for node in nodes]
        outs = self.llm.generate([TokensPrompt(prompt_token_ids=list(n)) for n in nodes], sps, use_tqdm=False)
        logprob: dict[tuple[int, ...], float] = {}
        for node, out in zip(nodes, outs, strict=True):
            step = out.outputs[0].logprobs[0]
            for token in trie.children[node]:
                logprob[node + (token,)] = float(step[token].logprob)
        return trie.totals(logprob)

    def close(self) -> None:
        try:
            with self.log.capture("close"):
                self.__dict__.pop("llm", None)
                self.tree = None
        finally:
            self.log.close()
