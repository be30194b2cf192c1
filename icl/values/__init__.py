"""The values every step passes around and none of them owns: `Example` (one labelled item), `LabelSet` (a
label inventory) and `Prompt` (what a template renders and an engine receives). They import nothing of
icl, so every step can use them without depending on another step."""

from icl.values.example import Example, LabelSet
from icl.values.prompt import Prompt

__all__ = ["Example", "LabelSet", "Prompt"]
