"""transformers as a light engine: batched greedy generation and label scoring, float32 on CPU.

Scoring goes through icl.engines.tree_score: the prompts' shared prefix is computed once, and each
prompt's own tokens and its labels' token trie go through the model in one pass with a tree-shaped
attention mask, so ranking 60 labels costs about the labels' ~60 distinct non-final tokens, not 60
prompt passes.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import Any

from icl.engines import Cancelled, Completion, GenParams, split_continuations, truncate_at_stop
from icl.engines.logs import EngineLog, no_progress_bars, quiet_backends
from icl.engines.models import resolve_model
from icl.errors import EngineError
from icl.values.prompt import Prompt


def _stop_when(cancel: threading.Event) -> Any:
    """A transformers stopping criterion that ends every sequence of a batch once `cancel` is set."""
    import torch
    from transformers import StoppingCriteria, StoppingCriteriaList

    class Cancelling(StoppingCriteria):
        def __call__(self, input_ids: torch.Tensor, scores: torch.Tensor, **kwargs: Any) -> torch.Tensor:
            return torch.full((input_ids.shape[0],), cancel.is_set(), dtype=torch.bool, device=input_ids.device)

    return StoppingCriteriaList([Cancelling()])


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
            with self.log.capture("start"), no_progress_bars(verbose):
                self.model = AutoModelForCausalLM.from_pretrained(path, dtype=getattr(torch, dtype), **model_args)
        except BaseException:
            self.log.close()
            raise
        self.model.eval()
        self.batch_size = batch_size
        self.scorer: Any = None  # icl.engines.tree_score.TreeScorer, made on the first `score`

    def _text(self, prompt: Prompt) -> tuple[str, bool]:
        """The string to encode and whether the tokenizer should add special tokens to it."""
        if prompt.messages is not None:
            msgs = [{"role": r, "content": c} for r, c in prompt.messages]
            return self.tokenizer.apply_chat_template(msgs, add_generation_prompt=True, tokenize=False), False
        return prompt.text or "", True

    def generate(self, prompts: Sequence[Prompt], params: GenParams,
                 on_result: Callable[[int, Completion], None] | None = None,
                 cancel: threading.Event | None = None) -> list[Completion]:
        """Batches of `batch_size` prompts; a batch's outputs arrive together, when its longest is done.
        A set `cancel` stops the batch at its next decoding step (a stopping criterion) and raises."""
        torch = self.torch
        out: list[Completion] = []
        for start in range(0, len(prompts), self.batch_size):
            if cancel is not None and cancel.is_set():
                raise Cancelled(f"{len(prompts) - start} generations cancelled")
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
            if cancel is not None:
                kwargs["stopping_criteria"] = _stop_when(cancel)
            with torch.inference_mode():
                gen = self.model.generate(**enc, **kwargs)
            if cancel is not None and cancel.is_set():
                raise Cancelled(f"{len(prompts) - start} generations cancelled")
            new = gen[:, enc["input_ids"].shape[1] :]
            for row in new:
                text = self.tokenizer.decode(row, skip_special_tokens=True)
                out.append(Completion(text=truncate_at_stop(text, params.stop)))
                if on_result is not None:
                    on_result(len(out) - 1, out[-1])
        return out

    def score(self, prompts: Sequence[Prompt], continuations: Sequence[Sequence[str]]) -> list[list[float]]:
        requests = []
        for prompt, conts in zip(prompts, continuations, strict=True):
            text, special = self._text(prompt)
            requests.append(split_continuations(self.tokenizer, text, conts, add_special=special))
        if self.scorer is None:
            from icl.engines.tree_score import TreeScorer

            self.scorer = TreeScorer(self.model)
        try:
            return self.scorer.score(requests)
        except ValueError as exc:
            raise EngineError(f"engine hf: {exc}") from None

    def close(self) -> None:
        del self.model
        self.log.close()

