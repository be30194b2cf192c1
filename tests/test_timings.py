"""Phase timings: what `icl run` writes to timings.json and the lm-eval benchmark prints."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import pytest

from icl.engines import Completion, GenParams
from icl.run.runner import run_sweep
from icl.run.timings import ORDER, Phases, process_age
from icl.sweep.load import load_sweep
from icl.values.prompt import Prompt

SWEEP = """name: timed
models:
  - name: fake
    engine: hf
mt:
  languages: [fra]
  shots: [0, 1]
  limit: 3
  max_tokens: 8
intent:
  languages: [en-US]
  shots: [0]
  modes: [rank]
  limit: 2
"""


class SlowStartEngine:
    """Takes 0.2 s to start and 0.1 s per call; says how its start divides, as the vLLM engine does."""

    def __init__(self) -> None:
        time.sleep(0.2)
        self.startup = {"engine import": 0.05, "model load": 0.1}

    def generate(self, prompts: Sequence[Prompt], params: GenParams,
                 on_result: Callable[[int, Completion], None] | None = None) -> list[Completion]:
        time.sleep(0.1)
        outs = [Completion(text=" x\n") for _ in prompts]
        for i, out in enumerate(outs):
            if on_result is not None:
                on_result(i, out)
        return outs

    def score(self, prompts: Sequence[Prompt], continuations: Sequence[Sequence[str]]) -> list[list[float]]:
        time.sleep(0.1)
        return [[-float(len(c)) for c in conts] for conts in continuations]

    def close(self) -> None:
        pass


def test_phases_add_up_and_keep_the_order_of_a_run() -> None:
    phases = Phases()
    phases.add("generation", 1.0)
    phases.add("custom step", 0.5)
    with phases.phase("sweep load"):
        pass
    phases.add("generation", 2.0)
    assert [n for n, _ in phases.ordered()] == ["sweep load", "generation", "custom step"]
    assert phases.seconds["generation"] == 3.0
    assert phases.line() == "generation 3.0s, custom step 0.5s"  # phases under 0.05 s are left out
    assert phases.to_json(12.3456) == {"phases": {"sweep load": pytest.approx(0.0, abs=0.01), "generation": 3.0,
                                                  "custom step": 0.5}, "process_seconds": 12.346}


def test_process_age_sees_the_time_before_main() -> None:
    age = process_age()
    if age is None:
        pytest.skip("no /proc on this system")
    assert 0 < age < time.monotonic() + 1  # positive, and this process is younger than the machine's uptime
    time.sleep(0.05)
    later = process_age()
    assert later is not None and later >= age + 0.04


def test_a_sweep_writes_its_phases(tmp_path: Path) -> None:
    path = tmp_path / "timed.yaml"
    path.write_text(SWEEP, encoding="utf-8")
    report = run_sweep(load_sweep(path), tmp_path / "results", cache_path=tmp_path / "c.sqlite",
                       engine_factory=lambda model: SlowStartEngine())
    timings = json.loads((tmp_path / "results" / "timed" / "timings.json").read_text(encoding="utf-8"))
    phases = timings["phases"]
    assert list(phases) == [n for n in ORDER if n in phases]  # in the order they happen
    for name in ("data load", "prompt build", "engine import", "model load", "generation", "rank scoring",
                 "scoring", "writing results"):
        assert name in phases, name
    assert phases["engine import"] == 0.05 and phases["model load"] == 0.1
    assert 0.04 <= phases["engine start"] < 1.0  # the rest of the 0.2 s start (a loaded machine oversleeps)
    assert phases["generation"] >= 0.1 and phases["rank scoring"] >= 0.1
    assert timings["process_seconds"] is None or timings["process_seconds"] >= sum(phases.values()) - 0.01
    assert report.phases.seconds == pytest.approx(phases, abs=0.001)

    # A cached re-run starts no engine: no engine phases at all.
    run_sweep(load_sweep(path), tmp_path / "results", cache_path=tmp_path / "c.sqlite",
              engine_factory=lambda model: pytest.fail("an engine was started"))
    again = json.loads((tmp_path / "results" / "timed" / "timings.json").read_text(encoding="utf-8"))["phases"]
    assert not {"engine import", "model load", "engine start", "generation", "rank scoring"} & set(again)
