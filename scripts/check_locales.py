"""Which intent conditions apply to each MASSIVE locale of the data folder, by building real prompts.

    .venv/bin/python scripts/check_locales.py [LOCALE ...]

Per locale: gold in-language train; self-labelled demos (built with a stand-in labeller that gives every
label the same score, so the pipeline is exercised without a model: the model's labels are another
question); synthetic demos and dictionary hints (need a lexicon in lexicons/catalogue.yaml); and the
`similar` selector across languages: of 60 test utterances, how often the nearest of 300 en-US test
utterances (multilingual-e5-small) is the parallel one (MASSIVE is id-parallel) or has the same intent.
The README's per-locale table (Experiments) is this script's output.
"""

import sys

import numpy as np

from icl.config import data_dir
from icl.data import builtin_registry, load_massive
from icl.errors import IclError
from icl.languages import get_language
from icl.run.items import build_items
from icl.shots.embed import DEFAULT_EMBEDDER, get_embedder
from icl.spec import ModelSpec, Pool, RunSpec


class Stub:
    """A labeller that ranks every label alike (the first wins): exercises self-labelling without a model."""

    name = "stub"
    def generate(self, prompts, params): return ["x"] * len(prompts)
    def score(self, prompts, conts): return [[0.0] * len(c) for c in conts]

def spec(lang, template="intent/labels", pool="train", augment="none", selector="bm25", shots=4):
    return RunSpec(sweep="chk", task="intent", model=ModelSpec("none", "hf"), src=lang, tgt=lang, template=template,
                   shots=shots, selector=selector, seed=0, pool=Pool(pool), mode="rank", limit=3, augment=augment)

def attempt(s, labeler=None):
    try:
        items = build_items(s, builtin_registry(), labeler=labeler).items
        return "ok", items
    except IclError as e:
        return f"NO: {e}", None

emb = get_embedder(DEFAULT_EMBEDDER)
en = {e.id: e for e in load_massive("en-US", "test")}
en_ids = list(en)[:300]
en_vec = emb.embed([en[i].source for i in en_ids]); en_vec /= np.linalg.norm(en_vec, axis=1, keepdims=True)
locales = sys.argv[1:] or sorted(p.stem for p in (data_dir() / "massive" / "1.1").glob("*.jsonl"))
for loc in locales:
    lang = get_language(loc).code
    train = load_massive(loc, "train")
    sl, items = attempt(spec(lang, pool="train", augment="selflabel"), Stub())
    sl_note = sl if items is None else f"ok ({len(items[0].demos)} demos, ids {items[0].demos[0].id.split(':')[0]})"
    syn, items = attempt(spec(lang, pool="train:en-US", augment="synthetic"))
    hint, items_h = attempt(spec(lang, template="intent/hints", pool="train:en-US", augment="hints"))
    hinted = sum(bool(i.hints) for i in items_h) if items_h else 0
    test = {e.id: e for e in load_massive(loc, "test")}
    q = [i for i in en_ids[:60] if i in test]
    v = emb.embed([test[i].source for i in q]); v /= np.linalg.norm(v, axis=1, keepdims=True)
    nn = (v @ en_vec.T).argmax(1)
    acc = np.mean([en_ids[j] == i for j, i in zip(nn, q)])
    same_intent = np.mean([en[en_ids[j]].target == test[i].target for j, i in zip(nn, q)])
    print(f"{loc}\t{lang}\tclass={get_language(lang).resource_class}\ttrain={len(train)}\tselflabel={sl_note}\t"
          f"synthetic={syn[:80]}\thints={hint[:60]}{'' if items_h is None else f' ({hinted}/3 items hinted)'}\t"
          f"similar: parallel@1={acc:.2f} same-intent@1={same_intent:.2f}", flush=True)
