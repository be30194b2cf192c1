"""vLLM's offline `LLM`: prefix caching on, float32 on CPU, engine arguments passed through.

Scoring avoids `prompt_logprobs`, which disables prefix-cache hits and was ~10x slower here (21 s vs
2.3 s for 60 labels): each label token is forced with `allowed_token_ids` and its raw log-probability
read back, over a trie of label prefixes so that shared prefixes are asked once, all from the cache.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import Any

from icl.engines import Completion, GenParams, split_continuation
from icl.errors import EngineError
from icl.models import resolve_model
from icl.prompts import Prompt

_CPU_DEFAULTS: dict[str, Any] = {"dtype": "float32", "enforce_eager": True, "max_model_len": 4096}


def _on_cpu() -> bool:
    try:
        import torch
    except ImportError:
        return True
    return not torch.cuda.is_available()


class VllmEngine:
    """Offline vLLM engine in this process."""

    def __init__(self, model: str, **engine_args: Any) -> None:
        try:
            from vllm import LLM
        except ImportError as exc:
            raise EngineError(f"engine vllm: cannot import vllm ({exc}); run the README set-up command") from None
        path = resolve_model(model)
        args: dict[str, Any] = {"enable_prefix_caching": True, "seed": 0}
        if _on_cpu():
            # One process (a few seconds to start, ~1 GB) instead of three; the KV cache must be sized
            # explicitly on CPU or vLLM refuses to start. Both can be overridden from the environment.
            os.environ.setdefault("VLLM_CPU_KVCACHE_SPACE", "2")
            os.environ.setdefault("VLLM_ENABLE_V1_MULTIPROCESSING", "0")
            args.update(_CPU_DEFAULTS)
        args.update(engine_args)
        args.setdefault("max_logprobs", 20)
        self.llm = LLM(model=path, **args)
        self.tokenizer = self.llm.get_tokenizer()

    def _token_ids(self, prompt: Prompt) -> list[int]:
        if prompt.messages is not None:
            msgs = [{"role": r, "content": c} for r, c in prompt.messages]
            return list(self.tokenizer.apply_chat_template(msgs, add_generation_prompt=True, tokenize=True,
                                                           return_dict=False))
        return list(self.tokenizer(prompt.text or "")["input_ids"])

    def generate(self, prompts: Sequence[Prompt], params: GenParams) -> list[Completion]:
        from vllm import SamplingParams
        from vllm.inputs import TokensPrompt

        sp = SamplingParams(temperature=params.temperature, max_tokens=params.max_tokens,
                            stop=list(params.stop) or None, seed=params.seed)
        inputs = [TokensPrompt(prompt_token_ids=self._token_ids(p)) for p in prompts]
        outs = self.llm.generate(inputs, sp, use_tqdm=False)
        return [Completion(text=o.outputs[0].text) for o in outs]

    def score(self, prompts: Sequence[Prompt], continuations: Sequence[Sequence[str]]) -> list[list[float]]:
        from vllm import SamplingParams
        from vllm.inputs import TokensPrompt

        requests: dict[tuple[int, ...], None] = {}
        plans: list[list[list[tuple[int, ...]]]] = []
        for prompt, conts in zip(prompts, continuations, strict=True):
            ctx_ids = self._token_ids(prompt)
            per_prompt = []
            for cont in conts:
                if prompt.messages is None:
                    ctx, cont_ids = split_continuation(self.tokenizer, prompt.text or "", cont, add_special=True)
                else:
                    ctx, cont_ids = ctx_ids, list(self.tokenizer(cont, add_special_tokens=False)["input_ids"])
                if not cont_ids:
                    raise EngineError(f"engine vllm: continuation {cont!r} has no tokens")
                seqs = [tuple(ctx + cont_ids[: j + 1]) for j in range(len(cont_ids))]
                for s in seqs:
                    requests.setdefault(s, None)
                per_prompt.append(seqs)
            plans.append(per_prompt)
        keys = list(requests)
        inputs = [TokensPrompt(prompt_token_ids=list(k[:-1])) for k in keys]
        sps = [SamplingParams(max_tokens=1, temperature=0.0, logprobs=0, allowed_token_ids=[k[-1]]) for k in keys]
        outs = self.llm.generate(inputs, sps, use_tqdm=False)
        logprob: dict[tuple[int, ...], float] = {}
        for key, out in zip(keys, outs, strict=True):
            step = out.outputs[0].logprobs[0]
            logprob[key] = float(step[key[-1]].logprob)
        return [[sum(logprob[s] for s in seqs) for seqs in per_prompt] for per_prompt in plans]

    def close(self) -> None:
        del self.llm
