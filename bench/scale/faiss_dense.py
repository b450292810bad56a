"""The scale bench's dense part: the FAISS index qa builds, at the bench's size.

``qa.store.make_faiss_index`` (``--index-type``; qa's ``auto``: exact ``IndexFlatIP`` below
``store.HNSW_THRESHOLD`` chunks, ``IndexHNSWSQ`` at and above it, whose figures here are the
index's own, before the exact re-rank qa's search adds: ``bench/index_types.py`` measures that
search, type by type) -> build time and memory; ``faiss.write_index`` (what ``store.save`` does) ->
size on disk; ``faiss.read_index`` (what ``store.load`` does) in a fresh process, with the file's
pages evicted first (cold) and then again from the page cache (warm), plain and with
``faiss.IO_FLAG_MMAP_IFC`` -> load time and resident memory (``bench.scale.probe``);
``qa.retrieval.dense_search`` for one query at a time (on one FAISS thread, as qa runs a single
query) -> p50 / p95 milliseconds without the query encode, at k=10 and at
k=``retrieval.FUSION_DEPTH`` (what hybrid search asks for); recall@10 against exact search
(``faiss.knn``, inner product). efSearch is swept over ``--ef`` on the built index, to show the
speed / recall trade-off around the product's value. Exact search's latency is also measured at
a few sizes, with the default thread count and with one thread, for the threshold. ``--ivf``
adds an ``IndexIVFFlat`` (4 * sqrt(n) lists, spherical k-means) with an nprobe sweep, for
comparison; the ``--hnsw-*`` / ``--ef-*`` options patch ``qa.store``'s constants to try other
settings through the same code.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from bench.scale.data import DIMENSION, make_vectors
from bench.scale.measure import K, dense_latencies, fmt, recall, reset_peak, rss, step
from bench.scale.probe import run_probe, save_queries
from qa import retrieval, store

FLAT_SIZES = (10_000, 30_000, 100_000, 300_000, 1_000_000)


@contextlib.contextmanager
def omp_threads(count: int | None) -> Iterator[None]:
    """FAISS's OpenMP thread count set to ``count`` for a while (None: left as it is)."""
    import faiss

    before = faiss.omp_get_max_threads()
    if count is not None:
        faiss.omp_set_num_threads(count)
    try:
        yield
    finally:
        faiss.omp_set_num_threads(before)


def setting(row: dict[str, Any]) -> str:
    """``efSearch 128``, ``nprobe 32`` or ``exact``: the search setting of a sweep row."""
    knob = next((name for name in ("efSearch", "nprobe") if name in row), "")
    return f"{knob} {row[knob]:<4d}" if knob else "exact"


def dense(args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    """The dense figures: exact search by size, the product's index, and ``--ivf``'s."""
    import faiss

    figures: dict[str, Any] = {"omp_threads": faiss.omp_get_max_threads()}
    n, count = args.chunks, args.queries
    with step(f"Generating {n:,} + {count} vectors ({args.vectors})") as timing:
        data = make_vectors(args.vectors, n, count, args.topic_size, args.seed)
        if data.document_of is not None:
            figures["documents"] = data.documents
        vectors, queries = data.corpus, data.queries
    figures["generate_seconds"] = timing["seconds"]

    with step(f"Exact top {retrieval.FUSION_DEPTH} of {count} queries (faiss.knn)") as timing:
        exact_scores, exact = faiss.knn(
            queries, vectors, retrieval.FUSION_DEPTH, metric=faiss.METRIC_INNER_PRODUCT
        )
    figures["exact_batch_seconds"] = timing["seconds"]
    figures["query_top1_cosine_p10_p50_p90"] = [
        round(float(v), 3) for v in np.percentile(exact_scores[:, 0], [10, 50, 90])
    ]
    print(f"  top-1 cosine of the queries, p10/p50/p90: {figures['query_top1_cosine_p10_p50_p90']}")
    exact = exact[:, :K]
    save_queries(workdir, queries, exact)

    figures["flat"] = flat_latencies(vectors, queries)
    gc.collect()

    if "product" not in args.skip:
        figures["product"] = product_index(
            vectors, queries, exact, args.ef, workdir, args.index_type
        )
    if args.ivf:
        nlist = args.ivf_nlist or int(4 * np.sqrt(n))
        with step("IndexIVFFlat, for comparison") as timing:
            index, params = ivf_index(vectors, nlist, args.seed)
        ivf: dict[str, Any] = {"params": params, "build_seconds": timing["seconds"]}
        ivf.update(
            characterise(
                index,
                "nprobe",
                args.nprobe,
                args.nprobe[len(args.nprobe) // 2],
                workdir / "ivf.faiss",
                ("none", "mmap"),
                queries,
                exact,
                workdir,
            )
        )
        figures["ivf"] = ivf
        del index
    return figures


def flat_latencies(vectors: np.ndarray, queries: np.ndarray) -> list[dict[str, Any]]:
    """Exact search, what the product uses below the threshold: its latency by size, with
    FAISS's default thread count (the product's) and with one thread."""
    import faiss

    n = len(vectors)
    rows = []
    for size in [s for s in FLAT_SIZES if s < n] + [n]:
        flat = faiss.IndexFlatIP(DIMENSION)
        flat.add(vectors[:size])
        for threads in (None, 1):
            with omp_threads(threads):
                timings = dense_latencies(flat, queries, K, 100 if size <= 100_000 else 30)
            rows.append({"chunks": size, "threads": threads or "default", **timings})
            print(
                f"  IndexFlatIP, {size:>9,} chunks, one query, k={K}, "
                f"{threads or 'default'} thread(s): {fmt(timings)}",
                flush=True,
            )
        del flat
    return rows


def product_index(
    vectors: np.ndarray,
    queries: np.ndarray,
    exact: np.ndarray,
    ef: list[int],
    workdir: Path,
    index_type: str = store.DEFAULT_INDEX_TYPE,
) -> dict[str, Any]:
    """The index ``store.make_faiss_index`` builds for ``index_type``, characterised."""
    gc.collect()
    reset_peak()
    before = rss()
    with step(f"store.make_faiss_index on {len(vectors):,} vectors") as timing:
        index, params = store.make_faiss_index(vectors, index_type)
    after = rss()
    product: dict[str, Any] = {
        "params": params,
        "build_seconds": timing["seconds"],
        "build_rss_delta_mib": round(after["rss"] - before["rss"], 1),
        "build_peak_rss_mib": round(after["peak"], 1),
    }
    print(f"  params {params}; memory +{product['build_rss_delta_mib']:.0f} MiB")
    hnsw = "efSearch" in params
    product.update(
        characterise(
            index,
            "efSearch" if hnsw else "",
            ef,
            int(params.get("efSearch", 0)),
            workdir / store.VECTORS,
            ("none", "mmap_ifc"),
            queries,
            exact,
            workdir,
        )
    )
    return product


def ivf_index(vectors: np.ndarray, nlist: int, seed: int) -> tuple[Any, dict[str, Any]]:
    """IndexIVFFlat, inner product, spherical k-means (10 iterations) on 40 vectors a list."""
    import faiss

    quantizer = faiss.IndexFlatIP(vectors.shape[1])
    index = faiss.IndexIVFFlat(quantizer, vectors.shape[1], nlist, faiss.METRIC_INNER_PRODUCT)
    index.cp.spherical = True
    index.cp.niter = 10
    index.cp.seed = seed
    rng = np.random.default_rng(seed + 5)
    sample = np.sort(rng.choice(len(vectors), size=min(len(vectors), 40 * nlist), replace=False))
    with step(f"IndexIVFFlat: k-means of {len(sample):,} vectors into {nlist:,} lists"):
        index.train(vectors[sample])
    with step(f"IndexIVFFlat: adding {len(vectors):,} vectors"):
        index.add(vectors)
    return index, {"type": "IndexIVFFlat", "nlist": nlist, "metric": "inner_product"}


def characterise(
    index: Any,
    knob: str,
    values: Sequence[int],
    default: int,
    path: Path,
    flags: Sequence[str],
    queries: np.ndarray,
    exact: np.ndarray,
    workdir: Path,
) -> dict[str, Any]:
    """Save ``index`` to ``path``; sweep ``knob`` over ``values``; load it in fresh processes."""
    import faiss

    figures: dict[str, Any] = {"loaded_with": {knob: default} if knob else {}}
    with step(f"faiss.write_index -> {path}") as timing:
        faiss.write_index(index, str(path))
    figures["save_seconds"] = timing["seconds"]
    figures["disk_mib"] = round(path.stat().st_size / 2**20, 1)
    print(f"  {figures['disk_mib']:.0f} MiB on disk")

    count, depth = len(queries), retrieval.FUSION_DEPTH
    sweep = []
    for value in values if knob else [0]:
        if knob:
            faiss.ParameterSpace().set_index_parameter(index, knob, value)
        timings = dense_latencies(index, queries, K, count)
        _, found = index.search(queries, K)
        deep = dense_latencies(index, queries, depth, count)
        row: dict[str, Any] = {
            knob or "setting": value if knob else "exact",
            **timings,
            "recall_at_10": round(recall(found, exact), 4),
            f"k{depth}": deep,
        }
        sweep.append(row)
        print(
            f"  {setting(row)}: one query, k={K}: {fmt(row)}, recall@{K} "
            f"{row['recall_at_10']:.4f}; k={depth}: {fmt(deep)}",
            flush=True,
        )
    figures["sweep"] = sweep
    if knob:
        faiss.ParameterSpace().set_index_parameter(index, knob, default)
    with omp_threads(1):
        figures["one_thread"] = dense_latencies(index, queries, K, count)
    loaded = f"{knob} {default}" if knob else "exact"
    print(f"  {loaded}, one FAISS thread, k={K}: {fmt(figures['one_thread'])}")

    probes = []
    with step("Loading the saved index in fresh processes"):
        for flag in flags:
            for cold in (True, False):
                probe = run_probe(path, workdir, flag, knob, default, cold)
                probes.append(probe)
                print(
                    f"  read_index flag={flag}, {probe['cache']} cache: "
                    f"{probe['load_seconds']:.2f} s, RSS {probe['rss_after_load_mib']:.0f} MiB"
                    f" after load (anon {probe['anon_after_load_mib']:.0f}), "
                    f"{probe['rss_after_search_mib']:.0f} MiB after {count} searches; first "
                    f"query {probe['first_query_ms']:.1f} ms, then {fmt(probe)}, recall@{K} "
                    f"{probe['recall_at_10']:.4f}",
                    flush=True,
                )
    figures["load"] = probes
    return figures
