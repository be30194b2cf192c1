"""The authoring page in a real headless Chromium (Debian's chromium, driven by Debian's chromium-driver
through Selenium): load, edit, error, compare, save, the way an author uses it.

The fast tests serve the page over a stand-in model (tests/test_author.py's GatedEngine, whose
outputs a test can hold back and release one at a time) in a thread; the `vllm` test starts the real `icl author` command on the embedded model and times an edit
until 8 new MT outputs with scores are on the page.
"""

from __future__ import annotations

import functools
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import uvicorn
from conftest import engine_env
from selenium import webdriver
from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support.ui import Select, WebDriverWait
from test_author import GatedEngine

from icl.author.guard import guard_for
from icl.author.server import make_app
from icl.author.session import AuthorSession
from icl.spec import ModelSpec
from icl.sweep.load import load_sweep

REPO = Path(__file__).resolve().parent.parent
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-quic",
         "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--window-size=1400,1600"]


def _found(*names: str) -> str:
    for name in names:
        path = shutil.which(name)
        if path:
            return path
    pytest.fail(f"{names[0]} not found: scripts/setup.sh installs Debian's chromium and chromium-driver (as root)")


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[WebDriver]:
    options = webdriver.ChromeOptions()
    options.binary_location = _found("chromium", "chromium-browser")  # Debian's, never a downloaded one
    for flag in [*FLAGS, f"--user-data-dir={tmp_path_factory.mktemp('chromium')}"]:
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(_found("chromedriver")), options=options)
    yield driver
    driver.quit()


@pytest.fixture(scope="module")
def prompts_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    root = tmp_path_factory.mktemp("author") / "prompts"
    shutil.copytree(REPO / "prompts", root)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("ICL_PROMPTS_DIR", str(root))
        yield root


@pytest.fixture(scope="module")
def engine() -> GatedEngine:
    """The stand-in model; a test may hold its outputs back and release them one by one."""
    return GatedEngine()


@pytest.fixture(scope="module")
def page_url(prompts_dir: Path, engine: GatedEngine, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The page over the stand-in model, served by uvicorn in a thread: its URL with the launch's token."""
    session = AuthorSession(ModelSpec("gemma-3-270m", "vllm"), engine_factory=lambda model: engine,
                            cache_path=tmp_path_factory.mktemp("cache") / "completions.sqlite")
    session.start()
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    guard = guard_for("127.0.0.1", sock.getsockname()[1])
    server = uvicorn.Server(uvicorn.Config(make_app(session, guard), log_level="warning"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    yield f"http://127.0.0.1:{sock.getsockname()[1]}/?token={guard.token}"
    server.should_exit = True
    thread.join(10)
    session.close()


def _wait(driver: WebDriver, condition, timeout: float = 60, what: str = "") -> object:
    """Until `condition` is truthy; an element re-rendered under it (a run the page queued after a lint,
    say) makes it look again rather than fail."""
    return WebDriverWait(driver, timeout, poll_frequency=0.1, ignored_exceptions=(StaleElementReferenceException,)
                         ).until(lambda d: condition(d), message=what)


def _pane(driver: WebDriver, side: str) -> WebElement:
    return driver.find_element(By.ID, f"pane-{side}")


def _runs(driver: WebDriver, side: str = "a") -> int:
    return int(_pane(driver, side).get_attribute("data-runs") or 0)


def _after_run(driver: WebDriver, before: int, side: str = "a", timeout: float = 60) -> None:
    _wait(driver, lambda d: _runs(d, side) > before and d.find_element(By.TAG_NAME, "body").get_attribute(
        "data-state") == "idle", timeout, f"pane {side} did not finish a run")


def _set_source(driver: WebDriver, side: str, text: str) -> None:
    """Replace the editor's text as a paste would (an input event), leaving typing to _type."""
    editor = _pane(driver, side).find_element(By.CSS_SELECTOR, ".source")
    driver.execute_script("arguments[0].value = arguments[1]; arguments[0].dispatchEvent(new Event('input'))",
                          editor, text)


def _outputs(driver: WebDriver, side: str = "a") -> list[str]:
    return [e.text for e in _pane(driver, side).find_elements(By.CSS_SELECTOR, ".item pre.output")]


def _open(driver: WebDriver, url: str) -> None:
    driver.get(url)
    _after_run(driver, 0)


def test_load_shows_prompts_outputs_and_scores(browser: WebDriver, page_url: str) -> None:
    _open(browser, page_url)
    pane = _pane(browser, "a")
    rows = pane.find_elements(By.CSS_SELECTOR, ".item")
    assert len(rows) == 8
    first = rows[0]
    assert first.find_element(By.CSS_SELECTOR, "pre.prompt").text.startswith("English: ")
    demo = first.find_element(By.CSS_SELECTOR, "mark.demo")  # 1 shot, marked with its id
    assert re.fullmatch(r"demo 1 \(\S+:0\)", demo.get_attribute("data-label")) and demo.text
    assert first.find_element(By.CSS_SELECTOR, "mark.query").text
    assert all(re.fullmatch(r"\d+\.\d\d", r.find_element(By.CSS_SELECTOR, "td.score").text) for r in rows)
    assert all(r.find_element(By.CSS_SELECTOR, "td.reference").text for r in rows)
    aggregate = pane.find_element(By.CSS_SELECTOR, ".aggregate").text
    assert re.match(r"chrf\+\+ \d+\.\d\d \[\d+\.\d\d, \d+\.\d\d\]", aggregate), aggregate
    assert "bootstrap over items (1000 resamples" in aggregate and "8 items" in aggregate
    assert browser.find_element(By.ID, "engine-state").text == "ready"


def test_the_token_leaves_the_address_bar_and_a_reload_keeps_the_page(browser: WebDriver, page_url: str) -> None:
    """The page drops `?token=` from its URL once loaded; its cookie opens it again on a reload."""
    _open(browser, page_url)
    assert browser.current_url == page_url.split("?")[0]
    browser.refresh()
    _after_run(browser, 0)
    assert len(_outputs(browser)) == 8 and browser.find_element(By.ID, "engine-state").text == "ready"


def test_typing_in_the_editor_gives_new_outputs(browser: WebDriver, page_url: str) -> None:
    _open(browser, page_url)
    before, runs = _outputs(browser), _runs(browser)
    editor = _pane(browser, "a").find_element(By.CSS_SELECTOR, ".source")
    editor.click()
    editor.send_keys(Keys.CONTROL, Keys.END)
    editor.send_keys(" (in {{ tgt_name }})")
    _after_run(browser, runs)
    _wait(browser, lambda d: _outputs(d) != before and "(in French)" in _pane(d, "a").find_element(
        By.CSS_SELECTOR, "pre.prompt").text, 30, "the edit did not reach the prompts and outputs")
    assert "(0 from the cache, 8 answers asked" in _pane(browser, "a").find_element(By.CSS_SELECTOR, ".aggregate").text


@pytest.mark.parametrize(("source", "line", "message"), [
    ("{%- macro answer(target) %} {{ target }}{% endmacro -%}\n{{ src_name }}: {{ source }}\n{{ sorce }}", 3,
     "variable 'sorce' is not provided"),
    ("{%- macro answer(target) %} {{ target }}{% endmacro -%}\n{% for d in %}\n", 2, "Expected an expression"),
    ("{%- macro answer(target) %} {{ target }}{% endmacro -%}\n\n\n{{ 'x' * 10**9 }}", 4, "at most 1,000,000"),
])
def test_a_template_error_shows_at_its_line_and_the_server_stays_up(browser: WebDriver, page_url: str, source: str,
                                                                    line: int, message: str) -> None:
    _open(browser, page_url)
    _set_source(browser, "a", source)
    pane = _pane(browser, "a")
    problem = _wait(browser, lambda d: next((e for e in pane.find_elements(By.CSS_SELECTOR, ".problems div")
                                             if message in e.text), None), 30, f"no problem shown: {message}")
    assert problem.get_attribute("data-line") == str(line) and f"plain.j2:{line}:" in problem.text
    marked = pane.find_elements(By.CSS_SELECTOR, ".gutter span.err")
    assert [e.text for e in marked] == [str(line)]
    if "not provided" not in message:  # lint passes this one; rendering finds it, so Run shows it too
        runs = _runs(browser)
        pane.find_element(By.CSS_SELECTOR, ".run").click()
        _after_run(browser, runs)
        assert message in pane.find_element(By.CSS_SELECTOR, ".problems").text
    runs = _runs(browser)
    Select(pane.find_element(By.NAME, "load")).select_by_value("instruct")
    _after_run(browser, runs)
    assert pane.find_elements(By.CSS_SELECTOR, ".problems div") == [] and len(_outputs(browser)) == 8


def test_compare_two_templates_on_the_same_items(browser: WebDriver, page_url: str) -> None:
    _open(browser, page_url)
    browser.find_element(By.ID, "compare-toggle").click()
    pane_b = _wait(browser, lambda d: d.find_element(By.ID, "pane-b"), 10)
    runs = _runs(browser, "b")
    Select(pane_b.find_element(By.NAME, "load")).select_by_value("instruct")
    _wait(browser, lambda d: _runs(d, "b") > runs and "Translate the following" in _pane(d, "b").find_element(
        By.CSS_SELECTOR, "pre.prompt").text, 60, "B did not run the instruct template")
    _after_run(browser, _runs(browser, "b") - 1, "b")

    def settled(d: WebDriver) -> tuple | None:
        """The comparison, both panes' item ids and outputs, read while no run re-renders them."""
        before = _runs(d, "b")
        if d.find_element(By.TAG_NAME, "body").get_attribute("data-state") != "idle":
            return None
        table = d.find_element(By.ID, "comparison")
        rows = [[c.text for c in row.find_elements(By.TAG_NAME, "td")] for row in table.find_elements(By.TAG_NAME, "tr")]
        ids = [[r.get_attribute("data-id") for r in _pane(d, side).find_elements(By.CSS_SELECTOR, ".item")]
               for side in "ab"]
        got = (table.is_displayed(), rows, table.text, ids, _outputs(d, "a"), _outputs(d, "b"))
        same = _runs(d, "b") == before and d.find_element(By.TAG_NAME, "body").get_attribute("data-state") == "idle"
        return got if same else None

    shown, cells, text, (ids_a, ids_b), outputs_a, outputs_b = _wait(browser, settled, 30, "the page kept re-running")
    assert shown
    metrics = {row[0]: row for row in cells if row}
    assert set(metrics) == {"chrf++", "bleu"} and all(row[6] == "8" for row in metrics.values())
    assert re.fullmatch(r"\[-?\d+\.\d\d, -?\d+\.\d\d\]", metrics["chrf++"][4])
    assert "paired bootstrap over items (1000 resamples" in text
    assert ids_a == ids_b and outputs_a != outputs_b


def test_save_writes_the_template_and_prints_the_sweep(browser: WebDriver, page_url: str, prompts_dir: Path,
                                                       tmp_path: Path) -> None:
    _open(browser, page_url)
    pane = _pane(browser, "a")
    source = "{#- written in the browser test -#}\n" + (REPO / "prompts" / "mt" / "instruct.j2").read_text(
        encoding="utf-8").replace("Translate the following sentences", "Please translate these sentences")
    runs = _runs(browser)
    _set_source(browser, "a", source)
    name = pane.find_element(By.CSS_SELECTOR, ".name")
    name.clear()
    name.send_keys("polite")
    _after_run(browser, runs)
    runs = _runs(browser)
    pane.find_element(By.CSS_SELECTOR, ".save").click()
    _after_run(browser, runs)  # shown again under the saved name: every answer from the cache
    assert "(8 from the cache, 0 answers asked" in pane.find_element(By.CSS_SELECTOR, ".aggregate").text
    sweep = _wait(browser, lambda d: d.find_element(By.ID, "sweep-yaml").text or None, 30, "no sweep YAML shown")
    assert (prompts_dir / "mt" / "polite.j2").read_text(encoding="utf-8") == source
    assert f"saved {prompts_dir / 'mt' / 'polite.j2'}" in browser.find_element(By.ID, "saved").text
    path = tmp_path / "sweep.yaml"
    path.write_text(sweep, encoding="utf-8")
    (run,) = load_sweep(path).runs
    assert run.template == "mt/polite" and run.limit == 8
    # the page may still be re-showing a debounced edit (the name field): wait for its last view
    _wait(browser, lambda d: run.run_id in d.find_element(By.CSS_SELECTOR, "#pane-a .aggregate").text or None, 30,
          f"run {run.run_id} not shown")
    options = Select(pane.find_element(By.NAME, "load")).options
    assert "polite" in [o.get_attribute("value") for o in options]


def test_a_template_changed_on_disk_reloads_in_the_page(browser: WebDriver, page_url: str, prompts_dir: Path) -> None:
    _open(browser, page_url)
    runs = _runs(browser)
    path = prompts_dir / "mt" / "plain.j2"
    original = path.read_text(encoding="utf-8")
    try:
        time.sleep(1.1)  # a new modification time
        path.write_text("{#- edited elsewhere -#}\nFrom disk.\n" + original, encoding="utf-8")
        _after_run(browser, runs, timeout=30)
        _wait(browser, lambda d: _pane(d, "a").find_element(By.CSS_SELECTOR, "pre.prompt").text.startswith(
            "From disk."), 30, "the page did not follow the file")
    finally:
        path.write_text(original, encoding="utf-8")


@pytest.mark.vllm
def test_the_real_command_on_the_embedded_model(browser: WebDriver, prompts_dir: Path, model_dir: Path,
                                                tmp_path: Path) -> None:
    """`icl author` on vLLM: the page comes up, and an edit gives 8 new MT outputs with scores."""
    env = {**engine_env(), "ICL_CACHE_DIR": str(tmp_path / "cache"), "ICL_PROMPTS_DIR": str(prompts_dir)}
    proc = subprocess.Popen([sys.executable, "-m", "icl.cli", "author", "--port", "0", "--engine", "vllm"],
                            env=env, stderr=subprocess.PIPE, text=True, cwd=tmp_path)
    try:
        line = proc.stderr.readline() if proc.stderr else ""
        url = re.search(r"http://\S+/\?token=\S+", line)
        assert url, line
        browser.get(url.group(0))
        _after_run(browser, 0, timeout=600)  # the engine starts behind the first view
        assert browser.find_element(By.ID, "engine-state").text == "ready"
        runs, before = _runs(browser), _outputs(browser)
        began = time.monotonic()
        _set_source(browser, "a", "{#- a new instruction -#}\nTranslate from {{ src_name }} to {{ tgt_name }}.\n\n"
                    + (REPO / "prompts" / "mt" / "plain.j2").read_text(encoding="utf-8"))
        _after_run(browser, runs, timeout=300)
        took = time.monotonic() - began
        outputs = _outputs(browser)
        assert len(outputs) == 8 and outputs != before
        scores = [e.text for e in browser.find_elements(By.CSS_SELECTOR, "#pane-a td.score")]
        assert len(scores) == 8 and all(re.fullmatch(r"\d+\.\d\d", s) for s in scores)
        print(f"\nedit -> 8 new MT outputs with scores on the page: {took:.1f} s (vLLM, gemma-3-270m)")
    finally:
        proc.terminate()
        proc.wait(60)
    assert proc.returncode in (0, -15), os.strerror(abs(proc.returncode or 0))


def test_rank_mode_shows_the_best_labels_with_log_probabilities(browser: WebDriver, page_url: str) -> None:
    _open(browser, page_url)
    pane = _pane(browser, "a")
    runs = _runs(browser)
    Select(pane.find_element(By.NAME, "task")).select_by_value("intent")
    _after_run(browser, runs)
    runs = _runs(browser)
    Select(pane.find_element(By.NAME, "axis:modes")).select_by_value("rank")
    _after_run(browser, runs)
    _wait(browser, lambda d: pane.find_elements(By.CSS_SELECTOR, ".item pre.top"), 30, "no label ranking shown")
    top = pane.find_element(By.CSS_SELECTOR, ".item pre.top").text.splitlines()
    assert len(top) == 5 and all(re.fullmatch(r"\w+  -\d+\.\d\d", line) for line in top)
    first = pane.find_element(By.CSS_SELECTOR, ".item")
    assert first.find_element(By.CSS_SELECTOR, "td.prediction").text == top[0].split()[0]
    assert pane.find_element(By.CSS_SELECTOR, ".aggregate").text.startswith("accuracy ")


def _pending(driver: WebDriver, side: str = "a") -> int:
    return len(_pane(driver, side).find_elements(By.CSS_SELECTOR, ".item.pending"))


def _first_prompt(driver: WebDriver) -> str:
    return _pane(driver, "a").find_element(By.CSS_SELECTOR, "pre.prompt").get_attribute("textContent") or ""


def test_outputs_arrive_one_by_one_and_a_newer_edit_cancels_the_older(browser: WebDriver, page_url: str,
                                                                      engine: GatedEngine) -> None:
    """The stand-in model holds every output until the test releases it: the page shows all 8 prompts
    at once, one output while 7 are pending, and a second edit stops the first one's 7 generations."""
    _open(browser, page_url)
    plain = (REPO / "prompts" / "mt" / "plain.j2").read_text(encoding="utf-8")
    pane = _pane(browser, "a")
    runs, generated, cancelled = _runs(browser), engine.generated, engine.cancelled
    engine.hold()
    try:
        _set_source(browser, "a", "{#- edit one -#}\nFirst edit.\n" + plain)
        _wait(browser, lambda d: _pending(d) == 8 and _first_prompt(d).startswith("First edit."), 30,
              "the prompts were not shown before any output")
        engine.release(1)
        _wait(browser, lambda d: _pending(d) == 7, 30, "the first output did not arrive while the others were pending")
        arrived = [r for r in pane.find_elements(By.CSS_SELECTOR, ".item") if "pending" not in r.get_attribute("class")]
        assert len(arrived) == 1 and re.fullmatch(r"\d+\.\d\d", arrived[0].find_element(By.CSS_SELECTOR, "td.score").text)
        aggregate = pane.find_element(By.CSS_SELECTOR, ".aggregate").text
        assert re.match(r"chrf\+\+ \d+\.\d\d \[\d+\.\d\d, \d+\.\d\d\]", aggregate) and "1 of 8 items answered" in aggregate
        _set_source(browser, "a", "{#- edit two -#}\nSecond edit.\n" + plain)
        _wait(browser, lambda d: engine.cancelled == cancelled + 7, 30, "the first edit's pending generations went on")
        _wait(browser, lambda d: _pending(d) == 8 and _first_prompt(d).startswith("Second edit."), 30,
              "the second edit's prompts were not shown")
        assert engine.generated == generated + 1
    finally:
        engine.open()
    _after_run(browser, runs)
    assert _pending(browser) == 0 and engine.generated == generated + 9 and _runs(browser) == runs + 1
    assert "(0 from the cache, 8 answers asked" in pane.find_element(By.CSS_SELECTOR, ".aggregate").text


def test_save_keeps_versions_and_a_diff_shows_only_the_changed_items(browser: WebDriver, page_url: str,
                                                                     prompts_dir: Path) -> None:
    _open(browser, page_url)
    pane = _pane(browser, "a")
    plain = (REPO / "prompts" / "mt" / "plain.j2").read_text(encoding="utf-8")
    ids = [r.get_attribute("data-id") for r in pane.find_elements(By.CSS_SELECTOR, ".item")]
    sources = [m.get_attribute("textContent") for m in pane.find_elements(By.CSS_SELECTOR, ".item mark.query")]
    cut = sorted(len(s) for s in sources)[len(sources) // 2]
    longer = plain.replace("{{ src_name }}: {{ source }}\n{{ tgt_name }}:", "{% if source|length > " + str(cut)
                           + " %}Long one.\n{% endif %}{{ src_name }}: {{ source }}\n{{ tgt_name }}:")
    name = pane.find_element(By.CSS_SELECTOR, ".name")
    name.clear()
    name.send_keys("diffed")
    for version, text in ((1, plain), (2, longer)):
        runs = _runs(browser)
        _set_source(browser, "a", text)
        _after_run(browser, runs)
        runs = _runs(browser)
        pane.find_element(By.CSS_SELECTOR, ".save").click()
        _after_run(browser, runs)
        listed = str(version)
        _wait(browser, lambda d, listed=listed: pane.get_attribute("data-versions") == listed, 30, f"version {listed} not listed")
        assert f"(version {version})" in browser.find_element(By.ID, "saved").text
    assert (prompts_dir / "mt" / ".versions" / "diffed" / "1.j2").read_text(encoding="utf-8") == plain
    assert "diffed@2" not in Select(pane.find_element(By.NAME, "load")).options[0].text  # versions stay out of the list
    pane.find_element(By.CSS_SELECTOR, ".diff").click()
    box = _wait(browser, lambda d: d.find_element(By.ID, "diff") if d.find_element(By.ID, "diff").is_displayed()
                else None, 60, "no diff shown")
    expected = {i for i, s in zip(ids, sources, strict=True) if len(s) > cut}
    rows = box.find_elements(By.CSS_SELECTOR, "tr.changed-item")
    assert {r.get_attribute("data-id") for r in rows} == expected and 0 < len(expected) < 8
    assert all(r.find_element(By.CSS_SELECTOR, "td.old").text != r.find_element(By.CSS_SELECTOR, "td.new").text
               for r in rows)
    assert f"{len(expected)} of 8 predictions changed" in box.find_element(By.TAG_NAME, "h2").text
    assert any(e.text.startswith("+{% if source|length") for e in box.find_elements(By.CSS_SELECTOR, "pre.text-diff .add"))
    paired = {row.find_elements(By.TAG_NAME, "td")[0].text: [c.text for c in row.find_elements(By.TAG_NAME, "td")]
              for row in box.find_elements(By.CSS_SELECTOR, "table.paired tr") if row.find_elements(By.TAG_NAME, "td")}
    assert set(paired) == {"chrf++", "bleu"} and all(row[6] == "8" for row in paired.values())
    assert re.fullmatch(r"\[-?\d+\.\d\d, -?\d+\.\d\d\]", paired["chrf++"][4])


ATTACK_PAGE = """<!doctype html>
<html><head><title>another site</title></head><body><script>
const page = __PAGE__, body = __BODY__;
const outcome = (p) => p.then(async r => `${r.type} ${r.status} ${await r.text()}`, e => `failed: ${e.name}`);
(async () => {
  const send = {method: "POST", credentials: "include", body};
  document.body.dataset.save = await outcome(fetch(page + "api/save",
      {...send, mode: "no-cors", headers: {"Content-Type": "text/plain"}}));
  document.body.dataset.json = await outcome(fetch(page + "api/save",
      {...send, headers: {"Content-Type": "application/json"}}));
  document.body.dataset.read = await outcome(fetch(page + "api/template?task=mt&name=plain", {credentials: "include"}));
  document.title = "done";
})();
</script></body></html>
"""
"""A page of another origin (127.0.0.1 on another port: the same site, so the page's cookie goes along)
that tries to overwrite prompts/mt/plain.j2 and to read it back."""


class _Quiet(SimpleHTTPRequestHandler):
    """Serves a folder without a log line per request."""

    def log_message(self, format: str, *args: object) -> None:
        pass


def test_a_page_of_another_origin_can_neither_save_nor_read(browser: WebDriver, page_url: str, prompts_dir: Path,
                                                            tmp_path: Path) -> None:
    """In Chromium, with the page's cookie in the browser: a no-cors text/plain save (a "simple" request,
    which a browser sends cross-origin without asking), a JSON save (which needs a CORS preflight) and a
    read of a template, all from another origin's page, change no file and read nothing."""
    _open(browser, page_url)  # the browser holds the page's cookie
    page = page_url.split("?")[0]
    body = {"columns": [{"setting": {"task": "mt", "template": "plain", "language": "fra"},
                         "source": "{#- owned -#}\n" + (prompts_dir / "mt" / "plain.j2").read_text(encoding="utf-8"),
                         "original": "plain"}], "index": 0}
    html = ATTACK_PAGE.replace("__PAGE__", json.dumps(page)).replace("__BODY__", json.dumps(json.dumps(body)))
    (tmp_path / "attack.html").write_text(html, encoding="utf-8")
    before = {p: p.read_bytes() for p in sorted(prompts_dir.rglob("*")) if p.is_file()}
    other = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Quiet, directory=str(tmp_path)))
    threading.Thread(target=other.serve_forever, daemon=True).start()
    try:
        browser.get(f"http://127.0.0.1:{other.server_address[1]}/attack.html")
        _wait(browser, lambda d: d.title == "done", 30, "the other page's requests did not settle")
        got = {k: browser.find_element(By.TAG_NAME, "body").get_attribute(f"data-{k}") for k in ("save", "json", "read")}
    finally:
        other.shutdown()
        other.server_close()
    assert got == {"save": "opaque 0 ", "json": "failed: TypeError", "read": "failed: TypeError"}
    assert {p: p.read_bytes() for p in sorted(prompts_dir.rglob("*")) if p.is_file()} == before
