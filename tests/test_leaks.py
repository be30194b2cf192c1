"""Demos never carry the answer (icl.run.leaks), and a demo says what language it is in.

The normaliser and the similarity are tables of cases; the rest reads the real data (FLORES-200,
MASSIVE) or small declared sets written here, and builds prompts the way `icl run` and `icl plan` do,
without a model.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from icl.analysis.results import read_json
from icl.analysis.scoring import write_metrics
from icl.errors import ConfigError
from icl.run import leaks
from icl.run.items import build_items
from icl.run.prepare import pool_problems, prepare_runs
from icl.spec import ModelSpec, Pool, RunSpec
from icl.sweep.load import load_sweep
from icl.values import Example


@pytest.mark.parametrize(("text", "normalised"), [
    ("Show all reminders!", "show all reminders"),
    ("  show\tall\n reminders ", "show all reminders"),
    ("ZEIGE ALLE ERINNERUNGEN.", "zeige alle erinnerungen"),
    ("Straße", "strasse"),                      # casefold, not lower
    ("ﬁne", "fine"),                            # NFKC: the ligature is two letters
    ("dis-moi la date d'aujourd'hui", "dis moi la date d aujourd hui"),
    ("«Bonjour», dit-il.", "bonjour dit il"),   # any Unicode punctuation
    ("café", "café"),                           # NFKC composes; accents stay
    ("$5 + 3", "$5 + 3"),                       # symbols are text
    ("?!...", ""),
])
def test_normalise(text: str, normalised: str) -> None:
    assert leaks.normalise(text) == normalised


@pytest.mark.parametrize(("a", "b", "low", "high"), [
    ("Show all reminders!", "show all  reminders", 1.0, 1.0),
    ("", "", 0.0, 0.0),
    ("show all reminders", "", 0.0, 0.0),
    ("set an alarm for seven am", "set an alarm for six am", 0.70, 0.71),       # a template's other instance
    ("show all reminders", "show all reminders please", 0.71, 0.73),           # near miss
    ("He built a WiFi door bell, he said.", "He built a Wi-Fi door bell, he said.", 0.85, 0.86),
    ("niambie hali ya hewa wiki hii", "niambie hali ya hewa ya wiki hii", 0.96, 0.97),  # near duplicate
    ("During his trip, Iwasaki ran into trouble on many occasions.",
     "During his trip, Iwasaki ran into troubles on many occasions.", 0.91, 0.92),  # one letter: a leak
    ("what time is it", "play some jazz", 0.0, 0.05),
])
def test_similarity(a: str, b: str, low: float, high: float) -> None:
    assert low <= leaks.similarity(a, b) <= high
    assert leaks.similarity(a, b) == leaks.similarity(b, a)


def _ex(i: str, source: str, target: str = "x", origin: str = "set-test", lang: str = "eng") -> Example:
    return Example(i, source, target, lang, lang, origin)


def test_index_finds_the_same_item_the_same_text_and_near_misses() -> None:
    scored = [_ex("s:0", "Show all reminders"), _ex("s:1", "Play some jazz from the seventies please")]
    index = leaks.scored_index(scored, parallel=False)
    same = index.overlap(_ex("s:1", "Spiel Jazz", lang="deu"), parallel=False)  # same id, other language
    assert same is not None and same.same_item and "in another language" in same.describe()
    exact = index.overlap(_ex("t:9", "show all reminders!", origin="set-dev"), parallel=False)
    assert exact is not None and exact.similarity == 1.0 and exact.item.id == "s:0"
    near = index.overlap(_ex("t:8", "play some jazz from the seventies", origin="set-dev"), parallel=False)
    assert near is not None and leaks.NEAR <= near.similarity < leaks.LEAK
    assert index.overlap(_ex("t:7", "what is the weather", origin="set-dev"), parallel=False) is None
    kept, dropped = leaks.exclude([_ex("t:9", "show all reminders!", origin="set-dev"),
                                   _ex("t:7", "what is the weather", origin="set-dev")], scored, parallel=False)
    assert dropped == 1 and [ex.id for ex in kept] == ["t:7"]
    report = leaks.check((), [_ex("t:8", "play some jazz from the seventies", origin="set-dev")], scored, False)
    assert not report.leaks and len(report.near) == 1
    assert "resemble a scored item" in leaks.near_warnings(report)[0]


def _mt(tgt: str, pool: str, shots: int = 1, selector: str = "first", limit: int = 5, dataset: str = "",
        src: str = "eng", template: str = "mt/plain") -> RunSpec:
    return RunSpec(sweep="t", task="mt", model=ModelSpec("none", "hf"), src=src, tgt=tgt, template=template,
                   shots=shots, selector=selector, seed=0, pool=Pool(pool), limit=limit, dataset=dataset)


def test_flores_devtest_in_another_language_is_stopped() -> None:
    """A French devtest pool for an English->Wolof devtest run: the scored items in another language,
    stopped whichever demos the selector would show."""
    for selector in ("first", "shared"):
        with pytest.raises(ConfigError) as exc:
            build_items(_mt("wol", "devtest:fra", selector=selector))
        message = str(exc.value)
        assert "\n" not in message
        assert message.startswith("pools: 'devtest:fra' (flores200/devtest:fra) shows scored items as demos: "
                                  "demo flores:0 (fra-wol, ")
        assert "is scored item flores:0 in another language" in message and "heldout:N" in message


def test_massive_en_us_test_pool_for_fr_fr_test_is_stopped() -> None:
    """MASSIVE ids are shared across locales: en-US test is fr-FR test in English."""
    spec = RunSpec(sweep="t", task="intent", model=ModelSpec("none", "hf"), src="fra", tgt="fra",
                   template="intent/labels", shots=2, selector="bm25", seed=0, pool=Pool("test:en-US"), limit=4,
                   mode="rank")
    with pytest.raises(ConfigError, match=r"^pools: 'test:en-US' \(massive/test:eng\) shows scored items as demos: "
                                          r"demo massive:\d+ \(eng, .*\) is scored item massive:\d+ in another language"):
        build_items(spec)
    # the shipped cross-locale design (train:en-US) is untouched
    ok = build_items(RunSpec(sweep="t", task="intent", model=ModelSpec("none", "hf"), src="fra", tgt="fra",
                             template="intent/labels", shots=2, selector="bm25", seed=0, pool=Pool("train:en-US"),
                             limit=4, mode="rank"))
    assert all(d.origin == "massive-train" for item in ok.items for d in item.demos)


def _conll(path: Path, items: list[tuple[str, str, str]]) -> None:
    blocks = [f"# id = {i}\n# text = {text}\n# intent = {label}\n1\t{text.split()[0]}\tO\n" for i, text, label in items]
    path.write_text("\n".join(blocks) + "\n", encoding="utf-8")


TEST_DE = [("1", "Zeige alle Erinnerungen", "reminder_list"), ("2", "Wie wird das Wetter morgen", "weather"),
           ("3", "Spiel etwas von Queen", "play_music"), ("4", "Stelle einen Wecker auf sieben Uhr", "alarm_set"),
           ("5", "Wie spät ist es in Tokio", "time_query")]


def _declared_sweep(tmp_path: Path, dev: list[tuple[str, str, str]], pool: str = "dev", shots: int = 4) -> object:
    data = tmp_path / "data"
    data.mkdir(exist_ok=True)
    _conll(data / "de.test.conll", TEST_DE)
    _conll(data / "de.dev.conll", dev)
    (tmp_path / "s.yaml").write_text(f"""
name: s
models: [{{name: gemma-3-270m, engine: hf}}]
datasets:
  xsid:
    task: intent
    format: conll
    path: data/{{iso1}}.{{split}}.conll
    splits: [dev, test]
    demo_split: dev
    columns: {{id: id}}
intent:
  languages: [deu]
  datasets: [xsid]
  shots: [{shots}]
  selectors: [bm25]
  pools: ["{pool}"]
  modes: [rank]
""", encoding="utf-8")
    return load_sweep(tmp_path / "s.yaml")


def test_declared_conll_dev_repeating_three_test_utterances_is_stopped(tmp_path: Path) -> None:
    dev = [("10", "zeige alle erinnerungen!", "reminder_list"), ("11", "Wie wird das Wetter morgen?", "weather"),
           ("12", "Spiel etwas von Queen.", "play_music"), ("13", "Öffne meine Einkaufsliste", "lists_query")]
    sweep = _declared_sweep(tmp_path, dev)
    with pytest.raises(ConfigError) as exc:
        prepare_runs(sweep.runs, sweep.datasets)
    message = str(exc.value)
    assert message.startswith("pools: 'dev' (xsid/dev) shows scored items as demos: demo xsid:10 (deu, "
                              '"zeige alle erinnerungen!") repeats scored item xsid:1; ')
    assert "xsid:11" in message and "xsid:12" in message and "xsid:13" not in message
    assert "(1 of 1 runs: intent-xsid-deu-labels-4shot-bm25-rank-s0-" in message
    # dev without the repeats builds
    clean = _declared_sweep(tmp_path, dev[3:] + [("14", "Schalte das Licht aus", "iot_off")], shots=2)
    assert len(prepare_runs(clean.runs, clean.datasets).runs) == 1


def test_tsv_mt_set_with_a_test_line_copied_into_dev_is_stopped(tmp_path: Path) -> None:
    (tmp_path / "test.tsv").write_text("id\ten\tyo\n0\tHe built a WiFi door bell, he said.\tO ko ago ilekun WiFi, O wi.\n"
                                       "1\tOver four million people went to Rome.\tÓ kọjá èyan milionu mẹ́rin tó lọsí Romu.\n",
                                       encoding="utf-8")
    (tmp_path / "dev.tsv").write_text("id\ten\tyo\n0\tThe cat sat on the mat.\tOlogbo joko lori aga.\n"
                                      "1\tOver four million people went to Rome.\tÓ kọjá èyan milionu mẹ́rin tó lọsí Romu.\n",
                                      encoding="utf-8")
    (tmp_path / "s.yaml").write_text("""
name: s
models: [{name: gemma-3-270m, engine: hf}]
datasets:
  yo_news: {task: mt, format: tsv, path: "{split}.tsv", splits: [dev, test], demo_split: dev,
            languages: [eng, yor], columns: {id: id, source: en, target: yo}}
mt: {languages: [yor], datasets: [yo_news], shots: [2], selectors: [first], pools: [dev]}
""", encoding="utf-8")
    sweep = load_sweep(tmp_path / "s.yaml")
    with pytest.raises(ConfigError, match=r"^pools: 'dev' \(yo_news/dev\) shows scored items as demos: demo yo_news:1 "
                                          r'\(eng-yor, "Over four million people went to Rome\."\) repeats scored '
                                          r"item yo_news:1; remove the repeated lines.*write `leaks: exclude`"):
        prepare_runs(sweep.runs, sweep.datasets)
    # the sweep that means it: the repeated line leaves the pool, and the run says so
    text = (tmp_path / "s.yaml").read_text(encoding="utf-8").replace("pools: [dev]}", "pools: [dev], leaks: exclude}")
    (tmp_path / "s.yaml").write_text(text, encoding="utf-8")
    meant = load_sweep(tmp_path / "s.yaml")
    assert meant.runs[0].run_id != sweep.runs[0].run_id and meant.runs[0].leaks == "exclude"
    built = prepare_runs(meant.runs, meant.datasets).built[meant.runs[0]]
    assert built.leak_excluded == 1 and {d.id for item in built.items for d in item.demos} == {"yo_news:0"}


def test_massive_train_repeats_are_refused_unless_the_sweep_excludes_them(tmp_path: Path) -> None:
    """MASSIVE train holds some sw-KE test utterances word for word (after case and punctuation): a BM25 pool
    of train would show them; `leaks: exclude` (as quickstart.yaml writes) drops them and counts them."""
    body = ("name: s\nmodels: [{name: gemma-3-270m, engine: hf}]\n"
            "intent: {languages: [sw-KE], shots: [4], selectors: [bm25], modes: [rank], pools: [train], limit: 40%s}\n")
    (tmp_path / "s.yaml").write_text(body % "", encoding="utf-8")
    sweep = load_sweep(tmp_path / "s.yaml")
    with pytest.raises(ConfigError, match="shows scored items as demos: demo massive:"):
        prepare_runs(sweep.runs, sweep.datasets)
    (tmp_path / "s.yaml").write_text(body % ", leaks: exclude", encoding="utf-8")
    meant = load_sweep(tmp_path / "s.yaml")
    built = prepare_runs(meant.runs, meant.datasets).built[meant.runs[0]]
    assert built.leak_excluded and built.leak_excluded > 0


def test_heldout_overlap_is_excluded_and_counted(tmp_path: Path) -> None:
    """`heldout:2` means to share the scored split: the held-out line that repeats a scored line is left
    out of the pool (not refused), and spec.json says how many, without changing the run id."""
    from icl.run.runner import _write_spec
    from icl.spec import spec_to_json

    lines = ["He built a WiFi door bell, he said.", "The cat sat on the mat.", "Over four million people went.",
             "She reads every night.", "he built a wifi door bell he said"]
    (tmp_path / "test.tsv").write_text("id\ten\tyo\n" + "".join(f"{i}\t{s}\tyo {i}\n" for i, s in enumerate(lines)),
                                       encoding="utf-8")
    (tmp_path / "s.yaml").write_text("""
name: s
models: [{name: gemma-3-270m, engine: hf}]
datasets:
  yo_news: {task: mt, format: tsv, path: "{split}.tsv", splits: [test], languages: [eng, yor],
            columns: {id: id, source: en, target: yo}}
mt: {languages: [yor], datasets: [yo_news], directions: [xx-en], shots: [2], selectors: [first], pools: ["heldout:2"]}
""", encoding="utf-8")
    sweep = load_sweep(tmp_path / "s.yaml")
    spec = sweep.runs[0]
    run_items = prepare_runs(sweep.runs, sweep.datasets).built[spec]
    assert run_items.leak_excluded == 1
    assert {d.id for item in run_items.items for d in item.demos} == {"yo_news:1"}
    _write_spec(tmp_path, spec, run_items, ())
    written = read_json(tmp_path / spec.run_id / "spec.json")
    assert written["leak_excluded"] == 1 and written["run_id"] == spec.run_id == spec_to_json(spec)["run_id"]
    assert "leak_excluded" not in spec_to_json(spec)


def test_near_misses_are_warned_in_metrics(tmp_path: Path) -> None:
    """A demo below the refusing threshold but close is written into spec.json and metrics.json (and
    stays there when `icl score` re-scores)."""
    from icl.analysis.results import write_json

    run_dir = tmp_path / "run"
    run_dir.mkdir()
    report = leaks.check((), [_ex("d:1", "show all reminders please", origin="set-dev")],
                         [_ex("s:0", "Show all reminders")], parallel=False)
    write_json(run_dir / "spec.json", {"run_id": "r", "leak_warnings": leaks.near_warnings(report)})
    rows = [{"prediction": "a", "reference": "a", "output": "a"}]
    body = write_metrics(run_dir, "r", "intent", "generate", rows)
    assert body["warnings"] == [(
        "1 demo(s) resemble a scored item (trigram similarity 0.7-0.9, below the 0.9 that refuses a run): "
        "demo d:1 (eng, \"show all reminders please\") nearly repeats (0.72) scored item s:0")]


def test_a_cross_language_pool_renders_the_demo_language() -> None:
    """`dev:fra` on an English->Wolof run: the demo is French and says so; the query stays English."""
    prompt = build_items(_mt("wol", "dev:fra", limit=1)).items[0].prompt.text
    demo, query = prompt.split("\n\n")
    assert demo.startswith("French: ") and "\nWolof: " in demo and "English:" not in demo
    assert query.startswith("English: ") and query.endswith("\nWolof:")
    quoted = build_items(_mt("eng", "dev:fra", limit=1, src="wol", template="mt/quoted")).items[0].prompt.text
    assert 'in English?\nA: "' in quoted
    chat = build_items(_mt("wol", "dev:fra", limit=1, template="mt/chat")).items[0].prompt.messages
    assert chat is not None and chat[1][1].startswith("French: ") and not chat[3][1].startswith("English")


def test_a_same_language_pool_renders_as_before() -> None:
    """The query's own languages: every demo is labelled with the query's names, byte for byte."""
    item = build_items(_mt("wol", "dev", shots=2, limit=1)).items[0]
    d0, d1 = item.demos
    assert item.prompt.text == (f"English: {d0.source}\nWolof: {d0.target}\n\nEnglish: {d1.source}\nWolof: "
                                f"{d1.target}\n\nEnglish: {item.example.source}\nWolof:")


def test_prompts_render_and_plan_quick_stop_on_a_leaking_pool(tmp_path: Path) -> None:
    from icl.cli.main import app

    result = CliRunner().invoke(app, ["prompts", "render", "mt/plain", "--lang", "wol", "--shots", "1",
                                      "--pool", "devtest:fra", "--selector", "first"])
    assert result.exit_code == 2 and "pools: 'devtest:fra' (flores200/devtest:fra) shows scored items" in result.output
    (tmp_path / "s.yaml").write_text("""
name: s
models: [{name: gemma-3-270m, engine: hf}]
mt: {languages: [wol], shots: [1], selectors: [shared], pools: ["devtest:fra", dev], limit: 3}
""", encoding="utf-8")
    sweep = load_sweep(tmp_path / "s.yaml")
    problems = pool_problems(sweep.runs, sweep.datasets)
    assert problems.startswith("pools: 'devtest:fra'") and "(1 of 2 runs: mt-eng-wol-plain-1shot-shared-" in problems


def test_a_language_list_on_a_per_language_path_names_the_fix(tmp_path: Path) -> None:
    (tmp_path / "s.yaml").write_text("""
name: s
models: [{name: gemma-3-270m, engine: hf}]
datasets:
  xsid: {task: intent, format: conll, path: "data/{iso1}.{split}.conll", splits: [dev, test],
         languages: [deu, ind, tur, eng]}
intent: {languages: [deu], datasets: [xsid]}
""", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"datasets\.xsid: languages: \['deu', 'ind', 'tur', 'eng'\] is not needed "
                                          r"here: the path's \{iso1\} already gives each file's language \(one file "
                                          r"per language\), so drop `languages:`"):
        load_sweep(tmp_path / "s.yaml")


def test_a_split_the_path_cannot_fill_says_what_to_write(tmp_path: Path) -> None:
    (tmp_path / "s.yaml").write_text("""
name: s
models: [{name: gemma-3-270m, engine: hf}]
datasets:
  xsid: {task: intent, format: conll, path: "data/de.test.conll", splits: [dev, test], languages: [deu]}
intent: {languages: [deu], datasets: [xsid]}
""", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"path: 2 splits need `\{split\}` in the path or a split_column: write "
                                          r"path: 'data/de\.\{split\}\.conll' \(one file per split: "
                                          r"data/de\.dev\.conll, data/de\.test\.conll\)"):
        load_sweep(tmp_path / "s.yaml")
    data = tmp_path / "data"
    data.mkdir()
    _conll(data / "de.test.conll", TEST_DE)
    _conll(data / "de.validation.conll", TEST_DE[:2])
    (tmp_path / "s.yaml").write_text("""
name: s
models: [{name: gemma-3-270m, engine: hf}]
datasets:
  xsid: {task: intent, format: conll, path: "data/{iso1}.{split}.conll", splits: [dev, test], demo_split: dev}
intent: {languages: [deu], datasets: [xsid], shots: [1]}
""", encoding="utf-8")
    sweep = load_sweep(tmp_path / "s.yaml")
    with pytest.raises(ConfigError, match=r"the path finds files for splits test, validation here, not 'dev': "
                                          r"write splits: \[test, validation\]"):
        prepare_runs(sweep.runs, sweep.datasets)


def test_icl_author_refuses_a_leaking_pool_for_its_column() -> None:
    """The page builds its prompts through the same path: a leaking pool is an error beside the editor."""
    from types import SimpleNamespace

    from icl.author.preview import build
    from icl.author.settings import Setting, run_spec
    from icl.config import prompts_dir
    from icl.data import builtin_registry

    registry = builtin_registry()
    spec = run_spec(Setting("mt", "plain", "wol", shots=1, pool="devtest:fra", items=2), ModelSpec("none", "hf"),
                    registry)
    answerer = SimpleNamespace()  # never asked: the pool is refused first
    with pytest.raises(ConfigError, match=r"^pools: 'devtest:fra' \(flores200/devtest:fra\) shows scored items"):
        build(spec, (prompts_dir() / "mt" / "plain.j2").read_text(encoding="utf-8"), registry, answerer)  # type: ignore[arg-type]
