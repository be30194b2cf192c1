"""Metrics: tables of cases, agreement with the sacrebleu command line, paired bootstrap sanity."""

from __future__ import annotations

import subprocess
import sys

import pytest

from icl.data import load_flores
from icl.metrics import (
    bootstrap_accuracy,
    bootstrap_mt,
    mcnemar_accuracy,
    paired_bootstrap_mt,
    score_accuracy,
    score_bleu,
    score_chrf,
    score_macro_f1,
    score_spbleu,
)


@pytest.mark.parametrize("pred,gold,expected", [
    (["a", "b", "c"], ["a", "b", "c"], 100.0),
    (["a", None, "c"], ["a", "b", "c"], 66.6667),
    ([None, None], ["a", "b"], 0.0),
    (["b", "a"], ["a", "b"], 0.0),
])
def test_accuracy(pred, gold, expected) -> None:
    assert score_accuracy(pred, gold).value == pytest.approx(expected, abs=1e-4)


@pytest.mark.parametrize("pred,gold,expected", [
    (["a", "b"], ["a", "b"], 100.0),
    (["a", "a"], ["a", "b"], 33.3333),   # F1(a)=2/3, F1(b)=0
    ([None, "b"], ["a", "b"], 50.0),     # F1(a)=0, F1(b)=1
    (["c", "c"], ["a", "b"], 0.0),       # a label never in gold does not add a class
])
def test_macro_f1(pred, gold, expected) -> None:
    assert score_macro_f1(pred, gold).value == pytest.approx(expected, abs=1e-4)


def test_length_mismatch_is_an_error() -> None:
    with pytest.raises(ValueError):
        score_accuracy(["a"], ["a", "b"])


def _hyps_refs(n: int = 40) -> tuple[list[str], list[str]]:
    pairs = load_flores("eng", "fra")[:n]
    refs = [p.target for p in pairs]
    # Real but imperfect hypotheses: references with words dropped and reordered.
    hyps = [" ".join(r.split()[: max(1, len(r.split()) * 2 // 3)][::-1 if i % 3 == 0 else 1]) for i, r in enumerate(refs)]
    return hyps, refs


def _cli(tmp_path, hyps, refs, *args: str) -> float:
    ref_file, hyp_file = tmp_path / "ref.txt", tmp_path / "hyp.txt"
    ref_file.write_text("\n".join(refs) + "\n", encoding="utf-8")
    hyp_file.write_text("\n".join(hyps) + "\n", encoding="utf-8")
    out = subprocess.run([sys.executable, "-m", "sacrebleu", str(ref_file), "-i", str(hyp_file), *args, "-b", "-w", "4"],
                         capture_output=True, text=True, check=True)
    return float(out.stdout.strip())


def test_bleu_agrees_with_sacrebleu_cli(tmp_path) -> None:
    hyps, refs = _hyps_refs()
    ours = score_bleu(hyps, refs)
    assert ours.value == pytest.approx(_cli(tmp_path, hyps, refs, "-m", "bleu"), abs=1e-3)
    assert ours.signature.startswith("nrefs:1|case:mixed|eff:no|tok:13a|smooth:exp|version:")


def test_chrf_plus_plus_agrees_with_sacrebleu_cli(tmp_path) -> None:
    hyps, refs = _hyps_refs()
    ours = score_chrf(hyps, refs)
    assert ours.value == pytest.approx(_cli(tmp_path, hyps, refs, "-m", "chrf", "--chrf-word-order", "2"), abs=1e-3)
    assert "nw:2" in ours.signature


def test_spbleu_is_reported_missing_not_faked_without_its_model() -> None:
    from icl.metrics import spbleu_available

    hyps, refs = _hyps_refs(5)
    score = score_spbleu(hyps, refs)
    if spbleu_available():
        assert score.value is not None and "tok:flores200" in score.signature
    else:
        assert score.value is None and "SentencePiece" in score.note


def test_paired_bootstrap_mt_gain_and_interval() -> None:
    hyps, refs = _hyps_refs()
    result = paired_bootstrap_mt("chrf++", hyps, refs, refs, resamples=200)
    assert result.delta > 0
    assert result.ci_low <= result.delta <= result.ci_high
    assert result.ci_low > 0  # the references beat the damaged hypotheses on every resample
    same = paired_bootstrap_mt("bleu", hyps, hyps, refs, resamples=100)
    assert same.delta == 0 and same.ci_low == 0 and same.ci_high == 0
    assert same.p_value == 1.0  # sacrebleu alone would say 1/101 for a system against itself


@pytest.mark.parametrize("a,b,sign", [
    ([True] * 5 + [False] * 45, [True] * 40 + [False] * 10, 1),
    ([True] * 40 + [False] * 10, [True] * 5 + [False] * 45, -1),
])
def test_mcnemar_accuracy(a, b, sign) -> None:
    result = mcnemar_accuracy(a, b, resamples=399)
    assert sign * result.delta > 0
    assert result.ci_low <= result.delta <= result.ci_high
    assert sign * result.ci_low > 0 if sign > 0 else result.ci_high < 0
    assert result.p_value < 0.05 and result.discordant == 0.7


def test_paired_tests_are_deterministic_per_seed() -> None:
    a = [i % 2 == 0 for i in range(30)]
    b = [i % 3 == 0 for i in range(30)]
    first, again = mcnemar_accuracy(a, b, seed=1), mcnemar_accuracy(a, b, seed=1)
    assert first == again and list(first.draws) == list(again.draws)


def _outputs() -> tuple[list[str], list[str], list[str]]:
    """References and two systems' outputs on real FLORES sentences: a weak one (first half of each
    reference) and one a fifth better, plus the cases that break statistics (empty, no overlap)."""
    refs = [ex.target for ex in load_flores("eng", "fra")[:30]]
    base = [" ".join(r.split()[: max(1, len(r.split()) // 2)]) for r in refs]
    system = [r if i % 5 == 0 else b for i, (r, b) in enumerate(zip(refs, base))]
    base[3], system[7] = "", "zzz qqq!"
    return refs, base, system


@pytest.mark.parametrize("metric,sacrebleu_name", [("bleu", "BLEU"), ("chrf++", "chrF2++")])
def test_paired_bootstrap_mt_is_sacrebleus_public_test(metric: str, sacrebleu_name: str,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """Same seed, same resamples: our p-value equals sacrebleu's public `PairedTest` (the paired
    bootstrap of `sacrebleu --paired-bs`), and the scores are its corpus scores."""
    from sacrebleu.significance import PairedTest

    from icl.metrics.mt import _sacrebleu_metric

    refs, base, system = _outputs()
    monkeypatch.setenv("SACREBLEU_SEED", "7")
    _, theirs = PairedTest([("baseline", base), ("system", system)], {sacrebleu_name: _sacrebleu_metric(metric)},
                           [refs], test_type="bs", n_samples=300)()
    ours = paired_bootstrap_mt(metric, base, system, refs, resamples=300, seed=7)
    assert ours.p_value == pytest.approx(theirs[sacrebleu_name][1].p_value, abs=1e-4)  # ours is rounded to 4 places
    assert ours.p_value > 0.004  # not the floor 1/301: the test really compares the counting
    assert ours.system == pytest.approx(theirs[sacrebleu_name][1].score, abs=1e-3)
    assert ours.baseline == pytest.approx(theirs[sacrebleu_name][0].score, abs=1e-3)


@pytest.mark.parametrize("metric", ["bleu", "chrf++"])
def test_sufficient_statistics_give_sacrebleus_corpus_scores(metric: str) -> None:
    """Summed sentence statistics (icl.metrics.mt_stats) score exactly as sacrebleu's corpus_score, on
    every subset a bootstrap could draw (here: prefixes, one sentence, repeated sentences)."""
    from icl.metrics.mt import _sacrebleu_metric
    from icl.metrics.mt_stats import score_from_stats, sentence_stats

    refs, base, system = _outputs()
    scorer = _sacrebleu_metric(metric)
    for hyps in (base, system):
        stats = sentence_stats(metric, hyps, refs)
        for rows in ([0], [3], [7], list(range(10)), list(range(30)), [1, 1, 2, 7, 7, 7]):
            expected = scorer.corpus_score([hyps[i] for i in rows], [[refs[i] for i in rows]]).score
            assert score_from_stats(metric, stats[rows].sum(0)) == pytest.approx(expected, abs=1e-4), rows


@pytest.mark.parametrize("metric", ["chrf++", "bleu"])
def test_bootstrap_mt_interval_holds_the_corpus_score(metric: str) -> None:
    """One system's interval: its value is sacrebleu's corpus score, inside an interval of real width,
    and the resampling is deterministic per seed."""
    hyps, refs = _hyps_refs()
    result = bootstrap_mt(metric, hyps, refs, resamples=200)
    expected = (score_chrf if metric == "chrf++" else score_bleu)(hyps, refs).value
    assert result.value == pytest.approx(expected, abs=1e-3)
    assert result.ci_low < result.value < result.ci_high and type(result.value) is float
    assert bootstrap_mt(metric, hyps, refs, resamples=200) == result
    perfect = bootstrap_mt(metric, refs, refs, resamples=50)
    assert perfect.value == perfect.ci_low == perfect.ci_high == 100.0


@pytest.mark.parametrize(("correct", "value"), [([True] * 10, 100.0), ([False] * 10, 0.0), ([True, False] * 20, 50.0)])
def test_bootstrap_accuracy_interval(correct: list[bool], value: float) -> None:
    result = bootstrap_accuracy(correct, resamples=300)
    assert result.value == value and result.ci_low <= value <= result.ci_high
    if 0 < value < 100:
        assert result.ci_low < value < result.ci_high
