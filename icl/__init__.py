"""icl: a workbench for multilingual in-context learning with lexicon augmentation.

From a notebook (docs/api.md):

    import icl
    results = icl.run("experiments/quickstart.yaml")   # or icl.load("results/quickstart")
    results.runs, results.items, results.gains          # pandas DataFrames

`import icl` imports nothing else: `run` is the icl.run package (callable), `load` and `Results` come from
icl.analysis.frames, each imported on first use.
"""

from typing import Any

__version__ = "0.1.0"
__all__ = ["Results", "__version__", "load", "run"]


def __getattr__(name: str) -> Any:
    if name == "run":
        import icl.run

        return icl.run
    if name in ("load", "Results"):
        from icl.analysis import frames

        return getattr(frames, name)
    raise AttributeError(f"module 'icl' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
