"""Rank scoring (all 60 MASSIVE labels per item): icl's tree pass vs its vLLM trie path vs lm-eval's
multiple choice, next to the compute floor, on the same items, prompts and labels.

    .venv/bin/python benchmarks/bench_rank.py [--items 20] [--lmeval-items 1] [--repeats 2] [--shots 0]
    .venv/bin/python benchmarks/bench_rank.py --shots 4 --lmeval-items 0 --paths tree   # per-item demos

With `--shots 4` every item brings its own 4 BM25 demos (the quickstart's 4-shot intent runs): ~90
tokens of its own after the 305 the run shares, so the floor below is mostly the body over those and
the projection at the 58 label-trie rows, and the goal is the tree pass within 1.5x of it.

Items: the quickstart's intent prompts (template `labels`, all 60 labels as continuations), the first
`--items` test items of en-US, sw-KE and fr-FR. Each path scores every label of every item; seconds per
item are medians over `--repeats`, start-up excluded (printed apart):

(a) tree  icl's engine `vllm` on CPU as the runner calls it (16 prompts per call, sorted by prompt):
          icl.engines.tree_score over a transformers copy of the model; its prefix store starts empty
          in every repeat.
(b) trie  the same engine with `scoring: trie`, icl's path before: one vLLM request per internal trie
          node, contexts from vLLM's prefix cache (reset before every repeat).
(c) lm-eval  lm-evaluation-harness's multiple choice (its vllm backend, `prompt_logprobs`) in its own
          environment (benchmarks/.venv-lmeval, set up as in README "Benchmarks"), on a task generated
          with the very prompt texts as contexts and the label continuations as choices, for the first
          `--lmeval-items` items per locale (about a minute an item here). Seconds per item: the elapsed
          time of lm-eval's own "Running loglikelihood requests" bar over the items, so vLLM's start-up
          and lm-eval's set-up are left out as they are for (a) and (b); whole runs printed apart.
(d) floor the least arithmetic that gives every score exactly, divided by a measured fp32 GEMM rate:
          the model body over each item's own tokens (after the prompt prefix its run shares) and its
          label trie's internal nodes, attention over what each sees, and the vocabulary projection at the
          internal nodes. The shared prefix, computed once per run, is left out (its share per item
          tends to 0 with the run's size; printed apart).

Predicted labels are compared across (a), (b) and (c), and the scores themselves (max |difference|).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from icl.engines.models import default_model_dir
from icl.engines.tree_score import _subtree, common_prefix
from icl.run.items import PromptItem, build_items
from icl.sweep.load import load_sweep

REPO = Path(__file__).resolve().parent.parent
LMEVAL = REPO / "benchmarks" / ".venv-lmeval" / "bin" / "lm_eval"
LOCALES = ("en-US", "sw-KE", "fr-FR")
PER_CALL = 16  # icl.engine_calls.score_missing's prompts per engine call

SWEEP = """name: bench-rank
models: [{{name: gemma-3-270m, engine: vllm}}]
intent:
  languages: [{langs}]
  shots: [{shots}]
  templates: [labels]
  selectors: [{selector}]
  pools: [train]
  modes: [rank]
  leaks: exclude
  limit: {items}
"""

TASK = """task: icl_rank_{key}
dataset_path: json
dataset_kwargs:
  data_files:
    test: {data}
test_split: test
output_type: multiple_choice
doc_to_text: prompt
doc_to_choice: choices
doc_to_target: gold
target_delimiter: ""
metric_list:
  - metric: acc
"""


def build(args: argparse.Namespace, tmp: Path) -> dict[str, list[PromptItem]]:
    path = tmp / "sweep.yaml"
    path.write_text(SWEEP.format(langs=", ".join(LOCALES), shots=args.shots, items=args.items,
                                 selector=args.selector if args.shots else "first"), encoding="utf-8")
    sweep = load_sweep(path)
    by_locale = {}
    for spec, locale in zip(sweep.runs, LOCALES, strict=True):
        by_locale[locale] = list(build_items(spec, sweep.datasets).items)
    return by_locale


def calls(items: list[PromptItem]) -> list[list[PromptItem]]:
    """As the runner sends them: sorted by prompt, 16 prompts per call."""
    ordered = sorted(items, key=lambda it: it.prompt.as_key())
    return [ordered[i : i + PER_CALL] for i in range(0, len(ordered), PER_CALL)]


def engine_paths(items: list[PromptItem], repeats: int, paths: tuple[str, ...]) -> dict[str, Any]:
    """(a) and (b) in one process, as `icl run` has them: one vLLM engine, the tree scorer beside it."""
    import torch

    from icl.engines.vllm_engine import VllmEngine

    began = time.perf_counter()
    engine = VllmEngine("gemma-3-270m")
    out: dict[str, Any] = {"vllm start": time.perf_counter() - began, "tree": [], "trie": [], "tree cpu": [],
                           "trie cpu": []}
    began = time.perf_counter()
    engine._tree_scorer()
    out["tree load"] = time.perf_counter() - began
    out["threads"] = torch.get_num_threads()
    for _ in range(repeats):
        for path in paths:
            engine.scoring = path
            engine.tree.forget()
            engine.llm.reset_prefix_cache()
            scores: dict[str, list[float]] = {}
            began, cpu = time.perf_counter(), time.process_time()
            for call in calls(items):
                got = engine.score([it.prompt for it in call], [it.candidates for it in call])
                scores.update({it.prompt.as_key(): s for it, s in zip(call, got, strict=True)})
            out[path].append((time.perf_counter() - began) / len(items))
            out[f"{path} cpu"].append((time.process_time() - cpu) / len(items))
            out[f"{path} scores"] = [scores[it.prompt.as_key()] for it in items]
    engine.close()
    return out


def lm_eval_path(by_locale: dict[str, list[PromptItem]], n: int, repeats: int, tmp: Path) -> dict[str, Any]:
    """(c): one lm-eval invocation of n items per locale and one of 1 item per locale, per repeat."""
    sys.path.insert(0, str(REPO / "benchmarks"))
    from bench_lm_eval import run_or_explain, vllm_metadata_shim

    vllm_metadata_shim()
    tasks = []
    for locale, items in by_locale.items():
        key = locale.replace("-", "_").lower()
        data = tmp / f"{key}.jsonl"
        data.write_text("".join(json.dumps({"prompt": it.prompt.text, "choices": list(it.candidates),
                                            "gold": 0, "id": it.example.id}) + "\n" for it in items[:n]),
                        encoding="utf-8")
        (tmp / f"icl_rank_{key}.yaml").write_text(TASK.format(key=key, data=data), encoding="utf-8")
        tasks.append(f"icl_rank_{key}")
    env = dict(os.environ, VLLM_TARGET_DEVICE="cpu", HF_DATASETS_OFFLINE="1", HF_HUB_OFFLINE="1")
    model_args = (f"pretrained={default_model_dir()},dtype=float32,enforce_eager=True,max_model_len=4096,"
                  "enable_prefix_caching=True,block_size=32,disable_hybrid_kv_cache_manager=True,seed=0,"
                  "add_bos_token=True")
    totals: list[float] = []
    per_item: list[float] = []
    for r in range(repeats):
        out = tmp / f"lm-{r}"
        began = time.perf_counter()
        run_or_explain([str(LMEVAL), "--model", "vllm", "--model_args", model_args, "--tasks", ",".join(tasks),
                        "--include_path", str(tmp), "--batch_size", "auto", "--limit", str(n),
                        "--output_path", str(out), "--log_samples"], env, tmp / f"lm-{r}.log")
        totals.append(time.perf_counter() - began)
        per_item.append(scoring_seconds(tmp / f"lm-{r}.log") / (len(by_locale) * n))
    scores: dict[str, list[float]] = {}
    for samples in (tmp / "lm-0").rglob("samples_icl_rank_*.jsonl"):
        for line in samples.open(encoding="utf-8"):
            row = json.loads(line)
            scores[row["doc"]["prompt"]] = [float(r[0]) for r in row["filtered_resps"]]
    return {"per item": per_item, "scores": scores, "totals": totals}


def scoring_seconds(log: Path) -> float:
    """The elapsed time of lm-eval's own "Running loglikelihood requests" bar at 100%: its scoring
    alone, without vLLM's start-up or lm-eval's set-up (which a 1-item run would have to cancel)."""
    done = re.findall(r"Running loglikelihood requests: 100%\|[^|]*\| *(\d+)/\1 \[([\d:]+)<", log.read_text("utf-8"))
    if not done:
        sys.exit(f"{log}: no finished 'Running loglikelihood requests' bar")
    seconds = 0.0
    for part in done[-1][1].split(":"):
        seconds = seconds * 60 + float(part)
    return seconds


def _children_cpu() -> float:
    import resource

    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def gemm_rate(threads: int) -> float:
    """Best fp32 GEMM rate (FLOP/s) of the projection's own shape, at the thread count used."""
    import torch

    torch.set_num_threads(threads)
    a, b = torch.randn(256, 640), torch.randn(640, 262144)
    best = float("inf")
    for _ in range(5):
        began = time.perf_counter()
        torch.mm(a, b)
        best = min(best, time.perf_counter() - began)
    return 2 * 256 * 640 * 262144 / best


def floor_flops(by_locale: dict[str, list[PromptItem]]) -> dict[str, float]:
    """FLOPs per item of the exact minimum (see the module docstring), from the model config."""
    from transformers import AutoConfig, AutoTokenizer

    from icl.engines import split_continuations

    path = default_model_dir()
    cfg = AutoConfig.from_pretrained(path)
    tok = AutoTokenizer.from_pretrained(path)
    h, inter, heads, kv, hd = (cfg.hidden_size, cfg.intermediate_size, cfg.num_attention_heads,
                               cfg.num_key_value_heads, cfg.head_dim)
    per_layer = h * heads * hd * 2 + h * kv * hd * 2 + 3 * h * inter  # q, o; k, v; gate, up, down
    body_token = 2 * per_layer * cfg.num_hidden_layers
    windows = [cfg.sliding_window if t == "sliding_attention" else None for t in cfg.layer_types]
    total = {"body": 0.0, "attention": 0.0, "projection": 0.0, "prefix": 0.0, "own tokens": 0.0, "rows": 0.0}
    n = 0
    for items in by_locale.values():
        reqs = [split_continuations(tok, it.prompt.text or "", it.candidates, add_special=True) for it in items]
        shared = min(common_prefix([c for c, _ in reqs]), min(len(c) for c, _ in reqs) - 1)
        total["prefix"] += body_token * shared  # once per run: its share per item is this / items
        for ctx, conts in reqs:
            tree = _subtree(ctx, shared, conts)
            rows = len({node for plan in tree.steps for node, _ in plan})
            total["own tokens"] += len(tree.tokens)
            total["rows"] += rows
            total["body"] += body_token * len(tree.tokens)
            for depth in tree.depths:
                seen = [depth + 1 if w is None else min(depth + 1, w) for w in windows]
                total["attention"] += sum(2 * 2 * heads * hd * s for s in seen)
            total["projection"] += 2 * h * cfg.vocab_size * rows
            n += 1
    return {k: v / n for k, v in total.items()}


def agreement(a: list[list[float]], b: list[list[float]]) -> tuple[int, float]:
    same = sum(max(range(len(x)), key=x.__getitem__) == max(range(len(y)), key=y.__getitem__) for x, y in zip(a, b))
    return same, max(abs(p - q) for x, y in zip(a, b) for p, q in zip(x, y))


def _list(values: list[float], digits: int = 3) -> str:
    return "[" + ", ".join(f"{v:.{digits}f}" for v in values) + "]"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--items", type=int, default=20, help="items per locale for (a), (b) and (d)")
    parser.add_argument("--lmeval-items", type=int, default=1, help="items per locale for (c); 0 skips it")
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--shots", type=int, default=0, help="demos per prompt (same-locale train)")
    parser.add_argument("--selector", default="bm25",
                        help="how demos are chosen when --shots > 0: bm25 (per-item, as the quickstart) or similar")
    parser.add_argument("--paths", default="tree,trie", help="engine paths to time: tree, trie or both")
    args = parser.parse_args()
    if args.lmeval_items and not LMEVAL.exists():
        sys.exit(f"{LMEVAL} not found: see README (Benchmarks) to create lm-eval's own environment")
    if not 0 <= args.lmeval_items <= args.items:
        sys.exit("--lmeval-items: 0 up to --items")
    tmp = Path(tempfile.mkdtemp(prefix="icl-bench-rank-"))
    by_locale = build(args, tmp)
    items = [it for its in by_locale.values() for it in its]
    flops = floor_flops(by_locale)
    paths = tuple(p for p in ("trie", "tree") if p in args.paths.split(","))
    if "tree" not in paths:
        sys.exit("--paths: the tree path is always timed (tree or tree,trie)")
    ab = engine_paths(items, args.repeats, paths)
    rate = gemm_rate(ab["threads"])
    c = lm_eval_path(by_locale, args.lmeval_items, args.repeats, tmp) if args.lmeval_items else None

    med = statistics.median
    floor = (flops["body"] + flops["attention"] + flops["projection"]) / rate
    a, b = med(ab["tree"]), (med(ab["trie"]) if ab["trie"] else float("nan"))
    print(f"{len(items)} MASSIVE items ({', '.join(LOCALES)}; {args.items} each, {args.shots}-shot `labels` prompts), "
          f"60 labels each; medians of {args.repeats} repeats; torch threads {ab['threads']}; "
          f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    print("                    wall s/item        repeats            CPU s/item")
    print(f"(a) tree pass       {a:7.3f}   {_list(ab['tree'])}   {med(ab['tree cpu']):7.3f}"
          f"   (+ {ab['tree load']:.1f} s once: transformers load)")
    if ab["trie"]:
        print(f"(b) vLLM trie       {b:7.3f}   {_list(ab['trie'])}   {med(ab['trie cpu']):7.3f}"
              f"   (+ {ab['vllm start']:.1f} s once: vLLM start)")
    if c is not None:
        print(f"(c) lm-eval MC      {med(c['per item']):7.3f}   {_list(c['per item'])}         -"
              f"   (its scoring bar; whole runs of {args.lmeval_items} x 3 items, start-up included: "
              f"{_list(c['totals'], 1)} s)")
    print(f"(d) floor           {floor:7.3f}   = {(floor * rate) / 1e9:.1f} GFLOP at {rate / 1e9:.0f} GFLOP/s (best fp32 "
          f"GEMM of the projection's shape here, {ab['threads']} threads): body {flops['body'] / 1e9:.1f} over "
          f"{flops['own tokens']:.0f} tokens, attention {flops['attention'] / 1e9:.2f}, projection "
          f"{flops['projection'] / 1e9:.1f} at {flops['rows']:.0f} rows; apart: the run's shared prefix, "
          f"{flops['prefix'] * args.items / 1e9:.0f} GFLOP once per run")
    print(f"ratios (wall): trie / tree {b / a:.1f}x" + (f"   lm-eval / tree {med(c['per item']) / a:.1f}x" if c else "")
          + f"   tree / floor {a / floor:.2f}x   (goals: 0-shot tree <= 0.3 s/item, lm-eval / tree >= 20x; "
          "per-item demos: tree / floor <= 1.5x)")
    if ab["trie"]:
        same, diff = agreement(ab["tree scores"], ab["trie scores"])
        print(f"predictions: tree vs trie identical on {same}/{len(items)} (max |score difference| {diff:.2e})")
    if c is not None:
        keyed = [(ab["tree scores"][i], c["scores"][it.prompt.text]) for i, it in enumerate(items)
                 if it.prompt.text in c["scores"]]
        same, diff = agreement([x for x, _ in keyed], [y for _, y in keyed])
        print(f"predictions: tree vs lm-eval identical on {same}/{len(keyed)} (max |score difference| {diff:.2e})")
    print(f"files and logs: {tmp}")


if __name__ == "__main__":
    main()
