"""The one way into a sweep, for `icl run` and for a notebook's `icl.run(...)`: check it (a sweep file, or
a dict with a file's keys) through icl.sweep.load, refuse a runaway count, run it (icl.run.runner), and log
it to a tracker where asked. The CLI prints the report; `run` returns the results as tables."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml
from rich.console import Console

from icl.analysis.track import TRACKERS, check_tracker
from icl.config import results_dir
from icl.engines import Engine
from icl.run.runner import SweepReport, run_sweep
from icl.run.timings import Phases
from icl.spec import ModelSpec
from icl.sweep.count import refuse_over_limit
from icl.sweep.load import Grid, grid_from_dict, load_grid

if TYPE_CHECKING:
    from icl.analysis.frames import Results


def _grid(source: str | Path | Mapping[str, Any]) -> Grid:
    return grid_from_dict(source) if isinstance(source, Mapping) else load_grid(Path(source))


def start_sweep(source: str | Path | Mapping[str, Any], results: Path | None = None, *, fresh: bool = False,
                yes: bool = False, chunk_size: int = 0, console: Console | None = None, phases: Phases | None = None,
                verbose: bool = False, engine_factory: Callable[[ModelSpec], Engine] | None = None,
                cache_path: Path | None = None, track: str | None = None,
                track_uri: str | None = None) -> SweepReport:
    """Check and run a sweep into `results`/<name> (default $ICL_RESULTS_DIR or ./results), as `icl run` does.

    A dict is checked as a file would be (messages name `<dict>` for the file) and written beside the results
    as sweep.yaml, as a file is copied there, so `icl gains` and `icl report` read it back. `track` logs the
    finished sweep (icl.analysis.track); it is checked before anything runs.
    """
    console = console or Console(stderr=True)
    phases = phases or Phases()
    if track is not None:
        check_tracker(track, track_uri)
    with phases.phase("sweep load"):
        grid = _grid(source)
        if not yes:  # counted from the lists: a 900,000-run typo is refused before any run is built
            refuse_over_limit(grid.path, sum(grid.counts().values()))
        sweep = grid.expand()
    console.print(f"sweep {sweep.name}: {len(sweep.runs)} runs", highlight=False, markup=False)
    root = results or results_dir()
    if isinstance(source, Mapping):
        (root / sweep.name).mkdir(parents=True, exist_ok=True)
        (root / sweep.name / "sweep.yaml").write_text(yaml.safe_dump(dict(source), sort_keys=False,
                                                                     allow_unicode=True), encoding="utf-8")
    report = run_sweep(sweep, root, fresh=fresh, console=console, chunk_size=chunk_size, cache_path=cache_path,
                       engine_factory=engine_factory, phases=phases, verbose=verbose)
    if track is not None:
        report.tracked = TRACKERS[track](report.sweep_dir, track_uri)
    return report


def run(sweep: str | Path | Mapping[str, Any], results: str | Path | None = None, *, fresh: bool = False,
        yes: bool = False, track: str | None = None, track_uri: str | None = None,
        engine_factory: Callable[[ModelSpec], Engine] | None = None, console: Console | None = None) -> Results:
    """Run a sweep (a YAML path, or a dict with a sweep file's keys and a `name`) exactly as `icl run` does,
    and return its results as tables: `icl.run("experiments/quickstart.yaml").runs`.

    `results`: the results root (default $ICL_RESULTS_DIR or ./results); `fresh`: ignore the completion cache;
    `yes`: run more than 10,000 runs; `track`: "mlflow" to log the sweep there (`track_uri`, else
    $MLFLOW_TRACKING_URI, else sqlite:///mlflow.db in the working directory); `engine_factory`: engines for
    tests (model spec -> engine).
    """
    from icl.analysis.frames import Results  # pandas: only for a caller that wants tables

    report = start_sweep(sweep, Path(results) if results is not None else None, fresh=fresh, yes=yes,
                         console=console, engine_factory=engine_factory, track=track, track_uri=track_uri)
    if report.tracked:
        (console or Console(stderr=True)).print(f"tracked: {report.tracked}", highlight=False, markup=False)
    return Results(report.sweep_dir)
