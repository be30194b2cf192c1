"""FLORES-200 dev is a split and the default MT demo pool: few-shot demos never are devtest lines.

Few-shot MT papers take demos from dev and score on devtest. These tests read the real files: every
FLORES language has a dev file aligned with English, a few-shot run's demos come from it in both
directions (by id and by text, none is a devtest line), and a real run records where its demos came from.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from icl.analysis.results import read_json, read_jsonl
from icl.data import builtin_registry, load_examples, load_run
from icl.data.load import load_text
from icl.languages import all_languages
from icl.run.items import build_items
from icl.sweep.load import load_sweep


def _devtest_lines(*langs: str) -> set[str]:
    """Every devtest sentence of these languages, stripped: what no demo may be."""
    return {ex.source.strip() for lang in langs for ex in load_text("flores200", lang, "devtest")}


def test_every_flores_language_has_an_aligned_dev_split() -> None:
    flores = builtin_registry().get("flores200")
    assert (flores.splits, flores.test_split, flores.demo_split) == (("dev", "devtest"), "devtest", "dev")
    langs = [lg for lg in all_languages() if lg.flores]
    assert len(langs) == 204
    for lang in langs:
        dev = load_text(flores, lang.code, "dev")
        assert len(dev) == 997 and dev[0].id == "flores-dev:0" and dev[0].origin == "flores200-dev", lang.code
    test = load_examples(flores, "devtest", "eng", "kin")
    assert (len(test), test[0].id, test[0].origin) == (1012, "flores:0", "flores200-devtest")  # ids unchanged


SWEEP = """
name: devdemos
models: [{name: gemma-3-270m, engine: hf, args: {threads: 2}}]
mt:
  languages: [LANGS]
  directions: [en-xx, xx-en]
  shots: [3]
  selectors: [SELECTORS]
  limit: LIMIT
  max_tokens: 16
"""


def _sweep(tmp_path: Path, langs: str, selectors: str, limit: int, pools: str = ""):
    text = SWEEP.replace("LANGS", langs).replace("SELECTORS", selectors).replace("LIMIT", str(limit))
    path = tmp_path / "devdemos.yaml"
    path.write_text(text + (f"  pools: [{pools}]\n" if pools else ""), encoding="utf-8")
    return load_sweep(path)


def _assert_no_devtest_demo(row_id: str, source: str, demo_ids: list[str], prompt: str, devtest: set[str],
                            devtest_ids: set[str]) -> None:
    assert demo_ids and all(d.startswith("flores-dev:") for d in demo_ids), demo_ids
    assert not set(demo_ids) & devtest_ids and row_id in devtest_ids
    leaked = [line for line in devtest if line in prompt and line != source.strip()]
    assert leaked == [], f"{row_id}: devtest lines in the prompt: {leaked[:2]}"


@pytest.mark.parametrize("langs", ["kin", "dzo, sat"])  # NTREX here has Kinyarwanda, not these: one rule for all
def test_default_pool_is_dev_and_no_demo_is_a_devtest_line(tmp_path: Path, langs: str) -> None:
    sweep = _sweep(tmp_path, langs, "shared, random, bm25", 6)
    assert {r.pool.text for r in sweep.runs} == {"dev"}  # the default, recorded in spec.json and the run id
    devtest_ids = {f"flores:{i}" for i in range(1012)}
    for spec in sweep.runs:
        data = load_run(spec, sweep.datasets)
        assert data.pool_source == "flores200/dev" and len(data.pool) == 997 and len(data.test) == 6
        devtest = _devtest_lines(spec.src, spec.tgt)
        by_id = {ex.id: ex for ex in data.pool}
        assert not {t for ex in data.pool for t in (ex.source.strip(), ex.target.strip())} & devtest
        for item in build_items(spec, sweep.datasets).items:
            ids = [d.id for d in item.demos]
            assert all(by_id[i] == d for i, d in zip(ids, item.demos, strict=True))  # demos are dev pairs
            _assert_no_devtest_demo(item.example.id, item.example.source, ids, item.prompt.text or "", devtest,
                                    devtest_ids)


def test_other_pools_still_resolve(tmp_path: Path) -> None:
    """`ntrex` stays one line away where the data folder has the pair; dev works across languages too."""
    sweep = _sweep(tmp_path, "swa", "shared", 2, pools='ntrex, "dev:fra", "heldout:5"')
    sources = {(r.src, r.pool.text): load_run(r, sweep.datasets).pool_source for r in sweep.runs}
    assert sources[("eng", "ntrex")] == "ntrex128/test" and sources[("eng", "dev:fra")] == "flores200/dev:fra"
    assert sources[("eng", "heldout:5")] == "flores200/devtest[:5]"


@pytest.mark.model
def test_a_real_few_shot_run_takes_its_demos_from_dev(tmp_path: Path, model_dir: Path) -> None:
    """End to end with the embedded model: predictions, spec.json and metrics.json show dev demos only."""
    from icl.run.runner import run_sweep

    sweep = _sweep(tmp_path, "kin", "shared, bm25", 2)
    run_sweep(sweep, tmp_path / "results", cache_path=tmp_path / "cache.sqlite")
    devtest = _devtest_lines("eng", "kin")
    devtest_ids = {f"flores:{i}" for i in range(1012)}
    runs = sorted(p for p in (tmp_path / "results" / "devdemos").iterdir() if p.is_dir())
    assert len(runs) == 4  # 2 directions x 2 selectors
    dev = {ex.id: ex for ex in load_examples(builtin_registry().get("flores200"), "dev", "eng", "kin")}
    for run in runs:
        spec, metrics = read_json(run / "spec.json"), read_json(run / "metrics.json")
        assert spec["pool"] == "dev" and spec["demo_source"] == metrics["demo_source"] == "flores200/dev"
        rows = read_jsonl(run / "predictions.jsonl")
        assert len(rows) == 2 and metrics["scores"]["chrf++"]["n"] == 2
        for row in rows:
            _assert_no_devtest_demo(row["id"], row["source"], row["demo_ids"], row["prompt"], devtest, devtest_ids)
            for demo_id in row["demo_ids"]:  # by text: each demo in the prompt is that dev line
                assert dev[demo_id].source in row["prompt"] and dev[demo_id].target in row["prompt"]
