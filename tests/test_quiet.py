"""Quiet by default: engine output goes to a log file through the backends' own switches (their loggers,
warnings, progress bars), not the terminal; a failing engine's one-line error quotes the log's tail;
`verbose` leaves backends alone; a template that renders too long stops with one line naming it."""

from __future__ import annotations

import logging
import sys
import threading
import time
import warnings
from pathlib import Path

import pytest

from icl.engines.logs import EngineLog, tail
from icl.errors import EngineError, TemplateError
from icl.prompts.render import load_template, render


@pytest.fixture
def backend_logger(capsys: pytest.CaptureFixture[str]) -> logging.Logger:
    """A backend's logger with a console handler of its own, as vLLM configures at import (made while
    the test's capture is in place, as a backend imported during the test would)."""
    logger = logging.getLogger("fakeengine")
    logger.handlers = [_Console()]
    logger.setLevel(logging.INFO)
    logger.propagate = True
    yield logger
    logger.handlers = []


class _Console(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever sys.stdout is at the time (the test's capture)."""

    @property  # type: ignore[override]
    def stream(self) -> object:
        return sys.stdout

    @stream.setter
    def stream(self, value: object) -> None:
        pass


def test_engine_output_goes_to_the_log_not_the_terminal(capsys: pytest.CaptureFixture[str],
                                                        backend_logger: logging.Logger) -> None:
    own = list(backend_logger.handlers)
    log = EngineLog("fake", loggers=("fakeengine",))
    assert log.path is not None and log.path.parent.name == "logs"
    with log.capture("start"):
        backend_logger.info("engine logger info")
        logging.getLogger("fakeengine.worker").warning("child logger warning")
        warnings.warn("a backend deprecation", FutureWarning, stacklevel=1)
        print("icl progress stays visible", file=sys.stderr)
    log.close()
    backend_logger.warning("logged after the engine closed")
    out, err = capsys.readouterr()
    text = log.path.read_text(encoding="utf-8")
    for line in ("engine logger info", "child logger warning", "FutureWarning: a backend deprecation"):
        assert line in text and line not in out + err
    assert "icl progress stays visible" in err and "icl progress stays visible" not in text
    assert "logged after the engine closed" in out  # the backend's own handler is back
    assert backend_logger.handlers == own


def test_a_failure_is_one_line_with_the_log_tail(backend_logger: logging.Logger) -> None:
    log = EngineLog("fake", loggers=("fakeengine",))
    with pytest.raises(EngineError) as info, log.capture("generate"):
        backend_logger.info("loading weights")
        backend_logger.info("progress 10%\rprogress 100%")
        backend_logger.error("\x1b[31mKV cache too small for this model\x1b[0m")
        raise RuntimeError("engine core died\nwith a second line")
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith("engine fake: generate failed: RuntimeError: engine core died with a second line")
    assert message.endswith(f"(last lines of {log.path}: INFO fakeengine: loading weights | progress 100% | "
                            "ERROR fakeengine: KV cache too small for this model)"), message
    assert log.path is not None and "Traceback" in log.path.read_text(encoding="utf-8")  # the detail is kept
    log.close()


def test_interrupt_passes_through(backend_logger: logging.Logger) -> None:
    log = EngineLog("fake", loggers=("fakeengine",))
    with pytest.raises(KeyboardInterrupt), log.capture("generate"):
        raise KeyboardInterrupt
    log.close()
    assert backend_logger.propagate and len(backend_logger.handlers) == 1


def test_verbose_leaves_the_backends_alone(capsys: pytest.CaptureFixture[str], backend_logger: logging.Logger) -> None:
    log = EngineLog("fake", verbose=True, loggers=("fakeengine",))
    assert log.path is None
    with pytest.raises(EngineError, match="engine fake: start failed: ValueError: bad arg"), log.capture("start"):
        backend_logger.info("engine says hello")
        raise ValueError("bad arg")
    assert "engine says hello" in capsys.readouterr().out


def test_torch_children_stay_at_their_level() -> None:
    """torch's child loggers (dynamo, inductor) keep console handlers of their own: attaching the log to
    `torch` must not lower their level to INFO, or every compilation step reaches the terminal."""
    torch_logger, child = logging.getLogger("torch"), logging.getLogger("torch._dynamo_test_child")
    was = torch_logger.level
    torch_logger.setLevel(logging.NOTSET)
    log = EngineLog("test", loggers=("torch", "vllm"))
    try:
        assert not child.isEnabledFor(logging.INFO)
        assert logging.getLogger("vllm.engine").isEnabledFor(logging.INFO)
    finally:
        log.close()
        torch_logger.setLevel(was)


def test_old_logs_are_pruned(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("icl.engines.logs.KEEP_LOGS", 3)
    paths = []
    for i in range(5):
        log = EngineLog(f"fake{i}")
        with log.capture("start"):
            log.write(str(i))
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


@pytest.mark.vllm
def test_a_vllm_engine_leaves_the_terminal_clean(model_dir: Path, tmp_path: Path) -> None:
    """Start, generate, score and close in a fresh process: nothing reaches its stdout or stderr (file
    descriptors included), and the log holds vLLM's start-up lines."""
    import subprocess

    from conftest import engine_env

    code = ("from icl.engines.vllm_engine import VllmEngine\n"
            "from icl.engines import GenParams\n"
            "from icl.values.prompt import Prompt\n"
            f"engine = VllmEngine({str(model_dir)!r}, max_model_len=512)\n"
            "engine.generate([Prompt(text='English: Hello\\nFrench:')], GenParams(max_tokens=4))\n"
            "engine.score([Prompt(text='Intent:')], [[' alarm_set', ' play_music']])\n"
            "engine.close()\n"
            "open('log-path', 'w').write(str(engine.log.path))\n")
    env = engine_env()
    env["ICL_CACHE_DIR"] = str(tmp_path / "cache")
    for name in ("VLLM_CONFIGURE_LOGGING", "TORCH_CPP_LOG_LEVEL"):
        env.pop(name, None)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=tmp_path,
                          timeout=600, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout == "" and done.stderr == ""
    log = Path((tmp_path / "log-path").read_text(encoding="utf-8")).read_text(encoding="utf-8")
    assert "INFO vllm" in log and "Gemma3ForCausalLM" in log


# --- the per-prompt render budget -------------------------------------------------------------------

NESTED = ("{% macro answer(target) %}{{ target }}{% endmacro %}\n"
          "{% for i in range(100000) %}{% for j in range(100000) %}x{% endfor %}{% endfor %}\n")
LONG_STRING = ("{% macro answer(target) %}{{ target }}{% endmacro %}\n"  # 30,000,000 characters: `*` alone
               "{% set s = 'ab' * 500000 %}{% for c in " + " ~ ".join(["s"] * 30) + " %}{% endfor %}done\n")  # is capped


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
