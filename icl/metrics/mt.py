"""MT metrics as pure functions: sacrebleu's own BLEU, spBLEU and chrF++ objects, so the signature that
travels with a score is sacrebleu's and the number agrees with the `sacrebleu` command line on the same
files (a test checks this); and sacrebleu's paired bootstrap with the interval of the gain."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

from icl.metrics.base import PairedResult, Score


def _sacrebleu_metric(name: str):
    from sacrebleu.metrics import BLEU, CHRF

    if name == "bleu":
        return BLEU()
    if name == "spbleu":
        return BLEU(tokenize="flores200")
    if name == "chrf++":
        return CHRF(word_order=2)
    raise KeyError(name)


def spbleu_available() -> bool:
    """spBLEU needs the FLORES-200 SentencePiece model in sacrebleu's cache; sacrebleu would download it."""
    from sacrebleu.tokenizers.tokenizer_spm import SACREBLEU_DIR  # type: ignore[attr-defined]

    return (Path(SACREBLEU_DIR) / "models" / "flores200_sacrebleu_tokenizer_spm.model").is_file()


def score_sacrebleu(name: str, hypotheses: Sequence[str], references: Sequence[str]) -> Score:
    """Corpus BLEU / spBLEU / chrF++ with sacrebleu's signature (single reference)."""
    if len(hypotheses) != len(references):
        raise ValueError(f"{name}: {len(hypotheses)} hypotheses for {len(references)} references")
    if name == "spbleu" and not spbleu_available():
        return Score(name, None, "", len(hypotheses),
                     note="flores200 SentencePiece model not in sacrebleu's cache (~/.sacrebleu/models); "
                          "sacrebleu downloads it on first use, which needs network")
    metric = _sacrebleu_metric(name)
    result = metric.corpus_score(list(hypotheses), [list(references)])
    return Score(name, round(float(result.score), 4), str(metric.get_signature()), len(hypotheses))


def score_bleu(hyps: Sequence[str], refs: Sequence[str]) -> Score:
    return score_sacrebleu("bleu", hyps, refs)


def score_spbleu(hyps: Sequence[str], refs: Sequence[str]) -> Score:
    return score_sacrebleu("spbleu", hyps, refs)


def score_chrf(hyps: Sequence[str], refs: Sequence[str]) -> Score:
    return score_sacrebleu("chrf++", hyps, refs)


MT_METRICS: dict[str, Callable[[Sequence[str], Sequence[str]], Score]] = {
    "bleu": score_bleu,
    "spbleu": score_spbleu,
    "chrf++": score_chrf,
}


def paired_bootstrap_mt(metric: str, baseline_hyps: Sequence[str], system_hyps: Sequence[str],
                        refs: Sequence[str], resamples: int = 1000, seed: int = 12345) -> PairedResult:
    """sacrebleu's paired bootstrap test (`sacrebleu.significance._paired_bs_test`, after Koehn 2004).

    The resampling is sacrebleu's own, step for step (its RNG, index matrix, sufficient statistics and
    p-value function), except that an observed difference of exactly 0 gets p = 1. On top of it we keep
    the per-resample deltas, whose 2.5/97.5 percentiles give the 95% interval of the gain, which
    sacrebleu reports only per system.
    """
    import numpy as np
    from sacrebleu.significance import _compute_p_value

    n = len(refs)
    if n == 0 or len(baseline_hyps) != n or len(system_hyps) != n:
        raise ValueError("paired bootstrap needs two non-empty hypothesis lists as long as the references")
    metric_obj = _sacrebleu_metric(metric)
    rng = np.random.default_rng(seed)
    idxs = rng.choice(n, size=(resamples, n), replace=True)
    bl_stats = metric_obj._extract_corpus_statistics(list(baseline_hyps), [list(refs)])
    sys_stats = metric_obj._extract_corpus_statistics(list(system_hyps), [list(refs)])
    bl_score = metric_obj._aggregate_and_compute(bl_stats).score
    sys_score = metric_obj._aggregate_and_compute(sys_stats).score
    bl_np, sys_np = np.array(bl_stats, dtype="float32"), np.array(sys_stats, dtype="float32")
    scores_bl = np.array([metric_obj._compute_score_from_stats(s.sum(0)).score for s in bl_np[idxs]])
    scores_sys = np.array([metric_obj._compute_score_from_stats(s.sum(0)).score for s in sys_np[idxs]])
    sample_diffs = np.abs(scores_sys - scores_bl)
    if sys_score == bl_score:
        # sacrebleu counts only resamples strictly above the observed difference, so two identical
        # systems get p = 1/(resamples+1); a zero difference is no evidence of a difference.
        p_value = 1.0
    else:
        p_value = _compute_p_value(sample_diffs - sample_diffs.mean(), abs(bl_score - sys_score))
    deltas = np.sort(scores_sys - scores_bl)
    return PairedResult(metric, round(float(bl_score), 4), round(float(sys_score), 4),
                        round(float(sys_score - bl_score), 4), round(float(np.percentile(deltas, 2.5)), 4),
                        round(float(np.percentile(deltas, 97.5)), 4), round(float(p_value), 4), n, resamples,
                        f"sacrebleu paired bootstrap ({resamples} resamples, seed {seed}); 95% CI of the paired delta")
