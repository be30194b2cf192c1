"""`icl plan --power`'s tables: the items each comparison needs to detect an effect, and a sequential design's
most and expected items beside the fixed design's, from a pilot."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rich.table import Table

from icl.cli.common import out, shown_path


def _print_sequential_power(sweep: Any, pilot_dir: Path, rates: dict[str, float | None]) -> None:
    """A sequential design's most and expected items and engine time, beside the fixed design of its maximum."""
    from icl.run.plan.power import pilot_rows
    from icl.run.plan.seqpower import maximum_items, sequential_power

    plan = sequential_power(sweep, pilot_rows(pilot_dir, sweep), sweep.design, maximum_items(sweep), rates)
    table_ = Table(title=f"{sweep.name}: the sequential design on the pilot ({plan.studies} simulated studies)",
                   title_justify="left")
    for col in ("comparison", "shots", "metric", "family", "rows", "most items", "expected items", "effect",
                "no effect", "open"):
        table_.add_column(col)
    for r in plan.rows:
        table_.add_row(r.comparison, str(r.shots), r.metric, r.family, str(r.rows), f"{r.most:,}", f"{r.expected:,.0f}",
                       f"{r.effect:.0%}", f"{r.no_effect:.0%}", f"{r.open:.0%}")
    out.print(table_)
    cost = ("" if plan.fixed_seconds is None or plan.expected_seconds is None else
            f"; engine time {duration(plan.expected_seconds)} expected against {duration(plan.fixed_seconds)}")
    out.print(f"all runs: {plan.expected_items:,.0f} items expected against {plan.fixed_items:,} for the fixed design "
              f"of the same maximum ({100 * plan.expected_items / max(plan.fixed_items, 1):.0f}%){cost}; rows "
              "simulated around the pilot's gains (effect / no effect / open: how often each row ends so)",
              highlight=False)


def print_power(sweep: Any, pilot: Path | None, effects: list[str]) -> None:
    from icl.config import results_dir
    from icl.run.plan.power import parse_effects, power_plan, seconds_per_item

    pilot_dir = pilot or results_dir() / sweep.name
    if sweep.design is not None:
        _print_sequential_power(sweep, pilot_dir, seconds_per_item(sweep))
    rows = power_plan(sweep, pilot_dir, parse_effects(effects), seconds_per_item(sweep))
    shown = pilot if pilot is not None else shown_path(pilot_dir)
    table_ = Table(title=f"{sweep.name}: items to detect each effect at 80% power (pilot {shown})",
                   title_justify="left")
    for col in ("comparison", "shots", "metric", "family (m)", "pairs", "items now", "MDE now", "effect",
                "items needed (median / all pairs)", "test set", "extra engine time"):
        table_.add_column(col)
    for r in rows:
        cost = "unknown" if r.seconds is None else duration(r.seconds)
        table_.add_row(r.comparison, str(r.shots), r.metric, f"{r.family} ({r.family_size})", str(r.pairs),
                       str(r.items_now), "-" if r.mde_now is None else f"{r.mde_now:.2f}", f"{r.effect:g}",
                       f"{r.items_median:,} / {r.items_max:,}", "?" if r.available is None else f"{r.available:,}",
                       cost)
    out.print(table_)
    out.print("MDE and items at alpha 0.05 / m (the first step of Holm's correction in the row's family); cost: the "
              "comparison's runs brought to the median need, at the recorded seconds per item", highlight=False)


def duration(seconds: float) -> str:
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 5400:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"
