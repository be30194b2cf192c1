"""What every metric returns: a `Score` that keeps how it was computed, and a `PairedResult` (a gain with its
paired-bootstrap interval). No metric code here, so both task metric modules and the analysis can share it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

RESAMPLES = 19_999
"""Default bootstrap resamples of a paired test: (resamples + 1) / 40 is whole, so a 95% percentile interval and
p <= 0.05 agree exactly, and the smallest two-sided p (0.0001) is far below a family's first Holm step."""


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
    """The gain of system B over system A with its 95% interval and the test's p-value (icl.metrics.paired:
    one procedure for both)."""

    metric: str
    baseline: float
    system: float
    delta: float
    ci_low: float
    ci_high: float
    p_value: float
    """Two-sided."""
    n: int
    resamples: int
    method: str
    p_greater: float | None = None
    """One-sided: that the system is better (what a replicability count over languages combines)."""
    p_less: float | None = None
    """One-sided: that the system is worse."""
    se: float | None = None
    """Standard error of the gain (the spread of its item-level bootstrap): what the detectable effect scales with."""
    discordant: float | None = None
    """Paired accuracy: the share of items on which exactly one system is right (McNemar's power needs it)."""
    pseudo_mean: float | None = None
    pseudo_ss: float | None = None
    """MT: the mean and the sum of squared deviations of the gain's jackknife pseudo-values (what a sequential
    look tests with: icl.analysis.sequential.LookStat)."""
    wins: int | None = None
    losses: int | None = None
    """Paired accuracy: items only the system / only the baseline got right (a sequential look's score statistic
    and interval need the counts)."""
    draws: Any = field(default=None, repr=False, compare=False)
    """The gain in each item-level bootstrap resample (a numpy array), for intervals over languages; not saved."""

    def to_json(self) -> dict[str, Any]:
        """Every field but the draws (an array no reader of a result file needs)."""
        return {f: getattr(self, f) for f in self.__dataclass_fields__ if f != "draws"}
