"""Paired tests whose p-value and interval come from one procedure, with p-values fine enough for a family.

A study corrects every row of a family (Holm), so the first rejection needs p <= alpha/m: 0.05/27 = 0.0019
for lowres_gains, 0.05/180 = 0.00028 for a large sweep. sacrebleu's paired bootstrap (1,000 resamples) cannot
go below ~0.001, and its p (mean-centred resamples) and icl's percentile interval could disagree on one row.
Here:

- MT (BLEU, chrF++): a vectorised paired bootstrap over items, 19,999 resamples by default (smallest two-sided
  p 0.0001). The interval is the percentile interval of the resampled gains and the p-value is the test that
  interval inverts (twice the share of resamples on the far side of 0), so `p <= 0.05` exactly when the 95%
  interval excludes 0 (with (resamples + 1) a multiple of 40). Corpus scores of each resample come from summed
  sentence statistics (icl.metrics.mt_stats), vectorised over resamples.
- Accuracy: the asymptotic McNemar test (the score test, (wins - losses) / sqrt(wins + losses); statsmodels'
  `mcnemar` with exact=False, correction=False gives the same p) with Tango's score interval of the gain, the
  interval that test inverts (icl.metrics.proportions), so it excludes 0 exactly when the test rejects and it
  is two-sided even when one system never loses.

Both also give one-sided p-values (what "at least k of N languages improve" combines) and the spread that the
minimum detectable effect needs (icl.analysis.power).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import lru_cache
from typing import TYPE_CHECKING

from icl.metrics.base import RESAMPLES, PairedResult

if TYPE_CHECKING:
    import numpy as np

_CHUNK = 4096


@lru_cache(maxsize=8)
def resample_weights(n: int, resamples: int, seed: int) -> np.ndarray:
    """How often each of n items is drawn in each resample (resamples x n): a bootstrap over items as counts,
    so a resampled corpus statistic is one matrix product. Seeded: the same (n, resamples, seed) gives the
    same resamples, so every row of a sweep with n items is resampled alike and reproducibly."""
    import numpy as np

    rng = np.random.default_rng(seed)
    weights = rng.multinomial(n, np.full(n, 1.0 / n), size=resamples).astype(np.float64)
    weights.setflags(write=False)  # kept per process (the same n, resamples and seed draw it alike): read only
    return weights


def bootstrap_deltas(baseline: np.ndarray, system: np.ndarray, score: Callable[[np.ndarray], np.ndarray],
                     resamples: int, seed: int) -> np.ndarray:
    """The system's minus the baseline's corpus score in each resample; `baseline` and `system` hold one row
    of additive statistics per item, `score` maps summed rows (k x stats) to k scores."""
    import numpy as np

    weights = resample_weights(len(baseline), resamples, seed)
    out = np.empty(resamples)
    for start in range(0, resamples, _CHUNK):
        w = weights[start:start + _CHUNK]
        out[start:start + len(w)] = score(w @ system) - score(w @ baseline)
    return out


def pseudo_values(baseline: np.ndarray, system: np.ndarray, score: Callable[[np.ndarray], np.ndarray]) -> np.ndarray:
    """The jackknife pseudo-values of the corpus gain, n * gain - (n - 1) * gain without item i: each item's
    linearised contribution (their mean is the bias-corrected jackknife gain). A sequential look tests with their
    self-normalised sum (icl.analysis.sequential.LookStat), whose error rate held in simulations from real outputs
    where the bootstrap z and the t-referred jackknife z did not (tests/test_sequential.py)."""
    import numpy as np

    n = len(baseline)
    gain = score(system.sum(0, keepdims=True))[0] - score(baseline.sum(0, keepdims=True))[0]
    if n < 2:
        return np.full(n, float(gain))
    left = score(system.sum(0, keepdims=True) - system) - score(baseline.sum(0, keepdims=True) - baseline)
    return n * gain - (n - 1) * left


def percentile_test(observed: float, deltas: np.ndarray) -> tuple[float, float, float, float, float]:
    """(two-sided p, p that the system is better, p that it is worse, interval low, interval high).

    One-sided p-values count resamples on the far side of 0 (ties count against the claim), as a Monte Carlo
    test: (count + 1) / (resamples + 1). The interval's bounds are the order statistics at 2.5% and 97.5%
    of (resamples + 1), so the interval excludes 0 exactly when the two-sided p is at most 0.05."""
    import numpy as np

    b = len(deltas)
    ordered = np.sort(deltas)
    k = max(1, int(np.floor(0.025 * (b + 1))))
    low, high = float(ordered[k - 1]), float(ordered[b - k])
    p_greater = (int(np.sum(deltas <= 0)) + 1) / (b + 1)
    p_less = (int(np.sum(deltas >= 0)) + 1) / (b + 1)
    p = 1.0 if observed == 0 else min(1.0, 2 * min(p_greater, p_less))
    return p, p_greater, p_less, low, high


def paired_test_mt(metric: str, baseline_hyps: Sequence[str], system_hyps: Sequence[str], refs: Sequence[str],
                   resamples: int = RESAMPLES, seed: int = 12345) -> PairedResult:
    """Paired bootstrap of a corpus MT metric (one procedure for p and interval; see the module)."""
    import numpy as np

    from icl.metrics.mt_stats import corpus_score, scores_from_stats, sentence_stats

    n = len(refs)
    if n == 0 or len(baseline_hyps) != n or len(system_hyps) != n:
        raise ValueError("a paired test needs two non-empty hypothesis lists as long as the references")
    bl, sy = sentence_stats(metric, baseline_hyps, refs).astype(np.float64), \
        sentence_stats(metric, system_hyps, refs).astype(np.float64)
    bl_score, sys_score = float(corpus_score(metric, bl)), float(corpus_score(metric, sy))
    deltas = bootstrap_deltas(bl, sy, lambda s: scores_from_stats(metric, s), resamples, seed)
    observed = sys_score - bl_score
    p, p_greater, p_less, low, high = percentile_test(observed, deltas)
    pseudo = pseudo_values(bl, sy, lambda x: scores_from_stats(metric, x))
    return PairedResult(metric, round(bl_score, 4), round(sys_score, 4), round(observed, 4), round(low, 4),
                        round(high, 4), p, n, resamples,
                        f"paired bootstrap over items ({resamples} resamples, seed {seed}); p and 95% interval "
                        "from the same resampled gains (percentile)",
                        p_greater=p_greater, p_less=p_less, se=float(np.std(deltas, ddof=1)), draws=deltas,
                        pseudo_mean=float(pseudo.mean()), pseudo_ss=float(np.sum((pseudo - pseudo.mean()) ** 2)))


def mcnemar_accuracy(baseline_correct: Sequence[bool], system_correct: Sequence[bool], resamples: int = RESAMPLES,
                     seed: int = 12345) -> PairedResult:
    """McNemar's score test of paired accuracy with Tango's score 95% interval of the gain (the interval the
    test inverts; icl.metrics.proportions).

    `resamples` and `seed` only draw the item-level bootstrap of the gain that a class interval (two-level
    bootstrap, icl.analysis.study) resamples; p and the interval are the score test's."""
    import numpy as np

    from icl.metrics.proportions import mcnemar_score_test, tango_interval

    n = len(baseline_correct)
    if n != len(system_correct) or n == 0:
        raise ValueError("a paired test needs two non-empty, equally long lists over the same items")
    a = np.asarray(baseline_correct, dtype=bool)
    s = np.asarray(system_correct, dtype=bool)
    wins, losses = int(np.sum(s & ~a)), int(np.sum(a & ~s))
    base, sys_ = 100.0 * float(a.sum()) / n, 100.0 * float(s.sum()) / n
    _, p, p_greater, p_less = mcnemar_score_test(wins, losses)
    low, high = (100.0 * x for x in tango_interval(wins, losses, n))
    stats = np.stack([a, s], axis=1).astype(np.float64)
    draws = bootstrap_deltas(stats[:, [0]], stats[:, [1]], lambda x: 100.0 * x[:, 0] / n, resamples, seed)
    return PairedResult("accuracy", round(base, 4), round(sys_, 4), round(sys_ - base, 4), round(low, 4),
                        round(high, 4), p, n, resamples,
                        "McNemar's score test (asymptotic, no continuity correction); Tango's score 95% interval",
                        p_greater=p_greater, p_less=p_less, se=float(np.std(draws, ddof=1)),
                        discordant=(wins + losses) / n, draws=draws, wins=wins, losses=losses)
