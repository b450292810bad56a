"""Benchmark: dense and keyword search over a 1,000,000-chunk index, on synthetic data.

    .venv/bin/python bench/scale.py [--chunks 1000000] [--queries 500] [--json PATH]
    .venv/bin/python bench/scale.py --skip product --skip keyword --ivf   # an IVF index instead
    .venv/bin/python bench/scale.py --chunks 30000 --hnsw-threshold 20000  # what if
    .venv/bin/python bench/scale.py --store milvus --chunks 100000   # the Milvus store beside FAISS

Measures what the product does at that size, through its own code paths:

* dense: ``qa.store.make_faiss_index`` (exact ``IndexFlatIP`` below ``store.HNSW_THRESHOLD``
  chunks, HNSW at and above it) -> build time and memory; ``faiss.write_index`` (what
  ``store.save`` does) -> size on disk; ``faiss.read_index`` (what ``store.load`` does) in a
  fresh process, with the file's pages evicted first (cold) and then again from the page cache
  (warm), plain and with ``faiss.IO_FLAG_MMAP_IFC`` -> load time and resident memory;
  ``qa.retrieval.dense_search`` for one query at a time (on one FAISS thread, as qa runs a single
  query) -> p50 / p95 milliseconds without the query encode, at k=10 and at
  k=``retrieval.FUSION_DEPTH`` (what hybrid search asks for); recall@10 against exact search
  (``faiss.knn``, inner product). efSearch is swept over ``--ef`` on the built index, to show
  the speed / recall trade-off around the product's value. Exact search's latency is also
  measured at a few sizes, with the default thread count and with one thread, for the
  threshold. ``--ivf`` adds an ``IndexIVFFlat`` (4 * sqrt(n) lists, spherical k-means) with an
  nprobe sweep, for comparison; the ``--hnsw-*`` / ``--ef-*`` options patch ``qa.store``'s
  constants to try other settings through the same code.
* keyword: ``qa.build.build_bm25`` on generated texts -> build time and memory; ``bm25.save``
  and ``bm25s.BM25.load(mmap=True)`` with the tokenizer's vocabulary (what ``store.save`` and
  ``store.load`` do) -> size on disk and load time; ``qa.retrieval.keyword_search`` for one
  question at a time with k=``retrieval.FUSION_DEPTH`` -> p50 / p95 milliseconds, with the
  time split into tokenizing, scoring and ranking the matching chunks, and bm25s's own top-k
  over all the scores timed for comparison.

``--store milvus`` measures the Milvus store instead, on the same data, beside the FAISS HNSW
index qa builds at that size: ``qa.milvus_build.open_for_build`` and ``Collection.upsert`` write the
chunks (key, text, vector) into a Milvus Lite file, which indexes them (HNSW with qa's M and
efConstruction, and Milvus's BM25 function over the texts) -> build time and size on disk;
``qa.milvus.open_search`` reconnects in this process -> ``MilvusSearch.dense`` for one query at
a time (k=10) -> p50 / p95 and recall@10 against exact search, and ``MilvusSearch.keyword`` for
one question at a time (k=``retrieval.FUSION_DEPTH``) -> p50 / p95, beside
``qa.retrieval.keyword_search`` on a bm25s index of the same texts.

Synthetic vectors (seeded). Isotropic random vectors in 384 dimensions have no neighbourhood
structure and are a worst case that no approximate index handles well, while sentence
embeddings have a low local dimension. So the vectors here are a mixture of "documents": each
document has a centroid (a gaussian with a gently decaying spectrum, normalised), and its
chunks are the centroid plus a gaussian in a document-specific random 16-dimensional subspace
(scale 1.0, times a per-document log-normal factor of sigma 0.3), plus isotropic noise of norm
about 0.4, plus a shared offset, normalised. Documents hold 32 to 96 chunks (``--topic-size``
64 on average), stored contiguously as a build adds them. The parameters were fitted to the
2,304 all-MiniLM-L6-v2 chunk vectors of the SQuAD v2 dev index (``bench/squad_eval.py``); at
that size real / synthetic (seed 0) give: nearest-neighbour cosine p10/p50/p90 0.58/0.74/0.85
vs 0.68/0.75/0.81; random-pair cosine mean 0.03 vs 0.03, sd 0.105 vs 0.109; principal
components for 50/80/90% of the variance 32/108/164 vs 27/123/195; local intrinsic dimension
(MLE, 20 neighbours) 11.7 vs 11.9. Queries are ``--queries`` further draws from the same
documents, held out of the index. ``--vectors isotropic`` measures plain normalised gaussian
vectors instead, the worst case.

Synthetic texts (seeded): 40 to 80 words each, drawn from a Zipf-Mandelbrot distribution
(exponent 1.0, offset 2.7) over 42 common English function words (which the tokenizer drops as
stop words, as in real text) followed by ``--vocab`` generated syllable words. Questions are 3
to 8 words from the same distribution.

Files go to a temporary folder (``--workdir`` to choose one, ``--keep`` to keep them). Other
work on the machine makes timings noisy, so the script prints the load average at the start and
the end, and the CPU time of each search beside its wall-clock time. It prints figures; it
checks nothing. The default run took 18.5 minutes on 2 cores with the machine otherwise nearly
idle (the HNSW build 12.7 of them, the BM25 build 2.5) and needs about 5 GB of memory (3.4 GB
in this process, 1.8 GB in a load probe) and 2 GB of disk.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from qa import retrieval, store
from qa.build import build_bm25

DIMENSION = 384  # all-MiniLM-L6-v2
K = 10
SUBSPACE = 16  # rank of each document's spread
SPREAD = 1.0
SPREAD_SIGMA = 0.3
NOISE = 0.4
OFFSET = 0.15
CENTROID_DECAY = 0.3
FLAT_SIZES = (10_000, 30_000, 100_000, 300_000, 1_000_000)
# The commonest English words, in frequency order: stop words, which the tokenizer drops.
FUNCTION_WORDS_TEXT = """the of and to in a is that for it as was with be by on not he this are or
his from at which but have an they you were her she there been one all we their has would when"""
FUNCTION_WORDS = tuple(FUNCTION_WORDS_TEXT.split())


# -- measuring -------------------------------------------------------------------------------


def rss() -> dict[str, float]:
    """Resident memory of this process in MiB: total, peak, anonymous and file-backed."""
    fields = {"VmRSS": "rss", "VmHWM": "peak", "RssAnon": "anon", "RssFile": "file"}
    figures: dict[str, float] = {}
    with open("/proc/self/status", encoding="ascii") as handle:
        for line in handle:
            name, _, value = line.partition(":")
            if name in fields:
                figures[fields[name]] = int(value.split()[0]) / 1024
    return figures


def reset_peak() -> None:
    """Start VmHWM afresh, so that the next peak belongs to the next step (Linux only)."""
    with contextlib.suppress(OSError), open("/proc/self/clear_refs", "w") as handle:
        handle.write("5")


def latencies(function: Callable[[int], object], count: int, warmup: int = 10) -> dict[str, float]:
    """p50 and p95 milliseconds of ``function(i)`` for i in range(count), after a warm-up, in
    wall-clock time and in this process's CPU time (all threads: less sensitive to the machine's
    other work, but it counts OpenMP threads spinning)."""
    for i in range(min(warmup, count)):
        function(i)
    wall, cpu = [], []
    for i in range(count):
        started, started_cpu = time.perf_counter(), time.process_time()
        function(i)
        wall.append((time.perf_counter() - started) * 1000)
        cpu.append((time.process_time() - started_cpu) * 1000)
    return {**summary(wall), "cpu_p50_ms": round(float(np.percentile(cpu, 50)), 3)}


def dense_latencies(index: Any, queries: np.ndarray, k: int, count: int) -> dict[str, float]:
    """``latencies`` of ``qa.retrieval.dense_search`` for one query at a time."""
    return latencies(lambda i: retrieval.dense_search(index, queries[i : i + 1], k), count)


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


def summary(samples: Sequence[float]) -> dict[str, float]:
    return {
        "p50_ms": round(float(np.percentile(samples, 50)), 3),
        "p95_ms": round(float(np.percentile(samples, 95)), 3),
    }


@contextlib.contextmanager
def step(label: str, every: float = 60.0) -> Iterator[dict[str, float]]:
    """Print ``label``, a line every ``every`` seconds while it runs, and its duration."""
    print(f"{label} ...", flush=True)
    timing: dict[str, float] = {}
    done = threading.Event()
    started = time.perf_counter()

    def beat() -> None:
        while not done.wait(every):
            print(f"  ... {time.perf_counter() - started:.0f} s", flush=True)

    thread = threading.Thread(target=beat, daemon=True)
    thread.start()
    try:
        yield timing
    finally:
        done.set()
        thread.join()
        timing["seconds"] = round(time.perf_counter() - started, 3)
        print(f"  {label}: {timing['seconds']:.1f} s", flush=True)


def load_average() -> str:
    return " ".join(f"{value:.2f}" for value in os.getloadavg())


def evict(path: Path) -> None:
    """Drop ``path`` from the page cache (it must be written back first), for a cold read."""
    with path.open("rb") as handle:
        os.fsync(handle.fileno())
        os.posix_fadvise(handle.fileno(), 0, 0, os.POSIX_FADV_DONTNEED)


def recall(found: np.ndarray, exact: np.ndarray, k: int = K) -> float:
    """Mean share of the exact top ``k`` found in the approximate top ``k``."""
    hits = [len(set(f[:k].tolist()) & set(e[:k].tolist())) for f, e in zip(found, exact)]
    return float(np.mean(hits)) / k


# -- synthetic data --------------------------------------------------------------------------


def document_vectors(
    n: int, topic_size: int, seed: int, dimension: int = DIMENSION
) -> tuple[np.ndarray, int]:
    """``n`` normalised vectors, document by document; see the module docstring."""
    rng = np.random.default_rng(seed)
    decay = np.arange(1, dimension + 1) ** -CENTROID_DECAY
    decay /= np.sqrt((decay**2).mean())
    rotation, _ = np.linalg.qr(rng.standard_normal((dimension, dimension)))
    offset = rng.standard_normal(dimension)
    offset *= OFFSET / np.linalg.norm(offset)
    vectors = np.empty((n, dimension), dtype=np.float32)
    first = documents = 0
    while first < n:
        size = min(int(rng.integers(topic_size // 2, topic_size * 3 // 2 + 1)), n - first)
        centroid = (rng.standard_normal(dimension) * decay) @ rotation.T
        centroid /= np.linalg.norm(centroid)
        basis = rng.standard_normal((SUBSPACE, dimension)) / np.sqrt(dimension)
        spread = SPREAD * np.exp(SPREAD_SIGMA * rng.standard_normal())
        within = rng.standard_normal((size, SUBSPACE)) @ basis * (spread / np.sqrt(SUBSPACE))
        noise = rng.standard_normal((size, dimension)) * (NOISE / np.sqrt(dimension))
        vectors[first : first + size] = centroid + within + noise + offset
        first += size
        documents += 1
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors, documents


def isotropic_vectors(n: int, seed: int, dimension: int = DIMENSION) -> np.ndarray:
    rng = np.random.default_rng(seed)
    vectors = rng.standard_normal((n, dimension), dtype=np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors


def split_queries(vectors: np.ndarray, count: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Hold ``count`` random rows out as queries; the rest, in order, is the corpus."""
    rng = np.random.default_rng(seed + 1)
    held = np.zeros(len(vectors), dtype=bool)
    held[rng.choice(len(vectors), size=count, replace=False)] = True
    return np.ascontiguousarray(vectors[~held]), np.ascontiguousarray(vectors[held])


def vocabulary(size: int, seed: int) -> list[str]:
    """Function words, then ``size`` distinct generated words of one to four syllables."""
    rng = np.random.default_rng(seed + 2)
    onsets = [
        *"bcdfghjklmnprstvwz",
        "br",
        "ch",
        "cl",
        "dr",
        "fl",
        "gr",
        "pl",
        "pr",
        "sh",
        "st",
        "th",
    ]
    vowels = [*"aeiou", "ai", "ea", "ee", "ie", "oa", "ou"]
    codas = ["", "", "", "n", "r", "s", "l", "t", "m", "nd", "st", "ck"]
    words: list[str] = []
    seen = set(FUNCTION_WORDS)
    while len(words) < size:
        syllables = int(rng.choice([1, 2, 3, 4], p=[0.15, 0.45, 0.3, 0.1]))
        word = "".join(
            onsets[rng.integers(len(onsets))]
            + vowels[rng.integers(len(vowels))]
            + codas[rng.integers(len(codas))]
            for _ in range(syllables)
        )
        if word not in seen:
            seen.add(word)
            words.append(word)
    return [*FUNCTION_WORDS, *words]


def texts(count: int, low: int, high: int, words: list[str], seed: int) -> list[str]:
    """``count`` texts of ``low`` to ``high`` words, Zipf-Mandelbrot over ``words``."""
    rng = np.random.default_rng(seed)
    weights = 1.0 / (np.arange(len(words)) + 2.7)
    weights /= weights.sum()
    lengths = rng.integers(low, high + 1, size=count)
    ids = rng.choice(len(words), size=int(lengths.sum()), p=weights)
    table = np.asarray(words, dtype=object)
    ends = np.cumsum(lengths)
    return [" ".join(table[ids[end - length : end]]) for end, length in zip(ends, lengths)]


# -- dense -----------------------------------------------------------------------------------


def probe_load(path: Path, workdir: Path, flag: str, knob: str, value: int) -> None:
    """In a fresh process: read the index, then search with it; print figures as JSON."""
    import faiss

    flags = {"none": 0, "mmap": faiss.IO_FLAG_MMAP, "mmap_ifc": faiss.IO_FLAG_MMAP_IFC}
    queries = np.load(workdir / "queries.npy")
    exact = np.load(workdir / "exact.npy")
    before = rss()
    started = time.perf_counter()
    index = faiss.read_index(str(path), flags[flag])
    seconds = time.perf_counter() - started
    after = rss()
    if knob:  # as store.load sets efSearch from the manifest
        faiss.ParameterSpace().set_index_parameter(index, knob, value)
    started = time.perf_counter()
    first = retrieval.dense_search(index, queries[:1], K)
    first_ms = (time.perf_counter() - started) * 1000
    timings = dense_latencies(index, queries, K, min(200, len(queries)))
    _, found = index.search(queries, K)
    print(
        json.dumps(
            {
                "flag": flag,
                "load_seconds": round(seconds, 3),
                "rss_before_mib": round(before["rss"], 1),
                "rss_after_load_mib": round(after["rss"], 1),
                "anon_after_load_mib": round(after.get("anon", 0.0), 1),
                "rss_after_search_mib": round(rss()["rss"], 1),
                "first_query_ms": round(first_ms, 3),
                "first_query_hits": len(first[0]),
                **timings,
                "recall_at_10": round(recall(found, exact), 4),
            }
        )
    )


def run_probe(
    path: Path, workdir: Path, flag: str, knob: str, value: int, cold: bool
) -> dict[str, Any]:
    """``probe_load`` in a fresh process, with ``path`` out of the page cache if ``cold``."""
    if cold:
        evict(path)
    command = [
        sys.executable,
        str(Path(__file__).resolve()),
        "--probe-load",
        str(path),
        "--probe-flag",
        flag,
        "--probe-param",
        f"{knob}={value}",
        "--workdir",
        str(workdir),
    ]
    output = subprocess.run(command, check=True, capture_output=True, text=True).stdout
    result: dict[str, Any] = json.loads(output.strip().splitlines()[-1])
    result["cache"] = "cold" if cold else "warm"
    return result


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


def dense(args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    import faiss

    figures: dict[str, Any] = {"omp_threads": faiss.omp_get_max_threads()}
    n, count = args.chunks, args.queries
    with step(f"Generating {n:,} + {count} vectors ({args.vectors})") as timing:
        if args.vectors == "isotropic":
            every = isotropic_vectors(n + count, args.seed)
        else:
            every, documents = document_vectors(n + count, args.topic_size, args.seed)
            figures["documents"] = documents
        vectors, queries = split_queries(every, count, args.seed)
        del every
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
    np.save(workdir / "queries.npy", queries)
    np.save(workdir / "exact.npy", exact)

    # Exact search, what the product uses below the threshold: its latency by size, with FAISS's
    # default thread count (the product's) and with one thread.
    figures["flat"] = []
    for size in [s for s in FLAT_SIZES if s < n] + [n]:
        flat = faiss.IndexFlatIP(DIMENSION)
        flat.add(vectors[:size])
        for threads in (None, 1):
            with omp_threads(threads):
                timings = dense_latencies(flat, queries, K, 100 if size <= 100_000 else 30)
            figures["flat"].append({"chunks": size, "threads": threads or "default", **timings})
            print(
                f"  IndexFlatIP, {size:>9,} chunks, one query, k={K}, "
                f"{threads or 'default'} thread(s): {fmt(timings)}",
                flush=True,
            )
        del flat
    gc.collect()

    if "product" not in args.skip:
        figures["product"] = product_index(vectors, queries, exact, args.ef, workdir)
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


def product_index(
    vectors: np.ndarray, queries: np.ndarray, exact: np.ndarray, ef: list[int], workdir: Path
) -> dict[str, Any]:
    """The index ``store.make_faiss_index`` builds, characterised."""
    gc.collect()
    reset_peak()
    before = rss()
    with step(f"store.make_faiss_index on {len(vectors):,} vectors") as timing:
        index, params = store.make_faiss_index(vectors)
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


def fmt(figures: dict[str, Any]) -> str:
    text = f"p50 {figures['p50_ms']:.2f} ms, p95 {figures['p95_ms']:.2f} ms"
    if "cpu_p50_ms" in figures:
        text += f" (CPU p50 {figures['cpu_p50_ms']:.2f} ms)"
    return text


# -- the Milvus store ---------------------------------------------------------------------


def milvus_store(args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    import faiss

    from qa import milvus, milvus_build
    from qa.manifest import ModelInfo

    n, count = args.chunks, args.queries
    with step(f"Generating {n:,} + {count} vectors and texts"):
        every, _ = document_vectors(n + count, args.topic_size, args.seed)
        vectors, queries = split_queries(every, count, args.seed)
        del every
        words = vocabulary(args.vocab, args.seed)
        chunk_texts = texts(n, 40, 80, words, args.seed + 3)  # the keyword bench's texts
        questions = texts(count, 3, 8, words, args.seed + 4)
        _, exact = faiss.knn(queries, vectors, K, metric=faiss.METRIC_INNER_PRODUCT)
    figures: dict[str, Any] = {}

    with step(f"FAISS store: store.make_faiss_index on {n:,} vectors") as timing:
        index, params = store.make_faiss_index(vectors)
    faiss.write_index(index, str(workdir / store.VECTORS))
    dense_figures = dense_latencies(index, queries, K, count)
    _, found = index.search(queries, K)
    figures["faiss"] = {
        "params": params,
        "build_seconds": timing["seconds"],
        "disk_mib": round((workdir / store.VECTORS).stat().st_size / 2**20, 1),
        "dense": dense_figures,
        "recall": recall(found, exact),
    }
    del index
    with step("FAISS store: build_bm25 on the texts") as timing:
        bm25, tokenizer = build_bm25(chunk_texts)
    figures["faiss"]["bm25_build_seconds"] = timing["seconds"]
    figures["faiss"]["keyword"] = latencies(
        lambda i: retrieval.keyword_search(
            bm25, tokenizer, questions[i : i + 1], retrieval.FUSION_DEPTH
        ),
        count,
    )
    gc.collect()

    model = ModelInfo(name="synthetic", dimension=DIMENSION, window=0)  # as an encoder reads
    target = milvus.target(None, None)
    keys = np.arange(n, dtype=np.int64)
    with step(f"Milvus store: open_for_build + upsert of {n:,} chunks (Milvus Lite)") as timing:
        collection = milvus_build.open_for_build(target, workdir, model, n)
        collection.upsert(keys, chunk_texts, vectors)
    lite = workdir / milvus.LITE_FILE
    disk = sum(p.stat().st_size for p in lite.rglob("*") if p.is_file())
    search = milvus.open_search(target, workdir, keys, model)
    dense_figures = latencies(lambda i: search.dense(queries[i : i + 1], K), count)
    found = np.asarray(
        [[row for row, _ in search.dense(queries[i : i + 1], K)[0]] for i in range(count)]
    )
    figures["milvus"] = {
        "params": collection.params,
        "build_seconds": timing["seconds"],
        "disk_mib": round(disk / 2**20, 1),
        "dense": dense_figures,
        "recall": recall(found, exact),
        "keyword": latencies(
            lambda i: search.keyword(questions[i : i + 1], retrieval.FUSION_DEPTH), count
        ),
    }
    for name, row in figures.items():
        print(
            f"  {name}: build {row['build_seconds']:.1f} s, {row['disk_mib']:.0f} MiB; dense "
            f"k={K} {fmt(row['dense'])}, recall@{K} {row['recall']:.3f}; keyword k="
            f"{retrieval.FUSION_DEPTH} {fmt(row['keyword'])}",
            flush=True,
        )
    return figures


# -- keyword ---------------------------------------------------------------------------------


def keyword(args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    import bm25s
    from bm25s import selection

    figures: dict[str, Any] = {"k": retrieval.FUSION_DEPTH}
    n = args.chunks
    with step(f"Generating {n:,} texts of 40-80 words, vocabulary {args.vocab:,}") as timing:
        words = vocabulary(args.vocab, args.seed)
        corpus = texts(n, 40, 80, words, args.seed + 3)
        questions = texts(args.queries, 3, 8, words, args.seed + 4)
    figures["generate_seconds"] = timing["seconds"]
    print(f"  e.g. {corpus[0][:70]!r}; question {questions[0]!r}")

    gc.collect()
    reset_peak()
    before = rss()
    with step("qa.build.build_bm25") as timing:
        bm25, tokenizer = build_bm25(corpus)
    after = rss()
    figures["build_seconds"] = timing["seconds"]
    figures["build_rss_delta_mib"] = round(after["rss"] - before["rss"], 1)
    figures["build_peak_rss_mib"] = round(after["peak"], 1)
    figures["vocabulary"] = len(tokenizer.get_vocab_dict())
    figures["postings"] = len(bm25.scores["data"])
    print(
        f"  {figures['vocabulary']:,} terms, {figures['postings']:,} postings; memory "
        f"+{figures['build_rss_delta_mib']:.0f} MiB, peak {figures['build_peak_rss_mib']:.0f} MiB"
    )
    del corpus

    folder = workdir / store.BM25_DIR
    with step(f"Saving to {folder}") as timing:
        bm25.save(str(folder), show_progress=False)
        tokenizer.save_vocab(str(folder))
        tokenizer.save_stopwords(str(folder))
    figures["save_seconds"] = timing["seconds"]
    figures["disk_mib"] = round(sum(p.stat().st_size for p in folder.iterdir()) / 2**20, 1)
    del bm25, tokenizer
    gc.collect()

    before = rss()
    with step("bm25s.BM25.load(mmap=True) and the tokenizer vocabulary") as timing:
        bm25 = bm25s.BM25.load(str(folder), mmap=True)
        tokenizer = store.new_bm25_tokenizer()
        tokenizer.load_vocab(str(folder))
        tokenizer.load_stopwords(str(folder))
    figures["load_seconds"] = timing["seconds"]
    figures["load_rss_delta_mib"] = round(rss()["rss"] - before["rss"], 1)

    def search(i: int) -> object:
        return retrieval.keyword_search(bm25, tokenizer, [questions[i]], retrieval.FUSION_DEPTH)

    figures.update(latencies(search, len(questions)))
    figures["rss_after_search_mib"] = round(rss()["rss"], 1)
    print(
        f"  keyword_search, one question, k={retrieval.FUSION_DEPTH}: {fmt(figures)}; load "
        f"{figures['load_seconds']:.2f} s, +{figures['load_rss_delta_mib']:.0f} MiB, RSS "
        f"{figures['rss_after_search_mib']:.0f} MiB after the searches"
    )

    # Where the time goes: the three steps of keyword_search timed apart (its ranking of the
    # matching chunks is retrieval.top_rows), and, for comparison, bm25s's own top-k over all
    # the scores, which qa used before d79d809: np.argpartition is slow on a long array that is
    # mostly zeros.
    depth = retrieval.FUSION_DEPTH
    parts: dict[str, list[float]] = {"tokenize": [], "score": [], "rank": [], "bm25s_topk": []}
    postings, matched, same = [], [], 0
    indptr = np.asarray(bm25.scores["indptr"])
    for question in questions:
        started = time.perf_counter()
        ids = tokenizer.tokenize([question], update_vocab=False, show_progress=False)[0]
        ids = [i for i in ids if i != 0]
        tokenized = time.perf_counter()
        if not ids:
            continue
        scores = bm25.get_scores_from_ids(ids)
        scored = time.perf_counter()
        ranked = list(retrieval.top_rows(scores, depth))
        done = time.perf_counter()
        top_scores, _ = selection.topk(scores, k=depth, sorted=True, backend="numpy")
        parts["bm25s_topk"].append((time.perf_counter() - done) * 1000)
        parts["tokenize"].append((tokenized - started) * 1000)
        parts["score"].append((scored - tokenized) * 1000)
        parts["rank"].append((done - scored) * 1000)
        postings.append(int(sum(indptr[i + 1] - indptr[i] for i in ids)))
        matched.append(int(np.count_nonzero(scores)))
        same += np.array_equal(top_scores[top_scores > 0], [s for _, s in ranked])
    figures["parts"] = {name: summary(values) for name, values in parts.items()}
    figures["postings_per_question_p50_p95"] = [int(v) for v in np.percentile(postings, [50, 95])]
    figures["matching_chunks_p50_p95"] = [int(v) for v in np.percentile(matched, [50, 95])]
    figures["bm25s_topk_same_scores"] = f"{same}/{len(matched)}"
    print(
        "  split: "
        + "; ".join(f"{name} {fmt(value)}" for name, value in figures["parts"].items())
        + f"\n  postings read per question p50/p95 {figures['postings_per_question_p50_p95']},"
        f" chunks matching p50/p95 {figures['matching_chunks_p50_p95']}; bm25s's top-k gives"
        f" the same scores for {same} of {len(matched)} questions"
    )
    return figures


# -- main ------------------------------------------------------------------------------------


def integers(text: str) -> list[int]:
    return [int(value) for value in text.split(",")]


def setting(row: dict[str, Any]) -> str:
    """``efSearch 128``, ``nprobe 32`` or ``exact``: the search setting of a sweep row."""
    knob = next((name for name in ("efSearch", "nprobe") if name in row), "")
    return f"{knob} {row[knob]:<4d}" if knob else "exact"


def dense_summary(label: str, d: dict[str, Any]) -> None:
    """The summary lines of one dense index: build, disk, load, then the sweep."""
    print(f"  {label}: {d['params']}")
    cold, warm = d["load"][0], d["load"][1]
    print(f"    build               {d['build_seconds']:.1f} s")
    print(f"    on disk             {d['disk_mib']:.0f} MiB")
    print(
        f"    load                {cold['load_seconds']:.2f} s cold, {warm['load_seconds']:.2f} s "
        f"warm; RSS {warm['rss_after_load_mib']:.0f} MiB after load, "
        f"{warm['rss_after_search_mib']:.0f} MiB after searches"
    )
    for row in d["sweep"]:
        loaded = all(row.get(knob) == value for knob, value in d["loaded_with"].items())
        print(
            f"    {setting(row):18s}  k={K}: {fmt(row)}, recall@{K} {row['recall_at_10']:.4f}"
            + ("  <- as loaded" if loaded else "")
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chunks", type=int, default=1_000_000, help="corpus size")
    parser.add_argument("--queries", type=int, default=500, help="queries and questions")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--ef",
        type=integers,
        default=[16, 32, 64, store.HNSW_EF_SEARCH, 256],
        help="HNSW efSearch values to sweep (comma-separated)",
    )
    what_if = parser.add_argument_group(
        "what if", "build the product's index with other settings than qa.store's (patched in)"
    )
    what_if.add_argument("--hnsw-threshold", type=int, help="store.HNSW_THRESHOLD")
    what_if.add_argument("--hnsw-m", type=int, help="store.HNSW_M")
    what_if.add_argument("--ef-construction", type=int, help="store.HNSW_EF_CONSTRUCTION")
    what_if.add_argument("--ef-search", type=int, help="store.HNSW_EF_SEARCH")
    parser.add_argument("--vectors", choices=("documents", "isotropic"), default="documents")
    parser.add_argument("--topic-size", type=int, default=64, help="mean chunks per document")
    parser.add_argument("--ivf", action="store_true", help="also measure an IndexIVFFlat")
    parser.add_argument("--ivf-nlist", type=int, help="IVF lists (default: 4 * sqrt(chunks))")
    parser.add_argument(
        "--nprobe",
        type=integers,
        default=[8, 16, 32, 64, 128],
        help="IVF nprobe values to sweep; the middle one is loaded (comma-separated)",
    )
    parser.add_argument("--vocab", type=int, default=50_000, help="generated words")
    parser.add_argument(
        "--skip",
        choices=("dense", "product", "keyword"),
        action="append",
        default=[],
        help="leave out a part (product: the index store.make_faiss_index builds); repeatable",
    )
    parser.add_argument(
        "--store",
        choices=("faiss", "milvus"),
        default="faiss",
        help="milvus: measure the Milvus store beside FAISS HNSW instead (needs qa[milvus])",
    )
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    parser.add_argument("--workdir", type=Path, help="folder for the files (default: a temp one)")
    parser.add_argument("--keep", action="store_true", help="keep the files in --workdir")
    parser.add_argument("--probe-load", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--probe-flag", default="none", help=argparse.SUPPRESS)
    parser.add_argument("--probe-param", default="=0", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.probe_load is not None:
        knob, _, value = args.probe_param.partition("=")
        probe_load(args.probe_load, args.workdir, args.probe_flag, knob, int(value))
        return 0

    patched = {
        name: value
        for name, value in (
            ("HNSW_THRESHOLD", args.hnsw_threshold),
            ("HNSW_M", args.hnsw_m),
            ("HNSW_EF_CONSTRUCTION", args.ef_construction),
            ("HNSW_EF_SEARCH", args.ef_search),
        )
        if value is not None
    }
    for name, value in patched.items():
        print(f"What if: store.{name} = {value} (qa has {getattr(store, name)})")
        setattr(store, name, value)
    if args.ef_search is not None and args.ef_search not in args.ef:
        args.ef = sorted([*args.ef, args.ef_search])

    started = time.perf_counter()
    print(f"Load average at start: {load_average()}; {os.cpu_count()} cores", flush=True)
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="qa-scale-"))
    workdir.mkdir(parents=True, exist_ok=True)
    figures: dict[str, Any] = {
        "command": " ".join(sys.argv),
        "chunks": args.chunks,
        "queries": args.queries,
        "seed": args.seed,
        "vectors": args.vectors,
        "hnsw_threshold": store.HNSW_THRESHOLD,
        "patched": patched,
        "load_average_start": load_average(),
    }
    try:
        if args.store == "milvus":
            figures["milvus"] = milvus_store(args, workdir)
            args.skip = ["dense", "keyword"]
        if "dense" not in args.skip:
            figures["dense"] = dense(args, workdir)
        if "keyword" not in args.skip:
            figures["keyword"] = keyword(args, workdir)
    finally:
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)
    figures["load_average_end"] = load_average()
    figures["total_seconds"] = round(time.perf_counter() - started, 1)

    print(f"\nSummary, {args.chunks:,} chunks ({args.vectors} vectors), seed {args.seed}:")
    print("  (search times are one query at a time, without the query encode)")
    if "dense" in figures:
        d = figures["dense"]
        if "product" in d:
            dense_summary("dense, as qa builds it", d["product"])
        if "ivf" in d:
            dense_summary("dense, IVF alternative", d["ivf"])
        print(f"  targets               search p50 <= 5 ms, recall@{K} >= 0.95")
    if "keyword" in figures:
        w = figures["keyword"]
        print(
            f"  keyword, k={w['k']}          {fmt(w)} (target p50 <= 50 ms); build "
            f"{w['build_seconds']:.1f} s, peak RSS {w['build_peak_rss_mib']:.0f} MiB, "
            f"{w['disk_mib']:.0f} MiB on disk"
        )
        print(
            f"    of which ranking    {fmt(w['parts']['rank'])}; bm25s's top-k over all scores "
            f"would take {fmt(w['parts']['bm25s_topk'])}"
        )
    print(
        f"  total {figures['total_seconds']:.0f} s; load average {figures['load_average_start']} "
        f"at start, {figures['load_average_end']} at end"
    )
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2) + "\n", encoding="utf-8")
        print(f"Figures written to {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
