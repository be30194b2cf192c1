"""The difference of two paired proportions (accuracy of two systems on the same items): Tango's asymptotic
score interval and the McNemar score test it inverts.

Why these: the exact conditional interval icl used before treats the number of discordant items as fixed, so
when one system never loses, its upper end equals the estimate (25 wins, 0 losses of 40: +62.5 [+45.4, +62.5]),
an interval that is one-sided in disguise. Fagerland, Lydersen & Laake (2014, Stat Med 33:2850) recommend
Tango's score interval (Tango 1998, Stat Med 17:891) for paired differences, and Fagerland et al. (2013, BMC Med
Res Methodol 13:91) the asymptotic McNemar test, which is the score test at difference 0: the interval excludes 0
exactly when the test rejects, so a row's p and its interval never disagree. Bonett & Price's adjusted Wald
interval is kept for comparison (the issue's worked example, tests/test_metrics.py).

Counts: `wins` items only the system gets right, `losses` only the baseline, `n` items in all; the difference
is (wins - losses) / n (the system's accuracy minus the baseline's, as a share).
"""

from __future__ import annotations

import math

from scipy.optimize import brentq
from scipy.stats import norm


def _restricted_p21(wins: int, losses: int, n: int, delta: float) -> float:
    """Maximum likelihood of the losses' cell probability given the difference `delta` (Tango 1998, eq. 3)."""
    a = 2.0 * n
    b = -wins - losses + (2.0 * n - wins + losses) * delta
    c = -losses * delta * (1.0 - delta)
    return (math.sqrt(max(b * b - 4.0 * a * c, 0.0)) - b) / (2.0 * a)


def score_statistic(wins: int, losses: int, n: int, delta: float = 0.0, corrected: bool = False) -> float:
    """Tango's score statistic for H0: difference = delta (decreasing in delta); at delta 0 it is McNemar's
    (wins - losses) / sqrt(wins + losses). 0 where it is 0/0 (no discordant item at delta 0). `corrected`: with a
    continuity correction (|difference| less one item), what a sequential look uses (icl.analysis.sequential)."""
    p21 = _restricted_p21(wins, losses, n, delta)
    var = n * (2.0 * p21 + delta * (1.0 - delta))
    diff = wins - losses - n * delta
    if corrected:
        diff = math.copysign(max(0.0, abs(diff) - 1.0), diff)
    if var <= 0.0:
        return 0.0 if diff == 0 else math.copysign(math.inf, diff)
    return diff / math.sqrt(var)


def mcnemar_score_test(wins: int, losses: int) -> tuple[float, float, float, float]:
    """(z, two-sided p, p that the system is better, p that it is worse) of the asymptotic McNemar test
    (without continuity correction); z 0 and every p 1 where the systems never disagree."""
    if wins + losses == 0:
        return 0.0, 1.0, 1.0, 1.0
    z = (wins - losses) / math.sqrt(wins + losses)
    return z, min(1.0, float(2.0 * norm.sf(abs(z)))), float(norm.sf(z)), float(norm.cdf(z))


def tango_interval(wins: int, losses: int, n: int, z: float = 1.959963984540054,
                   corrected: bool = False) -> tuple[float, float]:
    """Tango's score interval of the difference (shares, within [-1, 1]) at critical value `z` (1.96: 95%;
    a group-sequential look passes its own boundary for a repeated confidence interval); `corrected`: the
    interval the continuity-corrected statistic does not reject."""
    if n <= 0:
        raise ValueError("a paired interval needs at least one item")
    estimate = (wins - losses) / n
    eps = 1e-12

    def stat(d: float) -> float:
        return score_statistic(wins, losses, n, d, corrected)

    def limit(target: float, lo: float, hi: float, edge: float) -> float:
        f_lo, f_hi = stat(lo) - target, stat(hi) - target
        if f_lo * f_hi > 0:
            return edge
        return float(brentq(lambda d: stat(d) - target, lo, hi, xtol=1e-12))

    low = limit(z, -1.0 + eps, estimate, -1.0) if estimate > -1.0 + eps else -1.0
    high = limit(-z, estimate, 1.0 - eps, 1.0) if estimate < 1.0 - eps else 1.0
    return low, high


def bonett_price_interval(wins: int, losses: int, n: int, z: float = 1.959963984540054) -> tuple[float, float]:
    """Bonett & Price's (2012) adjusted Wald interval: one pseudo-count added to each discordant cell."""
    p12, p21 = (wins + 1.0) / (n + 2.0), (losses + 1.0) / (n + 2.0)
    diff = p12 - p21
    half = z * math.sqrt((p12 + p21 - diff * diff) / (n + 2.0))
    return max(-1.0, diff - half), min(1.0, diff + half)
