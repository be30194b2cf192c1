"""transformers as a light engine: batched greedy generation and label scoring, float32 on CPU.

Scoring encodes each prompt once and scores all its candidates in one batch over the repeated prompt
cache, so ranking 60 labels costs one prompt pass plus the label tokens, not 60 prompt passes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from icl.engines import Completion, GenParams, split_continuation, truncate_at_stop
from icl.engines.logs import EngineLog, quiet_backends
from icl.engines.models import resolve_model
from icl.errors import EngineError
from icl.prompts.prompt import Prompt


class HfEngine:
    """A causal LM loaded with transformers in this process."""

    def __init__(self, model: str, batch_size: int = 8, threads: int | None = None, dtype: str = "float32",
                 verbose: bool = False, **model_args: Any) -> None:
        quiet_backends(verbose)  # before torch is imported
        try:
            import torch
            from transformers import AutoModelForCausalLM, AutoTokenizer
        except ImportError as exc:
            raise EngineError(f"engine hf: cannot import transformers/torch ({exc})") from None
        if threads is not None:
            torch.set_num_threads(threads)
        path = resolve_model(model)
        self.torch = torch
        self.tokenizer = AutoTokenizer.from_pretrained(path)
        self.tokenizer.padding_side = "left"
        if self.tokenizer.pad_token_id is None:
            self.tokenizer.pad_token = self.tokenizer.eos_token
        self.log = EngineLog("hf", verbose, loggers=("transformers", "torch"))
        try:
            with self.log.capture("start"), _no_progress_bars(verbose):
                self.model = AutoModelForCausalLM.from_pretrained(path, dtype=getattr(torch, dtype), **model_args)
        except BaseException:
            self.log.close()
            raise
        self.model.eval()
        self.batch_size = batch_size

    def _text(self, prompt: Prompt) -> tuple[str, bool]:
        """The string to encode and whether the tokenizer should add special tokens to it."""
        if prompt.messages is not None:
            msgs = [{"role": r, "content": c} for r, c in prompt.messages]
            return self.tokenizer.apply_chat_template(msgs, add_generation_prompt=True, tokenize=False), False
        return prompt.text or "", True

    def generate(self, prompts: Sequence[Prompt], params: GenParams,
                 on_result: Callable[[int, Completion], None] | None = None) -> list[Completion]:
        torch = self.torch
        out: list[Completion] = []
        for start in range(0, len(prompts), self.batch_size):
            batch = [self._text(p) for p in prompts[start : start + self.batch_size]]
            special = batch[0][1]
            enc = self.tokenizer([t for t, _ in batch], return_tensors="pt", padding=True, add_special_tokens=special)
            kwargs: dict[str, Any] = {"max_new_tokens": params.max_tokens, "do_sample": params.temperature > 0,
                                      "pad_token_id": self.tokenizer.pad_token_id}
            if params.temperature > 0:
                kwargs["temperature"] = params.temperature
                torch.manual_seed(params.seed)
            if params.stop:
                kwargs["stop_strings"] = list(params.stop)
                kwargs["tokenizer"] = self.tokenizer
            with torch.inference_mode():
                gen = self.model.generate(**enc, **kwargs)
            new = gen[:, enc["input_ids"].shape[1] :]
            for row in new:
                text = self.tokenizer.decode(row, skip_special_tokens=True)
                out.append(Completion(text=truncate_at_stop(text, params.stop)))
                if on_result is not None:
                    on_result(len(out) - 1, out[-1])
        return out

    def score(self, prompts: Sequence[Prompt], continuations: Sequence[Sequence[str]]) -> list[list[float]]:
        torch = self.torch
        results: list[list[float]] = []
        for prompt, conts in zip(prompts, continuations, strict=True):
            text, special = self._text(prompt)
            pairs = [split_continuation(self.tokenizer, text, c, add_special=special) for c in conts]
            ctx = pairs[0][0]
            if any(p[0] != ctx for p in pairs):  # boundary merges differ: score each whole sequence
                results.append([self._score_whole(c, k) for c, k in pairs])
                continue
            with torch.inference_mode():
                first = self.model(torch.tensor([ctx]), use_cache=True)
                first_logp = torch.log_softmax(first.logits[0, -1].float(), dim=-1)
                scores: list[float] = []
                for start in range(0, len(pairs), 64):
                    chunk = [k for _, k in pairs[start : start + 64]]
                    width = max(len(k) for k in chunk)
                    ids = torch.tensor([k + [0] * (width - len(k)) for k in chunk])
                    cache = first.past_key_values
                    cache = _repeat_cache(cache, len(chunk))
                    mask = torch.ones(len(chunk), len(ctx) + width, dtype=torch.long)
                    logits = self.model(ids, past_key_values=cache, attention_mask=mask, use_cache=True).logits
                    logp = torch.log_softmax(logits.float(), dim=-1)
                    for row, k in enumerate(chunk):
                        total = float(first_logp[k[0]])
                        for j in range(1, len(k)):
                            total += float(logp[row, j - 1, k[j]])
                        scores.append(total)
            results.append(scores)
        return results

    def _score_whole(self, ctx: list[int], cont: list[int]) -> float:
        torch = self.torch
        with torch.inference_mode():
            logits = self.model(torch.tensor([ctx + cont])).logits[0]
        logp = torch.log_softmax(logits.float(), dim=-1)
        return float(sum(logp[len(ctx) + j - 1, t] for j, t in enumerate(cont)))

    def close(self) -> None:
        del self.model
        self.log.close()


@contextmanager
def _no_progress_bars(verbose: bool) -> Iterator[None]:
    """transformers' own switch for its loading bars, put back as it was."""
    from transformers.utils import logging as hf_logging

    was = hf_logging.is_progress_bar_enabled()
    if not verbose:
        hf_logging.disable_progress_bar()
    try:
        yield
    finally:
        if was and not verbose:
            hf_logging.enable_progress_bar()


def _repeat_cache(cache: Any, n: int) -> Any:
    """A copy of a one-row KV cache repeated n times (the original is reused for the next chunk)."""
    import copy

    repeated = copy.deepcopy(cache)
    repeated.batch_repeat_interleave(n)
    return repeated
