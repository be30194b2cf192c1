"""Log a finished sweep to an experiment tracker (`icl run --track mlflow`, or `track="mlflow"` from a
notebook), from its result files only, after they are written.

MLflow: one experiment per sweep (its name), one parent run per `icl run` holding the sweep's files (table,
gains, report.html, written here as `icl report` writes it, sweep.yaml, timings) and under it one run per icl run: its spec fields as parameters, its
scores and counts as metrics, its spec.json and metrics.json as artifacts. The tracking URI is the one
given, else $MLFLOW_TRACKING_URI, else MLflow's local default, sqlite:///mlflow.db in the working directory
(artifacts beside it, in mlartifacts/<sweep>/). MLflow is imported only here and only when asked for: icl does not
depend on it (`pip install 'icl[track]'`).
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from icl.analysis.records import finished_runs
from icl.errors import ConfigError, IclError

SWEEP_FILES = ("sweep.yaml", "table.md", "table.csv", "gains.md", "gains.csv", "gains.json", "report.html",
               "timings.json")
"""A sweep's files logged on its parent run, those of them that exist."""
RUN_FILES = ("spec.json", "metrics.json")
"""A run's files logged on its own run."""
PARAM_LIMIT = 6000
"""MLflow's longest parameter value: longer ones (a long `same_as`) are cut, spec.json has them whole."""


def metric_key(name: str) -> str:
    """A score's name as MLflow accepts it: no `+` in a key, so chrF++ is `chrfpp`."""
    return name.replace("+", "p")


def _param(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, sort_keys=True)
    return text if len(text) <= PARAM_LIMIT else text[: PARAM_LIMIT - 14] + " ...(cut here)"


def _numbers(values: dict[str, Any]) -> dict[str, float]:
    return {metric_key(k): float(v) for k, v in values.items()
            if isinstance(v, int | float) and not isinstance(v, bool)}


def default_uri() -> str:
    """$MLFLOW_TRACKING_URI, else MLflow's own local default: a SQLite file, mlflow.db in the working
    directory (MLflow 3.18 refuses its older ./mlruns file store unless MLFLOW_ALLOW_FILE_STORE=true)."""
    return os.environ.get("MLFLOW_TRACKING_URI") or f"sqlite:///{Path('mlflow.db').resolve()}"


def mlflow_client(uri: str | None) -> tuple[Any, str]:
    """An MlflowClient for `uri` (else `default_uri()`), checked by reading its experiments (which creates a
    new SQLite store), and the URI; a one-line error where MLflow is missing or the store cannot be used."""
    try:
        from mlflow.exceptions import MlflowException
        from mlflow.tracking import MlflowClient
    except ImportError:
        raise IclError("--track mlflow: MLflow is not installed; install it with `pip install 'icl[track]'` "
                       "(or `pip install mlflow-skinny sqlalchemy alembic`)") from None
    uri = uri or default_uri()
    try:
        client = MlflowClient(tracking_uri=uri)
        client.search_experiments(max_results=1)
    except (MlflowException, ImportError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise IclError(f"--track-uri {uri}: MLflow cannot use this store: {first}") from None
    return client, uri


def _artifact_root(uri: str, experiment: str) -> str | None:
    """A SQLite store keeps an experiment's artifacts beside it, in mlartifacts/<experiment>/, rather than in
    MLflow's fallback, ./mlruns of whatever directory the sweep ran from; other stores decide for themselves."""
    if uri.startswith("sqlite:///"):
        return (Path(uri.removeprefix("sqlite:///")).parent / "mlartifacts" / experiment).resolve().as_uri()
    return None


def log_mlflow(sweep_dir: Path, uri: str | None = None) -> str:
    """Log a sweep's results (a parent run, one child per finished run); returns where they went."""
    from mlflow.entities import Metric, Param

    from icl.analysis.report import write_report

    client, uri = mlflow_client(uri)
    write_report(sweep_dir)  # report.html, as `icl report` writes it, to travel with the sweep's run
    name = sweep_dir.name
    experiment = client.get_experiment_by_name(name)
    experiment_id = experiment.experiment_id if experiment else client.create_experiment(
        name, artifact_location=_artifact_root(uri, name))
    parent = client.create_run(experiment_id, run_name=f"{name} {time.strftime('%Y-%m-%d %H:%M:%S')}",
                               tags={"icl.results": str(sweep_dir.resolve())}).info.run_id
    now = int(time.time() * 1000)
    runs = 0
    for run_dir, record in finished_runs(sweep_dir):
        child = client.create_run(experiment_id, run_name=record.fields["run_id"],
                                  tags={"mlflow.parentRunId": parent}).info.run_id
        numbers = {**_numbers(record.counts), **{metric_key(k): float(v) for k, v in record.scores.items()
                                                 if v is not None}}
        strings = {k: v for k, v in record.counts.items() if metric_key(k) not in numbers}
        client.log_batch(child, metrics=[Metric(k, v, now, 0) for k, v in numbers.items()],
                         params=[Param(k, _param(v)) for k, v in {**record.fields, **strings}.items()])
        for file in RUN_FILES:
            client.log_artifact(child, str(run_dir / file))
        client.set_terminated(child)
        runs += 1
    client.log_batch(parent, params=[Param("sweep", name), Param("runs", str(runs))])
    for file in SWEEP_FILES:
        if (sweep_dir / file).is_file():
            client.log_artifact(parent, str(sweep_dir / file))
    client.set_terminated(parent)
    return f"MLflow experiment {name!r}, run {parent} ({runs} runs under it) at {uri}"


TRACKERS: dict[str, Callable[[Path, str | None], str]] = {"mlflow": log_mlflow}
"""Tracker name (`--track`) -> what logs a finished sweep's folder to it."""
CHECKS: dict[str, Callable[[str | None], object]] = {"mlflow": mlflow_client}
"""Tracker name -> a check that it can be reached, run before the sweep so that a missing package or a bad URI
stops nothing an hour in."""


def check_tracker(name: str, uri: str | None) -> None:
    """A one-line error for an unknown tracker, or one that is not installed."""
    if name not in TRACKERS:
        raise ConfigError(f"--track: unknown tracker {name!r} (known: {', '.join(TRACKERS)})")
    CHECKS[name](uri)
