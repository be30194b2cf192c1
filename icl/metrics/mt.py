"""MT metrics as pure functions: sacrebleu's own BLEU, spBLEU and chrF++ objects, so the signature that
travels with a score is sacrebleu's and the number agrees with the `sacrebleu` command line on the same
files (a test checks this); and sacrebleu's paired bootstrap with the interval of the gain."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

from icl.metrics.base import Interval, PairedResult, Score


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


def bootstrap_mt(metric: str, hyps: Sequence[str], refs: Sequence[str], resamples: int = 1000,
                 seed: int = 12345) -> Interval:
    """The corpus score of one system with the 2.5/97.5 percentiles of its score over item resamples:
    the same resampling (RNG, index matrix, corpus scores from summed sentence statistics) as
    `paired_bootstrap_mt`, one system at a time."""
    import numpy as np

    from icl.metrics.mt_stats import score_from_stats, sentence_stats

    n = len(refs)
    if n == 0 or len(hyps) != n:
        raise ValueError("a bootstrap needs a non-empty hypothesis list as long as the references")
    idxs = np.random.default_rng(seed).choice(n, size=(resamples, n), replace=True)
    stats = sentence_stats(metric, hyps, refs)
    scores = np.sort([score_from_stats(metric, s.sum(0)) for s in stats[idxs]])
    return Interval(metric, round(float(score_from_stats(metric, stats.sum(0))), 4),
                    round(float(np.percentile(scores, 2.5)), 4), round(float(np.percentile(scores, 97.5)), 4), n,
                    resamples, f"bootstrap over items ({resamples} resamples, seed {seed}), corpus {metric} "
                               "of each resample; 95% percentile interval")


def paired_bootstrap_mt(metric: str, baseline_hyps: Sequence[str], system_hyps: Sequence[str],
                        refs: Sequence[str], resamples: int = 1000, seed: int = 12345) -> PairedResult:
    """sacrebleu's paired bootstrap test (Koehn 2004, as `sacrebleu --paired-bs` runs it), with the
    interval of the gain, which sacrebleu reports only per system.

    Step for step sacrebleu's: its RNG and index matrix, corpus scores from resampled sufficient
    statistics (icl.metrics.mt_stats), the p-value of the mean-centred absolute differences, except
    that an observed difference of exactly 0 gets p = 1 (no evidence of a difference). The 2.5/97.5
    percentiles of the per-resample deltas give the 95% interval.
    """
    import numpy as np

    from icl.metrics.mt_stats import corpus_score, score_from_stats, sentence_stats

    n = len(refs)
    if n == 0 or len(baseline_hyps) != n or len(system_hyps) != n:
        raise ValueError("paired bootstrap needs two non-empty hypothesis lists as long as the references")
    rng = np.random.default_rng(seed)
    idxs = rng.choice(n, size=(resamples, n), replace=True)
    bl_stats, sys_stats = sentence_stats(metric, baseline_hyps, refs), sentence_stats(metric, system_hyps, refs)
    bl_score, sys_score = corpus_score(metric, bl_stats), corpus_score(metric, sys_stats)
    scores_bl = np.array([score_from_stats(metric, s.sum(0)) for s in bl_stats[idxs]])
    scores_sys = np.array([score_from_stats(metric, s.sum(0)) for s in sys_stats[idxs]])
    sample_diffs = np.abs(scores_sys - scores_bl)
    if sys_score == bl_score:
        # sacrebleu counts only resamples strictly above the observed difference, so two identical
        # systems get p = 1/(resamples+1); a zero difference is no evidence of a difference.
        p_value = 1.0
    else:
        centred = sample_diffs - sample_diffs.mean()
        p_value = (int(np.sum(centred > abs(bl_score - sys_score))) + 1) / (resamples + 1)
    deltas = np.sort(scores_sys - scores_bl)
    return PairedResult(metric, round(float(bl_score), 4), round(float(sys_score), 4),
                        round(float(sys_score - bl_score), 4), round(float(np.percentile(deltas, 2.5)), 4),
                        round(float(np.percentile(deltas, 97.5)), 4), round(float(p_value), 4), n, resamples,
                        f"sacrebleu paired bootstrap ({resamples} resamples, seed {seed}); 95% CI of the paired delta")
