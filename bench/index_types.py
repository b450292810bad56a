"""Dense index types at scale: memory, recall@10, one-query latency and build time.

    .venv/bin/python bench/index_types.py                      # 1,000,000 chunks, ~30 minutes
    .venv/bin/python bench/index_types.py --chunks 50000 --types hnsw-sq8,ivf-sq8   # a quick look

The chunks are the scale bench's synthetic vectors (``bench/scale/data.py``: seeded, with the
neighbourhood structure of real MiniLM chunk vectors; ``bench/real_vectors.py`` measures real
ones). Each type is built in this process (timed), written to disk, then loaded in a fresh
process as ``qa.store.load`` loads it: ``faiss.read_index``, and for a type that re-ranks, the
float32 vectors memory-mapped from ``vectors.npy``. That process reports its resident memory
before and after the load (the growth is the index's memory), one query at a time on one FAISS
thread through ``qa.retrieval.dense_search`` (the product's search, with its re-rank), recall@10
against exact search, and its resident memory after the searches (the re-rank's pages read from
the memory-mapped file count there, as file-backed pages the kernel may drop).

Types: ``hnsw`` (``IndexHNSWFlat``, qa's large-corpus index until now), ``hnsw-sq8`` (qa's:
``IndexHNSWSQ`` 8-bit, exact re-rank of 2k candidates), ``hnsw-pq`` (``IndexHNSWPQ``, 48 bytes a
vector, L2 on the unit vectors, which ranks as cosine; exact re-rank of ``--pq-rerank`` times k)
and ``ivf-sq8`` (``IVF{4 sqrt n},SQ8``, exact re-rank of 2k; ``--nprobe``). The first two are
built by ``qa.store.make_faiss_index``; the others here, with qa's HNSW settings.
"""

from __future__ import annotations

import argparse
import json
import mmap
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.scale.data import make_vectors
from bench.scale.measure import K, recall, rss
from bench.scale.probe import evict
from qa import retrieval, store

TYPES = ("hnsw-sq8", "ivf-sq8", "hnsw-pq", "hnsw")
RERANKED = {"hnsw-sq8", "hnsw-pq", "ivf-sq8"}
PQ_BYTES = 48
TRAIN_SAMPLE = 200_000


def build(kind: str, vectors: np.ndarray, args: argparse.Namespace) -> tuple[Any, dict[str, Any]]:
    """The index of ``kind`` over ``vectors``, and its settings."""
    import faiss

    if kind in ("hnsw", "hnsw-sq8"):
        return store.make_faiss_index(vectors, kind)
    sample = vectors[np.random.default_rng(0).permutation(len(vectors))[:TRAIN_SAMPLE]]
    index: Any
    if kind == "hnsw-pq":
        index = faiss.IndexHNSWPQ(vectors.shape[1], PQ_BYTES, store.HNSW_M, 8)  # L2
        index.hnsw.efConstruction = store.HNSW_EF_CONSTRUCTION
        index.hnsw.efSearch = store.HNSW_EF_SEARCH
        params = {"type": "IndexHNSWPQ", "pq_bytes": PQ_BYTES, "M": store.HNSW_M,
                  "efSearch": store.HNSW_EF_SEARCH, "rerank_factor": args.pq_rerank}  # fmt: skip
    else:
        nlist = int(4 * np.sqrt(len(vectors)))
        index = faiss.index_factory(vectors.shape[1], f"IVF{nlist},SQ8", faiss.METRIC_INNER_PRODUCT)
        params = {"type": "IndexIVFScalarQuantizer", "nlist": nlist, "nprobe": args.nprobe}
    index.train(sample)
    index.add(vectors)
    if kind == "ivf-sq8":
        index.nprobe = args.nprobe
    return index, params


def timed_searches(index: Any, queries: np.ndarray, exact: Any) -> tuple[list[float], np.ndarray]:
    """Each query's search time in ms (one at a time, as qa searches) and its top ``K`` rows."""
    found, times = [], []
    for query in queries:
        started = time.perf_counter()
        hits = retrieval.dense_search(index, query[None], K, exact=exact)[0]
        times.append((time.perf_counter() - started) * 1000)
        found.append([row for row, _ in hits] + [-1] * (K - len(hits)))
    return times, np.asarray(found)


def probe(path: Path, workdir: Path, kind: str, rerank_factor: int, nprobe: int) -> None:
    """In a fresh process: load as qa does, then search one query at a time; print JSON."""
    import faiss

    queries = np.load(workdir / "queries.npy")
    exact_rows = np.load(workdir / "exact.npy")
    if kind in RERANKED:
        evict(workdir / "vectors.npy")
    before = rss()
    started = time.perf_counter()
    index = faiss.read_index(str(path))
    exact = None
    if kind in RERANKED:  # as qa.store loads it
        exact = np.load(workdir / "vectors.npy", mmap_mode="r")
        exact._mmap.madvise(mmap.MADV_RANDOM)
    load_seconds = time.perf_counter() - started
    loaded = rss()
    if kind == "ivf-sq8":
        index.nprobe = nprobe
    retrieval.RERANK_FACTOR = rerank_factor
    faiss.omp_set_num_threads(1)
    # Twice over the queries: first with vectors.npy out of the page cache (each re-rank reads
    # its candidates' pages from disk), then with those pages cached.
    cold, found = timed_searches(index, queries, exact)
    warm, _ = timed_searches(index, queries, exact)
    after = rss()
    print(json.dumps({
        "load_seconds": round(load_seconds, 2),
        "rss_growth_at_load_mib": round(loaded["rss"] - before["rss"], 1),
        "rss_after_searches_mib": round(after["rss"] - before["rss"], 1),
        "anon_after_searches_mib": round(after.get("anon", 0) - before.get("anon", 0), 1),
        "p50_ms": round(float(np.percentile(warm, 50)), 3),
        "p95_ms": round(float(np.percentile(warm, 95)), 3),
        "p50_cold_ms": round(float(np.percentile(cold, 50)), 3),
        "p95_cold_ms": round(float(np.percentile(cold, 95)), 3),
        "recall_at_10": round(recall(found, exact_rows), 4),
    }))  # fmt: skip


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--chunks", type=int, default=1_000_000)
    parser.add_argument("--queries", type=int, default=500)
    parser.add_argument("--types", default=",".join(TYPES), help=f"some of {', '.join(TYPES)}")
    parser.add_argument("--nprobe", type=int, default=64, help="ivf-sq8's lists searched")
    parser.add_argument("--pq-rerank", type=int, default=4, help="hnsw-pq's candidates / k")
    parser.add_argument("--workdir", type=Path, help="folder for the files (default: temp)")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    parser.add_argument("--probe", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--probe-kind", help=argparse.SUPPRESS)
    args = parser.parse_args()
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="qa-index-types-"))
    workdir.mkdir(parents=True, exist_ok=True)
    if args.probe:
        factor = args.pq_rerank if args.probe_kind == "hnsw-pq" else retrieval.RERANK_FACTOR
        probe(args.probe, workdir, args.probe_kind, factor, args.nprobe)
        return 0
    import faiss

    kinds = args.types.split(",")
    unknown = sorted(set(kinds) - set(TYPES))
    if unknown:
        parser.error(f"unknown types {unknown}; choose from {', '.join(TYPES)}")
    data = make_vectors("documents", args.chunks, args.queries, 64, 0)
    vectors, queries = data.corpus, data.queries
    _, exact_rows = faiss.knn(queries, vectors, K, metric=faiss.METRIC_INNER_PRODUCT)
    np.save(workdir / "queries.npy", queries)
    np.save(workdir / "exact.npy", exact_rows)
    np.save(workdir / "vectors.npy", vectors)
    figures: dict[str, Any] = {"chunks": args.chunks, "queries": args.queries, "types": {}}
    print(f"{args.chunks:,} chunks, {args.queries} queries, workdir {workdir}", flush=True)
    for kind in kinds:
        started = time.perf_counter()
        index, params = build(kind, vectors, args)
        build_seconds = time.perf_counter() - started
        path = workdir / f"{kind}.faiss"
        faiss.write_index(index, str(path))
        del index
        command = [sys.executable, __file__, "--probe", str(path), "--probe-kind", kind,
                   "--workdir", str(workdir), "--nprobe", str(args.nprobe),
                   "--pq-rerank", str(args.pq_rerank)]  # fmt: skip
        output = subprocess.run(command, check=True, capture_output=True, text=True).stdout
        row = {"params": params, "build_seconds": round(build_seconds, 1),
               "index_file_mib": round(path.stat().st_size / 2**20, 1),
               "rerank_file_mib": round((workdir / "vectors.npy").stat().st_size / 2**20, 1)
               if kind in RERANKED else 0,
               **json.loads(output.strip().splitlines()[-1])}  # fmt: skip
        figures["types"][kind] = row
        print(f"{kind}: {json.dumps(row)}", flush=True)
    print()
    print("| type | build s | index file MiB | resident at load MiB | after searches MiB | "
          "recall@10 | p50 ms | p95 ms | p50 cold ms |")  # fmt: skip
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for kind, row in figures["types"].items():
        print(f"| {kind} | {row['build_seconds']} | {row['index_file_mib']} | "
              f"{row['rss_growth_at_load_mib']} | {row['rss_after_searches_mib']} | "
              f"{row['recall_at_10']} | {row['p50_ms']} | {row['p95_ms']} | "
              f"{row['p50_cold_ms']} |")  # fmt: skip
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
