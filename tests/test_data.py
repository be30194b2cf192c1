"""Loaders read the real files; the language table agrees with the data on disk."""

from __future__ import annotations

import json

import pytest

from icl.config import data_dir
from icl.data import builtin_registry, label_set, load_flores, load_massive, load_ntrex
from icl.errors import ConfigError, DataError
from icl.languages import all_languages, get_language


@pytest.mark.parametrize("src,tgt", [("eng", "fra"), ("eng", "swa"), ("lug", "eng"), ("tgl", "que")])
def test_flores_has_1012_aligned_lines(src: str, tgt: str) -> None:
    pairs = load_flores(src, tgt)
    assert len(pairs) == 1012
    assert pairs[0].id == "flores:0" and pairs[-1].id == "flores:1011"
    assert all(p.source and p.target for p in pairs)


def test_flores_english_first_line_is_the_known_sentence() -> None:
    assert load_flores("eng", "fra")[0].source.startswith('"We now have 4-month-old mice')


@pytest.mark.parametrize("tgt", ["swa", "fra", "wol", "cym"])
def test_ntrex_has_1997_lines(tgt: str) -> None:
    pairs = load_ntrex("eng", tgt)
    assert len(pairs) == 1997
    assert pairs[0].origin == "ntrex128"


@pytest.mark.parametrize("locale", ["en-US", "sw-KE", "cy-GB"])
def test_massive_has_16521_records_per_locale(locale: str) -> None:
    records = load_massive(locale)
    assert len(records) == 16521
    sizes = {p: len(load_massive(locale, p)) for p in builtin_registry().get("massive").splits}
    assert sizes == {"train": 11514, "dev": 2033, "test": 2974}


def test_massive_is_id_parallel_across_locales() -> None:
    en, sw = load_massive("en-US", "test"), load_massive("sw-KE", "test")
    assert [e.id for e in en] == [s.id for s in sw]
    assert [e.target for e in en] == [s.target for s in sw]


@pytest.mark.parametrize("locale", ["en-US", "sw-KE"])
def test_sixty_intents_and_eighteen_scenarios_from_the_data(locale: str) -> None:
    labels = label_set(builtin_registry().get("massive"), locale)
    assert len(labels.labels) == 60 and list(labels.labels) == sorted(labels.labels)
    assert len(labels.by_group()) == 18
    assert labels.groups["alarm_set"] == "alarm"


@pytest.mark.parametrize("code", ["swh_Latn", "sw-KE", "swa", "sw", "swc", "Swahili"])
def test_every_code_convention_finds_swahili(code: str) -> None:
    assert get_language(code).code == "swa"


def test_unknown_language_suggests_nearest() -> None:
    with pytest.raises(ConfigError, match=r"unknown language code 'swk'.*did you mean"):
        get_language("swk")


def test_language_table_points_at_real_files() -> None:
    root = data_dir()
    for lang in all_languages():
        assert lang.resource in ("high", "mid", "low", "unknown"), lang
        assert (lang.resource_source or "").startswith("joshi2020:class") == (lang.resource != "unknown"), lang
        if lang.flores:
            assert (root / "flores200" / "devtest" / f"{lang.flores}.devtest").is_file(), lang.flores


def test_missing_data_folder_is_a_clear_error(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    monkeypatch.setenv("ICL_DATA_DIR", str(tmp_path / "nowhere"))
    with pytest.raises(DataError, match="nowhere: data folder not found"):
        data_dir()


def test_malformed_massive_line_names_file_and_line(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    folder = tmp_path / "massive" / "1.1"
    folder.mkdir(parents=True)
    (folder / "sq-AL.jsonl").write_text('{"id": "1", "partition": "test", "scenario": "a", "intent": "a_b", '
                                        '"utt": "x"}\n{not json\n')
    monkeypatch.setenv("ICL_DATA_DIR", str(tmp_path))
    with pytest.raises(DataError, match=r"sq-AL.jsonl:2: not a JSON record"):
        load_massive("sq-AL")


def test_switching_the_data_folder_in_one_process_reads_the_new_files(monkeypatch: pytest.MonkeyPatch,
                                                                      tmp_path) -> None:
    """Caches are keyed on the files they read: pointing ICL_DATA_DIR elsewhere mid-process never
    serves tables, lexicons or label sets read from the old folder."""
    from icl.augment.lexical.catalogue import load_lexicon
    from icl.augment.lexical.unimorph import load_unimorph

    real = load_flores("eng", "fra")
    real_lexicon = load_lexicon("fra")
    real_labels = label_set(builtin_registry().get("massive"), "en-US")
    real_table = load_unimorph("swa")
    other = tmp_path / "other"
    (other / "flores200" / "devtest").mkdir(parents=True)
    (other / "flores200" / "devtest" / "eng_Latn.devtest").write_text("One.\nTwo.\n", encoding="utf-8")
    (other / "flores200" / "devtest" / "fra_Latn.devtest").write_text("Un.\nDeux.\n", encoding="utf-8")
    (other / "lexicons" / "gatitos").mkdir(parents=True)
    (other / "lexicons" / "gatitos" / "en_fr.tsv").write_text("dog\tchien\n", encoding="utf-8")
    (other / "lexicons" / "muse").mkdir(parents=True)
    for name in ("en-fr.0-5000.txt", "fr-en.0-5000.txt", "en-fr.5000-6500.txt", "fr-en.5000-6500.txt"):
        (other / "lexicons" / "muse" / name).write_text("cat chat\n" if name.startswith("en") else "chat cat\n")
    (other / "lexicons" / "gatitos" / "fr_en.tsv").write_text("chien\tdog\n", encoding="utf-8")
    (other / "massive" / "1.1").mkdir(parents=True)
    (other / "massive" / "1.1" / "en-US.jsonl").write_text("".join(
        json.dumps({"id": str(i), "partition": p, "scenario": "s", "intent": label, "utt": "x"}) + "\n"
        for i, (p, label) in enumerate([("train", "a_b"), ("test", "a_b"), ("dev", "c_d")])), encoding="utf-8")
    (other / "unimorph" / "swc").mkdir(parents=True)
    (other / "unimorph" / "swc" / "swc").write_text("soma\tanasoma\tV;PRS;3;SG\n", encoding="utf-8")
    with monkeypatch.context() as mp:
        mp.setenv("ICL_DATA_DIR", str(other))
        assert [e.source for e in load_flores("eng", "fra")] == ["One.", "Two."]
        assert len(load_lexicon("fra")) == 2 and len(real_lexicon) > 1000
        assert label_set(builtin_registry().get("massive"), "en-US").labels == ("a_b", "c_d")
        assert len(load_unimorph("swa")) == 1
    assert load_flores("eng", "fra") == real and len(load_lexicon("fra")) == len(real_lexicon)
    assert label_set(builtin_registry().get("massive"), "en-US") == real_labels
    assert len(load_unimorph("swa")) == len(real_table)
