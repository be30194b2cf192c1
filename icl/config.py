"""Where icl finds its data, models, cache, templates and lexicon catalogue.

Data is never copied into the project: it is read where it lies. `ICL_DATA_DIR` points at it; the
default is `../shared/data` beside the checkout (the layout this project is developed and tested in),
so a fresh clone works with no setting at all. Templates (`prompts/`) and the lexicon catalogue
(`lexicons/`) are package data (`icl._prompts`, `icl._lexicons`): found the same way in a checkout,
an editable install and a wheel.
"""

from __future__ import annotations

import os
from importlib.resources import files
from pathlib import Path

from icl.errors import DataError

PACKAGE_ROOT = Path(__file__).resolve().parent.parent
"""The folder holding the `icl` package: the checkout itself in a source or editable install."""


def _checkout() -> Path | None:
    """The source checkout icl runs from, or None for a wheel install (site-packages has no pyproject)."""
    return PACKAGE_ROOT if (PACKAGE_ROOT / "pyproject.toml").is_file() else None


def _beside(*parts: str) -> Path:
    """A path relative to the checkout, or to the working directory for a wheel install."""
    return (_checkout() or Path.cwd()).joinpath(*parts)


def data_dir() -> Path:
    """The real data folder: `$ICL_DATA_DIR`, else `../shared/data` beside the checkout."""
    env = os.environ.get("ICL_DATA_DIR")
    path = Path(env).expanduser() if env else _beside("..", "shared", "data").resolve()
    if not path.is_dir():
        where = "ICL_DATA_DIR" if env else "default data folder (set ICL_DATA_DIR)"
        raise DataError(f"{path}: data folder not found ({where})")
    return path


def cache_dir() -> Path:
    """Completion caches, embeddings, synthetic sets: `$ICL_CACHE_DIR`, else `~/.cache/icl`."""
    env = os.environ.get("ICL_CACHE_DIR")
    path = Path(env).expanduser() if env else Path.home() / ".cache" / "icl"
    path.mkdir(parents=True, exist_ok=True)
    return path


def derived_dir() -> Path:
    """Derived data kept between processes (icl.derived): `$ICL_DERIVED_DIR`, else `derived/` in the cache
    folder. Keyed on content, so it may be shared where completion caches are not (the test suite shares one
    per session while each test keeps its own completion cache)."""
    env = os.environ.get("ICL_DERIVED_DIR")
    return Path(env).expanduser() if env else cache_dir() / "derived"


def models_dir() -> Path:
    """Converted models: `$ICL_MODELS_DIR`, else `~/.cache/icl/models` (kept apart from the completion
    cache so that a throw-away cache never forces a model conversion)."""
    env = os.environ.get("ICL_MODELS_DIR")
    path = Path(env).expanduser() if env else Path.home() / ".cache" / "icl" / "models"
    path.mkdir(parents=True, exist_ok=True)
    return path


def prompts_dir() -> Path:
    """Prompt templates: `$ICL_PROMPTS_DIR`, else the shipped `prompts/` (package `icl._prompts`)."""
    env = os.environ.get("ICL_PROMPTS_DIR")
    return Path(env).expanduser() if env else Path(str(files("icl._prompts")))


def catalogue_path() -> Path:
    """The lexicon catalogue: `$ICL_CATALOGUE`, else the shipped `lexicons/catalogue.yaml`."""
    env = os.environ.get("ICL_CATALOGUE")
    return Path(env).expanduser() if env else Path(str(files("icl._lexicons"))) / "catalogue.yaml"


def results_dir() -> Path:
    """Where sweeps write: `$ICL_RESULTS_DIR`, else `results/` in the checkout (or working directory)."""
    env = os.environ.get("ICL_RESULTS_DIR")
    return Path(env).expanduser() if env else _beside("results")
