"""What every metric returns: a `Score` that keeps how it was computed, and a `PairedResult` (a gain with its
paired-bootstrap interval). No metric code here, so both task metric modules and the analysis can share it."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Score:
    """One corpus-level number and how it was computed."""

    name: str
    """Registry name: `bleu`, `spbleu`, `chrf++`, `accuracy`, `macro_f1`."""
    value: float | None
    """On a 0-100 scale; None when the metric could not be computed (see `note`)."""
    signature: str
    """sacrebleu's signature for MT metrics; a short description for intent metrics."""
    n: int
    """Number of scored items."""
    note: str = ""
    """Why a metric is missing, or anything a reader must know to interpret it."""


@dataclass(frozen=True)
class Interval:
    """One system's score with a bootstrap 95% interval over its items (no baseline)."""

    metric: str
    value: float
    ci_low: float
    ci_high: float
    n: int
    resamples: int
    method: str
    """How the interval was computed, in words a reader can check."""


@dataclass(frozen=True)
class PairedResult:
    """The gain of system B over system A with a paired-bootstrap 95% interval."""

    metric: str
    baseline: float
    system: float
    delta: float
    ci_low: float
    ci_high: float
    p_value: float
    n: int
    resamples: int
    method: str
