"""Loaders for the real data under `ICL_DATA_DIR`: FLORES-200 devtest, NTREX-128 and MASSIVE 1.1.

Everything comes back as `Example`, one frozen type for both tasks, so that selectors, augmenters and
prompts work on any set. Local files are the default (no hub at run time); `load_*_from_hub` keep the
real hub path for users who have one.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from functools import cache
from pathlib import Path

from icl.config import data_dir
from icl.errors import DataError
from icl.languages import Language, get_language


@dataclass(frozen=True)
class Example:
    """One labelled item: a sentence pair for MT, an utterance and its intent for classification."""

    id: str
    """Unique within its origin, e.g. `flores:12`, `ntrex:99`, `massive:1234`; saved with predictions."""
    source: str
    """The text given to the model (sentence to translate, utterance to classify)."""
    target: str
    """The reference translation, or the intent label."""
    src_lang: str
    """ISO 639-3 of `source`."""
    tgt_lang: str
    """ISO 639-3 of `target` (for intent, the utterance's language again)."""
    origin: str
    """Which set and split it came from: `flores200-devtest`, `ntrex128`, `massive-train`, `synthetic:...`."""
    scenario: str | None = None
    """MASSIVE scenario of the intent (intent only)."""


@cache
def read_lines(path: Path) -> tuple[str, ...]:
    """One sentence a line, exactly as in the file (trailing newline stripped, nothing else)."""
    if not path.is_file():
        raise DataError(f"{path}: file not found")
    with path.open(encoding="utf-8") as fh:
        return tuple(line.rstrip("\n").rstrip("\r") for line in fh)


def flores_path(lang: Language) -> Path:
    """The FLORES-200 devtest file of a language."""
    if not lang.flores:
        raise DataError(f"FLORES-200 has no {lang.name} ({lang.iso3}) in icl/resources/languages.tsv")
    return data_dir() / "flores200" / "devtest" / f"{lang.flores}.devtest"


def ntrex_path(lang: Language) -> Path:
    """The NTREX-128 file of a language (English is the source side)."""
    folder = data_dir() / "ntrex128" / "NTREX-128"
    if lang.iso3 == "eng":
        return folder / "newstest2019-src.eng.txt"
    if not lang.ntrex:
        raise DataError(f"NTREX-128 has no {lang.name} ({lang.iso3}) in icl/resources/languages.tsv")
    return folder / f"newstest2019-ref.{lang.ntrex}.txt"


def massive_path(lang: Language) -> Path:
    """The MASSIVE 1.1 file of a language's locale."""
    if not lang.massive:
        raise DataError(f"MASSIVE has no locale for {lang.name} ({lang.iso3}) in icl/resources/languages.tsv")
    return data_dir() / "massive" / "1.1" / f"{lang.massive}.jsonl"


def _pairs(src_path: Path, tgt_path: Path, prefix: str, src: str, tgt: str, origin: str) -> list[Example]:
    src_lines, tgt_lines = read_lines(src_path), read_lines(tgt_path)
    if len(src_lines) != len(tgt_lines):
        raise DataError(f"{tgt_path}: {len(tgt_lines)} lines, but {src_path} has {len(src_lines)}")
    return [
        Example(id=f"{prefix}:{i}", source=s, target=t, src_lang=src, tgt_lang=tgt, origin=origin)
        for i, (s, t) in enumerate(zip(src_lines, tgt_lines, strict=True))
    ]


def load_flores(src: str, tgt: str) -> list[Example]:
    """FLORES-200 devtest as aligned pairs (1,012), for any two languages the files have."""
    s, t = get_language(src), get_language(tgt)
    return _pairs(flores_path(s), flores_path(t), "flores", s.iso3, t.iso3, "flores200-devtest")


def load_ntrex(src: str, tgt: str) -> list[Example]:
    """NTREX-128 as aligned pairs (1,997); used as the MT demonstration pool."""
    s, t = get_language(src), get_language(tgt)
    return _pairs(ntrex_path(s), ntrex_path(t), "ntrex", s.iso3, t.iso3, "ntrex128")


PARTITIONS = ("train", "dev", "test")


@cache
def _massive_records(path: Path) -> tuple[dict[str, str], ...]:
    if not path.is_file():
        raise DataError(f"{path}: file not found")
    records = []
    with path.open(encoding="utf-8") as fh:
        for lineno, line in enumerate(fh, 1):
            try:
                rec = json.loads(line)
                records.append({k: str(rec[k]) for k in ("id", "partition", "scenario", "intent", "utt")})
            except (json.JSONDecodeError, KeyError, TypeError) as exc:
                raise DataError(f"{path}:{lineno}: not a MASSIVE record ({exc})") from None
    return tuple(records)


def load_massive(lang: str, partition: str | None = None) -> list[Example]:
    """MASSIVE 1.1 utterances of one locale (16,521 in all), optionally one partition."""
    language = get_language(lang)
    if partition is not None and partition not in PARTITIONS:
        raise DataError(f"MASSIVE partition {partition!r}: expected one of {', '.join(PARTITIONS)}")
    return [
        Example(
            id=f"massive:{r['id']}", source=r["utt"], target=r["intent"], src_lang=language.iso3,
            tgt_lang=language.iso3, origin=f"massive-{r['partition']}", scenario=r["scenario"],
        )
        for r in _massive_records(massive_path(language))
        if partition is None or r["partition"] == partition
    ]


def intent_labels() -> tuple[str, ...]:
    """All 60 MASSIVE intents, sorted; taken from the data, not hard-coded."""
    return tuple(sorted({ex.target for ex in load_massive("en-US")}))


def scenario_of() -> dict[str, str]:
    """intent -> scenario, from the data."""
    return {ex.target: ex.scenario or "" for ex in load_massive("en-US")}


def to_dataset(examples: Sequence[Example]):  # -> datasets.Dataset
    """Examples as a `datasets.Dataset`, for users who want its map/filter/caching tools."""
    import datasets

    return datasets.Dataset.from_list([asdict(ex) for ex in examples])


def load_flores_from_hub(src: str, tgt: str, split: str = "devtest") -> list[Example]:
    """FLORES+ from the Hugging Face hub (needs network and accepted terms; not used by tests)."""
    import datasets

    s, t = get_language(src), get_language(tgt)
    rows = {}
    for lang in (s, t):
        ds = datasets.load_dataset("openlanguagedata/flores_plus", lang.flores, split=split)
        rows[lang.iso3] = [r["text"] for r in ds]
    return [
        Example(id=f"flores:{i}", source=a, target=b, src_lang=s.iso3, tgt_lang=t.iso3, origin=f"flores200-{split}")
        for i, (a, b) in enumerate(zip(rows[s.iso3], rows[t.iso3], strict=True))
    ]


def load_massive_from_hub(lang: str, partition: str = "test") -> list[Example]:
    """MASSIVE from the Hugging Face hub (needs network; not used by tests)."""
    import datasets

    language = get_language(lang)
    ds = datasets.load_dataset("AmazonScience/massive", language.massive, split=partition)
    names = ds.features["intent"].names
    scen = ds.features["scenario"].names
    return [
        Example(id=f"massive:{r['id']}", source=r["utt"], target=names[r["intent"]], src_lang=language.iso3,
                tgt_lang=language.iso3, origin=f"massive-{partition}", scenario=scen[r["scenario"]])
        for r in ds
    ]
