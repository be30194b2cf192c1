"""Self-labelled demonstrations: in-language pool text labelled by the run's own model, cached, with
provenance, and never a test item."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import pytest

from icl.analysis.results import read_jsonl
from icl.engines import Completion, GenParams
from icl.run.runner import run_sweep
from icl.spec import ModelSpec
from icl.sweep.load import load_sweep
from icl.values.prompt import Prompt


class FakeEngine:
    """Deterministic stand-in: generations echo a marker, scores favour one label; calls are counted."""

    def __init__(self) -> None:
        self.generated: list[str] = []
        self.scored: list[str] = []

    def generate(self, prompts: Sequence[Prompt], params: GenParams,
                 on_result: Callable[[int, Completion], None] | None = None) -> list[Completion]:
        outs = []
        for i, p in enumerate(prompts):
            self.generated.append(p.as_key())
            out = Completion(text=f" english-{len(self.generated)}\n")
            outs.append(out)
            if on_result is not None:
                on_result(i, out)
        return outs

    def score(self, prompts: Sequence[Prompt], continuations: Sequence[Sequence[str]]) -> list[list[float]]:
        self.scored.extend(p.as_key() for p in prompts)
        return [[1.0 if c.strip() == "weather_query" else -float(len(c)) for c in conts] for conts in continuations]

    def close(self) -> None:
        pass


SWEEP = """name: selfdemo
models: [{name: fake, engine: hf}]
mt:
  languages: [swa]
  directions: [en-xx, xx-en]
  shots: [2]
  selectors: [first]
  pools: ["flores-heldout:30"]
  augment: [none, selflabel]
  limit: 3
  max_tokens: 16
intent:
  languages: [sw-KE]
  shots: [2]
  modes: [rank]
  selectors: [bm25]
  pools: ["train:en-US", train]
  augment: [none, selflabel]
  limit: 3
"""


def test_selflabel_runs_label_pool_text_with_the_model(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("icl.augment.selflabel.SIZE", 8)
    path = tmp_path / "s.yaml"
    path.write_text(SWEEP, encoding="utf-8")
    sweep = load_sweep(path)
    augments = sorted((r.task, r.augment, r.pool.text) for r in sweep.runs)
    # selflabel needs in-language text: never with the English pool
    assert ("intent", "selflabel", "train:en-US") not in augments and ("intent", "selflabel", "train") in augments
    engine = FakeEngine()
    run_sweep(sweep, tmp_path / "results", engine_factory=lambda model: engine, cache_path=tmp_path / "c.sqlite")
    out = tmp_path / "results" / "selfdemo"
    mt_runs = sorted(out.glob("mt-*-selflabel-*"))
    assert len(mt_runs) == 2
    for run in mt_runs:
        rows = read_jsonl(run / "predictions.jsonl")
        test_ids = {r["id"] for r in rows}
        for row in rows:
            assert len(row["demo_ids"]) == 2 and all(d.startswith("selflabel:flores:") for d in row["demo_ids"])
            assert not {d.split(":", 1)[1] for d in row["demo_ids"]} & test_ids  # never a scored item
            assert all(int(d.rsplit(":", 1)[1]) < 30 for d in row["demo_ids"])  # from the held-out pool
            assert [p["labelled_by"] for p in row["demo_provenance"]] == ["fake (hf)"] * 2
            assert all("Swahili: " in p["prompt"] and p["prompt"].rstrip().endswith("English:")
                       for p in row["demo_provenance"])
            assert "english-" in row["prompt"]  # the model's back-translations are the demos' English side
    # both directions label the same 8 sentences with the same prompts: asked once, then from the cache
    labelling = [p for p in engine.generated if p.rstrip().endswith("English:") and "\n\n" not in p]
    assert len(labelling) == 8
    intent_run = next(out.glob("intent-*-selflabel-*"))
    rows = read_jsonl(intent_run / "predictions.jsonl")
    assert all(p["labelled_by"] == "fake (hf)" and "Intent:" in p["prompt"] for r in rows for p in r["demo_provenance"])
    assert "weather_query" in rows[0]["prompt"]  # demos carry the model's own label
    before = (len(engine.generated), len(engine.scored))
    again = run_sweep(load_sweep(path), tmp_path / "results", engine_factory=lambda model: engine,
                      cache_path=tmp_path / "c.sqlite")
    assert again.engine_calls == 0 and (len(engine.generated), len(engine.scored)) == before


def test_selflabel_without_a_model_is_a_clear_error() -> None:
    from icl.errors import ConfigError
    from icl.run.items import build_items
    from icl.spec import Pool, RunSpec

    spec = RunSpec(sweep="x", task="mt", model=ModelSpec("m", "hf"), src="eng", tgt="swa", template="mt/plain",
                   shots=2, selector="first", seed=0, pool=Pool("ntrex"), limit=2, augment="selflabel")
    with pytest.raises(ConfigError, match="selflabel labels demonstrations with the run's model"):
        build_items(spec)
