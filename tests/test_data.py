"""Loaders read the real files; the language table agrees with the data on disk."""

from __future__ import annotations

import pytest

from icl.config import data_dir
from icl.data import PARTITIONS, intent_labels, load_flores, load_massive, load_ntrex, scenario_of
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
    sizes = {p: len(load_massive(locale, p)) for p in PARTITIONS}
    assert sizes == {"train": 11514, "dev": 2033, "test": 2974}


def test_massive_is_id_parallel_across_locales() -> None:
    en, sw = load_massive("en-US", "test"), load_massive("sw-KE", "test")
    assert [e.id for e in en] == [s.id for s in sw]
    assert [e.target for e in en] == [s.target for s in sw]


def test_sixty_intents_and_eighteen_scenarios_from_the_data() -> None:
    assert len(intent_labels()) == 60
    assert len(set(scenario_of().values())) == 18
    assert scenario_of()["alarm_set"] == "alarm"


@pytest.mark.parametrize("code", ["swh_Latn", "sw-KE", "swa", "sw", "swc", "Swahili"])
def test_every_code_convention_finds_swahili(code: str) -> None:
    assert get_language(code).iso3 == "swa"


def test_unknown_language_suggests_nearest() -> None:
    with pytest.raises(ConfigError, match=r"unknown language code 'swk'.*did you mean"):
        get_language("swk")


def test_language_table_points_at_real_files() -> None:
    root = data_dir()
    for lang in all_languages():
        assert lang.resource in ("high", "mid", "low"), lang
        assert lang.resource_source.startswith("joshi2020:class"), lang
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
    with pytest.raises(DataError, match=r"sq-AL.jsonl:2: not a MASSIVE record"):
        load_massive("sq-AL")
