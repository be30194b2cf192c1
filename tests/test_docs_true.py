"""What the README and docs/experiments.md say about the experiment files is what the files hold.

Each claim is read from the docs with a phrasing rule and checked against the YAML it names (never against
numbers written into this test), so editing an experiment's languages without its docs fails here:

- "N ... languages" -> the MT languages; "N ... locales" -> the intent locales; "N scripts" -> the scripts
  of the MT languages; "(MT, N items)" / "(intent, N items)" -> `limit`; "0/1/5 shots", "0 vs 4 shots",
  "(0, 4 shots)" -> the shots of the task named before it (or of one of the file's tasks);
- docs/experiments.md's `runs` column -> the runs `icl plan --quick` counts (every run the sweep expands to);
- its lowres_gains section names the languages and locales of the study as run (results/lowres_gains/
  sweep.yaml), and its families table the rows and stars of results/lowres_gains/gains.json;
- its "Which conditions apply where" table says which files (`in`, where it lists file names) hold which
  intent locales.

The lowres_gains rows must keep a checkable phrasing: each must yield its language and locale counts.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from icl.languages import get_language

REPO = Path(__file__).resolve().parent.parent
TASK_WORDS = {"MT": "mt", "intent": "intent"}


def _yaml(path: Path) -> dict[str, Any]:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def _section(body: dict[str, Any], task: str) -> dict[str, Any]:
    return body.get(task) or {}


def _table_rows(doc: str, first_cell: re.Pattern[str]) -> list[tuple[str, list[str]]]:
    """(experiment file name, cells) of each markdown table row whose first cell names one."""
    rows = []
    for line in (REPO / doc).read_text(encoding="utf-8").splitlines():
        if not line.startswith("|"):
            continue
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        found = first_cell.fullmatch(cells[0])
        if found:
            rows.append((found.group(1), cells))
    return rows


README_ROWS = _table_rows("README.md", re.compile(r"`experiments/(\w+)\.yaml`"))
DOCS_ROWS = _table_rows("docs/experiments.md", re.compile(r"`(\w+)\.yaml`"))


def _shots_numbers(text: str) -> list[int]:
    return [int(n) for n in re.findall(r"\d+", text)]


def claims(text: str, body: dict[str, Any]) -> list[tuple[str, Any, Any]]:
    """(claim as written, what the doc says, what the file holds) for every claim the rules find in `text`."""
    mt, intent = _section(body, "mt"), _section(body, "intent")
    out: list[tuple[str, Any, Any]] = []
    for m in re.finditer(r"(\d+) (?:[\w-]+ ){0,2}languages", text):
        out.append((m.group(0), int(m.group(1)), len(mt.get("languages", []))))
    for m in re.finditer(r"(\d+) (?:[\w-]+ ){0,2}locales", text):
        out.append((m.group(0), int(m.group(1)), len(intent.get("languages", []))))
    for m in re.finditer(r"(\d+) scripts", text):
        scripts = {get_language(code).script for code in mt.get("languages", [])}
        out.append((m.group(0), int(m.group(1)), len(scripts)))
    for m in re.finditer(r"\((MT|intent), (\d+) items\)", text):
        out.append((m.group(0), int(m.group(2)), _section(body, TASK_WORDS[m.group(1)]).get("limit")))
    for m in re.finditer(r"(\d+(?:(?:/|, | vs )\d+)+) shots", text):
        said = _shots_numbers(m.group(1))
        named = [(w.start(), TASK_WORDS[w.group(0)]) for w in re.finditer(r"\b(MT|intent)\b", text[: m.start()])]
        if named:
            task = max(named)[1]
            out.append((m.group(0), said, list(_section(body, task).get("shots", []))))
        else:  # no task named before it: it must be the shots of one of the file's tasks
            held = [list(_section(body, t).get("shots", [])) for t in ("mt", "intent") if _section(body, t)]
            out.append((m.group(0), said, said if said in held else held))
    return out


@pytest.mark.parametrize(("name", "cells"), README_ROWS + DOCS_ROWS,
                         ids=[f"README:{n}" for n, _ in README_ROWS] + [f"experiments.md:{n}" for n, _ in DOCS_ROWS])
def test_an_experiment_row_states_what_its_file_holds(name: str, cells: list[str]) -> None:
    body = _yaml(REPO / "experiments" / f"{name}.yaml")
    wrong = [f"{claim!r}: says {said}, the file holds {held}" for claim, said, held in claims(cells[1], body)
             if said != held]
    assert wrong == []


def test_the_rows_are_found_and_lowres_gains_keeps_a_checkable_phrasing() -> None:
    files = {p.stem for p in (REPO / "experiments").glob("*.yaml")}
    assert {n for n, _ in README_ROWS} == files and {n for n, _ in DOCS_ROWS} == files  # every file, one row each
    for name, cells in [r for r in README_ROWS + DOCS_ROWS if r[0] == "lowres_gains"]:
        found = {claim.split()[-1] for claim, _, _ in claims(cells[1], _yaml(REPO / "experiments" / f"{name}.yaml"))}
        assert {"languages", "locales"} <= found, cells[1]


def test_the_runs_column_is_what_plan_quick_counts() -> None:
    from icl.sweep.load import load_sweep

    for name, cells in DOCS_ROWS:
        sweep = load_sweep(REPO / "experiments" / f"{name}.yaml")
        assert cells[2] == str(len(sweep.runs)), f"docs/experiments.md, {name}: runs {cells[2]}, the file has {len(sweep.runs)}"


def _lowres_section() -> str:
    text = (REPO / "docs" / "experiments.md").read_text(encoding="utf-8")
    return text[text.index("## lowres_gains"): text.index("\n## ", text.index("## lowres_gains") + 3)]


def test_the_study_section_names_the_languages_and_sizes_it_ran() -> None:
    ran = _yaml(REPO / "results" / "lowres_gains" / "sweep.yaml")
    section = _lowres_section()
    named = re.search(r"English -> ([^(]+?) \(FLORES-200 devtest, the first (\d+) items", section)
    assert named is not None, "the section no longer says 'English -> A, B and C (FLORES-200 devtest, the first N items'"
    languages = [get_language(n.strip()).code for n in re.split(r", | and ", named.group(1))]
    assert languages == [get_language(c).code for c in ran["mt"]["languages"]]
    assert int(named.group(2)) == ran["mt"]["limit"]
    locales = re.search(r"MASSIVE intent for ([^(]+?) \(the\s+first (\d+) test items", section)
    assert locales is not None
    assert re.split(r", | and ", locales.group(1)) == ran["intent"]["languages"]
    assert int(locales.group(2)) == ran["intent"]["limit"]


def test_the_study_families_table_is_gains_json() -> None:
    from icl.analysis.gains import is_significant
    from icl.analysis.gains_files import read_study

    rows = read_study(REPO / "results" / "lowres_gains" / "gains.json").rows
    metric_names = {"chrF++": "chrf++", "BLEU": "bleu", "accuracy": "accuracy", "off-target": "off-target"}
    table = [r for r in _lowres_section().splitlines() if re.match(r"\| \w+ / ", r)]
    assert table, "the families table is gone"
    for line in table:
        cells = [c.strip() for c in line.strip("|").split("|")]
        family = cells[0].replace(" / ", "/").replace(cells[0].split(" / ")[1], metric_names[cells[0].split(" / ")[1]])
        members = [g for g in rows if g.family == family]
        if any(g.decision is not None for g in members):  # a sequential study: rows, then its decisions
            assert [int(c) for c in cells[1:5]] == [len(members), *(sum(g.decision == d for g in members)
                                                                    for d in ("effect", "no effect", "open"))], line
        else:
            assert [int(c) for c in cells[1:4]] == [len(members), sum(g.p_value <= 0.05 for g in members),
                                                     sum(is_significant(g) for g in members)], line


def test_the_locale_table_says_which_files_hold_which_locales() -> None:
    text = (REPO / "docs" / "experiments.md").read_text(encoding="utf-8")
    section = text[text.index("## Which conditions apply where"):]
    files = {p.stem: _yaml(p) for p in (REPO / "experiments").glob("*.yaml")}
    checked = 0
    for line in section.splitlines():
        if not re.match(r"\| [a-z]{2}-[A-Z]{2} ", line):
            continue
        cells = [c.strip() for c in line.strip("|").split("|")]
        locales = re.findall(r"\b[a-z]{2}-[A-Z]{2}\b", cells[0])
        named = cells[-1].split(", ")
        if not all(n in files for n in named):  # prose ("none yet", "as before"): no file named
            continue
        for name in named:
            held = _section(files[name], "intent").get("languages", [])
            assert set(locales) <= set(held), f"{line[:60]}...: `in` says {name}, whose intent languages are {held}"
            checked += 1
    assert checked >= 2
