"""Text files read the way users save them: every reader gives the same result for a file written with
a byte-order mark and Windows line ends (CRLF) as for a clean one, and a line that cannot be read
still stops with file:line."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from icl.augment.lexical.readers import READERS
from icl.augment.lexical.sigmorphon import read_sigmorphon
from icl.augment.lexical.unimorph import read_unimorph
from icl.data.declaration import parse_declaration
from icl.data.readers import read_lines, read_records
from icl.errors import DataError
from icl.prompts.render import load_template, render

BOM = "\ufeff"


def write(path: Path, text: str, dirty: bool) -> Path:
    """The text as an editor saves it: clean (UTF-8, LF), or with a BOM and CRLF line ends."""
    path.parent.mkdir(parents=True, exist_ok=True)
    data = (BOM + text.replace("\n", "\r\n")) if dirty else text
    path.write_bytes(data.encode("utf-8"))
    return path


def both(tmp_path: Path, name: str, text: str) -> tuple[Path, Path]:
    return write(tmp_path / "clean" / name, text, False), write(tmp_path / "dirty" / name, text, True)


DATA_FILES = {
    "tsv": ("test.tsv", "id\ten\tyo\n0\tHello.\tBawo.\n1\tThanks \"a lot\".\tE se.\n",
            {"id": "id", "source": "en", "target": "yo"}, "mt"),
    "csv": ("test.csv", 'id,en,yo\n0,Hello.,Bawo.\n1,"Thanks, a lot.",E se.\n',
            {"id": "id", "source": "en", "target": "yo"}, "mt"),
    "jsonl": ("test.jsonl", '{"t": "Wake me at six", "l": "alarm_set"}\n{"t": "Play jazz", "l": "play_music"}\n',
              {"text": "t", "label": "l"}, "intent"),
    "conll": ("test.conll", ("# text = Spiel Jazz\n# intent = PlayMusic\n1\tSpiel\tO\n2\tJazz\tO\n\n"
              "# text = Wetter morgen\n# intent = GetWeather\n1\tWetter\tO\n\n"), {}, "intent"),
}


@pytest.mark.parametrize("fmt", list(DATA_FILES))
def test_data_set_readers(tmp_path: Path, fmt: str) -> None:
    name, text, columns, task = DATA_FILES[fmt]
    clean, dirty = both(tmp_path, name, text)
    languages = ["eng", "yor"] if task == "mt" else ["eng"]
    got = []
    for path in (clean, dirty):
        spec = parse_declaration({"task": task, "format": fmt, "path": path.name, "splits": ["test"],
                                  "languages": languages, "columns": columns}, "decl", path.parent, "mine")
        got.append([dict(r.values) for r in read_records(spec, "test", path, {})])
    assert got[0] == got[1] and len(got[0]) == 2
    assert all(BOM not in v and "\r" not in v for row in got[1] for v in row.values())


def test_line_aligned_files(tmp_path: Path) -> None:
    clean, dirty = both(tmp_path, "eng_Latn.devtest", "First sentence.\nSecond one.\n")
    assert read_lines(clean) == read_lines(dirty) == ("First sentence.", "Second one.")


LEXICONS = {
    "gatitos": ("en_lug.tsv", "water\tamazzi\nfriend\tmukwano\n", [("water", "amazzi"), ("friend", "mukwano")]),
    "muse": ("en-fr.0-5000.txt", "water eau\nfriend ami\n", [("water", "eau"), ("friend", "ami")]),
    "tsv": ("mine.tsv", "# my words\nwater\tamazzi\tn\nfriend\tmukwano\n", [("water", "amazzi"), ("friend", "mukwano")]),
    "freedict": ("eng-swh.tei", ('<?xml version="1.0" encoding="UTF-8"?>\n'
                 '<TEI xmlns="http://www.tei-c.org/ns/1.0"><text><body>\n'
                 "<entry><form><orth>water</orth></form><gramGrp><pos>n</pos></gramGrp>\n"
                 "<sense><def>maji</def></sense></entry>\n"
                 "<entry><form><orth>friend</orth></form><sense><def>rafiki</def></sense></entry>\n"
                 "</body></text></TEI>\n"), [("water", "maji"), ("friend", "rafiki")]),
    "apertium_tsv": ("cym_eng.tsv", "cym\teng\tpos\ndŵr\twater\tn\nffrind\tfriend\tn\n",
                     [("water", "dŵr"), ("friend", "ffrind")]),
    "apertium": ("apertium-eng-cym.eng-cym.dix", ('<?xml version="1.0" encoding="UTF-8"?>\n'
                     "<dictionary><section id=\"main\" type=\"standard\">\n"
                     '<e><p><l>water<s n="n"/></l><r>dŵr<s n="n"/></r></p></e>\n'
                     '<e><p><l>friend<s n="n"/></l><r>ffrind<s n="n"/></r></p></e>\n'
                     "</section></dictionary>\n"), [("water", "dŵr"), ("friend", "ffrind")]),
}


@pytest.mark.parametrize("fmt", list(LEXICONS))
def test_lexicon_readers(tmp_path: Path, fmt: str) -> None:
    name, text, expected = LEXICONS[fmt]
    clean, dirty = both(tmp_path, name, text)
    langs = {"en_lug.tsv": ("eng", "lug"), "en-fr.0-5000.txt": ("eng", "fra"), "mine.tsv": ("eng", "lug"),
             "eng-swh.tei": ("eng", "swh"), "apertium-eng-cym.eng-cym.dix": ("eng", "cym"),
             "cym_eng.tsv": ("eng", "cym")}[name]
    read = [READERS[fmt](path, *langs) for path in (clean, dirty)]
    assert set(READERS) == set(LEXICONS)  # every reader is tested here
    assert dict(read[0].entries) == dict(read[1].entries)
    for source, target in expected:
        assert [t.text for t in read[1].entries[source]] == [target]  # the first entry has no BOM in front


def test_a_bad_line_still_names_file_and_line(tmp_path: Path) -> None:
    path = write(tmp_path / "en_lug.tsv", "water\tamazzi\nfriend\tmukwano\nno tab here\n", True)
    with pytest.raises(DataError, match=r"en_lug\.tsv:3: expected source TAB target"):
        READERS["gatitos"](path, "eng", "lug")


def test_unimorph_and_sigmorphon_tables(tmp_path: Path) -> None:
    clean, dirty = both(tmp_path, "swc", "soma\tanasoma\tV;PRS;3;SG\nsoma\talisoma\tV;PST;3;SG\n")
    assert read_unimorph(clean) == read_unimorph(dirty) and read_unimorph(dirty)[0][0] == "soma"
    clean, dirty = both(tmp_path, "swa.trn", "soma\tV;PST;3;SG\talisoma\n")
    assert read_sigmorphon(clean, "2023") == read_sigmorphon(dirty, "2023")
    assert read_sigmorphon(dirty, "2023")[0][0] == "soma"


def test_templates(tmp_path: Path) -> None:
    text = ('{%- macro answer(target) %} {{ target }}{% endmacro -%}\n'
            "{{ src_name }}: {{ source }}\n{{ tgt_name }}:")
    clean, dirty = both(tmp_path, "mt/mine.j2", text)
    prompts = [render(load_template("mt/mine", root=path.parent.parent), {"src_name": "English", "tgt_name": "Yoruba",
                                                                          "source": "Hello."}).prompt.text
               for path in (clean, dirty)]
    assert prompts[0] == prompts[1] == "English: Hello.\nYoruba:"


def test_yaml_files(tmp_path: Path) -> None:
    from icl.augment.lexical.catalogue import catalogue
    from icl.sweep.load import load_sweep

    sweep = "name: mine\nmodels: [{name: m, engine: hf}]\nmt:\n  languages: [yor]\n  limit: 2\n"
    clean, dirty = both(tmp_path, "sweep.yaml", sweep)
    assert load_sweep(clean).runs == tuple(r for r in load_sweep(dirty).runs)
    cat = ("languages:\n  lug:\n    - {source: mine, format: tsv, direction: en-xx, path: mine.tsv, "
           "licence: CC0}\n")
    clean, dirty = both(tmp_path, "catalogue.yaml", cat)
    assert catalogue(clean) == catalogue(dirty)


MACHINE_PATH = re.compile(r"(?<![\w.~$/-])/(?:work|root|home)/[\w.-]")
"""An absolute path into this machine's work, root or home folders (not `~/...`, not inside a URL or a
longer path such as `/usr/local/...`)."""


def test_no_committed_text_file_holds_a_path_of_the_machine_that_made_it() -> None:
    """Results, docs and code are committed and read elsewhere: a path of the machine that wrote them (a
    pilot folder in power.txt, a data folder in a table) is wrong on every other one."""
    repo = Path(__file__).resolve().parent.parent
    if not (repo / ".git").exists():
        pytest.skip("not a git checkout")
    listed = subprocess.run(["git", "-C", str(repo), "ls-files", "-z"], capture_output=True, check=True).stdout
    hits = []
    for name in listed.decode().split("\0"):
        path = repo / name
        if not name or not path.is_file():
            continue
        data = path.read_bytes()
        if b"\0" in data[:8192]:  # binary
            continue
        for lineno, line in enumerate(data.decode("utf-8", errors="replace").splitlines(), 1):
            if MACHINE_PATH.search(line):
                hits.append(f"{name}:{lineno}: {line.strip()[:120]}")
    assert hits == []


S = "/"  # the cases below spell their slashes so, or this file would hold what it looks for


@pytest.mark.parametrize(("line", "found"), [
    (f"pilot {S}work{S}main/results/x", True), (f"see {S}root{S}.cache/icl", True), (f"({S}home{S}me/data)", True),
    ("~/.cache/icl/models", False), (f"/usr/local{S}home{S}x", False), (f"https://example.org{S}home{S}x", False),
    ("$HOME/.cache", False), ("results/lowres_gains", False), (f"{S}work{S}", False),
])
def test_what_counts_as_a_machine_path(line: str, found: bool) -> None:
    assert bool(MACHINE_PATH.search(line)) == found
