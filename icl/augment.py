"""Lexicon augmentation: word-by-word pseudo translations, synthetic demonstrations, dictionary hints.

Two ways a bilingual lexicon (icl.lexicon) can help a model in a language it barely knows:

- **Synthetic demonstrations** (after Wang, Ruder & Neubig 2022, "Expanding Pretrained Models to
  Thousands More Languages via Lexicon-based Adaptation"): English text is translated word by word
  (greedy longest match over the lexicon) into pseudo-X, and the pseudo pairs replace the gold
  demonstration pool. With morphology on, an English form the lexicon lacks is lemmatized with the
  English UniMorph table and its translation inflected with the target table (icl.morph).
- **Dictionary hints** (DiPMT, Ghazvininejad et al. 2023; chain-of-dictionary, Lu et al. 2023): the
  lexicon entries found in the query's source sentence, passed to templates as `hints`.

Both read only the lexicon (and UniMorph tables), never a reference translation. The runner calls
`augment(spec, pool)` once per run; lexicons, tables and synthetic sets are cached per process, and
synthetic sets also on disk under `cache_dir()/synthetic`.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import tempfile
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, replace
from functools import cache
from pathlib import Path
from types import MappingProxyType
from typing import Any

from icl.config import cache_dir
from icl.data import Example, load_massive, ntrex_path, read_lines
from icl.errors import ConfigError, DataError
from icl.languages import get_language
from icl.lexicon import CATALOGUE_PATH, Lexicon, Translation, catalogue, load_lexicon, normalize, tokenize
from icl.morph import InflectionCounts, MorphTable, load_unimorph, translate_word
from icl.sweep import RunSpec

SYNTHETIC_VERSION = 1
"""Bumped when the pseudo-translation rules change, so stale files in the disk cache are not reused."""

MAX_HINTS = 8
"""Default cap on hints per query: enough for the content words of a news sentence, short enough
that the hint block does not outweigh the demonstrations."""

MAX_TRANSLATIONS = 3
"""Translations shown per hint (the lexicon's first ones, in its priority order)."""

STOP_DF = 0.1
"""A word in at least this fraction of the pool's sentences is a stop word for hints. On NTREX
English that is the/to/of/a/and/in/on/that/for/is/said/with/he/was/at/it/as/his; on MASSIVE sw-KE
train ya/kwa/ni/na/wa. A frequency cut, not a word list, so it works for every language."""

STOP_MIN_TEXTS = 200
"""Below this many pool sentences in the query's language, frequencies mean little: no stop words."""


# --------------------------------------------------------------------------- word-by-word translation


Chooser = Callable[[tuple[Translation, ...], str, random.Random], str]
"""(translations of an entry, source surface, rng) -> the translation text used."""


def _informative(translations: tuple[Translation, ...], surface: str) -> list[str]:
    """Translation texts that differ from the source (MUSE lists "berlin" -> "berlin", "house" ->
    "house"); all of them when every one is identical (a name is then kept as it is)."""
    texts = [t.text for t in translations]
    differ = [t for t in texts if normalize(t) != normalize(surface)]
    return differ or texts


def choose_first(translations: tuple[Translation, ...], surface: str, rng: random.Random) -> str:
    """The first informative translation in lexicon priority order; the rng is not touched."""
    return _informative(translations, surface)[0]


def choose_random(translations: tuple[Translation, ...], surface: str, rng: random.Random) -> str:
    """A uniform draw among the informative translations, from the caller's rng.

    The default for synthetic data: MUSE lists many translations per word in no quality order, and
    drawing among them varies the pseudo text across seeds instead of always repeating one sense.
    The rng is advanced only when there is more than one candidate.
    """
    texts = _informative(translations, surface)
    return texts[0] if len(texts) == 1 else rng.choice(texts)


CHOOSERS: dict[str, Chooser] = {"first": choose_first, "random": choose_random}
"""How a pseudo translation picks among several translations of one entry."""


@dataclass(frozen=True)
class MorphTables:
    """The UniMorph tables morphology needs: English (to lemmatize) and the target (to inflect)."""

    src: MorphTable
    """The English table: analyzes "walked" as walk + V;PST."""
    tgt: MorphTable | None
    """The target language's table; None where UniMorph has none (the lemma's translation is kept)."""


@dataclass(frozen=True)
class Replacement:
    """One span of the English sentence replaced in the pseudo translation."""

    start: int
    """Character offset of the span in the English sentence."""
    end: int
    """One past its last character."""
    source: str
    """The English surface."""
    target: str
    """What replaced it."""
    how: str
    """`phrase` (multi-word entry), `direct` (the word is an entry), `lemma` (found through its lemma,
    citation form kept) or `inflected` (found through its lemma and inflected from the target table)."""
    tokens: int
    """Word tokens with a letter inside the span (what coverage counts)."""


@dataclass(frozen=True)
class PseudoTranslation:
    """A sentence translated word by word, and how much of it the lexicon covered."""

    text: str
    """The pseudo translation: replaced spans, everything else (names, numbers, punctuation,
    spacing) copied from the source."""
    covered_tokens: int
    """Word tokens (with a letter) inside a replaced span."""
    total_tokens: int
    """Word tokens (with a letter) in the sentence; numbers and punctuation are not counted."""
    inflected: int
    """Replacements inflected from the target UniMorph table."""
    replacements: tuple[Replacement, ...]
    """Every replaced span, left to right."""

    @property
    def coverage(self) -> float:
        """covered_tokens / total_tokens (0.0 for a sentence with no word)."""
        return self.covered_tokens / self.total_tokens if self.total_tokens else 0.0


def _has_letter(text: str) -> bool:
    return any(ch.isalpha() for ch in text)


def _match_case(surface: str, target: str) -> str:
    """Capitalize the target when the source word is capitalized (sentence starts, names); lexicon
    keys are casefolded, so "The" and "the" find the same entry."""
    if surface[:1].isupper() and target[:1].islower():
        return target[:1].upper() + target[1:]
    return target


def pseudo_translate(sentence: str, lexicon: Lexicon, rng: random.Random, tables: MorphTables | None = None,
                     choose: str = "random") -> PseudoTranslation:
    """Word-by-word translation of an English sentence (Wang et al. 2022), greedy longest match.

    Rules:
    1. `lexicon.match` gives the longest entry at each token, left to right ("a lot of" before "a").
       Each hit is replaced by one of its translations (`CHOOSERS[choose]`; a translation identical
       to the source is used only when it is the only one).
    2. With `tables`, a single word the lexicon lacks goes through `morph.translate_word`: its English
       lemma is looked up and the translation inflected to the English features where the target
       table has a matching cell ("walked" -> walk -> tembea -> alitembea). A word that *is* an entry
       keeps rule 1, as translate_word itself does, so morph on and off pick the same words for
       entries and the rng stays aligned between them.
    3. Everything unmatched (names, numbers, unknown words) and every character between tokens is
       copied, so punctuation and spacing survive. A capitalized source word gives a capitalized
       replacement.
    """
    chooser = CHOOSERS.get(choose)
    if chooser is None:
        raise ConfigError(f"choose: {choose!r} is not one of {', '.join(CHOOSERS)}")
    spans = tokenize(sentence)
    starts = {s: k for k, (s, _) in enumerate(spans)}
    reps: list[Replacement] = []
    covered: set[int] = set()
    for m in lexicon.match(sentence):
        first = starts[m.start]
        idx = list(range(first, first + len(tokenize(m.text))))
        words = sum(_has_letter(sentence[spans[k][0]:spans[k][1]]) for k in idx)
        covered.update(idx)
        target = _match_case(m.text, chooser(m.translations, m.text, rng))
        reps.append(Replacement(m.start, m.end, m.text, target, "phrase" if len(idx) > 1 else "direct", words))
    if tables is not None:
        for k, (s, e) in enumerate(spans):
            word = sentence[s:e]
            if k in covered or not _has_letter(word):
                continue
            wt = translate_word(word, lexicon, tables.src, tables.tgt)
            if wt.target is not None:
                how = "inflected" if wt.inflected else ("direct" if wt.features is None else "lemma")
                reps.append(Replacement(s, e, word, _match_case(word, wt.target), how, 1))
    reps.sort(key=lambda r: r.start)
    out, pos = [], 0
    for r in reps:
        out.append(sentence[pos:r.start])
        out.append(r.target)
        pos = r.end
    out.append(sentence[pos:])
    total = sum(_has_letter(sentence[s:e]) for s, e in spans)
    return PseudoTranslation("".join(out), sum(r.tokens for r in reps), total,
                             sum(r.how == "inflected" for r in reps), tuple(reps))


def word_counts(pseudo: Sequence[PseudoTranslation]) -> tuple[InflectionCounts, int]:
    """How the single words of some pseudo translations were produced (morph.InflectionCounts), and
    how many multi-word phrase entries were used besides. `total` counts words with a letter outside
    phrase matches, so total = untranslated + direct + lemma + inflected."""
    tally: Counter[str] = Counter()
    for p in pseudo:
        in_phrases = 0
        for r in p.replacements:
            if r.how == "phrase":
                tally["phrases"] += 1
                in_phrases += r.tokens
            elif r.tokens:
                tally[r.how] += 1
        words = p.total_tokens - in_phrases
        tally["total"] += words
        tally["untranslated"] += words - sum(1 for r in p.replacements if r.how != "phrase" and r.tokens)
    counts = InflectionCounts(**{k: tally[k] for k in ("total", "untranslated", "direct", "lemma", "inflected")})
    return counts, tally["phrases"]


# --------------------------------------------------------------------------- resources (cached)


def _lexicon_lang(task: str, src: str, tgt: str) -> str:
    """The non-English language whose lexicon a run needs."""
    if task == "intent":
        return get_language(src).iso3
    s, t = get_language(src).iso3, get_language(tgt).iso3
    if s == "eng" and t != "eng":
        return t
    if t == "eng" and s != "eng":
        return s
    raise ConfigError(f"{s}-{t}: lexicon augmentation needs English on exactly one side of an MT pair")


def require_lexicon(lang: str, augment_mode: str) -> str:
    """The language's ISO 639-3 code, or ConfigError when the catalogue has no lexicon for it."""
    iso3 = get_language(lang).iso3
    if iso3 not in catalogue():
        raise ConfigError(f"{iso3}: no lexicon in lexicons/{CATALOGUE_PATH.name} for augment={augment_mode}")
    return iso3


@cache
def morph_tables(lang: str) -> MorphTables:
    """English and target UniMorph tables (the target's None where UniMorph lacks the language)."""
    language = get_language(lang)
    return MorphTables(load_unimorph("eng"), load_unimorph(language.iso3) if language.unimorph else None)


# --------------------------------------------------------------------------- synthetic sets


@dataclass(frozen=True)
class SentenceStats:
    """Lexicon coverage of one synthetic example, saved beside it."""

    covered_tokens: int
    """Word tokens of the English sentence the lexicon (or a lemma) covered."""
    total_tokens: int
    """Word tokens (with a letter) of the English sentence."""
    inflected: int
    """Words inflected from the target UniMorph table."""


@dataclass(frozen=True)
class SyntheticSet:
    """Pseudo-parallel (MT) or pseudo-labelled (intent) examples and how they were made."""

    examples: tuple[Example, ...]
    """The synthetic examples, in the order of their English originals."""
    provenance: Mapping[str, Any]
    """Lexicon sources, direction, seed, morph, corpus and counts (read-only; saved as the file's
    first line)."""
    stats: tuple[SentenceStats, ...]
    """Per-example coverage, aligned with `examples`."""


SYNTHETIC_CORPORA = {"mt": "ntrex128:newstest2019-src.eng.txt", "intent": "massive-1.1:en-US:train"}
"""The English text each task's synthetic set is made from."""


def _english(task: str, limit: int | None) -> list[Example]:
    """The English originals: NTREX-128's English side read directly (so a language NTREX lacks,
    such as Ganda, still gets synthetic data), or MASSIVE en-US train with intents and scenarios."""
    if task == "mt":
        lines = read_lines(ntrex_path(get_language("eng")))
        english = [Example(f"ntrex:{i}", s, "", "eng", "eng", "ntrex128") for i, s in enumerate(lines)]
    elif task == "intent":
        english = load_massive("en-US", "train")
    else:
        raise ConfigError(f"task: {task!r} is not mt or intent")
    return english if limit is None else english[:limit]


def synthesize(english: Sequence[Example], task: str, lang: str, morph: bool, seed: int,
               origin: str, prefix: str) -> tuple[list[Example], list[PseudoTranslation]]:
    """Pseudo translations of English examples' sources into `lang` (en-xx direction).

    Each sentence draws from its own `random.Random(f"{seed}:{id}")`, so a sentence's pseudo text
    does not depend on which other sentences (or how many, `limit`) are translated. MT examples
    become (English, pseudo-X) pairs; intent examples become pseudo-X utterances with the English
    intent and scenario unchanged.
    """
    lexicon = load_lexicon(lang, "en-xx")
    tables = morph_tables(lang) if morph else None
    examples, pseudo = [], []
    for ex in english:
        p = pseudo_translate(ex.source, lexicon, random.Random(f"{seed}:{ex.id}"), tables)
        local_id = ex.id.split(":", 1)[1]
        if task == "mt":
            new = Example(f"{prefix}:{local_id}", ex.source, p.text, "eng", lang, origin)
        else:
            new = Example(f"{prefix}:{local_id}", p.text, ex.target, lang, lang, origin, ex.scenario)
        examples.append(new)
        pseudo.append(p)
    return examples, pseudo


def _swap(ex: Example) -> Example:
    """An MT pair read the other way (X -> English)."""
    return replace(ex, source=ex.target, target=ex.source, src_lang=ex.tgt_lang, tgt_lang=ex.src_lang)


def _origin(task: str, lexicon: Lexicon, morph: bool) -> str:
    corpus = "ntrex128" if task == "mt" else "massive-train"
    return f"synthetic:{corpus}:{'+'.join(lexicon.sources)}:morph-{'on' if morph else 'off'}"


def synthetic_path(task: str, lang: str, direction: str, morph: bool, seed: int, limit: int | None,
                   folder: Path | None = None) -> Path:
    """Deterministic file of a synthetic set: readable parts, then a digest of what else decides the
    content (lexicon sources, rule version), so a changed catalogue never reuses a stale file."""
    iso3 = get_language(lang).iso3
    sources = load_lexicon(iso3, "en-xx").sources
    digest = hashlib.sha1(json.dumps([SYNTHETIC_VERSION, list(sources)]).encode()).hexdigest()[:8]
    name = (f"{task}-{iso3}-{direction}-morph-{'on' if morph else 'off'}-s{seed}-"
            f"{'all' if limit is None else limit}-{digest}.jsonl")
    return (folder or cache_dir() / "synthetic") / name


def build_synthetic(task: str, lang: str, morph: bool, seed: int, limit: int | None = None,
                    direction: str = "en-xx", folder: Path | None = None, reuse: bool = True) -> SyntheticSet:
    """A synthetic set for a task and language, read from the disk cache when present.

    MT: the English side of NTREX-128 (1,997 sentences) translated word by word into pseudo-X, ids
    `synth-ntrex:<i>` (aligned with `ntrex:<i>`); `direction="xx-en"` gives the same pairs swapped.
    Intent: MASSIVE en-US train (11,514 utterances) into pseudo-X with intents and scenarios kept, ids
    `synth-massive:<id>`. `limit` keeps the first N English originals. Cached per process too.
    """
    if task not in SYNTHETIC_CORPORA:
        raise ConfigError(f"task: {task!r} is not mt or intent")
    if direction not in ("en-xx", "xx-en") or (task == "intent" and direction != "en-xx"):
        raise ConfigError(f"direction: {direction!r} is not en-xx or xx-en (intent: en-xx only)")
    if limit is not None and limit <= 0:
        raise ConfigError(f"limit: {limit} must be a positive number of sentences")
    iso3 = require_lexicon(lang, "synthetic")
    path = synthetic_path(task, iso3, direction, morph, seed, limit, folder)
    return _build_synthetic(task, iso3, morph, seed, limit, direction, path, reuse)


@cache
def _build_synthetic(task: str, lang: str, morph: bool, seed: int, limit: int | None, direction: str,
                     path: Path, reuse: bool) -> SyntheticSet:
    if reuse and path.is_file():
        return load_synthetic(path)
    lexicon = load_lexicon(lang, "en-xx")
    prefix = "synth-ntrex" if task == "mt" else "synth-massive"
    examples, pseudo = synthesize(_english(task, limit), task, lang, morph, seed, _origin(task, lexicon, morph), prefix)
    if direction == "xx-en":
        examples = [_swap(ex) for ex in examples]
    stats = tuple(SentenceStats(p.covered_tokens, p.total_tokens, p.inflected) for p in pseudo)
    words, phrases = word_counts(pseudo)
    tables = morph_tables(lang) if morph else None
    covered, total = sum(p.covered_tokens for p in pseudo), sum(p.total_tokens for p in pseudo)
    with_words = [p.coverage for p in pseudo if p.total_tokens]
    provenance = {
        "version": SYNTHETIC_VERSION,
        "task": task,
        "lang": lang,
        "direction": direction,
        "corpus": SYNTHETIC_CORPORA[task],
        "lexicon": {"direction": "en-xx", "sources": list(lexicon.sources), "entries": len(lexicon)},
        "unimorph": {"src": "eng", "tgt": get_language(lang).unimorph if tables and tables.tgt else None}
        if morph else None,
        "choose": "random",
        "seed": seed,
        "morph": morph,
        "limit": limit,
        "counts": {
            "sentences": len(pseudo),
            "mean_coverage": round(sum(with_words) / len(with_words), 4) if with_words else 0.0,
            "token_coverage": round(covered / total, 4) if total else 0.0,
            "covered_tokens": covered,
            "total_tokens": total,
            "phrases": phrases,
            "words": asdict(words),
        },
    }
    synthetic = SyntheticSet(tuple(examples), MappingProxyType(provenance), stats)
    save_synthetic(synthetic, path)
    return synthetic


def _plain(value: Any) -> Any:
    """Read-only mappings back to dicts, for json."""
    if isinstance(value, Mapping):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def save_synthetic(synthetic: SyntheticSet, path: Path) -> None:
    """JSONL: a first line `{"provenance": {...}}`, then one example a line with its coverage.

    Written to a temporary file and renamed, so a concurrent reader never sees half a file.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(json.dumps({"provenance": _plain(synthetic.provenance)}, ensure_ascii=False) + "\n")
            for ex, st in zip(synthetic.examples, synthetic.stats, strict=True):
                fh.write(json.dumps({**asdict(ex), **asdict(st)}, ensure_ascii=False) + "\n")
        os.chmod(tmp, 0o644)  # mkstemp makes 0600; the cache is shared like any other file
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


_EXAMPLE_FIELDS = ("id", "source", "target", "src_lang", "tgt_lang", "origin", "scenario")
_STATS_FIELDS = ("covered_tokens", "total_tokens", "inflected")


def load_synthetic(path: Path) -> SyntheticSet:
    """Inverse of `save_synthetic`; a malformed line is a DataError naming file:line."""
    if not path.is_file():
        raise DataError(f"{path}: file not found")
    examples, stats = [], []
    provenance: dict[str, Any] | None = None
    with path.open(encoding="utf-8") as fh:
        for lineno, line in enumerate(fh, 1):
            try:
                rec = json.loads(line)
                if lineno == 1:
                    provenance = dict(rec["provenance"])
                    continue
                examples.append(Example(**{k: rec[k] for k in _EXAMPLE_FIELDS}))
                stats.append(SentenceStats(**{k: int(rec[k]) for k in _STATS_FIELDS}))
            except (json.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
                what = "a provenance line" if lineno == 1 else "a synthetic example"
                raise DataError(f"{path}:{lineno}: not {what} ({type(exc).__name__}: {exc})") from None
    if provenance is None:
        raise DataError(f"{path}:1: empty file, expected a provenance line")
    return SyntheticSet(tuple(examples), MappingProxyType(provenance), tuple(stats))


# --------------------------------------------------------------------------- hints


@cache
def frequent_words(texts: tuple[str, ...], min_df: float = STOP_DF, min_texts: int = STOP_MIN_TEXTS) -> frozenset[str]:
    """Casefolded words found in at least `min_df` of the texts: the stop words hints skip.

    Empty below `min_texts` texts. Counted per sentence (document frequency), so one long sentence
    repeating a word does not make it frequent.
    """
    if len(texts) < min_texts:
        return frozenset()
    df: Counter[str] = Counter()
    for text in texts:
        df.update({normalize(text[s:e]) for s, e in tokenize(text)})
    return frozenset(w for w, n in df.items() if n >= min_df * len(texts))


def hints_for(example: Example, lexicon: Lexicon, tables: MorphTables | None = None, max_hints: int = MAX_HINTS,
              skip: frozenset[str] = frozenset()) -> list[dict[str, Any]]:
    """Dictionary hints for the source of one example, from the lexicon only (never `example.target`).

    Each hint is `{"source", "translations", "inflected", "pos", "lemma"}`: the source surface, up to
    MAX_TRANSLATIONS translations in lexicon order, a bool per translation (inflected from the
    target UniMorph table or not), the first translation's part of speech (None where the lexicon
    has none) and the English lemma used (None for a direct entry).

    Selection rules:
    1. Candidates are `lexicon.match` hits (greedy longest match), then, with `tables`, single words
       the lexicon lacks whose English lemma it has (`translate_word`, inflected where it can be).
    2. Skipped: spans with no letter; stop words (`skip`, casefolded; see `frequent_words`);
       translations identical to the source ("Berlin" -> "berlin") and hints left with none;
       a source phrase already hinted earlier in the sentence.
    3. Over `max_hints`, the longest entries win (more tokens, then more characters: long words are
       the rare ones a model is least likely to know), ties by position; the kept hints are shown
       in sentence order.
    """
    if max_hints < 0:
        raise ConfigError(f"max_hints: {max_hints} must be >= 0")
    sentence = example.source
    candidates: list[tuple[int, int, dict[str, Any]]] = []  # (start, tokens, hint)
    seen: set[str] = set()
    matched: set[tuple[int, int]] = set()

    def add(start: int, tokens: int, surface: str, texts: list[str], inflected: list[bool],
            pos: str | None, lemma: str | None) -> None:
        key = normalize(surface)
        if key in seen or (tokens == 1 and key in skip):
            return
        keep = [(t, f) for t, f in zip(texts, inflected, strict=True) if normalize(t) != key]
        keep = list(dict.fromkeys(keep))[:MAX_TRANSLATIONS]
        if not keep:
            return
        seen.add(key)
        candidates.append((start, tokens, {"source": surface, "translations": [t for t, _ in keep],
                                           "inflected": [f for _, f in keep], "pos": pos, "lemma": lemma}))

    spans = tokenize(sentence)
    for m in lexicon.match(sentence):
        inside = [(s, e) for s, e in spans if m.start <= s and e <= m.end]
        matched.update(inside)
        if not _has_letter(m.text):
            continue
        texts = [t.text for t in m.translations]
        add(m.start, len(inside), m.text, texts, [False] * len(texts), m.translations[0].pos, None)
    if tables is not None:
        for s, e in spans:
            word = sentence[s:e]
            if (s, e) in matched or not _has_letter(word):
                continue
            wt = translate_word(word, lexicon, tables.src, tables.tgt)
            if wt.target is None or wt.lemma is None or wt.target_lemma is None:
                continue
            others = [t.text for t in lexicon.lookup(wt.lemma) if t.text not in (wt.target, wt.target_lemma)]
            texts = [wt.target] + ([wt.target_lemma] if wt.inflected else []) + others
            flags = [wt.inflected] + [False] * (len(texts) - 1)
            add(s, 1, word, texts, flags, None, wt.lemma if wt.features is not None else None)
    candidates.sort(key=lambda c: c[0])
    if len(candidates) > max_hints:
        ranked = sorted(range(len(candidates)),
                        key=lambda i: (-candidates[i][1], -len(candidates[i][2]["source"]), i))
        candidates = [candidates[i] for i in sorted(ranked[:max_hints])]
    return [hint for _, _, hint in candidates]


# --------------------------------------------------------------------------- the runner's augmenter


HintFn = Callable[[Example], list[dict[str, Any]]]
Augmenter = Callable[[RunSpec, list[Example]], tuple[list[Example], HintFn | None]]


def hint_function(spec: RunSpec, pool: Sequence[Example], max_hints: int = MAX_HINTS) -> HintFn:
    """The per-query hint function of a run.

    Direction: MT eng->X looks the English source up in the en-xx lexicon, with morphology when
    `spec.morph == "on"`; MT X->eng and intent (X utterances, English labels) look the X source up
    in the xx-en lexicon, never with morphology: translate_word lemmatizes English only, and
    UniMorph analysis of X forms back to English would need the reverse machinery (not built).
    Stop words (`frequent_words`) come from monolingual text in the query's language: NTREX-128's
    English side for English sources (the same list for every pair and pool), otherwise the gold
    pool's sentences in that language (none when fewer than STOP_MIN_TEXTS, e.g. a small
    flores-heldout pool, or an intent pool in another locale).
    """
    lang = require_lexicon(_lexicon_lang(spec.task, spec.src, spec.tgt), spec.augment)
    english_source = spec.task == "mt" and get_language(spec.src).iso3 == "eng"
    lexicon = load_lexicon(lang, "en-xx" if english_source else "xx-en")
    tables = morph_tables(lang) if english_source and spec.morph == "on" else None
    src_iso3 = get_language(spec.src).iso3
    texts = tuple(ex.source for ex in pool if ex.src_lang == src_iso3)
    if english_source:  # the same English for every pair and pool size: NTREX-128's English side
        texts = read_lines(ntrex_path(get_language("eng")))
    skip = frequent_words(texts)

    def hint_fn(example: Example) -> list[dict[str, Any]]:
        return hints_for(example, lexicon, tables, max_hints, skip)

    return hint_fn


def synthetic_pool(spec: RunSpec, pool: Sequence[Example]) -> list[Example]:
    """The synthetic demonstrations that replace a run's gold pool.

    MT with the NTREX pool: the cached NTREX set (same English sentences as the gold pool, pseudo-X
    in place of the reference), swapped for X->eng. MT with `flores-heldout:N`: the held-out
    pool's own English side pseudo-translated (ids `synth-flores:<i>`; not cached on disk). Intent:
    pseudo-X utterances from MASSIVE en-US train, whatever locale the gold pool was.
    """
    lang = require_lexicon(_lexicon_lang(spec.task, spec.src, spec.tgt), spec.augment)
    morph = spec.morph == "on"
    if spec.task == "intent":
        return list(build_synthetic("intent", lang, morph, spec.seed).examples)
    english_source = get_language(spec.src).iso3 == "eng"
    if spec.pool == "ntrex":
        return list(build_synthetic("mt", lang, morph, spec.seed, direction="en-xx" if english_source else "xx-en").examples)
    english = [ex if english_source else _swap(ex) for ex in pool]
    examples, _ = synthesize(english, "mt", lang, morph, spec.seed,
                             _origin("mt", load_lexicon(lang, "en-xx"), morph).replace("ntrex128", spec.pool),
                             "synth-flores")
    return examples if english_source else [_swap(ex) for ex in examples]


def augment_none(spec: RunSpec, pool: list[Example]) -> tuple[list[Example], HintFn | None]:
    """The gold pool, no hints."""
    return list(pool), None


def augment_hints(spec: RunSpec, pool: list[Example]) -> tuple[list[Example], HintFn | None]:
    """The gold pool; hints for the query only (demonstrations are shown without hints)."""
    return list(pool), hint_function(spec, pool)


def augment_synthetic(spec: RunSpec, pool: list[Example]) -> tuple[list[Example], HintFn | None]:
    """Synthetic demonstrations replace the gold pool; no hints."""
    return synthetic_pool(spec, pool), None


def augment_both(spec: RunSpec, pool: list[Example]) -> tuple[list[Example], HintFn | None]:
    """Synthetic demonstrations and query hints (stop words still from the gold pool's text)."""
    return synthetic_pool(spec, pool), hint_function(spec, pool)


AUGMENTERS: dict[str, Augmenter] = {
    "none": augment_none,
    "hints": augment_hints,
    "synthetic": augment_synthetic,
    "hints+synthetic": augment_both,
}
"""RunSpec.augment -> augmenter; the keys are sweep.AUGMENTS."""


def augment(spec: RunSpec, pool: list[Example]) -> tuple[list[Example], HintFn | None]:
    """What the runner calls once per run: (demonstration pool, hint function or None).

    Never mutates `pool`. ConfigError when `spec.augment` is unknown, or is not `none` and the
    run's non-English language has no lexicon in the catalogue.
    """
    fn = AUGMENTERS.get(spec.augment)
    if fn is None:
        raise ConfigError(f"augment: {spec.augment!r} is not one of {', '.join(AUGMENTERS)}")
    return fn(spec, pool)
