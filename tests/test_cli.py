"""The CLI through Typer's CliRunner: listings, rendering, and one-line errors with exit status 2."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from icl.cli import app

runner = CliRunner()


def test_langs_lists_availability() -> None:
    result = runner.invoke(app, ["langs", "--json"])
    assert result.exit_code == 0, result.output
    rows = {r["code"]: r for r in json.loads(result.stdout)}
    assert len(rows) > 300
    assert {"flores", "massive", "unimorph", "lexicon"} <= set(rows["swa"]["data"].split(","))
    assert "massive" not in rows["lug"]["data"] and rows["lug"]["resource"] == "low"
    assert next(iter(rows)) != "eng"  # low-resource first
    assert rows["kin"]["resource"] == "low" and "flores" in rows["kin"]["data"]  # Joshi et al. class 1
    assert rows["kin"]["class"] == "1" and rows["eng"]["class"] == "5" and rows["sot"]["class"] == "-"


def test_langs_shows_and_filters_the_class() -> None:
    result = runner.invoke(app, ["langs", "--resource", "0", "--has", "flores", "--why"])
    assert result.exit_code == 0, result.output
    assert "class" in result.stdout and "resource_source" in result.stdout and "Awadhi" in result.stdout
    rows = json.loads(runner.invoke(app, ["langs", "--json", "--resource", "2,3"]).stdout)
    assert rows and {r["class"] for r in rows} == {"2", "3"} and {r["resource"] for r in rows} == {"low", "mid"}


def test_langs_filters() -> None:
    result = runner.invoke(app, ["langs", "--json", "--has", "flores,lexicon", "--resource", "low"])
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    assert rows and all(r["resource"] == "low" and {"flores", "lexicon"} <= set(r["data"].split(",")) for r in rows)
    assert {"swa", "lug", "wol"} <= {r["code"] for r in rows} and "fra" not in {r["code"] for r in rows}
    bad = runner.invoke(app, ["langs", "--has", "wikipedia"])
    assert bad.exit_code == 2 and "--has: 'wikipedia' is not one of flores" in bad.output


def test_prompts_render_prints_the_exact_prompt() -> None:
    result = runner.invoke(app, ["prompts", "render", "mt/plain", "--lang", "sw", "--shots", "2", "--seed", "3"])
    assert result.exit_code == 0, result.output
    assert result.stdout.rstrip().endswith("Swahili:")
    assert result.stdout.count("English: ") == 3
    again = runner.invoke(app, ["prompts", "render", "mt/plain", "--lang", "sw", "--shots", "2", "--seed", "3"])
    assert again.stdout == result.stdout


def test_prompts_render_chat_and_rank() -> None:
    chat = runner.invoke(app, ["prompts", "render", "mt/chat", "--lang", "fra", "--shots", "1"])
    assert chat.exit_code == 0 and "[system]" in chat.stdout and "[assistant]" in chat.stdout
    rank = runner.invoke(app, ["prompts", "render", "intent/labels", "--lang", "sw-KE", "--mode", "rank"])
    assert rank.exit_code == 0 and rank.stdout.rstrip().endswith("Intent:")


def test_prompts_lint_passes() -> None:
    result = runner.invoke(app, ["prompts", "lint"])
    assert result.exit_code == 0 and "templates OK" in result.stdout


def test_bad_language_is_one_line_exit_2() -> None:
    result = runner.invoke(app, ["prompts", "render", "mt/plain", "--lang", "swk"])
    assert result.exit_code == 2
    assert result.stderr.strip().count("\n") == 0
    assert "unknown language code 'swk'" in result.stderr and "Traceback" not in result.output


def test_bad_sweep_is_one_line_exit_2(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: x\nmodels: [{name: gemma-3-270m, engine: vllm}]\nmt: {languages: [fra], shotz: [1]}\n")
    result = runner.invoke(app, ["run", str(bad)])
    assert result.exit_code == 2
    assert "bad.yaml: mt.shotz: unknown key" in result.stderr


def test_score_on_missing_folder_is_clean(tmp_path: Path) -> None:
    result = runner.invoke(app, ["score", str(tmp_path / "nothing")])
    assert result.exit_code == 2 and "results folder not found" in result.stderr


def test_unreachable_endpoint_is_one_line_exit_2(tmp_path: Path) -> None:
    sweep = tmp_path / "remote.yaml"
    sweep.write_text("name: remote\nmodels:\n  - name: gemma-3-270m\n    engine: openai\n"
                     "    args: {endpoints: ['http://127.0.0.1:9'], timeout: 2}\n"
                     "mt: {languages: [fra], limit: 1}\n")
    result = runner.invoke(app, ["run", str(sweep), "--results", str(tmp_path / "r")])
    assert result.exit_code == 2
    assert "no endpoint reachable (http://127.0.0.1:9)" in result.stderr
    assert (tmp_path / "r" / "remote").is_dir()  # specs written before the engine was needed stay


STUDY_SWEEP = """name: study
models:
  - name: fake
    engine: hf
mt:
  languages: [fra]
  shots: [0, 1]
  limit: 12
  max_tokens: 8
"""


def _cached_answers(path: Path, answer: dict[int, str]) -> None:
    """Every answer of the sweep put in the completion cache (`answer[shots]`: the reference, or a fixed
    text), so `icl run` needs no engine: a 0-shot run that answers "x" and a 1-shot run that is exact."""
    from icl.config import cache_dir
    from icl.run.cache import CompletionCache
    from icl.run.items import build_items
    from icl.run.requests import engine_identity, item_requests
    from icl.sweep.load import load_sweep

    sweep = load_sweep(path)
    cache = CompletionCache(cache_dir() / "completions.sqlite")
    for spec in sweep.runs:
        for item in build_items(spec, sweep.datasets).items:
            [request] = item_requests(spec, item, engine_identity(spec.model))
            text = item.example.target if answer[spec.shots] == "reference" else answer[spec.shots]
            cache.put_many({request.key: {"text": text, "error": None}})
    cache.close()


def test_run_ends_with_the_study(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "study.yaml"
    path.write_text(STUDY_SWEEP + "gains:\n  - name: 1-shot vs 0-shot\n    baseline: {shots: 0}\n"
                    "    system: {shots: 1}\n", encoding="utf-8")
    _cached_answers(path, {0: "x", 1: "reference"})
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(app, ["run", str(path)])
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    study = lines[lines.index("study: families (rows corrected together with Holm)"):]
    assert study[1].startswith("  default/bleu: 1 rows, 1 * after Holm, median MDE ")
    assert study[2].startswith("  default/chrf++: 1 rows, 1 * after Holm, median MDE ")
    assert study[3].startswith("  default/off-target: 1 rows, 1 * after Holm, median MDE ")  # "x" is no French
    assert study[4] == "3 of 3 rows survive the correction (gain, 95% CI):"
    assert re.fullmatch(r"  1-shot vs 0-shot \| eng-fra \| bleu \| \+\d+\.\d\d \[\+\d+\.\d\d, \+\d+\.\d\d\]", study[5])
    assert study[6].startswith("  1-shot vs 0-shot | eng-fra | chrf++ | +")
    assert study[7].startswith("  1-shot vs 0-shot | eng-fra | off-target | -")
    assert study[8:] == ["the study in full: results/study/gains.md"]  # relative to the working directory


def test_run_of_a_sweep_without_comparisons_prints_no_study(tmp_path: Path) -> None:
    path = tmp_path / "study.yaml"
    path.write_text(STUDY_SWEEP, encoding="utf-8")
    _cached_answers(path, {0: "x", 1: "x"})
    result = runner.invoke(app, ["run", str(path)])
    assert result.exit_code == 0, result.output
    assert "study" not in result.stdout.replace("study (2 runs)", "") and "gains.md" not in result.stdout


def test_a_study_where_no_row_survives_says_so(tmp_path: Path) -> None:
    path = tmp_path / "study.yaml"
    path.write_text(STUDY_SWEEP + "gains:\n  - name: 1-shot vs 0-shot\n    baseline: {shots: 0}\n"
                    "    system: {shots: 1}\n", encoding="utf-8")
    _cached_answers(path, {0: "x", 1: "x"})
    result = runner.invoke(app, ["run", str(path)])
    assert result.exit_code == 0, result.output
    assert "\n0 of 3 rows survive the correction\nthe study in full: " in result.stdout
