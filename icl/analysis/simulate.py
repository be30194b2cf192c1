"""Simulated sequential studies: what a design's family-wise error, power and items are, before it spends any.

Two kinds of families, both decided by the procedure a study uses (icl.analysis.sequential.decide):

- `simulate_normal`: each row's z-statistics follow the canonical joint distribution (a Brownian motion observed
  at the looks) with a chosen true gain and standard error: fast, for sizing (`icl plan --power`) and for the
  error rates at any family size.
- `simulate_items`: each row resamples real items (the per-item sufficient statistics of real outputs, e.g.
  chrF++'s) and is tested as a study tests it: the corpus gain on the items so far over its paired-bootstrap
  standard error, at every look. Under the null the two systems of an item are swapped at random (paired
  exchangeability), so the error rate is measured where the bootstrap z is least normal: few items, skewed
  sentence statistics.

Rows are independent here (each its own runs), so items saved are per row; in a sweep, runs shared by rows go on
while any of their rows is open (`icl run` reports what it used).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from icl.analysis.sequential import EFFECT, LookStat, RowPath, decide
from icl.sweep.design import Design, schedule


@dataclass(frozen=True)
class SimResult:
    """Rates over simulated families."""

    families: int
    fwer: float
    """Share of families with at least one true-null row decided `effect`."""
    power: tuple[float, ...]
    """Per row: the share of families in which it was decided `effect` with the sign of its true gain."""
    equivalent: tuple[float, ...]
    """Per row: the share decided `no effect`."""
    items: tuple[float, ...]
    """Per row: mean items used over the maximum."""
    coverage: float
    """Share of rows (over all families) whose 95% repeated interval at stopping covers the true gain."""

    def mean_items(self) -> float:
        return float(np.mean(self.items))


def _summarise(decisions: Sequence[Sequence], truths: Sequence[float], max_items: int) -> SimResult:
    n = len(decisions)
    m = len(truths)
    null = [abs(t) == 0 for t in truths]
    fwer = sum(any(d.decision == EFFECT and null[i] for i, d in enumerate(fam)) for fam in decisions) / n
    power = tuple(sum(fam[i].decision == EFFECT and fam[i].z * truths[i] > 0 for fam in decisions) / n
                  for i in range(m))
    equivalent = tuple(sum(fam[i].decision == "no effect" for fam in decisions) / n for i in range(m))
    items = tuple(sum(fam[i].items for fam in decisions) / n / max_items for i in range(m))
    covered = sum(fam[i].rci_low <= truths[i] <= fam[i].rci_high for fam in decisions for i in range(m)) / (n * m)
    return SimResult(n, fwer, power, equivalent, items, covered)


def simulate_normal(truths: Sequence[float], se_max: Sequence[float], design: Design, max_items: int,
                    metric: str = "chrf++", families: int = 2000, seed: int = 0) -> SimResult:
    """Families of len(truths) rows (one family, one metric) whose gain at look k is normal around its true
    gain with standard error se_max * sqrt(max / n_k), increments independent (as sums of items are)."""
    rng = np.random.default_rng(seed)
    plan = schedule(max_items, design.looks)
    fractions = tuple(n / plan[-1] for n in plan)
    m = len(truths)
    out = []
    for _ in range(families):
        increments = rng.standard_normal((m, len(plan))) * np.sqrt(np.diff((0.0, *fractions)))
        paths = []
        for i in range(m):
            w = np.cumsum(increments[i])  # Brownian motion at the fractions (variance t)
            looks = []
            for k, (n, t) in enumerate(zip(plan, fractions, strict=True)):
                delta = truths[i] + se_max[i] * w[k] / t
                looks.append(normal_look(n, delta, se_max[i] / math.sqrt(t)))
            paths.append(RowPath(i, "sim", metric, fractions, tuple(looks)))
        out.append(stopped(paths, design))
    return _summarise(out, truths, plan[-1])


def normal_look(n: int, delta: float, se: float) -> LookStat:
    """A look whose gain is normal with a known standard error: a corpus look whose pseudo-values have the
    spread that gives that standard error (so its interval is the same inversion a real look uses)."""
    spread = se * se * n * (n - 1)
    return LookStat.corpus(n, delta, delta, spread)


def stopped(paths: Sequence[RowPath], design: Design) -> list:
    """Decisions of a family whose rows stop getting items once decided (each row its own runs): the
    procedure replayed look by look, each row cut at the look it was first decided."""
    cut = [len(p.looks) for p in paths]
    for look in range(1, max(cut) + 1):
        current = [RowPath(p.key, p.family, p.metric, p.fractions, p.looks[:min(c, look)])
                   for p, c in zip(paths, cut, strict=True)]
        for i, d in enumerate(decide(current, design, look)):
            if d.decision != "open" and cut[i] > look:
                cut[i] = look
    final = [RowPath(p.key, p.family, p.metric, p.fractions, p.looks[:c]) for p, c in zip(paths, cut, strict=True)]
    return decide(final, design, max(cut))


def simulate_items(pairs: Sequence[tuple[np.ndarray, np.ndarray]], score: Callable[[np.ndarray], np.ndarray],
                   design: Design, max_items: int, metric: str = "chrf++", families: int = 2000, null: bool = True,
                   seed: int = 0) -> SimResult:
    """Families of one row per real (baseline, system) pair of per-item statistics (items x stats): each family
    draws `max_items` items with replacement, swaps the two systems of each item at random under `null` (else
    keeps them, so the true gain is the pair's corpus gain on all its items), and tests every look as a study
    does (icl.analysis.looks: the self-normalised sum of the gain's jackknife pseudo-values)."""
    rng = np.random.default_rng(seed)
    plan = schedule(max_items, design.looks)
    fractions = tuple(n / plan[-1] for n in plan)
    looks: list[list[list[LookStat]]] = [[[] for _ in pairs] for _ in range(families)]
    truths = []
    for r, (base, system) in enumerate(pairs):
        truths.append(0.0 if null else float(score(system.sum(0, keepdims=True))[0]
                                             - score(base.sum(0, keepdims=True))[0]))
        b, s = _resampled(base, system, families, plan[-1], null, rng)
        for n in plan:
            delta, center, spread = _pseudo(b[:, :n], s[:, :n], score)
            for f in range(families):
                looks[f][r].append(LookStat.corpus(n, float(delta[f]), float(center[f]), float(spread[f])))
    return _decided(looks, metric, fractions, design, truths, plan[-1])


def simulate_paired(pairs: Sequence[tuple[np.ndarray, np.ndarray]], design: Design, max_items: int,
                    metric: str = "accuracy", families: int = 2000, null: bool = True, seed: int = 0) -> SimResult:
    """As `simulate_items`, for paired right/wrong outcomes (accuracy): each row resamples a real pair's items,
    swaps the two systems of each item at random under `null`, and is tested by McNemar's score statistic at
    every look, with Tango's interval, as a study tests it."""
    rng = np.random.default_rng(seed)
    plan = schedule(max_items, design.looks)
    fractions = tuple(n / plan[-1] for n in plan)
    looks: list[list[list[LookStat]]] = [[[] for _ in pairs] for _ in range(families)]
    truths = []
    for r, (base, system) in enumerate(pairs):
        base, system = np.asarray(base, dtype=bool), np.asarray(system, dtype=bool)
        truths.append(0.0 if null else 100.0 * float(system.mean() - base.mean()))
        b, s = _resampled(base, system, families, plan[-1], null, rng)
        wins, losses = np.cumsum(s & ~b, axis=1), np.cumsum(b & ~s, axis=1)
        for n in plan:
            for f in range(families):
                w, lo = int(wins[f, n - 1]), int(losses[f, n - 1])
                looks[f][r].append(LookStat.paired(n, 100.0 * (w - lo) / n, w, lo))
    return _decided(looks, metric, fractions, design, truths, plan[-1])


def _resampled(base: np.ndarray, system: np.ndarray, families: int, top: int, null: bool,
               rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Each family's `top` items drawn with replacement from a real pair (items first), the two systems of each
    drawn item swapped at random under `null` (the paired null: exchangeable outputs)."""
    idx = rng.integers(0, len(base), size=(families, top))
    b, s = base[idx], system[idx]
    if null:
        swap = rng.random((families, top)) < 0.5
        swap = swap[..., None] if b.ndim == 3 else swap
        b, s = np.where(swap, s, b), np.where(swap, b, s)
    return b, s


def _decided(looks: Sequence[Sequence[Sequence[LookStat]]], metric: str, fractions: tuple[float, ...],
             design: Design, truths: Sequence[float], top: int) -> SimResult:
    """Each simulated family (its rows' looks) decided as a study decides it, then summarised."""
    out = [stopped([RowPath(r, "sim", metric, fractions, tuple(rows[r])) for r in range(len(rows))], design)
           for rows in looks]
    return _summarise(out, truths, top)


def _pseudo(b: np.ndarray, s: np.ndarray, score: Callable[[np.ndarray], np.ndarray]
            ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Corpus gains, and the mean and spread of their jackknife pseudo-values, of families x items x stats
    (icl.metrics.paired.pseudo_values, vectorised over families)."""
    families, n, k = b.shape
    sb, ss = b.sum(1), s.sum(1)
    delta = score(ss) - score(sb)
    left = (score((ss[:, None, :] - s).reshape(-1, k)) - score((sb[:, None, :] - b).reshape(-1, k))).reshape(families, n)
    pseudo = n * delta[:, None] - (n - 1) * left
    center = pseudo.mean(1)
    return delta, center, ((pseudo - center[:, None]) ** 2).sum(1)


def item_population(sweep_dir, comparisons, metric: str = "chrf++") -> list[tuple[np.ndarray, np.ndarray]]:
    """Per-item sufficient statistics of every (baseline, system) run pair a sweep's comparisons find, in the
    order of their items: the population `simulate_items` resamples."""
    from icl.analysis.gains import find_pairs
    from icl.analysis.results import read_jsonl
    from icl.metrics.mt_stats import sentence_stats

    out = []
    for _, _, base, run in find_pairs(sweep_dir, comparisons):
        a, b = read_jsonl(base / "predictions.jsonl"), read_jsonl(run / "predictions.jsonl")
        n = min(len(a), len(b))
        refs = [r["reference"] for r in a[:n]]
        out.append((sentence_stats(metric, [r["prediction"] or "" for r in a[:n]], refs).astype(np.float64),
                    sentence_stats(metric, [r["prediction"] or "" for r in b[:n]], refs).astype(np.float64)))
    return out
