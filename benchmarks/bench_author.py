"""`icl author`: from a template edit to the first new output on the page, and to all 8, against vLLM
alone on the same 8 prompts, side by side in one run.

    .venv/bin/python benchmarks/bench_author.py [--engine vllm] [--edits 5] [--items 8] [--args '{}']

Starts the real `icl author` command (as a user would, with an empty completion cache of its own)
and waits until its engine is warm. In this process it starts vLLM alone, with the engine arguments
the page's engine has (icl.author.session.page_engine_args: icl's CPU defaults and prompt-lookup
speculation). Then, `--edits` times (after one warm-up edit, not counted), it edits mt/plain (each
edit a new instruction line, so every prompt is new to both caches) and reads the page's stream
(POST /api/stream, as the page does) until the first new output arrives and until the view is done
(8 outputs with per-item and aggregate scores and intervals); then it gives the 8 prompts the page
showed, as token ids, to vLLM alone (`LLM.generate`, greedy, the page's stop strings and token
limit), and checks that the outputs are the page's. Prints the medians side by side, the ratio of
all-8 to vLLM alone, and the machine's load average (other processes on a 2-core machine change the
numbers a lot). Goals (issue 27): first output within 2 s, all 8 within 1.1x of vLLM alone.
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
from typing import Any

import requests

from icl.author.guard import HEADER

REPO = Path(__file__).resolve().parent.parent


def _wait_ready(url: str, token: str, proc: subprocess.Popen, limit: float = 900) -> float:
    began = time.perf_counter()
    while time.perf_counter() - began < limit:
        if proc.poll() is not None:
            sys.exit(f"icl author ended ({proc.returncode})")
        state = requests.get(url + "api/status", headers={HEADER: token}, timeout=10).json()["engine"]
        if state == "ready":
            return time.perf_counter() - began
        if state.startswith("failed"):
            sys.exit(state)
        time.sleep(0.5)
    sys.exit("the engine did not start in time")


@dataclass(frozen=True)
class PageEdit:
    prompts: float
    """Seconds from the edit to every prompt on the page."""
    first: float
    """To the first new output."""
    all: float
    """To the whole view (every output, scores, intervals)."""
    view: dict[str, Any]


def page_edit(url: str, token: str, setting: dict[str, Any], source: str, items: int) -> PageEdit:
    """One edit through the page's stream, timed as the page sees it."""
    began = time.perf_counter()
    prompts = first = None
    body = {"a": {"setting": setting, "source": source, "original": "plain"}}
    with requests.post(url + "api/stream", json=body, headers={HEADER: token}, stream=True, timeout=900) as response:
        for line in response.iter_lines():
            if not line:
                continue
            event = json.loads(line)
            now = time.perf_counter() - began
            if event["event"] == "update":
                prompts = now if prompts is None else prompts
                if first is None and any(not it["pending"] and not it["cached"] for it in event["items"]):
                    first = now
            elif event["event"] == "done":
                view = event["view"]
                if view["asked"] != items or any(it["score"] is None for it in view["items"]):
                    sys.exit(f"expected {items} new outputs with scores, got {view['asked']} asked")
                assert prompts is not None and first is not None
                return PageEdit(prompts, first, now, view)
            else:
                sys.exit(f"the page's stream said {event}")
    sys.exit("the page's stream ended without its view")


class RawVllm:
    """vLLM alone, configured as the page's engine, asked for exactly the page's prompts."""

    def __init__(self, model: str, engine_args: dict[str, Any]) -> None:
        from icl.author.session import page_engine_args
        from icl.engines.vllm_engine import VllmEngine
        from icl.spec import ModelSpec

        args = page_engine_args(ModelSpec(model, "vllm", json.dumps(engine_args, sort_keys=True)))
        self.engine = VllmEngine(model, **args)  # icl's defaults (float32 on CPU ...); only `.llm` is timed

    def generate(self, view: dict[str, Any]) -> tuple[float, list[str]]:
        from vllm import SamplingParams
        from vllm.inputs import TokensPrompt

        from icl.values.prompt import Prompt

        inputs = [TokensPrompt(prompt_token_ids=self.engine._token_ids(
            Prompt(text="".join(s["text"] for s in it["segments"])))) for it in view["items"]]
        stop = view["items"][0]["stop"]
        params = SamplingParams(temperature=0.0, max_tokens=view["spec"]["max_tokens"], stop=list(stop) or None, seed=0)
        began = time.perf_counter()
        outs = self.engine.llm.generate(inputs, params, use_tqdm=False)
        return time.perf_counter() - began, [o.outputs[0].text for o in outs]


def start_page(args: argparse.Namespace) -> tuple[subprocess.Popen, str, str, float]:
    """`icl author` started as a user starts it; its URL, its token and the seconds until its engine is ready."""
    env = {**os.environ, "ICL_CACHE_DIR": tempfile.mkdtemp(prefix="icl-author-bench-")}
    proc = subprocess.Popen([sys.executable, "-m", "icl.cli", "author", "--port", "0", "--engine", args.engine,
                             "--lang", args.lang, "--args", args.args], env=env, stderr=subprocess.PIPE, text=True)
    line = proc.stderr.readline() if proc.stderr else ""
    found = re.search(r"(http://\S+/)\?token=(\S+)", line)
    if not found:
        proc.terminate()
        sys.exit(f"no URL from icl author: {line}")
    return proc, found.group(1), found.group(2), _wait_ready(found.group(1), found.group(2), proc)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--engine", default="vllm")
    parser.add_argument("--model", default="gemma-3-270m")
    parser.add_argument("--edits", type=int, default=5)
    parser.add_argument("--items", type=int, default=8)
    parser.add_argument("--lang", default="fra")
    parser.add_argument("--args", default="{}", help="engine arguments as JSON, for the page and vLLM alone")
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # a timeout still stops the command (finally below)
    proc, url, token, start = start_page(args)
    try:
        raw = RawVllm(args.model, json.loads(args.args))
        plain = (REPO / "prompts" / "mt" / "plain.j2").read_text(encoding="utf-8")
        setting = {"task": "mt", "template": "plain", "language": args.lang, "shots": 1, "items": args.items}
        rows, same, total = [], 0, 0
        for i in range(args.edits + 1):
            source = f"{{#- edit {i} -#}}\nTranslation exercise {i}.\n\n" + plain  # new to both caches
            page = page_edit(url, token, setting, source, args.items)
            alone, outputs = raw.generate(page.view)
            same += sum(a == b["output"] for a, b in zip(outputs, page.view["items"], strict=True))
            total += len(outputs)
            print(f"edit {i}: prompts {page.prompts:.2f} s, first output {page.first:.2f} s, all {args.items} "
                  f"{page.all:.2f} s; vLLM alone {alone:.2f} s{' (warm-up, not counted)' if not i else ''}",
                  file=sys.stderr, flush=True)
            if i:
                rows.append((page.prompts, page.first, page.all, alone))
    finally:
        proc.terminate()
        proc.wait(60)
    load = os.getloadavg()
    prompts, first, whole, alone = (statistics.median(r[k] for r in rows) for k in range(4))
    print(f"icl author ({args.engine}, {args.model}), medians over {args.edits} edits of mt/plain, "
          f"{args.items} new 1-shot MT outputs each (engine warm {start:.0f} s after the command started):")
    print(f"  prompts on the page {prompts:.2f} s | time to first output {first:.2f} s (goal < 2 s) | "
          f"time to all {args.items} {whole:.2f} s | vLLM alone, same {args.items} prompts {alone:.2f} s | "
          f"ratio all/alone {whole / alone:.2f}x (goal <= 1.1x)")
    print(f"  every edit (first, all, alone): {[tuple(round(x, 2) for x in r[1:]) for r in rows]}; "
          f"outputs identical to vLLM alone {same}/{total}")
    print(f"load average {load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f} on {os.cpu_count()} CPUs")
    if same != total:
        sys.exit("the page's outputs differ from vLLM alone on the same prompts")


if __name__ == "__main__":
    main()
