"""`icl plan` counts exactly what the runner asks of its engines, without loading a model; `icl run`
refuses a sweep of more than 10,000 runs unless told `--yes`, before building anything."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path

import pytest
from typer.testing import CliRunner

from icl.cli import app
from icl.engines import Completion, GenParams
from icl.errors import ConfigError, IclError
from icl.run.cache import CompletionCache
from icl.run.plan import plan_sweep, token_counter
from icl.run.runner import run_sweep
from icl.sweep.count import RUN_LIMIT, refuse_over_limit
from icl.sweep.load import load_grid, load_sweep
from icl.values.prompt import Prompt

REPO = Path(__file__).resolve().parent.parent
runner = CliRunner()


class RecordingEngine:
    """Answers everything at once and records what it was asked."""

    def __init__(self) -> None:
        self.generated: list[tuple[str, GenParams]] = []
        self.scored: list[tuple[str, str]] = []

    def generate(self, prompts: Sequence[Prompt], params: GenParams,
                 on_result: Callable[[int, Completion], None] | None = None) -> list[Completion]:
        outs = []
        for i, p in enumerate(prompts):
            self.generated.append((p.as_key(), params))
            outs.append(Completion(text=" x\n"))
            if on_result is not None:
                on_result(i, outs[-1])
        return outs

    def score(self, prompts: Sequence[Prompt], continuations: Sequence[Sequence[str]]) -> list[list[float]]:
        self.scored.extend((p.as_key(), c) for p, conts in zip(prompts, continuations, strict=True) for c in conts)
        return [[-float(len(c)) for c in conts] for conts in continuations]

    def close(self) -> None:
        pass


SMALL = """name: small
models: [{name: gemma-3-270m, engine: vllm}]
mt:
  languages: [fra, swa]
  directions: [en-xx, xx-en]
  shots: [0, 1]
  selectors: [shared]
  pools: [ntrex]
  limit: 3
  max_tokens: 8
intent:
  languages: [en-US]
  shots: [0, 1]
  modes: [rank, generate]
  limit: 2
"""


def test_plan_counts_what_the_runner_sends_and_then_finds_it_cached(tmp_path: Path, model_dir: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("icl.run.plan.build.inputs_stamp", lambda sweep: "fixed")  # others may edit icl/ meanwhile
    path = tmp_path / "small.yaml"
    path.write_text(SMALL, encoding="utf-8")
    sweep = load_sweep(path)
    cache_path = tmp_path / "c.sqlite"

    before = plan_sweep(sweep, cache_path=cache_path)
    (model,) = before.models
    assert before.runs == len(sweep.runs) == 12 and dict(before.runs_by_task) == {"mt": 8, "intent": 4}
    assert model.generate_cached == model.continuations_cached == 0
    assert model.estimate.seconds is None and "no completion cache" in model.estimate.basis

    engine = RecordingEngine()
    run_sweep(sweep, tmp_path / "results", cache_path=cache_path, engine_factory=lambda m: engine)
    assert model.generate == len(engine.generated) == len(set(engine.generated))
    assert model.continuations == len(engine.scored) == len(set(engine.scored))
    assert model.score_prompts == len({p for p, _ in engine.scored})
    assert model.items == 8 * 3 + 4 * 2
    assert model.prompt_tokens is not None and model.prompt_tokens == model.missing_tokens > 0

    after = plan_sweep(sweep, cache_path=cache_path)
    (model2,) = after.models
    assert after.remembered == 12  # keys came from the memo the first plan wrote
    assert (model2.generate_missing, model2.continuations_missing, model2.score_prompts_missing) == (0, 0, 0)
    assert model2.generate_cached == model.generate and model2.missing_tokens == 0
    assert model2.estimate.seconds == 0

    rebuilt = plan_sweep(sweep, cache_path=cache_path, use_memo=False)
    assert rebuilt.remembered == 0 and rebuilt.models == after.models


def test_estimate_comes_from_recorded_throughput(tmp_path: Path, model_dir: Path) -> None:
    path = tmp_path / "small.yaml"
    path.write_text(SMALL.replace("limit: 3", "limit: 2"), encoding="utf-8")
    cache_path = tmp_path / "c.sqlite"
    engine = RecordingEngine()
    run_sweep(load_sweep(path), tmp_path / "results", cache_path=cache_path, engine_factory=lambda m: engine)
    cache = CompletionCache(cache_path)
    from icl.run.requests import engine_identity

    identity = engine_identity(load_sweep(path).runs[0].model)
    gen = cache.throughput(identity, "generate")
    assert gen is not None and gen.prompts == len(engine.generated)
    cache.record_throughput(identity, "generate", 10, None, 20.0)  # a slow machine's history dominates
    cache.close()
    path.write_text(SMALL, encoding="utf-8")  # one more item in each of the 8 MT runs: 8 generations more
    plan = plan_sweep(load_sweep(path), cache_path=cache_path)
    (model,) = plan.models
    assert model.generate_missing == 8 and model.score_prompts_missing == 0
    rate = (20.0 + gen.seconds) / (10 + gen.prompts)
    assert model.estimate.seconds == pytest.approx(8 * rate + _start_seconds(cache_path, identity), rel=1e-6)
    assert "8 generations x" in model.estimate.basis and f"over {10 + gen.prompts} generations" in model.estimate.basis


def _start_seconds(cache_path: Path, identity: str) -> float:
    cache = CompletionCache(cache_path)
    start = cache.throughput(identity, "start")
    cache.close()
    return start.seconds_per_prompt if start is not None else 0.0


def test_old_cache_files_gain_the_throughput_table(tmp_path: Path) -> None:
    import sqlite3

    path = tmp_path / "old.sqlite"
    db = sqlite3.connect(path)
    db.execute("CREATE TABLE completions (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
    db.execute("INSERT INTO completions VALUES ('k', '{\"text\": \"t\", \"error\": null}')")
    db.commit()
    db.close()
    cache = CompletionCache(path)
    assert cache.get_many(["k"]) == {"k": {"text": "t", "error": None}} and cache.existing(["k", "x"]) == {"k"}
    assert cache.throughput("id", "generate") is None
    cache.record_throughput("id", "generate", 4, None, 2.0)
    cache.record_throughput("id", "generate", 1, 50, 3.0)
    rate = cache.throughput("id", "generate")
    assert rate is not None and (rate.calls, rate.prompts) == (2, 5) and rate.seconds_per_prompt == 1.0
    assert cache.throughput("id", "score") is None and cache.throughput("other", "generate") is None
    cache.close()


def test_token_counts_match_the_models_tokenizer(model_dir: Path) -> None:
    from transformers import AutoTokenizer

    from icl.spec import ModelSpec

    counter = token_counter(ModelSpec("gemma-3-270m", "vllm"))
    hf = AutoTokenizer.from_pretrained(model_dir)
    texts = ["English: The cat sat.\nFrench:", "  ünïcode, 中文 and\ttabs\n\n", ""]
    assert counter.count([Prompt(text=t) for t in texts]) == [len(hf(t)["input_ids"]) for t in texts]
    msgs = (("system", "Translate."), ("user", "Hello"))
    chat = hf.apply_chat_template([{"role": r, "content": c} for r, c in msgs], add_generation_prompt=True,
                                  tokenize=True, return_dict=False)
    assert counter.count([Prompt(messages=msgs)]) == [len(chat)]


def test_tokens_are_unknown_without_a_tokenizer() -> None:
    from icl.spec import ModelSpec

    counter = token_counter(ModelSpec("some-org/no-such-model", "openai"))
    assert counter.count([Prompt(text="x")]) is None and "unknown" in counter.source


EXTRA = """name: rules
models: [{name: a, engine: hf}, {name: b, engine: hf}]
seeds: [0, 1]
mt:
  languages: [fra, eng, swa]
  directions: [en-xx, xx-en]
  shots: [0, 2]
  selectors: [first, random]
  pools: [ntrex, "flores-heldout:10"]
  augment: [none, hints, synthetic, hints+synthetic, selflabel]
  morph: [off, on]
intent:
  languages: [sw-KE, en-US]
  modes: [rank, generate]
  shots: [0, 1]
  pools: [train, "train:en-US", "train:sw-KE"]
  augment: [none, selflabel]
"""


@pytest.mark.parametrize("name", sorted(p.name for p in (REPO / "experiments").glob("*.yaml")) + ["rules"])
def test_grid_counts_agree_with_load_sweep(name: str, tmp_path: Path) -> None:
    path = REPO / "experiments" / name
    if name == "rules":
        path = tmp_path / "rules.yaml"
        path.write_text(EXTRA, encoding="utf-8")
    try:
        expected = Counter(spec.task for spec in load_sweep(path).runs)
    except IclError as exc:
        pytest.skip(f"does not load here: {exc}")
    assert load_grid(path).counts() == {task: n for task, n in expected.items()}


def _seeds_sweep(path: Path, seeds: int) -> Path:
    path.write_text(f"name: typo\nseeds: [{', '.join(map(str, range(seeds)))}]\n"
                    "models: [{name: gemma-3-270m, engine: vllm}]\n"
                    "mt: {languages: [fra, swa, spa], shots: [0, 1, 5], limit: 2}\n", encoding="utf-8")
    return path


def test_run_refuses_a_huge_sweep_at_once(tmp_path: Path) -> None:
    path = _seeds_sweep(tmp_path / "typo.yaml", 100_000)  # 900,000 runs: 40 s just to expand
    began = time.perf_counter()
    result = runner.invoke(app, ["run", str(path), "--results", str(tmp_path / "r")])
    assert time.perf_counter() - began < 15
    assert result.exit_code == 2
    assert result.stderr.strip() == f"icl: error: {path}: 900,000 runs (over 10,000); check its lists or pass --yes"
    assert not (tmp_path / "r").exists()  # nothing built, nothing written
    planned = runner.invoke(app, ["plan", str(path)])
    assert planned.exit_code == 0 and "900,000 runs" in planned.stdout and "not built" in planned.stdout


def test_limit_is_just_above_10000(tmp_path: Path) -> None:
    assert RUN_LIMIT == 10_000
    def check(path: Path) -> None:
        refuse_over_limit(path, sum(load_grid(path).counts().values()))

    check(_seeds_sweep(tmp_path / "ok.yaml", 1111))  # 9,999 runs pass
    with pytest.raises(ConfigError, match="10,008 runs"):
        check(_seeds_sweep(tmp_path / "over.yaml", 1112))


def test_yes_lets_a_large_sweep_through(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("icl.sweep.count.RUN_LIMIT", 2)
    path = tmp_path / "remote.yaml"
    path.write_text("name: remote\nmodels:\n  - name: gemma-3-270m\n    engine: openai\n"
                    "    args: {endpoints: ['http://127.0.0.1:9'], timeout: 2}\n"
                    "mt: {languages: [fra, swa, spa], limit: 1}\n", encoding="utf-8")
    refused = runner.invoke(app, ["run", str(path), "--results", str(tmp_path / "r")])
    assert refused.exit_code == 2 and "3 runs (over 2); check its lists or pass --yes" in refused.stderr
    passed = runner.invoke(app, ["run", str(path), "--yes", "--results", str(tmp_path / "r")])
    assert passed.exit_code == 2 and "no endpoint reachable" in passed.stderr  # it got as far as the engine


def test_plan_command_prints_counts_and_an_estimate(tmp_path: Path, model_dir: Path) -> None:
    path = tmp_path / "small.yaml"
    path.write_text(SMALL, encoding="utf-8")
    result = runner.invoke(app, ["plan", str(path)])
    assert result.exit_code == 0, result.output
    for text in ("12 runs (mt 8, intent 4)", "prompts to generate", "label continuations", "prompt tokens",
                 "estimate: unknown (no completion cache yet", "no model loaded"):
        assert text in result.stdout


SELF = """name: selfplan
models: [{name: gemma-3-270m, engine: vllm}]
mt:
  languages: [swa]
  shots: [2]
  selectors: [first]
  pools: ["flores-heldout:30"]
  augment: [none, selflabel]
  limit: 2
  max_tokens: 8
"""


def test_self_labelled_runs_are_counted_once_their_labels_are_cached(tmp_path: Path, model_dir: Path,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("icl.augment.selflabel.SIZE", 4)
    monkeypatch.setattr("icl.run.plan.build.inputs_stamp", lambda sweep: "fixed")
    path = tmp_path / "self.yaml"
    path.write_text(SELF, encoding="utf-8")
    sweep = load_sweep(path)
    cache_path = tmp_path / "c.sqlite"
    CompletionCache(cache_path).close()
    first = plan_sweep(sweep, cache_path=cache_path)
    assert first.models[0].unbuilt == 1 and first.models[0].items == 2  # only the gold-demo run is counted
    again = plan_sweep(sweep, cache_path=cache_path)  # remembered as waiting for the same labels
    assert again.models[0].unbuilt == 1 and again.remembered == 1
    engine = RecordingEngine()
    run_sweep(sweep, tmp_path / "results", cache_path=cache_path, engine_factory=lambda m: engine)
    after = plan_sweep(sweep, cache_path=cache_path)
    (model,) = after.models
    assert model.unbuilt == 0 and model.items == 4 and model.generate_missing == 0


def test_quick_plan_is_an_upper_bound_read_from_the_data(tmp_path: Path, model_dir: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    from icl.run.plan import quick_plan

    path = tmp_path / "small.yaml"
    path.write_text(SMALL, encoding="utf-8")
    sweep = load_sweep(path)
    monkeypatch.setattr("icl.run.items.build_items", lambda *a, **k: pytest.fail("quick_plan built a prompt"))
    (quick,) = quick_plan(sweep, cache_path=tmp_path / "none.sqlite")
    monkeypatch.undo()
    (exact,) = plan_sweep(sweep, cache_path=tmp_path / "none.sqlite", use_memo=False).models
    assert quick.runs == 12 and quick.items == exact.items == 8 * 3 + 4 * 2
    assert quick.generate == 8 * 3 + 2 * 2 >= exact.generate  # 0-shot prompts repeat across runs: asked once
    assert quick.score_prompts == 2 * 2 >= exact.score_prompts
    assert quick.continuations == quick.score_prompts * 60 >= exact.continuations  # MASSIVE's 60 intents
    assert quick.estimate.seconds is None and "no completion cache" in quick.estimate.basis

    result = CliRunner().invoke(app, ["plan", str(path), "--quick"])
    assert result.exit_code == 0, result.output
    assert "12 runs, 32 test items: at most 28 prompts to generate, 4 to score (240 label continuations)" \
           in " ".join(result.output.split())
    assert "planned in" not in result.output  # --quick stops before building prompts


@pytest.mark.parametrize(("body", "header"), [
    # every run shows its own scored items as demos: none can be built, none was collapsed
    ("mt: {languages: [fra, swa, spa], shots: [1], pools: [flores200/devtest], limit: 3}\n",
     "0 runs; 3 cannot be built (below)"),
    # selectors at 0 shots are one run; at 1 shot they differ
    ("mt: {languages: [fra], shots: [0, 1], selectors: [first, random], pools: [dev], limit: 3}\n",
     "3 runs (mt 3); 1 more collapsed into these (identical prompts, see the table's same_as)"),
    ("mt: {languages: [fra], shots: [0], limit: 3}\n", "1 run (mt 1)"),
])
def test_plan_header_says_what_became_of_every_run(tmp_path: Path, body: str, header: str) -> None:
    path = tmp_path / "s.yaml"
    path.write_text(f"name: s\nmodels:\n  - name: fake\n    engine: hf\n{body}", encoding="utf-8")
    result = runner.invoke(app, ["plan", str(path)])
    said = " ".join(result.stdout.split())  # rich wraps long lines at the terminal's width
    assert f"sweep s ({path}): {header} " in said + " "
    assert ("collapsed" in said) == ("collapsed" in header) and "0 runs ()" not in said
    assert result.exit_code == (2 if "cannot be built" in header else 0)
