"""The authoring session: one engine kept warm, and all of the page's model and cache work done in one
worker thread.

One thread because neither an engine nor an SQLite connection may be used from two threads at once
(vLLM's offline engine is one process-wide object; `sqlite3` connections belong to their thread), and
because the page has one author: requests queue and run in order. The engine starts when the session
does, in that thread, so the page is up at once and the first edit waits only for what is left of the
start. Nothing here catches anything but IclError, and that only to show it on the page.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, TypeVar

from icl.author.preview import ItemView, Preview, Update, compare, view
from icl.author.settings import Setting, run_spec, sweep_yaml
from icl.config import cache_dir
from icl.data import Registry, builtin_registry
from icl.data.files import read_text
from icl.engines import Cancelled, Engine, EngineSpec, GenParams, make_engine
from icl.engines.vllm_engine import NGRAM_SPECULATION
from icl.errors import IclError, TemplateError
from icl.metrics import PairedResult
from icl.prompts.lint import lint_source
from icl.prompts.render import template_from_source
from icl.prompts.versions import Version, save_version, split_version, version_text, versions
from icl.run.answer import Answerer, LazyEngine
from icl.run.cache import CompletionCache
from icl.spec import ModelSpec, RunSpec
from icl.values.prompt import Prompt

T = TypeVar("T")


@dataclass(frozen=True)
class Side:
    """What one column of the page asks for: a setting, the editor's text, and the template file the
    text was loaded from ('' for one not loaded from disk)."""

    setting: Setting
    source: str
    original: str = ""


@dataclass(frozen=True)
class Saved:
    """A template written to disk and the sweep that re-runs what the page showed."""

    path: Path
    sweep_yaml: str
    note: str = ""
    """What the YAML leaves out, and why (the other column's unsaved template)."""
    version: int = 0
    """The version this text is (`<name>@<version>` in a sweep; icl.prompts.versions)."""


@dataclass(frozen=True)
class VersionDiff:
    """Two saved versions of one template on the same items: their texts, both views, the items whose
    prediction changed, and the paired difference of `new` from `old` as `icl compare` computes it."""

    task: str
    name: str
    old: int
    new: int
    texts: tuple[str, str]
    old_view: Preview
    new_view: Preview
    changed: tuple[tuple[ItemView, ItemView], ...]
    """(old, new) views of each item whose prediction differs, in page order."""
    paired: tuple[PairedResult, ...]


def page_engine_args(model: ModelSpec) -> dict[str, Any]:
    """The model's engine arguments, plus prompt-lookup speculation for vLLM unless the author set
    `speculative_config` (null turns it off). A page waits on its slowest item; speculation cuts that
    wait by 7-40% here and changes no output, so the page's outputs still share the cache with a
    sweep's (icl.engines.vllm_engine.NGRAM_SPECULATION)."""
    args = model.args
    if model.engine == "vllm" and "speculative_config" not in args:
        args["speculative_config"] = dict(NGRAM_SPECULATION)
    return args


class AuthorSession:
    """One model for the page's lifetime, warm from the start."""

    def __init__(self, model: ModelSpec, engine_factory: Callable[[ModelSpec], Engine] | None = None,
                 verbose: bool = False, cache_path: Path | None = None, registry: Registry | None = None) -> None:
        self.model = model
        self.registry = registry or builtin_registry()
        self._factory = engine_factory
        self._verbose = verbose
        self._cache_path = cache_path
        self._worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="icl-author")
        self._engine: Engine | None = None
        self._answerer: Answerer | None = None
        self._lazy = LazyEngine(model, factory=lambda _model: self._engine_now())
        """The warm engine as every view reaches it: one LazyEngine for the session, so the engine's
        start is recorded once in the cache's throughput history (which `icl plan` reads), as a sweep
        records it."""
        self.engine_state = "not started"
        """`not started`, `starting`, `ready`, or `failed: <message>` (shown on the page)."""

    # --- in the worker thread -------------------------------------------------------------------
    def _engine_now(self) -> Engine:
        if self._engine is None:
            self.engine_state = "starting"
            try:
                self._engine = (self._factory(self.model) if self._factory is not None else
                                make_engine(EngineSpec(self.model.engine, self.model.name,
                                                       page_engine_args(self.model), self._verbose)))
            except IclError as exc:
                self.engine_state = f"failed: {exc}"
                raise
            self.engine_state = "ready"
        return self._engine

    def _answers(self) -> Answerer:
        """The session's answerer (the runner's service): the warm engine and the completion cache."""
        if self._answerer is None:  # the SQLite connection is made (and used) in the worker thread only
            cache = CompletionCache(self._cache_path or cache_dir() / "completions.sqlite")
            self._answerer = Answerer(cache, self._lazy)
        return self._answerer

    def _warm(self) -> None:
        try:
            engine = self._lazy.get()  # through the LazyEngine, as a view would
            # One tiny generation, not cached: an engine's first call is its slowest (vLLM on CPU warms
            # its kernels), and it should not land on the author's first edit.
            engine.generate([Prompt(text="Hello.")], GenParams(max_tokens=4, stop=("\n",)))
        except IclError:
            pass  # recorded in engine_state, shown on the page; the next view that needs the model tries again

    def _view(self, side: Side) -> Preview:
        return view(self.spec(side.setting), side.source, self.registry, self._answers())

    def _stream(self, side: Side, on_update: Callable[[Update], None], cancel: threading.Event) -> Preview:
        if cancel.is_set():  # a newer edit came while this one waited its turn
            raise Cancelled("a newer edit came first")
        return view(self.spec(side.setting), side.source, self.registry, self._answers(), on_update, cancel)

    def _diff(self, setting: Setting, old: int, new: int) -> VersionDiff:
        name = split_version(setting.template)[0]
        views = []
        for number in (old, new):
            text = version_text(setting.task, name, number)
            views.append(self._view(Side(replace(setting, template=f"{name}@{number}"), text)))
        paired = compare(views[0], views[1])
        rows_new = {v.id: v for v in views[1].items}
        changed = tuple((v, rows_new[v.id]) for v in views[0].items
                        if v.id in rows_new and v.prediction != rows_new[v.id].prediction)
        texts = (version_text(setting.task, name, old), version_text(setting.task, name, new))
        return VersionDiff(setting.task, name, old, new, texts, views[0], views[1], changed, tuple(paired))

    def _close(self) -> None:
        if self._engine is not None and self._factory is None:  # a supplied engine belongs to its owner
            self._engine.close()
        self._engine = None
        if self._answerer is not None:
            self._answerer.cache.close()
            self._answerer = None

    # --- from any thread --------------------------------------------------------------------------
    def submit(self, fn: Callable[..., T], *args: Any) -> Future[T]:
        """Run `fn(*args)` in the worker thread, after everything submitted before it."""
        return self._worker.submit(fn, *args)

    def start(self) -> Future[None]:
        """Start the engine in the worker thread now, so it is warm by the first edit."""
        return self.submit(self._warm)

    def spec(self, setting: Setting) -> RunSpec:
        return run_spec(setting, self.model, self.registry)

    def preview(self, side: Side) -> Future[Preview]:
        return self.submit(self._view, side)

    def stream(self, side: Side, on_update: Callable[[Update], None], cancel: threading.Event) -> Future[Preview]:
        """`preview`, telling `on_update` (in the worker thread) of every prompt at once and of each
        answer as it arrives; once `cancel` is set, the engine drops what it still had of this view and
        the future raises Cancelled (the page's newer edit goes next)."""
        return self.submit(self._stream, side, on_update, cancel)

    def diff(self, setting: Setting, old: int, new: int) -> Future[VersionDiff]:
        """Two saved versions of `setting.template` on the setting's items (answers through the cache)."""
        return self.submit(self._diff, setting, old, new)

    def paired(self, a: Preview, b: Preview) -> Future[list[PairedResult]]:
        """B over A on their shared items, as `icl compare` pairs two runs (in the worker: a bootstrap
        takes a moment and the page's server should not wait on it)."""
        return self.submit(compare, a, b)

    def close(self) -> None:
        self.submit(self._close).result()
        self._worker.shutdown()

    # --- no model needed ----------------------------------------------------------------------------
    def template_source(self, task: str, name: str) -> tuple[str, float]:
        """A saved template's text and modification time (the page follows edits made on disk)."""
        path = template_from_source(f"{task}/{name}", "").path
        if not path.is_file():
            raise TemplateError(f"{path}: template not found")
        return read_text(path), path.stat().st_mtime

    def lint(self, task: str, name: str, source: str) -> list[str]:
        return lint_source(f"{task}/{name}", source)

    def versions(self, task: str, name: str) -> list[Version]:
        return versions(task, split_version(name)[0])

    def save(self, columns: Sequence[Side], index: int = 0) -> Saved:
        """Write column `index`'s text to prompts/<task>/<name>.j2, keeping what it replaces as a version
        (icl.prompts.versions), and return the sweep that re-runs the page (the columns in page order,
        so B is compared against A as on the page).

        Refused: a template with lint problems (it would fail `icl prompts lint`), and a name that is
        another existing file than the one the text was loaded from (no silent overwrite). Other
        columns join the sweep when their template is saved as shown, so their cache entries match."""
        side = columns[index]
        setting = side.setting
        name = f"{setting.task}/{setting.template}"
        if split_version(setting.template)[1] is not None:
            raise TemplateError(f"template {name!r}: not saved: a version is kept as it was (save under the "
                                "template's own name to make a new version)")
        path = template_from_source(name, side.source).path  # checks the name and that the text parses
        problems = lint_source(name, side.source)
        if problems:
            raise TemplateError(f"not saved: {problems[0]}")
        if path.is_file() and setting.template != side.original and read_text(path) != side.source:
            raise TemplateError(f"{path}: not saved: another template has this name (load it to edit it, "
                                "or choose a new name)")
        text = side.source if side.source.endswith("\n") else side.source + "\n"
        version = save_version(setting.task, setting.template, text)
        sides, left_out = [], []
        for other in columns:
            other_path = template_from_source(f"{other.setting.task}/{other.setting.template}", other.source).path
            shown = other_path.is_file() and read_text(other_path).rstrip("\n") == other.source.rstrip("\n")
            if other is side or (shown and other.setting.task == setting.task):
                sides.append(other)
            else:
                left_out.append(other.setting.template)
        specs = [self.spec(s.setting) for s in sides]
        text = sweep_yaml(f"author-{setting.task}-{setting.template}", self.model, specs, [s.setting for s in sides])
        note = (f"the other column ({', '.join(left_out)}) is not in this sweep: its template is not saved as shown"
                if left_out else "")
        return Saved(path, text, note, version.version)
