"""`icl author`: from a template edit to 8 new MT outputs with their scores, with the engine warm.

    .venv/bin/python benchmarks/bench_author.py [--engine vllm] [--edits 5] [--items 8]

Starts the real `icl author` command (as a user would, with an empty completion cache of its own),
waits until its engine is warm, then makes `--edits` edits of mt/plain (each a new instruction line,
so every prompt is new and nothing comes from the cache) and times each request the page makes
after an edit (POST /api/preview: prompts built, 8 outputs generated, per-item and aggregate scores
with the bootstrap interval), checking that all 8 outputs were asked of the model. One edit before
them warms the engine's first generation and is not counted. Prints the median and every time, with
the machine's load average (other processes on a 2-core machine change the numbers a lot).
Target (issue 19): under 10 s here.

Side by side in one run: the page as it starts (vLLM with prompt-lookup speculation,
icl.engines.vllm_engine.NGRAM_SPECULATION) and the same page with `--args '{"speculative_config": null}'`,
on the same edits; the outputs of the two must be identical (speculation is greedy-exact), and the
script fails if any differs. `--args` adds engine arguments to both.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import requests

REPO = Path(__file__).resolve().parent.parent


def _wait_ready(url: str, proc: subprocess.Popen, limit: float = 900) -> float:
    began = time.perf_counter()
    while time.perf_counter() - began < limit:
        if proc.poll() is not None:
            sys.exit(f"icl author ended ({proc.returncode})")
        state = requests.get(url + "api/status", timeout=10).json()["engine"]
        if state == "ready":
            return time.perf_counter() - began
        if state.startswith("failed"):
            sys.exit(state)
        time.sleep(0.5)
    sys.exit("the engine did not start in time")


@dataclass(frozen=True)
class Measured:
    times: list[float]
    server: list[float]
    phases: list[dict[str, float]]
    outputs: list[list[str]]
    start: float
    metric: str
    value: float


def measure(args: argparse.Namespace, engine_args: dict) -> Measured:
    """Start `icl author` with its own empty cache, then time `args.edits` edits after one warm-up edit."""
    env = {**os.environ, "ICL_CACHE_DIR": tempfile.mkdtemp(prefix="icl-author-bench-")}
    proc = subprocess.Popen([sys.executable, "-m", "icl.cli", "author", "--port", "0", "--engine", args.engine,
                             "--lang", args.lang, "--args", json.dumps(engine_args)],
                            env=env, stderr=subprocess.PIPE, text=True)
    try:
        line = proc.stderr.readline() if proc.stderr else ""
        found = re.search(r"http://\S+/", line)
        if not found:
            sys.exit(f"no URL from icl author: {line}")
        url = found.group(0)
        start = _wait_ready(url, proc)
        plain = (REPO / "prompts" / "mt" / "plain.j2").read_text(encoding="utf-8")
        setting = {"task": "mt", "template": "plain", "language": args.lang, "shots": 1, "items": args.items}
        times, server, phases, outputs = [], [], [], []
        for i in range(args.edits + 1):
            # the same edits in both configurations, each new to its empty cache
            source = f"{{#- edit {i} -#}}\nTranslation exercise {i}.\n\n" + plain
            began = time.perf_counter()
            response = requests.post(url + "api/preview", json={"side": {"setting": setting, "source": source}},
                                     timeout=900)
            took = time.perf_counter() - began
            body = response.json()
            if response.status_code != 200:
                sys.exit(f"preview failed: {body}")
            view = body["a"]
            if view["asked"] != args.items or any(item["score"] is None for item in view["items"]):
                sys.exit(f"edit {i}: expected {args.items} new outputs with scores, got {view['asked']} asked")
            print(f"edit {i}: {took:.2f} s{' (warm-up, not counted)' if not i else ''}", file=sys.stderr, flush=True)
            outputs.append([item["output"] for item in view["items"]])
            if i:  # the first edit warms the engine's first generation
                times.append(took)
                server.append(view["seconds"])
                phases.append(view["phases"])
        main_metric = view["main_metric"]
        value = next(m["value"] for m in view["metrics"] if m["name"] == main_metric)
    finally:
        proc.terminate()
        proc.wait(60)
    return Measured(times, server, phases, outputs, start, main_metric, value)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--engine", default="vllm")
    parser.add_argument("--edits", type=int, default=5)
    parser.add_argument("--items", type=int, default=8)
    parser.add_argument("--lang", default="fra")
    parser.add_argument("--args", default="{}", help="engine arguments as JSON, added to both configurations")
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # a timeout still stops the command (finally below)
    extra = json.loads(args.args)
    configs = {"page default": extra}
    if args.engine == "vllm":
        configs["no speculation"] = {**extra, "speculative_config": None}
    results = {}
    for name, engine_args in configs.items():
        print(f"-- {name}", file=sys.stderr, flush=True)
        results[name] = measure(args, engine_args)
    load = os.getloadavg()
    for name, m in results.items():
        print(f"icl author ({args.engine}, gemma-3-270m, {name}): edit -> {args.items} new MT outputs with scores: "
              f"median {statistics.median(m.times):.2f} s over {args.edits} edits {[round(t, 2) for t in m.times]} "
              f"(server side {statistics.median(m.server):.2f} s; target < 10 s)")
        parts = ", ".join(f"{p} {statistics.median(ph[p] for ph in m.phases):.2f} s" for p in m.phases[0])
        print(f"  medians of the server's parts: {parts}; engine warm {m.start:.0f} s after the command started; "
              f"last edit's {m.metric} {m.value:.2f}")
    if len(results) == 2:
        a, b = results.values()
        same = sum(x == y for ea, eb in zip(a.outputs, b.outputs, strict=True) for x, y in zip(ea, eb, strict=True))
        total = sum(len(e) for e in a.outputs)
        print(f"speculation: {statistics.median(b.times) / statistics.median(a.times):.2f}x faster "
              f"(median without / with); identical outputs {same}/{total}")
        if same != total:
            sys.exit("speculation changed outputs: it must not (greedy decoding)")
    print(f"load average {load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f} on {os.cpu_count()} CPUs")


if __name__ == "__main__":
    main()
