"""A sweep YAML -> frozen `RunSpec`s, one per combination, each with a stable id.

Every key is checked: an unknown key or a bad value fails with the file and the key path named, before
anything runs. Sweep dimensions are always lists; everything else is a scalar (one type per field).
"""

from __future__ import annotations

import hashlib
import itertools
import json
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import yaml

from icl.errors import ConfigError, IclError
from icl.languages import get_language
from icl.prompts import load_template
from icl.shots import SELECTORS


@dataclass(frozen=True)
class ModelSpec:
    """A model and the engine that serves it."""

    name: str
    """`gemma-3-270m` (the embedded default), a local folder, or a hub id."""
    engine: str
    """`vllm`, `hf` or `openai`."""
    args_json: str = "{}"
    """Engine arguments passed through to the backend (JSON, so the spec stays hashable)."""

    @property
    def args(self) -> dict[str, Any]:
        return json.loads(self.args_json)


@dataclass(frozen=True)
class RunSpec:
    """One run: a model on one language (pair) with one prompt setting. Saved as spec.json."""

    sweep: str
    """Name of the sweep this run belongs to (results/<sweep>/)."""
    task: str
    """`mt` or `intent`."""
    model: ModelSpec
    """Model and engine."""
    src: str
    """ISO 639-3 of the input language."""
    tgt: str
    """ISO 639-3 of the output language (intent: same as src)."""
    template: str
    """`<task>/<name>` under prompts/."""
    shots: int
    """Number of demonstrations."""
    selector: str
    """Demo selector: first, random, shared, bm25, fixed."""
    seed: int
    """Seed of the run's own `random.Random` (demo selection, sampling)."""
    pool: str
    """Demo pool: mt `ntrex` or `flores-heldout:N`; intent `train` or `train:<locale>`."""
    mode: str = "generate"
    """`generate` (parse the output) or `rank` (score every label; intent only)."""
    limit: int | None = None
    """Score only the first N test items (None = all)."""
    max_tokens: int = 128
    """Generation length limit."""
    fixed_ids: tuple[str, ...] = ()
    """Demo ids for the `fixed` selector."""
    augment: str = "none"
    """Lexicon augmentation: none, hints, synthetic, hints+synthetic."""
    morph: str = "off"
    """Morphological inflection of lexicon words: off or on."""

    @property
    def run_id(self) -> str:
        """Readable and stable: the same spec always gets the same id, whatever the sweep is called."""
        body = asdict(self)
        body.pop("sweep")
        digest = hashlib.sha1(json.dumps(body, sort_keys=True).encode()).hexdigest()[:8]
        pair = f"{self.src}-{self.tgt}" if self.task == "mt" else self.src
        name = self.template.split("/", 1)[1]
        aug = "" if self.augment == "none" else f"-{self.augment.replace('+', '')}{'-morph' if self.morph == 'on' else ''}"
        return f"{self.task}-{pair}-{name}-{self.shots}shot-{self.selector}{aug}-{self.mode}-s{self.seed}-{digest}"


@dataclass(frozen=True)
class Sweep:
    """A parsed sweep file."""

    name: str
    path: Path
    runs: tuple[RunSpec, ...] = field(default_factory=tuple)
    gains: tuple[Any, ...] = ()
    """`icl.gains.Comparison`s declared in the file's `gains:` section."""


_TOP = {"name", "models", "seeds", "mt", "intent", "description", "gains"}
_MODEL = {"name", "engine", "args"}
_COMMON = {"languages", "shots", "templates", "selectors", "pools", "limit", "max_tokens", "fixed_ids", "augment",
           "morph"}
_MT = _COMMON | {"directions"}
_INTENT = _COMMON | {"modes"}
DIRECTIONS = ("en-xx", "xx-en")
MODES = ("generate", "rank")
AUGMENTS = ("none", "hints", "synthetic", "hints+synthetic")
MORPH = ("off", "on")


def _check_keys(where: str, mapping: Any, known: set[str], path: Path) -> Mapping[str, Any]:
    if not isinstance(mapping, Mapping):
        raise ConfigError(f"{path}: {where}: expected a mapping, got {type(mapping).__name__}")
    for key in mapping:
        if key not in known:
            raise ConfigError(f"{path}: {where}.{key}: unknown key (known: {', '.join(sorted(known))})"
                              if where else f"{path}: {key}: unknown key (known: {', '.join(sorted(known))})")
    return mapping


def _list(where: str, value: Any, kind: type, path: Path, allowed: Sequence[Any] | None = None) -> list[Any]:
    if not isinstance(value, list) or not value:
        raise ConfigError(f"{path}: {where}: expected a non-empty list, got {value!r}")
    for item in value:
        if not isinstance(item, kind) or isinstance(item, bool) and kind is int:
            raise ConfigError(f"{path}: {where}: {item!r} is not a {kind.__name__}")
        if allowed is not None and item not in allowed:
            raise ConfigError(f"{path}: {where}: {item!r} is not one of {', '.join(map(str, allowed))}")
    return value


def _scalar(where: str, value: Any, kind: type, path: Path) -> Any:
    if not isinstance(value, kind) or isinstance(value, bool) and kind is not bool:
        raise ConfigError(f"{path}: {where}: expected {kind.__name__}, got {value!r}")
    return value


def load_yaml(path: Path) -> Any:
    """Parse YAML, naming file:line on a syntax error."""
    if not path.is_file():
        raise ConfigError(f"{path}: sweep file not found")
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f":{mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise ConfigError(f"{path}{line}: malformed YAML: {problem}") from None


def _models(raw: Any, path: Path) -> list[ModelSpec]:
    from icl.engines import ENGINES

    if not isinstance(raw, list) or not raw:
        raise ConfigError(f"{path}: models: expected a non-empty list of models")
    out = []
    for i, item in enumerate(raw):
        where = f"models[{i}]"
        item = _check_keys(where, item, _MODEL, path)
        name = _scalar(f"{where}.name", item.get("name"), str, path)
        engine = _scalar(f"{where}.engine", item.get("engine", "vllm"), str, path)
        if engine not in ENGINES:
            raise ConfigError(f"{path}: {where}.engine: unknown engine {engine!r} (known: {', '.join(ENGINES)})")
        args = item.get("args", {})
        if not isinstance(args, Mapping):
            raise ConfigError(f"{path}: {where}.args: expected a mapping of engine arguments")
        out.append(ModelSpec(name=name, engine=engine, args_json=json.dumps(dict(args), sort_keys=True)))
    return out


def _task_runs(task: str, raw: Any, path: Path, sweep: str, models: list[ModelSpec], seeds: list[int]) -> list[RunSpec]:
    section = _check_keys(task, raw, _MT if task == "mt" else _INTENT, path)
    if "languages" not in section:
        raise ConfigError(f"{path}: {task}.languages: missing (list the languages to run)")
    langs = []
    for i, code in enumerate(_list(f"{task}.languages", section["languages"], str, path)):
        try:
            langs.append(get_language(code, key=f"{path}: {task}.languages[{i}]"))
        except ConfigError as exc:
            raise ConfigError(str(exc)) from None
    shots = _list(f"{task}.shots", section.get("shots", [0]), int, path)
    if any(k < 0 for k in shots):
        raise ConfigError(f"{path}: {task}.shots: shots must be >= 0")
    templates = _list(f"{task}.templates", section.get("templates", ["plain" if task == "mt" else "labels"]), str, path)
    for i, name in enumerate(templates):
        try:
            load_template(f"{task}/{name}")
        except IclError as exc:
            raise ConfigError(f"{path}: {task}.templates[{i}]: {exc}") from None
    selectors = _list(f"{task}.selectors", section.get("selectors", ["first"]), str, path, allowed=list(SELECTORS))
    fixed_ids = tuple(_list(f"{task}.fixed_ids", section["fixed_ids"], str, path)) if "fixed_ids" in section else ()
    if "fixed" in selectors and not fixed_ids:
        raise ConfigError(f"{path}: {task}.fixed_ids: the `fixed` selector needs a list of demo ids")
    pools = _list(f"{task}.pools", section.get("pools", ["ntrex" if task == "mt" else "train"]), str, path)
    for pool in pools:
        _check_pool(task, pool, path)
    limit = section.get("limit")
    if limit is not None and (_scalar(f"{task}.limit", limit, int, path) <= 0):
        raise ConfigError(f"{path}: {task}.limit: must be a positive number of items")
    max_tokens = _scalar(f"{task}.max_tokens", section.get("max_tokens", 128 if task == "mt" else 24), int, path)
    augments = _list(f"{task}.augment", section.get("augment", ["none"]), str, path, allowed=AUGMENTS)
    morphs = _list(f"{task}.morph", [normalize_morph(m) for m in _list(f"{task}.morph", section.get("morph", ["off"]),
                                                                        object, path)], str, path, allowed=MORPH)
    if task == "mt":
        directions = _list("mt.directions", section.get("directions", ["en-xx"]), str, path, allowed=DIRECTIONS)
        pairs = [("eng", lg.iso3) if d == "en-xx" else (lg.iso3, "eng") for lg in langs for d in directions
                 if lg.iso3 != "eng"]
        modes = ["generate"]
    else:
        pairs = [(lg.iso3, lg.iso3) for lg in langs]
        modes = _list("intent.modes", section.get("modes", ["generate"]), str, path, allowed=MODES)
    runs = []
    for model, (src, tgt), template, k, selector, pool, seed, mode, augment, morph in itertools.product(
        models, pairs, templates, shots, selectors, pools, seeds, modes, augments, morphs
    ):
        if augment == "none" and morph == "on":
            continue  # morphology only changes lexicon output
        if k == 0 and (selector != selectors[0] or pool != pools[0] or augment == "synthetic"):
            continue  # with no demos, selectors, pools and synthetic demos make no difference
        if augment in ("synthetic", "hints+synthetic") and pool != pools[0]:
            continue  # synthetic demos replace the pool, whichever it was
        runs.append(RunSpec(sweep=sweep, task=task, model=model, src=src, tgt=tgt, template=f"{task}/{template}",
                            shots=k, selector=selector, seed=seed, pool=pool, mode=mode, limit=limit,
                            max_tokens=max_tokens, fixed_ids=fixed_ids, augment=augment, morph=morph))
    return runs


def normalize_morph(value: Any) -> Any:
    """YAML 1.1 reads the natural spelling `morph: [off, on]` as booleans; map them back to names."""
    if isinstance(value, bool):
        return "on" if value else "off"
    return value


def _check_pool(task: str, pool: str, path: Path) -> None:
    if task == "mt":
        if pool == "ntrex":
            return
        name, _, n = pool.partition(":")
        if name == "flores-heldout" and n.isdigit() and 0 < int(n) < 1012:
            return
        raise ConfigError(f"{path}: mt.pools: {pool!r} is not `ntrex` or `flores-heldout:N` (0 < N < 1012)")
    name, _, locale = pool.partition(":")
    if name != "train":
        raise ConfigError(f"{path}: intent.pools: {pool!r} is not `train` or `train:<locale>`")
    if locale:
        get_language(locale, key=f"{path}: intent.pools")


def load_sweep(path: Path) -> Sweep:
    """Read and check a sweep file and expand it into runs."""
    raw = load_yaml(path)
    raw = _check_keys("", raw, _TOP, path)
    name = _scalar("name", raw.get("name", path.stem), str, path)
    if not name or "/" in name or name.startswith("."):
        raise ConfigError(f"{path}: name: {name!r} is not a usable folder name")
    if "models" not in raw:
        raise ConfigError(f"{path}: models: missing (list at least one model)")
    models = _models(raw["models"], path)
    seeds = _list("seeds", raw.get("seeds", [0]), int, path)
    if "mt" not in raw and "intent" not in raw:
        raise ConfigError(f"{path}: neither `mt` nor `intent` is configured: nothing to run")
    runs: list[RunSpec] = []
    for task in ("mt", "intent"):
        if task in raw:
            runs.extend(_task_runs(task, raw[task], path, name, models, seeds))
    ids = [r.run_id for r in runs]
    if len(set(ids)) != len(ids):
        raise ConfigError(f"{path}: the sweep lists the same run twice (check repeated values in its lists)")
    comparisons: tuple[Any, ...] = ()
    if "gains" in raw:
        from icl.gains import parse_comparisons

        fields = [f for f in RunSpec.__dataclass_fields__ if f not in ("sweep", "model")] + ["model", "engine"]
        comparisons = tuple(parse_comparisons(raw["gains"], str(path), fields))
    return Sweep(name=name, path=path, runs=tuple(runs), gains=comparisons)


def spec_to_json(spec: RunSpec) -> dict[str, Any]:
    """spec.json content (model args decoded for readability)."""
    body = asdict(spec)
    body["model"] = {"name": spec.model.name, "engine": spec.model.engine, "args": spec.model.args}
    body["run_id"] = spec.run_id
    return body


def spec_from_json(body: Mapping[str, Any]) -> RunSpec:
    """Inverse of `spec_to_json`."""
    data = dict(body)
    data.pop("run_id", None)
    model = data.pop("model")
    data["fixed_ids"] = tuple(data.get("fixed_ids", ()))
    return RunSpec(model=ModelSpec(model["name"], model["engine"], json.dumps(model["args"], sort_keys=True)), **data)
