"""A comparison over several demo draws or templates: one row for the method, with an interval over both.

A sweep with `seeds: [0, 1, 2]` (or several templates the comparison's filters do not name) gives each pair of
runs its own row, and a gain that holds for one lucky set of demos would read as a property of the method. Rows
that differ only in their seed or template are pooled into one: the mean gain over the draws, with a two-level
bootstrap (draws resampled, then one item-level bootstrap gain of each drawn draw) whose percentile interval and
p-value come from the same resampled means, so the interval covers the spread between draws as well as between
items. The pooled row is what its family corrects; the per-draw rows stay in the table, in a family of their own
(`<family>/per draw`), and out of the class means and replicability counts.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

DRAW_FIELDS = ("seed", "template")
"""Run fields whose values are draws of the same condition, not conditions."""
PER_DRAW = "/per draw"


def pool_draws(raw: Sequence[tuple[dict[str, Any], Any, Mapping[str, Any]]], resamples: int = 10_000,
               seed: int = 12345) -> list[tuple[dict[str, Any], Any]]:
    """(row fields, item-level draws) of every row, with a pooled row added for each group of two or more rows
    that differ only in DRAW_FIELDS (`raw` holds each row's fields, draws and its system run's fields)."""
    groups: dict[tuple, list[int]] = {}
    for i, (fields, _, flat) in enumerate(raw):
        key = (fields["comparison"], fields["metric"],
               tuple(sorted((k, repr(v)) for k, v in flat.items() if k not in DRAW_FIELDS)))
        groups.setdefault(key, []).append(i)
    out: list[tuple[dict[str, Any], Any]] = [(dict(fields), d) for fields, d, _ in raw]
    for members in groups.values():
        if len(members) < 2 or any(raw[i][1] is None for i in members):
            continue
        for i in members:
            out[i][0]["family"] = raw[i][0]["family"] + PER_DRAW
        out.append(_pooled([raw[i] for i in members], resamples, seed))
    return out


def _pooled(rows: Sequence[tuple[dict[str, Any], Any, Mapping[str, Any]]], resamples: int,
            seed: int) -> tuple[dict[str, Any], Any]:
    first = rows[0][0]
    deltas = np.array([f["delta"] for f, _, _ in rows])
    means = two_level_means([d for _, d, _ in rows], resamples, seed)
    k = max(1, int(np.floor(0.025 * (resamples + 1))))
    ordered = np.sort(means)
    p_greater = (int(np.sum(means <= 0)) + 1) / (resamples + 1)
    p_less = (int(np.sum(means >= 0)) + 1) / (resamples + 1)
    observed = float(deltas.mean())
    seeds = sorted({flat["seed"] for _, _, flat in rows})
    templates = sorted({f["template"] for f, _, _ in rows})
    fields = {**first, "template": "+".join(templates), "delta": round(observed, 4),
              "baseline": round(float(np.mean([f["baseline"] for f, _, _ in rows])), 4),
              "system": round(float(np.mean([f["system"] for f, _, _ in rows])), 4),
              "ci_low": round(float(ordered[k - 1]), 4), "ci_high": round(float(ordered[resamples - k]), 4),
              "p_value": 1.0 if observed == 0 else min(1.0, 2 * min(p_greater, p_less)),
              "p_greater": p_greater, "p_less": p_less, "se": float(np.std(means, ddof=1)),
              "n": min(f["n"] for f, _, _ in rows), "discordant": None,
              "baseline_run": " ".join(f["baseline_run"] for f, _, _ in rows),
              "system_run": " ".join(f["system_run"] for f, _, _ in rows),
              "method": f"mean over {len(rows)} draws (seeds {', '.join(map(str, seeds))}; templates "
                        f"{', '.join(templates)}): two-level bootstrap, draws then items ({resamples} resamples)"}
    return fields, means


def two_level_means(draws: Sequence[np.ndarray], resamples: int = 10_000, seed: int = 12345) -> np.ndarray:
    """Resampled means over draws: draws resampled with replacement, then one item-level bootstrap gain of each."""
    rng = np.random.default_rng(seed)
    shortest = min(len(d) for d in draws)
    table = np.stack([np.asarray(d, dtype=np.float64)[:shortest] for d in draws])
    picks = rng.integers(0, len(draws), size=(resamples, len(draws)))
    cols = rng.integers(0, shortest, size=(resamples, len(draws)))
    return table[picks, cols].mean(axis=1)
