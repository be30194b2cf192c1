"""Where icl finds its data, models and cache.

Data is never copied into the project: it is read where it lies. `ICL_DATA_DIR` points at it; the
default is `../shared/data` beside the repository (the layout this project is developed and tested in),
so a fresh clone works with no setting at all.
"""

from __future__ import annotations

import os
from pathlib import Path

from icl.errors import DataError

REPO_ROOT = Path(__file__).resolve().parent.parent
"""The checkout this package lives in (the package is installed in editable mode)."""


def data_dir() -> Path:
    """The real data folder: `$ICL_DATA_DIR`, else `<repo>/../shared/data`."""
    env = os.environ.get("ICL_DATA_DIR")
    path = Path(env).expanduser() if env else REPO_ROOT.parent / "shared" / "data"
    if not path.is_dir():
        where = "ICL_DATA_DIR" if env else "default data folder (set ICL_DATA_DIR)"
        raise DataError(f"{path}: data folder not found ({where})")
    return path


def cache_dir() -> Path:
    """Converted models, completion caches: `$ICL_CACHE_DIR`, else `~/.cache/icl`."""
    env = os.environ.get("ICL_CACHE_DIR")
    path = Path(env).expanduser() if env else Path.home() / ".cache" / "icl"
    path.mkdir(parents=True, exist_ok=True)
    return path


def models_dir() -> Path:
    """Converted models: `$ICL_MODELS_DIR`, else `~/.cache/icl/models` (kept apart from the completion
    cache so that a throw-away cache never forces a model conversion)."""
    env = os.environ.get("ICL_MODELS_DIR")
    path = Path(env).expanduser() if env else Path.home() / ".cache" / "icl" / "models"
    path.mkdir(parents=True, exist_ok=True)
    return path


def prompts_dir() -> Path:
    """Prompt templates: `$ICL_PROMPTS_DIR`, else `<repo>/prompts`."""
    env = os.environ.get("ICL_PROMPTS_DIR")
    return Path(env).expanduser() if env else REPO_ROOT / "prompts"


def results_dir() -> Path:
    """Where sweeps write: `$ICL_RESULTS_DIR`, else `<repo>/results`."""
    env = os.environ.get("ICL_RESULTS_DIR")
    return Path(env).expanduser() if env else REPO_ROOT / "results"
