"""Lexicon file readers: GATITOS, MUSE, FreeDict TEI, Apertium `.dix` and TSV, and user TSV.

Each reader is `(path, src_lang, tgt_lang) -> Lexicon`; `READERS` maps a catalogue `format` to one.

Format decisions, checked against the real files:
- Blank lines are skipped in every text format (a blank line carries no entry; trailing ones are
  common). `#` comment lines are skipped only in user TSV (`read_tsv`): data-set files have none, and
  a GATITOS or MUSE entry may legitimately begin with `#`.
- Any other line that does not split into the expected fields, or has an empty source or target,
  raises `DataError("<file>:<line>: ...")`. GATITOS `en_arn.tsv:3235` is such a line (no TAB), which
  is one reason Mapudungun is not in the catalogue.
- Translation text is kept as the file gives it (whitespace collapsed): GATITOS translators' notes such
  as "pike (verb)" stay, because stripping them would also break real parentheses.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator
from pathlib import Path

from icl.augment.lexical.lexicon import Lexicon, Translation, build_lexicon
from icl.data.files import open_text
from icl.errors import DataError


def _clean(text: str) -> str:
    return " ".join(text.split())


def _lines(path: Path) -> Iterator[tuple[int, str]]:
    """(line number, line without its line ending), blank lines skipped."""
    if not path.is_file():
        raise DataError(f"{path}: file not found")
    with open_text(path) as fh:
        for lineno, line in enumerate(fh, 1):
            line = line.rstrip("\r\n")
            if line.strip():
                yield lineno, line


def _fields(path: Path, lineno: int, line: str, sep: str, n_min: int, n_max: int) -> list[str]:
    parts = [_clean(p) for p in line.split(sep)]
    what = "TAB" if sep == "\t" else repr(sep)
    if len(parts) == 1:
        raise DataError(f"{path}:{lineno}: expected source {what} target, found no {what}")
    if len(parts) < n_min:
        raise DataError(f"{path}:{lineno}: expected {n_min} {what}-separated fields, found {len(parts)}")
    if len(parts) > n_max:
        raise DataError(f"{path}:{lineno}: expected at most {n_max} {what}-separated fields, found {len(parts)}")
    if not parts[0]:
        raise DataError(f"{path}:{lineno}: empty source entry")
    if not parts[1]:
        raise DataError(f"{path}:{lineno}: empty translation")
    return parts


def _gatitos_entries(path: Path) -> Iterator[tuple[str, str]]:
    for lineno, line in _lines(path):
        src, tgt = _fields(path, lineno, line, "\t", 2, 2)
        yield src, tgt


def _muse_entries(path: Path) -> Iterator[tuple[str, str]]:
    for lineno, line in _lines(path):
        sep = "\t" if "\t" in line else " "
        src, tgt = _fields(path, lineno, line.strip() if sep == " " else line, sep, 2, 2)
        yield src, tgt


PAIR_FORMATS: dict[str, Callable[[Path], Iterator[tuple[str, str]]]] = {
    "gatitos": _gatitos_entries,
    "muse": _muse_entries,
}
"""Formats with one `source <sep> target` entry a line -> their line reader."""


def entries(path: Path, fmt: str) -> Iterator[tuple[str, str]]:
    """(source, target) of each line of a GATITOS or MUSE file, exactly as its reader splits it;
    DataError("<file>:<line>: ...") at the first line the reader rejects. scripts/build_languages.py
    runs it over every file to decide which languages the catalogue can list, without building lexicons."""
    if fmt not in PAIR_FORMATS:
        raise DataError(f"{path}: format {fmt!r} is not one of {', '.join(PAIR_FORMATS)}")
    return PAIR_FORMATS[fmt](path)


def read_gatitos(path: Path, src_lang: str, tgt_lang: str) -> Lexicon:
    """GATITOS `en_<code>.tsv` / `<code>_en.tsv`: source TAB target, no header, one translation a line."""
    pairs = [(src, Translation(tgt, None, "gatitos")) for src, tgt in _gatitos_entries(path)]
    return build_lexicon(src_lang, tgt_lang, ["gatitos"], pairs)


def read_muse(path: Path, src_lang: str, tgt_lang: str) -> Lexicon:
    """MUSE `<src>-<tgt>.<split>.txt`: `source SPACE target`, or TAB-separated.

    The mirror has both: en-de/es/fr and de/es/fr-en use a space, the other eleven pairs a TAB.
    A line with a TAB splits on it; otherwise it must be exactly two space-separated words.
    """
    pairs = [(src, Translation(tgt, None, "muse")) for src, tgt in _muse_entries(path)]
    return build_lexicon(src_lang, tgt_lang, ["muse"], pairs)


def read_tsv(path: Path, src_lang: str, tgt_lang: str) -> Lexicon:
    """A user lexicon: source TAB target [TAB pos]; blank lines and `#` comment lines are skipped."""
    pairs = []
    for lineno, line in _lines(path):
        if line.lstrip().startswith("#"):
            continue
        parts = _fields(path, lineno, line, "\t", 2, 3)
        pos = parts[2] if len(parts) == 3 and parts[2] else None
        pairs.append((parts[0], Translation(parts[1], pos, "tsv")))
    return build_lexicon(src_lang, tgt_lang, ["tsv"], pairs)


def read_apertium_tsv(path: Path, src_lang: str, tgt_lang: str) -> Lexicon:
    """Apertium's extracted pairs (`cym_eng.tsv`): a header naming the two languages, then
    `left TAB right TAB pos`. The header decides which column is the source, so the same file
    reads either way."""
    lines = _lines(path)
    first = next(lines, None)
    if first is None:
        raise DataError(f"{path}:1: empty file, expected a header like 'cym<TAB>eng<TAB>pos'")
    header = [h.strip() for h in first[1].split("\t")]
    if len(header) != 3 or {src_lang, tgt_lang} != set(header[:2]):
        raise DataError(f"{path}:{first[0]}: header {first[1]!r} does not name {src_lang} and {tgt_lang}")
    swap = header[0] != src_lang
    pairs = []
    for lineno, line in lines:
        left, right, pos = _fields(path, lineno, line, "\t", 3, 3)
        src, tgt = (right, left) if swap else (left, right)
        pairs.append((src, Translation(tgt, pos or None, "apertium_tsv")))
    return build_lexicon(src_lang, tgt_lang, ["apertium_tsv"], pairs)


def _xml_error(path: Path, exc: ET.ParseError) -> DataError:
    line = exc.position[0] if exc.position else 0
    return DataError(f"{path}:{line}: XML does not parse ({exc})")


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _dix_side(elem: ET.Element) -> tuple[str, list[str]]:
    """Text and tags of a .dix `<l>`, `<r>` or `<i>`: `<b/>` is a space, `<g>` holds the rest of a
    multi-word lemma (`band<g><b/>pres</g>` is "band pres"), `<s n=...>` are tags."""
    text: list[str] = []
    tags: list[str] = []

    def walk(node: ET.Element) -> None:
        text.append(node.text or "")
        for child in node:
            name = _local(child.tag)
            if name == "b":
                text.append(" ")
            elif name == "s":
                tags.append(child.get("n", ""))
            elif name == "g":
                walk(child)
            text.append(child.tail or "")

    walk(elem)
    return _clean("".join(text)), tags


def read_apertium_dix(path: Path, src_lang: str, tgt_lang: str) -> Lexicon:
    """An Apertium bilingual `.dix` (`apertium-<l>-<r>.<l>-<r>.dix`), either way round.

    The file name says which language is the left side. Entries marked `r="LR"` only translate left
    to right and `r="RL"` only right to left, so each direction keeps the entries meant for it.
    Regular-expression entries (`<re>`) and entries with an empty side (Welsh verbal particles that
    translate to nothing) are skipped. POS is the first `<s n>` of the source side.
    """
    if not path.is_file():
        raise DataError(f"{path}: file not found")
    pair = path.name.split(".")[-2] if path.name.count(".") >= 2 else ""
    left, _, right = pair.partition("-")
    if {left, right} != {src_lang, tgt_lang}:
        raise DataError(f"{path}: file name does not say its sides are {src_lang} and {tgt_lang} "
                        "(expected apertium-<l>-<r>.<l>-<r>.dix)")
    reverse = src_lang == right
    skip = "LR" if reverse else "RL"
    pairs = []
    try:
        for _, elem in ET.iterparse(path, events=("end",)):
            if _local(elem.tag) != "e":
                continue
            if elem.get("r") != skip and elem.find("re") is None:
                for p in elem:
                    name = _local(p.tag)
                    if name == "p":
                        lside, rside = p.find("l"), p.find("r")
                        if lside is None or rside is None:
                            continue
                        (ltext, ltags), (rtext, rtags) = _dix_side(lside), _dix_side(rside)
                    elif name == "i":
                        (ltext, ltags) = (rtext, rtags) = _dix_side(p)
                    else:
                        continue
                    src, stags, tgt = (rtext, rtags, ltext) if reverse else (ltext, ltags, rtext)
                    if src and tgt:
                        pairs.append((src, Translation(tgt, stags[0] if stags else None, "apertium")))
            elem.clear()
    except ET.ParseError as exc:
        raise _xml_error(path, exc) from None
    return build_lexicon(src_lang, tgt_lang, ["apertium"], pairs)


TEI = "{http://www.tei-c.org/ns/1.0}"


def _split_def(text: str) -> list[str]:
    """A FreeDict definition lists equivalents: "worship, revere, adore" -> three translations.

    Splits on commas and semicolons outside parentheses, so "stop (doing, making)" stays whole.
    """
    out, depth, cur = [], 0, []
    for ch in text:
        depth += (ch == "(") - (ch == ")")
        if ch in ",;" and depth <= 0:
            out.append("".join(cur))
            cur = []
        else:
            cur.append(ch)
    out.append("".join(cur))
    return [c for c in (_clean(x) for x in out) if c]


def read_freedict(path: Path, src_lang: str, tgt_lang: str) -> Lexicon:
    """A FreeDict TEI dictionary (`eng-swh.tei`, `swh-eng.tei`).

    Headwords are every `<form><orth>` (variants such as ofisa/afisa included). Translations are
    `<sense><cit type="trans"><quote>` where present, else `<sense><def>` split into its equivalents:
    both FreeDict Swahili files use only `<def>`. Plural-form entries of swh-eng have no `<def>`,
    only `<note type="def">Plural of ufagio: broom</note>`; the gloss after the colon is used.
    POS is the entry's `<gramGrp><pos>`.
    """
    if not path.is_file():
        raise DataError(f"{path}: file not found")
    pairs = []
    try:
        for _, elem in ET.iterparse(path, events=("end",)):
            if elem.tag != f"{TEI}entry":
                continue
            orths = [_clean("".join(o.itertext())) for o in elem.iter(f"{TEI}orth")]
            pos_elem = elem.find(f".//{TEI}gramGrp/{TEI}pos")
            pos = _clean(pos_elem.text or "") or None if pos_elem is not None else None
            texts: list[str] = []
            for sense in elem.iter(f"{TEI}sense"):
                quotes = [q for cit in sense.iter(f"{TEI}cit") if cit.get("type") == "trans"
                          for q in cit.iter(f"{TEI}quote")]
                if quotes:
                    texts.extend(_clean("".join(q.itertext())) for q in quotes)
                    continue
                defs = sense.findall(f"{TEI}def")
                for d in defs:
                    texts.extend(_split_def("".join(d.itertext())))
                if not defs:
                    for note in sense.findall(f"{TEI}note"):
                        body = "".join(note.itertext())
                        if note.get("type") == "def" and body.startswith("Plural of") and ":" in body:
                            texts.extend(_split_def(body.rsplit(":", 1)[1]))
            for orth in orths:
                pairs.extend((orth, Translation(t, pos, "freedict")) for t in texts if t)
            elem.clear()
    except ET.ParseError as exc:
        raise _xml_error(path, exc) from None
    return build_lexicon(src_lang, tgt_lang, ["freedict"], pairs)


Reader = Callable[[Path, str, str], Lexicon]

READERS: dict[str, Reader] = {
    "gatitos": read_gatitos,
    "muse": read_muse,
    "freedict": read_freedict,
    "apertium": read_apertium_dix,
    "apertium_tsv": read_apertium_tsv,
    "tsv": read_tsv,
}
"""Catalogue `format` -> reader `(path, src_lang, tgt_lang) -> Lexicon`."""

