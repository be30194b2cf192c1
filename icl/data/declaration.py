"""Data sets are declared, not coded: a small YAML says where the files are and what the columns mean.

FLORES-200, NTREX-128 and MASSIVE are three such declarations shipped in `icl/resources/datasets/`;
a sweep adds its own under its `datasets:` key (inline, or a path to a YAML file such as
`experiments/datasets/<name>.yaml`). Every key is checked here, before anything is read, and an
error names the file and the key.

    name: kin_news                 # how sweeps and pools refer to it
    task: mt                       # a task of icl.tasks.TASKS
    format: tsv                    # lines | jsonl | tsv | csv | conll | hf
    path: kin_news/{split}.tsv     # relative to this file; `{data}/...` is under ICL_DATA_DIR;
                                   # {split} and language fields ({flores}, {code}, {iso1}, {massive} ...)
    splits: [train, test]
    languages: [eng, kin]          # the source and target column's languages (intent: [language])
    columns: {source: en, target: rw, id: id}
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from importlib.resources import files
from pathlib import Path
from typing import Any

from icl.data.files import load_yaml
from icl.data.keys import (
    LANGUAGE_FIELDS,
    check_columns,
    check_languages,
    fail,
    fields_of,
    split_fix,
    str_list,
    string_of,
)
from icl.errors import ConfigError, DataError, MissingFileError
from icl.tasks import TASKS, get_task

FORMATS = ("lines", "jsonl", "tsv", "csv", "conll", "hf")
"""`lines`: one file per language, one item per line, files line-aligned (FLORES, NTREX).
`jsonl`/`tsv`/`csv`: one record per line/row, fields named by `columns`. `conll`: xSID-style blocks
with `# text = ...` / `# intent = ...` comments (`:` also accepted). `hf`: anything
`datasets.load_dataset` reads (a hub id for users with a hub, or a local builder such as json/csv)."""

_KEYS = {"name", "task", "format", "path", "paths", "splits", "split_column", "test_split", "demo_split",
         "columns", "languages", "header", "id_prefix", "origin", "hf", "aliases", "description", "licence",
         "source"}


@dataclass(frozen=True)
class DatasetSpec:
    """One declared data set: where its files are and how to read them."""

    name: str
    """How sweeps (`datasets: [...]`) and pools refer to it."""
    task: str
    """A key of icl.tasks.TASKS (whose `parallel` says whether items are sentence pairs)."""
    format: str
    """One of FORMATS."""
    path: str
    """File pattern (see `file`); '' for `hf`."""
    paths: tuple[tuple[str, str], ...]
    """Per-language patterns that replace `path` (NTREX's English source file is named apart)."""
    splits: tuple[str, ...]
    """Split names."""
    split_column: str | None
    """Column whose value names each record's split, when all splits share one file (MASSIVE)."""
    test_split: str
    """The split a run scores."""
    demo_split: str | None
    """The split a pool naming this data set draws from; None: only `heldout:N` or other sets."""
    columns: tuple[tuple[str, str], ...]
    """role -> column (or CoNLL comment key), defaults filled in."""
    languages: tuple[str, ...]
    """Fixed languages (MT: source column, target column; intent: one) as written; () when the path
    or a language column says."""
    header: bool
    """TSV/CSV: whether the first row names the columns (else columns are 0-based indices)."""
    id_prefix: str
    """Item ids are `<id_prefix>:<id column or row index>`; a `lines` set's split other than the test
    split adds its name (`flores-dev:0`), since line numbers repeat across splits."""
    origin: str
    """`Example.origin`, with `{split}` filled in."""
    hf_json: str
    """`datasets.load_dataset` keyword arguments (JSON, so the spec stays hashable)."""
    aliases: tuple[str, ...]
    """Other names pools may use (`ntrex` for ntrex128)."""
    description: str
    licence: str
    source: str
    where: str
    """The file (and key) this was declared in, for error messages."""
    base: str
    """Folder that relative paths resolve against (the declaring file's)."""

    @property
    def parallel(self) -> bool:
        """Items are sentence pairs in two languages (MT), not labelled text in one (the task says)."""
        return get_task(self.task).parallel

    @property
    def column_map(self) -> dict[str, str]:
        return dict(self.columns)

    @property
    def hf(self) -> dict[str, Any]:
        return json.loads(self.hf_json)

    @property
    def placeholders(self) -> set[str]:
        """Language fields the file patterns (or `hf` arguments) name; empty: one source for every language."""
        patterns = [self.path, *(p for _, p in self.paths), *_strings(self.hf)]
        return set().union(*(fields_of(p) for p in patterns))

    def file(self, split: str, lang: Any = None) -> Path:
        """The file holding `split` (for `lang`, an icl.languages.Language, where the path names one)."""
        from icl.config import data_dir

        pattern = dict(self.paths).get(lang.code, self.path) if lang is not None else self.path
        values: dict[str, str] = {"split": split}
        if "{data}" in pattern:
            values["data"] = str(data_dir())
        for name in fields_of(pattern):
            if lang is None:
                raise DataError(f"{self.where}: path: {pattern!r} names a language field ({{{name}}}); "
                                "a language is needed to find the file")
            value = getattr(lang, name, None)
            if not value:
                raise MissingFileError(f"{self.where}: path: {lang.name} ({lang.code}) has no {name} code, so "
                                f"{self.name} has no file for it")
            values[name] = value
        path = Path(pattern.format(**values)).expanduser()
        return path if path.is_absolute() else Path(self.base) / path


def _strings(value: Any) -> list[str]:
    """Every string inside nested `hf` arguments (where placeholders may stand)."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, Mapping):
        return [s for v in value.values() for s in _strings(v)]
    if isinstance(value, list):
        return [s for v in value for s in _strings(v)]
    return []


def parse_declaration(raw: Any, where: str, base: Path, name: str | None = None) -> DatasetSpec:
    """Check one declaration and build its DatasetSpec; every problem names `where` and the key."""
    if not isinstance(raw, Mapping):
        raise ConfigError(f"{where}: expected a mapping of data set keys, got {type(raw).__name__}")
    unknown = sorted(set(raw) - _KEYS)
    if unknown:
        raise fail(where, unknown[0], f"unknown key (known: {', '.join(sorted(_KEYS))})")
    name = name or string_of(raw, "name", where)
    if "name" in raw and raw["name"] != name:
        raise fail(where, "name", f"{raw['name']!r} differs from the key it is declared under ({name!r})")
    task, fmt = _task_and_format(raw, where)
    path, hf, paths = _files(raw, where, fmt)
    splits, test_split, demo_split, split_column = _splits(raw, where, fmt, path)
    columns = check_columns(raw.get("columns", {}), task, fmt, where)
    languages = str_list(raw, "languages", where)
    check_languages(languages, task, path, columns, where)
    header = raw.get("header", True)
    if not isinstance(header, bool):
        raise fail(where, "header", f"expected true or false, got {header!r}")
    for key in ("description", "licence", "source", "id_prefix", "origin"):
        if key in raw and not isinstance(raw[key], str):
            raise fail(where, key, "expected a string")
    spec = DatasetSpec(
        name=name, task=task, format=fmt, path=path, paths=tuple(sorted((str(k), v) for k, v in paths.items())),
        splits=splits, split_column=split_column, test_split=test_split, demo_split=demo_split,
        columns=tuple(sorted(columns.items())), languages=languages, header=header,
        id_prefix=raw.get("id_prefix", name), origin=raw.get("origin", "{name}-{split}").replace("{name}", name),
        hf_json=json.dumps(dict(hf), sort_keys=True), aliases=str_list(raw, "aliases", where),
        description=raw.get("description", ""), licence=raw.get("licence", ""), source=raw.get("source", ""),
        where=where, base=str(base),
    )
    _check_placeholders(spec, where)
    return spec


def _task_and_format(raw: Mapping[str, Any], where: str) -> tuple[str, str]:
    task = string_of(raw, "task", where)
    if task not in TASKS:
        raise fail(where, "task", f"{task!r} is not one of {', '.join(TASKS)}")
    fmt = string_of(raw, "format", where)
    if fmt not in FORMATS:
        raise fail(where, "format", f"{fmt!r} is not one of {', '.join(FORMATS)}")
    if fmt == "lines" and not TASKS[task].parallel:
        raise fail(where, "format", f"`lines` holds parallel text; task {task} reads labelled text: use "
                                     "jsonl/tsv/csv/conll")
    return task, fmt


def _files(raw: Mapping[str, Any], where: str, fmt: str) -> tuple[str, Mapping[str, Any], Mapping[str, Any]]:
    """(path pattern, hf arguments, per-language path patterns)."""
    path = "" if fmt == "hf" else string_of(raw, "path", where)
    hf = raw.get("hf", {})
    if fmt == "hf" and (not isinstance(hf, Mapping) or "path" not in hf):
        raise fail(where, "hf", "format hf needs `hf: {path: <hub id or builder>, ...}` (load_dataset arguments)")
    if fmt != "hf" and "hf" in raw:
        raise fail(where, "hf", "only for format hf")
    paths = raw.get("paths", {})
    if not isinstance(paths, Mapping) or not all(isinstance(v, str) for v in paths.values()):
        raise fail(where, "paths", "expected a mapping of language code -> file pattern")
    return path, hf, paths


def _splits(raw: Mapping[str, Any], where: str, fmt: str, path: str) -> tuple[tuple[str, ...], str, str | None,
                                                                               str | None]:
    """(splits, test split, demo split, split column), each checked against the others and the path."""
    splits = str_list(raw, "splits", where)
    if not splits:
        raise fail(where, "splits", "expected a non-empty list of split names")
    test_split = raw.get("test_split", "test" if "test" in splits else splits[0] if len(splits) == 1 else None)
    if test_split not in splits:
        raise fail(where, "test_split", f"{test_split!r} is not one of the splits ({', '.join(splits)})")
    demo_split = raw.get("demo_split", "train" if "train" in splits and test_split != "train" else None)
    if demo_split is not None and demo_split not in splits:
        raise fail(where, "demo_split", f"{demo_split!r} is not one of the splits ({', '.join(splits)})")
    split_column = raw.get("split_column")
    if split_column is not None and (fmt in ("lines", "conll") or not isinstance(split_column, str)):
        raise fail(where, "split_column", "a column name, for jsonl/tsv/csv/hf records")
    if split_column is None and fmt not in ("hf",) and len(splits) > 1 and "{split}" not in path:
        raise fail(where, "path", f"{len(splits)} splits need `{{split}}` in the path or a split_column: "
                                   f"{split_fix(path, splits)}")
    return splits, test_split, demo_split, split_column


def _check_placeholders(spec: DatasetSpec, where: str) -> None:
    """Every path placeholder known, and some way to tell each file's language."""
    unknown_fields = spec.placeholders - set(LANGUAGE_FIELDS)
    if unknown_fields:
        raise fail(where, "path", f"unknown placeholder {{{min(unknown_fields)}}} (known: split, data, "
                                   f"{', '.join(LANGUAGE_FIELDS)})")
    if spec.format != "lines" and not spec.placeholders and not spec.languages and not _languagecheck_columns(spec):
        raise fail(where, "languages", "say which language the data is in: `languages:`, a language "
                                        "placeholder in the path, or a language column")
    if spec.format == "lines" and not spec.placeholders:
        raise fail(where, "path", "format lines needs one file per language: name a language field, e.g. {flores}")


def _languagecheck_columns(spec: DatasetSpec) -> list[str]:
    return [r for r in ("language", "source_language", "target_language") if r in spec.column_map]


def load_declarations(path: Path) -> list[DatasetSpec]:
    """A YAML file declaring one data set (a mapping with `name`) or several (`datasets: {name: ...}`)."""
    raw = load_yaml(path, "data set declaration")
    if isinstance(raw, Mapping) and set(raw) == {"datasets"}:
        items = raw["datasets"]
        if not isinstance(items, Mapping):
            raise ConfigError(f"{path}: datasets: expected a mapping of name -> declaration")
        return [parse_declaration(v, f"{path}: datasets.{k}", path.parent, str(k)) for k, v in items.items()]
    return [parse_declaration(raw, str(path), path.parent)]


@dataclass(frozen=True)
class Registry:
    """The data sets a sweep can use: the shipped ones plus those it declares (a later name wins
    over a shipped one only if declared explicitly)."""

    specs: tuple[DatasetSpec, ...]

    def names(self) -> list[str]:
        return [s.name for s in self.specs]

    def find(self, name: str) -> DatasetSpec | None:
        """By name or alias; None when unknown."""
        for spec in reversed(self.specs):
            if name == spec.name or name in spec.aliases:
                return spec
        return None

    def get(self, name: str, key: str = "dataset") -> DatasetSpec:
        found = self.find(name)
        if found is None:
            raise ConfigError(f"{key}: unknown data set {name!r} (declared: {', '.join(self.names())})")
        return found

    def with_declared(self, specs: list[DatasetSpec]) -> Registry:
        return Registry(self.specs + tuple(specs))


SHIPPED_KINDS = {"flores200": "flores", "ntrex128": "ntrex", "massive": "massive"}
"""Each shipped data set -> the name `icl langs --has` gives it."""


@cache
def builtin_registry() -> Registry:
    """FLORES-200, NTREX-128 and MASSIVE, declared in icl/resources/datasets/ (package data)."""
    folder = files("icl.resources").joinpath("datasets")
    specs: list[DatasetSpec] = []
    for entry in sorted(folder.iterdir(), key=lambda p: p.name):
        if entry.name.endswith(".yaml"):
            specs.extend(load_declarations(Path(str(entry))))
    return Registry(tuple(specs))
