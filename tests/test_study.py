"""Study statistics: corrections equal statsmodels', null families keep the family-wise error rate, the
power formulas match simulations of the tests themselves, and p-values agree with their intervals."""

from __future__ import annotations

import numpy as np
import pytest

from icl.analysis.power import items_bootstrap, items_mcnemar, mde_bootstrap, mde_mcnemar
from icl.analysis.study import (
    adjust,
    holm_rejected,
    partial_conjunction,
    replicability_count,
    two_level_interval,
)
from icl.metrics.paired import bootstrap_deltas, mcnemar_accuracy, percentile_test


def _mean(stats: np.ndarray) -> np.ndarray:
    """A metric that is the mean of a per-item score: rows are (summed score, item count)."""
    return stats[:, 0] / stats[:, 1]


def _bootstrap_p(base: np.ndarray, system: np.ndarray, resamples: int, seed: int) -> tuple[float, float]:
    """Two-sided p and one-sided p (system better) of the paired bootstrap MT rows use, on a mean metric."""
    ones = np.ones(len(base))
    deltas = bootstrap_deltas(np.stack([base, ones], 1), np.stack([system, ones], 1), _mean, resamples, seed)
    p, p_greater, _, _, _ = percentile_test(float(system.mean() - base.mean()), deltas)
    return p, p_greater


@pytest.mark.parametrize("p_values,holm,bh", [
    ([0.01, 0.04, 0.03, 0.005], [0.03, 0.06, 0.06, 0.02], [0.02, 0.04, 0.04, 0.02]),
    ([0.5], [0.5], [0.5]),
    ([0.0001, 0.2, 0.9], [0.0003, 0.4, 0.9], [0.0003, 0.3, 0.9]),
    ([0.02, 0.02], [0.04, 0.04], [0.02, 0.02]),
    ([], [], []),
])
def test_adjusted_p_values_are_statsmodels(p_values: list[float], holm: list[float], bh: list[float]) -> None:
    """Hand-computed Holm and BH values, and statsmodels' own `multipletests` on the same table."""
    from statsmodels.stats.multitest import multipletests

    assert adjust(p_values, "holm") == pytest.approx(holm)
    assert adjust(p_values, "bh") == pytest.approx(bh)
    if p_values:
        assert adjust(p_values, "holm") == pytest.approx(list(multipletests(p_values, method="holm")[1]))
        assert adjust(p_values, "bh") == pytest.approx(list(multipletests(p_values, method="fdr_bh")[1]))


def test_null_families_keep_the_family_wise_error_rate() -> None:
    """200 families of 20 rows, the two systems of every row equal in distribution (MT-like rows through the
    paired bootstrap, accuracy rows through McNemar): at most ~5% of families have any Holm-significant row,
    while uncorrected stars would appear in most families. Every MT row is resampled with the same seed, as
    gains resamples every row of n items alike (icl.analysis.gains): the rows' data are what differ."""
    rng = np.random.default_rng(2024)
    any_holm = any_raw = 0
    for family in range(200):
        ps = []
        for row in range(20):
            if row % 2:
                base, system = rng.random(40) < 0.5, rng.random(40) < 0.5
                ps.append(mcnemar_accuracy(list(base), list(system), resamples=9).p_value)
            else:
                base, system = rng.normal(30, 10, 40), rng.normal(30, 10, 40)
                ps.append(_bootstrap_p(base, system, 1999, 12345)[0])
        any_holm += any(holm_rejected(ps))
        any_raw += any(p <= 0.05 for p in ps)
    assert any_holm / 200 <= 0.08  # 5% nominal; 0.08 is 2.5 standard errors above it
    assert any_raw / 200 > 0.4


def test_bootstrap_power_matches_simulation() -> None:
    """A row whose gain is exactly its MDE (at a family's row level) is detected in ~80% of simulated
    studies by the paired bootstrap itself; and items_bootstrap sizes a study to the same power."""
    rng = np.random.default_rng(7)
    sigma, n, alpha = 10.0, 120, 0.05 / 10
    effect = mde_bootstrap(sigma / np.sqrt(n), alpha)
    hits = 0
    for study in range(300):
        base = rng.normal(40, 8, n)
        system = base + rng.normal(effect, sigma, n)
        p, _ = _bootstrap_p(base, system, 1999, study)
        hits += p <= alpha
    assert abs(hits / 300 - 0.8) <= 0.07
    assert items_bootstrap(30, sigma / np.sqrt(30), effect, alpha) == pytest.approx(n, abs=1)


def test_mcnemar_power_matches_simulation() -> None:
    """McNemar's score test on simulated paired outcomes with the MDE as true gain: ~80% rejections."""
    from scipy.stats import norm

    rng = np.random.default_rng(11)
    n, discordant, alpha = 400, 0.3, 0.05 / 5
    effect = mde_mcnemar(n, discordant, alpha) / 100
    counts = rng.multinomial(n, [(discordant + effect) / 2, (discordant - effect) / 2, 1 - discordant], size=4000)
    wins, losses = counts[:, 0], counts[:, 1]
    z = (wins - losses) / np.sqrt(np.maximum(wins + losses, 1))
    p = 2 * norm.sf(np.abs(z))
    assert abs(float(np.mean(p <= alpha)) - 0.8) <= 0.04
    assert items_mcnemar(discordant, 100 * effect, alpha) == pytest.approx(n, abs=2)


@pytest.mark.parametrize("b,c", [(0, 0), (5, 0), (12, 3), (30, 31), (7, 19), (40, 22)])
def test_mcnemar_is_statsmodels_score_test_and_its_interval_agrees(b: int, c: int) -> None:
    """The p is statsmodels' asymptotic McNemar test without continuity correction, and Tango's interval (the one
    that test inverts) excludes 0 exactly when it rejects; it always holds the estimate strictly inside where
    the systems disagree, so it is never one-sided in disguise (5 wins, 0 losses included)."""
    from statsmodels.stats.contingency_tables import mcnemar

    n = b + c + 50
    base = [False] * b + [True] * c + [True] * 25 + [False] * 25
    system = [True] * b + [False] * c + [True] * 25 + [False] * 25
    result = mcnemar_accuracy(base, system, resamples=99)
    expected = 1.0 if b + c == 0 else mcnemar([[25, c], [b, 25]], exact=False, correction=False).pvalue
    assert result.p_value == pytest.approx(expected)
    assert result.delta == pytest.approx(100 * (b - c) / n, abs=1e-3)
    assert (result.ci_low > 0 or result.ci_high < 0) == (result.p_value <= 0.05)
    if b + c:
        assert result.ci_low < result.delta < result.ci_high


def test_percentile_p_and_interval_tell_the_same_story() -> None:
    """With 19,999 resamples the 95% interval excludes 0 exactly when the two-sided p is at most 0.05, over a
    range of gains from clearly nothing to clearly something (both sides of the boundary are exercised)."""
    rng = np.random.default_rng(3)
    agree, rejected = 0, 0
    for shift in np.linspace(-4, 4, 41):
        base = rng.normal(20, 10, 50)
        system = base + rng.normal(shift, 10, 50)
        ones = np.ones(50)
        deltas = bootstrap_deltas(np.stack([base, ones], 1), np.stack([system, ones], 1), _mean, 19_999, 5)
        p, _, _, low, high = percentile_test(float(system.mean() - base.mean()), deltas)
        agree += (low > 0 or high < 0) == (p <= 0.05)
        rejected += p <= 0.05
    assert agree == 41 and 5 < rejected < 36


@pytest.mark.parametrize("p_values,u,method,expected", [
    ([0.01, 0.02, 0.5], 1, "bonferroni", 0.03),
    ([0.01, 0.02, 0.5], 2, "bonferroni", 0.04),
    ([0.01, 0.02, 0.5], 3, "bonferroni", 0.5),
    ([0.2], 1, "fisher", 0.2),  # one p-value: Fisher's statistic is chi-squared(2), giving back p
])
def test_partial_conjunction(p_values: list[float], u: int, method: str, expected: float) -> None:
    assert partial_conjunction(p_values, u, method) == pytest.approx(expected)


@pytest.mark.parametrize("p_values,expected", [
    ([0.001, 0.004, 0.3, 0.9], 2),   # 4 * 0.001, 3 * 0.004 <= 0.05; 2 * 0.3 is not
    ([0.2, 0.3], 0),
    ([0.0001] * 5, 5),
    ([0.02, 0.001], 1),              # 2 * 0.001 passes, 1 * 0.02 passes too but only after: monotone -> 2
])
def test_replicability_count(p_values: list[float], expected: int) -> None:
    k = replicability_count(p_values)
    if p_values == [0.02, 0.001]:
        assert k == 2
    else:
        assert k == expected
    assert k >= sum(holm_rejected(p_values)) or k == 0  # Holm never names more languages than the count allows


def test_two_level_interval_covers_language_spread() -> None:
    """Languages that disagree widen the interval beyond any one language's item-level interval; with one
    language it is that language's own percentile interval."""
    rng = np.random.default_rng(1)
    tight = [rng.normal(mean, 0.5, 5000) for mean in (-3.0, 0.0, 3.0, 6.0)]
    low, high = two_level_interval(tight)
    assert low < 1.5 < high and high - low > 4
    one_low, one_high = two_level_interval([tight[1]])
    assert one_low == pytest.approx(np.percentile(tight[1], 2.5), abs=0.1)
    assert one_high == pytest.approx(np.percentile(tight[1], 97.5), abs=0.1)
