"""Engines for tests that need answers, not a model: the engine Protocol's two calls, answered at once."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from icl.engines import Completion, GenParams
from icl.values.prompt import Prompt


class FixedEngine:
    """Generates the same `text` for every prompt and, ranking labels, prefers the shortest (minus its length)."""

    def __init__(self, text: str) -> None:
        self.text = text

    def generate(self, prompts: Sequence[Prompt], params: GenParams,
                 on_result: Callable[[int, Completion], None] | None = None) -> list[Completion]:
        outs = [Completion(text=self.text) for _ in prompts]
        for i, out in enumerate(outs):
            if on_result is not None:
                on_result(i, out)
        return outs

    def score(self, prompts: Sequence[Prompt], continuations: Sequence[Sequence[str]]) -> list[list[float]]:
        return [[-float(len(c)) for c in conts] for conts in continuations]

    def close(self) -> None:
        pass
