"""What a task is: the `Task` protocol and the small values a task is made of (`Mode`, `Axis`,
`SyntheticRecipe`). Every difference between tasks lives in a task object, so that the other steps
ask the task instead of testing its name; this module imports nothing else of icl but metrics."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from icl.metrics import Interval, PairedResult, Score

if TYPE_CHECKING:
    from icl.values.example import Example, LabelSet


@dataclass(frozen=True)
class Mode:
    """How a run asks the model for a prediction."""

    name: str
    """Sweep spelling (`modes: [...]`) and RunSpec.mode."""
    ranks: bool
    """True: score every label's answer continuation and predict the best (`Task.pick`); False:
    generate and parse the output (`Task.predict`)."""
    note: str
    """How an output (or the label scores) becomes a prediction, written into every metrics.json."""


@dataclass(frozen=True)
class Axis:
    """A sweep key a task adds to the common ones (MT `directions`, intent `modes`)."""

    key: str
    values: tuple[str, ...]
    """Every allowed value."""
    default: tuple[str, ...]
    """The values when the sweep names none."""


@dataclass(frozen=True)
class SyntheticRecipe:
    """Where a task's synthetic demonstrations come from (Wang, Ruder & Neubig 2022): labelled English
    data that a lexicon translates word by word, labels kept."""

    dataset: str
    """Shipped data set holding the English originals."""
    split: str
    """Its split."""
    language: str
    """The originals' language code in that data set (`eng`, `en-US`)."""
    corpus: str
    """The originals as written in provenance."""
    origin: str
    """The corpus part of each synthetic example's `origin`."""
    prefix: str
    """Id prefix of synthetic examples (`synth-ntrex:<i>` is aligned with `ntrex:<i>`)."""
    replaces: str
    """`target`: (English, pseudo-X) pairs; `source`: pseudo-X text with the English label."""


class Task(Protocol):
    """One task. Attributes are the defaults a sweep section falls back on and what data sets of the
    task hold; methods turn items into template variables and outputs into predictions and scores."""

    name: str
    """Registry key, sweep section and `prompts/<name>/` folder."""
    dataset: str
    """Declared data set scored when the sweep names none. Run ids leave it out, so it must not change."""
    template: str
    """Template name when the sweep names none."""
    pool: str
    """Demonstration pool spelling when the sweep names none."""
    max_tokens: int
    """Generation limit when the sweep sets none."""
    axes: tuple[Axis, ...]
    """Sweep keys this task adds to the common ones."""
    parallel: bool
    """Items are sentence pairs in two languages (MT); else labelled text in one language."""
    roles: Mapping[str, str | None]
    """Column role of a declared data set -> default column name (None: optional, absent unless declared)."""
    conll_columns: Mapping[str, str]
    """CoNLL comment keys read for each role unless a declaration's `columns` says otherwise."""
    labelled: bool
    """Predictions are labels from the data set's inventory (LabelSet), so outputs can be unparseable."""
    modes: Mapping[str, Mode]
    """The ways a run can ask for a prediction; the first is the default."""
    answer_fields: tuple[str, ...]
    """The arguments icl passes to a template's `answer` macro (in rank mode)."""
    main_metric: str
    """The metric plots and summaries lead with."""
    gain_metrics: tuple[str, ...]
    """Metrics compared with a paired bootstrap in gains."""
    synthetic: SyntheticRecipe
    """Where synthetic demonstrations come from (augment: synthetic)."""
    selflabel: str
    """How the model labels in-language text itself (a key of icl.augment.selflabel.STRATEGIES)."""

    def runs(self, options: Mapping[str, Sequence[str]], languages: Sequence[str]) -> list[tuple[str, str, str]]:
        """(src, tgt, mode) of every run, given each axis's checked values and the language codes."""
        ...

    def context(self, query: Example, demos: Sequence[Example], hints: Sequence[Mapping[str, Any]],
                labels: LabelSet | None) -> dict[str, Any]:
        """The variables a template of this task sees; `icl prompts lint` checks templates against it."""
        ...

    def answer_args(self, labels: LabelSet | None) -> list[dict[str, str]]:
        """Ranking modes: one `answer` macro call's arguments per candidate (keys: answer_fields)."""
        ...

    def predict(self, output: str, labels: LabelSet | None) -> str | None:
        """The post-processed prediction of one generated output (None: unparseable)."""
        ...

    def pick(self, scores: Sequence[float], labels: LabelSet | None) -> str | None:
        """Ranking modes: the prediction from every candidate's score (aligned with answer_args)."""
        ...

    def score(self, predictions: Sequence[str | None], references: Sequence[str],
              language: str | None = None) -> dict[str, Score]:
        """Every metric of the task over one run; `language` is the run's target language (what MT's
        off-target share identifies outputs against; None where unknown)."""
        ...

    def item_scores(self, predictions: Sequence[str | None], references: Sequence[str]) -> dict[str, list[Any]]:
        """Each item's own score, one list per name, aligned with the items: what a reader sorts or groups
        items by (icl.analysis.frames' item table), not a corpus metric averaged."""
        ...

    def compare(self, baseline: Sequence[str | None], system: Sequence[str | None], references: Sequence[str],
                resamples: int, seed: int, language: str | None = None) -> list[PairedResult]:
        """Paired tests of system over baseline on the same items, one result per gain metric (and MT's
        off-target share, where `language` is given and the identifier knows it)."""
        ...

    def interval(self, predictions: Sequence[str | None], references: Sequence[str], resamples: int,
                 seed: int) -> list[Interval]:
        """One system's scores with bootstrap 95% intervals over its items, one per gain metric (the
        resampling `compare` uses, without a baseline)."""
        ...


def argmax(scores: Sequence[float]) -> int:
    """Index of the best score (the first on ties), as rank mode has always chosen."""
    return max(range(len(scores)), key=scores.__getitem__)
