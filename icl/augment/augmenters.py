"""The augment step of a sweep: what a run's demonstrations and prompts gain beyond gold data.

`augment(spec, data, labeler, registry)` returns the demonstration pool (gold, synthetic or
self-labelled) and a hint function (or None); the runner calls it once per run. A bilingual lexicon
helps a model in a language it barely knows in two ways: synthetic demonstrations
(icl.augment.lexical.synthetic, after Wang, Ruder & Neubig 2022) and dictionary hints in the prompt
(icl.augment.lexical.hints); both read only the lexicon and UniMorph tables, never a reference.
Without a lexicon, the model can label in-language text itself (icl.augment.selflabel, `selflabel`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import astuple, dataclass

from icl import derived
from icl.augment.lexical.catalogue import lexicon_files, load_lexicon
from icl.augment.lexical.hints import MAX_HINTS, HintFn, frequent_words, hints_for
from icl.augment.lexical.pseudo import morph_tables
from icl.augment.lexical.synthetic import build_synthetic, require_lexicon, swap, synthesize, synthetic_origin
from icl.augment.lexical.unimorph import unimorph_files
from icl.augment.selflabel import Labeler, selflabel_pool
from icl.data import Registry, RunData, builtin_registry, load_text
from icl.errors import ConfigError
from icl.languages import get_language
from icl.spec import RunSpec
from icl.tasks import get_task
from icl.values import Example

Augmenter = Callable[[RunSpec, RunData, Labeler | None, Registry], tuple[list[Example], HintFn | None]]
"""(run, its data, the model lent for labelling or None, the data sets) -> (pool, hint function or None)."""


def hint_function(spec: RunSpec, pool: Sequence[Example], max_hints: int = MAX_HINTS) -> HintFn:
    """The per-query hint function of a run.

    Direction: MT eng->X looks the English source up in the en-xx lexicon, with morphology when
    `spec.morph`; MT X->eng and intent (X utterances, English labels) look the X source up in the
    xx-en lexicon, never with morphology: translate_word lemmatizes English only, and UniMorph
    analysis of X forms back to English would need the reverse machinery (not built).
    Stop words (`frequent_words`) come from monolingual text in the query's language: NTREX-128's
    English side for English sources (the same list for every pair and pool), otherwise the gold
    pool's sentences in that language (none when fewer than STOP_MIN_TEXTS, e.g. a small held-out
    pool, or an intent pool in another locale).
    """
    lang = require_lexicon(spec.language, spec.augment)
    english_source = spec.src == "eng" and spec.tgt != "eng"
    lexicon = load_lexicon(lang, "en-xx" if english_source else "xx-en")
    tables = morph_tables(lang) if english_source and spec.morph else None
    if english_source:  # the same English for every pair and pool size: NTREX-128's English side
        texts = tuple(ex.source for ex in load_text("ntrex128", "eng"))
    else:
        texts = tuple(ex.source for ex in pool if ex.src_lang == spec.src)
    skip = frequent_words(texts)

    def hint_fn(example: Example) -> list[dict[str, object]]:
        return hints_for(example, lexicon, tables, max_hints, skip)

    return hint_fn


def synthetic_pool(spec: RunSpec, data: RunData) -> list[Example]:
    """The synthetic demonstrations that replace a run's gold pool.

    Intent: pseudo-X utterances from MASSIVE en-US train, whatever locale the gold pool was. MT with
    the NTREX pool: the cached NTREX set (same English sentences as the gold pool, pseudo-X in place of
    the reference), swapped for X->eng. MT with any other pool (`heldout:N`, a declared data set): the
    pool's own English side pseudo-translated (ids `synth-<pool prefix>:<i>`; not cached on disk).
    """
    lang = require_lexicon(spec.language, spec.augment)
    if get_task(spec.task).synthetic.replaces == "source":
        return list(build_synthetic(spec.task, lang, spec.morph, spec.seed).examples)
    english_source = spec.src == "eng"
    if data.pool_source == "ntrex128/test":
        direction = "en-xx" if english_source else "xx-en"
        return list(build_synthetic(spec.task, lang, spec.morph, spec.seed, direction=direction).examples)
    english = [ex if english_source else swap(ex) for ex in data.pool]
    prefix = "synth-" + (english[0].id.split(":", 1)[0] if english else "pool")
    origin = synthetic_origin(spec.task, load_lexicon(lang, "en-xx"), spec.morph, corpus=spec.pool.text)
    examples = _synthesized(english, spec.task, lang, spec.morph, spec.seed, origin, prefix)
    return examples if english_source else [swap(ex) for ex in examples]


def _synthesized(english: Sequence[Example], task: str, lang: str, morph: bool, seed: int, origin: str,
                 prefix: str) -> list[Example]:
    """`synthesize`'s examples, kept on disk (icl.derived) keyed on everything they are made of: the English
    examples, the lexicon's files, with morph the UniMorph tables' files, seed, origin and prefix. A pool
    that is not the NTREX set (FLORES dev, 997 sentences) was pseudo-translated again by every run and
    every plan: most of the time `icl plan` spent on a sweep with synthetic demos."""
    morph_files: list[str] = []
    if morph:
        codes = ("eng", get_language(lang).unimorph)
        morph_files = [derived.file_digest(path) for code in codes if code for path in unimorph_files(code)]
    digest = derived.key("synthetic-pool", task, lang, morph, seed, origin, prefix, lexicon_files(lang, "en-xx"),
                         morph_files, derived.text_digest(repr((ex.id, ex.source, ex.target, ex.src_lang, ex.tgt_lang, ex.origin,
                                                    ex.scenario, ex.provenance)) for ex in english))
    rows = derived.cached("synthetic-pool", digest, lambda: [
        astuple(ex) for ex in synthesize(english, task, lang, morph, seed, origin, prefix)[0]])
    return [Example(*row) for row in rows]


@dataclass(frozen=True)
class Augmentation:
    """What one `augment:` value adds to a run."""

    pool: Callable[[RunSpec, RunData, Labeler | None, Registry], list[Example]] | None
    """Makes the demonstration pool that replaces the gold one (None: the gold pool)."""
    hints: bool
    """Adds dictionary hints for the query."""
    needs_model: bool = False
    """Its pool is labelled by the run's own model (only where demos are shown)."""


def _synthetic(spec: RunSpec, data: RunData, labeler: Labeler | None, registry: Registry) -> list[Example]:
    return synthetic_pool(spec, data)


AUGMENTERS: dict[str, Augmentation] = {
    "none": Augmentation(pool=None, hints=False),
    "hints": Augmentation(pool=None, hints=True),
    "synthetic": Augmentation(pool=_synthetic, hints=False),
    "hints+synthetic": Augmentation(pool=_synthetic, hints=True),
    "selflabel": Augmentation(pool=selflabel_pool, hints=False, needs_model=True),
}
"""RunSpec.augment -> what it adds. Hints are for the query only (demonstrations are shown without
them); synthetic demonstrations keep the gold pool's text for the hints' stop words."""


def _get(name: str) -> Augmentation:
    if name not in AUGMENTERS:
        raise ConfigError(f"augment: {name!r} is not one of {', '.join(AUGMENTERS)}")
    return AUGMENTERS[name]


def needs_model(spec: RunSpec) -> bool:
    """Whether building the run's prompts asks its model (self-labelled demos, shown only with shots)."""
    return _get(spec.augment).needs_model and spec.shots > 0


def augment(spec: RunSpec, data: RunData, labeler: Labeler | None = None,
            registry: Registry | None = None) -> tuple[list[Example], HintFn | None]:
    """What the runner calls once per run: (demonstration pool, hint function or None).

    Never mutates the data. At 0 shots no pool is made (no demo is shown, so neither synthetic sets
    nor the model's labels are computed). ConfigError when `spec.augment` is unknown, when a lexicon
    augmentation finds no lexicon for the run's non-English language, or when `selflabel` has no
    model to ask.
    """
    how = _get(spec.augment)
    pool = list(data.pool)
    if how.pool is not None and spec.shots > 0:
        pool = how.pool(spec, data, labeler, registry or builtin_registry())
    return pool, hint_function(spec, data.pool) if how.hints else None
