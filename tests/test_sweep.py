"""Sweep files: every combination becomes a frozen spec with a stable id; bad keys and values are named."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from icl.errors import ConfigError
from icl.spec import spec_from_json, spec_to_json
from icl.sweep.load import load_sweep

BASE = """
name: t
seeds: [0, 1]
models:
  - {name: gemma-3-270m, engine: vllm}
mt:
  languages: [fra, swa]
  directions: [en-xx, xx-en]
  shots: [0, 5]
  templates: [plain, chat]
  selectors: [shared, bm25]
  limit: 10
intent:
  languages: [sw-KE]
  modes: [rank, generate]
"""


def _sweep(tmp_path: Path, text: str):
    path = tmp_path / "s.yaml"
    path.write_text(text, encoding="utf-8")
    return load_sweep(path)


def test_expands_every_combination(tmp_path: Path) -> None:
    sweep = _sweep(tmp_path, BASE)
    mt = [r for r in sweep.runs if r.task == "mt"]
    assert len(mt) == 4 * 2 * 2 * 2 * 2  # directions x templates x shots x selectors x seeds
    assert {(r.src, r.tgt) for r in mt} == {("eng", "fra"), ("fra", "eng"), ("eng", "swa"), ("swa", "eng")}
    assert len([r for r in sweep.runs if r.task == "intent"]) == 2 * 2  # modes x seeds
    assert len({r.run_id for r in sweep.runs}) == len(sweep.runs)


def test_runs_with_identical_prompts_are_collapsed_into_one(tmp_path: Path) -> None:
    """Selectors and seeds at 0 shots, and seeds under a selector with nothing random (bm25), show the
    model the same prompts: one run each, which says what it stands for."""
    from icl.run.prepare import prepare_runs

    sweep = _sweep(tmp_path, BASE)
    prepared = prepare_runs(sweep.runs, sweep.datasets)
    mt = [r for r in prepared.runs if r.task == "mt"]
    # per direction and template: one 0-shot run, shared with each seed, bm25 once
    assert len(mt) == 4 * 2 * (1 + 2 + 1)
    assert {(r.shots, r.selector, r.seed) for r in mt} == {(0, "shared", 0), (5, "shared", 0), (5, "shared", 1),
                                                           (5, "bm25", 0)}
    assert len([r for r in prepared.runs if r.task == "intent"]) == 2  # seeds change nothing at 0 shots
    zero = next(r for r in mt if r.shots == 0)
    assert {tuple(sorted(s.fields)) for s in prepared.same_as[zero]} == {
        (("seed", 1),), (("selector", "bm25"),), (("seed", 1), ("selector", "bm25"))}
    assert all("at 0 shots no demo is shown" in s.why for s in prepared.same_as[zero])


def test_run_specs_are_frozen_and_ids_stable(tmp_path: Path) -> None:
    a, b = _sweep(tmp_path, BASE), _sweep(tmp_path, BASE.replace("name: t", "name: other"))
    assert [r.run_id for r in a.runs] == [r.run_id for r in b.runs]  # the id ignores the sweep name
    with pytest.raises(dataclasses.FrozenInstanceError):
        a.runs[0].shots = 3  # type: ignore[misc]
    spec = a.runs[5]
    assert spec_from_json(spec_to_json(spec)) == spec


def test_changing_a_value_changes_the_id(tmp_path: Path) -> None:
    a = _sweep(tmp_path, BASE).runs[0]
    b = _sweep(tmp_path, BASE.replace("limit: 10", "limit: 11")).runs[0]
    assert a.run_id != b.run_id


@pytest.mark.parametrize("edit,message", [
    (("shots: [0, 5]", "shotz: [0, 5]"), r"mt\.shotz: unknown key \(known: .*shots"),
    (("name: t", "name: t\nmodelz: []"), r"modelz: unknown key"),
    (("engine: vllm}", "engine: vllm, temp: 1}"), r"models\[0\]\.temp: unknown key"),
    (("engine: vllm}", "engine: llamacpp}"), r"models\[0\]\.engine: unknown engine 'llamacpp'"),
    (("[fra, swa]", "[fra, swk]"), r"mt\.languages\[1\]: unknown language code 'swk' \(did you mean"),
    (("shots: [0, 5]", "shots: 5"), r"mt\.shots: expected a non-empty list"),
    (("shots: [0, 5]", "shots: [0, five]"), r"mt\.shots: 'five' is not a int"),
    (("[shared, bm25]", "[shared, knn]"), r"mt\.selectors: 'knn' is not one of"),
    (("templates: [plain, chat]", "templates: [plain, poem]"), r"mt\.templates\[1\]: .*poem\.j2: template not found"),
    (("modes: [rank, generate]", "modes: [rank, vote]"), r"intent\.modes: 'vote' is not one of"),
    (("limit: 10", "limit: -3"), r"mt\.limit: must be a positive"),
    (("directions: [en-xx, xx-en]", "directions: [both]"), r"mt\.directions: 'both' is not one of"),
])
def test_errors_name_the_key(tmp_path: Path, edit: tuple[str, str], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        _sweep(tmp_path, BASE.replace(*edit))


def test_malformed_yaml_names_file_and_line(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"s\.yaml:6: malformed YAML"):
        _sweep(tmp_path, "name: t\nmodels:\n  - {name: x, engine: vllm}\nmt:\n  languages: [fra\n  shots: [0]\n")


def test_missing_sweep_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="nope.yaml: sweep file not found"):
        load_sweep(tmp_path / "nope.yaml")


def test_shipped_experiments_parse() -> None:
    root = Path(__file__).resolve().parent.parent / "experiments"
    for path in sorted(root.glob("*.yaml")):
        assert load_sweep(path).runs, path
    quick = load_sweep(root / "quickstart.yaml")
    assert {r.tgt for r in quick.runs if r.task == "mt"} >= {"fra", "swa"}
    assert {r.shots for r in quick.runs if r.task == "mt"} == {0, 1, 5}
    assert {r.src for r in quick.runs if r.task == "intent"} >= {"eng", "swa"}
    assert all(r.mode == "rank" for r in quick.runs if r.task == "intent")
