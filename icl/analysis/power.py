"""What effect a comparison could have seen, and how many items it would take to see a given one.

Two tests, two power models (tests/test_power.py checks both against simulations of the tests themselves):

- A paired bootstrap of a corpus metric (BLEU, chrF++): the gain is close to normal with standard error `se`
  (the spread of its bootstrap), which shrinks as 1/sqrt(n). At two-sided level `alpha` and power `power`
  the minimum detectable effect is (z[1 - alpha/2] + z[power]) * se; to detect an effect d takes
  n * ((z[1 - alpha/2] + z[power]) * se / d)^2 items.
- McNemar's test of paired accuracy: power depends on how often the two systems disagree (the discordant
  share p_d), not on accuracy itself. Connor (1987): n = (z[1 - alpha/2] sqrt(p_d) + z[power]
  sqrt(p_d - d^2))^2 / d^2 for a gain d (a share), solved here for d given n, or for n given d.

A family corrected with Holm first rejects at alpha/m, so "detectable at the family's level" uses alpha/m
(Bonferroni's level, the strictest step of Holm's): what a row can promise before seeing the other rows.
"""

from __future__ import annotations

import math

POWER = 0.8
"""The power every detectable effect is quoted at."""


def _z(q: float) -> float:
    from scipy.stats import norm

    return float(norm.ppf(q))


def mde_bootstrap(se: float, alpha: float, power: float = POWER) -> float:
    """Smallest gain (in the metric's points) detected with probability `power` at two-sided `alpha`."""
    return (_z(1 - alpha / 2) + _z(power)) * se


def items_bootstrap(n: int, se: float, effect: float, alpha: float, power: float = POWER) -> int:
    """Items that bring the MDE of a comparison measured with `se` on `n` items down to `effect`."""
    if effect <= 0:
        raise ValueError("the effect to detect must be positive")
    return max(1, math.ceil(n * ((_z(1 - alpha / 2) + _z(power)) * se / effect) ** 2))


def _mcnemar_n(discordant: float, effect: float, alpha: float, power: float) -> float:
    """Connor's sample size for a gain `effect` (a share) with discordant share `discordant` (>= effect)."""
    za, zb = _z(1 - alpha / 2), _z(power)
    return (za * math.sqrt(discordant) + zb * math.sqrt(max(discordant - effect**2, 0.0))) ** 2 / effect**2


def mde_mcnemar(n: int, discordant: float, alpha: float, power: float = POWER) -> float | None:
    """Smallest accuracy gain (points) McNemar's test detects on n items whose discordant share is
    `discordant`; None where the two systems never disagreed (no gain can be seen at that share)."""
    if discordant <= 0 or n <= 0:
        return None
    low, high = 1e-9, discordant
    if _mcnemar_n(discordant, high, alpha, power) > n:
        return 100.0 * discordant  # not even a gain as large as the disagreement: the whole share
    for _ in range(100):
        mid = (low + high) / 2
        if _mcnemar_n(discordant, mid, alpha, power) > n:
            low = mid
        else:
            high = mid
    return 100.0 * high


def items_mcnemar(discordant: float, effect: float, alpha: float, power: float = POWER) -> int:
    """Items McNemar's test needs to detect a gain of `effect` points, given the pilot's discordant share
    (at least the gain itself: two systems that differ by d points disagree on at least d% of the items)."""
    if effect <= 0:
        raise ValueError("the effect to detect must be positive")
    d = effect / 100.0
    return max(1, math.ceil(_mcnemar_n(max(discordant, d), d, alpha, power)))
