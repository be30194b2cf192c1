"""Group-sequential boundaries: alpha-spending functions (Lan & DeMets 1983) and the critical values they give
at each look, computed by numerical integration of the canonical joint distribution of the looks' z-statistics.

Convention (docs/statistics.md, ../shared/notes/sequential-boundaries.md): a two-sided test at level `alpha`
is two one-sided tests, each side spending alpha/2 with the spending function, and a look rejects where
|Z| reaches the side's boundary (gsDesign's symmetric design). For alpha 0.05 and four equally spaced looks the
Lan-DeMets O'Brien-Fleming-type boundaries are 4.333, 2.963, 2.359, 2.014 (tests/test_sequential.py checks
them, and Pocock's, against the published values).

Why integration and not scipy's multivariate normal: scipy's CDF is a randomised quasi-Monte Carlo estimate,
and a study must replay the same decisions bit for bit after a resume; the recursion of Armitage, McPherson &
Rowe (1969), in the form of Jennison & Turnbull (2000, ch. 19), is deterministic and accurate to about 1e-7
on the grid used here (a test compares it with scipy's estimate).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Sequence
from functools import lru_cache

import numpy as np
from scipy.optimize import brentq
from scipy.special import ndtr, ndtri

_SQRT_2PI = math.sqrt(2 * math.pi)


def _sf(x: np.ndarray | float) -> np.ndarray | float:
    """The standard normal upper tail (scipy.special's, without scipy.stats' per-call overhead)."""
    return ndtr(-np.asarray(x)) if isinstance(x, np.ndarray) else float(ndtr(-x))


def _isf(p: float) -> float:
    return float(-ndtri(p))


def _pdf(x: np.ndarray) -> np.ndarray:
    return np.exp(-0.5 * x * x) / _SQRT_2PI


def _obf(alpha: float, t: float) -> float:
    """Lan-DeMets O'Brien-Fleming type: alpha(t) = 2 - 2 Phi(z[1 - alpha/2] / sqrt(t)) (one side's alpha)."""
    return 2.0 * float(_sf(_isf(alpha / 2) / math.sqrt(t))) if t > 0 else 0.0


def _pocock(alpha: float, t: float) -> float:
    """Lan-DeMets Pocock type: alpha(t) = alpha ln(1 + (e - 1) t)."""
    return alpha * math.log(1 + (math.e - 1) * t) if t > 0 else 0.0


SPENDING: dict[str, Callable[[float, float], float]] = {"obf": _obf, "pocock": _pocock}
"""Spending functions by the name a sweep's `sequential.spending` uses: the cumulative one-sided alpha spent at
information fraction t."""

_CAP = 40.0
"""A look that spends no alpha (or too little to tell from 0) gets this boundary: no z-statistic reaches it."""
_GRID = 201
"""Grid points per look (odd, for Simpson's rule)."""
_FLOOR = -10.0
"""Below this z the continuation region carries no mass worth integrating (Phi(-10) ~ 8e-24)."""


def _simpson(lo: float, hi: float) -> tuple[np.ndarray, np.ndarray]:
    """Points and Simpson weights on [lo, hi]."""
    z = np.linspace(lo, hi, _GRID)
    h = (hi - lo) / (_GRID - 1)
    w = np.full(_GRID, 2.0)
    w[1::2] = 4.0
    w[0] = w[-1] = 1.0
    return z, w * h / 3.0


def _crossing(density: np.ndarray, points: np.ndarray, weights: np.ndarray, c: float, info_prev: float,
              info: float) -> float:
    """P(continue to the last look, then Z >= c at this one), given the sub-density of the last look's Z."""
    step = math.sqrt(info - info_prev)
    tail = _sf((c * math.sqrt(info) - points * math.sqrt(info_prev)) / step)
    return float(np.sum(weights * density * tail))


def _gap(c: float, density: np.ndarray, points: np.ndarray, weights: np.ndarray, info_prev: float, info: float,
         share: float) -> float:
    return _crossing(density, points, weights, c, info_prev, info) - share


def _next_density(density: np.ndarray, points: np.ndarray, weights: np.ndarray, c: float, info_prev: float,
                  info: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The sub-density of this look's Z on its continuation region (Z < c), from the last look's."""
    new_points, new_weights = _simpson(_FLOOR, min(c, -_FLOOR))
    step = math.sqrt(info - info_prev)
    scale = math.sqrt(info) / step
    kernel = _pdf((new_points[:, None] * math.sqrt(info) - points[None, :] * math.sqrt(info_prev)) / step)
    return (kernel * (weights * density)[None, :]).sum(axis=1) * scale, new_points, new_weights


def _boundaries(spent: Sequence[float], fractions: Sequence[float]) -> tuple[float, ...]:
    """One-sided boundaries that spend `spent[k]` (cumulative) by look k at information `fractions[k]`."""
    out: list[float] = []
    density = points = weights = None
    previous = 0.0
    for k, (cum, t) in enumerate(zip(spent, fractions, strict=True)):
        share = cum - previous
        if k == 0:
            c = float(_isf(share)) if share > 1e-300 else _CAP
            c = min(c, _CAP)
            points, weights = _simpson(_FLOOR, min(c, -_FLOOR))
            density = _pdf(points)
        else:
            t_prev = fractions[k - 1]
            if share <= 1e-15:
                c = _CAP
            else:
                low = _crossing(density, points, weights, _CAP, t_prev, t)
                if share <= low:
                    c = _CAP
                else:
                    c = brentq(_gap, -8.0, _CAP, args=(density, points, weights, t_prev, t, share), xtol=1e-10)
            density, points, weights = _next_density(density, points, weights, c, t_prev, t)
        out.append(c)
        previous = cum
    return tuple(out)


@lru_cache(maxsize=65536)
def boundaries(alpha: float, fractions: tuple[float, ...], spending: str = "obf") -> tuple[float, ...]:
    """Two-sided critical values |Z| >= c_k at looks with information fractions `fractions` (increasing, the last
    normally 1), for a test at two-sided level `alpha` whose sides each spend alpha/2 with `spending`.

    A study that stops short of its planned maximum still used the planned fractions for its earlier looks;
    its last look spends what the function gives at its own fraction (never the whole alpha early)."""
    if not 0 < alpha < 1:
        raise ValueError(f"alpha must be in (0, 1), not {alpha}")
    if not fractions or any(b <= a for a, b in itertools.pairwise(fractions)) or fractions[0] <= 0:
        raise ValueError(f"information fractions must increase from above 0: {fractions}")
    spend = SPENDING[spending]
    spent = [min(alpha / 2, spend(alpha / 2, min(t, 1.0))) for t in fractions]
    return _boundaries(spent, fractions)


def fixed_alpha_boundary(alpha: float) -> float:
    """The fixed design's two-sided critical value (one look)."""
    return float(_isf(alpha / 2))


def crossing_probability(bounds: Sequence[float], fractions: Sequence[float], drift: float = 0.0) -> float:
    """P(Z_k >= bounds[k] at some look) for the canonical process with E[Z_k] = drift * sqrt(t_k) (one side):
    the check that boundaries spend what they should, and the power of a design at a drift."""
    points, weights = _simpson(_FLOOR + drift, min(-_FLOOR + drift, bounds[0]))
    mean0 = drift * math.sqrt(fractions[0])
    total = float(_sf(bounds[0] - mean0))
    density = _pdf(points - mean0)
    for k in range(1, len(bounds)):
        t_prev, t = fractions[k - 1], fractions[k]
        step = math.sqrt(t - t_prev)
        mean_step = drift * (t - t_prev)
        tail = _sf((bounds[k] * math.sqrt(t) - points * math.sqrt(t_prev) - mean_step) / step)
        total += float(np.sum(weights * density * tail))
        new_points, new_weights = _simpson(min(points[0], _FLOOR + drift * math.sqrt(t)), bounds[k])
        kernel = _pdf((new_points[:, None] * math.sqrt(t) - points[None, :] * math.sqrt(t_prev) - mean_step) / step)
        density = (kernel * (weights * density)[None, :]).sum(axis=1) * math.sqrt(t) / step
        points, weights = new_points, new_weights
    return total


def repeated_p(z: float, fractions: tuple[float, ...], look: int, spending: str = "obf") -> float:
    """The repeated p-value at `look` (1-based; Jennison & Turnbull 2000, 9.2): the smallest two-sided level
    whose boundary at that look |z| reaches, so that p <= alpha exactly when the level-alpha repeated interval
    there excludes 0. It keeps its meaning at whatever look a study stops."""
    z = abs(z)
    if z == 0:
        return 1.0

    def gap(log_alpha: float) -> float:
        return boundaries(math.exp(log_alpha), fractions, spending)[look - 1] - z

    lo, hi = math.log(1e-15), math.log(0.999999)
    if gap(hi) > 0:
        return 1.0
    if gap(lo) <= 0:
        return 1e-15
    return math.exp(brentq(gap, lo, hi, xtol=1e-6))
