"""Machine translation: a sentence in, its translation out; BLEU, spBLEU and chrF++ (sacrebleu), and the share
of outputs in another language than the target (icl.metrics.offtarget)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from icl.errors import ConfigError
from icl.languages import get_language
from icl.metrics import MT_METRICS, Interval, PairedResult, Score, bootstrap_mt, paired_test_mt
from icl.metrics.mt_stats import scores_from_stats, sentence_stats
from icl.metrics.offtarget import paired_off_target, score_off_target
from icl.tasks.base import Axis, Mode, SyntheticRecipe
from icl.tasks.demo import as_demo

if TYPE_CHECKING:
    from icl.values.example import Example, LabelSet

DIRECTIONS = ("en-xx", "xx-en")
"""English into the language, and the language into English."""

_GENERATE = Mode("generate", ranks=False,
                 note="first-line: the first non-empty line of the output, surrounding whitespace stripped")

_SYNTHETIC = SyntheticRecipe(
    dataset="ntrex128", split="test", language="eng", corpus="ntrex128:newstest2019-src.eng.txt",
    origin="ntrex128", prefix="synth-ntrex", replaces="target")
"""Synthetic demonstrations' English originals."""


@dataclass(frozen=True)
class MtTask:
    """FLORES-200 devtest by default, demonstrations from FLORES-200 dev.

    The default pool is `dev`, the scored data set's dev split: for FLORES, the same domain as devtest,
    there for all 204 varieties, and never a scored line (what few-shot MT papers do). It was `ntrex`
    (NTREX-128, news, 48 languages in this data folder) before FLORES dev was here; a sweep that wants
    those demos says `pools: [ntrex]`. One rule for every language, rather than "NTREX where this data
    folder has the pair, else dev", so that demos never differ in domain between languages of one sweep
    (which would confound gains by resource class) nor change with what a data folder holds."""

    name: str = "mt"
    dataset: str = "flores200"
    template: str = "plain"
    pool: str = "dev"
    max_tokens: int = 128
    axes: tuple[Axis, ...] = (Axis("directions", DIRECTIONS, ("en-xx",)),)
    parallel: bool = True
    roles: Mapping[str, str | None] = field(default_factory=lambda: MappingProxyType(
        {"source": "source", "target": "target", "id": None, "source_language": None, "target_language": None}))
    conll_columns: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    labelled: bool = False
    modes: Mapping[str, Mode] = field(default_factory=lambda: MappingProxyType({"generate": _GENERATE}))
    answer_fields: tuple[str, ...] = ("target",)
    main_metric: str = "chrf++"
    gain_metrics: tuple[str, ...] = ("chrf++", "bleu")
    synthetic: SyntheticRecipe = _SYNTHETIC
    selflabel: str = "backtranslate"

    def runs(self, options: Mapping[str, Sequence[str]], languages: Sequence[str]) -> list[tuple[str, str, str]]:
        mode = next(iter(self.modes))
        return [("eng", lang, mode) if d == "en-xx" else (lang, "eng", mode)
                for lang in languages for d in options["directions"] if lang != "eng"]

    def context(self, query: Example, demos: Sequence[Example], hints: Sequence[Mapping[str, Any]],
                labels: LabelSet | None) -> dict[str, Any]:
        src, tgt = get_language(query.src_lang), get_language(query.tgt_lang)
        return {"source": query.source, "src_name": src.name, "tgt_name": tgt.name, "src_code": src.code,
                "tgt_code": tgt.code, "demos": [as_demo(d) for d in demos], "hints": list(hints)}

    def answer_args(self, labels: LabelSet | None) -> list[dict[str, str]]:
        return []  # nothing to rank: translations are generated

    def predict(self, output: str, labels: LabelSet | None) -> str | None:
        """First non-empty line, stripped: a base model may open with a newline and keeps going after
        its translation."""
        for line in output.split("\n"):
            if line.strip():
                return line.strip()
        return ""

    def pick(self, scores: Sequence[float], labels: LabelSet | None) -> str | None:
        raise ConfigError("mt: translations are generated; there are no labels to rank")

    def score(self, predictions: Sequence[str | None], references: Sequence[str],
              language: str | None = None) -> dict[str, Score]:
        """sacrebleu's metrics, and the share of outputs not in the target `language` (icl.metrics.offtarget)."""
        hyps = [p or "" for p in predictions]
        scores = {name: fn(hyps, references) for name, fn in MT_METRICS.items()}
        scores["off-target"] = score_off_target(hyps, language)
        return scores

    def item_scores(self, predictions: Sequence[str | None], references: Sequence[str]) -> dict[str, list[Any]]:
        """Sentence chrF++ (sacrebleu's `sentence_score` with its defaults, from the statistics gains resample)."""
        if not predictions:
            return {"chrf++": []}
        stats = sentence_stats("chrf++", [p or "" for p in predictions], references)
        return {"chrf++": [round(float(x), 4) for x in scores_from_stats("chrf++", stats)]}

    def compare(self, baseline: Sequence[str | None], system: Sequence[str | None], references: Sequence[str],
                resamples: int, seed: int, language: str | None = None) -> list[PairedResult]:
        """The gain metrics' paired bootstraps, then McNemar's test of the off-target share where `language`
        is given and the identifier knows it (a family of its own in gains: `<family>/off-target`)."""
        results = [paired_test_mt(metric, [p or "" for p in baseline], [p or "" for p in system], references,
                                  resamples, seed) for metric in self.gain_metrics]
        off = paired_off_target(baseline, system, language, resamples, seed) if language is not None else None
        return results + ([off] if off is not None else [])

    def interval(self, predictions: Sequence[str | None], references: Sequence[str], resamples: int,
                 seed: int) -> list[Interval]:
        return [bootstrap_mt(metric, [p or "" for p in predictions], references, resamples, seed)
                for metric in self.gain_metrics]
