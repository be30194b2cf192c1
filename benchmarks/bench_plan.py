"""The exact plan of a study, timed: `icl plan SWEEP --rebuild` (every prompt built again, derived data warm).

    .venv/bin/python benchmarks/bench_plan.py [experiments/lowres_gains.yaml] [--repeats 5] [--baseline DIR]

Each run is a fresh process (as a user would type it) in a private cache folder: a snapshot of the
completion cache (so the estimate cannot move while another sweep writes to the real one), the converted
models, and its own derived-data folder (icl.derived), which starts empty. Prints the cold time (first
run: every derived value computed, synthetic sets built), then the median of `--repeats` warm runs of
`--rebuild`, and of the plain `icl plan` (prompts remembered by the plan memo); and whether every run
printed the same plan (the lines but "planned in"). `--baseline DIR` times another checkout of icl the
same way on the same snapshot (each with its own empty derived data), prints the ratio of the warm medians
and whether both print the same plan. Target (issue 33): warm --rebuild under 5 s here. Run it alone: it
is CPU-bound.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def _snapshot(cache: Path) -> None:
    """The user's completion cache copied through sqlite's backup (consistent while another process writes)."""
    from icl.config import cache_dir, data_dir, models_dir

    cache.mkdir(parents=True)
    source = cache_dir() / "completions.sqlite"
    if source.is_file():
        with sqlite3.connect(source) as src, sqlite3.connect(cache / "completions.sqlite") as dst:
            src.backup(dst)
    os.environ["ICL_MODELS_DIR"] = str(models_dir())  # read where they are, never copied
    os.environ["ICL_DATA_DIR"] = str(data_dir())  # the same data whichever checkout is timed


def _plan(sweep: Path, code: Path, rebuild: bool) -> tuple[float, str]:
    env = dict(os.environ, PYTHONPATH=str(code))
    argv = [sys.executable, "-m", "icl.cli.main", "plan", str(sweep), *(["--rebuild"] if rebuild else [])]
    start = time.perf_counter()
    proc = subprocess.run(argv, capture_output=True, text=True, check=False, env=env, cwd=code)
    wall = time.perf_counter() - start
    if proc.returncode != 0:
        sys.exit(f"icl plan failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
    return wall, "\n".join(line for line in proc.stdout.splitlines() if not line.startswith("planned in"))


def _time(sweep: Path, code: Path, derived: Path, repeats: int) -> dict[str, object]:
    """Cold, warm --rebuild and memo runs of one checkout, in its own derived-data folder."""
    os.environ["ICL_DERIVED_DIR"] = str(derived)
    shutil.rmtree(os.environ["ICL_CACHE_DIR"] + "/plans", ignore_errors=True)  # each checkout's memo its own
    cold, first = _plan(sweep, code, rebuild=True)
    warm = [_plan(sweep, code, rebuild=True) for _ in range(repeats)]
    memo = [_plan(sweep, code, rebuild=False) for _ in range(repeats)]
    return {"cold": cold, "warm": [w for w, _ in warm], "memo": [w for w, _ in memo], "plan": first,
            "same": all(out == first for _, out in warm + memo)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("sweep", nargs="?", type=Path, default=REPO / "experiments" / "lowres_gains.yaml")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--baseline", type=Path, help="another checkout of icl (e.g. an older commit unpacked with "
                        "`git archive`), timed the same way on the same snapshot, its plan compared with this one's")
    args = parser.parse_args()
    sweep = args.sweep.resolve()
    codes = {"baseline": args.baseline.resolve()} if args.baseline else {}
    codes["this checkout"] = REPO
    folder = Path(tempfile.mkdtemp(prefix="icl-bench-plan-"))
    try:
        _snapshot(folder / "cache")
        os.environ["ICL_CACHE_DIR"] = str(folder / "cache")
        timed = {name: _time(sweep, code, folder / f"derived-{i}", args.repeats)
                 for i, (name, code) in enumerate(codes.items())}
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    med = statistics.median
    print(f"icl plan {args.sweep.name}, fresh processes, one completion-cache snapshot:")
    for name, t in timed.items():
        print(f"  {name} ({codes[name]}):")
        print(f"    cold --rebuild (empty derived data): {t['cold']:.2f} s")
        print(f"    warm --rebuild: median {med(t['warm']):.2f} s of {args.repeats} "  # type: ignore[arg-type]
              f"{[round(w, 2) for w in t['warm']]}   (target < 5 s)")  # type: ignore[attr-defined]
        print(f"    warm, plan memo: median {med(t['memo']):.2f} s of {args.repeats} "  # type: ignore[arg-type]
              f"{[round(w, 2) for w in t['memo']]}")  # type: ignore[attr-defined]
        print(f"    every run printed the same plan: {'yes' if t['same'] else 'NO'}")
    same = all(t["same"] for t in timed.values())
    if args.baseline:
        base, this = timed["baseline"], timed["this checkout"]
        print(f"  warm --rebuild, baseline / this: {med(base['warm']) / med(this['warm']):.2f}x; "  # type: ignore[arg-type]
              f"the two print the same plan: {'yes' if base['plan'] == this['plan'] else 'NO'}")
        same = same and base["plan"] == this["plan"]
    if not same:
        sys.exit(1)


if __name__ == "__main__":
    main()
