"""Declared data sets: a user's own TSV parallel set and CoNLL intent set run like the shipped ones,
and bad declarations fail before any model loads, naming the file and the key."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from icl.analysis.results import read_json, read_jsonl
from icl.data import builtin_registry, label_set, load_declarations, load_examples, load_flores
from icl.errors import ConfigError, IclError
from icl.run.items import build_items
from icl.sweep.load import load_sweep

REPO = Path(__file__).resolve().parent.parent

# A CoNLL intent set in xSID's format, labels unlike MASSIVE's (SNIPS-style), German utterances.
CONLL_TRAIN = [
    ("Spiel etwas von Queen auf Spotify", "PlayMusic"),
    ("Ich möchte das neue Album von Adele hören", "PlayMusic"),
    ("Spiele meine Playlist zum Entspannen", "PlayMusic"),
    ("Wie wird das Wetter morgen in Berlin", "GetWeather"),
    ("Regnet es heute Abend in Hamburg", "GetWeather"),
    ("Brauche ich am Samstag einen Regenschirm", "GetWeather"),
    ("Reserviere einen Tisch für vier Personen um acht", "BookRestaurant"),
    ("Buche mir ein italienisches Restaurant für heute Abend", "BookRestaurant"),
    ("Ich hätte gern einen Tisch im Sushi-Laden am Freitag", "BookRestaurant"),
]
CONLL_TEST = [
    ("Spiel das Lied Bohemian Rhapsody", "PlayMusic"),
    ("Wird es morgen in München schneien", "GetWeather"),
    ("Reserviere ein Restaurant für zwei Personen", "BookRestaurant"),
    ("Wie warm wird es am Wochenende", "GetWeather"),
]


def write_conll(path: Path, items: list[tuple[str, str]], sep: str = "=") -> None:
    blocks = []
    for i, (text, intent) in enumerate(items):
        tokens = "\n".join(f"{k + 1}\t{w}\t{'O'}" for k, w in enumerate(text.split()))
        blocks.append(f"# id {sep} {i}\n# text {sep} {text}\n# intent {sep} {intent}\n{tokens}\n")
    path.write_text("\n".join(blocks) + "\n", encoding="utf-8")


def write_tsv_pairs(path: Path, rows: list[tuple[str, str, str]]) -> None:
    lines = ["id\ten\tother"] + [f"{i}\t{a}\t{b}" for i, a, b in rows]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


@pytest.fixture()
def user_data(tmp_path: Path) -> Path:
    """A folder as a user would have it: their files and a sweep declaring them (nothing in icl names
    these sets). The parallel text is real: FLORES-200 English-Yoruba lines, written as TSV."""
    folder = tmp_path / "mydata"
    folder.mkdir()
    pairs = load_flores("eng", "yor")
    write_tsv_pairs(folder / "train.tsv", [(f"tr{i}", p.source, p.target) for i, p in enumerate(pairs[500:520])])
    write_tsv_pairs(folder / "test.tsv", [(f"te{i}", p.source, p.target) for i, p in enumerate(pairs[:12])])
    write_conll(folder / "de_train.conll", CONLL_TRAIN)
    write_conll(folder / "de_test.conll", CONLL_TEST, sep=":")
    (folder / "datasets.yaml").write_text("""datasets:
  yo_news:
    task: mt
    format: tsv
    path: "{split}.tsv"
    splits: [train, test]
    languages: [eng, yor]
    columns: {id: id, source: en, target: other}
  snips_de:
    task: intent
    format: conll
    path: "de_{split}.conll"
    splits: [train, test]
    languages: [deu]
""", encoding="utf-8")
    return folder


def sweep_file(folder: Path, body: str) -> Path:
    path = folder / "sweep.yaml"
    path.write_text(body, encoding="utf-8")
    return path


USER_SWEEP = """name: mydata
models: [{name: gemma-3-270m, engine: vllm}]
datasets: [datasets.yaml]
mt:
  languages: [yor]
  datasets: [yo_news]
  directions: [en-xx, xx-en]
  shots: [0, 1]
  selectors: [first]
  pools: [train]
  limit: 3
  max_tokens: 24
intent:
  languages: [deu]
  datasets: [snips_de]
  shots: [0, 2]
  modes: [rank, generate]
  selectors: [first]
  limit: 4
  max_tokens: 8
"""


def test_user_declarations_become_runs_and_items(user_data: Path) -> None:
    sweep = load_sweep(sweep_file(user_data, USER_SWEEP))
    assert {r.dataset for r in sweep.runs} == {"yo_news", "snips_de"}
    assert all("yo_news" in r.run_id or "snips_de" in r.run_id for r in sweep.runs)
    mt = next(r for r in sweep.runs if r.task == "mt" and r.src == "yor" and r.shots == 1)
    items = build_items(mt, sweep.datasets).items
    flores = load_flores("yor", "eng")
    assert [i.example.id for i in items] == ["yo_news:te0", "yo_news:te1", "yo_news:te2"]
    assert items[0].example.source == flores[0].source  # xx-en reads the stored eng-yor pairs swapped
    assert items[0].demos[0].id == "yo_news:tr0" and "Yoruba: " in (items[0].prompt.text or "")
    intent = next(r for r in sweep.runs if r.task == "intent" and r.mode == "rank" and r.shots == 2)
    built = build_items(intent, sweep.datasets)
    assert built.labels is not None and built.labels.labels == ("BookRestaurant", "GetWeather", "PlayMusic")
    assert built.labels.groups == {}
    assert len(built.items[0].candidates) == 3
    assert "Possible intents: BookRestaurant, GetWeather, PlayMusic." in (built.items[0].prompt.text or "")


def test_conll_blocks_read_with_either_separator(user_data: Path) -> None:
    spec = next(s for s in load_declarations(user_data / "datasets.yaml") if s.name == "snips_de")
    test = load_examples(spec, "test", "de")
    assert [(e.id, e.source, e.target) for e in test[:2]] == [
        ("snips_de:0", "Spiel das Lied Bohemian Rhapsody", "PlayMusic"),
        ("snips_de:1", "Wird es morgen in München schneien", "GetWeather")]
    assert {e.src_lang for e in test} == {"deu"}


def test_hf_format_reads_through_datasets_load_dataset(tmp_path: Path) -> None:
    """`format: hf` passes its arguments to `datasets.load_dataset`; with the packaged csv builder it
    needs no network, which is what this test relies on."""
    (tmp_path / "train.csv").write_text("utterance,label\nturn on the lights,iot_on\nlights off,iot_off\n",
                                        encoding="utf-8")
    (tmp_path / "test.csv").write_text("utterance,label\nswitch the lamp on,iot_on\n", encoding="utf-8")
    (tmp_path / "hf.yaml").write_text("""name: lights
task: intent
format: hf
hf: {path: csv, data_files: {train: train.csv, test: test.csv}}
splits: [train, test]
languages: [eng]
columns: {text: utterance, label: label}
""", encoding="utf-8")
    spec = load_declarations(tmp_path / "hf.yaml")[0]
    assert [(e.source, e.target) for e in load_examples(spec, "test", "eng")] == [("switch the lamp on", "iot_on")]
    assert label_set(spec, "eng").labels == ("iot_off", "iot_on")


BAD_DECLARATIONS = [
    ("task: mt\nformat: tsv\npath: x.tsv\nsplits: [test]\nlanguages: [eng, yor]\ncolums: {}\n",
     r"datasets\.bad: colums: unknown key"),
    ("task: mt\nformat: parquet\npath: x\nsplits: [test]\n", r"datasets\.bad: format: 'parquet' is not one of"),
    ("task: intent\nformat: jsonl\npath: x.jsonl\nsplits: [train, test]\nlanguages: [deu]\n",
     r"datasets\.bad: path: 2 splits need `\{split\}`"),
    ("task: intent\nformat: jsonl\npath: '{split}.jsonl'\nsplits: [train]\ntest_split: test\nlanguages: [deu]\n",
     r"datasets\.bad: test_split: 'test' is not one of the splits"),
    ("task: intent\nformat: jsonl\npath: '{split}.jsonl'\nsplits: [train, test]\n",
     r"datasets\.bad: languages: say which language"),
    ("task: mt\nformat: tsv\npath: '{split}.tsv'\nsplits: [test]\nlanguages: [eng]\n",
     r"datasets\.bad: languages: task mt names 2 language"),
    ("task: intent\nformat: jsonl\npath: '{split}.jsonl'\nsplits: [test]\nlanguages: [deu]\ncolumns: {utt: x}\n",
     r"datasets\.bad: columns\.utt: not a role of task intent"),
    ("task: mt\nformat: lines\npath: '{wikipedia}.txt'\nsplits: [test]\n",
     r"datasets\.bad: path: unknown placeholder \{wikipedia\}"),
]


@pytest.mark.parametrize(("body", "message"), BAD_DECLARATIONS)
def test_bad_declarations_name_the_key(tmp_path: Path, body: str, message: str) -> None:
    indented = "".join(f"    {line}\n" for line in body.splitlines())
    path = sweep_file(tmp_path, f"models: [{{name: m, engine: hf}}]\ndatasets:\n  bad:\n{indented}"
                                "mt: {languages: [fra]}\n")
    with pytest.raises(ConfigError, match=message) as info:
        load_sweep(path)
    assert str(path) in str(info.value) and "\n" not in str(info.value)


BAD_FILES = [
    # what is wrong, the file to write, its content, and what the one-line error must say
    ("missing column", "test.tsv", "id\ten\tyo\nte0\tHello\tBawo\n", r"test\.tsv:1: no column 'other' in the header .*columns\.target"),
    ("empty file", "test.tsv", "", r"test\.tsv: empty file \(data set yo_news"),
    ("unknown split value", None, None, r"no record has part='test'"),
]


@pytest.mark.parametrize(("what", "name", "content", "message"), BAD_FILES, ids=[b[0] for b in BAD_FILES])
def test_bad_data_fails_before_any_model_loads(user_data: Path, what: str, name: str | None, content: str | None,
                                               message: str) -> None:
    if name is not None:
        (user_data / name).write_text(content or "", encoding="utf-8")
        path = sweep_file(user_data, USER_SWEEP.replace("models: [{name: gemma-3-270m, engine: vllm}]",
                                                        "models: [{name: no-such-model, engine: hf}]"))
    else:
        (user_data / "all.jsonl").write_text(json.dumps({"t": "hi", "l": "greet", "part": "train"}) + "\n",
                                             encoding="utf-8")
        path = sweep_file(user_data, """models: [{name: no-such-model, engine: hf}]
datasets:
  greet: {task: intent, format: jsonl, path: all.jsonl, split_column: part, splits: [train, test],
          languages: [eng], columns: {text: t, label: l}}
intent: {languages: [eng], datasets: [greet], shots: [1], limit: 2}
""")
    from icl.run.runner import run_sweep

    sweep = load_sweep(path)
    with pytest.raises(IclError, match=message) as info:
        run_sweep(sweep, user_data / "results", engine_factory=lambda model: pytest.fail("an engine was started"))
    assert "\n" not in str(info.value)


def test_shipped_declarations_are_the_three_sets() -> None:
    registry = builtin_registry()
    assert registry.names() == ["flores200", "massive", "ntrex128"]
    assert registry.get("ntrex").name == "ntrex128"
    with pytest.raises(ConfigError, match="unknown data set 'flores101'"):
        registry.get("flores101")


def test_example_declarations_in_the_repository_parse() -> None:
    for path in sorted((REPO / "experiments" / "datasets").glob("*.yaml")):
        assert load_declarations(path), path


def test_readme_dataset_example_runs_as_written(tmp_path: Path) -> None:
    """docs/data.md's copyable example: its YAML blocks, written to files as the page says, load."""
    readme = (REPO / "docs" / "data.md").read_text(encoding="utf-8")
    section = readme[readme.index("## Your own data"):]
    blocks = re.findall(r"```yaml\n# (\S+)\n(.*?)```", section, re.DOTALL)
    assert blocks, "docs/data.md's data section has no ```yaml blocks starting with a file name comment"
    for name, body in blocks:
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(body, encoding="utf-8")
    files = re.findall(r"```text\n# (\S+)\n(.*?)```", section, re.DOTALL)
    for name, body in files:
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(body, encoding="utf-8")
    sweep_name = next(n for n, _ in blocks if not n.startswith("datasets/"))
    sweep = load_sweep(tmp_path / sweep_name)
    for spec in sweep.runs:
        assert build_items(spec, sweep.datasets).items


@pytest.mark.vllm
def test_user_sets_run_end_to_end_on_vllm(user_data: Path, model_dir: Path) -> None:
    from icl.run.runner import run_sweep

    sweep = load_sweep(sweep_file(user_data, USER_SWEEP))
    report = run_sweep(sweep, user_data / "results")
    assert report.engine_calls > 0 and len(report.runs) == len(sweep.runs)
    for run_id in report.runs:
        run = user_data / "results" / "mydata" / run_id
        metrics, rows = read_json(run / "metrics.json"), read_jsonl(run / "predictions.jsonl")
        assert metrics["n"] == len(rows) > 0 and metrics["errors"] == 0
        if run_id.startswith("intent"):
            assert read_json(run / "labels.json")["labels"] == ["BookRestaurant", "GetWeather", "PlayMusic"]
            assert 0 <= metrics["scores"]["accuracy"]["value"] <= 100
            if "-rank-" in run_id:
                assert all(set(r["label_scores"]) == {"BookRestaurant", "GetWeather", "PlayMusic"} for r in rows)
                assert all(r["prediction"] in r["label_scores"] for r in rows)
        else:
            assert metrics["scores"]["chrf++"]["value"] is not None
            assert all(r["id"].startswith("yo_news:te") for r in rows)
    again = run_sweep(load_sweep(sweep_file(user_data, USER_SWEEP)), user_data / "results")
    assert again.engine_calls == 0  # a finished user sweep re-runs from the cache like any other


def test_readme_long_tail_sweep_builds_every_prompt(tmp_path: Path) -> None:
    """docs/languages.md's sweep (six languages spelled as a new user would, NTREX lacking some)."""
    section = (REPO / "docs" / "languages.md").read_text(encoding="utf-8")
    (body,) = re.findall(r"```yaml\n# mine\.yaml.*?\n(.*?)```", section, re.DOTALL)
    (tmp_path / "mine.yaml").write_text(body, encoding="utf-8")
    sweep = load_sweep(tmp_path / "mine.yaml")
    assert len(sweep.runs) == 6 * 2 * 3
    assert len({r.language for r in sweep.runs}) == 6
    for spec in sweep.runs:
        items = build_items(spec, sweep.datasets).items
        assert len(items) == 20 and all(len(i.demos) == spec.shots for i in items)


def test_a_pool_without_a_file_for_the_language(tmp_path: Path) -> None:
    """NTREX-128 here lacks Portuguese: 0-shot runs need no pool; a few-shot run says what to do (the
    default pool, FLORES dev, has every FLORES language)."""
    base = """name: por
models: [{name: m, engine: hf}]
mt:
  languages: [por]
  limit: 3
  shots: [SHOTS]
  pools: [ntrex]
"""
    (tmp_path / "zero.yaml").write_text(base.replace("SHOTS", "0"), encoding="utf-8")
    sweep = load_sweep(tmp_path / "zero.yaml")
    assert all(len(build_items(spec, sweep.datasets).items) == 3 for spec in sweep.runs)
    (tmp_path / "few.yaml").write_text(base.replace("SHOTS", "1"), encoding="utf-8")
    sweep = load_sweep(tmp_path / "few.yaml")
    with pytest.raises(ConfigError, match=r"^pools: 'ntrex' has no eng-por data .*newstest2019-ref\.por\.txt.*"
                                          r"icl langs --has ntrex.*pools: \[dev\] \(flores200's own dev split\)"
                                          r".*heldout:N"):
        build_items(sweep.runs[0], sweep.datasets)
    (tmp_path / "dev.yaml").write_text(base.replace("SHOTS", "1").replace("  pools: [ntrex]\n", ""), encoding="utf-8")
    sweep = load_sweep(tmp_path / "dev.yaml")
    assert all(d.id.startswith("flores-dev:") for spec in sweep.runs for i in build_items(spec, sweep.datasets).items
               for d in i.demos)


def test_a_label_only_in_the_test_split_is_a_warning_recorded_with_the_run(user_data: Path) -> None:
    """Real test sets have rare labels their small dev sets lack: the run goes on, ranks every label,
    and says which labels no demonstration can show."""
    from test_noops import EchoEngine

    from icl.run.runner import run_sweep

    (user_data / "de_test.conll").write_text("# text = Schalte das Licht an\n# intent = SwitchLight\n1\tSchalte\tO\n"
                                             "\n# text = Wie wird das Wetter\n# intent = GetWeather\n1\tWie\tO\n",
                                             encoding="utf-8")
    path = sweep_file(user_data, """name: warn
models: [{name: fake, engine: hf}]
datasets: [datasets.yaml]
intent: {languages: [deu], datasets: [snips_de], shots: [1], modes: [rank], limit: 2}
""")
    report = run_sweep(load_sweep(path), user_data / "results", engine_factory=lambda model: EchoEngine())
    run_dir = user_data / "results" / "warn" / report.runs[0]
    labels = json.loads((run_dir / "labels.json").read_text(encoding="utf-8"))
    assert "SwitchLight" in labels["labels"] and labels["test_only"] == ["SwitchLight"]
    metrics = json.loads((run_dir / "metrics.json").read_text(encoding="utf-8"))
    assert metrics["warnings"] == [("1 labels occur only in the test split, so no demonstration can show them: "
                                   "SwitchLight")]
    rows = [json.loads(line) for line in (run_dir / "predictions.jsonl").read_text(encoding="utf-8").splitlines()]
    assert "SwitchLight" in rows[0]["label_scores"]


def test_without_a_pools_line_demos_come_from_the_declared_demo_split(tmp_path: Path) -> None:
    """A set declared with test and validation splits and `demo_split: validation` runs as declared: no
    `pools:` line needed (the task's own default, `train`, is not one of its splits)."""
    write_conll(tmp_path / "de_validation.conll", CONLL_TRAIN)
    write_conll(tmp_path / "de_test.conll", CONLL_TEST)
    (tmp_path / "datasets.yaml").write_text("""datasets:
  snips_de:
    task: intent
    format: conll
    path: "de_{split}.conll"
    splits: [test, validation]
    test_split: test
    demo_split: validation
    languages: [deu]
""", encoding="utf-8")
    sweep = load_sweep(sweep_file(tmp_path, """name: dev_demos
models: [{name: gemma-3-270m, engine: vllm}]
datasets: [datasets.yaml]
intent:
  languages: [deu]
  datasets: [snips_de]
  shots: [2]
  modes: [rank]
"""))
    (run,) = sweep.runs
    assert run.pool.name == "validation"
    texts = {text for text, _ in CONLL_TRAIN}
    for item in build_items(run, sweep.datasets).items:
        assert all(d.source in texts for d in item.demos)
