"""`Demo`: a demonstration as templates see it, with the names of its own languages.

A pool in another language (`dev:fra` on an English->Wolof run, `train:en-US` for Swahili intent)
gives demos in that language; a template that labels each pair with the query's language names
(`English: ...`) would tell the model something false. Templates label demos with `d.src_name` and
`d.tgt_name` instead, which for a pool in the run's own languages are the query's names, so their
prompts are unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING

from icl.languages import get_language

if TYPE_CHECKING:
    from icl.values.example import Example


@dataclass(frozen=True)
class Demo:
    """One demonstration's fields and its languages, as a template reads them (`d.source`, `d.src_name`)."""

    id: str
    source: str
    target: str
    """The reference translation, or the label."""
    scenario: str | None
    """The label's group where the data set has one."""
    src_name: str
    """English name of the language `source` is in (`French` for a `dev:fra` pool)."""
    tgt_name: str
    """English name of the language `target` is in (for classification, `src_name` again)."""
    src_code: str
    tgt_code: str


@cache
def _names(code: str) -> tuple[str, str]:
    language = get_language(code)
    return language.name, language.code


def as_demo(example: Example) -> Demo:
    """The template's view of one demonstration."""
    src_name, src_code = _names(example.src_lang)
    tgt_name, tgt_code = _names(example.tgt_lang)
    return Demo(example.id, example.source, example.target, example.scenario, src_name, tgt_name, src_code, tgt_code)
