"""Tasks as objects: what data a task reads, what its templates see, how its outputs become
predictions, and how they are scored and compared.

Adding a task is one module here (a class satisfying `Task`) plus its templates under
`prompts/<task>/`; every other step asks the task object instead of testing the task's name.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Protocol

from icl.analysis.metrics import PairedResult, Score
from icl.data import Example, LabelSet
from icl.errors import ConfigError
from icl.tasks.intent import IntentTask
from icl.tasks.mt import MtTask


class Task(Protocol):
    """One task. Attributes are the defaults a sweep section falls back on."""

    name: str
    """Registry key, sweep section and `prompts/<name>/` folder."""
    dataset: str
    """Declared data set scored when the sweep names none."""
    template: str
    """Template name when the sweep names none."""
    pool: str
    """Demonstration pool spelling when the sweep names none."""
    max_tokens: int
    """Generation limit when the sweep sets none."""
    section_keys: frozenset[str]
    """Sweep keys this task adds to the common ones (mt: directions; intent: modes)."""
    labelled: bool
    """Predictions are labels from the data set's inventory (LabelSet), so outputs can be unparseable."""
    answer_fields: tuple[str, ...]
    """The arguments icl passes to a template's `answer` macro (in rank mode)."""
    main_metric: str
    """The metric plots and summaries lead with."""
    gain_metrics: tuple[str, ...]
    """Metrics compared with a paired bootstrap in gains."""
    postprocess_note: str
    """How an output becomes a prediction, written into every metrics.json."""

    def runs(self, section: Mapping[str, Any], languages: Sequence[str], path: Path) -> list[tuple[str, str, str]]:
        """(src, tgt, mode) of every run the section asks for each language code."""
        ...

    def context(self, query: Example, demos: Sequence[Example], hints: Sequence[Mapping[str, Any]],
                labels: LabelSet | None) -> dict[str, Any]:
        """The variables a template of this task sees; `icl prompts lint` checks templates against it."""
        ...

    def answer_args(self, labels: LabelSet | None) -> list[dict[str, str]]:
        """Rank mode: one `answer` macro call's arguments per candidate (keys: answer_fields)."""
        ...

    def predict(self, output: str, labels: LabelSet | None) -> str | None:
        """The post-processed prediction of one raw output (None: unparseable)."""
        ...

    def score(self, predictions: Sequence[str | None], references: Sequence[str]) -> dict[str, Score]:
        """Every metric of the task over one run."""
        ...

    def compare(self, baseline: Sequence[str | None], system: Sequence[str | None], references: Sequence[str],
                resamples: int, seed: int) -> list[PairedResult]:
        """Paired bootstrap of system over baseline on the same items, one result per gain metric."""
        ...


TASKS: dict[str, Task] = {"mt": MtTask(), "intent": IntentTask()}
"""Task name -> task."""


def get_task(name: str, key: str = "task") -> Task:
    """A task by name; ConfigError naming the known ones."""
    if name not in TASKS:
        raise ConfigError(f"{key}: unknown task {name!r} (known: {', '.join(TASKS)})")
    return TASKS[name]
