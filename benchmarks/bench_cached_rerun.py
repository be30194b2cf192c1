"""The two fast paths: a finished sweep run again (every answer from the completion cache, no model
loaded), and `icl plan --quick` of a study.

    .venv/bin/python benchmarks/bench_cached_rerun.py [experiments/quickstart.yaml] [--repeats 5]
        [--plan experiments/lowres_gains.yaml]

Runs `icl run SWEEP` in fresh processes (as a user would), checks that each made 0 engine calls, and
prints the median wall time with the phases from the timings.json the runs write; then the median wall
time of `icl plan PLAN --quick`, also in fresh processes. Run the sweep once first (README command 1
runs the quickstart); the first of the repeats may fill icl's derived-data cache (icl.derived) after a
code change. Target (issues 9, 27): each under 3 s here.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from icl.sweep.load import load_sweep

REPO = Path(__file__).resolve().parent.parent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("sweep", nargs="?", type=Path, default=REPO / "experiments" / "quickstart.yaml")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--plan", type=Path, default=REPO / "experiments" / "lowres_gains.yaml",
                        help="sweep timed with `icl plan --quick`")
    args = parser.parse_args()
    name = load_sweep(args.sweep).name
    results = Path(tempfile.mkdtemp(prefix="icl-rerun-"))  # the user's results/ stay as they are
    walls: list[float] = []
    phases: list[dict[str, float]] = []
    for _ in range(args.repeats):
        start = time.perf_counter()
        proc = subprocess.run([sys.executable, "-m", "icl.cli", "run", str(args.sweep), "--results", str(results)],
                              capture_output=True, text=True, check=False)
        walls.append(time.perf_counter() - start)
        if proc.returncode != 0:
            sys.exit(f"icl run failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
        if "engine calls 0" not in proc.stderr:
            sys.exit(f"not a cached re-run (run {args.sweep} once first):\n{proc.stderr[-1500:]}")
        timings = json.loads((results / name / "timings.json").read_text(encoding="utf-8"))
        run_phases = dict(timings["phases"])
        run_phases["table, exit"] = walls[-1] - (timings["process_seconds"] or sum(run_phases.values()))
        phases.append(run_phases)
    med = statistics.median
    print(f"cached re-run of {args.sweep.name}: median {med(walls):.2f} s over {args.repeats} fresh processes "
          f"{[round(w, 2) for w in walls]}, 0 engine calls each   (target < 3 s)")
    for phase in dict.fromkeys(p for run in phases for p in run):
        print(f"  {phase:<18} {med([run.get(phase, 0.0) for run in phases]):5.2f} s")
    plans = [_plan_quick(args.plan) for _ in range(args.repeats)]
    print(f"icl plan {args.plan.name} --quick: median {med(plans):.2f} s over {args.repeats} fresh processes "
          f"{[round(w, 2) for w in plans]}   (target < 3 s)")


def _plan_quick(sweep: Path) -> float:
    """Wall seconds of one `icl plan SWEEP --quick` in a fresh process."""
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "icl.cli", "plan", str(sweep), "--quick"],
                          capture_output=True, text=True, check=False)
    wall = time.perf_counter() - start
    if proc.returncode != 0:
        sys.exit(f"icl plan --quick failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
    return wall


if __name__ == "__main__":
    main()
