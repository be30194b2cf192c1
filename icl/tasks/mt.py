"""Machine translation: a sentence in, its translation out; BLEU, spBLEU and chrF++ (sacrebleu)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from icl.analysis.metrics import MT_METRICS, PairedResult, Score, paired_bootstrap_mt
from icl.data import Example, LabelSet
from icl.languages import get_language
from icl.spec import default_dataset
from icl.validate import check_list

DIRECTIONS = ("en-xx", "xx-en")
"""English into the language, and the language into English."""


@dataclass(frozen=True)
class MtTask:
    """FLORES-200 devtest by default, demonstrations from NTREX-128."""

    name: str = "mt"
    dataset: str = default_dataset("mt")
    template: str = "plain"
    pool: str = "ntrex"
    max_tokens: int = 128
    section_keys: frozenset[str] = frozenset({"directions"})
    labelled: bool = False
    answer_fields: tuple[str, ...] = ("target",)
    main_metric: str = "chrf++"
    gain_metrics: tuple[str, ...] = ("chrf++", "bleu")
    postprocess_note: str = "first-line: the first non-empty line of the output, surrounding whitespace stripped"

    def runs(self, section: Mapping[str, Any], languages: Sequence[str], path: Path) -> list[tuple[str, str, str]]:
        directions = check_list("mt.directions", section.get("directions", ["en-xx"]), str, path, DIRECTIONS)
        return [("eng", lang, "generate") if d == "en-xx" else (lang, "eng", "generate")
                for lang in languages for d in directions if lang != "eng"]

    def context(self, query: Example, demos: Sequence[Example], hints: Sequence[Mapping[str, Any]],
                labels: LabelSet | None) -> dict[str, Any]:
        src, tgt = get_language(query.src_lang), get_language(query.tgt_lang)
        return {"source": query.source, "src_name": src.name, "tgt_name": tgt.name, "src_code": src.code,
                "tgt_code": tgt.code, "demos": list(demos), "hints": list(hints)}

    def answer_args(self, labels: LabelSet | None) -> list[dict[str, str]]:
        return []  # nothing to rank: translations are generated

    def predict(self, output: str, labels: LabelSet | None) -> str | None:
        """First non-empty line, stripped: a base model may open with a newline and keeps going after
        its translation."""
        for line in output.split("\n"):
            if line.strip():
                return line.strip()
        return ""

    def score(self, predictions: Sequence[str | None], references: Sequence[str]) -> dict[str, Score]:
        hyps = [p or "" for p in predictions]
        return {name: fn(hyps, references) for name, fn in MT_METRICS.items()}

    def compare(self, baseline: Sequence[str | None], system: Sequence[str | None], references: Sequence[str],
                resamples: int, seed: int) -> list[PairedResult]:
        return [paired_bootstrap_mt(metric, [p or "" for p in baseline], [p or "" for p in system], references,
                                    resamples, seed) for metric in self.gain_metrics]
