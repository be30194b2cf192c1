"""provenance.json: what made a run's results (versions, hashes of model, template and data, the machine,
times, and which software made the answers that came from the cache), and the warnings `icl gains` and the
report give when the two runs of a comparison were made differently."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest
from fakes import FixedEngine

from icl.data.files import recording, stamp
from icl.run import provenance
from icl.run.cache import CompletionCache
from icl.run.runner import run_sweep
from icl.sweep.load import load_sweep

SWEEP = """name: prov
models:
  - name: fake
    engine: hf
mt:
  languages: [fra]
  shots: [0, 1]
  limit: 3
  max_tokens: 8
intent:
  languages: [en-US]
  shots: [0]
  modes: [rank]
  limit: 2
gains:
  - name: 1-shot vs 0-shot
    baseline: {task: mt, shots: 0}
    system: {task: mt, shots: 1}
"""




def _run(tmp_path: Path, cache: Path | None = None) -> Path:
    path = tmp_path / "prov.yaml"
    path.write_text(SWEEP, encoding="utf-8")
    run_sweep(load_sweep(path), tmp_path / "results", cache_path=cache or tmp_path / "c.sqlite",
              engine_factory=lambda model: FixedEngine(" x\n"))
    return tmp_path / "results" / "prov"


def _provenance(sweep_dir: Path, prefix: str) -> dict:
    run = next(p for p in sorted(sweep_dir.iterdir()) if p.name.startswith(prefix))
    return json.loads((run / "provenance.json").read_text(encoding="utf-8"))


def test_every_run_folder_has_its_provenance(tmp_path: Path) -> None:
    sweep_dir = _run(tmp_path)
    runs = [p for p in sweep_dir.iterdir() if (p / "spec.json").is_file()]
    assert len(runs) == 3 and all((p / "provenance.json").is_file() for p in runs)
    body = _provenance(sweep_dir, "mt-eng-fra-plain-1shot")
    assert body["icl"]["version"] and "code_sha256" in body["icl"]
    assert body["icl"]["commit"] is not None or body["icl"]["why"]  # a commit, or why there is none
    assert set(body["packages"]) == {"vllm", "torch", "transformers", "sacrebleu", "jinja2", "datasets"}
    assert body["engine"] == {"engine": "hf", "model": "fake", "args": {}, "model_sha256": None}  # not a folder
    assert body["template"] == {"name": "mt/plain", "root": "prompts", "path": "mt/plain.j2",
                                "sha256": body["template"]["sha256"]} and len(body["template"]["sha256"]) == 64
    # the test split and the NTREX pool of both languages, relative to the data folder
    data = {(d["root"], d["path"]) for d in body["data"]}
    assert all(root == "data" for root, _ in data) and len(data) == 4, data
    assert all(len(d["sha256"]) == 64 for d in body["data"])
    assert body["machine"]["cores"] >= 1 and body["started"] <= body["finished"]
    assert body["answers"]["answers"] == 3 and body["answers"]["from_cache"] == 0
    assert [m["answers"] for m in body["answers"]["made_by"]] == [3]
    intent = _provenance(sweep_dir, "intent-")
    assert intent["answers"]["answers"] > 2  # one score per label and item
    text = (sweep_dir / next(p for p in sweep_dir.iterdir() if p.name.startswith("mt-")).name
            / "provenance.json").read_text(encoding="utf-8")
    assert str(tmp_path) not in text and str(Path.home()) not in text  # no path of this machine


def test_a_rerun_says_its_answers_came_from_the_cache_and_who_made_them(tmp_path: Path) -> None:
    cache = tmp_path / "c.sqlite"
    _run(tmp_path, cache)
    sweep_dir = _run(tmp_path, cache)
    body = _provenance(sweep_dir, "mt-eng-fra-plain-0shot")
    assert body["answers"]["from_cache"] == 3
    assert body["answers"]["by_other_software"] == body["answers"]["by_unknown_software"] == 0
    [made] = body["answers"]["made_by"]
    assert made["answers"] == 3 and made["software"]["icl"] == body["icl"]["version"]
    assert made["software"]["vllm"] == body["packages"]["vllm"]
    # answers stored before makers were kept (an older icl) are counted as unknown
    db = sqlite3.connect(str(cache))
    db.execute("UPDATE completions SET maker = NULL")
    db.commit()
    db.close()
    body = _provenance(_run(tmp_path, cache), "mt-eng-fra-plain-0shot")
    assert body["answers"]["made_by"] == [{"software": None, "answers": 3}]
    assert body["answers"]["by_unknown_software"] == 3 and body["answers"]["by_other_software"] == 0
    # answers another vLLM made: counted as other software, and named
    older = json.dumps({**json.loads(provenance.maker()), "vllm": "0.0.1"}, sort_keys=True)
    db = sqlite3.connect(str(cache))
    db.execute("INSERT INTO makers (maker) VALUES (?)", (older,))
    db.execute("UPDATE completions SET maker = (SELECT id FROM makers WHERE maker = ?)", (older,))
    db.commit()
    db.close()
    body = _provenance(_run(tmp_path, cache), "mt-eng-fra-plain-0shot")
    assert body["answers"]["by_other_software"] == 3
    assert [m["software"]["vllm"] for m in body["answers"]["made_by"]] == ["0.0.1"]


def test_an_older_cache_file_gains_the_maker_column_and_keeps_its_answers(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite"
    db = sqlite3.connect(str(path))
    db.execute("CREATE TABLE completions (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
    db.execute("INSERT INTO completions VALUES ('k', '1.5')")
    db.commit()
    db.close()
    cache = CompletionCache(path, maker='{"icl": "9"}')
    assert cache.get_made(["k", "x"]) == ({"k": 1.5}, {"k": None})
    cache.put_many({"n": 2.0})
    assert cache.get_made(["n"]) == ({"n": 2.0}, {"n": '{"icl": "9"}'})
    cache.db.execute("INSERT OR REPLACE INTO completions (key, value) VALUES ('o', '3')")  # an older icl's write
    assert cache.get_made(["o"])[1] == {"o": None}
    cache.close()


def test_the_model_folder_hash_is_kept_per_file_state(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = tmp_path / "model"
    folder.mkdir()
    (folder / "weights.bin").write_bytes(b"\0" * 1000)
    (folder / "config.json").write_text("{}", encoding="utf-8")
    first = provenance.model_sha256(str(folder))
    assert first is not None and len(first) == 64
    reads: list[Path] = []
    real = provenance.derived.file_digest
    monkeypatch.setattr(provenance.derived, "file_digest", lambda p, memo=True: reads.append(p) or real(p, memo))
    provenance._folder_sha.cache_clear()
    assert provenance.model_sha256(str(folder)) == first and reads == []  # stored: no file is read again
    (folder / "config.json").write_text('{"a": 1}', encoding="utf-8")
    changed = provenance.model_sha256(str(folder))
    assert changed != first and reads == [folder / "config.json"]
    assert provenance.model_sha256(str(tmp_path / "absent")) is None


def test_git_absent_is_said(monkeypatch: pytest.MonkeyPatch) -> None:
    provenance.git_state.cache_clear()
    monkeypatch.setattr(provenance.shutil, "which", lambda name: None)
    try:
        state = provenance.git_state()
        assert state["commit"] is None and "git" in state["why"]
    finally:
        provenance.git_state.cache_clear()


@pytest.mark.parametrize(("where", "root"), [("data", "data"), ("home", "home"), ("elsewhere", "other")])
def test_paths_are_written_relative_to_a_root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, where: str,
                                              root: str) -> None:
    (tmp_path / "data").mkdir()
    (tmp_path / "home").mkdir()
    (tmp_path / "elsewhere").mkdir()
    monkeypatch.setenv("ICL_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setattr(Path, "home", lambda: tmp_path / "home")
    file = tmp_path / where / "sub" / "f.txt"
    file.parent.mkdir()
    file.write_text("x", encoding="utf-8")
    got = provenance.portable_path(file)
    assert got == {"root": root, "path": "f.txt" if root == "other" else "sub/f.txt"}


def test_recording_sees_the_files_stamped_inside_it(tmp_path: Path) -> None:
    a, b = tmp_path / "a", tmp_path / "b"
    a.write_text("a", encoding="utf-8")
    b.write_text("b", encoding="utf-8")
    stamp(a)  # outside: not recorded
    with recording() as outer:
        with recording() as inner:
            stamp(b, tmp_path / "missing")
        stamp(a)
    assert inner == [str(b)] and outer == [str(b), str(a)]


def _edit(sweep_dir: Path, prefix: str, change: Callable[[dict], None]) -> None:
    run = next(p for p in sorted(sweep_dir.iterdir()) if p.name.startswith(prefix))
    body = json.loads((run / "provenance.json").read_text(encoding="utf-8"))
    change(body)
    (run / "provenance.json").write_text(json.dumps(body), encoding="utf-8")


def test_gains_and_the_report_warn_when_a_pair_was_made_differently(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from icl.analysis.report import write_report
    from icl.cli.main import app

    sweep_dir = _run(tmp_path)
    gains_md = (sweep_dir / "gains.md").read_text(encoding="utf-8")
    assert "Provenance" not in gains_md  # one process made both runs the same way
    _edit(sweep_dir, "mt-eng-fra-plain-1shot", lambda b: b["template"].update(sha256="f" * 64))
    _edit(sweep_dir, "mt-eng-fra-plain-1shot", lambda b: b.update(started="2001-01-01T00:00:00+00:00",
                                                                  machine={"cpu": "other"}))  # not warned about
    result = CliRunner().invoke(app, ["gains", str(sweep_dir), "--resamples", "200"])
    assert result.exit_code == 0, result.output
    gains_md = (sweep_dir / "gains.md").read_text(encoding="utf-8")
    section = gains_md[gains_md.index("## Provenance warnings"):]
    [line] = [ln for ln in section.splitlines() if ln.startswith("- ")]
    assert line.startswith("- 1-shot vs 0-shot, eng-fra (mt-eng-fra-plain-0shot") and "template mt/plain: " in line
    assert line.endswith(" vs ffffffffffff") and "machine" not in line and "started" not in line
    assert "## Provenance warnings" in result.output
    # the runner's path: the stored gains bytes (a cache hit) plus the section, computed afresh
    from icl.analysis.gains_files import write_sweep_gains
    from icl.sweep.load import load_sweep as load

    write_sweep_gains(sweep_dir, load(tmp_path / "prov.yaml").gains, resamples=200)
    write_sweep_gains(sweep_dir, load(tmp_path / "prov.yaml").gains, resamples=200)
    again = (sweep_dir / "gains.md").read_text(encoding="utf-8")
    assert again.count("## Provenance warnings") == 1 and "template mt/plain: " in again
    html = write_report(sweep_dir).read_text(encoding="utf-8")
    assert "Provenance warnings" in html and "template mt/plain: " in html

    # the answers of one run were made by another vLLM: said, with both versions
    _edit(sweep_dir, "mt-eng-fra-plain-0shot", lambda b: b["answers"]["made_by"][0]["software"].update(vllm="0.0.1"))
    CliRunner().invoke(app, ["gains", str(sweep_dir), "--resamples", "200"])
    assert "answers made by: " in (sweep_dir / "gains.md").read_text(encoding="utf-8")
    assert "vllm 0.0.1" in (sweep_dir / "gains.md").read_text(encoding="utf-8")


def test_runs_without_provenance_get_a_note(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from icl.cli.main import app

    sweep_dir = _run(tmp_path)
    for path in sweep_dir.glob("*/provenance.json"):
        path.unlink()
    result = CliRunner().invoke(app, ["gains", str(sweep_dir), "--resamples", "200"])
    assert result.exit_code == 0, result.output
    section = (sweep_dir / "gains.md").read_text(encoding="utf-8").split("## Provenance warnings")[1]
    assert "not checked: 2 runs have no provenance.json" in section and "mt-eng-fra-plain-0shot" in section


@pytest.mark.parametrize(("change", "said"), [
    (lambda b: b["icl"].update(commit="abc"), "icl commit: "),
    (lambda b: b["packages"].update(vllm="9"), "vllm: "),
    (lambda b: b["engine"].update(model_sha256="0" * 64), "model files of fake: "),
    (lambda b: b["data"][0].update(sha256="0" * 64), "data file "),
    (lambda b: b["engine"].update(args={"dtype": "bfloat16"}), "engine of fake: "),
    (lambda b: b.update(finished="2999-01-01T00:00:00+00:00"), None),
    (lambda b: b["data"].append({"root": "data", "path": "only/here", "sha256": "1"}), None),  # a pool by design
])
def test_what_counts_as_a_difference(tmp_path: Path, change: Callable[[dict], None], said: str | None) -> None:
    from icl.analysis.provenance import differences

    sweep_dir = _run(tmp_path)
    a = _provenance(sweep_dir, "mt-eng-fra-plain-0shot")
    b = json.loads(json.dumps(a))
    change(b)
    found = differences(a, b)
    assert (found == []) if said is None else (len(found) == 1 and found[0].startswith(said)), found


def test_two_processes_adding_the_maker_column_at_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Both saw an old file; the second one's ALTER finds the column there already and goes on."""
    path = tmp_path / "old.sqlite"
    db = sqlite3.connect(str(path))
    db.execute("CREATE TABLE completions (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
    db.commit()
    db.close()
    CompletionCache(path).close()  # the first process added it
    real = CompletionCache._has_maker
    looks: list[bool] = []

    def stale_first(self: CompletionCache) -> bool:  # the second process looked before the first added it
        looks.append(False if not looks else real(self))
        return looks[-1]

    monkeypatch.setattr(CompletionCache, "_has_maker", stale_first)
    cache = CompletionCache(path, maker="{}")
    cache.put_many({"k": 1.0})
    assert cache.get_made(["k"]) == ({"k": 1.0}, {"k": "{}"}) and looks == [False, True]
    cache.close()


def test_an_unreadable_provenance_is_a_note(tmp_path: Path) -> None:
    from icl.analysis.gains_files import read_study
    from icl.analysis.provenance import provenance_lines

    sweep_dir = _run(tmp_path)
    run = next(p for p in sweep_dir.iterdir() if p.name.startswith("mt-eng-fra-plain-1shot"))
    (run / "provenance.json").write_text("{truncated", encoding="utf-8")
    [line] = provenance_lines(sweep_dir, read_study(sweep_dir / "gains.json").rows)
    assert line.startswith(f"- not checked: {run.name}/provenance.json is not JSON (")
