"""The frozen values a sweep is made of: `ModelSpec`, `Pool` and `RunSpec` (one run, saved as spec.json).

Every later step (augment, shots, prompts, engines, results) receives these and nothing else from the
sweep file; this module imports only languages and tasks, so any step above them can depend on it.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from icl.errors import ConfigError
from icl.languages import non_english, pair_label
from icl.tasks import get_mode, get_task


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


HELDOUT_PREFIXES = ("heldout:", "flores-heldout:")
"""`heldout:N` (any test set) and its original spelling `flores-heldout:N`."""


@dataclass(frozen=True)
class Pool:
    """Where a run's demonstrations come from, parsed once from its sweep spelling.

    - `heldout:N` (or `flores-heldout:N`): the first N items of the run's own test split, which are
      then not scored.
    - `<split>`: another split of the run's data set (MASSIVE `train`).
    - `<data set>` or `<data set>/<split>`: another data set (`ntrex`, `ntrex128/test`), its demo split
      by default.
    - any of these `:<language>`: the same pool in another language (`train:en-US`, cross-lingual demos).

    Which names are splits and which are data sets is decided against the declared data sets
    (`icl.data.resolve_pool`); this value only holds the spelling's parts.
    """

    text: str
    """The pool as written in the sweep; it is what spec.json and run ids record."""
    name: str = field(init=False)
    """Split or data set name ('' for a held-out pool)."""
    language: str | None = field(init=False)
    """Language code as written after ':', or None (the run's own language)."""
    heldout: int = field(init=False)
    """N of `heldout:N`; 0 otherwise."""

    def __post_init__(self) -> None:
        text = self.text.strip()
        name, language, heldout = text, None, 0
        for prefix in HELDOUT_PREFIXES:
            if text.startswith(prefix):
                n = text[len(prefix):]
                if not n.isdigit() or int(n) <= 0:
                    raise ConfigError(f"pool {self.text!r}: `{prefix}N` needs a positive number N")
                name, heldout = "", int(n)
                break
        else:
            if ":" in text:
                name, _, language = text.partition(":")
            if not name or (language is not None and not language):
                raise ConfigError(f"pool {self.text!r}: expected <split>, <data set>[/<split>], heldout:N, "
                                  "optionally followed by :<language>")
        object.__setattr__(self, "name", name)
        object.__setattr__(self, "language", language)
        object.__setattr__(self, "heldout", heldout)

    def __str__(self) -> str:
        return self.text


def default_dataset(task: str) -> str:
    """The data set a task's runs score when the sweep names none (the shipped FLORES/MASSIVE). Run ids
    leave it out, so runs made before `dataset` was a field keep their ids (and results, and cache)."""
    return get_task(task).dataset


@dataclass(frozen=True)
class RunSpec:
    """One run: a model on one language (pair) with one prompt setting. Saved as spec.json."""

    sweep: str
    """Name of the sweep this run belongs to (results/<sweep>/)."""
    task: str
    """A key of icl.tasks.TASKS."""
    model: ModelSpec
    """Model and engine."""
    src: str
    """Language code (icl.languages) of the input."""
    tgt: str
    """Language code of the output (intent: same as src)."""
    template: str
    """`<task>/<name>` under prompts/."""
    shots: int
    """Number of demonstrations."""
    selector: str
    """Demo selector, a key of icl.shots.SELECTORS."""
    seed: int
    """Seed of the run's own `random.Random` (demo selection, sampling)."""
    pool: Pool
    """Where the demonstrations come from."""
    mode: str = ""
    """A mode of the task (`Task.modes`: intent `generate` or `rank`); '' = the task's first."""
    limit: int | None = None
    """Score only the first N test items (None = all)."""
    max_tokens: int = 128
    """Generation length limit."""
    fixed_ids: tuple[str, ...] = ()
    """Demo ids for the `fixed` selector."""
    augment: str = "none"
    """Demonstration augmentation, a key of icl.augment.AUGMENTERS."""
    morph: bool = False
    """Inflect lexicon words with UniMorph tables (lexicon augmentations only)."""
    dataset: str = ""
    """The declared data set scored (icl.data); '' = the task's default."""
    leaks: str = "refuse"
    """What a pool item that repeats a scored item does (icl.run.leaks): `refuse` stops the sweep, `exclude`
    leaves it out of the pool before demos are chosen (as a `heldout:N` pool always does)."""

    def __post_init__(self) -> None:
        if not self.dataset:
            object.__setattr__(self, "dataset", default_dataset(self.task))
        if not self.mode:
            object.__setattr__(self, "mode", next(iter(get_task(self.task).modes)))

    @property
    def pair(self) -> str:
        """`eng-swa`, or `swa` for intent."""
        return pair_label(self.src, self.tgt)

    @property
    def ranks(self) -> bool:
        """Its mode scores every label's answer (Mode.ranks) instead of generating."""
        return get_mode(self.task, self.mode).ranks

    @property
    def language(self) -> str:
        """The non-English side of the pair (intent: its language)."""
        return non_english(self.src, self.tgt)

    def to_json(self) -> dict[str, Any]:
        """spec.json content: plain values as older icl wrote them (`pool` text, `morph` on/off)."""
        body = asdict(self)
        body["pool"] = self.pool.text
        body["morph"] = "on" if self.morph else "off"
        body["fixed_ids"] = list(self.fixed_ids)
        if self.leaks == "refuse":  # the default: spec.json and run ids stay as they were without the key
            body.pop("leaks")
        return body

    @property
    def run_id(self) -> str:
        """Readable and stable: the same spec always gets the same id, whatever the sweep is called."""
        body = self.to_json()
        body.pop("sweep")
        body["fixed_ids"] = tuple(self.fixed_ids)
        if body["dataset"] == default_dataset(self.task):
            body.pop("dataset")
        digest = hashlib.sha1(json.dumps(body, sort_keys=True).encode()).hexdigest()[:8]
        name = self.template.split("/", 1)[1]
        aug = "" if self.augment == "none" else f"-{self.augment.replace('+', '')}{'-morph' if self.morph else ''}"
        data = "" if "dataset" not in body else f"{self.dataset}-"
        return f"{self.task}-{data}{self.pair}-{name}-{self.shots}shot-{self.selector}{aug}-{self.mode}-s{self.seed}-{digest}"


def spec_to_json(spec: RunSpec) -> dict[str, Any]:
    """spec.json content (model args decoded for readability)."""
    body = spec.to_json()
    body["model"] = {"name": spec.model.name, "engine": spec.model.engine, "args": spec.model.args}
    body["run_id"] = spec.run_id
    return body


def spec_from_json(body: Mapping[str, Any]) -> RunSpec:
    """Inverse of `spec_to_json` (extra keys written beside the spec, such as `labels`, are ignored)."""
    known = set(RunSpec.__dataclass_fields__)
    data = {k: v for k, v in body.items() if k in known}
    model = data.pop("model")
    data["fixed_ids"] = tuple(data.get("fixed_ids", ()))
    data["pool"] = Pool(data["pool"])
    data["morph"] = data.get("morph", "off") in ("on", True)
    return RunSpec(model=ModelSpec(model["name"], model["engine"], json.dumps(model["args"], sort_keys=True)), **data)
