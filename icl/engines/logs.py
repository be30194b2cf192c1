"""Engine output goes to a log file through the backends' own switches, so icl's progress stays readable.

What vLLM and transformers print comes from their loggers, Python warnings, progress bars and torch's
C++ warnings. Each has a switch of its own, and the engines use those instead of redirecting the
process's file descriptors or streams (which also caught other threads, child processes and test
runners' captures):
- `quiet_backends()`, called before a backend is imported, turns off vLLM's console handler
  (`VLLM_CONFIGURE_LOGGING=0`) and torch's C++ warnings (`TORCH_CPP_LOG_LEVEL=ERROR`), where the user
  has not set them;
- `EngineLog` gives the backend's loggers (`vllm`, `transformers`, ...) a handler on the log file for
  as long as the engine lives, and puts their own handlers back when it closes;
- progress bars are switched off where they are made (vLLM's `use_tqdm`, `use_tqdm_on_load`;
  transformers' `disable_progress_bar` while a model loads);
- Python warnings raised inside an engine call are recorded into the log (`warnings.catch_warnings`).
With `verbose=True` (`icl run --verbose`) none of this happens and the backends print as they like.
A failing call raises `EngineError`: one line ending with the log's path and its last lines; the
traceback is in the log.

Logs live in `cache_dir()/logs/<engine>-<date>-<time>-<pid>.log` (the newest KEEP_LOGS are kept):
engines are started for a model, not for one sweep, and a log is a diagnostic of this machine, not a
result to compare or ship; `ICL_CACHE_DIR` keeps tests' logs apart.
"""

from __future__ import annotations

import logging
import os
import re
import time
import traceback
import warnings
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from icl.engines import Cancelled
from icl.errors import EngineError, IclError

KEEP_LOGS = 20
"""Engine logs kept in cache_dir()/logs; older ones are deleted when a new engine starts."""

TAIL_LINES = 3
"""Lines of the log quoted in an engine error."""

_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")

QUIET_ENV = {"VLLM_CONFIGURE_LOGGING": "0", "TORCH_CPP_LOG_LEVEL": "ERROR"}
"""The backends' own switches for output they would print before icl could hand them a logger."""


def quiet_backends(verbose: bool) -> None:
    """Set the backends' quiet switches (unless verbose, or the user set them): they are read when
    vLLM and torch are imported, so an engine calls this first."""
    if not verbose:
        for name, value in QUIET_ENV.items():
            os.environ.setdefault(name, value)


@contextmanager
def no_progress_bars(verbose: bool) -> Iterator[None]:
    """transformers' own switch for its loading bars, put back as it was."""
    from transformers.utils import logging as hf_logging

    was = hf_logging.is_progress_bar_enabled()
    if not verbose:
        hf_logging.disable_progress_bar()
    try:
        yield
    finally:
        if was and not verbose:
            hf_logging.enable_progress_bar()


def logs_dir() -> Path:
    from icl.config import cache_dir

    path = cache_dir() / "logs"
    path.mkdir(parents=True, exist_ok=True)
    return path


def _prune(folder: Path) -> None:
    logs = sorted(folder.glob("*.log"), key=lambda p: (p.stat().st_mtime_ns, p.name))
    for old in logs[: max(0, len(logs) - KEEP_LOGS + 1)]:
        try:
            old.unlink()
        except OSError:
            pass


def tail(path: Path, lines: int = TAIL_LINES, width: int = 200) -> list[str]:
    """The last non-blank lines of a log (a progress bar's last redraw only, colours removed, each line cut
    to `width` characters)."""
    try:
        with path.open("rb") as f:
            f.seek(0, os.SEEK_END)
            f.seek(max(0, f.tell() - 65536))
            text = f.read().decode("utf-8", errors="replace")
    except OSError:
        return []
    # A progress bar redraws itself after carriage returns: keep what a terminal would show last.
    rows = [_ANSI.sub("", next((p for p in reversed(line.split("\r")) if p.strip()), "")).strip()
            for line in text.split("\n")]
    rows = [r if len(r) <= width else r[: width - 3] + "..." for r in rows if r]
    return rows[-lines:]


class EngineLog:
    """One engine's log file, the backend loggers pointed at it, and the error around each call."""

    def __init__(self, engine: str, verbose: bool = False, loggers: Sequence[str] = ()) -> None:
        self.engine = engine
        self.verbose = verbose
        self.path: Path | None = None
        self.handler: logging.Handler | None = None
        self._saved: list[tuple[logging.Logger, list[logging.Handler], bool, int]] = []
        if not verbose:
            folder = logs_dir()
            _prune(folder)
            self.path = folder / f"{engine}-{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}.log"
            self.handler = logging.FileHandler(self.path, encoding="utf-8", errors="replace")
            self.handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
            self.attach(*loggers)

    def attach(self, *names: str) -> None:
        """Send these loggers (and their children) to the log only, until `close` (INFO and up, except
        torch's: its children `torch._dynamo`, `torch._inductor`... keep console handlers of their own
        and inherit the level, so INFO there would print every compilation step)."""
        if self.handler is None:
            return
        for name in names:
            logger = logging.getLogger(name)
            self._saved.append((logger, list(logger.handlers), logger.propagate, logger.level))
            logger.handlers = [self.handler]
            logger.propagate = False
            if name != "torch" and (logger.level == logging.NOTSET or logger.level > logging.INFO):
                logger.setLevel(logging.INFO)

    def write(self, text: str) -> None:
        """Append a line of icl's own to the log."""
        if self.handler is not None:
            self.handler.emit(logging.makeLogRecord({"name": "icl", "levelno": logging.INFO, "levelname": "INFO",
                                                     "msg": text}))

    @contextmanager
    def capture(self, what: str) -> Iterator[None]:
        """Run one engine call with its warnings in the log; a failure becomes a one-line EngineError."""
        if self.handler is None:
            try:
                yield
            except Cancelled:  # not a failure: the caller asked for it
                raise
            except Exception as exc:  # re-raised as EngineError, cause kept
                raise self._error(what, exc, "engine output above") from exc
            return
        failure: Exception | None = None
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("default")
            try:
                yield
            except Cancelled:
                raise
            except Exception as exc:  # noqa: BLE001 - re-raised as EngineError below, once warnings are logged
                failure = exc
        for warning in caught:
            self.write(f"{warning.category.__name__}: {warning.message} ({warning.filename}:{warning.lineno})")
        if failure is not None:
            assert self.path is not None
            self.handler.flush()
            last = tail(self.path)  # the backend's last words, before the traceback goes in
            self.write(f"{what} failed:\n{''.join(traceback.format_exception(failure))}")
            where = f"last lines of {self.path}: {' | '.join(last)}" if last else f"log {self.path} is empty"
            raise self._error(what, failure, where) from failure

    def _error(self, what: str, exc: Exception, where: str) -> EngineError:
        text = str(exc) if isinstance(exc, IclError) else f"engine {self.engine}: {what} failed: " \
                                                           f"{type(exc).__name__}: {exc}"
        return EngineError(f"{' '.join(text.split())} ({where})")

    def close(self) -> None:
        """Give the loggers their own handlers back and close the file."""
        for logger, handlers, propagate, level in reversed(self._saved):
            logger.handlers = handlers
            logger.propagate = propagate
            logger.setLevel(level)
        self._saved = []
        if self.handler is not None:
            self.handler.close()
            self.handler = None
