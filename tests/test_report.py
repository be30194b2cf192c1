"""The HTML report: built from result files only, opened in headless Chromium, plots and tables checked.

The result files come from the real pipeline (real specs, prompts and demos) with deterministic stand-in
outputs, because the report reads files and nothing else; a screenshot is kept as a test artefact.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from typer.testing import CliRunner

from icl.analysis.gains import compute_study
from icl.analysis.gains_files import write_gains
from icl.cli import app
from icl.engines import GenParams
from icl.run.items import build_items
from icl.run.requests import engine_identity, gen_key, score_key
from icl.run.runner import write_run
from icl.sweep.load import load_sweep

REPO = Path(__file__).resolve().parent.parent
SWEEP = """
name: reportdemo
models:
  - {name: gemma-3-270m, engine: vllm}
mt:
  languages: [lug, fra]
  shots: [0, 1, 4]
  templates: [plain, instruct]
  selectors: [first]
  pools: ["flores-heldout:20"]
  limit: 12
intent:
  languages: [sw-KE]
  shots: [0, 2]
  modes: [rank]
  limit: 6
gains:
  - name: 4-shot vs 0-shot
    baseline: {task: mt, shots: 0}
    system: {task: mt, shots: 4}
  - name: 2-shot vs 0-shot
    baseline: {task: intent, shots: 0}
    system: {task: intent, shots: 2}
"""


def _stand_in_output(reference: str, shots: int, index: int) -> str:
    """More of the reference with more shots, so gains exist and differ by language."""
    words = reference.split()
    keep = len(words) * (1 + shots + index % 3) // 8
    return " ".join(words[:keep])


@pytest.fixture(scope="module")
def sweep_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("report")
    path = root / "reportdemo.yaml"
    path.write_text(SWEEP, encoding="utf-8")
    sweep = load_sweep(path)
    out = root / "results" / sweep.name
    out.mkdir(parents=True)
    shutil.copyfile(path, out / "sweep.yaml")
    from icl.analysis.results import write_json
    from icl.spec import spec_to_json

    for spec in sweep.runs:
        identity = engine_identity(spec.model)
        run_items = build_items(spec, sweep.datasets)
        results = {}
        for i, item in enumerate(run_items.items):
            if spec.mode == "rank":
                for j, cand in enumerate(item.candidates):
                    gold = cand.strip() == item.example.target
                    results[score_key(identity, item.prompt, cand)] = -1.0 - j * 0.01 + (spec.shots * (i % 2) if gold else 0)
            else:
                params = GenParams(max_tokens=spec.max_tokens, stop=item.stop, seed=spec.seed)
                results[gen_key(identity, item.prompt, params)] = {
                    "text": " " + _stand_in_output(item.example.target, spec.shots, i), "error": None}
        run_dir = out / spec.run_id
        run_dir.mkdir()
        write_json(run_dir / "spec.json", spec_to_json(spec))
        write_run(run_dir, spec, run_items, identity, results)
    write_gains(out, compute_study(out, sweep.gains, resamples=999))
    return out


def test_report_command_writes_html_and_plots(sweep_dir: Path) -> None:
    result = CliRunner().invoke(app, ["report", str(sweep_dir)])
    assert result.exit_code == 0, result.output
    page = (sweep_dir / "report.html").read_text(encoding="utf-8")
    assert "http://" not in page and "https://" not in page  # opens from disk, no network
    pngs = sorted(p.name for p in (sweep_dir / "plots").glob("*.png"))
    assert {"mt_shots.png", "mt_templates.png"} <= set(pngs) and any(n.startswith("gains_") for n in pngs)
    assert {"gains_by_class_0.png", "gains_by_class_1.png"} <= set(pngs)  # one per comparison, classes 0-5
    assert all((sweep_dir / "plots" / n.replace(".png", ".svg")).is_file() for n in pngs)
    for needle in ("Summary", "Gains over baseline", "Signatures", "nrefs:1|case:mixed", "exact prompt",
                   "4-shot vs 0-shot", "flores:20", "Gains by resource class", "by resource class",
                   "flores200/devtest[:20]"):
        assert needle in page, needle
    # the by-class table: Ganda (class 1) and French (class 5), each its own class row, 0-5 order
    by_class = page[page.index('<table class="by-class">'):]
    by_class = by_class[: by_class.index("</table>")]
    assert re.search(r"<td>4-shot vs 0-shot</td><td>4</td><td>chrf\+\+</td><td>1</td><td>1</td><td>[+-][0-9.]+</td>"
                     r"<td>\[[+-][0-9.]+, [+-][0-9.]+\]</td>", by_class)  # the class mean with its interval
    for needle in ('<table class="families">', "p (Holm)", "MDE", "improves at least", "default/chrf++ (2)"):
        assert needle in page, needle
    assert by_class.index("<td>1</td><td>1</td>") < by_class.index("<td>5</td><td>1</td>")
    # Low-resource first: Ganda's rows come before French's in the summary.
    assert page.index("eng-lug") < page.index("eng-fra")


def _chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if not found:
        pytest.fail("chromium not found: scripts/setup.sh installs Debian's chromium package (needs root)")
    return found


FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def test_report_renders_in_headless_chromium(sweep_dir: Path, tmp_path: Path) -> None:
    CliRunner().invoke(app, ["report", str(sweep_dir)])
    browser = _chromium()
    url = (sweep_dir / "report.html").as_uri()
    profile = ["--user-data-dir=" + str(tmp_path / "profile")]
    dom = subprocess.run([browser, *FLAGS, *profile, "--virtual-time-budget=5000", "--dump-dom", url],
                         capture_output=True, text=True, timeout=120, check=False)
    assert dom.returncode == 0, dom.stderr[-1000:]
    body = re.search(r"<body[^>]*>", dom.stdout)
    assert body, dom.stdout[:500]
    assert 'data-plots-rendered="yes"' in body.group(0), body.group(0)  # every <img> decoded, non-empty
    assert int(re.search(r'data-plots="(\d+)"', body.group(0)).group(1)) >= 5  # with the by-class plots
    assert dom.stdout.count("<table") >= 3 and "<td>eng-lug</td>" in dom.stdout
    artefacts = Path(os.environ.get("ICL_ARTIFACTS_DIR", REPO / "artifacts"))
    artefacts.mkdir(parents=True, exist_ok=True)
    shot = artefacts / "report-screenshot.png"
    subprocess.run([browser, *FLAGS, *profile, "--window-size=1280,2400", f"--screenshot={shot}", url],
                   capture_output=True, timeout=120, check=True)
    data = shot.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 50_000  # a real page, not a blank one


def test_gains_md_groups_gains_by_resource_class(sweep_dir: Path) -> None:
    """`icl gains` prints and writes the grouping the report plots: per comparison, classes 0-5, each class
    mean with its two-level interval, the families, and a replicability line per comparison."""
    from icl.analysis.gains_files import read_study

    text = (sweep_dir / "gains.md").read_text(encoding="utf-8")
    assert "### by resource class (Joshi et al. 2020, 0-5), and over all pairs" in text
    assert "| language | class | pair | template |" in text and "| Ganda | 1 | eng-lug |" in text
    assert "## families" in text and "### replicability over languages" in text
    study = read_study(sweep_dir / "gains.json")
    groups = [c for c in study.classes if c.scope != "all"]
    # the two templates of each MT pair are draws of one condition: one pooled row per pair (icl.analysis.draws)
    assert {(c.comparison, c.resource_class, c.pairs) for c in groups if c.metric in ("chrf++", "accuracy")} == {
        ("4-shot vs 0-shot", 1, 1), ("4-shot vs 0-shot", 5, 1), ("2-shot vs 0-shot", 2, 1)}
    assert any(g.family == "default/chrf++/per draw" for g in study.rows)
    assert all(c.ci_low is not None and c.ci_low <= c.mean <= c.ci_high for c in study.classes)
    assert {r.comparison for r in study.replicability} == {c.comparison for c in study.classes}
    csv_header = (sweep_dir / "gains.csv").read_text(encoding="utf-8").splitlines()[0].split(",")
    assert {"p_value", "p_holm", "family", "family_size", "mde"} <= set(csv_header)
    legacy = tmp = sweep_dir.parent / "legacy.json"  # gains.json of older icl: a bare list of rows
    tmp.write_text(json.dumps([{k: v for k, v in r.items() if k in LEGACY_FIELDS}
                               for r in json.loads((sweep_dir / "gains.json").read_text())["rows"]]))
    old = read_study(legacy)
    assert len(old.rows) == len(study.rows) and not any(c.up or c.down for c in old.classes)  # never corrected


LEGACY_FIELDS = {"comparison", "task", "pair", "template", "shots", "language", "resource", "metric", "baseline",
                 "system", "delta", "ci_low", "ci_high", "p_value", "n", "baseline_run", "system_run"}


def test_gains_pair_runs_whatever_their_demo_source_and_collapsed_twins(sweep_dir: Path, tmp_path: Path) -> None:
    """spec.json also records where a run's demos came from and which runs were collapsed into it; those
    are not run fields and must not keep a baseline from its system (they did: a comparison across pools
    found no pair and gains.md came out empty, silently)."""
    from icl.analysis.gains import compute_study
    from icl.analysis.results import read_json, write_json

    comparisons = load_sweep(sweep_dir / "sweep.yaml").gains
    plain = compute_study(sweep_dir, comparisons, resamples=999).rows
    assert plain
    copy = tmp_path / sweep_dir.name
    shutil.copytree(sweep_dir, copy)
    for i, spec_path in enumerate(sorted(copy.glob("*/spec.json"))):
        spec = read_json(spec_path)
        spec["demo_source"] = f"somewhere/{i}"
        spec["leak_warnings"] = [f"{i} demo(s) resemble a scored item"] if i % 3 == 0 else []
        spec["leak_excluded"] = i
        if i % 2:
            spec["same_as"] = [{"fields": {"seed": 7}, "run_id": f"twin-{i}", "why": "identical prompts"}]
        write_json(spec_path, spec)
    marked = compute_study(copy, comparisons, resamples=999).rows
    assert [(g.comparison, g.pair, g.metric, g.delta) for g in marked] == \
        [(g.comparison, g.pair, g.metric, g.delta) for g in plain]


def test_plan_power_sizes_each_comparison_from_the_pilot(sweep_dir: Path) -> None:
    """`icl plan --power` reads the sweep's results as a pilot: per comparison, the items that detect the
    effect asked for, computed from each row's standard error (MT) with the family's level."""
    from icl.analysis.gains import compute_study
    from icl.analysis.power import items_bootstrap
    from icl.run.plan.power import power_plan

    sweep = load_sweep(sweep_dir / "sweep.yaml")
    rows = power_plan(sweep, sweep_dir, {"chrf++": 3.0}, {})
    assert {(r.comparison, r.metric) for r in rows} == {("4-shot vs 0-shot", "chrf++")}
    study = compute_study(sweep_dir, sweep.gains)  # what the plan reads: the pilot's rows at full resamples
    mt = [g for g in study.rows if g.comparison == "4-shot vs 0-shot" and g.metric == "chrf++"]
    needed = sorted(items_bootstrap(g.n, g.se, 3.0, 0.05 / g.family_size) for g in mt)
    assert (rows[0].items_median, rows[0].items_max) == (needed[len(needed) // 2], needed[-1])
    assert rows[0].available == 1012 - 20 and rows[0].seconds is None  # devtest less its held-out 20; no rate here
    result = CliRunner().invoke(app, ["plan", str(sweep_dir / "sweep.yaml"), "--power", "--pilot", str(sweep_dir),
                                      "--effect", "chrf++=3", "--effect", "accuracy=10"])
    assert result.exit_code == 0, result.output
    assert "4-shot vs 0-shot" in result.output and "items needed" in result.output
    bad = CliRunner().invoke(app, ["plan", str(sweep_dir / "sweep.yaml"), "--power", "--effect", "chrf++"])
    assert bad.exit_code == 2 and "--effect chrf++: expected METRIC=POINTS" in bad.output


def test_power_prints_the_pilot_relative_to_the_working_directory(sweep_dir: Path, tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """What `icl plan --power` prints is saved as results/<sweep>/power.txt and committed: no absolute path of
    the machine that made it (the default pilot relative to the working directory, a given one as given)."""
    shutil.copytree(sweep_dir, tmp_path / "res" / sweep_dir.name)
    monkeypatch.setenv("ICL_RESULTS_DIR", str(tmp_path / "res"))
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(app, ["plan", str(sweep_dir / "sweep.yaml"), "--power", "--effect", "chrf++=3"])
    said = " ".join(result.output.split())
    assert result.exit_code == 0, result.output
    assert f"(pilot res/{sweep_dir.name})" in said and str(tmp_path) not in said
    given = CliRunner().invoke(app, ["plan", str(sweep_dir / "sweep.yaml"), "--power", "--pilot",
                                     f"res/{sweep_dir.name}", "--effect", "chrf++=3"])
    assert f"(pilot res/{sweep_dir.name})" in " ".join(given.output.split())
