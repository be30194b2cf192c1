"""A family of comparisons tested at interim looks: the graphical form of Holm's procedure for group-sequential
designs (Maurer & Bretz 2013), stopping for efficacy or for equivalence, with repeated confidence intervals.

Each family (a comparison family and one metric) starts every row with alpha/m. At each look every open row is
tested on its looks so far against the boundaries of its current alpha (icl.analysis.boundaries); a row that
crosses is rejected ("effect") and its alpha is shared equally among the family's rows not yet rejected (Holm's
graph), whose boundaries at every look so far are recomputed with the larger alpha, and so on until no row
crosses. Then a row whose interval at its current alpha lies inside (-d, d), d its metric's smallest effect of
interest, stops with "no effect larger than d"; a row stopped so keeps its alpha (only a rejection passes alpha
on: passing it from an accepted row would make the others' levels depend on a non-rejected row's data) and may
still be rejected on its looks so far if later rejections raise its alpha. Rows still open at the maximum are
"open". Runs whose rows are all decided get no more items; stopping a row's looks early can only lower its
chance of crossing, so no stopping rule of the runner can raise the family-wise error
(tests/test_sequential.py simulates it).

A row reports its repeated confidence interval (Jennison & Turnbull 2000, ch. 9) at the look it stopped: the
interval with the 95% design's boundary at that look, which covers the true gain with probability 0.95 whatever
the look at which the study stopped; the family's interval (at the row's own alpha) is the one an equivalence
decision reads.

Everything here is a pure function of the looks' statistics, so `icl run` between looks, `icl gains` afterwards
and a resume after a kill replay the same decisions.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Sequence
from dataclasses import dataclass

from icl.analysis.boundaries import boundaries
from icl.metrics.proportions import tango_interval
from icl.sweep.design import Design

EFFECT, NO_EFFECT, OPEN = "effect", "no effect", "open"
"""A row's decision: an effect after the family's correction; no effect larger than the smallest of interest;
neither (at the maximum, or where its runs stopped for other rows)."""


@dataclass(frozen=True)
class LookStat:
    """A row's statistics at one look, on the items its runs had then.

    Two kinds, each a score-type statistic whose interval is the set of gains its test does not reject, so an
    interval excludes 0 exactly when |z| reaches the boundary:
    - paired accuracy (`wins`, `losses`): McNemar's score statistic with a continuity correction, and the Tango
      score interval it inverts (without the correction, simulated families with 10-item looks erred in 5.5%);
    - a corpus metric (`center`, `spread`): the self-normalised sum of the gain's jackknife pseudo-values p_i,
      z = sum(p) / sqrt(sum(p^2)), and its inversion, center +- c sqrt(spread / (n (n - c^2))) (unbounded where
      n <= c^2: so few items cannot reach that boundary). Self-normalised sums of symmetric terms are
      conservative (Efron 1969); simulations from real outputs keep the family-wise error under alpha with it,
      where the bootstrap's and the t-referred jackknife's z did not (tests/test_sequential.py)."""

    items: int
    delta: float
    """The gain, in the metric's points (the corpus gain for MT)."""
    z: float
    center: float = 0.0
    """Corpus metric: the mean of the pseudo-values (the bias-corrected jackknife gain)."""
    spread: float = 0.0
    """Corpus metric: the sum of squared deviations of the pseudo-values from their mean."""
    wins: int | None = None
    losses: int | None = None
    """Paired accuracy: items only the system / only the baseline got right."""

    def interval(self, crit: float) -> tuple[float, float]:
        """The gains the look's test does not reject at critical value `crit`, in points."""
        if self.wins is not None and self.losses is not None:
            low, high = tango_interval(self.wins, self.losses, self.items, crit, corrected=True)
            return 100.0 * low, 100.0 * high
        n = self.items
        if n <= crit * crit:
            return -math.inf, math.inf
        half = crit * math.sqrt(self.spread / (n * (n - crit * crit)))
        return self.center - half, self.center + half

    @staticmethod
    def corpus(items: int, delta: float, center: float, spread: float) -> LookStat:
        """A corpus metric's look from its pseudo-values' mean and spread."""
        total = spread + items * center * center
        z = items * center / math.sqrt(total) if total > 0 else 0.0
        return LookStat(items, delta, z, center, spread)

    @staticmethod
    def paired(items: int, delta: float, wins: int, losses: int) -> LookStat:
        """A paired accuracy's look: McNemar's score statistic, continuity-corrected."""
        diff = wins - losses
        z = math.copysign(max(0.0, abs(diff) - 1.0), diff) / math.sqrt(wins + losses) if wins + losses else 0.0
        return LookStat(items, delta, z, wins=wins, losses=losses)


@dataclass(frozen=True)
class RowPath:
    """One row of a family followed over the looks its runs reached."""

    key: Hashable
    family: str
    """The comparison's family (without the metric)."""
    metric: str
    fractions: tuple[float, ...]
    """Information fractions of the row's planned looks (items at each look over the maximum)."""
    looks: tuple[LookStat, ...]
    """Statistics at the looks reached so far (a prefix of the plan)."""


@dataclass(frozen=True)
class Decision:
    """What the family's procedure decided for one row, and its interval at that look."""

    decision: str
    look: int
    """1-based look at which it was decided (its last look where open)."""
    items: int
    alpha: float
    """The row's share of the family's alpha when the procedure ended (alpha/m, plus what rejections passed on)."""
    boundary: float
    """|Z| needed at that look with that alpha."""
    z: float
    rci_low: float
    rci_high: float
    """95% repeated confidence interval at that look (the design's alpha, per row)."""
    family_low: float
    family_high: float
    """The interval at the row's own alpha (what an equivalence decision reads)."""


def family_key(row: RowPath) -> tuple[str, str]:
    return row.family, row.metric


def decide(rows: Sequence[RowPath], design: Design, upto: int | None = None) -> list[Decision]:
    """The procedure over looks 1..upto (default: the last any row reached), family by family."""
    upto = upto if upto is not None else max((len(r.looks) for r in rows), default=0)
    out: list[Decision | None] = [None] * len(rows)
    families: dict[tuple[str, str], list[int]] = {}
    for i, row in enumerate(rows):
        families.setdefault(family_key(row), []).append(i)
    for members in families.values():
        for i, decision in zip(members, _family([rows[i] for i in members], design, upto), strict=True):
            out[i] = decision
    return [d for d in out if d is not None]


def _family(rows: Sequence[RowPath], design: Design, upto: int) -> list[Decision]:
    m = len(rows)
    alpha = [design.alpha / m] * m
    rejected: list[int | None] = [None] * m
    equivalent: list[int | None] = [None] * m

    def last(i: int, j: int) -> int:
        return min(j, len(rows[i].looks), equivalent[i] or j)

    for j in range(1, upto + 1):
        while True:
            newly = [i for i in range(m) if rejected[i] is None and last(i, j) > 0 and _crosses(rows[i], alpha[i], design,
                                                                                             last(i, j))]
            if not newly:
                break
            for i in newly:
                rejected[i] = last(i, j)
            rest = [k for k in range(m) if rejected[k] is None]
            for i in newly:
                for k in rest:
                    alpha[k] += alpha[i] / len(rest)
        for i in range(m):
            d = design.effect(rows[i].metric)
            if rejected[i] is None and equivalent[i] is None and d is not None and len(rows[i].looks) >= j:
                crit = boundaries(alpha[i], rows[i].fractions, design.spending)[j - 1]
                low, high = rows[i].looks[j - 1].interval(crit)
                if -d < low and high < d:
                    equivalent[i] = j
    return [_decision(rows[i], design, alpha[i], rejected[i], equivalent[i], upto) for i in range(m)]


def _crosses(row: RowPath, alpha: float, design: Design, looks: int) -> bool:
    bounds = boundaries(alpha, row.fractions, design.spending)
    return any(abs(row.looks[k].z) >= bounds[k] for k in range(looks))


def _decision(row: RowPath, design: Design, alpha: float, rejected: int | None, equivalent: int | None,
              upto: int) -> Decision:
    if rejected is not None:
        verdict, look = EFFECT, rejected
    elif equivalent is not None:
        verdict, look = NO_EFFECT, equivalent
    else:
        verdict, look = OPEN, min(upto, len(row.looks))
    stat = row.looks[look - 1]
    own = boundaries(alpha, row.fractions, design.spending)[look - 1]
    crit = boundaries(design.alpha, row.fractions, design.spending)[look - 1]
    rci, fam = stat.interval(crit), stat.interval(own)
    return Decision(verdict, look, stat.items, alpha, own, stat.z, rci[0], rci[1], fam[0], fam[1])


def still_asking(rows: Sequence[RowPath], decisions: Sequence[Decision], design: Design, look: int) -> list[Hashable]:
    """Keys of the rows that keep their runs going after `look`: open, reached this look, and driving (a metric
    with a smallest effect, in a family the design names)."""
    return [row.key for row, d in zip(rows, decisions, strict=True)
            if d.decision == OPEN and len(row.looks) >= look and design.drives(row.family, row.metric)]
