"""Classification metrics as pure functions: accuracy and macro-F1 over the gold labels, and a bootstrap
interval of one system's accuracy (paired tests: icl.metrics.paired)."""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence

from icl.metrics.base import Interval, Score


def score_accuracy(predicted: Sequence[str | None], gold: Sequence[str]) -> Score:
    """Exact label match; an unparseable prediction (None) counts as wrong."""
    if len(predicted) != len(gold):
        raise ValueError(f"accuracy: {len(predicted)} predictions for {len(gold)} gold labels")
    if not gold:
        return Score("accuracy", None, "accuracy|exact-label", 0, note="no items")
    correct = sum(p == g for p, g in zip(predicted, gold, strict=True))
    return Score("accuracy", round(100.0 * correct / len(gold), 4), "accuracy|exact-label", len(gold))


def score_macro_f1(predicted: Sequence[str | None], gold: Sequence[str]) -> Score:
    """Macro-F1 over the labels present in gold (a label never predicted nor gold is ignored)."""
    if len(predicted) != len(gold):
        raise ValueError(f"macro_f1: {len(predicted)} predictions for {len(gold)} gold labels")
    labels = sorted(set(gold))
    if not labels:
        return Score("macro_f1", None, "macro-f1|gold-labels", 0, note="no items")
    f1s = []
    for label in labels:
        tp = sum(p == label and g == label for p, g in zip(predicted, gold, strict=True))
        fp = sum(p == label and g != label for p, g in zip(predicted, gold, strict=True))
        fn = sum(p != label and g == label for p, g in zip(predicted, gold, strict=True))
        f1s.append(0.0 if tp == 0 else 2 * tp / (2 * tp + fp + fn))
    return Score("macro_f1", round(100.0 * sum(f1s) / len(f1s), 4), "macro-f1|gold-labels", len(gold))


INTENT_METRICS: dict[str, Callable[[Sequence[str | None], Sequence[str]], Score]] = {
    "accuracy": score_accuracy,
    "macro_f1": score_macro_f1,
}


def bootstrap_accuracy(correct: Sequence[bool], resamples: int = 1000, seed: int = 12345) -> Interval:
    """Accuracy with the 2.5/97.5 percentiles of its value over item resamples (the resampling of
    the item-level bootstrap of `icl.metrics.paired`'s paired tests, one system)."""
    n = len(correct)
    if n == 0:
        raise ValueError("a bootstrap needs at least one item")
    rng = random.Random(seed)
    hits = [int(x) for x in correct]
    values = sorted(100.0 * sum(hits[rng.randrange(n)] for _ in range(n)) / n for _ in range(resamples))
    return Interval("accuracy", round(100.0 * sum(hits) / n, 4), round(values[int(0.025 * resamples)], 4),
                    round(values[int(0.975 * resamples) - 1], 4), n, resamples,
                    f"bootstrap over items ({resamples} resamples, seed {seed}); 95% percentile interval")
