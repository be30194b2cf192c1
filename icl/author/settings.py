"""What the authoring page is set to, as the `RunSpec` a sweep would make of it, and the sweep YAML
that makes exactly that run again.

The page's choices are one value of each key a sweep section lists (task, data set, language, the
task's own axes such as MT `directions` or intent `modes`, shots, selector, pool, augmentation, morph,
seed, and `limit` = the number of items shown). They are checked here with the same rules and
messages as a sweep file, and a test loads the YAML `sweep_yaml` writes and checks that it gives the
same run ids, so "what the page showed" and "what `icl run` re-runs" cannot drift apart.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import yaml

from icl.data import Registry, resolve_pool
from icl.errors import ConfigError
from icl.languages import get_language
from icl.shots import SELECTORS
from icl.spec import ModelSpec, Pool, RunSpec
from icl.sweep.grid import AUGMENTS, applicable
from icl.tasks import get_task

MAX_ITEMS = 64
"""Most items one page view shows (a page is for reading outputs; a sweep is for measuring)."""


@dataclass(frozen=True)
class Setting:
    """One column of the page: a run's choices, one value per sweep key."""

    task: str
    """A key of icl.tasks.TASKS."""
    template: str
    """The template's name without its task (`plain` for prompts/mt/plain.j2); it need not exist yet."""
    language: str
    """Any spelling of the language (MT: the non-English side; intent: the locale)."""
    dataset: str = ""
    """The data set scored; '' = the task's default."""
    axes: tuple[tuple[str, str], ...] = ()
    """(key, value) of the task's own sweep keys (`directions`, `modes`); a key left out takes its default."""
    shots: int = 1
    selector: str = "first"
    pool: str = ""
    """A pool spelling as in a sweep (`ntrex`, `train`, `heldout:5`, `train:en-US`); '' = the task's."""
    augment: str = "none"
    morph: bool = False
    seed: int = 0
    items: int = 8
    """How many test items (the sweep's `limit`)."""
    max_tokens: int = 0
    """Generation limit; 0 = the task's default."""


_FIELDS = {"task", "template", "language", "dataset", "axes", "shots", "selector", "pool", "augment", "morph", "seed",
           "items", "max_tokens"}


def _int(body: Mapping[str, Any], key: str, default: int, low: int, high: int | None = None) -> int:
    value = body.get(key, default)
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        value = int(value)
    if not isinstance(value, int) or isinstance(value, bool) or value < low or (high is not None and value > high):
        limits = f"{low}..{high}" if high is not None else f">= {low}"
        raise ConfigError(f"{key}: expected a whole number {limits}, got {value!r}")
    return value


def _str(body: Mapping[str, Any], key: str, default: str = "") -> str:
    value = body.get(key, default)
    if not isinstance(value, str):
        raise ConfigError(f"{key}: expected text, got {value!r}")
    return value.strip()


def setting_from_json(body: Any) -> Setting:
    """A Setting from the page's JSON, every field checked (ConfigError names the field)."""
    if not isinstance(body, Mapping):
        raise ConfigError("setting: expected an object")
    unknown = set(body) - _FIELDS
    if unknown:
        raise ConfigError(f"setting: unknown keys {sorted(unknown)} (known: {sorted(_FIELDS)})")
    task = get_task(_str(body, "task"))
    axes_raw = body.get("axes", {})
    if not isinstance(axes_raw, Mapping):
        raise ConfigError("axes: expected an object of sweep key -> value")
    known_axes = {axis.key: axis for axis in task.axes}
    axes = []
    for key, value in axes_raw.items():
        if key not in known_axes:
            raise ConfigError(f"axes.{key}: task {task.name} has no such key (it has: {', '.join(known_axes)})")
        if value not in known_axes[key].values:
            raise ConfigError(f"axes.{key}: {value!r} is not one of {', '.join(known_axes[key].values)}")
        axes.append((str(key), str(value)))
    morph = body.get("morph", False)
    if not isinstance(morph, bool):
        raise ConfigError(f"morph: expected true or false, got {morph!r}")
    return Setting(task=task.name, template=_str(body, "template", task.template) or task.template,
                   language=_str(body, "language"), dataset=_str(body, "dataset"), axes=tuple(sorted(axes)),
                   shots=_int(body, "shots", 1, 0, 64), selector=_str(body, "selector", "first"),
                   pool=_str(body, "pool"), augment=_str(body, "augment", "none"), morph=morph,
                   seed=_int(body, "seed", 0, 0), items=_int(body, "items", 8, 1, MAX_ITEMS),
                   max_tokens=_int(body, "max_tokens", 0, 0, 4096))


def run_spec(setting: Setting, model: ModelSpec, registry: Registry, sweep: str = "author") -> RunSpec:
    """The run a sweep section with these values would make, checked as a sweep file is."""
    task = get_task(setting.task)
    if not setting.language:
        raise ConfigError("language: missing (any code: fra, sw-KE, kin_Latn ...)")
    lang = get_language(setting.language, key="language").code
    dataset = registry.get(setting.dataset or task.dataset, key="dataset")
    if dataset.task != task.name:
        raise ConfigError(f"dataset: {dataset.name} is a {dataset.task} data set ({dataset.where})")
    if setting.selector not in SELECTORS:
        raise ConfigError(f"selector: {setting.selector!r} is not one of {', '.join(SELECTORS)}")
    if setting.augment not in AUGMENTS:
        raise ConfigError(f"augment: {setting.augment!r} is not one of {', '.join(AUGMENTS)}")
    pool = Pool(setting.pool or task.pool)
    resolve_pool(pool, dataset, registry, key="pool")
    if pool.language:
        get_language(pool.language, key="pool")
    chosen = dict(setting.axes)
    options = {axis.key: [chosen.get(axis.key, axis.default[0])] for axis in task.axes}
    combos = task.runs(options, [lang])
    if len(combos) != 1:
        raise ConfigError(f"language: {setting.language!r} gives no run of task {task.name} "
                          f"(an English-only pair has nothing to translate)")
    src, tgt, mode = combos[0]
    if not applicable(src, tgt, setting.augment, pool.language):
        raise ConfigError(f"augment: {setting.augment} labels the pool's own language; pool {pool.text!r} is in another")
    return RunSpec(sweep=sweep, task=task.name, model=model, src=src, tgt=tgt,
                   template=f"{task.name}/{setting.template}", shots=setting.shots, selector=setting.selector,
                   seed=setting.seed, pool=pool, mode=mode, limit=setting.items,
                   max_tokens=setting.max_tokens or task.max_tokens, augment=setting.augment, morph=setting.morph,
                   dataset=dataset.name)


def _section(specs: Sequence[RunSpec], settings: Sequence[Setting]) -> dict[str, Any]:
    """A task section listing every value the settings use (the sweep is their product)."""
    task = get_task(specs[0].task)

    def values(get: Any) -> list[Any]:
        return list(dict.fromkeys(get(s) for s in specs))

    section: dict[str, Any] = {
        "languages": list(dict.fromkeys(get_language(st.language).code for st in settings)),
        "datasets": values(lambda s: s.dataset),
    }
    for axis in task.axes:
        section[axis.key] = list(dict.fromkeys(dict(st.axes).get(axis.key, axis.default[0]) for st in settings))
    section.update({
        "shots": values(lambda s: s.shots),
        "templates": values(lambda s: s.template.split("/", 1)[1]),
        "selectors": values(lambda s: s.selector),
        "pools": values(lambda s: s.pool.text),
        "augment": values(lambda s: s.augment),
        "morph": values(lambda s: "on" if s.morph else "off"),
    })
    limits, max_tokens = values(lambda s: s.limit), values(lambda s: s.max_tokens)
    if len(limits) != 1 or len(max_tokens) != 1:
        raise ConfigError("items, max_tokens: one sweep section has one limit and one max_tokens; "
                          "set both sides alike to save them as one sweep")
    section["limit"], section["max_tokens"] = limits[0], max_tokens[0]
    return section


def _differences(a: RunSpec, b: RunSpec) -> tuple[dict[str, Any], dict[str, Any]]:
    """The run fields in which b differs from a, as `gains:` filters (values as spec.json writes them)."""
    ja, jb = a.to_json(), b.to_json()
    keys = [k for k in ja if k not in ("sweep", "model") and ja[k] != jb[k]]
    return {k: ja[k] for k in keys}, {k: jb[k] for k in keys}


def sweep_yaml(name: str, model: ModelSpec, specs: Sequence[RunSpec], settings: Sequence[Setting]) -> str:
    """A sweep file that runs what the page showed: one setting, or two (then with a `gains:` entry
    that compares them as the page did). Its outputs come from the completion cache the page filled."""
    if len({s.task for s in specs}) != 1:
        raise ConfigError("task: both sides must be of one task to save them as one sweep")
    body: dict[str, Any] = {
        "name": name,
        "models": [{"name": model.name, "engine": model.engine, "args": model.args}],
        "seeds": list(dict.fromkeys(s.seed for s in specs)),
        specs[0].task: _section(specs, settings),
    }
    comment = "# written by `icl author`: `icl run` on this file re-runs what the page showed, from the cache\n"
    if len(specs) == 2 and specs[0].run_id != specs[1].run_id:
        base, system = _differences(specs[0], specs[1])
        label = ", ".join(f"{k} {json.dumps(v)}" for k, v in system.items())
        body["gains"] = [{"name": f"B vs A ({label})", "baseline": base, "system": system}]
        runs = 1
        for key in ("languages", "datasets", "shots", "templates", "selectors", "pools", "augment", "morph",
                    *(axis.key for axis in get_task(specs[0].task).axes)):
            runs *= len(body[specs[0].task][key])
        runs *= len(body["seeds"])
        if runs > 2:
            comment += (f"# A and B differ in {len(base)} fields, so this sweep has {runs} runs; the page showed "
                        f"{specs[0].run_id} (A) and {specs[1].run_id} (B)\n")
    return comment + yaml.safe_dump(body, sort_keys=False, allow_unicode=True, default_flow_style=None, width=110)
