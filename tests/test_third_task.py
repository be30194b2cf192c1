"""A third task needs one new module and nothing else: everything a task does differently lives in its
Task object, so the sweep, data, prompts, runner, scoring, gains and lint take it as it is.

The sketch: FLORES sentence *domain* classification (wikinews, wikivoyage or wikibooks, from FLORES's
own metadata) in any FLORES language, ranked like intent labels, as a task of its own. The task class
below is the whole of the new code; the test registers it in the plain TASKS dict, gives it a template
and a declared data set, and runs a sweep with a stand-in engine.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

import pytest

from icl.config import data_dir
from icl.data import load_flores
from icl.metrics import INTENT_METRICS, PairedResult, Score, mcnemar_accuracy
from icl.tasks import TASKS, Axis, Mode, SyntheticRecipe, argmax
from icl.values import Example, LabelSet

_NO_SYNTHETIC = SyntheticRecipe("massive", "train", "en-US", "-", "-", "synth-domain", "source")
"""Unused here (no `augment: synthetic` in the sketch), but every task says where its would come from."""


@dataclass(frozen=True)
class DomainTask:
    """Which website a FLORES sentence comes from, from the sentence alone."""

    name: str = "domain"
    dataset: str = "flores_domains"
    template: str = "sites"
    pool: str = "train"
    max_tokens: int = 8
    axes: tuple[Axis, ...] = ()
    parallel: bool = False
    roles: Mapping[str, str | None] = field(default_factory=lambda: MappingProxyType(
        {"text": "text", "label": "label", "id": None, "language": None}))
    conll_columns: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    labelled: bool = True
    modes: Mapping[str, Mode] = field(default_factory=lambda: MappingProxyType(
        {"rank": Mode("rank", ranks=True, note="rank: the site whose name scores highest")}))
    answer_fields: tuple[str, ...] = ("site",)
    main_metric: str = "accuracy"
    gain_metrics: tuple[str, ...] = ("accuracy",)
    synthetic: SyntheticRecipe = _NO_SYNTHETIC
    selflabel: str = "best-label"

    def runs(self, options: Mapping[str, Sequence[str]], languages: Sequence[str]) -> list[tuple[str, str, str]]:
        return [(lang, lang, "rank") for lang in languages]

    def context(self, query: Example, demos: Sequence[Example], hints: Sequence[Mapping[str, Any]],
                labels: LabelSet | None) -> dict[str, Any]:
        return {"source": query.source, "sites": list(labels.labels) if labels else [], "demos": list(demos),
                "hints": list(hints)}

    def answer_args(self, labels: LabelSet | None) -> list[dict[str, str]]:
        return [{"site": label} for label in (labels.labels if labels else ())]

    def predict(self, output: str, labels: LabelSet | None) -> str | None:
        words = output.split()
        return words[0] if words and labels and words[0] in labels.labels else None

    def pick(self, scores: Sequence[float], labels: LabelSet | None) -> str | None:
        return labels.labels[argmax(scores)] if labels else None

    def score(self, predictions: Sequence[str | None], references: Sequence[str],
              language: str | None = None) -> dict[str, Score]:
        return {name: fn(predictions, references) for name, fn in INTENT_METRICS.items()}

    def item_scores(self, predictions: Sequence[str | None], references: Sequence[str]) -> dict[str, list[Any]]:
        return {"correct": [p == r for p, r in zip(predictions, references, strict=True)]}

    def compare(self, baseline: Sequence[str | None], system: Sequence[str | None], references: Sequence[str],
                resamples: int, seed: int, language: str | None = None) -> list[PairedResult]:
        return [mcnemar_accuracy([p == r for p, r in zip(baseline, references, strict=True)],
                                 [p == r for p, r in zip(system, references, strict=True)], resamples, seed)]


TEMPLATE = """{%- macro answer(site) %} {{ site }}{% endmacro -%}
Which site is each sentence from? Sites: {{ sites | join(", ") }}.

{% for d in demos -%}
Sentence: {{ d.source }}
Site:{{ answer(d.target) }}

{% endfor -%}
Sentence: {{ source }}
Site:"""


class SiteEngine:
    """A stand-in that prefers the site whose name appears in the prompt's demos most often."""

    def generate(self, prompts: Any, params: Any, on_result: Any = None) -> list[Any]:
        raise AssertionError("a ranking task generates nothing")

    def score(self, prompts: Sequence[Any], continuations: Sequence[Sequence[str]]) -> list[list[float]]:
        return [[float(p.as_key().count(c)) for c in conts] for p, conts in zip(prompts, continuations, strict=True)]

    def close(self) -> None:
        pass


def _domain_files(folder: Path) -> None:
    """FLORES sentences with their site, as a user would export them: one TSV per split and language."""
    for split, flores_split in (("train", "dev"), ("test", "devtest")):
        meta = (data_dir() / "flores200" / f"metadata_{flores_split}.tsv").read_text(encoding="utf-8").splitlines()[1:]
        sites = [line.split("\t")[1] for line in meta]
        for lang, code in (("swh", "swh_Latn"), ("yor", "yor_Latn")):
            lines = (data_dir() / "flores200" / flores_split / f"{code}.{flores_split}").read_text(
                encoding="utf-8").splitlines()
            rows = ["text\tlabel"] + [f"{t}\t{s}" for t, s in zip(lines, sites, strict=True)]
            (folder / f"{code}_{split}.tsv").write_text("\n".join(rows) + "\n", encoding="utf-8")


def test_a_third_task_runs_through_every_step(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from icl.analysis.frames import load
    from icl.analysis.results import table_rows
    from icl.prompts.lint import lint
    from icl.run.runner import run_sweep
    from icl.sweep.load import load_sweep

    monkeypatch.setitem(TASKS, "domain", DomainTask())
    prompts = tmp_path / "prompts"
    (prompts / "domain").mkdir(parents=True)
    (prompts / "domain" / "sites.j2").write_text(TEMPLATE, encoding="utf-8")
    monkeypatch.setenv("ICL_PROMPTS_DIR", str(prompts))
    assert lint(prompts) == []
    _domain_files(tmp_path)
    sweep_path = tmp_path / "sweep.yaml"
    sweep_path.write_text("""name: sites
models: [{name: fake, engine: hf}]
datasets:
  flores_domains: {task: domain, format: tsv, path: "{flores}_{split}.tsv", splits: [train, test]}
domain:
  languages: [swh, yor]
  shots: [0, 3]
  selectors: [random]
  limit: 12
gains:
  - {name: 3 demos, baseline: {shots: 0}, system: {shots: 3}}
""", encoding="utf-8")
    report = run_sweep(load_sweep(sweep_path), tmp_path / "results", engine_factory=lambda model: SiteEngine())
    assert len(report.runs) == 4 and report.scored == 4 * 12 * 3
    rows = table_rows(tmp_path / "results" / "sites")
    assert {(r["task"], r["pair"], r["shots"]) for r in rows} == {("domain", lang, k) for lang in ("swa", "yor")
                                                                  for k in (0, 3)}
    assert all(r["accuracy"] != "" for r in rows)
    gains = json.loads((tmp_path / "results" / "sites" / "gains.json").read_text(encoding="utf-8"))["rows"]
    assert {g["pair"] for g in gains} == {"swa", "yor"} and all(g["metric"] == "accuracy" for g in gains)
    items = load(tmp_path / "results" / "sites").items  # the notebook's item table asks the task for its scores
    assert len(items) == 4 * 12 and (items["correct"] == (items["prediction"] == items["reference"])).all()
    labels = json.loads(next((tmp_path / "results" / "sites").glob("*/labels.json")).read_text(encoding="utf-8"))
    assert labels["labels"] == ["wikibooks", "wikinews", "wikivoyage"]
    assert load_flores("eng", "swh")[0].target in (tmp_path / "swh_Latn_test.tsv").read_text(encoding="utf-8")
