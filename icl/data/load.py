"""Declared data sets -> Examples: a split for a language (pair), a run's test items and demo pool,
and a classification set's label inventory.

Everything is cached on the declaration, the data folder and the state of the files read (size and
modification time), so a sweep reads each file once, and pointing ICL_DATA_DIR elsewhere or editing
a file in the same process reads it again.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache, lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

from icl import derived
from icl.config import data_dir
from icl.data.declaration import SHIPPED_KINDS, DatasetSpec, Registry, builtin_registry
from icl.data.files import Stamp, stamp
from icl.data.readers import Record, read_lines, read_records
from icl.errors import ConfigError, DataError, MissingFileError
from icl.languages import Language, get_language, pair_label
from icl.values.example import Example, LabelSet

if TYPE_CHECKING:  # a run's spec is read, never built, here: the data step sits below the sweep step
    from icl.spec import Pool, RunSpec


SPLITS_CACHED = 512
"""Splits (per data set and language pair) a process keeps as Examples."""


def load_examples(spec: DatasetSpec, split: str, src: str, tgt: str | None = None) -> list[Example]:
    """One split as Examples. MT: (src, tgt) pairs, read either way round from a file that stores the
    other direction. Classification: `src`'s items (`tgt` ignored)."""
    if split not in spec.splits:
        raise ConfigError(f"{spec.where}: splits: {spec.name} has no split {split!r} (splits: {', '.join(spec.splits)})")
    s = get_language(src).code
    t = get_language(tgt).code if tgt is not None and spec.parallel else s
    return list(_load(spec, split, s, t, data_dir(), _files_stamp(spec, split, (s, t))))


def _files_stamp(spec: DatasetSpec, split: str, langs: tuple[str, ...]) -> Stamp:
    """The state of the files a split of these languages is read from (none for `hf`; a file that cannot
    be named is left to the reader, which says why)."""
    if spec.format == "hf":
        return ()
    paths = []
    for code in dict.fromkeys(langs if spec.placeholders else ("",)):
        try:
            paths.append(spec.file(split, get_language(code) if code else None))
        except DataError:
            continue
    return stamp(*paths)


@lru_cache(maxsize=SPLITS_CACHED)
def _load(spec: DatasetSpec, split: str, src: str, tgt: str, root: Path, state: Stamp) -> tuple[Example, ...]:
    """A split's Examples, read once per process (keyed on the files' state: an edited file or another data
    folder is read again) and kept on disk keyed on the files' bytes, so a later process skips parsing."""
    if not state:  # `hf`: the datasets library keeps its own cache
        return _read(spec, split, src, tgt)
    digest = derived.key("examples", spec, split, src, tgt, str(root), [derived.file_digest(Path(p)) for p, _, _ in state])
    return derived.cached("examples", digest, lambda: _read(spec, split, src, tgt), _encode, _decode)


def _encode(examples: tuple[Example, ...]) -> tuple:
    return tuple((e.id, e.source, e.target, e.src_lang, e.tgt_lang, e.origin, e.scenario, e.provenance)
                 for e in examples)


def _decode(rows: tuple) -> tuple[Example, ...]:
    return tuple(Example(*row) for row in rows)


def _read(spec: DatasetSpec, split: str, src: str, tgt: str) -> tuple[Example, ...]:
    origin = spec.origin.replace("{split}", split)
    if spec.format == "lines":
        s_lang, t_lang = get_language(src), get_language(tgt)
        src_path, tgt_path = spec.file(split, s_lang), spec.file(split, t_lang)
        src_lines, tgt_lines = read_lines(src_path), read_lines(tgt_path)
        if len(src_lines) != len(tgt_lines):
            raise DataError(f"{tgt_path}: {len(tgt_lines)} lines, but {src_path} has {len(src_lines)}")
        return tuple(Example(line_id(spec, split, i), a, b, src, tgt, origin)
                     for i, (a, b) in enumerate(zip(src_lines, tgt_lines, strict=True)))
    records = _records(spec, split, get_language(src) if spec.placeholders else None)
    if spec.parallel:
        return tuple(_pairs(spec, records, src, tgt, origin))
    found = tuple(Example(_id(spec, r), r.values["text"], r.values["label"], src, src, origin, r.values.get("group"))
                  for r in records if _language_of(spec, r, "language", src) == src)
    if not found:
        langs = sorted({_language_of(spec, r, "language", src) for r in records})
        raise DataError(f"{spec.where}: {spec.name} has no {src} items in split {split!r} (it has {', '.join(langs)})")
    return found


def line_id(spec: DatasetSpec, split: str, index: int) -> str:
    """The id of line `index` of a `lines` data set: `<prefix>:<i>` in its test split, `<prefix>-<split>:<i>`
    in any other, because line numbers repeat across splits (FLORES dev line 0 is not devtest line 0: a
    selector that drops demos with the test item's id must not drop it, and predictions must tell them apart)."""
    return f"{spec.id_prefix}:{index}" if split == spec.test_split else f"{spec.id_prefix}-{split}:{index}"


def _records(spec: DatasetSpec, split: str, lang: Language | None) -> tuple[Record, ...]:
    path = spec.file(split, lang) if spec.format != "hf" else None
    values = {"split": split, "data": str(data_dir())}
    if lang is not None:
        values.update({f: str(getattr(lang, f, "") or "") for f in spec.placeholders})
    return read_records(spec, split, path, values)


def _id(spec: DatasetSpec, record: Record) -> str:
    return f"{spec.id_prefix}:{record.values.get('id', record.index)}"


def _language_of(spec: DatasetSpec, record: Record, role: str, default: str) -> str:
    """A record's language for `role`: its language column, else the declared or requested one."""
    if role in record.values:
        return _code(record.values[role], spec, role)
    fixed = {"source_language": 0, "target_language": 1, "language": 0}[role]
    return get_language(spec.languages[fixed], key=f"{spec.where}: languages").code if spec.languages else default


@cache
def _code(value: str, spec: DatasetSpec, role: str) -> str:
    return get_language(value, key=f"{spec.where}: column {dict(spec.columns)[role]!r} ({role})").code


def _pairs(spec: DatasetSpec, records: tuple[Record, ...], src: str, tgt: str, origin: str) -> list[Example]:
    out = []
    stored = set()
    for r in records:
        a = _language_of(spec, r, "source_language", src)
        b = _language_of(spec, r, "target_language", tgt)
        stored.add(f"{a}-{b}")
        if (a, b) == (src, tgt):
            out.append(Example(_id(spec, r), r.values["source"], r.values["target"], src, tgt, origin))
        elif (a, b) == (tgt, src):
            out.append(Example(_id(spec, r), r.values["target"], r.values["source"], src, tgt, origin))
    if not out:
        raise DataError(f"{spec.where}: {spec.name} has no {src}-{tgt} pairs (it holds {', '.join(sorted(stored))})")
    return out


def load_text(dataset: str | DatasetSpec, lang: str, split: str | None = None) -> list[Example]:
    """One language's text of a data set, unlabelled (`target` empty): NTREX-128's English side, say.

    For `lines` data sets it reads only that language's file, so it works for a language no pair is
    asked of. Default split: the test split (for NTREX, its only one).
    """
    spec = builtin_registry().get(dataset) if isinstance(dataset, str) else dataset
    split = split or spec.test_split
    language = get_language(lang)
    if spec.format == "lines":
        path = spec.file(split, language)
        origin = spec.origin.replace("{split}", split)
        return [Example(line_id(spec, split, i), s, "", language.code, language.code, origin)
                for i, s in enumerate(read_lines(path))]
    if spec.parallel:
        raise ConfigError(f"{spec.where}: load_text reads one side of `lines` data sets only")
    return [Example(ex.id, ex.source, "", ex.src_lang, ex.tgt_lang, ex.origin)
            for ex in load_examples(spec, split, language.code)]


def label_set(spec: DatasetSpec, lang: str) -> LabelSet:
    """A classification set's labels in one language: every split (train ∪ test ∪ ...), sorted. Rank
    mode scores all of them. Test labels that no other split has are kept and listed
    (`LabelSet.test_only`), a warning each run records."""
    code = get_language(lang).code
    state = tuple(f for split in spec.splits for f in _files_stamp(spec, split, (code,)))
    return _label_set(spec, code, data_dir(), state)


@lru_cache(maxsize=SPLITS_CACHED)
def _label_set(spec: DatasetSpec, lang: str, root: Path, state: Stamp) -> LabelSet:
    """Read once per process, and kept on disk keyed on the bytes of every split's file (a re-run or
    `icl plan` then reads no split that its runs do not score or draw demos from)."""
    if spec.parallel:
        raise ConfigError(f"{spec.where}: task: {spec.name} is a {spec.task} data set; it has no labels")
    if not state:
        return _read_label_set(spec, lang)
    digest = derived.key("labels", spec, lang, str(root), [derived.file_digest(Path(p)) for p, _, _ in state])
    return derived.cached("labels", digest, lambda: _read_label_set(spec, lang),
                          lambda ls: (ls.labels, dict(ls.groups), ls.test_only), lambda row: LabelSet(*row))


def _read_label_set(spec: DatasetSpec, lang: str) -> LabelSet:
    by_split = {split: load_examples(spec, split, lang) for split in spec.splits}
    groups: dict[str, str] = {}
    for examples in by_split.values():
        for ex in examples:
            groups.setdefault(ex.target, ex.scenario or "")
    others = {ex.target for split, exs in by_split.items() if split != spec.test_split for ex in exs}
    test_only = tuple(sorted({ex.target for ex in by_split[spec.test_split]} - others)) if others else ()
    has_groups = any(groups.values())
    return LabelSet(tuple(sorted(groups)), groups if has_groups else {}, test_only)


@dataclass(frozen=True)
class RunData:
    """What one run reads: the items it scores, the pool its demonstrations come from, and labels."""

    test: tuple[Example, ...]
    """Scored items, in data order (the first `limit`)."""
    pool: tuple[Example, ...]
    """Demonstration candidates (never the scored items of a held-out pool)."""
    pool_source: str
    """`<data set>/<split>[:<language>]` or `<data set>/<split>[:N]` (held out): where the pool is from
    (`flores200/dev`, `ntrex128/test`, `massive/train:eng`). Written to spec.json and metrics.json as
    `demo_source`."""
    labels: LabelSet | None
    """The data set's label inventory (classification); None for MT."""


def resolve_pool(pool: Pool, dataset: DatasetSpec, registry: Registry, key: str = "pools") -> tuple[DatasetSpec, str]:
    """The data set and split a pool spelling names, for a run scoring `dataset`."""
    if pool.heldout:
        return dataset, dataset.test_split
    name, _, split = pool.name.partition("/")
    if not split and name in dataset.splits:
        return dataset, name
    other = registry.find(name)
    if other is None:
        raise ConfigError(f"{key}: {pool.text!r} is neither a split of {dataset.name} ({', '.join(dataset.splits)}) "
                          f"nor a data set ({', '.join(registry.names())}), nor heldout:N")
    if other.task != dataset.task:
        raise ConfigError(f"{key}: {pool.text!r} is a {other.task} data set; {dataset.name} is {dataset.task}")
    split = split or other.demo_split or ""
    if split not in other.splits:
        raise ConfigError(f"{key}: {pool.text!r}: {other.name} has no split {split!r} for demonstrations "
                          f"(splits: {', '.join(other.splits)}; set its demo_split or write {other.name}/<split>)")
    return other, split


def load_run(spec: RunSpec, registry: Registry) -> RunData:
    """The scored items and the demonstration pool of a run (a held-out pool is never scored)."""
    dataset = registry.get(spec.dataset)
    if dataset.task != spec.task:
        raise ConfigError(f"dataset: {dataset.name} is a {dataset.task} data set, not {spec.task}")
    test = load_examples(dataset, dataset.test_split, spec.src, spec.tgt)
    pool_ds, split = resolve_pool(spec.pool, dataset, registry)
    if spec.pool.heldout:
        if spec.pool.heldout >= len(test):
            raise ConfigError(f"pools: {spec.pool.text!r} holds out {spec.pool.heldout} of {dataset.name}'s "
                              f"{len(test)} {dataset.test_split} items, leaving none to score")
        pool, test = test[: spec.pool.heldout], test[spec.pool.heldout:]
        source = f"{dataset.name}/{split}[:{spec.pool.heldout}]"
    else:
        src = get_language(spec.pool.language, key="pools").code if spec.pool.language else spec.src
        tgt = spec.tgt if spec.pool.language is None or dataset.parallel else src
        source = f"{pool_ds.name}/{split}" + (f":{src}" if spec.pool.language else "")
        try:
            pool = load_examples(pool_ds, split, src, tgt)
        except MissingFileError as exc:  # a file not here, or a language the pool's set has no code for
            if spec.shots:
                kind = SHIPPED_KINDS.get(pool_ds.name)
                listed = f"`icl langs --has {kind}` lists what is here; " if kind else ""
                own = (f"pools: [{dataset.demo_split}] ({dataset.name}'s own {dataset.demo_split} split) or "
                       if dataset.demo_split and pool_ds is not dataset else "")
                raise ConfigError(f"pools: {spec.pool.text!r} has no {pair_label(src, tgt)} data in this data folder "
                                  f"({exc}); {listed}for this language use {own}pools: [\"heldout:N\"] (demos from "
                                  f"the first N test items, which are then not scored)") from None
            pool, source = [], f"{source} (not here; 0-shot, unused)"
    if spec.limit is not None:
        test = test[: spec.limit]
    labels = None if dataset.parallel else label_set(dataset, spec.src)
    return RunData(tuple(test), tuple(pool), source, labels)


def load_flores(src: str, tgt: str) -> list[Example]:
    """FLORES-200 devtest as aligned pairs (1,012), for any two languages the files have."""
    flores = builtin_registry().get("flores200")
    return load_examples(flores, flores.test_split, src, tgt)


def load_ntrex(src: str, tgt: str) -> list[Example]:
    """NTREX-128 as aligned pairs (1,997); the default MT demonstration pool."""
    ntrex = builtin_registry().get("ntrex128")
    return load_examples(ntrex, ntrex.test_split, src, tgt)


def load_massive(lang: str, partition: str | None = None) -> list[Example]:
    """MASSIVE 1.1 utterances of one locale (16,521 in all), one partition or all (train, dev, test)."""
    massive = builtin_registry().get("massive")
    if partition is not None and partition not in massive.splits:
        raise DataError(f"MASSIVE partition {partition!r}: expected one of {', '.join(massive.splits)}")
    return [ex for p in ([partition] if partition else massive.splits) for ex in load_examples(massive, p, lang)]


def has_file(dataset: str, lang: Language) -> bool:
    """Whether a shipped data set's test file for a language is in the data folder (`icl langs`)."""
    spec = builtin_registry().get(dataset)
    try:
        return spec.file(spec.test_split, lang).is_file()
    except DataError:
        return False
