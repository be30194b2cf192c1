"""Synthetic demonstrations: labelled English data pseudo-translated word by word into language X.

After Wang, Ruder & Neubig (2022), "Expanding Pretrained Models to Thousands More Languages via
Lexicon-based Adaptation": English text whose labels are known is translated through the lexicon
(icl.augment.lexical.pseudo), labels kept, and the pseudo pairs replace the gold demonstration pool.
Each task has a recipe (`Task.synthetic`: which English corpus, which side the pseudo text replaces). Sets are cached per
process and on disk under `cache_dir()/synthetic`, with their provenance as the file's first line.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import asdict, astuple, dataclass, replace
from functools import lru_cache
from pathlib import Path
from types import MappingProxyType
from typing import Any

from icl.augment.lexical.catalogue import catalogue, load_lexicon
from icl.augment.lexical.lexicon import Lexicon
from icl.augment.lexical.pseudo import PseudoTranslation, morph_tables, pseudo_translate, word_counts
from icl.augment.lexical.unimorph import unimorph_files
from icl.config import cache_dir, data_dir
from icl.data import builtin_registry, load_examples, load_text
from icl.data.files import stamp
from icl.errors import ConfigError, DataError
from icl.languages import get_language
from icl.tasks import SyntheticRecipe, get_task
from icl.values import Example

SYNTHETIC_VERSION = 1
"""Bumped when the pseudo-translation rules change, so stale files in the disk cache are not reused."""


def require_lexicon(lang: str, augment_mode: str) -> str:
    """The language's code, or ConfigError when the catalogue has no lexicon for it."""
    code = get_language(lang).code
    if code not in catalogue():
        raise ConfigError(f"{code}: no lexicon in lexicons/catalogue.yaml for augment={augment_mode} "
                          "(`icl langs --has lexicon` lists the languages that have one)")
    return code


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



def _recipe(task: str) -> SyntheticRecipe:
    return get_task(task).synthetic


def _english(recipe: SyntheticRecipe) -> list[Example]:
    """The recipe's English originals (read per language file, so a language NTREX lacks, such as
    Ganda, still gets a set)."""
    spec = builtin_registry().get(recipe.dataset)
    if spec.parallel:
        return load_text(spec, recipe.language, recipe.split)
    return load_examples(spec, recipe.split, recipe.language)


def synthesize(english: Sequence[Example], task: str, lang: str, morph: bool, seed: int,
               origin: str, prefix: str) -> tuple[list[Example], list[PseudoTranslation]]:
    """Pseudo translations of English examples' sources into `lang` (en-xx direction).

    Each sentence draws from its own `random.Random(f"{seed}:{id}")`, so a sentence's pseudo text
    does not depend on which other sentences (or how many, `limit`) are translated. MT examples
    become (English, pseudo-X) pairs; intent examples become pseudo-X utterances with the English
    intent and scenario unchanged.
    """
    replaces = _recipe(task).replaces
    lexicon = load_lexicon(lang, "en-xx")
    tables = morph_tables(lang) if morph else None
    examples, pseudo = [], []
    for ex in english:
        p = pseudo_translate(ex.source, lexicon, random.Random(f"{seed}:{ex.id}"), tables)
        local_id = ex.id.split(":", 1)[1]
        if replaces == "target":
            new = Example(f"{prefix}:{local_id}", ex.source, p.text, "eng", lang, origin)
        else:
            new = Example(f"{prefix}:{local_id}", p.text, ex.target, lang, lang, origin, ex.scenario)
        examples.append(new)
        pseudo.append(p)
    return examples, pseudo


def swap(ex: Example) -> Example:
    """An MT pair read the other way (X -> English)."""
    return replace(ex, source=ex.target, target=ex.source, src_lang=ex.tgt_lang, tgt_lang=ex.src_lang)


def synthetic_origin(task: str, lexicon: Lexicon, morph: bool, corpus: str | None = None) -> str:
    """`synthetic:<corpus>:<lexicon sources>:morph-<on|off>`, each example's `origin`."""
    return f"synthetic:{corpus or _recipe(task).origin}:{'+'.join(lexicon.sources)}:morph-{'on' if morph else 'off'}"


def synthetic_path(task: str, lang: str, direction: str, morph: bool, seed: int, limit: int | None,
                   folder: Path | None = None) -> Path:
    """Deterministic file of a synthetic set: readable parts, then a digest of what else decides the
    content (the lexicon's entries, rule version, data folder, and with morph the UniMorph tables'
    files), so an edited lexicon, catalogue or data folder never reuses a stale file."""
    code = get_language(lang).code
    parts: list[object] = [SYNTHETIC_VERSION, load_lexicon(code, "en-xx").fingerprint(), str(data_dir())]
    if morph:
        language = get_language(code)
        tables = [unimorph_files(c) for c in ("eng", language.unimorph) if c]
        parts.append([[name, size, mtime] for files in tables for name, size, mtime in stamp(*files)])
    digest = hashlib.sha1(json.dumps(parts).encode()).hexdigest()[:8]
    name = (f"{task}-{code}-{direction}-morph-{'on' if morph else 'off'}-s{seed}-"
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
    recipe = _recipe(task)
    if direction not in ("en-xx", "xx-en") or (recipe.replaces == "source" and direction != "en-xx"):
        raise ConfigError(f"direction: {direction!r} is not en-xx or xx-en (intent: en-xx only)")
    if limit is not None and limit <= 0:
        raise ConfigError(f"limit: {limit} must be a positive number of sentences")
    code = require_lexicon(lang, "synthetic")
    path = synthetic_path(task, code, direction, morph, seed, limit, folder)
    return _build_synthetic(task, code, morph, seed, limit, direction, path, reuse)


@lru_cache(maxsize=32)
def _build_synthetic(task: str, lang: str, morph: bool, seed: int, limit: int | None, direction: str,
                     path: Path, reuse: bool) -> SyntheticSet:
    if reuse and path.is_file():
        return _stored_synthetic(path)
    recipe = _recipe(task)
    lexicon = load_lexicon(lang, "en-xx")
    english = _english(recipe)
    english = english if limit is None else english[:limit]
    examples, pseudo = synthesize(english, task, lang, morph, seed, synthetic_origin(task, lexicon, morph),
                                  recipe.prefix)
    if direction == "xx-en":
        examples = [swap(ex) for ex in examples]
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
        "corpus": recipe.corpus,
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


def _stored_synthetic(path: Path) -> SyntheticSet:
    """`load_synthetic`, its parse kept on disk (icl.derived) keyed on the file's bytes: a MASSIVE set is
    11,514 JSON lines, and marshal reads them back several times faster."""
    from icl import derived

    def encode(found: SyntheticSet) -> tuple:
        return (json.dumps(_plain(found.provenance)), tuple(astuple(ex) for ex in found.examples),
                tuple(astuple(st) for st in found.stats))

    def decode(stored: tuple) -> SyntheticSet:
        provenance, examples, stats = stored
        return SyntheticSet(tuple(Example(*row) for row in examples), MappingProxyType(json.loads(provenance)),
                            tuple(SentenceStats(*row) for row in stats))

    digest = derived.key("synthetic-file", derived.file_digest(path))
    return derived.cached("synthetic-file", digest, lambda: load_synthetic(path), encode, decode)


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

