"""Why icl reads UniMorph tables itself instead of through the `unimorph` package (docs/unimorph.md).

Pointed at the data folder, the package reads a table offline, and on most tables it agrees with icl
row for row. On two real tables it changes entries: pandas reads the English verb "null" as a
missing value, and seven Tagalog rows keep a trailing space on the lemma or form. icl's reader keeps
both, so it stays the one in use; these tests fail the day the package reads them right.
"""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import unimorph

from icl.augment.lexical.unimorph import load_unimorph, read_unimorph, tsv_rows, unimorph_dir


@pytest.fixture
def offline_package(monkeypatch: pytest.MonkeyPatch) -> object:
    """The package pointed at the data folder's UniMorph layout (`<dir>/<code>/<file>`), with any
    attempt to clone a repository turned into a failure. The package reads `$UNIMORPH` once, when it
    is imported, so its module-level folder is set too."""
    folder = unimorph_dir()
    monkeypatch.setenv("UNIMORPH", str(folder))
    monkeypatch.setattr(unimorph, "UNIMORPH_DIR", folder)

    def no_fetch(*args: object, **kwargs: object) -> None:
        raise AssertionError(f"the unimorph package tried to run {args!r}")

    monkeypatch.setattr(unimorph.subprocess, "run", no_fetch)
    return unimorph


def _package_rows(package: object, code: str, name: str) -> list[tuple[object, ...]]:
    frame = package.load_dataset(code, specific_file=name)  # type: ignore[attr-defined]
    return [tuple(row) for row in frame.itertuples(index=False)]


def _icl_rows(code: str, name: str) -> list[tuple[str, ...]]:
    return [tuple(fields) for _, fields in tsv_rows(unimorph_dir() / code / name, 3)]


def test_package_reads_the_data_folder_offline_and_agrees_on_a_plain_table(offline_package: object) -> None:
    """Cebuano: CRLF-free, no odd values; the package and icl read the same 618 rows, nothing fetched."""
    theirs = _package_rows(offline_package, "ceb", "ceb")
    assert theirs == _icl_rows("ceb", "ceb")
    assert len(theirs) == 618


def test_package_reads_the_english_verb_null_as_missing(offline_package: object) -> None:
    """pandas' default missing-value words include "null": the lemma and its bare form become NaN."""
    ours = _icl_rows("eng", "eng.args")
    theirs = _package_rows(offline_package, "eng", "eng.args")
    assert len(theirs) == len(ours)
    changed = [(o, t) for o, t in zip(ours, theirs, strict=True) if o != t]
    assert [o for o, _ in changed] == [r for r in ours if r[0] == "null"]
    assert ("null", "null", "V;NFIN") in ours
    assert all(isinstance(t[0], float) and math.isnan(t[0]) for _, t in changed)
    assert ("null", frozenset({"V", "NFIN"})) in load_unimorph("eng").analyze("null")


def test_package_keeps_trailing_spaces_in_tagalog(offline_package: object) -> None:
    """Seven Tagalog rows write "sipilyo " with a trailing space; icl strips fields, the package does not,
    so the package's table has no lemma "sipilyo" to inflect."""
    ours = _icl_rows("tgl", "tgl")
    theirs = _package_rows(offline_package, "tgl", "tgl")
    changed = [(o, t) for o, t in zip(ours, theirs, strict=True) if o != t]
    assert len(changed) == 7
    assert all(tuple(str(f).strip() for f in t) == o for o, t in changed)
    assert "sipilyo" not in {t[0] for t in theirs}
    assert load_unimorph("tgl").has_lemma("sipilyo")


def test_icl_reader_drops_a_byte_order_mark(tmp_path: Path) -> None:
    """A table saved with a BOM: the first lemma is the word, not the word behind U+FEFF."""
    table = tmp_path / "bom"
    table.write_bytes("\ufefffika\tnilifika\tV;SG;1;PST\r\n".encode())
    assert read_unimorph(table)[0][0] == "fika"
