"""Running a sequential sweep in looks: answer each run's next share of items, write it, test every open
comparison, and give more items only to runs that still serve an open one.

Items are added in the data's fixed order (a run's first n_k items at look k; icl.sweep.design.schedule), every
answer goes through the completion cache as in a fixed sweep, and the decisions are recomputed from the result
files at every look (icl.analysis.seqgains, the same code `icl gains` runs), so an interrupted sweep resumed, or a
finished one re-run, makes the same decisions from the cache. A run that serves no comparison gets the first
look's items: no question asks for more. `sequential.json` records what each look did.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from icl.analysis.results import write_json
from icl.metrics.base import RESAMPLES
from icl.run.answer import Answerer, LazyEngine, Listener
from icl.run.items import RunItems
from icl.run.requests import Request, engine_identity, item_requests
from icl.spec import ModelSpec, RunSpec
from icl.sweep.design import Design, design_to_json, schedule
from icl.sweep.load import Sweep


@dataclass(frozen=True)
class LookRecord:
    """What one look did: items each active run had after it, and the rows still asking for more."""

    look: int
    items: Mapping[str, int]
    """run_id -> items answered (runs that got items at this look)."""
    open_rows: int
    decided: Mapping[str, int]
    """decision -> rows, over the whole study so far."""
    continuing: tuple[str, ...]
    """Runs that get the next look's items."""

    def to_json(self) -> dict[str, Any]:
        return {"look": self.look, "items": dict(self.items), "open_rows": self.open_rows,
                "decided": dict(self.decided), "continuing": list(self.continuing)}


def run_looks(sweep: Sweep, runs: Sequence[RunSpec], built: Mapping[RunSpec, RunItems],
              answerers: Mapping[ModelSpec, Answerer], engines: Mapping[ModelSpec, LazyEngine], sweep_dir: Path,
              fresh: bool, listener: Listener, write: Callable[..., None]) -> list[LookRecord]:
    """Answer and write the runs look by look until no comparison is open or the last look is done."""
    design = sweep.design
    assert design is not None
    plans = {spec: schedule(len(built[spec].items), design.looks) for spec in runs}
    done = {spec: 0 for spec in runs}
    results: dict[str, Any] = {}
    made_by: dict[str, str | None] = {}
    keys: dict[RunSpec, list[tuple[str, ...]]] = {spec: [] for spec in runs}
    active = list(runs)
    records: list[LookRecord] = []
    models = list(dict.fromkeys(spec.model for spec in runs))
    for look in range(1, design.looks + 1):
        for model in models:
            mine = [spec for spec in active if spec.model == model]
            requests = _next_requests(mine, built, plans, done, keys, look)
            answers = answerers[model].answer(requests, model.name, listener, fresh=fresh)
            results.update(answers.results)
            made_by.update(answers.made_by)
            for spec in mine:
                done[spec] = _target(plans[spec], look)
                items = replace(built[spec], items=built[spec].items[:done[spec]])
                write(sweep_dir / spec.run_id, spec, items, engine_identity(spec.model), results,
                      keys[spec][:done[spec]], made_by)
            if len(models) > 1:  # one model in memory at a time, as a fixed sweep
                engines[model].close()
        asking, open_rows, decided = _still_asking(sweep, sweep_dir, design, look)
        active = [spec for spec in active if spec.run_id in asking and _target(plans[spec], look + 1) > done[spec]]
        records.append(LookRecord(look, {s.run_id: done[s] for s in runs if done[s]}, open_rows, decided,
                                  tuple(s.run_id for s in active)))
        write_json(sweep_dir / "sequential.json", {"design": design_to_json(design),
                                                   "looks": [r.to_json() for r in records]})
        if not active:
            break
    return records


def _target(plan: Sequence[int], look: int) -> int:
    """Items a run has after `look` (its last planned number past its last look)."""
    return plan[min(look, len(plan)) - 1] if plan else 0


def _next_requests(specs: Sequence[RunSpec], built: Mapping[RunSpec, RunItems], plans: Mapping[RunSpec, Sequence[int]],
                   done: Mapping[RunSpec, int], keys: dict[RunSpec, list[tuple[str, ...]]], look: int) -> list[Request]:
    """The requests of the items each run gets at this look (those after the ones it has)."""
    requests: list[Request] = []
    for spec in specs:
        identity = engine_identity(spec.model)
        for item in built[spec].items[done[spec]:_target(plans[spec], look)]:
            asked = item_requests(spec, item, identity)
            keys[spec].append(tuple(r.key for r in asked))
            requests += asked
    return requests


def _still_asking(sweep: Sweep, sweep_dir: Path, design: Design, look: int) -> tuple[set[str], int, dict[str, int]]:
    """Run ids that serve an open row which asks for items, the open rows, and the decisions so far."""
    from icl.analysis.gains import find_pairs
    from icl.analysis.seqgains import study_paths
    from icl.analysis.sequential import OPEN, decide, still_asking

    pairs = find_pairs(sweep_dir, sweep.gains)
    paths, sources = study_paths(pairs, design, RESAMPLES)
    decisions = decide(paths, design, look)
    asking = set(still_asking(paths, decisions, design, look))
    runs = {name for path, (_, _, base, run, _) in zip(paths, sources, strict=True) if path.key in asking
            for name in (base.name, run.name)}
    counts: dict[str, int] = {}
    for d in decisions:
        counts[d.decision] = counts.get(d.decision, 0) + 1
    return runs, counts.get(OPEN, 0), counts
