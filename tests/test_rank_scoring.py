"""Rank scoring in one tree-masked pass (icl.engines.tree_score) gives the scores of a plain forward.

A plain full-sequence forward over `context + label`, one label at a time, is the definition of a label's
score; every tree-scored label must match it within 1e-4 in float32 (the two differ only in the order of
floating-point sums). A tiny random Gemma 3 in float64 checks the masks and positions exactly (1e-9),
sliding windows included; the real Gemma-3-270m checks real MASSIVE prompts built by icl: plain, longer
than the 512-token sliding window, and chat, against the same forward with the context run once and
carried by the model's KV cache (equal to the full forward in float64, checked on the tiny model). The
vLLM test checks the predicted labels against the vLLM trie path that scored the quickstart before.
"""

from __future__ import annotations

import json
import random
import subprocess
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest
from conftest import engine_env

from icl.engines.tree_score import TreeScorer, _subtree, common_prefix, prefix_groups
from icl.run.items import PromptItem, build_items
from icl.sweep.load import load_sweep


@pytest.mark.parametrize(("contexts", "groups"), [
    ([[1, 2, 3, 4, 5], [1, 2, 3, 4, 6], [1, 2, 3, 7, 8]], [(0, 3, 3)]),
    # the next run's prompts share only the first token: a new group, not a 1-token prefix for all
    ([[1, 2, 3, 4, 5], [1, 2, 3, 4, 6], [1, 9, 9, 9, 9]], [(0, 2, 4), (2, 3, 4)]),
    # each item keeps its last context token out of the prefix, even when one context holds another
    ([[1, 2, 3], [1, 2, 3, 4]], [(0, 2, 2)]),
    ([[1]], [(0, 1, 0)]),
    ([], []),
])
def test_prefix_groups(contexts: list[list[int]], groups: list[tuple[int, int, int]]) -> None:
    assert prefix_groups(contexts) == groups


def test_common_prefix() -> None:
    assert common_prefix([[1, 2, 3], [1, 2, 4], [1, 2]]) == 2
    assert common_prefix([[], [1]]) == 0


def test_subtree_computes_internal_nodes_only() -> None:
    """Labels 5-6, 5-7 and 8 after context 1 2 3 (prefix 1 2): the pass holds 3 and 5; 6, 7 and 8 are
    leaves, read from their parents' distributions."""
    tree = _subtree([1, 2, 3], 2, [[5, 6], [5, 7], [8]])
    assert tree.tokens == [3, 5]
    assert tree.parents == [-1, 0]
    assert tree.depths == [2, 3]
    assert tree.steps == [[(0, 5), (1, 6)], [(0, 5), (1, 7)], [(0, 8)]]
    with pytest.raises(ValueError, match="no tokens"):
        _subtree([1, 2], 1, [[]])


def _tiny_gemma(window: int) -> Any:
    import torch
    from transformers import Gemma3ForCausalLM, Gemma3TextConfig

    torch.manual_seed(0)
    config = Gemma3TextConfig(vocab_size=97, hidden_size=32, intermediate_size=64, num_hidden_layers=4,
                              num_attention_heads=2, num_key_value_heads=1, head_dim=16, sliding_window=window,
                              layer_types=["sliding_attention", "full_attention"] * 2, max_position_embeddings=256)
    return Gemma3ForCausalLM(config).double().eval()


def _plain(model: Any, context: Sequence[int], continuations: Sequence[Sequence[int]]) -> list[float]:
    """Each label's score from plain forwards over context + label (labels of one length in one batch)."""
    import torch

    scores: dict[int, float] = {}
    by_length: dict[int, list[int]] = {}
    for j, cont in enumerate(continuations):
        by_length.setdefault(len(cont), []).append(j)
    with torch.inference_mode():
        for length, js in by_length.items():
            ids = torch.tensor([list(context) + list(continuations[j]) for j in js])
            logp = torch.log_softmax(model(ids, logits_to_keep=length + 1).logits[:, :-1].double(), dim=-1)
            for row, j in enumerate(js):
                scores[j] = float(sum(logp[row, i, t] for i, t in enumerate(continuations[j])))
    return [scores[j] for j in range(len(continuations))]


def _plain_cached(model: Any, context: Sequence[int], continuations: Sequence[Sequence[int]]) -> list[float]:
    """The scores `_plain` gives, with the context run once: the model's own KV cache (the one
    `generate` uses), repeated for the labels of one length, carries it into one batched forward of
    their tokens, so an 800-token context is not run again for each of 60 labels.
    test_cached_oracle_equals_plain_forwards checks the two agree in float64, sliding windows included."""
    import copy

    import torch

    with torch.inference_mode():
        prefill = model(torch.tensor([list(context)]), use_cache=True, logits_to_keep=1)
        first = torch.log_softmax(prefill.logits[0, -1].double(), dim=-1)
        scores = {j: float(first[cont[0]]) for j, cont in enumerate(continuations)}
        by_length: dict[int, list[int]] = {}
        for j, cont in enumerate(continuations):
            if len(cont) > 1:  # the label's own tokens predict its later ones
                by_length.setdefault(len(cont), []).append(j)
        for js in by_length.values():
            cache = copy.deepcopy(prefill.past_key_values)
            cache.batch_repeat_interleave(len(js))
            ids = torch.tensor([list(continuations[j][:-1]) for j in js])
            logp = torch.log_softmax(model(ids, past_key_values=cache, use_cache=True).logits.double(), dim=-1)
            for row, j in enumerate(js):
                scores[j] += float(sum(logp[row, i, t] for i, t in enumerate(continuations[j][1:])))
    return [scores[j] for j in range(len(continuations))]


def _random_requests(seed: int) -> list[tuple[list[int], list[list[int]]]]:
    rng = random.Random(seed)
    run_a = [2] + [rng.randrange(4, 97) for _ in range(20)]
    run_b = [2, 3] + [rng.randrange(4, 97) for _ in range(12)]
    requests = []
    for i in range(7):
        base = run_a[: 14 + i] if i < 5 else run_b
        ctx = base + [rng.randrange(4, 97) for _ in range(rng.randrange(1, 6))]
        conts = [[rng.randrange(4, 97) for _ in range(rng.randrange(1, 4))] for _ in range(5)]
        requests.append((ctx, conts + [[5, 6], [5, 7], [5, 6, 8], [9]]))
    requests.append(([2], [[4], [4, 5]]))  # a context of one token (BOS only)
    return requests


@pytest.fixture
def one_thread() -> Iterator[None]:
    """Tiny matrices: threads only add overhead (torch's setting is restored afterwards)."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.mark.parametrize("window", [3, 8, 1000])
def test_tree_scores_equal_plain_forwards_exactly(window: int, one_thread: None) -> None:
    """float64, so any difference is a wrong mask, position or cache, not rounding. Contexts of 15-26
    tokens against windows of 3 and 8 exercise the sliding layers' masks and the prefix keys they drop;
    two runs' prompts in one call exercise the prefix groups, later calls the kept prefix, and packs of
    one item, a few items and all items the packing, with the vocabulary projection whole and tiled."""
    model = _tiny_gemma(window)
    requests = _random_requests(0)
    want = [_plain(model, ctx, conts) for ctx, conts in requests]
    for pack_tokens, proj_rows, vocab_block in ((1, 256, 8192), (40, 3, 7), (10_000, 5, 64)):
        # projection tiles smaller than a call's rows and the 97-token vocabulary: block edges inside
        # the rows and tokens read
        scorer = TreeScorer(model, pack_tokens=pack_tokens, proj_rows=proj_rows, vocab_block=vocab_block)
        for first, end in ((0, 8), (3, 8), (0, 2)):
            got = scorer.score(requests[first:end])
            assert max(abs(a - b) for g, w in zip(got, want[first:end], strict=True)
                       for a, b in zip(g, w, strict=True)) < 1e-9, (pack_tokens, first, end)


@pytest.mark.parametrize("window", [3, 8, 1000])
def test_cached_oracle_equals_plain_forwards(window: int, one_thread: None) -> None:
    """The real-model test's oracle (context once, then each label through the KV cache) is the plain
    forward's definition: equal in float64, labels crossing the 3- and 8-token windows included."""
    model = _tiny_gemma(window)
    for ctx, conts in _random_requests(1):
        assert max(abs(a - b) for a, b in zip(_plain_cached(model, ctx, conts), _plain(model, ctx, conts),
                                              strict=True)) < 1e-9


def test_the_window_matters_in_the_tiny_model(one_thread: None) -> None:
    """Guards the test above: with a 3-token window the scores do differ from full attention."""
    ctx, conts = _random_requests(0)[0]
    assert abs(_plain(_tiny_gemma(3), ctx, conts)[0] - _plain(_tiny_gemma(1000), ctx, conts)[0]) > 1e-6


# -- the real model on real prompts ----------------------------------------------------------------

SWEEP = """
name: rank-{name}
models: [{{name: gemma-3-270m, engine: hf}}]
intent:
  languages: [{lang}]
  shots: [{shots}]
  templates: [{template}]
  selectors: [first]
  modes: [rank]
  limit: {limit}
"""


def _items(tmp_path: Path, name: str, lang: str, shots: int, template: str, limit: int) -> list[PromptItem]:
    path = tmp_path / f"{name}.yaml"
    path.write_text(SWEEP.format(name=name, lang=lang, shots=shots, template=template, limit=limit), encoding="utf-8")
    sweep = load_sweep(path)
    return [item for spec in sweep.runs for item in build_items(spec, sweep.datasets).items]


@pytest.fixture(scope="module")
def hf_engine(model_dir: Path) -> Iterator[Any]:
    """The hf engine, loaded once for these tests."""
    from icl.engines.hf_engine import HfEngine

    engine = HfEngine("gemma-3-270m", threads=2)
    yield engine
    engine.close()


CASES = {
    "plain": ("en-US", 0, "labels", 200, 512),  # language, shots, template, prompt tokens (min, max)
    "longer than the window": ("sw-KE", 24, "labels", 513, 2000),
    "chat": ("fr-FR", 2, "chat", 200, 512),
}


@pytest.mark.model
@pytest.mark.parametrize("case", list(CASES))
def test_every_label_matches_a_plain_forward(case: str, hf_engine: Any, tmp_path: Path) -> None:
    """One call of two prompts (the engine's prefix, pack and group paths); every label of the first
    against plain forwards, and today's per-label tokenisation kept."""
    from icl.engines import split_continuation

    lang, shots, template, low, high = CASES[case]
    items = _items(tmp_path, case.replace(" ", "-"), lang, shots, template, limit=2)
    got = hf_engine.score([it.prompt for it in items], [it.candidates for it in items])
    item = items[0]
    text, special = hf_engine._text(item.prompt)
    pairs = [split_continuation(hf_engine.tokenizer, text, c, add_special=special) for c in item.candidates]
    ctx = pairs[0][0]
    assert low <= len(ctx) <= high, len(ctx)
    want = _plain_cached(hf_engine.model, ctx, [cont for _, cont in pairs])
    diffs = [abs(a - b) for a, b in zip(got[0], want, strict=True)]
    assert len(diffs) == 60 and max(diffs) < 1e-4, max(diffs)
    assert max(range(60), key=got[0].__getitem__) == max(range(60), key=want.__getitem__)


VLLM_SCRIPT = """
import json, sys
from pathlib import Path
from icl.engines.vllm_engine import VllmEngine
from icl.run.items import build_items
from icl.sweep.load import load_sweep

sweep = load_sweep(Path(sys.argv[1]))
items = [it for spec in sweep.runs if spec.task == "intent" for it in build_items(spec, sweep.datasets).items[:2]]
engine = VllmEngine("gemma-3-270m")
out = {}
for scoring in ("trie", "tree"):
    engine.scoring = scoring
    out[scoring] = engine.score([it.prompt for it in items], [it.candidates for it in items])
engine.close()
print("RESULT " + json.dumps(out))
"""


@pytest.mark.vllm
def test_quickstart_labels_match_the_vllm_trie_path(tmp_path: Path) -> None:
    """The quickstart's intent items (two per locale and shot count): the same predicted label as vLLM's
    trie path, and scores within the two engines' kernel differences (measured: under 1e-4)."""
    quickstart = Path(__file__).resolve().parent.parent / "experiments" / "quickstart.yaml"
    proc = subprocess.run([sys.executable, "-c", VLLM_SCRIPT, str(quickstart)], env=engine_env(),
                          capture_output=True, text=True, timeout=600, check=False)
    assert proc.returncode == 0, proc.stderr[-3000:]
    line = next(x for x in proc.stdout.splitlines() if x.startswith("RESULT "))
    out = json.loads(line[len("RESULT "):])
    assert len(out["tree"]) == 12
    for trie, tree in zip(out["trie"], out["tree"], strict=True):
        assert max(range(60), key=trie.__getitem__) == max(range(60), key=tree.__getitem__)
        assert max(abs(a - b) for a, b in zip(trie, tree, strict=True)) < 1e-3
