"""Real sweeps with the real Gemma-3-270m through hf, vLLM, and a vLLM OpenAI-compatible server.

The three engines must agree: greedy float32 outputs are identical, and label log-probabilities match
to a small tolerance, which checks vLLM's forced-token scoring and the server's echo scoring against
transformers' plain forward pass.
"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests
from conftest import REPO, engine_env
from typer.testing import CliRunner

from icl.analysis.results import read_json, read_jsonl
from icl.cli import app
from icl.run.runner import run_sweep
from icl.sweep.load import load_sweep

SWEEP = """
name: tiny
models:
  - name: gemma-3-270m
    engine: {engine}
    args: {args}
mt:
  languages: [fra]
  shots: [0, 2]
  templates: [plain]
  selectors: [shared]
  limit: 3
  max_tokens: 40
intent:
  languages: [sw-KE]
  shots: [1]
  templates: [labels]
  selectors: [bm25]  # bm25s in the same process as vLLM: see icl.shots.import_bm25s
  modes: [rank, generate]
  limit: 2
"""


def _write_sweep(folder: Path, engine: str, args: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"tiny-{engine}.yaml"
    path.write_text(SWEEP.format(engine=engine, args=args), encoding="utf-8")
    return path


def _runs(sweep_dir: Path) -> dict[str, dict]:
    """run name without its engine-specific hash -> {spec, metrics, predictions}."""
    out = {}
    for run in sorted(p for p in sweep_dir.iterdir() if p.is_dir()):
        key = run.name.rsplit("-", 1)[0]
        out[key] = {"spec": read_json(run / "spec.json"), "metrics": read_json(run / "metrics.json"),
                    "predictions": read_jsonl(run / "predictions.jsonl")}
    return out


@pytest.fixture(scope="module")
def hf_results(tmp_path_factory: pytest.TempPathFactory, model_dir: Path) -> dict[str, dict]:
    root = tmp_path_factory.mktemp("hf")
    sweep = load_sweep(_write_sweep(root, "hf", "{threads: 2}"))
    report = run_sweep(sweep, root / "results", cache_path=root / "cache.sqlite")
    assert report.generated == 3 + 3 + 2 and report.scored == 2 * 60
    # A second run of the finished sweep makes no engine call at all.
    again = run_sweep(sweep, root / "results", cache_path=root / "cache.sqlite")
    assert again.generated == 0 and again.scored == 0 and again.engine_calls == 0
    return {"dir": root / "results" / "tiny", "runs": _runs(root / "results" / "tiny")}


@pytest.mark.model
def test_hf_sweep_writes_scored_signed_results(hf_results: dict) -> None:
    runs = hf_results["runs"]
    assert len(runs) == 4
    mt = runs["mt-eng-fra-plain-2shot-shared-generate-s0"]
    scores = mt["metrics"]["scores"]
    assert scores["bleu"]["signature"].startswith("nrefs:1|case:mixed|eff:no|tok:13a")
    assert "nw:2" in scores["chrf++"]["signature"] and scores["chrf++"]["value"] > 0
    assert mt["metrics"]["postprocess"].startswith("first-line")
    assert mt["metrics"]["demo_source"] == mt["spec"]["demo_source"] == "flores200/dev"
    for row in mt["predictions"]:
        assert len(row["demo_ids"]) == 2 and all(d.startswith("flores-dev:") for d in row["demo_ids"])  # default
        assert row["prompt"].endswith("French:") and row["source"] in row["prompt"]
    rank = runs["intent-swa-labels-1shot-bm25-rank-s0"]
    assert rank["metrics"]["scores"]["accuracy"]["n"] == 2
    for row in rank["predictions"]:
        assert len(row["label_scores"]) == 60
        assert row["prediction"] == max(row["label_scores"], key=row["label_scores"].get)
    gen = runs["intent-swa-labels-1shot-bm25-generate-s0"]
    assert gen["metrics"]["unparseable"] == sum(r["prediction"] is None for r in gen["predictions"])


@pytest.mark.model
def test_score_and_table_rebuild_from_files(hf_results: dict) -> None:
    sweep_dir: Path = hf_results["dir"]
    before = {p.parent.name: p.read_text() for p in sweep_dir.glob("*/metrics.json")}
    (sweep_dir / "table.md").unlink()
    result = CliRunner().invoke(app, ["score", str(sweep_dir)])
    assert result.exit_code == 0, result.output
    assert {p.parent.name: p.read_text() for p in sweep_dir.glob("*/metrics.json")} == before
    assert (sweep_dir / "table.md").is_file()
    result = CliRunner().invoke(app, ["table", str(sweep_dir)])
    assert result.exit_code == 0 and "chrf++" in (sweep_dir / "table.csv").read_text()


def _compare(runs: dict[str, dict], reference: dict[str, dict], tol: float) -> None:
    assert runs.keys() == reference.keys()
    for name, run in runs.items():
        ref = reference[name]
        assert [r["demo_ids"] for r in run["predictions"]] == [r["demo_ids"] for r in ref["predictions"]], name
        if run["spec"]["mode"] == "rank":
            for a, b in zip(run["predictions"], ref["predictions"], strict=True):
                diffs = [abs(a["label_scores"][k] - b["label_scores"][k]) for k in a["label_scores"]]
                assert max(diffs) < tol, (name, max(diffs))
                assert a["prediction"] == b["prediction"], name
        else:
            assert [r["output"] for r in run["predictions"]] == [r["output"] for r in ref["predictions"]], name


@pytest.mark.model
def test_runs_of_an_older_sweep_version_stay_out_of_tables(hf_results: dict, tmp_path: Path) -> None:
    import shutil

    from icl.analysis.results import table_rows

    sweep_dir = tmp_path / "tiny"
    shutil.copytree(hf_results["dir"], sweep_dir)
    listed = (sweep_dir / "runs.txt").read_text().split()
    assert sorted(listed) == sorted(p.name for p in sweep_dir.iterdir() if (p / "spec.json").is_file())
    shutil.copytree(sweep_dir / listed[0], sweep_dir / "mt-stale-run-from-an-edited-yaml")
    assert len(table_rows(sweep_dir)) == len(listed)  # kept on disk, left out of the table
    (sweep_dir / "runs.txt").unlink()
    assert len(table_rows(sweep_dir)) == len(listed) + 1  # folders written before runs.txt existed still count


@pytest.mark.vllm
def test_vllm_sweep_matches_transformers(tmp_path: Path, hf_results: dict) -> None:
    sweep = _write_sweep(tmp_path, "vllm", "{}")
    proc = subprocess.run([sys.executable, "-m", "icl.cli", "run", str(sweep), "--results", str(tmp_path / "r")],
                          env=engine_env(), capture_output=True, text=True, timeout=900, check=False)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "tiny (4 runs)" in proc.stdout
    _compare(_runs(tmp_path / "r" / "tiny"), hf_results["runs"], tol=0.05)
    # where the time went, phase by phase (the benchmark against lm-eval prints these)
    phases = json.loads((tmp_path / "r" / "tiny" / "timings.json").read_text(encoding="utf-8"))["phases"]
    assert {"start and imports", "engine import", "model load", "generation", "engine close"} <= set(phases)
    assert "time: " in proc.stderr and "model load" in proc.stderr


SPECULATION_SWEEP = """
name: spec
models:
  - name: gemma-3-270m
    engine: vllm
    args: {args}
mt:
  languages: [fra, wol]
  directions: [en-xx, xx-en]
  shots: [1]
  templates: [plain]
  selectors: [shared]
  limit: 6
  max_tokens: 64
"""


@pytest.mark.vllm
def test_ngram_speculation_changes_no_output(tmp_path: Path) -> None:
    """`icl author` runs vLLM with prompt-lookup speculation and shares its cache with sweeps that do not
    (speculative_config is not part of a cache key): that is only sound if greedy speculation gives the
    very same outputs. 24 MT outputs of up to 64 tokens, into and out of French and Wolof, computed
    twice, with and without it, each with an empty cache of its own."""
    from icl.engines.vllm_engine import NGRAM_SPECULATION

    outputs = {}
    for name, args in (("plain", "{}"), ("ngram", json.dumps({"speculative_config": NGRAM_SPECULATION}))):
        sweep = tmp_path / f"{name}.yaml"
        sweep.write_text(SPECULATION_SWEEP.format(args=args), encoding="utf-8")
        proc = subprocess.run([sys.executable, "-m", "icl.cli", "run", str(sweep), "--results", str(tmp_path / name)],
                              env={**engine_env(), "ICL_CACHE_DIR": str(tmp_path / f"cache-{name}")},
                              capture_output=True, text=True, timeout=900, check=False)
        assert proc.returncode == 0, proc.stderr[-3000:]
        runs = _runs(tmp_path / name / "spec")
        outputs[name] = {run: [p["output"] for p in r["predictions"]] for run, r in runs.items()}
        log = "".join(f.read_text(encoding="utf-8") for f in (tmp_path / f"cache-{name}" / "logs").glob("vllm-*.log"))
        assert ("SpeculativeConfig(method='ngram'" in log) == (name == "ngram")  # it did reach vLLM
    assert len(outputs["plain"]) == 4 and sum(len(v) for v in outputs["plain"].values()) == 24
    assert outputs["ngram"] == outputs["plain"]


CANCEL_SCRIPT = """
import json, threading
from icl.engines import Cancelled, GenParams
from icl.engines.vllm_engine import VllmEngine
from icl.values.prompt import Prompt
engine = VllmEngine("gemma-3-270m")
prompts = [Prompt(text=f"English: {s}\\nFrench:") for s in ("Hello.", "The cat sleeps on the warm red mat by the door.",
           "We will meet tomorrow at noon near the old station.", "Rivers carry water from the hills down to the sea.")]
params = GenParams(max_tokens=48)
cancel, arrived = threading.Event(), {}
def first(i, out):
    arrived[i] = out.text
    cancel.set()
try:
    engine.generate(prompts, params, on_result=first, cancel=cancel)
    print(json.dumps({"cancelled": False}))
except Cancelled:
    left = engine.llm.llm_engine.has_unfinished_requests()
    full = [c.text for c in engine.generate(prompts, params)]
    print(json.dumps({"cancelled": True, "left": left, "arrived": arrived, "full": full}))
"""


@pytest.mark.vllm
def test_a_cancelled_generation_leaves_vllm_idle(model_dir: Path) -> None:
    """`icl author` cancels an older edit's generations: vLLM's step loop aborts the requests still
    running (nothing is left for the next call to step through), and what arrived is the output the
    uncancelled call gives."""
    proc = subprocess.run([sys.executable, "-c", CANCEL_SCRIPT], env=engine_env(), capture_output=True, text=True,
                          timeout=600, check=False)
    assert proc.returncode == 0, proc.stderr[-3000:]
    got = json.loads(proc.stdout.strip().splitlines()[-1])
    assert got["cancelled"] and not got["left"] and len(got["arrived"]) == 1
    ((index, text),) = got["arrived"].items()
    assert got["full"][int(index)] == text


@pytest.mark.vllm
def test_the_offline_engine_starts_without_the_tokenizer_pool() -> None:
    """The start-up cut documented in icl.engines.vllm_engine needs this hook of the pinned vLLM; if an
    upgrade removes it, this says so (the engine still starts, only slower)."""
    from vllm.renderers import hf as renderer

    from icl.engines.vllm_engine import _offline_tokenizer

    original = renderer.maybe_make_thread_pool
    tokenizer = object()
    with _offline_tokenizer():
        assert renderer.maybe_make_thread_pool(tokenizer, 2) is tokenizer
    assert renderer.maybe_make_thread_pool is original


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def readme_server_command() -> str:
    """The vLLM server command of docs/design.md, exactly as a user copies it."""
    text = (REPO / "docs" / "design.md").read_text(encoding="utf-8")
    block = next(b for b in re.findall(r"```bash\n(.*?)```", text, re.DOTALL) if "vllm.entrypoints.openai.api_server" in b)
    return block.replace("\\\n", " ").strip()


def start_server(model_dir: Path, port: int, log: Path) -> subprocess.Popen:
    """The README's server command, as written but for the port (and the model folder, where tests
    use another), on 127.0.0.1 in its own process group, stopped by PID."""
    command = readme_server_command().replace("--port 8000", f"--port {port}")
    command = command.replace("~/.cache/icl/models/gemma-3-270m", str(model_dir))
    env = {k: v for k, v in engine_env().items() if not k.startswith("VLLM_")}  # the command sets its own
    return subprocess.Popen(["bash", "-c", command], env=env, cwd=REPO, stdout=log.open("w"),
                            stderr=subprocess.STDOUT, start_new_session=True)


def wait_ready(proc: subprocess.Popen, port: int, log: Path, limit: float = 400) -> None:
    deadline = time.time() + limit
    while time.time() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"server exited ({proc.returncode}): {log.read_text()[-2000:]}")
        try:
            if requests.get(f"http://127.0.0.1:{port}/v1/models", timeout=2).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(2)
    raise AssertionError(f"server not ready after {limit} s: {log.read_text()[-2000:]}")


def stop_server(proc: subprocess.Popen, sig: int = signal.SIGTERM) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, sig)
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=30)


@pytest.mark.server
def test_openai_engine_against_a_real_vllm_server(tmp_path: Path, model_dir: Path, hf_results: dict) -> None:
    port = _free_port()
    log = tmp_path / "server.log"
    proc = start_server(model_dir, port, log)
    try:
        wait_ready(proc, port, log)
        args = json.dumps({"endpoints": [f"http://127.0.0.1:{port}/v1"], "concurrency": 4})
        sweep = load_sweep(_write_sweep(tmp_path, "openai", args))
        run_sweep(sweep, tmp_path / "r", cache_path=tmp_path / "cache.sqlite")
        _compare(_runs(tmp_path / "r" / "tiny"), hf_results["runs"], tol=0.05)
        chat = requests.post(f"http://127.0.0.1:{port}/v1/chat/completions", timeout=60, json={
            "model": "gemma-3-270m", "max_tokens": 8, "messages": [{"role": "user", "content": "Bonjour"}]})
        assert chat.status_code == 200, chat.text  # the converted model carries Gemma's chat format
    finally:
        stop_server(proc)
    assert proc.poll() is not None
    with pytest.raises(requests.ConnectionError):
        requests.get(f"http://127.0.0.1:{port}/v1/models", timeout=2)
