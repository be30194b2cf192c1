"""The run step: for every run of a sweep, its prompts (`items`), answers from the completion cache
(`cache`) or, for what it lacks, an engine (`answer`, the one service that talks to both), and the
results written (`runner`), with the time of each phase (`timings`); `plan` counts the same requests
without a model; `entry` is the one way in, for `icl run` and a notebook.

In a notebook the package itself runs a sweep: `icl.run("experiments/quickstart.yaml")` (or a dict with a
sweep file's keys) is `icl.run.entry.run`, and returns the results as tables (icl.analysis.frames). The
package is callable rather than shadowed by a function of its name, because Python sets `icl.run` to this
package whenever it is first imported: a function there would vanish, or hide the package from
`monkeypatch.setattr("icl.run....")`, depending on what was imported first.
"""

import sys
import types
from typing import Any


class _RunPackage(types.ModuleType):
    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        """`icl.run.entry.run`: run a sweep (a YAML path or a dict) and return its results as tables."""
        from icl.run.entry import run

        return run(*args, **kwargs)


sys.modules[__name__].__class__ = _RunPackage
