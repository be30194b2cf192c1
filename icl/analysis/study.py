"""From rows to a study: family-wise corrections, replicability counts over languages, and intervals of
a mean gain over languages.

- Corrections come from statsmodels (`multipletests`): Holm's step-down adjusted p-values (the family-wise
  error rate; what a `*` means) and Benjamini-Hochberg q-values (the false discovery rate, on request).
- "On how many of N languages does A beat B" is Dror et al.'s (2017, TACL) replicability analysis: the
  partial conjunction p-value for "at least u of the N nulls are false" (Bonferroni: (N - u + 1) p_(u), valid
  under any dependence between languages; Fisher: combines the N - u + 1 largest p-values, assumes them
  independent), and the estimate k = the largest u whose (monotone) partial conjunction p is at most alpha,
  so "at least k of N" holds with family-wise error alpha. Which languages: Holm on the same one-sided p-values.
- A class's mean gain gets a two-level bootstrap interval: resample its languages, then for each drawn
  language one of its item-level bootstrap gains (both sources of variation a claim about "class-1 languages"
  carries); with one language it is that language's item-level interval.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

ALPHA = 0.05
"""The family-wise level every star and count is quoted at."""

CORRECTIONS = {"holm": "holm", "bh": "fdr_bh"}
"""icl's names for statsmodels' `multipletests` methods."""


def adjust(p_values: Sequence[float], method: str = "holm") -> list[float]:
    """Adjusted p-values of one family (statsmodels' `multipletests`); empty in, empty out.

    statsmodels' Holm branch ends with `gc.collect()`, a full collection on every call: in a process holding
    a model or a test session it cost a second or more per family, so the collection is skipped here (the
    arrays it would free are a few floats)."""
    import gc

    from statsmodels.stats.multitest import multipletests

    if not p_values:
        return []
    collect = gc.collect
    gc.collect = lambda generation=2: 0  # type: ignore[assignment]
    try:
        adjusted = multipletests(list(p_values), alpha=ALPHA, method=CORRECTIONS[method])[1]
    finally:
        gc.collect = collect  # type: ignore[assignment]
    return [float(p) for p in adjusted]


def partial_conjunction(p_values: Sequence[float], u: int, method: str = "bonferroni") -> float:
    """p-value of "at least u of these N null hypotheses are false" (Benjamini & Heller 2008)."""
    ordered = sorted(p_values)
    n = len(ordered)
    if not 1 <= u <= n:
        raise ValueError(f"u must be between 1 and {n}")
    if method == "bonferroni":
        return min(1.0, (n - u + 1) * ordered[u - 1])
    if method == "fisher":
        from scipy.stats import chi2

        tail = ordered[u - 1:]
        statistic = -2.0 * sum(np.log(max(p, 1e-300)) for p in tail)
        return float(chi2.sf(statistic, 2 * len(tail)))
    raise KeyError(f"{method}: unknown partial conjunction (known: bonferroni, fisher)")


def replicability_count(p_values: Sequence[float], alpha: float = ALPHA, method: str = "bonferroni") -> int:
    """Dror et al.'s k: at least this many of the N hypotheses are false, at family-wise level alpha."""
    k, running = 0, 0.0
    for u in range(1, len(p_values) + 1):
        running = max(running, partial_conjunction(p_values, u, method))
        if running > alpha:
            break
        k = u
    return k


def holm_rejected(p_values: Sequence[float], alpha: float = ALPHA) -> list[bool]:
    """Which hypotheses Holm rejects at `alpha`."""
    return [p <= alpha for p in adjust(p_values, "holm")]


def two_level_interval(draws: Sequence[np.ndarray], resamples: int = 10_000, seed: int = 12345,
                       level: float = 0.95) -> tuple[float, float]:
    """Percentile interval of the mean gain over languages: languages resampled, then one item-level bootstrap
    gain of each drawn language (`draws[i]` holds language i's)."""
    if not draws:
        raise ValueError("an interval over languages needs at least one language")
    rng = np.random.default_rng(seed)
    langs = rng.integers(0, len(draws), size=(resamples, len(draws)))
    table = np.stack([np.asarray(d, dtype=np.float64) for d in _same_length(draws)])
    cols = rng.integers(0, table.shape[1], size=(resamples, len(draws)))
    means = table[langs, cols].mean(axis=1)
    tail = (1 - level) / 2 * 100
    return float(np.percentile(means, tail)), float(np.percentile(means, 100 - tail))


def _same_length(draws: Sequence[np.ndarray]) -> list[np.ndarray]:
    """Draw arrays cut to the shortest (rows resampled with different counts still combine)."""
    shortest = min(len(d) for d in draws)
    return [np.asarray(d)[:shortest] for d in draws]


@dataclass(frozen=True)
class Replicability:
    """How many languages a comparison improves (and hurts), with its guarantee."""

    task: str
    comparison: str
    shots: int
    metric: str
    family: str
    resource_class: int | None
    """None: every language of the comparison (also None for 'unknown' rows, marked by `scope`)."""
    scope: str
    """'all' or 'class N' / 'class unknown'."""
    languages: int
    improved_at_least: int
    improved: tuple[str, ...]
    """Languages Holm identifies as improved (one-sided p-values, family-wise alpha over these N)."""
    hurt_at_least: int
    hurt: tuple[str, ...]
    method: str

    def line(self) -> str:
        """The claim in words, with its guarantee."""
        at = f" ({self.shots} shots)" if self.shots >= 0 else ""
        where = "" if self.scope == "all" else f", {self.scope}"
        up = f": {', '.join(self.improved)}" if self.improved else ""
        down = f": {', '.join(self.hurt)}" if self.hurt else ""
        return (f"{self.comparison}{at}, {self.metric}{where}: improves at least {self.improved_at_least} of "
                f"{self.languages} languages{up}; hurts at least {self.hurt_at_least} of {self.languages}{down} "
                f"(alpha {ALPHA}, {self.method})")


def replicability(task: str, comparison: str, shots: int, metric: str, family: str, cls: int | None, scope: str,
                  languages: Sequence[str], p_greater: Sequence[float], p_less: Sequence[float],
                  method: str = "bonferroni") -> Replicability:
    """One comparison's replicability over its languages (one-sided p-values each way)."""
    up = holm_rejected(p_greater)
    down = holm_rejected(p_less)
    return Replicability(task, comparison, shots, metric, family, cls, scope, len(languages),
                         replicability_count(p_greater, ALPHA, method),
                         tuple(lang for lang, r in zip(languages, up, strict=True) if r),
                         replicability_count(p_less, ALPHA, method),
                         tuple(lang for lang, r in zip(languages, down, strict=True) if r),
                         f"partial conjunction ({method}), Dror et al. 2017; which ones: Holm")
