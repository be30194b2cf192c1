"""Engine output goes to a log file, so that icl's own progress stays readable.

vLLM writes hundreds of lines while it starts: its own logging (a handler on the `vllm` logger),
transformers and torch warnings, `warnings.warn`, tqdm bars ("Loading safetensors checkpoint shards")
and native prints straight to file descriptors 1 and 2. `EngineLog.capture()` wraps each call into an
engine (start, generate, score, close) and sends all of it to one file per engine:

- file descriptors 1 and 2 point at the log while the call runs (native output, and child processes
  an engine starts inherit the log for their whole life); both are restored in `finally`;
- `sys.stdout` / `sys.stderr` are swapped for streams on the same file (Python writes that never
  reach an fd: pytest's and Typer's captures), and logging handlers that wrote to the terminal are
  pointed at the log, then back;
- icl's own progress bars keep the terminal through `console_stream()`, a stream on a duplicate of
  the terminal's descriptor that the redirection does not touch (the CLI builds its Console on it).

A failing call raises `EngineError` whose one line ends with the log's path and its last lines; the
full traceback is appended to the log. With `ICL_VERBOSE=1` (`icl run --verbose`) nothing is
captured and engine output reaches the terminal as it comes.

Logs live in `cache_dir()/logs/<engine>-<date>-<time>-<pid>.log` (the newest KEEP_LOGS are kept):
engines are started by the runner for a model, not for one sweep's results folder, and a log is a
diagnostic of this machine, not a result to compare or ship; `ICL_CACHE_DIR` keeps tests' logs apart.
"""

from __future__ import annotations

import io
import logging
import os
import re
import sys
import time
import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

from icl.errors import EngineError, IclError

VERBOSE_ENV = "ICL_VERBOSE"
"""Set to 1 to show engine output live instead of capturing it (`icl run --verbose`)."""

KEEP_LOGS = 20
"""Engine logs kept in cache_dir()/logs; older ones are deleted when a new engine starts."""

TAIL_LINES = 3
"""Lines of the log quoted in an engine error."""

_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
_opened: list[Path] = []
_console: tuple[Any, IO[str]] | None = None


def verbose() -> bool:
    """Whether engine output should reach the terminal (ICL_VERBOSE set to anything but 0)."""
    return os.environ.get(VERBOSE_ENV, "") not in ("", "0")


def opened_logs() -> list[Path]:
    """Engine logs this process wrote, oldest first (the CLI names them after a run)."""
    return list(_opened)


def logs_dir() -> Path:
    from icl.config import cache_dir

    path = cache_dir() / "logs"
    path.mkdir(parents=True, exist_ok=True)
    return path


def console_stream() -> IO[str]:
    """A stream for icl's own progress and messages that engine capture leaves on the terminal.

    Where `sys.stderr` is a real descriptor, a line-buffered stream on a duplicate of it (made once per
    `sys.stderr` object); otherwise (Typer's or pytest's capture) `sys.stderr` itself, which the
    descriptor redirection cannot reach anyway."""
    global _console
    err = sys.stderr
    if _console is not None and _console[0] is err and not _console[1].closed:
        return _console[1]
    try:
        fd = err.fileno()
    except (AttributeError, OSError, ValueError, io.UnsupportedOperation):
        return err
    err.flush()
    stream = os.fdopen(os.dup(fd), "w", buffering=1, encoding=getattr(err, "encoding", None) or "utf-8",
                       errors="replace")
    _console = (err, stream)
    return stream


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
    """One engine's log file (none with ICL_VERBOSE) and the capture around each call into it."""

    def __init__(self, engine: str) -> None:
        self.engine = engine
        self.path: Path | None = None
        self._streams: tuple[IO[str], IO[str]] | None = None
        if not verbose():
            folder = logs_dir()
            _prune(folder)
            stamp = time.strftime("%Y%m%d-%H%M%S")
            self.path = folder / f"{engine}-{stamp}-{os.getpid()}.log"
            _opened.append(self.path)

    def _open(self) -> tuple[IO[str], IO[str]]:
        if self._streams is None:
            assert self.path is not None
            # Two streams (stdout's and stderr's stand-ins) so that handlers can be pointed back to the
            # right one; both append, like the descriptors, so lines interleave in order.
            self._streams = tuple(self.path.open("a", encoding="utf-8", errors="replace", buffering=1)
                                  for _ in range(2))  # type: ignore[assignment]
        assert self._streams is not None
        return self._streams

    @contextmanager
    def capture(self, what: str) -> Iterator[None]:
        """Run one engine call with its output in the log; a failure becomes one-line EngineError."""
        if self.path is None:
            try:
                yield
            except Exception as exc:  # re-raised as EngineError, cause kept
                raise self._error(what, exc, "engine output above") from exc
            return
        out, err = self._open()
        redirect = _Redirect(out, err)
        failure: Exception | None = None
        try:
            yield
        except Exception as exc:  # noqa: BLE001 - re-raised as EngineError below, once fds are restored
            failure = exc
        finally:
            redirect.restore()
        if failure is not None:
            last = tail(self.path)
            where = f"last lines of {self.path}: {' | '.join(last)}" if last else f"log {self.path} is empty"
            err.write(f"\n[icl] {what} failed:\n{''.join(traceback.format_exception(failure))}")
            err.flush()
            raise self._error(what, failure, where) from failure

    def _error(self, what: str, exc: Exception, where: str) -> EngineError:
        text = str(exc) if isinstance(exc, IclError) else f"engine {self.engine}: {what} failed: " \
                                                           f"{type(exc).__name__}: {exc}"
        return EngineError(f"{' '.join(text.split())} ({where})")

    def close(self) -> None:
        if self._streams is not None:
            for stream in self._streams:
                stream.close()
            self._streams = None


def _terminal_handlers(streams: dict[int, IO[str]]) -> list[tuple[logging.StreamHandler[Any], Any]]:
    """Stream handlers (not file handlers) writing to one of `streams` (keyed by id). Handlers whose
    stream is a property (logging's last-resort handler follows `sys.stderr` by itself) are left alone."""
    found = []
    loggers = [logging.getLogger(), *(lg for lg in list(logging.Logger.manager.loggerDict.values())
                                     if isinstance(lg, logging.Logger))]
    for logger in loggers:
        for handler in list(logger.handlers):
            if not isinstance(handler, logging.StreamHandler) or isinstance(handler, logging.FileHandler) \
                    or isinstance(getattr(type(handler), "stream", None), property):
                continue
            if id(getattr(handler, "stream", None)) in streams:
                found.append((handler, handler.stream))
    return found


class _Redirect:
    """Send fds 1 and 2, sys.stdout/sys.stderr and terminal logging handlers to the log; `restore` undoes
    exactly that (also when setting up fails half-way)."""

    def __init__(self, out: IO[str], err: IO[str]) -> None:
        self.out, self.err = out, err
        self.old_out, self.old_err = sys.stdout, sys.stderr
        self.saved: dict[int, int] = {}
        self.handlers: list[tuple[logging.StreamHandler[Any], Any]] = []
        for stream in (sys.stdout, sys.stderr, sys.__stdout__, sys.__stderr__):
            _flush(stream)
        try:
            stdout_like = {id(s): s for s in (self.old_out, sys.__stdout__) if s is not None}
            stderr_like = {id(s): s for s in (self.old_err, sys.__stderr__) if s is not None}
            for handler, stream in _terminal_handlers({**stdout_like, **stderr_like}):
                _set_stream(handler, out if id(stream) in stdout_like else err)
                self.handlers.append((handler, stream))
            try:
                for fd in (1, 2):
                    saved = os.dup(fd)
                    self.saved[fd] = saved
                    os.dup2(out.fileno(), fd)
            except OSError:  # no such descriptor (a daemon): Python-level capture only
                self._restore_fds()
            sys.stdout, sys.stderr = out, err
        except BaseException:
            self.restore()
            raise

    def _restore_fds(self) -> None:
        for fd, saved in self.saved.items():
            os.dup2(saved, fd)
            os.close(saved)
        self.saved = {}

    def restore(self) -> None:
        for stream in (sys.stdout, sys.stderr, self.out, self.err):
            _flush(stream)
        sys.stdout, sys.stderr = self.old_out, self.old_err
        self._restore_fds()
        for handler, stream in self.handlers:
            _set_stream(handler, stream)
        self.handlers = []
        # Handlers made during the call (vLLM configures its own at import) go where they would have.
        for handler, stream in _terminal_handlers({id(self.out): self.out, id(self.err): self.err}):
            _set_stream(handler, self.old_out if stream is self.out else self.old_err)


def _set_stream(handler: logging.StreamHandler[Any], stream: IO[str]) -> None:
    """Like `setStream`, but a handler whose stream was closed under it (a test runner's capture file,
    pointed at when the handler was made) is re-pointed instead of failing on the flush."""
    handler.acquire()
    try:
        _flush(handler.stream)
        handler.stream = stream
    finally:
        handler.release()


def _flush(stream: Any) -> None:
    try:
        if stream is not None:
            stream.flush()
    except (OSError, ValueError):
        pass
