"""icl.augment on the real lexicons, UniMorph tables, NTREX-128 and MASSIVE (limits keep it fast).

Lexicon entries pinned here were checked by grep in the data folder:
  freedict/eng-swh/eng-swh.tei  dog -> mbwa, house -> nyumba, walk -> tembea (no entry for "walked")
  gatitos/en_lg.tsv             the -> omu, dog -> embwa, is -> -li, in -> mu, house -> enju
  unimorph/swc/swc.sm           tembea  alitembea  V;FIN;IND;SG;3;PST
"""

from __future__ import annotations

import json
import random
import re
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from icl.augment.augmenters import AUGMENTERS, augment
from icl.augment.lexical.catalogue import load_lexicon
from icl.augment.lexical.hints import frequent_words, hints_for
from icl.augment.lexical.lexicon import Lexicon
from icl.augment.lexical.pseudo import CHOOSERS, MorphTables, morph_tables, pseudo_translate
from icl.augment.lexical.synthetic import (
    _build_synthetic,
    build_synthetic,
    load_synthetic,
    save_synthetic,
    synthetic_path,
)
from icl.augment.lexical.tokens import normalize
from icl.data import RunData, builtin_registry, load_flores, load_massive, load_ntrex, load_run, load_text
from icl.errors import ConfigError, DataError
from icl.prompts.lint import lint
from icl.prompts.render import load_template, render
from icl.spec import ModelSpec, Pool, RunSpec
from icl.sweep.grid import AUGMENTS
from icl.tasks import TASKS
from icl.values import Example


@pytest.fixture(autouse=True)
def cache_in_tmp(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Synthetic sets go to a throw-away cache, never ~/.cache/icl."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("ICL_CACHE_DIR", str(tmp_path_factory.getbasetemp() / "icl-cache"))
        yield


def spec(task: str, src: str, tgt: str, augment_mode: str, morph: str = "off", pool: str = "ntrex",
         template: str = "mt/hints", seed: int = 0) -> RunSpec:
    return RunSpec(sweep="t", task=task, model=ModelSpec("m", "hf"), src=src, tgt=tgt, template=template, shots=2,
                   selector="first", seed=seed, pool=Pool(pool), limit=3, augment=augment_mode, morph=morph == "on")


def data(pool: list[Example], source: str = "ntrex128/test") -> RunData:
    """What the runner hands an augmenter: here only the pool matters."""
    return RunData((), tuple(pool), source, None)


def context(task: str, query: Example, demos: list[Example], hints: list[dict]) -> dict:
    labels = load_run(spec(task, query.src_lang, query.tgt_lang, "none", pool="train"), builtin_registry()).labels \
        if task == "intent" else None
    return TASKS[task].context(query, demos, hints, labels)


# --------------------------------------------------------------------------- word by word


@pytest.mark.parametrize(("lang", "sentence", "expected", "covered", "total"), [
    ("swa", "The dog walked to the house.", "The mbwa walked kwa the nyumba.", 3, 6),
    ("lug", "The dog is in the house.", "Omu embwa -li mu omu enju.", 6, 6),  # capital kept
    ("lug", "Dog: 3 houses!", "Embwa: 3 houses!", 1, 2),  # numbers/punctuation copied, not counted
    ("swa", "", "", 0, 0),
])
def test_word_by_word_known_entries(lang: str, sentence: str, expected: str, covered: int, total: int) -> None:
    result = pseudo_translate(sentence, load_lexicon(lang), random.Random(0))
    assert result.text == expected
    assert (result.covered_tokens, result.total_tokens, result.inflected) == (covered, total, 0)


def test_replacements_point_into_the_sentence() -> None:
    sentence = "The dog walked to the house."
    result = pseudo_translate(sentence, load_lexicon("swa"), random.Random(0))
    assert [(r.source, r.target, r.how) for r in result.replacements] == [
        ("dog", "mbwa", "direct"), ("to", "kwa", "direct"), ("house", "nyumba", "direct")]
    assert all(sentence[r.start:r.end] == r.source for r in result.replacements)


def test_morph_on_inflects_walked() -> None:
    lexicon, tables = load_lexicon("swa"), morph_tables("swa")
    off = pseudo_translate("The dog walked to the house.", lexicon, random.Random(0))
    on = pseudo_translate("The dog walked to the house.", lexicon, random.Random(0), tables)
    assert on.text == "The mbwa alitembea kwa the nyumba."
    assert (on.inflected, on.covered_tokens) == (1, off.covered_tokens + 1)
    assert next(r for r in on.replacements if r.how == "inflected").source == "walked"
    no_table = pseudo_translate("walked", lexicon, random.Random(0), MorphTables(tables.src, None))
    assert (no_table.text, no_table.inflected) == ("tembea", 0)  # lemma found, nothing to inflect with


@pytest.mark.parametrize("choose", list(CHOOSERS))
def test_choice_is_seeded_and_skips_identical_translations(choose: str) -> None:
    lexicon = load_lexicon("deu")  # MUSE: big -> big, großen, große, groß, großes
    outs = {pseudo_translate("big", lexicon, random.Random(s), choose=choose).text for s in range(30)}
    assert "big" not in outs and outs <= {"großen", "große", "groß", "großes"}
    assert len(outs) == (1 if choose == "first" else 4)
    same = [pseudo_translate("The big dog", lexicon, random.Random(7), choose=choose).text for _ in range(2)]
    assert same[0] == same[1]
    with pytest.raises(ConfigError, match="choose"):
        pseudo_translate("big", lexicon, random.Random(0), choose="best")


# --------------------------------------------------------------------------- synthetic sets


def test_synthetic_massive_keeps_labels() -> None:
    synthetic = build_synthetic("intent", "swa", morph=False, seed=0, limit=300)
    english = {ex.id.split(":", 1)[1]: ex for ex in load_massive("en-US", "train")}
    assert len(synthetic.examples) == len(synthetic.stats) == 300
    for ex in synthetic.examples:
        prefix, local = ex.id.split(":", 1)
        original = english[local]
        assert prefix == "synth-massive"
        assert (ex.target, ex.scenario) == (original.target, original.scenario)
        assert (ex.src_lang, ex.tgt_lang) == ("swa", "swa")
        assert ex.origin == "synthetic:massive-train:freedict:morph-off"
    assert sum(ex.source != english[ex.id.split(":", 1)[1]].source for ex in synthetic.examples) > 250
    counts = synthetic.provenance["counts"]
    assert counts["sentences"] == 300 and 0.2 < counts["mean_coverage"] < 0.9


@pytest.mark.parametrize("lang", ["swa", "lug"])  # NTREX-128 has no Ganda: only its English side is read
def test_synthetic_mt_keeps_ntrex_english(lang: str) -> None:
    english = [ex.source for ex in load_text("ntrex128", "eng")]
    forward = build_synthetic("mt", lang, morph=False, seed=0, limit=40)
    assert [ex.source for ex in forward.examples] == list(english[:40])
    assert [ex.id for ex in forward.examples] == [f"synth-ntrex:{i}" for i in range(40)]
    assert {(ex.src_lang, ex.tgt_lang) for ex in forward.examples} == {("eng", lang)}
    backward = build_synthetic("mt", lang, morph=False, seed=0, limit=40, direction="xx-en")
    assert [(ex.source, ex.target) for ex in backward.examples] == [(ex.target, ex.source) for ex in forward.examples]
    assert {(ex.src_lang, ex.tgt_lang) for ex in backward.examples} == {(lang, "eng")}


def test_synthetic_morph_counts_differ() -> None:
    off = build_synthetic("mt", "swa", morph=False, seed=0, limit=300)
    on = build_synthetic("mt", "swa", morph=True, seed=0, limit=300)
    words_off, words_on = off.provenance["counts"]["words"], on.provenance["counts"]["words"]
    assert words_off["inflected"] == words_off["lemma"] == 0
    assert words_on["inflected"] > 0 and words_on["lemma"] > 0
    assert words_on["total"] == sum(words_on[k] for k in ("untranslated", "direct", "lemma", "inflected"))
    assert on.provenance["counts"]["covered_tokens"] > off.provenance["counts"]["covered_tokens"]
    assert on.provenance["unimorph"] == {"src": "eng", "tgt": "swc"} and off.provenance["unimorph"] is None
    assert sum(s.inflected for s in on.stats) == words_on["inflected"]
    assert sum(a.target != b.target for a, b in zip(off.examples, on.examples, strict=True)) > 0


def test_synthetic_is_deterministic_per_seed(tmp_path: Path) -> None:
    def build(seed: int, folder: str, limit: int = 60) -> tuple[str, ...]:
        made = build_synthetic("mt", "deu", morph=False, seed=seed, limit=limit, folder=tmp_path / folder)
        return tuple(ex.target for ex in made.examples)

    assert build(0, "a") == build(0, "b")
    assert build(0, "a") != build(1, "a")
    assert build(0, "c", limit=20) == build(0, "a")[:20]  # a sentence does not depend on the limit


def test_save_load_round_trip(tmp_path: Path) -> None:
    synthetic = build_synthetic("intent", "swa", morph=True, seed=3, limit=25, folder=tmp_path)
    path = synthetic_path("intent", "swa", "en-xx", True, 3, 25, tmp_path)
    assert path.is_file() and path.name.startswith("intent-swa-en-xx-morph-on-s3-25-")
    loaded = load_synthetic(path)
    assert loaded.examples == synthetic.examples and loaded.stats == synthetic.stats
    assert dict(loaded.provenance) == dict(synthetic.provenance)
    assert loaded.provenance["lexicon"]["sources"] == ["freedict"] and loaded.provenance["seed"] == 3
    copy = tmp_path / "copy.jsonl"
    save_synthetic(loaded, copy)
    assert copy.read_text(encoding="utf-8") == path.read_text(encoding="utf-8")


def test_synthetic_file_is_reused(tmp_path: Path) -> None:
    build_synthetic("mt", "lug", morph=False, seed=5, limit=3, folder=tmp_path)
    path = synthetic_path("mt", "lug", "en-xx", False, 5, 3, tmp_path)
    lines = path.read_text(encoding="utf-8").splitlines()
    row = json.loads(lines[1])
    lines[1] = json.dumps({**row, "target": "EDITED"})
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    _build_synthetic.cache_clear()  # as a new process would start
    again = build_synthetic("mt", "lug", morph=False, seed=5, limit=3, folder=tmp_path)
    assert again.examples[0].target == "EDITED"  # read from disk, not rebuilt
    assert build_synthetic("mt", "lug", morph=False, seed=5, limit=3, folder=tmp_path, reuse=False) \
        .examples[0].target == row["target"]


@pytest.mark.parametrize(("content", "where"), [
    ("", ":1: empty file"),
    ('{"nope": 1}\n', ":1: not a provenance line"),
    ('{"provenance": {}}\n{"id": "x"}\n', ":2: not a synthetic example"),
])
def test_load_synthetic_malformed(tmp_path: Path, content: str, where: str) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(DataError, match=f"bad.jsonl{where}"):
        load_synthetic(path)


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"task": "mt", "lang": "kat"}, "kat: no lexicon in lexicons/catalogue.yaml for augment=synthetic"),
    ({"task": "qa", "lang": "swa"}, "task"),
    ({"task": "intent", "lang": "swa", "direction": "xx-en"}, "direction"),
    ({"task": "mt", "lang": "swa", "limit": 0}, "limit"),
])
def test_build_synthetic_errors(kwargs: dict, message: str) -> None:
    args = {"morph": False, "seed": 0, "limit": 5, **kwargs}
    with pytest.raises(ConfigError, match=message):
        build_synthetic(**args)


# --------------------------------------------------------------------------- hints


def _lexicon_texts(lexicon: Lexicon, phrase: str) -> set[str]:
    return {t.text for t in lexicon.lookup(phrase)}


def _check_hints_from_lexicon(hints: list[dict], lexicon: Lexicon, tables: MorphTables | None) -> None:
    """Every hint translation is a lexicon translation of its source (or lemma), or an inflected
    form, from the target table, of a lexicon translation of the lemma."""
    for h in hints:
        assert len(h["translations"]) == len(h["inflected"]) and 1 <= len(h["translations"]) <= 3
        entry = h["lemma"] or h["source"]
        allowed = _lexicon_texts(lexicon, entry)
        for text, inflected in zip(h["translations"], h["inflected"], strict=True):
            assert normalize(text) != normalize(h["source"])
            if inflected:
                assert tables is not None and tables.tgt is not None
                forms = {f for t in allowed for forms in tables.tgt.paradigm(t).values() for f in forms}
                assert text in forms, (h, text)
            else:
                assert text in allowed, (h, text)


@pytest.mark.parametrize(("task", "src", "tgt", "morph"), [
    ("mt", "eng", "swa", "on"),
    ("mt", "eng", "lug", "off"),
    ("mt", "swa", "eng", "on"),  # xx-en: lexicon only, morph ignored
    ("intent", "swa", "swa", "off"),
])
def test_hints_come_only_from_the_lexicon(task: str, src: str, tgt: str, morph: str) -> None:
    if task == "mt":
        test = load_flores(src, tgt)[:25]
        pool = load_ntrex(src, tgt) if tgt != "lug" else load_flores(src, tgt)[900:]
    else:
        test, pool = load_massive("sw-KE", "test")[:40], load_massive("sw-KE", "train")
    _, hint_fn = augment(spec(task, src, tgt, "hints", morph), data(pool))
    assert hint_fn is not None
    english_source = src == "eng"
    lexicon = load_lexicon(tgt if english_source else src, "en-xx" if english_source else "xx-en")
    tables = morph_tables(tgt) if english_source and morph == "on" else None
    total = 0
    for ex in test:
        hints = hint_fn(ex)
        assert hint_fn(replace(ex, target="zzqx garbage reference ###")) == hints
        assert len(hints) <= 8
        _check_hints_from_lexicon(hints, lexicon, tables)
        total += len(hints)
        if tables is None:
            assert all(h["lemma"] is None and not any(h["inflected"]) for h in hints)
    assert total > len(test)  # hints were actually produced


def test_hints_with_morph_and_rules() -> None:
    ex = Example("q", "The old man walked to the big house with his dogs.", "", "eng", "swa", "test")
    lexicon, tables = load_lexicon("swa"), morph_tables("swa")
    hints = hints_for(ex, lexicon, tables, max_hints=8)
    walked = next(h for h in hints if h["source"] == "walked")
    assert walked == {"source": "walked", "translations": ["alitembea", "tembea"], "inflected": [True, False],
                      "pos": None, "lemma": "walk"}
    plain = ["old", "man", "to", "big", "house", "with", "his"]  # the: no entry; walked, dogs: no entry
    assert [h["source"] for h in hints_for(ex, lexicon, None)] == plain
    skipped = hints_for(ex, lexicon, None, skip=frozenset({"to", "with", "his"}))
    assert [h["source"] for h in skipped] == ["old", "man", "big", "house"]
    capped = hints_for(ex, lexicon, tables, max_hints=3)
    assert [h["source"] for h in capped] == ["walked", "house", "with"]  # longest, then first; sentence order
    assert hints_for(ex, lexicon, tables, max_hints=0) == []
    with pytest.raises(ConfigError, match="max_hints"):
        hints_for(ex, lexicon, tables, max_hints=-1)


def test_hints_skip_translations_identical_to_the_source() -> None:
    lexicon = load_lexicon("deu")  # MUSE: berlin -> berlin only; big -> big, großen, ...
    ex = Example("q", "Berlin is big", "", "eng", "deu", "test")
    hints = hints_for(ex, lexicon)
    assert "Berlin" not in [h["source"] for h in hints]
    big = next(h for h in hints if h["source"] == "big")
    assert "big" not in big["translations"] and len(big["translations"]) == 3


def test_frequent_words() -> None:
    english = tuple(ex.source for ex in load_text("ntrex128", "eng"))
    stop = frequent_words(english)
    assert {"the", "of", "and", "said"} <= stop and "house" not in stop and len(stop) < 30
    assert frequent_words(english[:100]) == frozenset()  # too few sentences to say


# --------------------------------------------------------------------------- augment()


def test_augmenters_cover_sweep_values() -> None:
    assert set(AUGMENTERS) == set(AUGMENTS) and type(AUGMENTERS) is dict


def test_augment_modes_mt() -> None:
    pool = load_ntrex("eng", "swa")
    before = list(pool)
    same, fn = augment(spec("mt", "eng", "swa", "none"), data(pool))
    assert same == pool and fn is None
    same, fn = augment(spec("mt", "eng", "swa", "hints"), data(pool))
    assert same == pool and fn is not None
    synth, fn = augment(spec("mt", "eng", "swa", "synthetic", "on"), data(pool))
    assert fn is None and len(synth) == len(pool)
    assert [ex.source for ex in synth] == [ex.source for ex in pool]  # same English, pseudo targets
    assert [ex.id for ex in synth[:2]] == ["synth-ntrex:0", "synth-ntrex:1"]
    back, fn = augment(spec("mt", "swa", "eng", "hints+synthetic"), data(load_ntrex("swa", "eng")))
    assert fn is not None and [ex.target for ex in back] == [ex.source for ex in pool]
    assert pool == before  # never mutated


def test_augment_flores_heldout_pool() -> None:
    pool = load_flores("eng", "lug")[:30]
    synth, _ = augment(spec("mt", "eng", "lug", "synthetic", pool="flores-heldout:30"), data(pool, "flores200/devtest[:30]"))
    assert [ex.source for ex in synth] == [ex.source for ex in pool]
    assert synth[0].id == "synth-flores:0" and synth[0].target != pool[0].target


def test_augment_intent_synthetic_keeps_labels() -> None:
    pool = load_massive("sw-KE", "train")
    synth, fn = augment(spec("intent", "swa", "swa", "hints+synthetic", template="intent/hints"), data(pool, "massive/train"))
    assert fn is not None and len(synth) == len(load_massive("en-US", "train"))
    assert {ex.target for ex in synth} == {ex.target for ex in pool}
    assert all(ex.src_lang == "swa" and ex.scenario for ex in synth)


@pytest.mark.parametrize(("task", "src", "tgt", "mode", "lang"), [
    ("mt", "eng", "kat", "hints", "kat"),
    ("mt", "kat", "eng", "synthetic", "kat"),
    ("intent", "kat", "kat", "hints+synthetic", "kat"),
    ("intent", "eng", "eng", "hints", "eng"),
])
def test_augment_without_lexicon(task: str, src: str, tgt: str, mode: str, lang: str) -> None:
    with pytest.raises(ConfigError, match=rf"^{lang}: no lexicon in lexicons/catalogue\.yaml for augment={re.escape(mode)} "):
        augment(spec(task, src, tgt, mode), data([]))
    assert augment(spec(task, src, tgt, "none"), data([])) == ([], None)


def test_augment_unknown_mode() -> None:
    with pytest.raises(ConfigError, match="augment"):
        augment(spec("mt", "eng", "swa", "dictionary"), data([]))


# --------------------------------------------------------------------------- templates


HINTS = [{"source": "walked", "translations": ["alitembea", "tembea"], "inflected": [True, False], "pos": None,
          "lemma": "walk"}]


def test_templates_lint_clean() -> None:
    assert lint() == []


@pytest.mark.parametrize(("template", "plain"), [("mt/hints", "mt/plain"), ("intent/hints", "intent/labels")])
def test_hint_templates_without_hints_equal_plain(template: str, plain: str) -> None:
    query = load_flores("eng", "swa")[0] if template.startswith("mt") else load_massive("sw-KE", "test")[0]
    demos = load_ntrex("eng", "swa")[:2] if template.startswith("mt") else load_massive("sw-KE", "train")[:2]
    task = template.split("/")[0]
    ctx = context(task, query, demos, [])
    with_hints = render(load_template(template), ctx)
    assert with_hints.prompt.text == render(load_template(plain), ctx).prompt.text
    assert with_hints.stop == render(load_template(plain), ctx).stop


@pytest.mark.parametrize(("template", "line"), [
    ("mt/hints", 'In this context, the word "walked" means "alitembea" or "tembea" in Swahili.\nEnglish: '),
    ("mt/hints_chain", "Dictionary (English means Swahili):\nwalked means alitembea or tembea\nEnglish: "),
    ("intent/hints", "Glossary (Swahili to English): walked = alitembea / tembea\nIntent:"),
])
def test_hint_templates_render_hints(template: str, line: str) -> None:
    task = template.split("/")[0]
    query = load_flores("eng", "swa")[0] if task == "mt" else load_massive("sw-KE", "test")[0]
    for hints in ([], HINTS):
        text = render(load_template(template), context(task, query, [], hints)).prompt.text
        assert text is not None and (line in text) == bool(hints)
        assert text.endswith("Swahili:" if task == "mt" else "Intent:")
