"""The items every step passes around: `Example` (one labelled item) and `LabelSet` (a label inventory)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType


@dataclass(frozen=True)
class Example:
    """One labelled item: a sentence pair for MT, an utterance and its label for classification."""

    id: str
    """Unique within its origin, e.g. `flores:12`, `ntrex:99`, `massive:1234`; saved with predictions."""
    source: str
    """The text given to the model (sentence to translate, utterance to classify)."""
    target: str
    """The reference translation, or the label."""
    src_lang: str
    """Language code (icl.languages) of `source`."""
    tgt_lang: str
    """Language code of `target` (for classification, the utterance's language again)."""
    origin: str
    """Which set and split it came from: `flores200-devtest`, `ntrex128`, `massive-train`, `synthetic:...`."""
    scenario: str | None = None
    """The label's group where the data set has one (MASSIVE scenario); None elsewhere."""
    provenance: tuple[tuple[str, str], ...] = ()
    """How a made-up demonstration was made (self-labelled: which model, which prompt); saved with
    the predictions that show it. Empty for data read from files."""


@dataclass(frozen=True)
class LabelSet:
    """A classification data set's label inventory, taken from its own data (every split)."""

    labels: tuple[str, ...]
    """Every label, sorted: the order rank mode scores them in and `label_scores` lists them."""
    groups: Mapping[str, str]
    """label -> its group (MASSIVE scenario); empty when the data set has no group column."""
    test_only: tuple[str, ...] = ()
    """Labels of the test split that no other split has: demonstrations can never show them (real test
    sets have rare labels their small dev sets lack; a typo in a label column looks the same). Recorded
    as a warning with every run, never a refusal."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "groups", MappingProxyType(dict(self.groups)))

    def __hash__(self) -> int:
        return hash((self.labels, tuple(sorted(self.groups.items())), self.test_only))

    def warnings(self) -> list[str]:
        """What a reader of the run's results must know about this inventory."""
        if not self.test_only:
            return []
        shown = ", ".join(self.test_only[:10]) + (" ..." if len(self.test_only) > 10 else "")
        return [(f"{len(self.test_only)} labels occur only in the test split, so no demonstration can show "
                 f"them: {shown}")]

    def by_group(self) -> dict[str, tuple[str, ...]]:
        """group -> its labels, both sorted (what `scenarios` in intent templates is)."""
        out: dict[str, list[str]] = {}
        for label, group in sorted(self.groups.items()):
            out.setdefault(group, []).append(label)
        return {k: tuple(v) for k, v in out.items()}
