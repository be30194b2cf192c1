"""The rows of a sequential study: each comparison row followed over its looks (icl.analysis.looks), decided by
its family's procedure (icl.analysis.sequential), and reported at the look it stopped with its repeated
confidence interval, repeated p-value and the effect it could detect at the design's maximum."""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from icl.analysis.boundaries import boundaries, repeated_p
from icl.analysis.gains import Gain, Study, assemble, compute_study, find_pairs, row_fields
from icl.analysis.looks import PairLooks, pair_looks, row_path
from icl.analysis.power import mde_bootstrap, mde_mcnemar
from icl.analysis.sequential import Decision, RowPath, decide, family_key
from icl.metrics import PairedResult
from icl.metrics.base import RESAMPLES
from icl.sweep.comparisons import Comparison
from icl.sweep.design import Design, design_to_json


def any_study(sweep_dir: Path, comparisons: Sequence[Comparison], design: Design | None,
              resamples: int = RESAMPLES) -> Study:
    """The sweep's study: fixed (icl.analysis.gains) or, with a design, sequential (this module)."""
    if design is None:
        return compute_study(sweep_dir, comparisons, resamples)
    rows, draws = sequential_rows(find_pairs(sweep_dir, comparisons), design, resamples)
    return assemble(rows, draws, design_to_json(design))


def study_paths(pairs: Sequence[tuple[Any, dict[str, Any], Path, Path]], design: Design,
                resamples: int) -> tuple[list[RowPath], list[tuple[Any, dict[str, Any], Path, Path, PairLooks]]]:
    """One RowPath per (run pair, metric), and what each came from."""
    paths, sources = [], []
    for idx, (comp, flat, base, run) in enumerate(pairs):
        looks = pair_looks(base, run, design, resamples)
        if not looks.results:
            continue
        for res in looks.results[0]:
            paths.append(row_path((idx, res.metric), comp.family or "default", looks, res.metric))
            sources.append((comp, flat, base, run, looks))
    return paths, sources


def sequential_rows(pairs: Sequence[tuple[Any, dict[str, Any], Path, Path]], design: Design, resamples: int) -> tuple[list[Gain], list[Any]]:
    """The study's rows (in `pairs` order) and their item-level bootstrap draws at the look each stopped."""
    paths, sources = study_paths(pairs, design, resamples)
    decisions = decide(paths, design)
    sizes: dict[tuple[str, str], int] = {}
    for path in paths:
        sizes[family_key(path)] = sizes.get(family_key(path), 0) + 1
    rows, draws = [], []
    for path, decision, (comp, flat, base, run, looks) in zip(paths, decisions, sources, strict=True):
        res = next(r for r in looks.results[decision.look - 1] if r.metric == path.metric)
        m = sizes[family_key(path)]
        rows.append(_gain(row_fields(comp, flat, base, run, res), res, path, decision, design, looks, m))
        draws.append(res.draws)
    return rows, draws


def _gain(fields: dict[str, Any], res: PairedResult, path: RowPath, decision: Decision, design: Design,
          looks: PairLooks, m: int) -> Gain:
    p_rep = repeated_p(decision.z, path.fractions, decision.look, design.spending)
    up = decision.z > 0
    fields.update(ci_low=round(decision.rci_low, 4), ci_high=round(decision.rci_high, 4), p_value=p_rep,
                  p_greater=p_rep / 2 if up else 1 - p_rep / 2, p_less=1 - p_rep / 2 if up else p_rep / 2,
                  method=f"{res.method}; {design.looks} looks ({design.spending} spending), 95% repeated "
                         "confidence interval and repeated p-value at the look it stopped")
    return Gain(**fields, family_size=m, p_holm=None, q_bh=None, mde=_mde_at_max(res, path, design, looks, m),
                decision=decision.decision, look=decision.look, looks=len(looks.plan), z=round(decision.z, 4),
                boundary=round(decision.boundary, 4), alpha_share=decision.alpha,
                family_low=round(decision.family_low, 4), family_high=round(decision.family_high, 4),
                fixed_items=looks.max_items)


def _mde_at_max(res: PairedResult, path: RowPath, design: Design, looks: PairLooks, m: int) -> float | None:
    """The smallest gain the row detects with 80% power by its last look at the family's first level (alpha/m),
    with the standard error it had scaled to the maximum (MT), or the discordant share it had (accuracy)."""
    last = boundaries(design.alpha / m, path.fractions, design.spending)[-1]
    from scipy.stats import norm

    alpha_eff = float(2 * norm.sf(last))
    top = looks.max_items
    if res.discordant is not None:
        return mde_mcnemar(top, res.discordant, alpha_eff)
    if res.se is None or not math.isfinite(res.se):
        return None
    return mde_bootstrap(res.se * math.sqrt(res.n / top), alpha_eff)
