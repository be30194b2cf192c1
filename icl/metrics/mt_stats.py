"""Sentence-level sufficient statistics of BLEU and chrF++, and corpus scores from their sums: what a
paired bootstrap resamples.

sacrebleu computes these too, but only in private methods (`_extract_corpus_statistics`,
`_compute_score_from_stats`), which is why icl once pinned sacrebleu below 3. BLEU's statistics come
from its public API (a sentence score's `counts`, `totals`, `sys_len`, `ref_len`, and the public
`BLEU.compute_bleu`). chrF++ exposes none, so its statistics are a small copy of sacrebleu 2.x's own
(Apache-2.0: `CHRF._remove_punctuation`, `_get_match_statistics`, `_compute_f_score`, with its public
n-gram helpers), for sacrebleu's defaults only (6 character and 2 word orders, beta 2, no lowercasing,
whitespace ignored, effective-order smoothing). tests/test_metrics.py checks both against sacrebleu's
`corpus_score` on real outputs, and the test's p-values against sacrebleu's public `PairedTest`.
"""

from __future__ import annotations

import string
from collections import Counter
from collections.abc import Sequence

import numpy as np

STATS_METRICS = ("bleu", "chrf++")
"""Metrics with sufficient statistics here (the ones gains compare)."""

_PUNCTS = frozenset(string.punctuation)
_CHAR_ORDER, _WORD_ORDER, _BETA = 6, 2, 2


def _words(sentence: str) -> list[str]:
    """chrF's primitive tokenization: punctuation split off the end (or else the start) of each word."""
    out: list[str] = []
    for w in sentence.split():
        if len(w) == 1:
            out.append(w)
        elif w[-1] in _PUNCTS:
            out += [w[:-1], w[-1]]
        elif w[0] in _PUNCTS:
            out += [w[0], w[1:]]
        else:
            out.append(w)
    return out


def _chrf_ngrams(sentence: str) -> list[Counter[str]]:
    from sacrebleu.metrics.helpers import extract_all_char_ngrams, extract_word_ngrams

    grams = extract_all_char_ngrams(sentence, _CHAR_ORDER, False)
    words = _words(sentence)
    return grams + [extract_word_ngrams(words, n) for n in range(1, _WORD_ORDER + 1)]


def _chrf_sentence(hyp: str, ref: str) -> list[int]:
    stats: list[int] = []
    for h, r in zip(_chrf_ngrams(hyp), _chrf_ngrams(ref), strict=True):
        match = sum(min(count, r[g]) for g, count in h.items() if g in r)
        stats += [sum(h.values()) if r else 0, sum(r.values()), match]
    return stats


def _chrf_score(stats: Sequence[float]) -> float:
    """chrF from summed [hyp, ref, match] counts per order: sacrebleu's `_compute_f_score` without eps
    smoothing, operation for operation (resampled sums are float32, as in sacrebleu, so the order of
    operations decides the last bits)."""
    factor = _BETA**2
    avg_prec, avg_rec = 0.0, 0.0
    effective = 0
    for i in range(_CHAR_ORDER + _WORD_ORDER):
        n_hyp, n_ref, n_match = stats[3 * i : 3 * i + 3]
        if n_hyp > 0 and n_ref > 0:
            avg_prec += n_match / n_hyp
            avg_rec += n_match / n_ref
            effective += 1
    if effective == 0:
        avg_prec = avg_rec = 0.0
    else:
        avg_prec /= effective
        avg_rec /= effective
    if avg_prec + avg_rec:
        score = (1 + factor) * avg_prec * avg_rec
        score /= (factor * avg_prec) + avg_rec
        return 100 * score  # float32 for float32 sums: sacrebleu's resampled scores are too
    return 0.0


def sentence_stats(metric: str, hyps: Sequence[str], refs: Sequence[str]) -> np.ndarray:
    """One row of sufficient statistics per sentence (float32, as sacrebleu keeps them, so that resampled
    sums and their scores are exactly its own)."""
    if metric == "bleu":
        from sacrebleu.metrics import BLEU

        bleu = BLEU(effective_order=True)  # only silences its sentence-level advice: counts are the same
        rows = []
        for hyp, ref in zip(hyps, refs, strict=True):
            s = bleu.sentence_score(hyp, [ref])
            rows.append([s.sys_len, s.ref_len, *s.counts, *s.totals])
        return np.array(rows, dtype="float32")
    if metric == "chrf++":
        return np.array([_chrf_sentence(h, r) for h, r in zip(hyps, refs, strict=True)], dtype="float32")
    raise KeyError(f"{metric}: no sufficient statistics (known: {', '.join(STATS_METRICS)})")


def score_from_stats(metric: str, summed: Sequence[float]) -> float:  # a numpy scalar for chrF of float32 sums
    """The corpus score of summed statistics, as sacrebleu's `_compute_score_from_stats` computes it
    (counts as given, lengths as ints)."""
    if metric == "bleu":
        from sacrebleu.metrics import BLEU

        return float(BLEU.compute_bleu(correct=summed[2:6], total=summed[6:10], sys_len=int(summed[0]),
                                       ref_len=int(summed[1]), smooth_method="exp").score)
    if metric == "chrf++":
        return _chrf_score(summed)
    raise KeyError(f"{metric}: no sufficient statistics (known: {', '.join(STATS_METRICS)})")


def corpus_score(metric: str, stats: np.ndarray) -> float:
    """The corpus score of a whole system, from integer sums (as sacrebleu's `corpus_score`)."""
    return score_from_stats(metric, [int(x) for x in np.rint(stats.sum(0))])


def scores_from_stats(metric: str, summed: np.ndarray) -> np.ndarray:
    """Corpus scores of many summed statistic rows at once (k x stats -> k): `score_from_stats`, vectorised
    over bootstrap resamples (tests/test_metrics.py checks it row by row against sacrebleu's formulas)."""
    if metric == "bleu":
        return _bleu_scores(np.asarray(summed, dtype=np.float64))
    if metric == "chrf++":
        return _chrf_scores(np.asarray(summed, dtype=np.float64))
    raise KeyError(f"{metric}: no sufficient statistics (known: {', '.join(STATS_METRICS)})")


def _bleu_scores(stats: np.ndarray) -> np.ndarray:
    """sacrebleu's `BLEU.compute_bleu` with exp smoothing and 4 orders: the brevity penalty, a zero where no
    n-gram matches or an order has no n-grams at all, and NIST smoothing (each order without a match gets
    100 / (2^k total), k counting such orders so far)."""
    sys_len, ref_len = stats[:, 0], stats[:, 1]
    correct, total = stats[:, 2:6], stats[:, 6:10]
    with np.errstate(divide="ignore", invalid="ignore"):
        bp = np.where(sys_len < ref_len, np.where(sys_len > 0, np.exp(1 - ref_len / sys_len), 0.0), 1.0)
        halvings = np.cumsum(correct == 0, axis=1)
        precisions = np.where(correct == 0, 100.0 / (2.0**halvings * total), 100.0 * correct / total)
        score = bp * np.exp(np.log(precisions).sum(axis=1) / 4)
    dead = ~np.any(correct > 0, axis=1) | np.any(total == 0, axis=1)
    return np.where(dead, 0.0, score)


def _chrf_scores(stats: np.ndarray) -> np.ndarray:
    """`_chrf_score` over rows: per-order precision and recall averaged over the orders with both hypothesis
    and reference n-grams, then the F-beta score."""
    hyp, ref, match = stats[:, 0::3], stats[:, 1::3], stats[:, 2::3]
    effective = (hyp > 0) & (ref > 0)
    count = effective.sum(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        prec = np.where(effective, match / hyp, 0.0).sum(axis=1)
        rec = np.where(effective, match / ref, 0.0).sum(axis=1)
        prec, rec = np.where(count > 0, prec / count, 0.0), np.where(count > 0, rec / count, 0.0)
        factor = _BETA**2
        score = 100 * (1 + factor) * prec * rec / (factor * prec + rec)
    return np.where(prec + rec > 0, score, 0.0)
