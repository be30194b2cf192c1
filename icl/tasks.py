"""The two tasks: what a template gets, how an output becomes a prediction, and how runs are scored.

Post-processing is explicit and recorded in every metrics.json (`POSTPROCESS`), so a reader knows
exactly what was scored.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

from icl.data import Example, intent_labels, scenario_of
from icl.languages import get_language
from icl.metrics import INTENT_METRICS, MT_METRICS, Score

POSTPROCESS = {
    "mt": "first-line: the first non-empty line of the output, surrounding whitespace stripped",
    "intent": "label-match: first known intent label found as a whole word in the output (leftmost, longest); "
              "none found = unparseable, counted wrong and kept verbatim",
}


@cache
def scenarios() -> dict[str, tuple[str, ...]]:
    """scenario -> its intents, from the data."""
    out: dict[str, list[str]] = {}
    for label, scen in sorted(scenario_of().items()):
        out.setdefault(scen, []).append(label)
    return {k: tuple(v) for k, v in out.items()}


def context(task: str, query: Example, demos: Sequence[Example], hints: Sequence[Mapping[str, Any]] = ()) -> dict[str, Any]:
    """The variables a template of this task sees (must match prompts.TASK_VARIABLES)."""
    if task == "mt":
        src, tgt = get_language(query.src_lang), get_language(query.tgt_lang)
        return {"source": query.source, "src_name": src.name, "tgt_name": tgt.name, "src_code": src.iso3,
                "tgt_code": tgt.iso3, "demos": list(demos), "hints": list(hints)}
    lang = get_language(query.src_lang)
    return {"source": query.source, "lang_name": lang.name, "lang_code": lang.iso3, "labels": list(intent_labels()),
            "scenarios": scenarios(), "demos": list(demos), "hints": list(hints)}


def answer_args(task: str) -> list[dict[str, str]]:
    """The candidates icl scores in rank mode (intent: all 60 labels with their scenarios)."""
    scen = scenario_of()
    return [{"intent": label, "scenario": scen[label]} for label in intent_labels()] if task == "intent" else []


def postprocess_mt(output: str) -> str:
    """First non-empty line, stripped: a base model may open with a newline and keeps going after its
    translation."""
    for line in output.split("\n"):
        if line.strip():
            return line.strip()
    return ""


@cache
def _label_pattern() -> re.Pattern[str]:
    labels = sorted(intent_labels(), key=len, reverse=True)
    return re.compile(r"(?<![\w])(" + "|".join(re.escape(lb) for lb in labels) + r")(?![\w])")


def parse_intent(output: str) -> str | None:
    """The first intent label in the output, or None (unparseable)."""
    match = _label_pattern().search(output.lower())
    return match.group(1) if match else None


@dataclass(frozen=True)
class TaskScores:
    scores: dict[str, Score]
    postprocess: str


def score_task(task: str, predictions: Sequence[str | None], references: Sequence[str]) -> TaskScores:
    """All metrics of a task over one run's predictions."""
    if task == "mt":
        preds = [p or "" for p in predictions]
        return TaskScores({name: fn(preds, references) for name, fn in MT_METRICS.items()}, POSTPROCESS["mt"])
    return TaskScores({name: fn(predictions, references) for name, fn in INTENT_METRICS.items()}, POSTPROCESS["intent"])
