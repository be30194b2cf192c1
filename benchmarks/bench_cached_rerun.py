"""A finished sweep run again: every answer comes from the completion cache, no model is loaded.

    .venv/bin/python benchmarks/bench_cached_rerun.py [experiments/quickstart.yaml] [--repeats 5]

Runs `icl run SWEEP` in fresh processes (as a user would), checks that each made 0 engine calls, and
prints the median wall time with the phases from the timings.json the runs write. Run the sweep once
first (README command 1 runs the quickstart). Target (issue 9): the cached quickstart under 3 s here.
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


if __name__ == "__main__":
    main()
