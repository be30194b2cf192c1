"""The metrics step: pure functions from predictions and references to `Score`s (each with its signature),
and paired bootstraps from two systems' predictions to a `PairedResult`. Tasks pick theirs from here;
nothing here knows about tasks, runs or files."""

from icl.metrics.base import RESAMPLES, Interval, PairedResult, Score
from icl.metrics.intent import (
    INTENT_METRICS,
    bootstrap_accuracy,
    score_accuracy,
    score_macro_f1,
)
from icl.metrics.mt import (
    MT_METRICS,
    bootstrap_mt,
    paired_bootstrap_mt,
    score_bleu,
    score_chrf,
    score_sacrebleu,
    score_spbleu,
    spbleu_available,
)
from icl.metrics.paired import mcnemar_accuracy, paired_test_mt

__all__ = [
    "INTENT_METRICS",
    "MT_METRICS",
    "RESAMPLES",
    "Interval",
    "PairedResult",
    "Score",
    "bootstrap_accuracy",
    "bootstrap_mt",
    "mcnemar_accuracy",
    "paired_bootstrap_mt",
    "paired_test_mt",
    "score_accuracy",
    "score_bleu",
    "score_chrf",
    "score_macro_f1",
    "score_sacrebleu",
    "score_spbleu",
    "spbleu_available",
]
