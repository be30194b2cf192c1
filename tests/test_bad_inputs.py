"""Bad inputs end in one line naming the file and line or key, exit status 2, no traceback, and
nothing already computed is lost. Then property-based tests: arbitrary configs, lexicon lines,
UniMorph lines and templates raise only icl's clean errors."""

from __future__ import annotations

import string
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from icl.cli import app
from icl.errors import DataError, IclError, TemplateError

runner = CliRunner()
GOOD = "name: ok\nmodels:\n  - {name: gemma-3-270m, engine: vllm}\nmt:\n  languages: [fra]\n  limit: 2\n"


def _yaml_case(tmp_path: Path, text: str) -> list[str]:
    path = tmp_path / "sweep.yaml"
    path.write_text(text, encoding="utf-8")
    return ["run", str(path)]


def _template_case(tmp_path: Path, body: str, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    folder = tmp_path / "prompts" / "mt"
    folder.mkdir(parents=True)
    (folder / "bad.j2").write_text(body, encoding="utf-8")
    monkeypatch.setenv("ICL_PROMPTS_DIR", str(tmp_path / "prompts"))
    return ["prompts", "render", "mt/bad", "--lang", "fra"]


def _data_case(tmp_path: Path, rel: str, text: str, monkeypatch: pytest.MonkeyPatch, args: list[str]) -> list[str]:
    path = tmp_path / "data" / rel
    path.parent.mkdir(parents=True)
    path.write_text(text, encoding="utf-8")
    monkeypatch.setenv("ICL_DATA_DIR", str(tmp_path / "data"))
    return args


ANSWER = "{% macro answer(target) %} {{ target }}{% endmacro %}\n"
CASES = {
    # case: (builder, expected fragment of the one-line error)
    "malformed yaml": (lambda t, m: _yaml_case(t, "name: x\nmodels: [\n  - a: b\n"), r"sweep.yaml:\d+: malformed YAML"),
    "yaml not a mapping": (lambda t, m: _yaml_case(t, "- 1\n- 2\n"), "sweep.yaml: : expected a mapping"),
    "unknown top key": (lambda t, m: _yaml_case(t, GOOD + "seedz: [1]\n"), "sweep.yaml: seedz: unknown key"),
    "unknown nested key": (lambda t, m: _yaml_case(t, GOOD.replace("limit: 2", "limit: 2\n  shotz: [1]")),
                           "sweep.yaml: mt.shotz: unknown key"),
    "unknown model key": (lambda t, m: _yaml_case(t, GOOD.replace("engine: vllm", "engine: vllm, gpu: 1")),
                          r"models\[0\].gpu: unknown key"),
    "unknown engine": (lambda t, m: _yaml_case(t, GOOD.replace("engine: vllm", "engine: tgi")),
                       r"models\[0\].engine: unknown engine 'tgi'"),
    "unknown language": (lambda t, m: _yaml_case(t, GOOD.replace("[fra]", "[frx]")),
                         r"mt.languages\[0\]: unknown language code 'frx' \(did you mean"),
    "wrong type": (lambda t, m: _yaml_case(t, GOOD.replace("limit: 2", "limit: two")), "mt.limit: expected int"),
    "negative shots": (lambda t, m: _yaml_case(t, GOOD + "  shots: [-1]\n"),
                       "mt.shots: shots must be >= 0"),
    "bad pool": (lambda t, m: _yaml_case(t, GOOD + "  pools: [validation]\n"),
                 r"mt.pools\[0\]: 'validation' is neither a split of flores200 \(dev, devtest\)"),
    "missing template": (lambda t, m: _yaml_case(t, GOOD + "  templates: [sonnet]\n"),
                         r"mt.templates\[0\]: .*sonnet.j2: template not found"),
    "missing sweep file": (lambda t, m: ["run", str(t / "absent.yaml")], "absent.yaml: sweep file not found"),
    "template syntax error": (lambda t, m: _template_case(t, ANSWER + "ok\n{% if %}\n", m), r"bad.j2:3: "),
    "template missing variable": (lambda t, m: _template_case(t, ANSWER + "{{ src_name }}\n{{ tgt_nam }}\n", m),
                                  r"bad.j2:3: UndefinedError: 'tgt_nam' is undefined"),
    "template reaches for internals": (lambda t, m: _template_case(t, ANSWER + "{{ source.__class__.__mro__ }}\n", m),
                                       r"bad.j2:\d+: SecurityError"),
    "template calls a missing macro": (lambda t, m: _template_case(t, "{{ source }}\n{{ answer('x') }}\n", m),
                                       r"bad.j2:2: UndefinedError: 'answer' is undefined"),
    "unknown language on the command line": (lambda t, m: ["prompts", "render", "mt/plain", "--lang", "xx-YY"],
                                             "--lang: unknown language code 'xx-YY'"),
    "missing data folder": (lambda t, m: m.setenv("ICL_DATA_DIR", str(t / "nowhere")) or
                            ["prompts", "render", "mt/plain", "--lang", "fra"], "nowhere: data folder not found"),
    "malformed lexicon line": (lambda t, m: _data_case(t, "lexicons/gatitos/en_lg.tsv", "dog\tembwa\ncat embwa\n",
                                                       m, ["lexicon", "stats", "--lang", "lug"]),
                               r"en_lg.tsv:2: "),
    "malformed UniMorph line": (lambda t, m: _data_case(t, "unimorph/lug/lug", "genda\tagenda\tV;PRS\nbroken\n", m,
                                                        ["lexicon", "morph-eval", "--lang", "lug"]),
                                r"unimorph/lug/lug:2: "),
    "malformed results file": (lambda t, m: _bad_results(t), r"predictions.jsonl:2: malformed JSON"),
    "missing results folder": (lambda t, m: ["table", str(t / "no-results")], "no-results: results folder not found"),
}


def _write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def _bad_results(tmp_path: Path) -> list[str]:
    run = tmp_path / "res" / "run1"
    run.mkdir(parents=True)
    _write(run, "spec.json", '{"run_id": "run1", "task": "mt", "mode": "generate"}')
    _write(run, "predictions.jsonl", '{"id": "a", "output": "x", "reference": "x"}\n{"id": "b", oops}\n')
    return ["score", str(tmp_path / "res")]


@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_input_is_one_clean_line(case: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    build, expected = CASES[case]
    keep = tmp_path / "results" / "earlier" / "run" / "metrics.json"  # a result computed before the error
    keep.parent.mkdir(parents=True)
    keep.write_text('{"scores": {}}', encoding="utf-8")
    args = build(tmp_path, monkeypatch)
    result = runner.invoke(app, args)
    assert result.exit_code == 2, (case, result.output)
    err = result.stderr.strip()
    assert "\n" not in err, err
    assert err.startswith("icl: error: ") and "Traceback" not in result.output
    import re

    assert re.search(expected, err), (case, err)
    assert keep.read_text() == '{"scores": {}}'  # nothing already computed is lost


def test_case_count_is_reported() -> None:
    assert len(CASES) >= 20


# ---- property-based: no crash other than the clean errors ---------------------------------------------

KEYS = ["name", "models", "seeds", "mt", "intent", "gains", "languages", "shots", "templates", "selectors", "pools",
        "limit", "max_tokens", "directions", "modes", "augment", "morph", "engine", "args", "x", "fixed_ids"]
leaf = st.one_of(st.none(), st.booleans(), st.integers(-3, 2000), st.text(max_size=12),
                 st.sampled_from(["fra", "sw-KE", "plain", "labels", "rank", "en-xx", "shared", "ntrex", "on"]))
tree = st.recursive(leaf, lambda kids: st.one_of(st.lists(kids, max_size=4),
                                                 st.dictionaries(st.sampled_from(KEYS), kids, max_size=5)),
                    max_leaves=20)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(config=st.dictionaries(st.sampled_from(KEYS), tree, max_size=6))
def test_any_config_is_accepted_or_cleanly_rejected(config: dict, tmp_path: Path) -> None:
    from icl.sweep.load import load_sweep

    path = tmp_path / "h.yaml"
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    try:
        load_sweep(path)
    except IclError as exc:
        assert "\n" not in str(exc) and str(path) in str(exc)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=st.text(alphabet=string.printable + "\t\u00e9\u0101\u1ea1", max_size=200))
def test_any_text_as_lexicon_or_unimorph_is_read_or_cleanly_rejected(text: str, tmp_path: Path) -> None:
    from icl.augment.lexical.readers import read_gatitos, read_muse, read_tsv
    from icl.augment.lexical.unimorph import read_unimorph

    path = tmp_path / "x.tsv"
    path.write_text(text, encoding="utf-8")
    for reader in (read_gatitos, read_muse, read_tsv):
        try:
            reader(path, "eng", "lug")
        except DataError as exc:
            assert str(path) in str(exc) and "\n" not in str(exc)
    try:
        read_unimorph(path)
    except DataError as exc:
        assert str(path) in str(exc) and "\n" not in str(exc)


TEMPLATE_PIECES = list("{}%#()[]|.'\"_ab:=~\n -") + [
    "{{", "}}", "{%", "%}", " source ", " demos ", "__class__", " for x in ", " endfor ", " if ", " endif ",
    " answer(", " message(", "'user'", " macro answer(target) ", " endmacro ", " call ", " endcall ", " set stop = "]
template_text = st.lists(st.sampled_from(TEMPLATE_PIECES), max_size=30).map("".join)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=template_text)
def test_any_template_renders_or_fails_cleanly(body: str, tmp_path: Path) -> None:
    from icl.data import load_flores
    from icl.prompts.render import answers, load_template, render
    from icl.tasks import TASKS

    folder = tmp_path / "p" / "mt"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "h.j2").write_text(body, encoding="utf-8")
    pair = load_flores("eng", "fra")[0]
    try:
        tpl = load_template("mt/h", root=tmp_path / "p")
        ctx = TASKS["mt"].context(pair, [pair], [], None)
        render(tpl, ctx)
        answers(tpl, ctx, [{"target": "x"}])
    except TemplateError as exc:
        assert "h.j2" in str(exc)
