"""A sweep's `sequential:` section: a group-sequential design for its `gains:` comparisons.

    sequential:
      looks: 4                          # interim analyses at equal shares of each task's `limit` (the maximum)
      spending: obf                     # obf (Lan-DeMets O'Brien-Fleming type, default) | pocock
      alpha: 0.05                       # each family's level (Holm's, passed on as rows are rejected)
      effects: {chrf++: 3, accuracy: 8} # smallest effect of interest per metric: a row whose interval lies
                                        # inside (-d, d) is decided ("no effect larger than d")
      families: [lexicon]               # optional: the families whose open rows keep their runs going

Parsed with the sweep so that a typo fails before anything runs; used by the runner (which items to answer at
each look) and by icl.analysis.sequential (the decisions). Depends on nothing else in icl but its checks.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from icl.errors import ConfigError
from icl.sweep.validate import check_keys, check_scalar

SPENDING_NAMES = ("obf", "pocock")
"""Spending functions a design may name (icl.analysis.boundaries.SPENDING holds them)."""
_KEYS = {"looks", "spending", "alpha", "effects", "families"}
MAX_LOOKS = 20


@dataclass(frozen=True)
class Design:
    """How a sequential study spends its items and its alpha."""

    looks: int = 4
    """Interim analyses, the last at each task's maximum (its `limit`), the others at equal shares of it."""
    spending: str = "obf"
    """Alpha-spending function: `obf` (Lan-DeMets O'Brien-Fleming type) or `pocock`."""
    alpha: float = 0.05
    """Family-wise level of every family."""
    effects: tuple[tuple[str, float], ...] = ()
    """(metric, smallest effect of interest): rows of these metrics stop when their interval lies inside (-d, d)
    and are the rows that keep runs going; rows of other metrics are tested at the looks their runs reach."""
    families: tuple[str, ...] = ()
    """Families (the comparison's `family`, without the metric) whose open rows keep their runs going; empty:
    every family."""

    def effect(self, metric: str) -> float | None:
        """The smallest effect of interest of `metric`, None where the design names none."""
        return dict(self.effects).get(metric)

    def drives(self, family: str, metric: str) -> bool:
        """Whether an open row of this family (comparison family, without the metric) and metric asks for items."""
        return self.effect(metric) is not None and (not self.families or family in self.families)


def schedule(max_items: int, looks: int) -> tuple[int, ...]:
    """Items at each look: equal shares of the maximum, rounded up, without repeats (a maximum smaller than the
    number of looks gets fewer looks)."""
    if max_items <= 0:
        return ()
    return tuple(sorted({math.ceil(k * max_items / looks) for k in range(1, looks + 1)}))


def parse_design(raw: Any, path: Path, metrics: Sequence[str], families: Sequence[str], has_gains: bool) -> Design:
    """Check a `sequential:` section against the sweep's comparison families and the metrics its tasks compare."""
    where = "sequential"
    raw = check_keys(where, raw, _KEYS, path)
    if not has_gains:
        raise ConfigError(f"{path}: {where}: a sequential design needs comparisons to decide (a gains: section)")
    looks = check_scalar(f"{where}.looks", raw.get("looks", 4), int, path)
    if not 1 <= looks <= MAX_LOOKS:
        raise ConfigError(f"{path}: {where}.looks: expected 1 to {MAX_LOOKS} looks, got {looks}")
    spending = check_scalar(f"{where}.spending", raw.get("spending", "obf"), str, path)
    if spending not in SPENDING_NAMES:
        raise ConfigError(f"{path}: {where}.spending: unknown {spending!r} (known: {', '.join(SPENDING_NAMES)})")
    alpha = raw.get("alpha", 0.05)
    if not isinstance(alpha, (int, float)) or isinstance(alpha, bool) or not 0 < alpha < 0.5:
        raise ConfigError(f"{path}: {where}.alpha: expected a level between 0 and 0.5, got {alpha!r}")
    effects = _effects(raw.get("effects", {}), path, metrics)
    fams = raw.get("families", [])
    if not isinstance(fams, list) or not all(isinstance(f, str) for f in fams):
        raise ConfigError(f"{path}: {where}.families: expected a list of family names")
    for i, fam in enumerate(fams):
        if fam not in families:
            raise ConfigError(f"{path}: {where}.families[{i}]: {fam!r} is no comparison's family "
                              f"(known: {', '.join(sorted(families))})")
    return Design(looks, spending, float(alpha), effects, tuple(fams))


def _effects(raw: Any, path: Path, metrics: Sequence[str]) -> tuple[tuple[str, float], ...]:
    where = "sequential.effects"
    if not isinstance(raw, Mapping) or not raw:
        raise ConfigError(f"{path}: {where}: expected a mapping of metric to its smallest effect of interest, "
                          "e.g. {chrf++: 3, accuracy: 8}")
    out = []
    for metric, size in raw.items():
        if metric not in metrics:
            raise ConfigError(f"{path}: {where}.{metric}: not a metric these comparisons test "
                              f"(known: {', '.join(metrics)})")
        if not isinstance(size, (int, float)) or isinstance(size, bool) or not size > 0:
            raise ConfigError(f"{path}: {where}.{metric}: expected a positive number of points, got {size!r}")
        out.append((str(metric), float(size)))
    return tuple(sorted(out))


def design_to_json(design: Design) -> dict[str, Any]:
    return {"looks": design.looks, "spending": design.spending, "alpha": design.alpha,
            "effects": dict(design.effects), "families": list(design.families)}
