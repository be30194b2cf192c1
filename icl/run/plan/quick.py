"""`quick_plan`: a sweep's size and an upper-bound time estimate from its data alone, in seconds.

Building every prompt (lexicon hints, synthetic demos, BM25 and embedding indexes) takes most of a
minute for a large sweep, while the number of test items, the label inventories and the recorded
throughput are enough for an upper bound: `icl plan` prints this first, then the exact plan. Upper
bound, because runs that render identical prompts (a 0-shot run under several selectors) are counted
once each here but asked once by the runner, and nothing is assumed cached.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from icl.run.plan.build import Estimate, _estimate


@dataclass(frozen=True)
class QuickCount:
    """One model's work as read from the data: at most this much, if nothing were cached."""

    model: str
    engine: str
    runs: int
    items: int
    generate: int
    score_prompts: int
    continuations: int
    labelling_runs: int
    """Runs whose demos the model labels first (`selflabel`): that labelling is not counted."""
    estimate: Estimate


def quick_plan(sweep: Any, cache_path: Path | None = None) -> list[QuickCount]:
    """Test items and label inventories per run (data read, no prompt built), model by model."""
    from icl.augment.augmenters import needs_model
    from icl.config import cache_dir
    from icl.data import load_run
    from icl.run.cache import CompletionCache
    from icl.run.requests import engine_identity

    cache_path = cache_path or cache_dir() / "completions.sqlite"
    cache = CompletionCache(cache_path) if cache_path.is_file() else None
    counts = []
    try:
        for model in dict.fromkeys(spec.model for spec in sweep.runs):
            specs = [s for s in sweep.runs if s.model == model]
            items = generate = score_prompts = continuations = 0
            for spec in specs:
                data = load_run(spec, sweep.datasets)
                items += len(data.test)
                if spec.ranks:
                    score_prompts += len(data.test)
                    continuations += len(data.test) * (len(data.labels.labels) if data.labels is not None else 0)
                else:
                    generate += len(data.test)
            counts.append(QuickCount(
                model=model.name, engine=model.engine, runs=len(specs), items=items, generate=generate,
                score_prompts=score_prompts, continuations=continuations,
                labelling_runs=sum(needs_model(s) for s in specs),
                estimate=_estimate(cache, engine_identity(model), generate, score_prompts)))
    finally:
        if cache is not None:
            cache.close()
    return counts
