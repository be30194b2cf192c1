"""A sweep YAML -> frozen `RunSpec`s (icl.spec), one per combination (icl.sweep.grid), each with a
stable id.

Every key is checked: an unknown key or a bad value fails with the file and the key path named, before
anything runs. Sweep dimensions are always lists; everything else is a scalar (one type per field).
A sweep can declare its own data sets (`datasets:`), which join the shipped FLORES/NTREX/MASSIVE.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from icl.data import DatasetSpec, Registry, builtin_registry, load_declarations, parse_declaration, resolve_pool
from icl.data.files import load_yaml as read_yaml
from icl.engines import ENGINES
from icl.errors import ConfigError, IclError
from icl.languages import get_language
from icl.prompts.render import load_template, template_variables
from icl.shots import SELECTORS
from icl.spec import ModelSpec, Pool, RunSpec
from icl.sweep.comparisons import Comparison, parse_comparisons
from icl.sweep.design import Design, parse_design
from icl.sweep.grid import AUGMENTS, applicable, morph_flag
from icl.sweep.validate import check_keys, check_list, check_scalar
from icl.tasks import TASKS, Task


@dataclass(frozen=True)
class Sweep:
    """A parsed sweep file."""

    name: str
    """Folder name under results/."""
    path: Path
    """The YAML it was read from."""
    runs: tuple[RunSpec, ...]
    """Every run, in file order."""
    datasets: Registry
    """The shipped data sets plus those the sweep declares."""
    gains: tuple[Comparison, ...] = ()
    """Comparisons declared in the file's `gains:` section."""
    design: Design | None = None
    """The file's `sequential:` design (icl.sweep.design); None: a fixed design, every run gets every item."""


_TOP = {"name", "models", "seeds", "description", "gains", "datasets", "sequential"}
"""Top-level keys besides one section per task (read from TASKS when a file is checked)."""
_MODEL = {"name", "engine", "args"}
_COMMON = {"languages", "datasets", "shots", "templates", "selectors", "pools", "limit", "max_tokens", "fixed_ids",
           "augment", "morph", "leaks"}
LEAKS = ("refuse", "exclude")
"""A task section's `leaks:` (RunSpec.leaks)."""

def load_yaml(path: Path) -> Any:
    """Parse a sweep file, naming file:line on a syntax error."""
    return read_yaml(path, "sweep file")


def _models(raw: Any, path: Path) -> list[ModelSpec]:
    if not isinstance(raw, list) or not raw:
        raise ConfigError(f"{path}: models: expected a non-empty list of models")
    out = []
    for i, item in enumerate(raw):
        where = f"models[{i}]"
        item = check_keys(where, item, _MODEL, path)
        name = check_scalar(f"{where}.name", item.get("name"), str, path)
        engine = check_scalar(f"{where}.engine", item.get("engine", "vllm"), str, path)
        if engine not in ENGINES:
            raise ConfigError(f"{path}: {where}.engine: unknown engine {engine!r} (known: {', '.join(ENGINES)})")
        args = item.get("args", {})
        if not isinstance(args, Mapping):
            raise ConfigError(f"{path}: {where}.args: expected a mapping of engine arguments")
        out.append(ModelSpec(name=name, engine=engine, args_json=json.dumps(dict(args), sort_keys=True)))
    return out


def _declared(raw: Any, path: Path) -> list[DatasetSpec]:
    """A sweep's `datasets:` - a mapping of inline declarations by name, or a list of YAML files."""
    if isinstance(raw, Mapping):
        return [parse_declaration(v, f"{path}: datasets.{k}", path.parent, str(k)) for k, v in raw.items()]
    if isinstance(raw, list) and raw and all(isinstance(p, str) for p in raw):
        return [spec for p in raw for spec in load_declarations((path.parent / p).resolve())]
    raise ConfigError(f"{path}: datasets: expected a mapping of name -> declaration, or a list of YAML files")


@dataclass(frozen=True)
class TaskGrid:
    """One task section's checked lists: every value a run of the task can take. Runs are their product
    (less what icl.sweep.grid.applicable leaves out), so a sweep is counted from here without building a
    RunSpec, and expanded from the same values."""

    task: str
    datasets: tuple[str, ...]
    combos: tuple[tuple[str, str, str], ...]
    """(src, tgt, mode) of each language and direction or mode."""
    templates: tuple[str, ...]
    shots: tuple[int, ...]
    selectors: tuple[str, ...]
    pools: tuple[Pool, ...]
    augments: tuple[str, ...]
    morphs: tuple[bool, ...]
    fixed_ids: tuple[str, ...]
    limit: int | None
    max_tokens: int
    leaks: str = "refuse"

    def per_model_and_seed(self) -> int:
        """Runs for one model and one seed."""
        kept = sum(applicable(src, tgt, augment, pool.language)
                   for (src, tgt, _), augment, pool in itertools.product(self.combos, self.augments, self.pools))
        return kept * len(self.datasets) * len(self.templates) * len(self.shots) * len(self.selectors) * len(self.morphs)

    def runs(self, sweep: str, models: Sequence[ModelSpec], seeds: Sequence[int]) -> list[RunSpec]:
        out = []
        for model, ds, (src, tgt, mode), template, k, selector, pool, seed, augment, morph in itertools.product(
            models, self.datasets, self.combos, self.templates, self.shots, self.selectors, self.pools, seeds,
            self.augments, self.morphs,
        ):
            if applicable(src, tgt, augment, pool.language):
                out.append(RunSpec(sweep=sweep, task=self.task, model=model, src=src, tgt=tgt,
                                   template=f"{self.task}/{template}", shots=k, selector=selector, seed=seed,
                                   pool=pool, mode=mode, limit=self.limit, max_tokens=self.max_tokens,
                                   fixed_ids=self.fixed_ids, augment=augment, morph=morph, dataset=ds,
                                   leaks=self.leaks))
        return out


def _datasets(task: Task, section: Mapping[str, Any], path: Path, registry: Registry) -> list[DatasetSpec]:
    name = task.name
    datasets = [registry.get(d, key=f"{path}: {name}.datasets[{i}]")
                for i, d in enumerate(check_list(f"{name}.datasets", section.get("datasets", [task.dataset]), str, path))]
    for i, ds in enumerate(datasets):
        if ds.task != name:
            raise ConfigError(f"{path}: {name}.datasets[{i}]: {ds.name} is a {ds.task} data set ({ds.where})")
    return datasets


def _templates(task: Task, section: Mapping[str, Any], path: Path, datasets: Sequence[DatasetSpec]) -> list[str]:
    """Templates that load, and that find the columns they use (labels by group need a group column)."""
    name = task.name
    templates = check_list(f"{name}.templates", section.get("templates", [task.template]), str, path)
    needs_groups = set()
    for i, tpl in enumerate(templates):
        try:
            loaded = load_template(f"{name}/{tpl}")
        except IclError as exc:
            raise ConfigError(f"{path}: {name}.templates[{i}]: {exc}") from None
        if "scenarios" in template_variables(loaded):
            needs_groups.add(tpl)
    for ds in datasets:
        if needs_groups and task.labelled and "group" not in ds.column_map:
            raise ConfigError(f"{path}: {name}.templates: {', '.join(sorted(needs_groups))} lists labels by group "
                              f"(scenarios), but data set {ds.name} declares no group column ({ds.where})")
    return templates


def _pools(task: Task, section: Mapping[str, Any], path: Path, datasets: Sequence[DatasetSpec],
           registry: Registry) -> list[Pool]:
    name = task.name
    pools = []
    for i, text in enumerate(check_list(f"{name}.pools", section.get("pools", default_pools(task.pool, datasets)),
                                        str, path)):
        where = f"{path}: {name}.pools[{i}]"
        try:
            pool = Pool(text)
        except ConfigError as exc:
            raise ConfigError(f"{where}: {exc}") from None
        for ds in datasets:
            resolve_pool(pool, ds, registry, key=where)
        if pool.language:
            get_language(pool.language, key=where)
        pools.append(pool)
    return pools


def _task_grid(task: Task, raw: Any, path: Path, registry: Registry) -> TaskGrid:
    name = task.name
    section = check_keys(name, raw, _COMMON | {axis.key for axis in task.axes}, path)
    if "languages" not in section:
        raise ConfigError(f"{path}: {name}.languages: missing (list the languages to run)")
    langs = [get_language(code, key=f"{path}: {name}.languages[{i}]").code
             for i, code in enumerate(check_list(f"{name}.languages", section["languages"], str, path))]
    datasets = _datasets(task, section, path, registry)
    shots = check_list(f"{name}.shots", section.get("shots", [0]), int, path)
    if any(k < 0 for k in shots):
        raise ConfigError(f"{path}: {name}.shots: shots must be >= 0")
    selectors = check_list(f"{name}.selectors", section.get("selectors", ["first"]), str, path, allowed=list(SELECTORS))
    fixed_ids = tuple(check_list(f"{name}.fixed_ids", section["fixed_ids"], str, path)) if "fixed_ids" in section else ()
    if "fixed" in selectors and not fixed_ids:
        raise ConfigError(f"{path}: {name}.fixed_ids: the `fixed` selector needs a list of demo ids")
    limit = section.get("limit")
    if limit is not None and (check_scalar(f"{name}.limit", limit, int, path) <= 0):
        raise ConfigError(f"{path}: {name}.limit: must be a positive number of items")
    morphs = [morph_flag(m, f"{name}.morph", path) for m in check_list(f"{name}.morph", section.get("morph", ["off"]),
                                                                   object, path)]
    leaks = check_scalar(f"{name}.leaks", section.get("leaks", "refuse"), str, path)
    if leaks not in LEAKS:
        raise ConfigError(f"{path}: {name}.leaks: {leaks!r} is not one of {', '.join(LEAKS)}")
    options = {axis.key: check_list(f"{name}.{axis.key}", section.get(axis.key, list(axis.default)), str, path,
                                    axis.values) for axis in task.axes}
    return TaskGrid(
        task=name, datasets=tuple(ds.name for ds in datasets), combos=tuple(task.runs(options, langs)),
        templates=tuple(_templates(task, section, path, datasets)), shots=tuple(shots), selectors=tuple(selectors),
        pools=tuple(_pools(task, section, path, datasets, registry)),
        augments=tuple(check_list(f"{name}.augment", section.get("augment", ["none"]), str, path, allowed=AUGMENTS)),
        morphs=tuple(morphs), fixed_ids=fixed_ids, limit=limit,
        max_tokens=check_scalar(f"{name}.max_tokens", section.get("max_tokens", task.max_tokens), int, path),
        leaks=leaks)


@dataclass(frozen=True)
class Grid:
    """A sweep file read and checked once: counted (`counts`) before anything is built, then expanded into
    runs (`expand`)."""

    name: str
    path: Path
    models: tuple[ModelSpec, ...]
    seeds: tuple[int, ...]
    registry: Registry
    tasks: tuple[TaskGrid, ...]
    gains: tuple[Comparison, ...]
    design: Design | None = None

    def counts(self) -> dict[str, int]:
        """Runs per task, without building a RunSpec (a 900,000-run typo counts in a second)."""
        return {t.task: t.per_model_and_seed() * len(self.models) * len(self.seeds) for t in self.tasks}

    def expand(self) -> Sweep:
        runs = [spec for t in self.tasks for spec in t.runs(self.name, self.models, self.seeds)]
        ids = [r.run_id for r in runs]
        if len(set(ids)) != len(ids):
            raise ConfigError(f"{self.path}: the sweep lists the same run twice (check repeated values in its lists)")
        return Sweep(name=self.name, path=self.path, runs=tuple(runs), datasets=self.registry, gains=self.gains,
                     design=self.design)


GAIN_FIELDS = [f for f in RunSpec.__dataclass_fields__ if f not in ("sweep", "model")] + ["model", "engine"]
"""Fields a `gains:` filter may name."""


DICT_SOURCE = Path("<dict>")
"""What messages about a sweep given as a dict (icl.run from a notebook) name instead of a file; relative
paths in it (`datasets:` files) are read from the working directory, this path's parent."""


def load_grid(path: Path) -> Grid:
    """Read and check a sweep file: every key and value, once."""
    return _grid(load_yaml(path), path, path.stem)


def grid_from_dict(raw: Mapping[str, Any]) -> Grid:
    """Check a sweep given as a dict with the keys of a sweep file, as `load_grid` checks a file. It must say
    its `name` (a file's default is its stem), the folder its results go to."""
    if isinstance(raw, Mapping) and "name" not in raw:
        raise ConfigError(f"{DICT_SOURCE}: name: missing (a sweep given as a dict names its results folder)")
    return _grid(raw, DICT_SOURCE, "")


def _grid(raw: Any, path: Path, default_name: str) -> Grid:
    raw = check_keys("", raw, _TOP | set(TASKS), path)
    name = check_scalar("name", raw.get("name", default_name), str, path)
    if not name or "/" in name or name.startswith("."):
        raise ConfigError(f"{path}: name: {name!r} is not a usable folder name")
    if "models" not in raw:
        raise ConfigError(f"{path}: models: missing (list at least one model)")
    models = _models(raw["models"], path)
    seeds = check_list("seeds", raw.get("seeds", [0]), int, path)
    registry = builtin_registry()
    if "datasets" in raw:
        registry = registry.with_declared(_declared(raw["datasets"], path))
    if not any(task in raw for task in TASKS):
        raise ConfigError(f"{path}: no task section ({', '.join(TASKS)}) is configured: nothing to run")
    tasks = tuple(_task_grid(task, raw[task.name], path, registry) for task in TASKS.values() if task.name in raw)
    comparisons = tuple(parse_comparisons(raw["gains"], str(path), GAIN_FIELDS)) if "gains" in raw else ()
    return Grid(name, path, tuple(models), tuple(seeds), registry, tasks, comparisons, _design(raw, path, comparisons))


def _design(raw: Mapping[str, Any], path: Path, comparisons: Sequence[Comparison]) -> Design | None:
    """The `sequential:` section checked against the comparisons' families and the metrics the tasks compare."""
    if "sequential" not in raw:
        return None
    metrics = sorted({m for task in TASKS.values() if task.name in raw for m in task.gain_metrics})
    return parse_design(raw["sequential"], path, metrics, sorted({c.family or "default" for c in comparisons}),
                        bool(comparisons))


def load_sweep(path: Path) -> Sweep:
    """Read and check a sweep file and expand it into runs."""
    return load_grid(path).expand()


def load_comparisons(path: Path) -> tuple[Comparison, ...]:
    """Only the `gains:` section of a sweep file: what `icl gains` needs of the copy kept with results
    (its data set declarations may name files relative to where the sweep was, so they are not read)."""
    return load_study_plan(path)[0]


def load_study_plan(path: Path) -> tuple[tuple[Comparison, ...], Design | None]:
    """The `gains:` and `sequential:` sections of a sweep file (what a study needs of the copy kept with results)."""
    raw = load_yaml(path)
    if not isinstance(raw, Mapping) or "gains" not in raw:
        return (), None
    comparisons = tuple(parse_comparisons(raw["gains"], str(path), GAIN_FIELDS))
    return comparisons, _design(raw, path, comparisons)


def default_pools(task_pool: str, datasets: Sequence[DatasetSpec]) -> list[str]:
    """Without a `pools:` line, demos come from the split the data sets declare for them (`demo_split`)
    when they all declare the same one and it is not a split they score (a user's set declared with
    test and validation splits), else from the task's default pool (MASSIVE train, FLORES dev)."""
    own = {ds.demo_split for ds in datasets}
    split = next(iter(own)) if len(own) == 1 else None
    if split is not None and all(split != ds.test_split for ds in datasets):
        return [split]
    return [task_pool]
