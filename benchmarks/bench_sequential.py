"""Sequential designs by simulation, at sizes the test suite cannot afford: family-wise error under the null
(normal looks, and real outputs resampled), power at the fixed design's MDE, and the items each design uses.

    .venv/bin/python benchmarks/bench_sequential.py [--families 16000] [--gains results/lowres_gains/gains.json]

Prints, for 4 looks with Lan-DeMets O'Brien-Fleming spending and alpha 0.05 per family:
1. the family-wise error of null families: 18 normal rows (lowres_gains' chrF++ family size); the quickstart's six
   real MT pairs (chrF++) and three real intent pairs (accuracy) resampled with each item's two outputs swapped,
   down to 10-item looks; with the Monte Carlo standard error;
2. power at the fixed design's MDE (alpha/18, 80%) and the expected items over the fixed design's, for the smallest
   maximum (a multiple of the fixed design's items) whose power is at least the fixed design's 80%;
3. the same design on a study's rows as truths (their gains and standard errors, e.g. the flagship's gains.json):
   the items used over the fixed design's, per row and in all.
Every ratio is measured in one run; nothing here is timed.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path

import numpy as np
from scipy.stats import norm

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from icl.analysis.simulate import simulate_items, simulate_normal, simulate_paired  # noqa: E402
from icl.metrics.mt_stats import scores_from_stats  # noqa: E402
from icl.sweep.design import Design  # noqa: E402

DESIGN = Design(4, "obf", 0.05, (("accuracy", 8.0), ("chrf++", 3.0)))
POWER = 0.8


def _se(rate: float, n: int) -> float:
    return math.sqrt(max(rate * (1 - rate), 1e-12) / n)


def errors(families: int) -> None:
    data = np.load(ROOT / "tests" / "data" / "quickstart_items.npz")
    mt = [(data[f"chrf_b{i}"].astype(float), data[f"chrf_s{i}"].astype(float)) for i in range(6)]
    acc = [(data[f"acc_b{i}"], data[f"acc_s{i}"]) for i in range(3)]
    print("1. family-wise error of null families (alpha 0.05; Monte Carlo standard error in brackets)")
    started = time.perf_counter()
    r = simulate_normal([0.0] * 18, [1.0] * 18, DESIGN, 120, families=families, seed=1)
    print(f"   18 normal rows, 120 items max:        FWER {r.fwer:.4f} ({_se(r.fwer, families):.4f}), "
          f"95% repeated CI coverage {r.coverage:.4f}")
    for top in (40, 120):
        r = simulate_items(mt, lambda s: scores_from_stats("chrf++", s), DESIGN, top, families=families, seed=top)
        print(f"   6 real MT pairs, {top:3d} items max (first look {math.ceil(top / 4)}): FWER {r.fwer:.4f} "
              f"({_se(r.fwer, families):.4f}), coverage {r.coverage:.4f}")
    half = families // 2
    for top in (40, 200):
        r = simulate_paired(acc, DESIGN, top, families=half, seed=top)
        print(f"   3 real intent pairs, {top:3d} items max (first look {math.ceil(top / 4)}): FWER {r.fwer:.4f} "
              f"({_se(r.fwer, half):.4f}), coverage {r.coverage:.4f}")
    print(f"   ({time.perf_counter() - started:.0f} s)")


def power(families: int, m: int = 18, fixed: int = 100) -> float:
    """The smallest maximum (over the fixed design's items) with power >= 80% at the fixed MDE; prints it."""
    se_fixed = 1.0
    mde = (norm.isf(0.05 / m / 2) + norm.ppf(POWER)) * se_fixed
    print(f"2. power at the fixed design's MDE ({mde:.2f} standard errors: alpha 0.05/{m}, 80%), 6 rows at the MDE "
          f"and {m - 6} null in a family of {m}")
    chosen = None
    for inflation in (1.0, 1.05, 1.1, 1.15, 1.2, 1.3):
        top = round(fixed * inflation)
        r = simulate_normal([mde] * 6 + [0.0] * (m - 6), [se_fixed * math.sqrt(fixed / top)] * m, DESIGN, top,
                            families=families // 4, seed=int(100 * inflation))
        rows_power = float(np.mean(r.power[:6]))
        items = float(np.mean(r.items[:6])) * inflation
        null_items = float(np.mean(r.items[6:])) * inflation
        print(f"   maximum {inflation:.2f} x fixed: power {rows_power:.3f}, items at the MDE {items:.2f} x fixed, "
              f"null rows {null_items:.2f} x fixed, FWER {r.fwer:.4f}")
        if chosen is None and rows_power >= POWER:
            chosen = inflation
    print(f"   smallest maximum with power >= {POWER:.0%}: {chosen} x the fixed design's items")
    return chosen or 1.3


def realistic(gains: Path, inflation: float, families: int) -> None:
    """The design on a study's own rows as truths, beside the fixed design that gives each run `fixed` items."""
    body = json.loads(gains.read_text(encoding="utf-8"))
    shown = gains.relative_to(ROOT) if gains.is_relative_to(ROOT) else gains
    print(f"3. on {shown}'s rows as truths (gain and standard error scaled from each row's items); fixed design: "
          "the items at which each row's family-level MDE would be 3 chrF++ / 8 points")
    for metric, d in (("chrf++", 3.0), ("accuracy", 8.0)):
        rows = [r for r in body["rows"] if r["metric"] == metric and not r["family"].endswith("per draw")]
        for family in sorted({r["family"] for r in rows}):
            members = [r for r in rows if r["family"] == family]
            m = len(members)
            z = norm.isf(0.05 / m / 2) + norm.ppf(POWER)
            sds = [_sd(r) for r in members]
            fixed = [max(2, math.ceil((z * sd / d) ** 2)) for sd in sds]
            top = max(4, round(inflation * float(np.median(fixed))))
            r = simulate_normal([x["delta"] for x in members], [sd / math.sqrt(top) for sd in sds], DESIGN, top,
                                metric=metric, families=families // 4, seed=7)
            used = float(np.sum(np.array(r.items) * top))
            print(f"   {family} ({m} rows): fixed design {int(np.median(fixed))} items a row (median), sequential "
                  f"maximum {top}: expected {used / m:.0f} a row = {used / (m * np.median(fixed)):.0%} of the fixed "
                  f"design's; effect {np.mean([p for p in r.power]):.0%}, no effect {np.mean(r.equivalent):.0%} of rows")


def _sd(row: dict) -> float:
    """A row's per-item standard deviation of the gain (its standard error times sqrt(items))."""
    if row.get("discordant") is not None:
        return 100.0 * math.sqrt(max(row["discordant"] - (row["delta"] / 100.0) ** 2, 1e-6))
    return row["se"] * math.sqrt(row["n"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--families", type=int, default=16000)
    parser.add_argument("--gains", type=Path, default=ROOT / "results" / "lowres_gains" / "gains.json")
    args = parser.parse_args()
    errors(args.families)
    inflation = power(args.families)
    if args.gains.is_file():
        realistic(args.gains, inflation, args.families)


if __name__ == "__main__":
    main()
