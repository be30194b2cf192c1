"""Every command the README and docs/ show works as written.

Each shell command in the ```bash blocks of README.md and docs/*.md is listed below with how the tests run it: as
written here (cheap ones), as written elsewhere (the vLLM server command: tests/test_engines.py starts
exactly it), or, where a run takes minutes to hours, through the same code path on the same file with
the work left out (`icl plan` builds every prompt of the sweep without a model) and the test that runs
that path for real. A README command missing from the list fails the first test, so a new one cannot
go unchecked.
"""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parent.parent

RUN_HERE = "run here, as written"

README_COMMANDS: dict[str, str] = {
    "bash scripts/setup.sh && .venv/bin/icl run experiments/quickstart.yaml":
        "CI's .ci/run runs the set-up; the quickstart is planned here (every prompt built, no problem) and its "
        "engine path runs in tests/test_engines.py",
    ".venv/bin/python -m pytest -q": "CI runs it (.ci/run)",
    ".venv/bin/icl langs --has flores,lexicon --resource low": RUN_HERE,
    ".venv/bin/icl langs --has massive --resource 0,1": RUN_HERE,
    ".venv/bin/icl prompts render mt/plain --lang kin_Latn --shots 1": RUN_HERE,
    ".venv/bin/icl run experiments/lowres_gains.yaml":
        "about an hour and a half: planned here on a slice of its languages (every prompt built, no condition "
        "refused), and each of its conditions runs end to end in tests/test_augment.py and tests/test_selflabel.py",
    ".venv/bin/pip install -e '.[track]'": "installs from PyPI; scripts/setup.sh installs the dev extra, which holds "
                                           "the same packages",
    ".venv/bin/icl run experiments/quickstart.yaml --track mlflow":
        "the quickstart's model run, by hand; tests/test_api.py logs a sweep through the same entry "
        "(icl.run.entry) with a stand-in engine and reads it back with MlflowClient",
    ".venv/bin/icl report results/lowres_gains": "tests/test_report.py writes and opens a report in Chromium",
    ".venv/bin/python benchmarks/bench_sweep.py": "a benchmark of minutes, run by hand (it checks outputs itself)",
    "python3 -m venv benchmarks/.venv-lmeval && echo \"$PWD/.venv/lib/python3.11/site-packages\" > "
    "benchmarks/.venv-lmeval/lib/python3.11/site-packages/icl.pth && benchmarks/.venv-lmeval/bin/pip install "
    "lm-eval": "installs lm-eval from PyPI: by hand, for the benchmarks",
    ".venv/bin/python benchmarks/bench_lm_eval.py": "needs lm-eval installed: by hand",
    ".venv/bin/python benchmarks/bench_rank.py": "needs lm-eval installed, ~20 minutes: by hand (it checks that the "
                                                 "three paths predict the same labels); tests/test_rank_scoring.py "
                                                 "checks the paths' exactness",
    ".venv/bin/python benchmarks/bench_rank.py --shots 4 --lmeval-items 0 --paths tree":
        "a benchmark of minutes, run by hand; tests/test_rank_scoring.py checks the tree pass's exactness "
        "(projection tiles included) against plain forwards",
    ".venv/bin/python benchmarks/bench_cached_rerun.py": "needs the quickstart in the completion cache (a model run of "
                                                        "minutes): by hand; tests/test_derived.py covers the derived "
                                                        "data it relies on",
    ".venv/bin/python benchmarks/bench_author.py": "a benchmark of minutes, run by hand; tests/test_author_page.py "
                                                   "drives the page in Chromium",
    ".venv/bin/python benchmarks/bench_plan.py": "a benchmark of minutes, run by hand (it checks that every run "
                                                 "prints the same plan); tests/test_plan.py and tests/test_derived.py "
                                                 "cover the plan and the derived data it reads",
    ".venv/bin/pip install -e '.[lid-compare]'": "installs the identifiers bench_lid.py compares from PyPI: by hand",
    ".venv/bin/python benchmarks/bench_lid.py --sentences 100": "needs the lid-compare extra, minutes: by hand; "
                                                                "tests/test_offtarget.py checks the identifier icl "
                                                                "uses on FLORES sentences",
    "VLLM_CPU_KVCACHE_SPACE=2 VLLM_ENABLE_V1_MULTIPROCESSING=0 .venv/bin/python -m "
    "vllm.entrypoints.openai.api_server --model ~/.cache/icl/models/gemma-3-270m --served-model-name gemma-3-270m "
    "--host 127.0.0.1 --port 8000 --dtype float32 --enforce-eager --max-model-len 4096 --enable-prefix-caching "
    "--seed 0 --block-size 32 --disable-hybrid-kv-cache-manager":
        "tests/test_engines.py starts exactly this (on a free port) and runs sweeps against it",
}
"""README command -> how the tests run it."""


def readme_commands() -> list[str]:
    """Every command in the bash blocks of the README and docs/, continuation lines joined, comments dropped."""
    text = "\n".join(p.read_text(encoding="utf-8") for p in [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))])
    commands = []
    for block in re.findall(r"```bash\n(.*?)```", text, re.DOTALL):
        for line in re.sub(r"\\\n\s*", "", block).splitlines():
            line = re.sub(r"\s+#.*$", "", line).strip()
            if line and not line.startswith("#"):
                commands.append(" ".join(line.split()))
    return commands


def test_every_readme_command_is_accounted_for() -> None:
    assert sorted(readme_commands()) == sorted(README_COMMANDS)


def _env(tmp_path: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.update({"ICL_RESULTS_DIR": str(tmp_path / "results"), "ICL_CACHE_DIR": str(tmp_path / "cache")})
    return env


@pytest.mark.parametrize("command", [c for c, how in README_COMMANDS.items() if how == RUN_HERE])
def test_a_readme_command_runs_as_written(command: str, tmp_path: Path) -> None:
    done = subprocess.run(["bash", "-c", command], cwd=REPO, env=_env(tmp_path), capture_output=True, text=True,
                          timeout=300, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip()


SLOW_TO_PLAN = {"selectors": "its `similar` runs embed all 11,514 MASSIVE en-US train utterances (minutes on "
                              "two cores); tests/test_similar.py covers the selector"}
"""Shipped experiments not planned here, and why."""

SLICES = {"lowres_gains": {"mt": ["lug", "swa"], "intent": ["sw-KE", "cy-GB"]}}
"""Shipped experiments planned on a slice of their languages, because the whole takes minutes (a
synthetic pool per language): every other key (directions, shots, templates, augment, morph, pools,
limits) stays as shipped, so the same conditions are built, for a language with a UniMorph table
(lug, sw-KE) and one without (swa, cy-GB)."""


def _sweep_to_plan(sweep: str, tmp_path: Path) -> Path:
    """The shipped file, or its slice (SLICES) written beside the test's outputs."""
    path = REPO / "experiments" / f"{sweep}.yaml"
    if sweep not in SLICES:
        return path
    config = yaml.safe_load(path.read_text(encoding="utf-8"))
    for task, languages in SLICES[sweep].items():
        assert set(languages) < set(config[task]["languages"]), f"{sweep}: {task} slice is not a slice"
        config[task]["languages"] = languages
    sliced = tmp_path / f"{sweep}.yaml"
    sliced.write_text(yaml.safe_dump(config, sort_keys=False, allow_unicode=True), encoding="utf-8")
    return sliced


@pytest.mark.parametrize("sweep", [p.stem for p in sorted((REPO / "experiments").glob("*.yaml"))])
def test_shipped_experiments_plan_without_problems(sweep: str, tmp_path: Path) -> None:
    """Property over experiments/: every prompt built as `icl run` would (`icl plan` exits 2 on anything
    `icl run` refuses), so no condition of a shipped sweep is a silent no-op and every run can be
    built; runs with identical prompts are only those the sweep plainly means (collapsed, and said)."""
    if sweep in SLOW_TO_PLAN:
        pytest.skip(SLOW_TO_PLAN[sweep])
    done = subprocess.run([str(REPO / ".venv" / "bin" / "icl"), "plan", str(_sweep_to_plan(sweep, tmp_path))], cwd=REPO,
                          env=_env(tmp_path), capture_output=True, text=True, timeout=900, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "no model loaded" in done.stdout
