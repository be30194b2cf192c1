"""Speed of a sweep against raw vLLM, few-shot against zero-shot, and a cached re-run.

Prints ratios measured side by side in one process on one warm vLLM engine (prefix cache reset before
every timed pass), medians over --repeats. Machines are noisy: read the ratios, not the seconds.

    .venv/bin/python benchmarks/bench_sweep.py [--items 50] [--repeats 3]

Targets (issue 4): sweep / raw vLLM <= 1.10; 5-shot / 0-shot <= 1.5; cached re-run: 0 model calls, < 5 s.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("VLLM_ENABLE_V1_MULTIPROCESSING", "0")
os.environ.setdefault("VLLM_CPU_KVCACHE_SPACE", "2")

from rich.console import Console

from icl.engines import GenParams
from icl.engines.vllm_engine import VllmEngine
from icl.run.items import build_items
from icl.run.runner import run_sweep
from icl.sweep.load import load_sweep

SWEEP = """
name: bench
models:
  - name: gemma-3-270m
    engine: vllm
mt:
  languages: [fra, swa]
  shots: [{shots}]
  templates: [plain]
  selectors: [shared]
  limit: {items}
  max_tokens: 64
"""


def _sweep(folder: Path, shots: str, items: int) -> Path:
    path = folder / f"bench-{shots.replace(', ', '-')}.yaml"
    path.write_text(SWEEP.format(shots=shots, items=items), encoding="utf-8")
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--items", type=int, default=50)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="icl-bench-"))
    quiet = Console(file=open(os.devnull, "w"))  # noqa: SIM115

    engine = VllmEngine("gemma-3-270m")
    both = load_sweep(_sweep(tmp, "0, 5", args.items))

    # The identical prompt list the sweep sends (same order and parameters).
    requests = []
    for spec in both.runs:
        for item in build_items(spec, both.datasets).items:
            requests.append((item.prompt, GenParams(max_tokens=spec.max_tokens, stop=item.stop, seed=spec.seed)))
    requests.sort(key=lambda r: r[0].as_key())
    by_params: dict[GenParams, list] = {}
    for prompt, params in requests:
        by_params.setdefault(params, []).append(prompt)

    def raw() -> float:
        engine.llm.reset_prefix_cache()
        start = time.perf_counter()
        for params, prompts in by_params.items():
            engine.generate(prompts, params)
        return time.perf_counter() - start

    def sweep(path: Path, label: str) -> float:
        engine.llm.reset_prefix_cache()
        start = time.perf_counter()
        run_sweep(load_sweep(path), tmp / f"results-{label}", fresh=True, console=quiet,
                  cache_path=tmp / f"cache-{label}-{time.time_ns()}.sqlite", engine_factory=lambda m: engine,
                  chunk_size=len(requests))
        return time.perf_counter() - start

    raw()  # warm-up (first-call allocations)
    t_raw, t_sweep, t0, t5 = [], [], [], []
    for _ in range(args.repeats):
        t_raw.append(raw())
        t_sweep.append(sweep(both.path, "both"))
        t0.append(sweep(_sweep(tmp, "0", args.items), "zero"))
        t5.append(sweep(_sweep(tmp, "5", args.items), "five"))

    # A finished sweep, re-run from the command line in a fresh process: no model may be loaded.
    results = tmp / "rerun"
    cache_env = dict(os.environ, ICL_CACHE_DIR=str(tmp / "rerun-cache"))
    cmd = [sys.executable, "-m", "icl.cli", "run", str(both.path), "--results", str(results)]
    subprocess.run(cmd, env=cache_env, check=True, capture_output=True)
    t_rerun = []
    for _ in range(args.repeats):
        start = time.perf_counter()
        out = subprocess.run(cmd, env=cache_env, check=True, capture_output=True, text=True)
        t_rerun.append(time.perf_counter() - start)
    calls = out.stderr.split("engine calls ")[1].split()[0]

    med = statistics.median
    print(f"prompts: {len(requests)} ({args.items} FLORES items x 2 languages x 0/5 shots), repeats: {args.repeats}")
    print(f"raw vLLM generate      median {med(t_raw):7.2f} s   {[round(t, 2) for t in t_raw]}")
    print(f"icl sweep (same list)  median {med(t_sweep):7.2f} s   {[round(t, 2) for t in t_sweep]}")
    print(f"  ratio sweep / raw:        {med(t_sweep) / med(t_raw):.3f}   (target <= 1.10)")
    print(f"0-shot sweep           median {med(t0):7.2f} s")
    print(f"5-shot sweep           median {med(t5):7.2f} s")
    print(f"  ratio 5-shot / 0-shot:    {med(t5) / med(t0):.3f}   (target <= 1.5)")
    print(f"cached re-run (CLI, new process) median {med(t_rerun):.2f} s, engine calls {calls}   (target 0 calls, < 5 s)")


if __name__ == "__main__":
    main()
