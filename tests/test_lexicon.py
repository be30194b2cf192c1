"""icl.lexicon on the real lexicon files: each format pinned by entries checked with grep."""

from __future__ import annotations

import unicodedata
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from icl.augment.lexical.catalogue import catalogue, lexicon_languages, load_lexicon
from icl.augment.lexical.coverage import lexicon_stats
from icl.augment.lexical.lexicon import Lexicon, Translation, build_lexicon, merge
from icl.augment.lexical.readers import (
    READERS,
    read_apertium_dix,
    read_apertium_tsv,
    read_freedict,
    read_gatitos,
    read_muse,
    read_tsv,
)
from icl.augment.lexical.tokens import normalize, tokenize
from icl.cli.lexicon import app
from icl.config import data_dir
from icl.errors import ConfigError, DataError

LEX = data_dir() / "lexicons"
DIX = LEX / "apertium_cym_eng" / "apertium-cym-eng.cym-eng.dix"


@pytest.mark.parametrize(("text", "expected"), [
    ("dog", "dog"),
    ("  Hello,   World!  ", "hello, world"),
    ("«Dog»", "dog"),
    ("(verb)", "verb"),
    ("don't", "don't"),
    ("STRASSE", "strasse"),
    ("Straße", "strasse"),
    ("a\tlot\nof", "a lot of"),
    (unicodedata.normalize("NFD", "Café"), "café"),
    ("...", ""),
    ("¿Qué?", "qué"),
    ("a.m.", "a.m"),
])
def test_normalize(text: str, expected: str) -> None:
    assert normalize(text) == expected


@pytest.mark.parametrize(("text", "tokens"), [
    ("I don't like e-mail.", ["I", "don't", "like", "e-mail"]),
    ("Hello, world!", ["Hello", "world"]),
    ("मुझे किताबें पसंद हैं।", ["मुझे", "किताबें", "पसंद", "हैं"]),  # vowel signs stay inside words
    ("3 o'clock -- now", ["3", "o'clock", "now"]),
    ("", []),
])
def test_tokenize_keeps_offsets(text: str, tokens: list[str]) -> None:
    assert [text[s:e] for s, e in tokenize(text)] == tokens


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=40))
def test_normalize_idempotent_and_match_offsets(text: str) -> None:
    assert normalize(normalize(text)) == normalize(text)
    lexicon = build_lexicon("eng", "spa", ["tsv"], [(w, Translation(w, None, "tsv")) for w in text.split()[:3]])
    for m in lexicon.match(text):
        assert text[m.start:m.end] == m.text and m.key in lexicon.entries


# --------------------------------------------------------------------------- readers on real files


@pytest.mark.parametrize(("reader", "path", "src", "tgt", "key", "text", "pos"), [
    (read_gatitos, LEX / "gatitos/en_lg.tsv", "eng", "lug", "abandon", "okulekulira", None),
    (read_gatitos, LEX / "gatitos/en_lg.tsv", "eng", "lug", "a lot of", "ebintu bingi", None),
    (read_gatitos, LEX / "gatitos/lg_en.tsv", "lug", "eng", "okulekulira", "abandon", None),
    (read_muse, LEX / "muse/en-tl.0-5000.txt", "eng", "tgl", "the", "mga", None),  # TAB-separated
    (read_muse, LEX / "muse/en-fr.0-5000.txt", "eng", "fra", "house", "maison", None),  # space-separated
    (read_freedict, LEX / "freedict/eng-swh/eng-swh.tei", "eng", "swa", "house", "nyumba", "n"),
    (read_freedict, LEX / "freedict/eng-swh/eng-swh.tei", "eng", "swa", "10c piece", "kikumi", "n"),
    (read_freedict, LEX / "freedict/swh-eng/swh-eng.tei", "swa", "eng", "abudu", "revere", "v"),  # def split
    (read_freedict, LEX / "freedict/swh-eng/swh-eng.tei", "swa", "eng", "fagio", "broom", "n"),  # plural note
    (read_freedict, LEX / "freedict/swh-eng/swh-eng.tei", "swa", "eng", "ofisa", "officer", "n"),  # variant orth
    (read_apertium_dix, DIX, "cym", "eng", "ci", "dog", "n"),
    (read_apertium_dix, DIX, "cym", "eng", "band pres", "brass band", "n"),  # <g> and <b/>
    (read_apertium_dix, DIX, "eng", "cym", "dog", "ci", "n"),  # same file, read right to left
    (read_apertium_dix, DIX, "eng", "cym", "a lot of", "llawer o", "det"),
    (read_apertium_tsv, LEX / "apertium_cym_eng/cym_eng.tsv", "cym", "eng", "cath", "cat", "n"),
    (read_apertium_tsv, LEX / "apertium_cym_eng/cym_eng.tsv", "eng", "cym", "cat", "cath", "n"),
])
def test_reader_pins_known_entry(reader, path: Path, src: str, tgt: str, key: str, text: str,
                                 pos: str | None) -> None:
    lexicon = reader(path, src, tgt)
    assert (lexicon.src_lang, lexicon.tgt_lang) == (src, tgt)
    found = {t.text: t for t in lexicon.lookup(key)}
    assert text in found, f"{key!r} -> {sorted(found)}"
    assert found[text].pos == pos


def test_dix_direction_restrictions() -> None:
    """r="RL" entries (yr <- this) exist only read from English; empty sides (ni<vpart> -> '') never."""
    cym_eng = read_apertium_dix(DIX, "cym", "eng")
    eng_cym = read_apertium_dix(DIX, "eng", "cym")
    assert "yr" in [t.text for t in eng_cym.lookup("this")]
    assert "this" not in [t.text for t in cym_eng.lookup("yr")]
    assert "the" in [t.text for t in cym_eng.lookup("yr")]
    assert not cym_eng.lookup("ni")


def test_reader_sizes() -> None:
    assert len(read_gatitos(LEX / "gatitos/en_lg.tsv", "eng", "lug")) == 3998
    assert len(read_apertium_tsv(LEX / "apertium_cym_eng/cym_eng.tsv", "cym", "eng")) > 8000


def test_real_malformed_gatitos_line() -> None:
    with pytest.raises(DataError, match=r"en_arn\.tsv:3235: .*no TAB"):
        read_gatitos(LEX / "gatitos/en_arn.tsv", "eng", "arn")


@pytest.mark.parametrize(("reader", "name", "content", "where"), [
    (read_gatitos, "g.tsv", "dog\tembwa\ncat without tab\n", ":2: expected source TAB target"),
    (read_gatitos, "g.tsv", "dog\tembwa\n\tempty\n", ":2: empty source"),
    (read_gatitos, "g.tsv", "dog\t\n", ":1: empty translation"),
    (read_gatitos, "g.tsv", "dog\tembwa\tn\n", ":1: expected at most 2"),
    (read_muse, "m.txt", "the mga\nthe ang yung\n", ":2: expected at most 2"),
    (read_muse, "m.txt", "the\n", ":1: expected source"),
    (read_tsv, "u.tsv", "# comment\n\nnew york\tNueva York\tpropn\nnew\tnuevo\tadj\textra\n", ":4: expected at most 3"),
    (read_tsv, "u.tsv", "  \tnada\n", ":1: empty source"),
    (read_apertium_tsv, "a.tsv", "welsh\tenglish\tpos\nci\tdog\tn\n", ":1: header"),
    (read_apertium_tsv, "a.tsv", "cym\teng\tpos\nci\tdog\n", ":2: expected 3"),
    (read_freedict, "f.tei", '<TEI xmlns="http://www.tei-c.org/ns/1.0">\n<entry>\n<form></entry>\n</TEI>\n', ":3: XML"),
    (read_apertium_dix, "apertium-cym-eng.cym-eng.dix", "<dictionary>\n<section>\n<e><p></e>\n", ":3: XML"),
])
def test_malformed_line_names_file_and_line(tmp_path: Path, reader, name: str, content: str, where: str) -> None:
    path = tmp_path / name
    path.write_text(content, encoding="utf-8")
    src, tgt = ("cym", "eng") if reader in (read_apertium_tsv, read_apertium_dix) else ("eng", "spa")
    with pytest.raises(DataError) as err:
        reader(path, src, tgt)
    message = str(err.value)
    assert message.startswith(f"{path}{where}"), message
    assert "\n" not in message


def test_user_tsv_skips_blank_and_comment_lines(tmp_path: Path) -> None:
    path = tmp_path / "mine.tsv"
    path.write_text("# my lexicon\n\nNew York\tNueva York\tpropn\nnew\tnuevo\n\r\nnew\tnuevo\n", encoding="utf-8")
    lexicon = read_tsv(path, "eng", "spa")
    assert len(lexicon) == 2
    assert lexicon.lookup("new york") == (Translation("Nueva York", "propn", "tsv"),)
    assert lexicon.lookup("NEW") == (Translation("nuevo", None, "tsv"),)  # deduplicated


def test_gatitos_does_not_treat_hash_as_comment(tmp_path: Path) -> None:
    path = tmp_path / "en_xx.tsv"
    path.write_text("#hashtag\t#hashtag\n", encoding="utf-8")
    assert read_gatitos(path, "eng", "lug").lookup("#hashtag")


def test_readers_registry_is_plain_dict() -> None:
    assert type(READERS) is dict
    assert set(READERS) == {"gatitos", "muse", "freedict", "apertium", "apertium_tsv", "tsv"}


# --------------------------------------------------------------------------- matching


def _lexicon(*pairs: tuple[str, str]) -> Lexicon:
    return build_lexicon("eng", "spa", ["tsv"], ((s, Translation(t, None, "tsv")) for s, t in pairs))


@pytest.mark.parametrize(("sentence", "matched"), [
    ("I love New York.", ["I", "love", "New York"]),
    ("New York City is big", ["New York City", "is", "big"]),
    ("new, york", ["new", "york"]),  # punctuation between words blocks the phrase
    ("a new  york", ["new  york"]),  # extra spaces collapse
    ("New Yorkers", ["New"]),
])
def test_longest_match_prefers_multi_word_entry(sentence: str, matched: list[str]) -> None:
    lexicon = _lexicon(("new", "nuevo"), ("york", "York"), ("new york", "Nueva York"),
                       ("new york city", "Ciudad de Nueva York"), ("i", "yo"), ("love", "amo"),
                       ("is", "es"), ("big", "grande"))
    matches = lexicon.match(sentence)
    assert [m.text for m in matches] == matched
    for m in matches:
        assert sentence[m.start:m.end] == m.text
        assert m.key == normalize(m.text)


def test_match_real_gatitos() -> None:
    lexicon = load_lexicon("lug")
    matches = lexicon.match("She has a lot of dogs.")
    assert "a lot of" in [m.key for m in matches]
    assert lexicon.max_tokens > 1


def test_merge_keeps_priority_and_dedups() -> None:
    a = build_lexicon("eng", "spa", ["a"], [("dog", Translation("perro", "n", "a"))])
    b = build_lexicon("eng", "spa", ["b"], [("dog", Translation("perro", None, "b")),
                                            ("dog", Translation("can", None, "b")),
                                            ("cat", Translation("gato", None, "b"))])
    merged = merge(a, b)
    assert merged.sources == ("a", "b")
    assert merged.lookup("dog") == (Translation("perro", "n", "a"), Translation("can", None, "b"))
    assert len(merged) == 2
    with pytest.raises(ConfigError):
        merge(a, build_lexicon("eng", "fra", ["c"], []))


def test_invert() -> None:
    lexicon = _lexicon(("dog", "Perro"), ("hound", "perro"), ("dog", "can"))
    inverted = lexicon.invert()
    assert (inverted.src_lang, inverted.tgt_lang) == ("spa", "eng")
    assert [t.text for t in inverted.lookup("perro")] == ["dog", "hound"]
    assert [t.text for t in inverted.lookup("can")] == ["dog"]


# --------------------------------------------------------------------------- catalogue


def test_catalogue_languages() -> None:
    """The hand-written languages, and every other GATITOS language (generated), all known languages."""
    from icl.languages import get_language

    languages = lexicon_languages()
    assert {"ben", "cym", "deu", "ewe", "fas", "fin", "fra", "hin", "ind", "lav", "lin", "lug", "orm", "que",
            "spa", "sqi", "swa", "tam", "tgl", "tir", "tur", "wol"} <= set(languages)
    gatitos = {p.stem[3:] for p in (data_dir() / "lexicons" / "gatitos").glob("en_*.tsv")}
    assert len(languages) == 184 and len(gatitos) == 173  # every GATITOS language but Mapudungun (below)
    assert all(get_language(code).code == code for code in languages)
    assert "arn" not in languages  # en_arn.tsv:3235 has no TAB: left out, with the reason in the catalogue


def test_catalogue_paths_exist() -> None:
    for lang, rows in catalogue().items():
        for row in rows:
            assert (data_dir() / row["path"]).is_file(), f"{lang}: {row['path']}"


@pytest.mark.parametrize(("lang", "direction", "sources", "key", "text"), [
    ("lug", "en-xx", None, "abandon", "okulekulira"),
    ("lg", "xx-en", None, "okulekulira", "abandon"),  # any code works
    ("fra", "en-xx", ["muse"], "house", "maison"),
    ("swa", "en-xx", None, "house", "nyumba"),
    ("cym", "en-xx", ["apertium_tsv"], "cat", "cath"),  # only an xx-en file: inverted
])
def test_load_lexicon(lang: str, direction: str, sources: list[str] | None, key: str, text: str) -> None:
    lexicon = load_lexicon(lang, direction, sources)
    assert text in [t.text for t in lexicon.lookup(key)]


def test_load_lexicon_merges_sources_in_order() -> None:
    lexicon = load_lexicon("fra")
    assert lexicon.sources == ("gatitos", "muse")
    assert len(lexicon) > len(load_lexicon("fra", sources=["muse"]))


def test_load_lexicon_test_split_is_held_out() -> None:
    train, test = load_lexicon("tgl"), load_lexicon("tgl", split="test")
    assert len(test) < len(train)
    assert not set(test.entries) & {"the"}


@pytest.mark.parametrize(("lang", "kwargs", "message"), [
    ("eng", {}, "no lexicon for eng"),
    ("kat", {}, "no lexicon for kat"),
    ("lug", {"sources": ["muse"]}, "lug has no muse"),
    ("lug", {"direction": "xx-yy"}, "direction"),
    ("klingon", {}, "unknown language"),
])
def test_load_lexicon_errors(lang: str, kwargs: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        load_lexicon(lang, **kwargs)


def test_lexicon_stats_sane() -> None:
    stats = lexicon_stats("lug")
    assert stats.entries_by_source == (("gatitos", 3998),)
    flores, massive = stats.coverage
    assert flores.corpus == "flores200-devtest" and massive.corpus == "massive-en-US"
    for cov in stats.coverage:
        assert 0.3 < cov.token_coverage < 1.0
        assert 0.0 < cov.type_coverage < cov.token_coverage  # frequent words are the covered ones
        assert cov.tokens > cov.types > 1000


def test_cli_stats() -> None:
    result = CliRunner().invoke(app, ["stats", "--lang", "lug"])
    assert result.exit_code == 0, result.output
    assert "lug" in result.output and "gatitos" in result.output


def test_stats_count_a_users_lexicon_by_its_catalogue_name(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A user's TSV lexicon (`source: mine, format: tsv`), saved with a BOM and CRLF: stats name it
    by its catalogue source, and its first entry is a real word (no BOM in front)."""
    (tmp_path / "mine.tsv").write_bytes("\ufeffwater\tamazzi\r\nfriend\tmukwano\r\n".encode())
    catalogue = tmp_path / "catalogue.yaml"
    catalogue.write_text(f"languages:\n  lug:\n    - {{source: mine, format: tsv, direction: en-xx, "
                         f"path: {tmp_path / 'mine.tsv'}, licence: CC0}}\n", encoding="utf-8")
    monkeypatch.setenv("ICL_CATALOGUE", str(catalogue))
    stats = lexicon_stats("lug")
    assert stats.entries_by_source == (("mine", 2),)
    assert [t.text for t in load_lexicon("lug").entries["water"]] == ["amazzi"]
    result = CliRunner().invoke(app, ["stats", "--lang", "lug"])
    assert result.exit_code == 0, result.output
    assert "mine 2" in result.output
