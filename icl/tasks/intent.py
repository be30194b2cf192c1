"""Intent classification (MASSIVE or any declared label set): an utterance in, one of its data set's
labels out; accuracy and macro-F1, by parsing a generation or ranking every label."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from icl.analysis.metrics import INTENT_METRICS, PairedResult, Score, paired_bootstrap_accuracy
from icl.data import Example, LabelSet
from icl.languages import get_language
from icl.spec import default_dataset
from icl.validate import check_list

MODES = ("generate", "rank")
"""`generate`: parse the first known label out of the output; `rank`: score every label."""


@dataclass(frozen=True)
class IntentTask:
    """MASSIVE 1.1 by default, demonstrations from the same locale's train split."""

    name: str = "intent"
    dataset: str = default_dataset("intent")
    template: str = "labels"
    pool: str = "train"
    max_tokens: int = 24
    section_keys: frozenset[str] = frozenset({"modes"})
    labelled: bool = True
    answer_fields: tuple[str, ...] = ("intent", "scenario")
    main_metric: str = "accuracy"
    gain_metrics: tuple[str, ...] = ("accuracy",)
    postprocess_note: str = ("label-match: first known intent label found as a whole word in the output (leftmost, "
                             "longest); none found = unparseable, counted wrong and kept verbatim")

    def runs(self, section: Mapping[str, Any], languages: Sequence[str], path: Path) -> list[tuple[str, str, str]]:
        modes = check_list("intent.modes", section.get("modes", ["generate"]), str, path, MODES)
        return [(lang, lang, mode) for lang in languages for mode in modes]

    def context(self, query: Example, demos: Sequence[Example], hints: Sequence[Mapping[str, Any]],
                labels: LabelSet | None) -> dict[str, Any]:
        lang = get_language(query.src_lang)
        inventory = labels or LabelSet((), {})
        return {"source": query.source, "lang_name": lang.name, "lang_code": lang.code,
                "labels": list(inventory.labels), "scenarios": inventory.by_group(), "demos": list(demos),
                "hints": list(hints)}

    def answer_args(self, labels: LabelSet | None) -> list[dict[str, str]]:
        inventory = labels or LabelSet((), {})
        return [{"intent": label, "scenario": inventory.groups.get(label, "")} for label in inventory.labels]

    def predict(self, output: str, labels: LabelSet | None) -> str | None:
        """The first label found as a whole word in the output (leftmost, then longest), or None."""
        if labels is None or not labels.labels:
            return None
        pattern, canonical = _label_pattern(labels.labels)
        match = pattern.search(output)
        return canonical[match.group(1).casefold()] if match else None

    def score(self, predictions: Sequence[str | None], references: Sequence[str]) -> dict[str, Score]:
        return {name: fn(predictions, references) for name, fn in INTENT_METRICS.items()}

    def compare(self, baseline: Sequence[str | None], system: Sequence[str | None], references: Sequence[str],
                resamples: int, seed: int) -> list[PairedResult]:
        return [paired_bootstrap_accuracy([p == r for p, r in zip(baseline, references, strict=True)],
                                          [p == r for p, r in zip(system, references, strict=True)], resamples, seed)]


@cache
def _label_pattern(labels: tuple[str, ...]) -> tuple[re.Pattern[str], dict[str, str]]:
    """One regex over every label (longest first, so `alarm_set` beats `alarm`), case-insensitive."""
    ordered = sorted(labels, key=len, reverse=True)
    pattern = re.compile(r"(?<![\w])(" + "|".join(re.escape(lb) for lb in ordered) + r")(?![\w])", re.IGNORECASE)
    return pattern, {lb.casefold(): lb for lb in labels}
