"""icl: a workbench for multilingual in-context learning with lexicon augmentation."""

__version__ = "0.1.0"
