"""The notebook API (docs/api.md): `icl.run(sweep)` runs a sweep through the same entry as `icl run` and
returns its results as DataFrames; `icl.load(folder)` reads a finished one; `track="mlflow"` logs it.
A stand-in engine answers, so no model loads."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from fakes import FixedEngine
from sacrebleu.metrics import CHRF
from typer.testing import CliRunner

import icl
from icl.errors import ConfigError, DataError, IclError

REPO = Path(__file__).resolve().parent.parent

SWEEP: dict[str, Any] = {
    "name": "notebook",
    "models": [{"name": "fake", "engine": "hf"}],
    "mt": {"languages": ["fra", "swa"], "shots": [0, 1], "limit": 4, "max_tokens": 8},
    "intent": {"languages": ["en-US"], "shots": [0, 2], "modes": ["rank"], "limit": 5},
    "gains": [{"name": "1-shot MT", "baseline": {"task": "mt", "shots": 0}, "system": {"task": "mt", "shots": 1}},
              {"name": "2-shot intent", "baseline": {"task": "intent", "shots": 0},
               "system": {"task": "intent", "shots": 2}}],
}




def fake(model: Any) -> FixedEngine:
    return FixedEngine(" le chat\n")


def _yaml(tmp_path: Path, sweep: dict[str, Any]) -> Path:
    import yaml

    path = tmp_path / f"{sweep['name']}.yaml"
    path.write_text(yaml.safe_dump(sweep, sort_keys=False), encoding="utf-8")
    return path


def test_a_notebook_runs_a_sweep_and_reads_its_tables(tmp_path: Path) -> None:
    results = icl.run(_yaml(tmp_path, SWEEP), results=tmp_path / "results", engine_factory=fake)
    assert results.path == tmp_path / "results" / "notebook"

    runs = results.runs
    assert len(runs) == 6 and runs["run_id"].is_unique
    assert set(runs.groupby(["task", "pair", "shots"]).size().index) == {
        ("mt", p, k) for p in ("eng-fra", "eng-swa") for k in (0, 1)} | {("intent", "eng", k) for k in (0, 2)}
    mt = runs[runs.task == "mt"]
    assert mt["chrf++"].notna().all() and mt["accuracy"].isna().all()
    assert set(runs[["model", "engine"]].itertuples(index=False)) == {("fake", "hf")}
    table = {r["run_id"]: r for r in _table_rows(results.path)}
    for row in runs.to_dict("records"):  # the same scores as the table, unrounded
        metric = "accuracy" if row["task"] == "intent" else "chrf++"
        assert f"{row[metric]:.2f}" == table[row["run_id"]][metric]

    items = results.items
    assert len(items) == 4 * 4 + 2 * 5
    assert {"run_id", "id", "prompt", "demo_ids", "output", "prediction", "reference", "shots", "pair"} <= set(items)
    translated = items[items.task == "mt"]
    chrf = CHRF(word_order=2)
    for item in translated.to_dict("records"):
        assert item["chrf++"] == pytest.approx(chrf.sentence_score(item["prediction"], [item["reference"]]).score,
                                               abs=1e-4)
    labelled = items[items.task == "intent"]
    assert (labelled["correct"] == (labelled["prediction"] == labelled["reference"])).all()
    assert items["correct"].dtype == "boolean" and items.loc[items.task == "mt", "correct"].isna().all()
    assert (~labelled["correct"]).sum() == (labelled["prediction"] != labelled["reference"]).sum()
    # a run's accuracy is the mean of its items' correctness
    by_run = labelled.groupby("run_id")["correct"].mean() * 100
    for run_id, acc in by_run.items():
        assert acc == pytest.approx(runs.set_index("run_id").loc[run_id, "accuracy"], abs=0.01)

    gains = results.gains
    written = json.loads((results.path / "gains.json").read_text(encoding="utf-8"))["rows"]
    # chrF++, BLEU and the off-target share for each MT pair (French is one CLD2 knows), accuracy for intent
    assert len(gains) == len(written) == 2 * 3 + 1
    assert set(gains.columns) == {k for row in written for k in row}  # every field, none chosen by hand
    assert set(gains["comparison"]) == {"1-shot MT", "2-shot intent"}
    assert len(results.classes) > 0 and len(results.replicability) > 0
    assert results.runs is runs and results.gains is gains  # read once, then kept


def _table_rows(sweep_dir: Path) -> list[dict[str, Any]]:
    from icl.analysis.results import table_rows

    return table_rows(sweep_dir)


def test_a_dict_runs_like_its_file_and_keeps_itself_as_sweep_yaml(tmp_path: Path) -> None:
    from icl.cli import app

    from_dict = icl.run(SWEEP, results=tmp_path / "a", engine_factory=fake)
    from_file = icl.run(_yaml(tmp_path, SWEEP), results=tmp_path / "b", engine_factory=fake)
    assert list(from_dict.runs["run_id"]) == list(from_file.runs["run_id"])
    assert from_dict.gains.equals(from_file.gains)
    # `icl gains` reads the comparisons back from the sweep.yaml the dict left
    done = CliRunner().invoke(app, ["gains", str(from_dict.path), "--resamples", "99"])
    assert done.exit_code == 0, done.stderr
    assert "1-shot MT" in done.stdout and "2-shot intent" in done.stdout


def test_icl_run_goes_through_the_same_entry(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The CLI reaches the runner through icl.run.entry, as the API does: with the runner's engine swapped
    for the stand-in there, both write the same table."""
    from icl.cli import app
    from icl.run import runner

    def with_fake_engine(*args: Any, **kwargs: Any) -> Any:
        return runner.run_sweep(*args, **{**kwargs, "engine_factory": fake})

    monkeypatch.setattr("icl.run.entry.run_sweep", with_fake_engine)
    path = _yaml(tmp_path, SWEEP)
    done = CliRunner().invoke(app, ["run", str(path), "--results", str(tmp_path / "cli")])
    assert done.exit_code == 0, done.stderr
    api = icl.run(path, results=tmp_path / "api")
    assert (tmp_path / "cli" / "notebook" / "table.md").read_text() == (api.path / "table.md").read_text()


@pytest.mark.parametrize(("sweep", "message"), [
    ({**SWEEP, "mt": {**SWEEP["mt"], "shotz": [1]}}, "<dict>: mt.shotz: unknown key"),
    ({**SWEEP, "mt": {**SWEEP["mt"], "shots": 1}}, "<dict>: mt.shots: expected a non-empty list"),
    ({k: v for k, v in SWEEP.items() if k != "name"}, "<dict>: name: missing"),
    ({**SWEEP, "name": "a/b"}, "<dict>: name: 'a/b' is not a usable folder name"),
])
def test_a_bad_dict_is_one_line_naming_the_key(tmp_path: Path, sweep: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        icl.run(sweep, results=tmp_path / "results", engine_factory=lambda m: pytest.fail("an engine started"))
    assert str(caught.value).startswith(message) and "\n" not in str(caught.value)
    assert not (tmp_path / "results").exists()


def test_load_reads_a_finished_folder(tmp_path: Path) -> None:
    ran = icl.run(SWEEP, results=tmp_path / "results", engine_factory=fake)
    loaded = icl.load(tmp_path / "results" / "notebook")
    assert isinstance(loaded, icl.Results) and loaded.name == "notebook"
    assert loaded.runs.equals(ran.runs) and loaded.gains.equals(ran.gains)
    assert len(loaded.items) == len(ran.items)
    with pytest.raises(DataError, match="nothing: results folder not found"):
        icl.load(tmp_path / "nothing")
    with pytest.raises(DataError, match="not a sweep's results folder"):
        icl.load(tmp_path)
    no_gains = icl.run({k: v for k, v in SWEEP.items() if k != "gains"} | {"name": "plain"},
                       results=tmp_path / "results", engine_factory=fake)
    assert len(no_gains.runs) == 6
    with pytest.raises(DataError, match=r"plain/gains.json: file not found \(the sweep declares no `gains:`"):
        _ = no_gains.gains


def test_import_icl_imports_nothing_else() -> None:
    """`import icl` stays instant: the API's modules, pandas and the CLI's libraries load on first use."""
    code = ("import sys, icl\n"
            "print(sorted(m for m in sys.modules if m.startswith(('icl.', 'pandas', 'rich', 'typer', 'yaml',"
            " 'numpy', 'mlflow'))))\n"
            "assert callable(icl.run) and 'pandas' not in sys.modules\n"
            "import icl.run.runner\n"
            "assert callable(icl.run) and icl.run.runner.run_sweep\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


def test_the_run_package_still_resolves_by_name(monkeypatch: pytest.MonkeyPatch) -> None:
    """icl.run is the package, made callable, not a function in its place: dotted paths through it still work."""
    import icl.run.runner

    monkeypatch.setattr("icl.run.runner.write_tables", lambda sweep_dir: None)
    assert icl.run.runner.write_tables(Path()) is None
    with pytest.raises(AttributeError, match="has no attribute 'nothing'"):
        _ = icl.nothing  # type: ignore[attr-defined]


# --- tracking ---------------------------------------------------------------------------------------------


def test_mlflow_tracking_logs_runs_scores_and_files(tmp_path: Path) -> None:
    pytest.importorskip("mlflow")
    from mlflow.tracking import MlflowClient

    store = f"sqlite:///{tmp_path / 'mlflow.db'}"
    results = icl.run(SWEEP, results=tmp_path / "results", engine_factory=fake, track="mlflow", track_uri=store)
    client = MlflowClient(tracking_uri=store)
    experiment = client.get_experiment_by_name("notebook")
    assert experiment is not None
    logged = client.search_runs([experiment.experiment_id])
    parents = [r for r in logged if "mlflow.parentRunId" not in r.data.tags]
    children = [r for r in logged if r.data.tags.get("mlflow.parentRunId") == parents[0].info.run_id]
    assert len(parents) == 1 and len(children) == len(results.runs) == 6
    runs = results.runs.set_index("run_id")
    for child in children:
        row = runs.loc[child.info.run_name]
        assert child.data.params["task"] == row["task"] and child.data.params["shots"] == str(row["shots"])
        assert child.data.params["model"] == "fake" and child.data.params["pair"] == row["pair"]
        if row["task"] == "mt":
            assert child.data.metrics["chrfpp"] == pytest.approx(row["chrf++"])
            assert "spbleu" not in child.data.metrics  # no value, no metric
        else:
            assert child.data.metrics["accuracy"] == pytest.approx(row["accuracy"])
        assert child.data.metrics["n"] == row["n"]
        assert {f.path for f in client.list_artifacts(child.info.run_id)} == {"spec.json", "metrics.json"}
    files = {f.path for f in client.list_artifacts(parents[0].info.run_id)}
    assert {"gains.md", "gains.csv", "table.md", "sweep.yaml", "report.html"} <= files
    assert parents[0].data.params == {"sweep": "notebook", "runs": "6"}
    assert (tmp_path / "mlartifacts" / "notebook").is_dir()  # beside the store, not in ./mlruns
    # a second run of the sweep is a second parent in the same experiment
    icl.run(SWEEP, results=tmp_path / "results", engine_factory=fake, track="mlflow", track_uri=store)
    again = client.search_runs([experiment.experiment_id])
    assert len([r for r in again if "mlflow.parentRunId" not in r.data.tags]) == 2


def test_tracking_without_mlflow_says_how_to_install(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from icl.cli import app

    monkeypatch.setitem(sys.modules, "mlflow", None)  # an import of it fails, as where it is not installed
    monkeypatch.setitem(sys.modules, "mlflow.tracking", None)
    with pytest.raises(IclError, match=r"MLflow is not installed; install it with `pip install 'icl\[track\]'`"):
        icl.run(SWEEP, results=tmp_path / "results", track="mlflow",
                engine_factory=lambda m: pytest.fail("the sweep ran before the tracker was checked"))
    done = CliRunner().invoke(app, ["run", str(_yaml(tmp_path, SWEEP)), "--track", "mlflow"])
    assert done.exit_code == 2 and len(done.stderr.strip().splitlines()) == 1
    assert "icl: error: --track mlflow: MLflow is not installed" in done.stderr
    unknown = CliRunner().invoke(app, ["run", str(_yaml(tmp_path, SWEEP)), "--track", "wandb"])
    assert unknown.exit_code == 2 and "--track: unknown tracker 'wandb' (known: mlflow)" in unknown.stderr


def test_a_store_mlflow_refuses_stops_the_sweep_before_it_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("mlflow")
    monkeypatch.delenv("MLFLOW_ALLOW_FILE_STORE", raising=False)  # MLflow 3.18 keeps ./mlruns stores behind it
    store = (tmp_path / "mlruns").as_uri()
    with pytest.raises(IclError) as caught:
        icl.run(SWEEP, results=tmp_path / "results", track="mlflow", track_uri=store,
                engine_factory=lambda m: pytest.fail("the sweep ran before the store was checked"))
    assert str(caught.value).startswith(f"--track-uri {store}: MLflow cannot use this store: ")
    assert "\n" not in str(caught.value) and not (tmp_path / "results").exists()
