"""Bilingual lexicons: read GATITOS, MUSE, FreeDict, Apertium and user TSV files into one frozen type.

A `Lexicon` maps normalized source phrases to translations, so augmenters can look words up or find
every lexicon hit in a sentence (greedy longest match) without knowing where the entries came from.
Which files exist for which language is data (`lexicons/catalogue.yaml`), not code; `load_lexicon`
reads and merges them. Files are read where they lie under `icl.config.data_dir()`, never copied.

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

import re
import unicodedata
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from types import MappingProxyType

import yaml

from icl.config import REPO_ROOT, data_dir
from icl.errors import ConfigError, DataError
from icl.languages import get_language

DIRECTIONS = ("en-xx", "xx-en")
"""en-xx: English is the source side (lookup English words); xx-en: the other language is."""

CATALOGUE_PATH = REPO_ROOT / "lexicons" / "catalogue.yaml"
"""Which lexicon files each language has; data, edited by hand."""

_JOINERS = frozenset("'\u2019-\u2010")
"""Apostrophes (' and U+2019) and hyphens (- and U+2010) kept inside a token when a word character
follows (don't, e-mail)."""

_SPACES = re.compile(r"\s+")


# --------------------------------------------------------------------------- normalization, tokens


def _is_punct(ch: str) -> bool:
    return unicodedata.category(ch).startswith("P")


@cache
def _is_word_char(ch: str) -> bool:
    # Combining marks count: Devanagari vowel signs (Mc/Mn) are not `str.isalnum`, and splitting
    # Hindi words at them would make every multi-syllable word unmatchable.
    return ch.isalnum() or unicodedata.category(ch).startswith("M")


def normalize(text: str) -> str:
    """The lookup key of a phrase: NFC, casefolded, surrounding punctuation stripped, spaces collapsed.

    Keys are normalized on both sides (entries when read, sentence spans when matched) so that
    "Dog," in a sentence finds the entry "dog", and composed/decomposed accents compare equal.
    """
    folded = unicodedata.normalize("NFC", unicodedata.normalize("NFC", text).casefold())
    collapsed = " ".join(folded.split())
    start, end = 0, len(collapsed)
    while start < end and (_is_punct(collapsed[start]) or collapsed[start].isspace()):
        start += 1
    while end > start and (_is_punct(collapsed[end - 1]) or collapsed[end - 1].isspace()):
        end -= 1
    return collapsed[start:end]


def tokenize(text: str) -> list[tuple[int, int]]:
    """Word tokens as (start, end) character offsets into `text`; punctuation and spaces are skipped.

    A token is a run of letters, digits and combining marks, with an apostrophe or hyphen kept inside
    it when a word character follows. Offsets, not strings, so matches can point back at the
    original sentence.
    """
    spans: list[tuple[int, int]] = []
    i, n = 0, len(text)
    while i < n:
        if not _is_word_char(text[i]):
            i += 1
            continue
        j = i + 1
        while j < n:
            if _is_word_char(text[j]):
                j += 1
            elif text[j] in _JOINERS and j + 1 < n and _is_word_char(text[j + 1]):
                j += 2
            else:
                break
        spans.append((i, j))
        i = j
    return spans


def _fold(text: str) -> str:
    """normalize() without the punctuation strip: for single tokens and the gaps between them."""
    return unicodedata.normalize("NFC", unicodedata.normalize("NFC", text).casefold())


# --------------------------------------------------------------------------- types


@dataclass(frozen=True)
class Translation:
    """One target-side rendering of a lexicon entry, with where it came from."""

    text: str
    """The translation as the lexicon gives it (whitespace collapsed, case kept)."""
    pos: str | None
    """Part of speech in the lexicon's own tag set (`n`, `vblex`, ...); None where it has none."""
    source: str
    """Which lexicon: gatitos, muse, freedict, apertium, apertium_tsv, tsv."""


@dataclass(frozen=True)
class Match:
    """One lexicon hit in a sentence."""

    start: int
    """Character offset of the first character in the original sentence."""
    end: int
    """Character offset one past the last character."""
    text: str
    """The original surface, `sentence[start:end]`."""
    key: str
    """The normalized entry it matched."""
    translations: tuple[Translation, ...]
    """Every translation of that entry, in lexicon order."""


@dataclass(frozen=True)
class Lexicon:
    """Normalized source phrase -> translations, for one language pair.

    Multi-word entries stay phrases ("a lot of"), so `match` can prefer them over their words.
    """

    src_lang: str
    """ISO 639-3 of the entries."""
    tgt_lang: str
    """ISO 639-3 of the translations."""
    sources: tuple[str, ...]
    """The lexicons merged into this one, in priority order."""
    entries: Mapping[str, tuple[Translation, ...]]
    """normalize(entry) -> translations, deduplicated by text in first-seen order (read-only)."""
    _first: Mapping[str, int] = field(init=False, repr=False, compare=False)
    """first token of a key -> the most tokens of any key starting with it (bounds `match`)."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "entries", MappingProxyType(dict(self.entries)))
        first: dict[str, int] = {}
        for key in self.entries:
            toks = tokenize(key)
            if toks:
                head = key[toks[0][0]:toks[0][1]]
                first[head] = max(first.get(head, 0), len(toks))
        object.__setattr__(self, "_first", first)

    def __len__(self) -> int:
        return len(self.entries)

    @property
    def max_tokens(self) -> int:
        """Tokens in the longest entry: how far `match` looks ahead."""
        return max(self._first.values(), default=0)

    def lookup(self, phrase: str) -> tuple[Translation, ...]:
        """Translations of a phrase (normalized first); empty when the lexicon lacks it."""
        return self.entries.get(normalize(phrase), ())

    def _match_tokens(self, sentence: str, spans: list[tuple[int, int]]) -> Iterator[tuple[int, int, str]]:
        """Greedy longest match over token indices: yields (first token, last token + 1, key)."""
        words = [_fold(sentence[s:e]) for s, e in spans]
        # A gap between two tokens becomes part of a key as normalize() would see it: whitespace
        # collapses to one space, punctuation stays (so "a, lot" never matches the entry "a lot").
        gaps = [_SPACES.sub(" ", _fold(sentence[spans[k][1]:spans[k + 1][0]])) for k in range(len(spans) - 1)]
        i = 0
        while i < len(spans):
            longest = min(self._first.get(words[i], 1), len(spans) - i)
            for n in range(longest, 0, -1):
                key = words[i] + "".join(gaps[k] + words[k + 1] for k in range(i, i + n - 1))
                if key in self.entries:
                    yield i, i + n, key
                    i += n
                    break
            else:
                i += 1

    def match(self, sentence: str) -> list[Match]:
        """Every lexicon hit in a sentence, left to right, the longest entry winning at each token."""
        spans = tokenize(sentence)
        out = []
        for i, j, key in self._match_tokens(sentence, spans):
            start, end = spans[i][0], spans[j - 1][1]
            out.append(Match(start, end, sentence[start:end], key, self.entries[key]))
        return out

    def invert(self) -> Lexicon:
        """The same pairs read the other way (tgt -> src).

        Entry keys are stored normalized, so the inverted translations are lowercased phrases.
        """
        pairs = ((t.text, Translation(key, t.pos, t.source)) for key, ts in self.entries.items() for t in ts)
        return build_lexicon(self.tgt_lang, self.src_lang, self.sources, pairs)


def build_lexicon(src_lang: str, tgt_lang: str, sources: Sequence[str],
                  pairs: Iterable[tuple[str, Translation]]) -> Lexicon:
    """A Lexicon from (source phrase, translation) pairs: keys normalized, duplicates dropped.

    Duplicates are translations with the same text under one key; the first one seen (and so its
    part of speech and source) is kept, so the order of `pairs` is the priority order.
    """
    entries: dict[str, dict[str, Translation]] = {}
    for phrase, translation in pairs:
        key = normalize(phrase)
        if key:
            entries.setdefault(key, {}).setdefault(translation.text, translation)
    return Lexicon(src_lang, tgt_lang, tuple(dict.fromkeys(sources)),
                   {k: tuple(v.values()) for k, v in entries.items()})


def merge(*lexicons: Lexicon) -> Lexicon:
    """One lexicon from several of the same language pair; earlier lexicons take priority."""
    if not lexicons:
        raise ConfigError("merge: no lexicons given")
    pairs = {(lx.src_lang, lx.tgt_lang) for lx in lexicons}
    if len(pairs) > 1:
        raise ConfigError(f"merge: lexicons of different language pairs {sorted(pairs)}")
    src, tgt = lexicons[0].src_lang, lexicons[0].tgt_lang
    return build_lexicon(src, tgt, [s for lx in lexicons for s in lx.sources],
                         ((k, t) for lx in lexicons for k, ts in lx.entries.items() for t in ts))


# --------------------------------------------------------------------------- readers


def _clean(text: str) -> str:
    return " ".join(text.split())


def _lines(path: Path) -> Iterator[tuple[int, str]]:
    """(line number, line without its line ending), blank lines skipped."""
    if not path.is_file():
        raise DataError(f"{path}: file not found")
    with path.open(encoding="utf-8") as fh:
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


def read_gatitos(path: Path, src_lang: str, tgt_lang: str) -> Lexicon:
    """GATITOS `en_<code>.tsv` / `<code>_en.tsv`: source TAB target, no header, one translation a line."""
    pairs = []
    for lineno, line in _lines(path):
        src, tgt = _fields(path, lineno, line, "\t", 2, 2)
        pairs.append((src, Translation(tgt, None, "gatitos")))
    return build_lexicon(src_lang, tgt_lang, ["gatitos"], pairs)


def read_muse(path: Path, src_lang: str, tgt_lang: str) -> Lexicon:
    """MUSE `<src>-<tgt>.<split>.txt`: `source SPACE target`, or TAB-separated.

    The mirror has both: en-de/es/fr and de/es/fr-en use a space, the other eleven pairs a TAB.
    A line with a TAB splits on it; otherwise it must be exactly two space-separated words.
    """
    pairs = []
    for lineno, line in _lines(path):
        sep = "\t" if "\t" in line else " "
        src, tgt = _fields(path, lineno, line.strip() if sep == " " else line, sep, 2, 2)
        pairs.append((src, Translation(tgt, None, "muse")))
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


# --------------------------------------------------------------------------- catalogue


_REQUIRED = ("source", "format", "direction", "path", "licence")


@cache
def catalogue(path: Path = CATALOGUE_PATH) -> dict[str, list[dict[str, str]]]:
    """iso3 -> its lexicon sources, each a dict with source, format, direction, path, licence
    (and optionally split, default), checked so a typo fails here with the key named."""
    if not path.is_file():
        raise ConfigError(f"{path}: lexicon catalogue not found")
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else 0
        raise ConfigError(f"{path}:{line}: YAML does not parse") from None
    if not isinstance(raw, dict) or not isinstance(raw.get("languages"), dict):
        raise ConfigError(f"{path}: expected a mapping with key 'languages'")
    out: dict[str, list[dict[str, str]]] = {}
    for lang, rows in raw["languages"].items():
        if not isinstance(rows, list):
            raise ConfigError(f"{path}: languages.{lang}: expected a list of sources")
        for i, row in enumerate(rows):
            where = f"{path}: languages.{lang}[{i}]"
            if not isinstance(row, dict):
                raise ConfigError(f"{where}: expected a mapping")
            missing = [k for k in _REQUIRED if k not in row]
            if missing:
                raise ConfigError(f"{where}: missing {', '.join(missing)}")
            if row["format"] not in READERS:
                raise ConfigError(f"{where}.format: {row['format']!r} is not one of {', '.join(READERS)}")
            if row["direction"] not in DIRECTIONS:
                raise ConfigError(f"{where}.direction: {row['direction']!r} is not en-xx or xx-en")
        out[str(lang)] = [dict(r) for r in rows]
    return out


def lexicon_languages() -> list[str]:
    """ISO 639-3 codes of the languages the catalogue has a lexicon for, sorted."""
    return sorted(catalogue())


@cache
def _read(fmt: str, path: Path, src_lang: str, tgt_lang: str) -> Lexicon:
    return READERS[fmt](path, src_lang, tgt_lang)


def _read_row(row: Mapping[str, str], lang: str) -> Lexicon:
    src, tgt = ("eng", lang) if row["direction"] == "en-xx" else (lang, "eng")
    return _read(row["format"], data_dir() / row["path"], src, tgt)


def load_lexicon(lang: str, direction: str = "en-xx", sources: Sequence[str] | None = None,
                 split: str = "train") -> Lexicon:
    """Every catalogue lexicon of a language merged, for one direction (cached).

    `sources` picks catalogue sources by name (default: every source not marked `default: false`),
    in catalogue order, which is also the priority order of translations. A source with files only
    in the other direction is read that way and inverted. `split="test"` gives MUSE's held-out
    5000-6500 pairs instead of the training dictionary.
    """
    return _load_lexicon(get_language(lang).iso3, direction, tuple(sources) if sources is not None else None, split)


@cache
def _load_lexicon(lang: str, direction: str, sources: tuple[str, ...] | None, split: str) -> Lexicon:
    if direction not in DIRECTIONS:
        raise ConfigError(f"direction: {direction!r} is not en-xx or xx-en")
    rows = catalogue().get(lang)
    if not rows:
        raise ConfigError(f"lexicon: no lexicon for {lang} in {CATALOGUE_PATH.name} "
                          f"(have: {', '.join(lexicon_languages())})")
    known = list(dict.fromkeys(r["source"] for r in rows))
    if sources is not None:
        unknown = [s for s in sources if s not in known]
        if unknown:
            raise ConfigError(f"lexicon sources: {lang} has no {', '.join(unknown)} (has: {', '.join(known)})")
    wanted = [s for s in known if (s in sources if sources is not None else
                                   all(r.get("default", True) for r in rows if r["source"] == s))]
    parts = []
    for name in wanted:
        mine = [r for r in rows if r["source"] == name and r.get("split", "train") == split]
        same = [r for r in mine if r["direction"] == direction]
        if same:
            parts.extend(_read_row(r, lang) for r in same)
        else:
            parts.extend(_read_row(r, lang).invert() for r in mine)
    if not parts:
        raise ConfigError(f"lexicon: no {split} lexicon for {lang} from {', '.join(wanted) or 'any source'}")
    return merge(*parts)


# --------------------------------------------------------------------------- statistics


@dataclass(frozen=True)
class Coverage:
    """How much of a corpus's English a lexicon's longest-match hits cover."""

    corpus: str
    """Which text: `flores200-devtest` or `massive-en-US`."""
    tokens: int
    """Word tokens (casefolded; a token needs a letter, so numbers and punctuation are left out)."""
    types: int
    """Distinct word tokens."""
    token_coverage: float
    """Fraction of tokens inside a lexicon match."""
    type_coverage: float
    """Fraction of types with at least one occurrence inside a lexicon match."""


def coverage(lexicon: Lexicon, sentences: Iterable[str], corpus: str) -> Coverage:
    """Token and type coverage of a lexicon's greedy longest matches over some sentences."""
    tokens = covered = 0
    seen: set[str] = set()
    hit: set[str] = set()
    for sentence in sentences:
        spans = tokenize(sentence)
        inside = [False] * len(spans)
        for i, j, _ in lexicon._match_tokens(sentence, spans):
            inside[i:j] = [True] * (j - i)
        for (s, e), ok in zip(spans, inside, strict=True):
            word = sentence[s:e]
            if not any(ch.isalpha() for ch in word):
                continue
            word = _fold(word)
            tokens += 1
            seen.add(word)
            if ok:
                covered += 1
                hit.add(word)
    return Coverage(corpus, tokens, len(seen), covered / tokens if tokens else 0.0,
                    len(hit) / len(seen) if seen else 0.0)


@dataclass(frozen=True)
class LexiconStats:
    """Size and English coverage of a language's en-xx lexicon."""

    lang: str
    """ISO 639-3."""
    entries_by_source: tuple[tuple[str, int], ...]
    """(source, entries) for each default catalogue source, in catalogue order."""
    entries: int
    """Entries of the merged lexicon (fewer than the sum where sources share entries)."""
    coverage: tuple[Coverage, ...]
    """FLORES-200 devtest English, then MASSIVE en-US (all 16,521 utterances, every partition)."""


@cache
def _english_corpora() -> tuple[tuple[str, tuple[str, ...]], ...]:
    # Imported here: icl.data is only needed for statistics, not for looking words up.
    from icl.data import load_flores, load_massive

    # The English side is the same file whatever the pair; eng-fra always exists.
    flores = tuple(ex.source for ex in load_flores("eng", "fra"))
    massive = tuple(ex.source for ex in load_massive("en-US"))
    return (("flores200-devtest", flores), ("massive-en-US", massive))


def lexicon_stats(lang: str) -> LexiconStats:
    """Entries per source and merged, and English token/type coverage on FLORES and MASSIVE."""
    iso3 = get_language(lang).iso3
    merged = load_lexicon(iso3, "en-xx")
    by_source = tuple((s, len(load_lexicon(iso3, "en-xx", [s]))) for s in merged.sources)
    return LexiconStats(iso3, by_source, len(merged),
                        tuple(coverage(merged, sents, name) for name, sents in _english_corpora()))
