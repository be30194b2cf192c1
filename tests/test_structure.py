"""The package's shape: no import cycles, modules small enough to read, and a wheel that works alone."""

from __future__ import annotations

import ast
import importlib.util
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path
from types import ModuleType

import pytest

REPO = Path(__file__).resolve().parent.parent
PACKAGE = REPO / "icl"
MAX_LINES = 350


def _module_name(path: Path) -> str:
    parts = path.relative_to(REPO).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _modules() -> dict[str, Path]:
    return {_module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def _imports(path: Path, modules: dict[str, Path]) -> set[str]:
    """Every icl module a file imports, at the top, inside a function or under `if TYPE_CHECKING:` (lazy
    and type-only imports count: a two-way dependency hidden in either is still one in the design)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in ast.walk(tree):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            # `from icl import derived` depends on icl.derived, as `from icl.run.x import y` depends on
            # icl.run.x and not on the icl/__init__.py that Python runs first in both cases
            names = [f"{node.module}.{a.name}" if f"{node.module}.{a.name}" in modules else node.module
                     for a in node.names]
        for name in names:
            while name and name not in modules:
                name = name.rpartition(".")[0]
            if name.startswith("icl"):
                found.add(name)
    found.discard(_module_name(path))
    return found


def _cycles(graph: dict[str, set[str]]) -> list[str]:
    """Every cycle a depth-first walk of the graph meets, as `a -> b -> a`."""
    state: dict[str, int] = {}
    stack: list[str] = []
    found: list[str] = []

    def visit(node: str) -> None:
        state[node] = 1
        stack.append(node)
        for dep in sorted(graph.get(node, ())):
            if state.get(dep) == 1:
                found.append(" -> ".join(stack[stack.index(dep):] + [dep]))
            elif dep not in state:
                visit(dep)
        stack.pop()
        state[node] = 2

    for name in sorted(graph):
        if name not in state:
            visit(name)
    return found


def test_no_import_cycles() -> None:
    modules = _modules()
    graph = {name: _imports(path, modules) for name, path in modules.items()}
    # A package's __init__ re-exporting its own submodules is not a dependency between steps.
    graph = {m: {d for d in deps if not d.startswith(m + ".")} for m, deps in graph.items()}
    assert _cycles(graph) == []


def test_every_module_imports_alone_in_a_fresh_interpreter() -> None:
    """Dependency order is whatever each module's own imports say: each one must import by itself."""
    names = sorted(m for m in _modules() if not m.endswith("__main__"))
    code = ("import importlib, sys\nfailed = []\n"
            f"for name in {names!r}:\n"
            "    for m in [m for m in sys.modules if m == 'icl' or m.startswith('icl.')]:\n"
            "        del sys.modules[m]\n"
            "    try:\n        importlib.import_module(name)\n"
            "    except ImportError as exc:\n        failed.append(f'{name}: {exc}')\n"
            "print('\\n'.join(failed))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=REPO)
    assert out.stdout.strip() == ""


def test_modules_are_small_enough_to_read() -> None:
    long = {name: n for name, path in _modules().items()
            if (n := len(path.read_text(encoding="utf-8").splitlines())) > MAX_LINES}
    assert long == {}


def _setup_module() -> ModuleType:
    """setup.py, imported without running setup()."""
    spec = importlib.util.spec_from_file_location("icl_setup", REPO / "setup.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_setup_discovers_every_package_and_data_folder() -> None:
    """Every folder under icl/ (and under the mapped prompts/ and lexicons/) that holds a file is a
    package of the build, under its installed name; caches are not."""
    setup = _setup_module()
    mapped = setup.mapped_folders()
    assert mapped == {"icl._prompts": "prompts", "icl._lexicons": "lexicons"}
    roots = {"icl": PACKAGE, **{name: REPO / folder for name, folder in mapped.items()}}
    expected = {".".join((name, *d.relative_to(root).parts)) for name, root in roots.items()
                for d in (root, *root.rglob("*")) if d.is_dir() and "__pycache__" not in d.parts
                and any(f.is_file() for f in d.iterdir())}
    found = setup.discover()
    assert "icl.resources.datasets" in expected and "icl._prompts.mt" in expected
    assert set(found) == expected
    assert len(found) == len(set(found))


def _shipped_copy(dest: Path) -> Path:
    """The files a build reads, copied out of the checkout, so the build's own build/ and egg-info
    folders (and stale files in them) never touch the repository."""
    skip = shutil.ignore_patterns("__pycache__", "*.egg-info", "build")
    for name in ("icl", "prompts", "lexicons"):
        shutil.copytree(REPO / name, dest / name, ignore=skip)
    for name in ("pyproject.toml", "setup.py", "README.md"):
        shutil.copy2(REPO / name, dest / name)
    return dest


@pytest.fixture(scope="module")
def built_wheel(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """A wheel built from a copy of the checkout with this environment's setuptools, and what the
    build printed."""
    source = _shipped_copy(tmp_path_factory.mktemp("source"))
    wheel_dir = tmp_path_factory.mktemp("wheel")
    done = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w",
                           str(wheel_dir), str(source)], check=True, capture_output=True, text=True)
    return next(wheel_dir.glob("icl-*.whl")), done.stdout + done.stderr


def test_wheel_builds_without_warnings_of_its_own(built_wheel: tuple[Path, str]) -> None:
    """setuptools warns when package data sits in a folder it was not told is a package."""
    _, printed = built_wheel
    assert "BuildBackendWarning" not in printed and "absent from the `packages`" not in printed, printed


def test_wheel_carries_every_module_template_declaration_and_table(built_wheel: tuple[Path, str]) -> None:
    """Every module, prompt template, data set declaration, report template, the authoring page,
    the lexicon catalogue and the resource tables are in the wheel, under their installed names."""
    wheel, _ = built_wheel
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
    kinds = {
        "modules": [p.relative_to(REPO).as_posix() for p in PACKAGE.rglob("*.py")],
        "templates": ["icl/_prompts/" + p.relative_to(REPO / "prompts").as_posix()
                      for p in (REPO / "prompts").rglob("*.j2")],
        "declarations": [p.relative_to(REPO).as_posix() for p in (PACKAGE / "resources" / "datasets").glob("*.yaml")],
        "report templates": [p.relative_to(REPO).as_posix() for p in (PACKAGE / "analysis" / "templates").glob("*.j2")],
        "author page": [p.relative_to(REPO).as_posix() for p in (PACKAGE / "author").glob("*.html")],
        "lexicons": ["icl/_lexicons/" + p.name for p in (REPO / "lexicons").glob("*.yaml")],
        "tables": [p.relative_to(REPO).as_posix() for p in (PACKAGE / "resources").glob("*.tsv")],
    }
    for kind, expected in kinds.items():
        assert expected, f"no {kind} in the checkout"
        assert sorted(set(expected) - names) == [], kind


def test_wheel_installs_and_renders_a_template(built_wheel: tuple[Path, str], tmp_path: Path) -> None:
    """A wheel carries the templates, the lexicon catalogue, the language table and the data set
    declarations: installed into a fresh venv (its dependencies reused from this environment, no
    network), it renders a real prompt from the data folder without the checkout."""
    wheel, _ = built_wheel
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--system-site-packages", str(venv)], check=True)
    # every site-packages folder this interpreter reads (a venv may reuse another's through a .pth)
    site = "\n".join(p for p in sys.path if p.rstrip("/").endswith("site-packages"))
    py = venv / "bin" / "python"
    venv_site = subprocess.run([str(py), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                               capture_output=True, text=True, check=True).stdout.strip()
    Path(venv_site, "reuse-deps.pth").write_text(site + "\n", encoding="utf-8")
    subprocess.run([str(py), "-m", "pip", "install", "--no-deps", "--no-index", "-q", str(wheel)], check=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith("ICL_") and k != "PYTHONPATH"}
    env["ICL_DATA_DIR"] = str(REPO.parent / "shared" / "data") if not os.environ.get("ICL_DATA_DIR") \
        else os.environ["ICL_DATA_DIR"]
    code = ("import icl, sys\n"
            "assert 'site-packages' in icl.__file__, icl.__file__\n"
            "sys.argv = ['icl', 'prompts', 'render', 'mt/plain', '--lang', 'yor', '--shots', '1']\n"
            "from icl.cli import main\nmain()\n")
    done = subprocess.run([str(py), "-c", code], capture_output=True, text=True, env=env, cwd=tmp_path, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("English: ") and "Yoruba:" in done.stdout


def _package(module: str) -> str:
    """The step package a module belongs to (`icl.augment.lexical.hints` -> `icl.augment`); top-level
    modules (`icl.config`, `icl.errors`) are their own."""
    parts = module.split(".")
    return ".".join(parts[:2])


def _private_imports(path: Path, modules: dict[str, Path]) -> list[str]:
    """`from icl.x.y import _name` where icl.x is another package than the importing module's."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    own = _package(_module_name(path))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("icl") and node.level == 0:
            if _package(node.module) == own:
                continue
            found += [f"{_module_name(path)}: from {node.module} import {a.name}" for a in node.names
                      if a.name.startswith("_")]
    return found


def test_no_package_cycles() -> None:
    """Steps depend one way: a package may use a lower one, never one that uses it back (lazy and type-only
    imports count too), so the packages have an order in which every arrow points down."""
    modules = _modules()
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        own = _package(name)
        graph.setdefault(own, set()).update(_package(d) for d in _imports(path, modules) if _package(d) != own)
    assert _cycles(graph) == []


def test_no_private_imports_across_packages() -> None:
    modules = _modules()
    assert [hit for path in modules.values() for hit in _private_imports(path, modules)] == []


def _names_outside_tasks(path: Path) -> list[str]:
    """Places a module outside icl/tasks/ names a task or a mode: a task's name anywhere as a string,
    a mode's name compared with something or used as a mapping key. (Engines' own operations,
    `generate` and `score`, are the Engine protocol's words, not modes, and are left alone.)"""
    from icl.tasks import TASKS

    tasks = set(TASKS)
    modes = {m for task in TASKS.values() for m in task.modes}
    tree = ast.parse(path.read_text(encoding="utf-8"))
    hits = []

    def named(node: ast.AST, names: set[str]) -> bool:
        return isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value in names

    for node in ast.walk(tree):
        if named(node, tasks):
            hits.append(f"{path.relative_to(REPO)}:{node.lineno}: task name {node.value!r}")  # type: ignore[attr-defined]
        elif isinstance(node, ast.Compare) and any(named(n, modes) for n in (node.left, *node.comparators)):
            hits.append(f"{path.relative_to(REPO)}:{node.lineno}: compared with a mode name")
        elif isinstance(node, ast.Dict) and any(k is not None and named(k, modes) for k in node.keys):
            hits.append(f"{path.relative_to(REPO)}:{node.lineno}: a mode name as a key")
    return hits


def test_no_task_or_mode_name_outside_tasks() -> None:
    """A Task owns every difference between tasks: no other module branches on a task's or mode's name."""
    hits = [hit for path in PACKAGE.rglob("*.py") if "tasks" not in path.relative_to(PACKAGE).parts[:1]
            for hit in _names_outside_tasks(path)]
    assert hits == []


def test_the_values_a_run_is_made_of_live_below_every_step() -> None:
    """`Example`, `LabelSet`, `Prompt` (icl.values) import nothing of icl, and `RunSpec`, `Pool`, `ModelSpec`
    (icl.spec) only the languages and tasks: no step is needed to read them."""
    modules = _modules()
    values = {d for name, path in modules.items() if name.startswith("icl.values") for d in _imports(path, modules)}
    assert {_package(d) for d in values} <= {"icl.values"}
    assert {_package(d) for d in _imports(modules["icl.spec"], modules)} <= {"icl.errors", "icl.languages", "icl.tasks"}


def test_no_function_is_longer_than_sixty_lines() -> None:
    """A function a reader can hold in view: the longest are listed with where they are."""
    long = []
    for path in _modules().values():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.end_lineno - node.lineno + 1 > 60:
                long.append(f"{path.relative_to(REPO)}:{node.lineno} {node.name} ({node.end_lineno - node.lineno + 1})")
    assert long == []
