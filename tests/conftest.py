"""Shared fixtures. Tests read the real data in ../shared/data (or $ICL_DATA_DIR)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(autouse=True)
def _isolated_outputs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every test writes results and completion caches into its own folder, never into the repo."""
    monkeypatch.setenv("ICL_RESULTS_DIR", str(tmp_path / "results"))
    monkeypatch.setenv("ICL_CACHE_DIR", str(tmp_path / "cache"))


@pytest.fixture(scope="session", autouse=True)
def _shared_derived_data(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """One folder of derived data (icl.derived: parsed splits, leak exclusions, BM25 rankings) for the whole
    session: its keys hash the content they were computed from, so sharing it changes no result, while each
    test still gets its own completion cache. tests/test_derived.py checks the cache itself in its own folder."""
    before = os.environ.get("ICL_DERIVED_DIR")
    os.environ["ICL_DERIVED_DIR"] = str(tmp_path_factory.mktemp("derived"))
    yield
    if before is None:
        del os.environ["ICL_DERIVED_DIR"]
    else:
        os.environ["ICL_DERIVED_DIR"] = before


@pytest.fixture(scope="session")
def model_dir() -> Path:
    """The prepared embedded model (the README set-up prepares it; tests never download)."""
    from icl.engines.models import default_model_dir, is_prepared

    path = default_model_dir()
    if not is_prepared(path):
        pytest.fail(f"{path} is not prepared: run `icl models prepare` (scripts/setup.sh does)")
    return path


def engine_env() -> dict[str, str]:
    """Environment for subprocesses that run vLLM on this CPU (single process, small KV cache)."""
    env = dict(os.environ)
    env.update({"VLLM_ENABLE_V1_MULTIPROCESSING": "0", "VLLM_CPU_KVCACHE_SPACE": "1", "OMP_NUM_THREADS": "2",
                "PYTHONUNBUFFERED": "1"})
    return env


NEEDS_MODEL = ("model", "vllm", "server")
"""The markers of tests that need the embedded model; `-m "not model and not vllm and not server"` is
the loop that needs none."""


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """A test that asks for the prepared model (the `model_dir` fixture) is a model test, whether or
    not it carries the marker, so the fast loop never loads the model by accident."""
    for item in items:
        fixtures = getattr(item, "fixturenames", ())
        if "model_dir" in fixtures and not any(item.get_closest_marker(m) for m in NEEDS_MODEL):
            item.add_marker(pytest.mark.model)
