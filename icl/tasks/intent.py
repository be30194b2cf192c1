"""Intent classification (MASSIVE or any declared label set): an utterance in, one of its data set's
labels out; accuracy and macro-F1, by parsing a generation or ranking every label."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from icl.languages import get_language
from icl.metrics import INTENT_METRICS, Interval, PairedResult, Score, bootstrap_accuracy, mcnemar_accuracy
from icl.tasks.base import Axis, Mode, SyntheticRecipe, argmax
from icl.tasks.demo import as_demo

if TYPE_CHECKING:
    from icl.values.example import Example, LabelSet

_MODES = {
    "generate": Mode("generate", ranks=False,
                     note="label-match: first known intent label found as a whole word in the output (leftmost, "
                          "longest); none found = unparseable, counted wrong and kept verbatim"),
    "rank": Mode("rank", ranks=True, note="rank: argmax of summed label log-probabilities"),
}
MODES = tuple(_MODES)
"""`generate`: parse the first known label out of the output; `rank`: score every label."""

_SYNTHETIC = SyntheticRecipe(
    dataset="massive", split="train", language="en-US", corpus="massive-1.1:en-US:train",
    origin="massive-train", prefix="synth-massive", replaces="source")
"""Synthetic demonstrations' English originals."""


@dataclass(frozen=True)
class IntentTask:
    """MASSIVE 1.1 by default, demonstrations from the same locale's train split."""

    name: str = "intent"
    dataset: str = "massive"
    template: str = "labels"
    pool: str = "train"
    max_tokens: int = 24
    axes: tuple[Axis, ...] = (Axis("modes", MODES, ("generate",)),)
    parallel: bool = False
    roles: Mapping[str, str | None] = field(default_factory=lambda: MappingProxyType(
        {"text": "text", "label": "label", "id": None, "group": None, "language": None}))
    conll_columns: Mapping[str, str] = field(default_factory=lambda: MappingProxyType(
        {"text": "text", "label": "intent"}))  # xSID's comment keys
    labelled: bool = True
    modes: Mapping[str, Mode] = field(default_factory=lambda: MappingProxyType(_MODES))
    answer_fields: tuple[str, ...] = ("intent", "scenario")
    main_metric: str = "accuracy"
    gain_metrics: tuple[str, ...] = ("accuracy",)
    synthetic: SyntheticRecipe = _SYNTHETIC
    selflabel: str = "best-label"

    def runs(self, options: Mapping[str, Sequence[str]], languages: Sequence[str]) -> list[tuple[str, str, str]]:
        return [(lang, lang, mode) for lang in languages for mode in options["modes"]]

    def context(self, query: Example, demos: Sequence[Example], hints: Sequence[Mapping[str, Any]],
                labels: LabelSet | None) -> dict[str, Any]:
        lang = get_language(query.src_lang)
        return {"source": query.source, "lang_name": lang.name, "lang_code": lang.code,
                "labels": list(labels.labels) if labels is not None else [],
                "scenarios": labels.by_group() if labels is not None else {}, "demos": [as_demo(d) for d in demos],
                "hints": list(hints)}

    def answer_args(self, labels: LabelSet | None) -> list[dict[str, str]]:
        if labels is None:
            return []
        return [{"intent": label, "scenario": labels.groups.get(label, "")} for label in labels.labels]

    def predict(self, output: str, labels: LabelSet | None) -> str | None:
        """The first label found as a whole word in the output (leftmost, then longest), or None."""
        if labels is None or not labels.labels:
            return None
        pattern, canonical = _label_pattern(labels.labels)
        match = pattern.search(output)
        return canonical[match.group(1).casefold()] if match else None

    def pick(self, scores: Sequence[float], labels: LabelSet | None) -> str | None:
        """The label whose answer continuation scored highest (the first on ties)."""
        if labels is None or not labels.labels:
            return None
        return labels.labels[argmax(scores)]

    def score(self, predictions: Sequence[str | None], references: Sequence[str],
              language: str | None = None) -> dict[str, Score]:
        return {name: fn(predictions, references) for name, fn in INTENT_METRICS.items()}

    def item_scores(self, predictions: Sequence[str | None], references: Sequence[str]) -> dict[str, list[Any]]:
        """Whether each prediction is the reference label (an unparseable output is wrong)."""
        return {"correct": [p == r for p, r in zip(predictions, references, strict=True)]}

    def compare(self, baseline: Sequence[str | None], system: Sequence[str | None], references: Sequence[str],
                resamples: int, seed: int, language: str | None = None) -> list[PairedResult]:
        return [mcnemar_accuracy([p == r for p, r in zip(baseline, references, strict=True)],
                                 [p == r for p, r in zip(system, references, strict=True)], resamples, seed)]

    def interval(self, predictions: Sequence[str | None], references: Sequence[str], resamples: int,
                 seed: int) -> list[Interval]:
        return [bootstrap_accuracy([p == r for p, r in zip(predictions, references, strict=True)], resamples, seed)]


@cache
def _label_pattern(labels: tuple[str, ...]) -> tuple[re.Pattern[str], dict[str, str]]:
    """One regex over every label (longest first, so `alarm_set` beats `alarm`), case-insensitive."""
    ordered = sorted(labels, key=len, reverse=True)
    pattern = re.compile(r"(?<![\w])(" + "|".join(re.escape(lb) for lb in ordered) + r")(?![\w])", re.IGNORECASE)
    return pattern, {lb.casefold(): lb for lb in labels}
