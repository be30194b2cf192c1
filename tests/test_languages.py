"""Every language of the data is known, under any common spelling; the table is made from the data."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from icl.cli.langs import HAS, availability
from icl.config import data_dir
from icl.errors import ConfigError
from icl.languages import (
    RESOURCE_ORDER,
    Language,
    all_languages,
    find_language,
    get_language,
    resource_level,
    shadowed_aliases,
)

REPO = Path(__file__).resolve().parent.parent


def _by(attr: str) -> dict[str, list[Language]]:
    out: dict[str, list[Language]] = {}
    for lang in all_languages():
        if getattr(lang, attr):
            out.setdefault(getattr(lang, attr), []).append(lang)
    return out


# --- the table against the data folder ------------------------------------------------------------------

def test_every_flores_file_is_exactly_one_language() -> None:
    """Checked against the directory listing: a new FLORES file cannot be silently unknown."""
    stems = sorted(p.name[: -len(".devtest")] for p in (data_dir() / "flores200" / "devtest").glob("*.devtest"))
    assert len(stems) == 204
    by_flores = _by("flores")
    assert sorted(by_flores) == stems  # and every language's FLORES file exists
    for stem in stems:
        assert len(by_flores[stem]) == 1, stem
        assert get_language(stem) is by_flores[stem][0]


NTREX_VARIETIES = {"eng-GB": "eng", "eng-IN": "eng", "fra-CA": "fra", "por-BR": "por", "spa-MX": "spa",
                   "gsw-ZH": "gsw"}
"""NTREX-128 regional varieties of a language that has its own NTREX code: no row, found as that language."""


def test_every_ntrex_code_and_file_is_a_language() -> None:
    listed = [ln.split()[0] for ln in (data_dir() / "ntrex128" / "LANGUAGES.tsv").read_text(encoding="utf-8")
              .splitlines() if ln.strip()]
    assert len(listed) == 129  # 128 languages; Serbian twice (srp-Cyrl, srp-Latn)
    by_ntrex = _by("ntrex")
    assert set(by_ntrex) == set(listed) - set(NTREX_VARIETIES)
    assert all(len(langs) == 1 for langs in by_ntrex.values())
    for code, base in NTREX_VARIETIES.items():
        assert get_language(code).code == base
    present = {p.name[len("newstest2019-ref."): -len(".txt")]
               for p in (data_dir() / "ntrex128" / "NTREX-128").glob("newstest2019-ref.*.txt")}
    assert len(present) == 48 and present <= set(by_ntrex)  # (newstest2019-ref-2.spa.txt: a second Spanish reference)


MASSIVE_ADDED = {"es-ES": "spa", "de-DE": "deu"}
"""MASSIVE locales that rows of the first hand-made table (which had none) gained."""


def test_every_massive_locale_and_file_is_a_language() -> None:
    sys.path.insert(0, str(REPO / "scripts"))
    from build_languages import MASSIVE_LOCALES

    by_massive = _by("massive")
    assert len(MASSIVE_LOCALES) == 52 and set(by_massive) == set(MASSIVE_LOCALES)
    assert all(len(langs) == 1 for langs in by_massive.values())
    present = {p.stem for p in (data_dir() / "massive" / "1.1").glob("*.jsonl")}
    assert len(present) == 32 and present <= set(by_massive)  # all 32 files, the 20 new locales included
    for locale, (lang,) in by_massive.items():
        assert get_language(locale) is lang
    for locale, code in MASSIVE_ADDED.items():
        assert get_language(locale).code == code and get_language(code).massive == locale


def test_every_lexicon_and_morphology_code_is_a_language() -> None:
    root = data_dir()
    gatitos = sorted(p.stem[3:] for p in (root / "lexicons" / "gatitos").glob("en_*.tsv"))
    muse = sorted({p.name.split(".")[0][3:] for p in (root / "lexicons" / "muse").glob("en-*.txt")})
    unimorph = sorted(p.name for p in (root / "unimorph").iterdir() if p.is_dir())
    assert (len(gatitos), len(muse), len(unimorph)) == (173, 13, 25)
    shadowed = {(s[0], s[2]) for s in shadowed_aliases()}
    for attr, codes in (("gatitos", gatitos), ("muse", muse), ("unimorph", unimorph)):
        by_code = _by(attr)
        assert sorted(by_code) == codes, attr
        for code in codes:
            (owner,) = by_code[code]
            found = get_language(code)  # resolves; to its own row unless a listed shadowing says otherwise
            assert found is owner or (code.lower(), owner.code) in shadowed, (attr, code, found.code)


def test_lexicon_catalogue_is_keyed_by_language_codes() -> None:
    from icl.augment.lexical.catalogue import catalogue

    cat = catalogue()
    for code, rows in cat.items():
        lang = get_language(code)
        assert lang.code == code
        sources = {r["source"] for r in rows}
        assert ("gatitos" in sources) == bool(lang.gatitos) or code == "arn", code
    with_lexicon_files = {lg.code for lg in all_languages() if lg.gatitos or lg.muse}
    assert with_lexicon_files - set(cat) == {"arn"}  # left out: en_arn.tsv:3235 has no TAB
    assert get_language("swh").code in cat and get_language("fa-AF").code == "prs" and "prs" in cat


def test_rows_are_well_formed() -> None:
    langs = all_languages()
    assert len(langs) == 306
    assert len({lg.code for lg in langs}) == len(langs)
    assert len({lg.name.lower() for lg in langs}) == len(langs)
    for lg in langs:
        assert re.fullmatch(r"[a-z]{3}(_[A-Z][a-z]{3})?", lg.code), lg.code
        assert re.fullmatch(r"[a-z]{3}", lg.iso3) and lg.code.split("_")[0] == lg.iso3, lg.code
        assert lg.iso1 is None or re.fullmatch(r"[a-z]{2}", lg.iso1)
        assert re.fullmatch(r"[A-Z][a-z]{3}", lg.script)
        assert lg.flores is None or lg.flores.endswith("_" + lg.script)
        assert lg.sigmorphon is None or re.fullmatch(r"20(20|23):[a-z_]+", lg.sigmorphon)
        assert lg.resource in RESOURCE_ORDER and lg.resource == resource_level(lg.resource_class)
        assert (lg.resource_class is None) == (not lg.resource_source.startswith("joshi2020:class")), lg.code
        assert lg.code in lg.codes and lg.name not in lg.codes


def test_table_is_what_the_generator_writes() -> None:
    """The committed table and catalogue are the generator's output for this data folder, so neither is
    edited by hand and a change in the data shows here (`--check` writes nothing)."""
    result = subprocess.run([sys.executable, str(REPO / "scripts" / "build_languages.py"), "--check",
                             "--data", str(data_dir())], check=False, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


# --- resolution ------------------------------------------------------------------------------------------

SPELLINGS = [
    # the sweep and its spellings
    ("kin", "kin"), ("rw", "kin"), ("kin_Latn", "kin"), ("KIN-latn", "kin"), ("Kinyarwanda", "kin"),
    ("yor", "yor"), ("hau", "hau"), ("khm_Khmr", "khm"), ("por", "por"), ("swh", "swa"),
    ("swa", "swa"), ("sw", "swa"), ("sw-KE", "swa"), ("sw_KE", "swa"), ("swh_Latn", "swa"), ("swc", "swa"),
    ("Swahili", "swa"), ("pt", "por"), ("pt-BR", "por"), ("por-BR", "por"), ("por_Latn", "por"),
    ("Portuguese", "por"), ("ita", "ita"), ("it", "ita"), ("it-IT", "ita"), ("Italian", "ita"),
    # two scripts, two languages; bare codes and regions go to CLDR's likely script
    ("zho_Hans", "zho_Hans"), ("zho_Hant", "zho_Hant"), ("zh", "zho_Hans"), ("zho", "zho_Hans"),
    ("zh-CN", "zho_Hans"), ("zh-TW", "zho_Hant"), ("zh-Hant", "zho_Hant"), ("zh-HK", "zho_Hant"),
    ("zho-TW", "zho_Hant"), ("cmn", "zho_Hans"), ("Chinese", "zho_Hans"), ("yue", "yue"),
    ("ks", "kas_Arab"), ("kas", "kas_Arab"), ("ks-Deva", "kas_Deva"), ("kas_Deva", "kas_Deva"),
    ("arb_Latn", "arb_Latn"), ("sr", "srp"), ("sr-Latn", "srp_Latn"), ("srp-Latn", "srp_Latn"),
    ("crh", "crh"), ("crh-Cyrl", "crh_Cyrl"), ("sat_Olck", "sat"), ("mni-Mtei", "mni_Mtei"),
    ("ber", "ber_Latn"), ("ms-Arab", "msa_Arab"),
    # macrolanguage <-> the individual language the table has
    ("ar", "arb_Arab"), ("ara", "arb_Arab"), ("arb", "arb_Arab"), ("ms", "zsm"), ("msa", "zsm"),
    ("ms-MY", "zsm"), ("Malay", "zsm"), ("no", "nob"), ("nor", "nob"), ("Norwegian", "nob"), ("nb", "nob"),
    ("ku", "kmr"), ("qu", "que"), ("quz", "que"), ("ekk", "est"), ("uz", "uzn"), ("uzb", "uzn"),
    ("kok", "gom"), ("din", "dik"),
    # regions name varieties the table has apart, and only those
    ("fa", "fas"), ("fa-IR", "fas"), ("pes_Arab", "fas"), ("Farsi", "fas"), ("fa-AF", "prs"), ("prs", "prs"),
    ("Dari", "prs"), ("ar-MA", "ary"), ("az", "aze"), ("az-IR", "azb"), ("en-GB", "eng"), ("de-CH", "deu"),
    # the old keys' own set codes, and deprecated ISO 639-1 codes
    ("gaz_Latn", "orm"), ("khk", "mon"), ("mn", "mon"), ("quy_Latn", "que"), ("plt", "mlg"), ("als", "sqi"),
    ("lvs_Latn", "lav"), ("tl", "tgl"), ("fil", "tgl"), ("iw", "heb"), ("English", "eng"), ("en-US", "eng"),
    # GATITOS's own codes
    ("ak", "aka"), ("twi", "twi"), ("tw", "twi"), ("pa-Arab", "pnb"), ("ndc-ZW", "ndc"), ("apd-SD", "apd"),
]


@pytest.mark.parametrize(("spelling", "code"), SPELLINGS)
def test_any_common_spelling_resolves(spelling: str, code: str) -> None:
    assert get_language(spelling).code == code


def test_two_scripts_are_two_languages() -> None:
    hans, hant = get_language("zho_Hans"), get_language("zho_Hant")
    assert hans != hant and (hans.script, hant.script) == ("Hans", "Hant") and hans.iso3 == hant.iso3 == "zho"
    assert (hans.name, hant.name) == ("Chinese", "Chinese (Traditional)")


OLD_TABLE = """\
eng English eng_Latn eng-US en-US eng - class5
fra French fra_Latn fra fr-FR - - class5
spa Spanish spa_Latn spa es-ES - - class5
deu German deu_Latn deu de-DE - - class5
hin Hindi hin_Deva hin hi-IN hin 2020:hin class4
fas Persian pes_Arab fas fa-IR fas 2020:fas class4
tur Turkish tur_Latn tur tr-TR - 2023:tur class4
fin Finnish fin_Latn fin fi-FI - 2020:fin class4
ind Indonesian ind_Latn ind id-ID ind - class3
tgl Tagalog tgl_Latn fil tl-PH tgl 2020:tgl class3
ben Bengali ben_Beng ben bn-BD ben 2020:ben class3
urd Urdu urd_Arab urd ur-PK urd 2020:urd class3
tam Tamil tam_Taml tam ta-IN - - class3
lav Latvian lvs_Latn lav lv-LV - - class3
kat Georgian kat_Geor kat ka-GE - 2023:kat class3
kaz Kazakh kaz_Cyrl kaz - kaz 2020:kaz class3
swa Swahili swh_Latn swa sw-KE swc 2020:swa class2
amh Amharic amh_Ethi amh am-ET amh 2023:amh class2
isl Icelandic isl_Latn isl is-IS isl - class2
zul Zulu zul_Latn zul - zul 2020:zul class2
hau Hausa hau_Latn hau - - - class2
tir Tigrinya tir_Ethi tir - - - class2
wol Wolof wol_Latn wol - - - class2
cym Welsh cym_Latn cym cy-GB cym - class1
sqi Albanian als_Latn sqi sq-AL sqi 2023:sqi class1
jav Javanese jav_Latn - jv-ID - - class1
khm Khmer khm_Khmr khm km-KH - - class1
mon Mongolian khk_Cyrl mon mn-MN khk - class1
tel Telugu tel_Telu tel te-IN tel 2020:tel class1
kan Kannada kan_Knda kan kn-IN kan 2020:kan class1
aze Azerbaijani azj_Latn aze-Latn az-AZ aze 2020:aze class1
hye Armenian hye_Armn hye hy-AM - 2023:hye class1
mya Burmese mya_Mymr mya my-MM - - class1
orm Oromo gaz_Latn orm - - 2020:orm class1
que Quechua quy_Latn - - - - class1
lug Ganda lug_Latn - - lug 2020:lug class1
nya Nyanja nya_Latn nya - nya 2020:nya class1
sna Shona sna_Latn sna-Latn - sna - class1
mlg Malagasy plt_Latn mlg - mlg 2020:mlg class1
pus Pashto pbt_Arab pus - pus 2020:pus class1
ewe Ewe ewe_Latn ewe - - - class1
lin Lingala lin_Latn - - - 2020:lin class1"""
"""The first, hand-made table (key, name, FLORES, NTREX, MASSIVE, UniMorph, SIGMORPHON, Joshi class):
results computed before the table was generated are keyed on these. (spa and deu had no MASSIVE locale
then; they gained es-ES and de-DE.)"""


@pytest.mark.parametrize("row", OLD_TABLE.splitlines(), ids=lambda r: r.split()[0])
def test_old_keys_keep_their_key_name_codes_and_class(row: str) -> None:
    key, name, *codes, cls = row.split()
    lang = get_language(key)
    assert (lang.code, lang.iso3, lang.name) == (key, key, name)
    assert [lang.flores, lang.ntrex, lang.massive, lang.unimorph, lang.sigmorphon] == [
        None if c == "-" else c for c in codes]
    level = {"class5": "high", "class4": "high", "class3": "mid"}.get(cls, "low")
    assert (lang.resource, lang.resource_source) == (level, f"joshi2020:{cls}")
    assert lang.resource_class == int(cls[-1])
    assert get_language(name) is lang


@pytest.mark.parametrize(("typo", "suggestion"), [
    ("kin_Latm", "'kin_Latn' (Kinyarwanda, kin)"), ("portugese", "'Portuguese' (Portuguese, por)"),
    ("Kinyarwnda", "'Kinyarwanda' (Kinyarwanda, kin)"), ("swahilli", "'Swahili' (Swahili, swa)"),
    ("yorba", "'Yoruba' (Yoruba, yor)"), ("swk", "'swa' (Swahili, swa)"), ("swh_Latm", "'swh_Latn' (Swahili, swa)"),
    ("Kashmiry", "'Kashmiri' (Kashmiri, kas_Arab)"),
])
def test_a_miss_suggests_a_real_near_match(typo: str, suggestion: str) -> None:
    with pytest.raises(ConfigError, match=re.escape(f"src: unknown language code '{typo}' (did you mean {suggestion}?)")):
        get_language(typo, key="src")


@pytest.mark.parametrize("nonsense", ["xqz", "klingon", "Klingon language", "zz-ZZ", "12", "Arapesh", "qqq_Latn", ""])
def test_nonsense_gets_no_suggestion(nonsense: str) -> None:
    with pytest.raises(ConfigError) as info:
        get_language(nonsense)
    assert "did you mean" not in str(info.value) and "`icl langs` lists them" in str(info.value)
    assert find_language(nonsense) is None


def test_no_alias_shadows_another_languages_code() -> None:
    """Keys and set codes find their own row; bare ISO codes the language's likely row; the few codes a
    file names after another language (GATITOS `ak` is Twi, ISO `ak` is Akan) are listed, and pinned."""
    for lang in all_languages():
        assert get_language(lang.code) is lang
        for attr in ("flores", "ntrex", "massive"):
            if getattr(lang, attr):
                assert get_language(getattr(lang, attr)) is lang, (lang.code, attr)
        assert get_language(lang.iso3).iso3 == lang.iso3 or lang.code in ("msa_Arab",), lang.code
    assert shadowed_aliases() == (
        ("ak", "gatitos", "twi", "aka"),  # GATITOS's README: its `ak` file is Twi
        ("ber", "gatitos", "ber_Tfng", "ber_Latn"),  # a bare code: CLDR's likely script (Latn)
        ("crh", "gatitos", "crh_Cyrl", "crh"),  # the key crh is FLORES crh_Latn
        ("ga", "name", "gaa", "gle"),  # the name of Ga is Irish's ISO 639-1 code
    )


def test_lookups_are_cached() -> None:
    from icl.languages.table import _table, _table_text

    assert _table(_table_text()) is _table(_table_text())
    get_language("sw-KE")
    before = find_language.cache_info().hits
    for _ in range(1000):
        get_language("sw-KE")
    assert find_language.cache_info().hits >= before + 1000


# --- resource classes ------------------------------------------------------------------------------------

def test_joshi_classes_are_the_published_file() -> None:
    lines = [ln for ln in (REPO / "icl" / "resources" / "joshi2020.tsv").read_text(encoding="utf-8").splitlines()
             if ln and not ln.startswith("#")]
    assert lines[0] == "name\tclass" and len(lines) == 2486
    classes = dict(reversed([ln.split("\t") for ln in lines[1:]]))  # first occurrence wins here
    assert (classes["swahili"], classes["kinyarwanda"], classes["english"]) == ("2", "1", "5")


@pytest.mark.parametrize(("code", "cls", "source"), [
    ("kin", 1, "joshi2020:class1"), ("yor", 2, "joshi2020:class2"), ("arb_Arab", 5, "joshi2020:class5"),
    ("zho_Hans", 5, "joshi2020:class5"), ("por", 4, "joshi2020:class4"), ("prs", 0, "joshi2020:class0"),
    ("crh", 1, "joshi2020:class1"),  # the likely row of the language the name finds
    # another script of a language has its class (the ace_Arab, arb_Latn)
    ("ace_Arab", 1, "joshi2020:class1 via ace_Latn"), ("arb_Latn", 5, "joshi2020:class5 via arb_Arab"),
    ("zho_Hant", 5, "joshi2020:class5 via zho_Hans"), ("crh_Cyrl", 1, "joshi2020:class1 via crh"),
    ("msa_Arab", 3, "joshi2020:class3 via zsm"),  # a macrolanguage's other script: the row its bare code names
    # names that reach a language with two classes: the ISO 639-3 reference name settles it
    ("bel", 3, "joshi2020:class3 by reference name 'belarusian'"),  # not "belorussian" 0
    ("sin", 0, "joshi2020:class0 by reference name 'sinhala'"),  # not "sinhalese" 1
    ("chm", 0, "joshi2020:class0 by reference name 'mari'"),  # "Mari (Russia)": qualifier dropped
    ("grn", 1, "joshi2020:class1 by reference name 'guarani'"),  # as written before without diacritics
    # the other rules: diacritics, cardinal words, collectives, macrolanguages, spelled otherwise
    ("gaa", 0, "joshi2020:class0"), ("azb", 1, "joshi2020:class1"), ("ber_Latn", 0, "joshi2020:class0"),
    ("gom", 2, "joshi2020:class2 via macrolanguage kok"), ("fon", 0, "joshi2020:class0"),
    ("pan", 2, "joshi2020:class2"),
])
def test_resource_class_by_the_stated_rules(code: str, cls: int, source: str) -> None:
    lang = get_language(code)
    assert (lang.resource_class, lang.resource_source) == (cls, source)
    assert lang.resource == resource_level(cls)


@pytest.mark.parametrize(("code", "why"), [
    ("sot", "lang2tax names disagree (sotho: 0; sesotho: 1) and its reference name 'southern sotho' is not one"),
    ("ary", "lang2tax names only its macrolanguage ar (arabic)"),  # Standard Arabic's class is not Darija's
    ("fuv", "lang2tax names only its macrolanguage ff"),
    ("alz", "lang2tax has none of its CLDR/ISO 639-3 names (alur)"),
])
def test_unknown_says_why_never_guesses(code: str, why: str) -> None:
    lang = get_language(code)
    assert (lang.resource_class, lang.resource) == (None, "unknown") and lang.resource_source.startswith(why)


def test_few_languages_stay_unknown_and_the_table_lists_them() -> None:
    unknown = [lg for lg in all_languages() if lg.resource_class is None]
    assert len(unknown) == 42  # of 306; every one with its reason in the table's header (the closing note)
    header = (REPO / "icl" / "resources" / "languages.tsv").read_text(encoding="utf-8")
    assert all(f"#   {lg.code} ({lg.name}): {lg.resource_source}" in header for lg in unknown)


# --- availability (`icl langs`) ----------------------------------------------------------------------------

def test_availability_lists_every_language_low_first() -> None:
    rows = availability()
    assert len(rows) == len(all_languages())
    order = [(RESOURCE_ORDER[r["resource"]], 6 if r["class"] == "-" else int(r["class"])) for r in rows]
    assert order == sorted(order)  # low first, by class within a level, unknown last
    by_code = {r["code"]: r for r in rows}
    assert set(by_code["swa"]["data"].split(",")) == {"flores", "ntrex", "massive", "lexicon", "unimorph", "sigmorphon"}
    assert by_code["kin"]["data"] == "flores,ntrex" and by_code["kin"]["lexicons"] == "-"
    assert by_code["prs"]["lexicons"] == "gatitos" and by_code["arn"]["lexicons"] == "-"
    assert by_code["zho_Hant"]["massive"] == "zh-TW" and "massive" not in by_code["zho_Hant"]["data"]


@pytest.mark.parametrize(("has", "resource", "inside", "outside"), [
    (("flores", "lexicon"), "low", {"swa", "lug", "wol", "twi"}, {"fra", "kin", "eng"}),
    (("massive",), None, {"swa", "eng", "fas", "cym"}, {"kin", "zho_Hans"}),
    (("muse",), "high", {"fra", "deu", "fas"}, {"ben", "swa"}),
    (("gatitos",), "unknown", {"ary", "apd"}, {"prs", "fra"}),
    (("unimorph", "sigmorphon"), None, {"swa", "zul", "lug"}, {"eng", "tur"}),
    ((), "mid", {"ind", "zsm"}, {"swa", "eng"}),
    ((), "1", {"kin", "ace_Arab", "cym"}, {"swa", "eng", "alz"}),  # a class, not only a level
    (("massive",), "0,1,unknown", {"khm", "mya", "jav", "tel"}, {"swa", "eng", "kin"}),
])
def test_availability_filters(has: tuple[str, ...], resource: str | None, inside: set[str], outside: set[str]) -> None:
    rows = availability(has=has, resource=resource)
    codes = {r["code"] for r in rows}
    assert inside <= codes and not outside & codes
    assert all(resource is None or {r["resource"], r["class"]} & set(resource.split(",")) for r in rows)
    assert all(set(has) - {"gatitos", "muse"} <= set(r["data"].split(",")) for r in rows)


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"has": ["wikipedia"]}, f"--has: 'wikipedia' is not one of {', '.join(HAS)}"),
    ({"resource": "very low"}, "--resource: 'very low' is not one of low, mid, high, unknown, 0, 1, 2, 3, 4, 5"),
    ({"resource": "1,6"}, "--resource: '6' is not one of low"),
])
def test_availability_rejects_unknown_names(kwargs: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=re.escape(message)):
        availability(**kwargs)
