"""Crash safety and dead endpoints, on real sweeps with the real model.

- kill -9 a sweep in a subprocess mid-generation; the re-run loses nothing, duplicates nothing, and
  sends only the missing prompts to the engine.
- two endpoints in front of one real vLLM server; one dies mid-sweep; the sweep completes with every
  prediction present.
"""

from __future__ import annotations

import json
import re
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import requests
from conftest import engine_env
from test_engines import _free_port, start_server, stop_server, wait_ready

from icl.analysis.results import read_jsonl
from icl.run.runner import run_sweep
from icl.sweep.load import load_sweep

KILL_SWEEP = """
name: crash
models:
  - name: gemma-3-270m
    engine: hf
    args: {threads: 1, batch_size: 2}
mt:
  languages: [fra]
  shots: [0]
  limit: 14
  max_tokens: 24
"""


def _cached(db: Path) -> int:
    """Completions committed so far (0 while the sweep has not created its cache's table yet: the file
    appears a moment before the table does)."""
    if not db.exists():
        return 0
    with sqlite3.connect(db, timeout=30) as conn:
        try:
            return int(conn.execute("SELECT COUNT(*) FROM completions").fetchone()[0])
        except sqlite3.OperationalError:
            return 0


def _run(sweep: Path, results: Path, cache: Path) -> subprocess.Popen:
    env = engine_env() | {"ICL_CACHE_DIR": str(cache)}
    return subprocess.Popen([sys.executable, "-m", "icl.cli", "run", str(sweep), "--results", str(results),
                             "--chunk-size", "14"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


@pytest.mark.model
def test_kill_9_mid_sweep_then_resume(tmp_path: Path, model_dir: Path) -> None:
    sweep = tmp_path / "crash.yaml"
    sweep.write_text(KILL_SWEEP, encoding="utf-8")
    cache, results = tmp_path / "cache", tmp_path / "results"
    db = cache / "completions.sqlite"
    proc = _run(sweep, results, cache)
    deadline = time.time() + 300
    while _cached(db) < 4:  # some, not all, completions are in when we pull the plug
        assert proc.poll() is None, proc.communicate()[1][-2000:]
        assert time.time() < deadline, "no completion cached in 300 s"
        time.sleep(0.2)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    survived = _cached(db)
    assert 4 <= survived < 14, survived  # killed mid-chunk: the finished ones were already durable

    again = _run(sweep, results, cache)
    _, err = again.communicate(timeout=600)
    assert again.returncode == 0, err[-2000:]
    counts = re.search(r"generated (\d+), scored (\d+), from cache (\d+)", err)
    assert counts, err[-2000:]
    generated, _, from_cache = map(int, counts.groups())
    assert from_cache == survived and generated == 14 - survived  # only the missing prompts were sent
    (run_dir,) = [p for p in (results / "crash").iterdir() if p.is_dir()]
    rows = read_jsonl(run_dir / "predictions.jsonl")
    assert [r["id"] for r in rows] == [f"flores:{i}" for i in range(14)]  # 0 lost, 0 duplicated
    assert all(r["error"] is None for r in rows)
    assert _cached(db) == 14


class _Relay:
    """A second endpoint that dies mid-sweep the way a killed server does, without a second vLLM
    server to start: it relays every request to the real server until `kill()`; from then on its
    port refuses connections, and every request it holds or is sent on a kept-alive connection is
    cut off unanswered (what a SIGKILLed server's clients see)."""

    def __init__(self, target: str) -> None:
        self.dead = threading.Event()
        relay = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:
                self._relay("GET")

            def do_POST(self) -> None:
                self._relay("POST")

            def _relay(self, method: str) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                if not relay.dead.is_set():
                    answer = requests.request(method, target + self.path, data=body, timeout=300,
                                              headers={"Content-Type": "application/json"})
                if relay.dead.is_set():  # killed before or while relaying: no answer, the connection cut
                    self.close_connection = True
                    self.connection.shutdown(socket.SHUT_RDWR)
                    return
                self.send_response(answer.status_code)
                self.send_header("Content-Type", answer.headers.get("Content-Type", "application/json"))
                self.send_header("Content-Length", str(len(answer.content)))
                self.end_headers()
                self.wfile.write(answer.content)

            def log_message(self, format: str, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/v1"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def kill(self) -> None:
        self.dead.set()
        self.server.shutdown()
        self.server.server_close()


@pytest.mark.server
def test_sweep_survives_a_dead_endpoint(tmp_path: Path, model_dir: Path) -> None:
    """Two endpoints, one real vLLM server behind both; one dies after a few completions. Every
    prediction still comes, from the live one, and none is an error."""
    port = _free_port()
    log = tmp_path / "server.log"
    server = start_server(model_dir, port, log)
    try:
        wait_ready(server, port, log)
        doomed = _Relay(f"http://127.0.0.1:{port}")
        args = json.dumps({"endpoints": [doomed.url, f"http://127.0.0.1:{port}/v1"], "concurrency": 4,
                           "timeout": 120})
        path = tmp_path / "fleet.yaml"
        path.write_text("name: fleet\nmodels:\n  - name: gemma-3-270m\n    engine: openai\n"
                        f"    args: {args}\nmt:\n  languages: [fra]\n  shots: [1]\n  limit: 40\n"
                        "  max_tokens: 32\n", encoding="utf-8")
        cache = tmp_path / "cache.sqlite"
        killer_done = []

        def kill_one_when_busy() -> None:  # runs in a thread: kill the relay once a few completions landed
            deadline = time.time() + 300
            while time.time() < deadline and _cached(cache) < 6:
                time.sleep(0.1)
            doomed.kill()  # dies, no goodbye
            killer_done.append(_cached(cache))

        killer = threading.Thread(target=kill_one_when_busy, daemon=True)
        killer.start()
        report = run_sweep(load_sweep(path), tmp_path / "r", cache_path=cache, chunk_size=40)
        killer.join(timeout=60)
        assert killer_done and killer_done[0] < 40, "the endpoint was not killed mid-sweep"
        assert report.generated == 40
        (run_dir,) = [p for p in (tmp_path / "r" / "fleet").iterdir() if p.is_dir()]
        rows = read_jsonl(run_dir / "predictions.jsonl")
        assert [r["id"] for r in rows] == [f"flores:{i}" for i in range(40)]
        assert all(r["error"] is None for r in rows), [r["error"] for r in rows if r["error"]][:3]
    finally:
        stop_server(server)
