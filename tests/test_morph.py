"""icl.morph on the real UniMorph and SIGMORPHON files: entries pinned by grep, a few languages only."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from icl.augment.lexical.catalogue import load_lexicon
from icl.augment.lexical.inflect import WordTranslation, count_inflections, select_cell, translate_word
from icl.augment.lexical.sigmorphon import (
    inflection_accuracy,
    learn_affix_rules,
    load_sigmorphon,
    morph_languages,
    read_sigmorphon,
)
from icl.augment.lexical.unimorph import (
    MorphTable,
    format_features,
    load_unimorph,
    parse_features,
    read_unimorph,
    unlayer,
)
from icl.cli.lexicon import app
from icl.config import data_dir
from icl.errors import ConfigError, DataError

F = parse_features


@pytest.mark.parametrize(("tags", "expected"), [
    ("V;PST", {"V", "PST"}),
    ("PST;V", {"V", "PST"}),
    ("V;;PST;", {"V", "PST"}),
    ("V;PRS;NOM(3,SG)", {"V", "PRS", "NOM(3,SG)"}),
    ("N;ABL(PL;DEF)", {"N", "ABL(PL;DEF)"}),  # 2023: a semicolon inside a layer
])
def test_parse_features(tags: str, expected: set[str]) -> None:
    assert parse_features(tags) == frozenset(expected)


def test_format_features_puts_pos_first() -> None:
    assert format_features(F("SG;3;PST;V")) == "V;3;PST;SG"


@pytest.mark.parametrize(("tags", "flat"), [
    ("V;PST", "V;PST"),
    ("V;PRS;NOM(3,SG)", "V;3;PRS;SG"),  # verb layer = agreement
    ("N;ABL(PL;DEF)", "N;ABL;DEF;PL"),  # noun layer = case
    ("N;PL;PSS(2,SG,MASC)", "N;PL;PSS2SM"),
    ("N;PSS(2,SG,FORM)", "N;FORM;PSS2S"),
])
def test_unlayer(tags: str, flat: str) -> None:
    assert unlayer(F(tags)) == F(flat)


# --------------------------------------------------------------------------- UniMorph tables


@pytest.mark.parametrize(("lang", "lemma", "tags", "form"), [
    ("eng", "run", "V;PST", "ran"),
    ("eng", "run", "V;PRS;NOM(3,SG)", "runs"),
    ("eng", "run", "V;V.PTCP;PRS", "running"),
    ("swa", "soma", "V;FIN;IND;PRES;3;PL;LGSPEC1", "wanasoma"),  # swa reads swc
    ("swc", "tembea", "V;FIN;IND;SG;1;PST", "nilitembea"),  # from swc.sm
    ("tgl", "liban", "V;PFV;AGFOC", "lumiban"),  # CRLF file
])
def test_unimorph_known_entries(lang: str, lemma: str, tags: str, form: str) -> None:
    table = load_unimorph(lang)
    assert form in table.inflect(lemma, F(tags))
    assert (lemma, F(tags)) in table.analyze(form)


def test_analyze_retries_lowercase() -> None:
    assert ("walk", F("V;PST")) in load_unimorph("eng").analyze("Walked")


def test_analyze_inflect_round_trip() -> None:
    table = load_unimorph("swa")
    for lemma, form, feats in table.entries[:2000]:
        assert form in table.inflect(lemma, feats)
        assert (lemma, feats) in table.analyze(form)


def test_paradigm_and_lemmas() -> None:
    table = load_unimorph("tgl")
    paradigm = table.paradigm("liban")
    assert paradigm[F("V;PFV;AGFOC")] == ["lumiban"]
    assert "liban" in table.lemmas()
    assert table.inflect("no-such-lemma", F("V;PST")) == []
    assert table.analyze("no-such-form") == []


def test_unimorph_blank_lines_crlf_and_malformed(tmp_path: Path) -> None:
    good = tmp_path / "good"
    good.write_bytes(b"fika\tnilifika\tV;SG;1;PST\r\n\r\nfika\ttulifika\tV;PL;1;PST\r\n")
    assert len(read_unimorph(good)) == 2
    bad = tmp_path / "bad"
    bad.write_text("fika\tnilifika\tV;SG;1;PST\nfika tulifika V;PL;1;PST\n", encoding="utf-8")
    with pytest.raises(DataError, match=rf"^{bad}:2: expected 3 TAB-separated fields, found 1$"):
        read_unimorph(bad)
    empty = tmp_path / "empty"
    empty.write_text("fika\t\tV\n", encoding="utf-8")
    with pytest.raises(DataError, match=rf"^{empty}:1: empty field$"):
        read_unimorph(empty)


def test_unimorph_unknown_language() -> None:
    with pytest.raises(ConfigError, match="UniMorph has no French"):
        load_unimorph("fra")


# --------------------------------------------------------------------------- SIGMORPHON


@pytest.mark.parametrize(("lang", "split", "first"), [
    ("swa", "tst", ("kamilisha", "V;FIN;IND;SG;1;FUT", "nitakamilisha")),  # 2020 GOLD-TEST
    ("swa", "trn", ("piga", "V;PRF;FIN;IND;SG;3;PST", "amepiga")),
    ("sqi", "tst", ("abdikim", "N;ABL(PL;DEF)", "abdikimeve")),  # 2023: lemma, tags, form
    ("orm", "trn", ("dhandham", "V;PL;3;PST", "dhandhamtanii")),  # listed as 2020:gaz, file orm.trn
])
def test_sigmorphon_first_item(lang: str, split: str, first: tuple[str, str, str]) -> None:
    lemma, feats, form = load_sigmorphon(lang, split)[0]
    assert (lemma, feats, form) == (first[0], F(first[1]), first[2])


def test_sigmorphon_covered_file_is_an_error() -> None:
    covered = data_dir() / "sigmorphon/2020_task0/DEVELOPMENT-LANGUAGES/niger-congo/swa.tst"
    with pytest.raises(DataError, match=r"swa\.tst:1: expected 3 TAB-separated fields, found 2"):
        read_sigmorphon(covered, "2020")


@pytest.mark.parametrize(("lang", "split", "error"), [
    ("fra", "tst", "SIGMORPHON has no French"),
    ("swa", "test", "split"),
])
def test_sigmorphon_errors(lang: str, split: str, error: str) -> None:
    with pytest.raises(ConfigError, match=error):
        load_sigmorphon(lang, split)


def test_morph_languages() -> None:
    langs = morph_languages()
    assert {"swa", "tgl", "hin", "amh", "sqi"} <= set(langs)
    assert "fin" not in langs  # SIGMORPHON but no UniMorph table here


def test_inflection_accuracy_tgl() -> None:
    acc = inflection_accuracy("tgl")
    assert (acc.items, acc.covered, acc.in_cell) == (478, 478, 478)
    assert 0.85 < acc.accuracy == acc.covered_accuracy < 1.0  # misses are variant forms of a cell
    assert acc.fallback_correct == 0 and acc.rules_correct is not None


def test_inflection_accuracy_unlayers_2023() -> None:
    assert inflection_accuracy("sqi", fallback=False).coverage > 0.95
    assert inflection_accuracy("sqi", fallback=False, unlayered=False).coverage < 0.1


@pytest.mark.parametrize(("lemma", "tags", "expected"), [
    ("kimbia", "V;PST", "nilikimbia"),  # prefix rule
    ("cry", "N;PL", "cries"),  # context y -> ies
    ("stay", "N;PL", "stays"),  # context ay -> ays
    ("walk", "N;PL", "walks"),
    ("walk", "ADJ", None),  # no rule for these features
])
def test_affix_rules(lemma: str, tags: str, expected: str | None) -> None:
    rules = learn_affix_rules([
        ("soma", F("V;PST"), "nilisoma"), ("la", F("V;PST"), "nilila"),
        ("try", F("N;PL"), "tries"), ("play", F("N;PL"), "plays"), ("book", F("N;PL"), "books"),
        ("dog", F("N;PL"), "dogs"),
    ])
    assert rules.apply(lemma, F(tags)) == expected


# --------------------------------------------------------------------------- word translation


@pytest.mark.parametrize(("wanted", "cells", "chosen"), [
    ("V;PST", ["V;PST;1;SG", "V;PST;3;SG", "V;PRS;3;SG"], "V;PST;3;SG"),
    ("V;PST", ["V;FIN;IND;SG;1;PST", "V;FIN;IND;PST;3;SG;LGSPEC1", "V;FIN;IND;PST;PRF;3;SG;LGSPEC1"],
     "V;FIN;IND;PST;3;SG;LGSPEC1"),
    ("V;PRS;NOM(3,SG)", ["V;FIN;IND;PRES;3;SG", "V;FIN;IND;PRES;1;SG"], "V;FIN;IND;PRES;3;SG"),  # alias
    ("N;PL", ["N;NOM;SG", "N;DAT;PL", "N;NOM;PL"], "N;NOM;PL"),
    ("V;NFIN", ["V;NFIN", "V;PST"], None),  # citation form
    ("V;V.PTCP;PRS", ["V;PRS;3;SG"], None),  # no cell holds every tag
])
def test_select_cell(wanted: str, cells: list[str], chosen: str | None) -> None:
    paradigm = {F(c): ["x"] for c in cells}
    assert select_cell(F(wanted), paradigm) == (F(chosen) if chosen else None)


@pytest.fixture(scope="module")
def eng() -> MorphTable:
    return load_unimorph("eng")


@pytest.mark.parametrize(("lang", "word", "target", "how"), [
    ("swa", "walked", "alitembea", "inflected"),  # walk V;PST -> tembea -> V;3;FIN;IND;PST;SG
    ("swa", "went", "alienda", "inflected"),
    ("swa", "ate", "la", "lemma"),  # eat -> la, which swc has no paradigm for
    ("swa", "house", "nyumba", "direct"),
    ("swa", "xyzzy", None, "untranslated"),
    ("lug", "abandoned", "okulekulirwa", "direct"),  # GATITOS translated the form itself
])
def test_translate_word(eng: MorphTable, lang: str, word: str, target: str | None, how: str) -> None:
    result = translate_word(word, load_lexicon(lang), eng, load_unimorph(lang))
    assert result.target == target
    counts = count_inflections([result])
    assert getattr(counts, how) == 1 and counts.total == 1


def test_translate_word_details(eng: MorphTable) -> None:
    result = translate_word("walked", load_lexicon("swa"), eng, load_unimorph("swa"))
    assert result == WordTranslation("walked", "alitembea", "walk", F("V;PST"), "tembea",
                                     F("V;FIN;IND;PST;3;SG"), True)  # swc.sm cell
    no_table = translate_word("walked", load_lexicon("swa"), eng, None)
    assert (no_table.target, no_table.inflected) == ("tembea", False)


def test_cli_morph_eval() -> None:
    result = CliRunner().invoke(app, ["morph-eval", "--lang", "tgl"])
    assert result.exit_code == 0, result.output
    assert "tgl" in result.output and "478" in result.output
