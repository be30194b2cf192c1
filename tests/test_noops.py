"""No silent no-ops: a condition that changes no prompt is collapsed into the run it equals (and the
table says so) where the sweep plainly means it, or refused before any model loads where it changes
nothing anywhere; problems of many runs come in one message."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import pytest

from icl.engines import Completion, GenParams
from icl.errors import ConfigError
from icl.run.prepare import prepare_runs
from icl.run.runner import run_sweep
from icl.sweep.load import load_sweep
from icl.values.prompt import Prompt


class EchoEngine:
    """Deterministic, and different for different prompts: a 'translation' that depends on the prompt."""

    def generate(self, prompts: Sequence[Prompt], params: GenParams,
                 on_result: Callable[[int, Completion], None] | None = None) -> list[Completion]:
        outs = [Completion(text=" " + " ".join(p.as_key().split()[-6:])) for p in prompts]
        for i, out in enumerate(outs):
            if on_result is not None:
                on_result(i, out)
        return outs

    def score(self, prompts: Sequence[Prompt], continuations: Sequence[Sequence[str]]) -> list[list[float]]:
        return [[-float(len(c)) for c in conts] for conts in continuations]

    def close(self) -> None:
        pass


def _sweep(tmp_path: Path, body: str):
    path = tmp_path / "s.yaml"
    path.write_text("name: noop\nmodels: [{name: fake, engine: hf}]\n" + body, encoding="utf-8")
    return load_sweep(path)


def _refused(sweep, tmp_path: Path) -> str:
    with pytest.raises(ConfigError) as info:
        run_sweep(sweep, tmp_path / "results", engine_factory=lambda model: pytest.fail("an engine was started"))
    assert not (tmp_path / "results" / sweep.name / "runs.txt").exists()
    return str(info.value)


def test_hints_under_a_template_without_hints_are_refused(tmp_path: Path) -> None:
    """The issue's case: augment [none, hints] with the default `plain` template, long-tail languages
    with a lexicon, both directions, 0 and 3 shots: every hints run equals its none twin."""
    sweep = _sweep(tmp_path, """mt:
  languages: [lug, wol, ewe]
  directions: [en-xx, xx-en]
  shots: [0, 3]
  pools: ["heldout:5"]
  augment: [none, hints]
  limit: 4
""")
    message = _refused(sweep, tmp_path)
    assert message.startswith("augment: hints changes no prompt in 12 runs")
    assert "template mt/plain does not render hints" in message and "mt/hints" in message
    assert "\n" not in message


def test_a_lone_augment_that_changes_nothing_is_refused_against_its_twin(tmp_path: Path) -> None:
    sweep = _sweep(tmp_path, "mt: {languages: [swa], shots: [0], augment: [hints], limit: 3}\n")
    message = _refused(sweep, tmp_path)
    assert message.startswith("augment: hints changes no prompt in 1 run") and "does not render hints" in message


def test_hints_that_reach_one_template_are_collapsed_under_the_other(tmp_path: Path) -> None:
    sweep = _sweep(tmp_path, """mt:
  languages: [swa]
  templates: [plain, hints]
  shots: [0]
  augment: [none, hints]
  limit: 4
""")
    prepared = prepare_runs(sweep.runs, sweep.datasets)
    kept = {(r.template, r.augment) for r in prepared.runs}
    # plain+hints = plain+none; hints+none = plain+none too (mt/hints without hints is mt/plain)
    assert kept == {("mt/plain", "none"), ("mt/hints", "hints")}
    plain = next(r for r in prepared.runs if r.template == "mt/plain")
    whys = {tuple(sorted(s.fields)): s.why for s in prepared.same_as[plain]}
    assert "template mt/plain does not render hints" in whys[(("augment", "hints"),)]
    assert "render the same prompts" in whys[(("template", "mt/hints"),)]


def test_the_table_and_gains_say_what_was_collapsed(tmp_path: Path) -> None:
    """Selectors at 0 shots are collapsed (they matter at 2 shots); the table names them, and gains
    list the comparison that would have been a +0.00 row as not compared instead."""
    sweep = _sweep(tmp_path, """mt:
  languages: [swa]
  shots: [0, 2]
  selectors: [first, random]
  pools: ["heldout:5"]
  limit: 3
gains:
  - name: random vs first
    baseline: {selector: first}
    system: {selector: random}
""")
    report = run_sweep(sweep, tmp_path / "results", engine_factory=lambda model: EchoEngine())
    assert report.collapsed == 1 and len(report.runs) == 3
    table = (tmp_path / "results" / "noop" / "table.md").read_text(encoding="utf-8")
    assert "same_as" in table and "selector=random: at 0 shots no demo is shown" in table
    gains = (tmp_path / "results" / "noop" / "gains.md").read_text(encoding="utf-8")
    assert "| 2 | random vs first |" in gains and "| 0 | random vs first |" not in gains
    assert "random vs first, eng-swa, 0 shots: not compared" in gains


def test_morph_is_collapsed_where_it_cannot_inflect_and_says_why(tmp_path: Path) -> None:
    sweep = _sweep(tmp_path, """mt:
  languages: [swa]
  directions: [en-xx, xx-en]
  templates: [hints]
  shots: [0]
  augment: [none, hints]
  morph: [off, on]
  limit: 6
""")
    prepared = prepare_runs(sweep.runs, sweep.datasets)
    whys = [s.why for same in prepared.same_as.values() for s in same if dict(s.fields).get("morph") == "on"]
    assert any("augment none uses none" in w for w in whys)  # morph without a lexicon path
    assert any("morph inflects English-source hints only" in w for w in whys)  # xx-en hints


def test_seeds_that_change_nothing_anywhere_are_refused(tmp_path: Path) -> None:
    sweep = _sweep(tmp_path, "seeds: [0, 1]\nmt: {languages: [swa, fra], shots: [0], limit: 2}\n")
    message = _refused(sweep, tmp_path)
    assert message.startswith("seed: 1 changes no prompt in 2 runs") and "at 0 shots no demo is shown" in message


def test_many_unusable_runs_are_listed_in_one_message(tmp_path: Path) -> None:
    """Languages with and without a lexicon: every one without is named at once, nothing runs."""
    sweep = _sweep(tmp_path, """mt:
  languages: [swa, fra, kin, khm, mya, npi]
  templates: [hints]
  shots: [0]
  augment: [hints]
  limit: 2
""")
    message = _refused(sweep, tmp_path)
    for code in ("kin", "khm", "mya", "npi"):  # none of these has a lexicon in the catalogue
        assert f"{code}: no lexicon in lexicons/catalogue.yaml for augment=hints" in message
    assert message.startswith("4 of 6 runs cannot be built; nothing was run") and message.count("\n- ") == 4


def test_a_zero_shot_run_needs_no_pool_even_where_the_pool_has_no_code(tmp_path: Path) -> None:
    """Ganda is not an NTREX-128 language: 0-shot runs build with an NTREX pool, few-shot ones say
    what to do before any model loads."""
    zero = _sweep(tmp_path, "mt: {languages: [lug], shots: [0], pools: [ntrex], limit: 2}\n")
    assert len(prepare_runs(zero.runs, zero.datasets).runs) == 1
    few = _sweep(tmp_path, "mt: {languages: [lug], shots: [1], pools: [ntrex], limit: 2}\n")
    message = _refused(few, tmp_path)
    assert "pools: 'ntrex' has no eng-lug data in this data folder" in message


def test_plan_shows_what_run_would_refuse(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from icl.cli.main import app

    path = tmp_path / "s.yaml"
    path.write_text("name: noop\nmodels: [{name: fake, engine: hf}]\n"
                    "mt: {languages: [swa, kin], shots: [0], augment: [none, hints], limit: 2}\n", encoding="utf-8")
    result = CliRunner().invoke(app, ["plan", str(path)])
    assert result.exit_code == 2
    assert "icl run would refuse this sweep" in result.output
    assert "kin: no lexicon" in result.output and "augment: hints changes no prompt" in result.output
