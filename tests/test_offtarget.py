"""Off-target outputs (icl.metrics.offtarget): real FLORES sentences identified in several languages and scripts,
a language the identifier does not know, the paired test, and metrics.json / the results table carrying it."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
from scipy.stats import norm

from icl.analysis.gains import compare_runs
from icl.analysis.results import read_json, table_rows, write_json, write_jsonl
from icl.analysis.scoring import rescore_run
from icl.config import data_dir
from icl.metrics import mcnemar_accuracy
from icl.metrics.offtarget import (
    CLD2_ALIASES,
    Identifier,
    cld2,
    known_languages,
    off_target,
    paired_off_target,
    score_off_target,
)
from icl.tasks import get_task


def flores(stem: str, n: int = 1, start: int = 0) -> list[str]:
    """Real FLORES-200 devtest sentences of one variety."""
    lines = (data_dir() / "flores200" / "devtest" / f"{stem}.devtest").read_text(encoding="utf-8").splitlines()
    return lines[start:start + n]


@pytest.mark.parametrize(("stem", "target", "on_target"), [
    ("fra_Latn", "fra", True),
    ("eng_Latn", "fra", False),           # the commonest failure: the English source echoed
    ("swh_Latn", "swa", True),            # FLORES swh_Latn is icl's swa; CLD2 says `sw`
    ("eng_Latn", "swa", False),
    ("spa_Latn", "spa", True),
    ("por_Latn", "spa", False),           # a close relative is still another language
    ("amh_Ethi", "amh", True),            # Ethiopic script
    ("rus_Cyrl", "ukr", False),           # same script, other language
    ("ukr_Cyrl", "ukr", True),
    ("arb_Arab", "arb_Arab", True),       # `ar` is a macrolanguage code: its representative, Standard Arabic
    ("zho_Hant", "zho_Hant", True),       # `zh` names the language, not the script
    ("jpn_Jpan", "zho_Hans", False),
    ("hin_Deva", "hin", True),
    ("hin_Deva", "mar", False),           # Devanagari, another language
    ("cym_Latn", "cym", True),
    ("lug_Latn", "lug", True),            # low-resource languages CLD2 knows: Ganda, Tigrinya, Wolof
    ("tir_Ethi", "tir", True),
    ("amh_Ethi", "tir", False),           # Ethiopic script, another language
    ("wol_Latn", "wol", True),
    ("eng_Latn", "wol", False),
])
def test_real_sentences_are_identified_against_the_target(stem: str, target: str, on_target: bool) -> None:
    texts = flores(stem, 3)
    result = off_target(texts, target)
    assert result.known
    assert result.off == [not on_target] * 3


@pytest.mark.parametrize(("hypotheses", "value", "empty"), [
    (flores("fra_Latn", 4), 0.0, 0),
    (flores("fra_Latn", 2) + flores("eng_Latn", 2), 50.0, 0),
    (flores("swh_Latn", 3, start=1), 100.0, 0),           # Swahili is not French
    (flores("fra_Latn", 3) + [""], 25.0, 1),              # empty: off target, and counted apart
    (flores("fra_Latn", 2) + ["2019.", None], 50.0, 2),   # no letter, or no prediction at all: as empty
    (flores("fra_Latn", 3) + ["ok"], 25.0, 0),            # too short for CLD2 to tell: off target, not empty
    (flores("eng_Latn", 4), 100.0, 0),
])
def test_the_share_counts_every_output_not_in_the_target(hypotheses: list[str | None], value: float,
                                                         empty: int) -> None:
    score = score_off_target(hypotheses, "fra")
    assert score.name == "off-target"
    assert score.value == value
    assert score.n == len(hypotheses)
    assert score.signature.startswith("CLD2 (pycld2 ")
    assert f"{empty} empty or without a letter" in score.note
    if any(h and h in flores("eng_Latn", 4) for h in hypotheses):
        assert "identified as eng" in score.note


@pytest.mark.parametrize(("language", "name"), [("ewe", "Ewe"), ("fon", "Fon"), ("bam", "Bambara"),
                                              ("arz", "Egyptian Arabic")])
def test_a_language_the_identifier_does_not_know_gets_no_number(language: str, name: str) -> None:
    """CLD2 has no label for these: whatever the outputs, no share is made up."""
    score = score_off_target(flores("eng_Latn", 2), language)
    assert score.value is None
    assert score.note == f"identifier does not know {name}"
    assert paired_off_target(flores("eng_Latn", 2), flores("eng_Latn", 2), language, 99, 1) is None
    metrics = [r.metric for r in get_task("mt").compare(["a b"] * 3, ["a b"] * 3, ["a b"] * 3, 99, 1, language)]
    assert metrics == ["chrf++", "bleu"]


def test_no_target_language_no_share() -> None:
    assert score_off_target(["Bonjour."], None).value is None
    assert get_task("mt").score(["Bonjour."], ["Bonjour."])["off-target"].note == "no target language given"


def test_labels_are_read_as_the_identifier_means_them() -> None:
    """CLD2's `bh` is the Bihari group; read as icl resolves ISO 639-1 `bh`, it would be Bhojpuri alone."""
    assert "bho" not in known_languages(Identifier("bh only", ("bh",), lambda text: "bh", CLD2_ALIASES))
    assert "bho" in known_languages(Identifier("bh as ISO", ("bh",), lambda text: "bh"))
    assert {"eng", "fra", "swa", "cym", "sqi", "amh", "lug", "wol", "tir", "orm", "lin"} <= known_languages(cld2())
    assert "ewe" not in known_languages(cld2())


def test_the_paired_test_is_mcnemar_on_the_off_target_verdicts() -> None:
    """Baseline: 12 English echoes and 8 French; system: 2 echoes. The gain is the change in the off-target share."""
    french, english = flores("fra_Latn", 20), flores("eng_Latn", 20)
    baseline = english[:12] + french[12:]
    system = english[:2] + french[2:]
    result = paired_off_target(baseline, system, "fra", 999, 1)
    assert result is not None and result.metric == "off-target"
    assert (result.baseline, result.system, result.delta) == (60.0, 10.0, -50.0)
    # 10 discordant items, all improved: McNemar's score test, z = 10 / sqrt(10)
    assert result.p_value == pytest.approx(2 * norm.sf(10 / math.sqrt(10)))
    assert result.ci_high < 0
    assert result.p_greater < 0.05 and result.p_less > 0.95   # better: fewer outputs in the wrong language
    plain = mcnemar_accuracy([True] * 12 + [False] * 8, [True] * 2 + [False] * 18, 999, 1)
    assert (result.p_value, result.ci_low, result.ci_high) == (plain.p_value, plain.ci_low, plain.ci_high)
    same = paired_off_target(baseline, baseline, "fra", 999, 1)
    assert same is not None and (same.delta, same.p_value) == (0.0, 1.0)
    assert get_task("mt").compare(baseline, system, french, 999, 1, "fra")[-1].metric == "off-target"


def _run(root: Path, name: str, tgt: str, outputs: list[str], references: list[str]) -> Path:
    run = root / name
    run.mkdir(parents=True)
    write_json(run / "spec.json", {"run_id": name, "task": "mt", "mode": "generate", "src": "eng", "tgt": tgt,
                                   "model": {"name": "m", "engine": "vllm"}, "template": "mt/plain", "shots": 0,
                                   "selector": "shared", "seed": 0})
    write_jsonl(run / "predictions.jsonl", [
        {"id": f"flores:{i}", "source": "", "reference": ref, "output": out, "error": None, "prediction": out}
        for i, (out, ref) in enumerate(zip(outputs, references, strict=True))])
    return run


def test_metrics_json_and_the_table_carry_the_share(tmp_path: Path) -> None:
    refs = flores("fra_Latn", 4)
    run = _run(tmp_path / "sweep", "echo", "fra", flores("eng_Latn", 3) + refs[3:], refs)
    assert rescore_run(run)
    scores = read_json(run / "metrics.json")["scores"]
    assert scores["off-target"]["value"] == 75.0
    assert "3 of 4 outputs not identified as French" in scores["off-target"]["note"]
    assert scores["chrf++"]["value"] is not None
    row = table_rows(tmp_path / "sweep")[0]
    assert row["off-target"] == "75.00"
    unknown = _run(tmp_path / "other", "ewe", "ewe", flores("eng_Latn", 2), flores("ewe_Latn", 2))
    rescore_run(unknown)
    body = json.loads((unknown / "metrics.json").read_text(encoding="utf-8"))
    assert body["scores"]["off-target"]["value"] is None
    assert body["scores"]["off-target"]["note"] == "identifier does not know Ewe"
    assert table_rows(tmp_path / "other")[0]["off-target"] == ""


def test_gains_compare_the_share_between_runs(tmp_path: Path) -> None:
    refs = flores("fra_Latn", 10)
    base = _run(tmp_path, "base", "fra", flores("eng_Latn", 10), refs)
    system = _run(tmp_path, "system", "fra", flores("eng_Latn", 1) + refs[1:], refs)
    rows = {r.metric: r for r in compare_runs(base, system, resamples=999)}
    assert set(rows) == {"chrf++", "bleu", "off-target"}
    assert (rows["off-target"].baseline, rows["off-target"].system, rows["off-target"].delta) == (100.0, 10.0, -90.0)
