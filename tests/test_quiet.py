"""Quiet by default: engine output goes to a log file and not the terminal, a failing engine's one-line
error quotes the log's tail, `--verbose` shows it live; a template that renders too long stops with
one line naming it."""

from __future__ import annotations

import logging
import os
import sys
import threading
import time
from pathlib import Path

import pytest

from icl.engines.logs import EngineLog, console_stream, tail
from icl.errors import EngineError, TemplateError
from icl.prompts.render import load_template, render


def _noisy() -> None:
    """Output of every kind an engine produces (`warnings.warn` prints through sys.stderr too, but pytest
    records warnings itself)."""
    print("python stdout line")
    print("python stderr line", file=sys.stderr)
    os.write(1, b"native fd1 line\n")
    os.write(2, b"native fd2 line\n")
    logger = logging.getLogger("fakeengine")
    handler = logging.StreamHandler(sys.stdout)  # like vLLM's, made at import (inside the capture)
    logger.addHandler(handler)
    logger.warning("engine logger warning")


def test_engine_output_goes_to_the_log_not_the_terminal(capfd: pytest.CaptureFixture[str]) -> None:
    terminal = console_stream()
    log = EngineLog("fake")
    assert log.path is not None and log.path.parent.name == "logs"
    with log.capture("start"):
        _noisy()
        terminal.write("icl progress stays visible\n")
        terminal.flush()
    print("after the call")
    logging.getLogger("fakeengine").warning("logged after the call")
    log.close()
    out, err = capfd.readouterr()
    text = log.path.read_text(encoding="utf-8")
    for line in ("python stdout line", "python stderr line", "native fd1 line", "native fd2 line",
                 "engine logger warning"):
        assert line in text and line not in out + err
    assert "icl progress stays visible" in out + err and "icl progress stays visible" not in text
    assert "after the call" in out and "logged after the call" in out  # fds, streams and handlers restored
    logging.getLogger("fakeengine").handlers.clear()


def test_a_failure_is_one_line_with_the_log_tail(capfd: pytest.CaptureFixture[str]) -> None:
    log = EngineLog("fake")
    with pytest.raises(EngineError) as info, log.capture("generate"):
        print("loading weights")
        print("progress 10%\rprogress 100%", file=sys.stderr)
        os.write(2, b"\x1b[31mKV cache too small for this model\x1b[0m\n")
        raise RuntimeError("engine core died\nwith a second line")
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith("engine fake: generate failed: RuntimeError: engine core died with a second line")
    assert message.endswith(f"(last lines of {log.path}: loading weights | progress 100% | "
                            "KV cache too small for this model)")
    assert log.path is not None and "Traceback" in log.path.read_text(encoding="utf-8")  # the detail is kept
    out, err = capfd.readouterr()
    assert "loading weights" not in out + err
    print("terminal is back")
    assert "terminal is back" in capfd.readouterr().out
    log.close()


def test_interrupt_passes_through_and_restores(capfd: pytest.CaptureFixture[str]) -> None:
    log = EngineLog("fake")
    with pytest.raises(KeyboardInterrupt), log.capture("generate"):
        raise KeyboardInterrupt
    print("still here")
    assert "still here" in capfd.readouterr().out
    log.close()


def test_verbose_shows_engine_output_live(capfd: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ICL_VERBOSE", "1")
    log = EngineLog("fake")
    assert log.path is None
    with pytest.raises(EngineError, match="engine fake: start failed: ValueError: bad arg"), log.capture("start"):
        os.write(2, b"native fd2 line\n")
        raise ValueError("bad arg")
    assert "native fd2 line" in capfd.readouterr().err


def test_old_logs_are_pruned(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("icl.engines.logs.KEEP_LOGS", 3)
    paths = []
    for i in range(5):
        log = EngineLog(f"fake{i}")
        with log.capture("start"):
            print(i)
        log.close()
        paths.append(log.path)
    assert [p is not None and p.exists() for p in paths] == [False, False, True, True, True]


def test_tail_reads_the_last_lines(tmp_path: Path) -> None:
    path = tmp_path / "x.log"
    path.write_text("a\n\n  b  \r\n" + "c" * 500 + "\n", encoding="utf-8")
    assert tail(path, 2, width=10) == ["b", "ccccccc..."]
    assert tail(tmp_path / "missing.log") == []


@pytest.mark.vllm
def test_vllm_failure_names_the_log_and_keeps_the_terminal_clean(capfd: pytest.CaptureFixture[str],
                                                                 tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    from icl.engines.vllm_engine import VllmEngine

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("VLLM_ENABLE_V1_MULTIPROCESSING", "0")
    with pytest.raises(EngineError) as info:
        VllmEngine(str(tmp_path / "no-such-model"))
    message = str(info.value)
    assert "\n" not in message and message.startswith("engine vllm: start failed:")
    assert "/logs/vllm-" in message  # "(last lines of <log>: ...)"; pytest's log capture may leave it empty
    out, err = capfd.readouterr()
    assert "INFO" not in out + err and "WARNING" not in out + err


# --- the per-prompt render budget -------------------------------------------------------------------

NESTED = ("{% macro answer(target) %}{{ target }}{% endmacro %}\n"
          "{% for i in range(100000) %}{% for j in range(100000) %}x{% endfor %}{% endfor %}\n")
LONG_STRING = ("{% macro answer(target) %}{{ target }}{% endmacro %}\n"
               "{% for c in 'ab' * 30000000 %}{% endfor %}done\n")


@pytest.fixture
def slow_templates(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "mt").mkdir()
    (tmp_path / "mt" / "nested.j2").write_text(NESTED, encoding="utf-8")
    (tmp_path / "mt" / "string.j2").write_text(LONG_STRING, encoding="utf-8")
    (tmp_path / "mt" / "fine.j2").write_text("{% macro answer(target) %}{{ target }}{% endmacro %}"
                                             "{% for i in range(1000) %}{{ i }}{% endfor %}\n", encoding="utf-8")
    monkeypatch.setenv("ICL_TEMPLATE_BUDGET", "0.3")
    return tmp_path


@pytest.mark.parametrize("name", ["mt/nested", "mt/string"])
def test_a_template_over_budget_is_one_line_naming_it(slow_templates: Path, name: str) -> None:
    tpl = load_template(name, root=slow_templates)
    began = time.monotonic()
    with pytest.raises(TemplateError) as info:
        render(tpl, {})
    assert time.monotonic() - began < 5
    message = str(info.value)
    assert "\n" not in message and message.startswith(str(tpl.path))
    assert "took over 0.3 s" in message and "ICL_TEMPLATE_BUDGET" in message


def test_the_budget_holds_outside_the_main_thread(slow_templates: Path) -> None:
    tpl = load_template("mt/nested", root=slow_templates)
    caught: list[BaseException] = []

    def work() -> None:
        try:
            render(tpl, {})
        except TemplateError as exc:
            caught.append(exc)

    thread = threading.Thread(target=work)
    thread.start()
    thread.join(timeout=10)
    assert not thread.is_alive() and len(caught) == 1 and f"{tpl.path}:2:" in str(caught[0])


def test_templates_within_budget_render(slow_templates: Path) -> None:
    result = render(load_template("mt/fine", root=slow_templates), {})
    assert result.prompt.text is not None and result.prompt.text.endswith("999")


def test_a_handler_left_on_a_closed_stream_does_not_break_capture(tmp_path: Path) -> None:
    """A logger configured while a test runner captured stderr keeps that (later closed) stream; the next
    engine call must still capture and give the handler back a stream it can write to."""
    closed = (tmp_path / "gone.txt").open("w", encoding="utf-8")
    handler = logging.StreamHandler(closed)
    logger = logging.getLogger("icl-test-closed-stream")
    logger.addHandler(handler)
    closed.close()
    try:
        sys.stderr, saved = closed, sys.stderr  # the runner's capture stream, as the handler saw it
        try:
            log = EngineLog("fake-closed")
            with log.capture("start"):
                logger.warning("inside")
            log.close()
        finally:
            sys.stderr = saved
        assert log.path is not None and "inside" in log.path.read_text(encoding="utf-8")
    finally:
        logger.removeHandler(handler)
