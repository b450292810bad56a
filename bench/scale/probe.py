"""Loading a saved FAISS index in a fresh process, as ``qa.store.load`` does: load time, resident
memory, the first query and then the searches, with the file in or out of the page cache.

The fresh process is the bench's own command with the hidden ``--probe-load`` options, which
call ``probe_load``; it prints its figures as one line of JSON.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from bench.scale.measure import K, dense_latencies, recall, rss
from qa import retrieval

ENTRY = Path(__file__).resolve().parents[1] / "scale.py"  # the command: bench/scale.py
QUERIES = "queries.npy"
EXACT = "exact.npy"


def save_queries(workdir: Path, queries: np.ndarray, exact: np.ndarray) -> None:
    """Leave the queries and their exact top ``K`` in ``workdir`` for the probes."""
    np.save(workdir / QUERIES, queries)
    np.save(workdir / EXACT, exact)


def evict(path: Path) -> None:
    """Drop ``path`` from the page cache (it must be written back first), for a cold read."""
    with path.open("rb") as handle:
        os.fsync(handle.fileno())
        os.posix_fadvise(handle.fileno(), 0, 0, os.POSIX_FADV_DONTNEED)


def probe_load(path: Path, workdir: Path, flag: str, knob: str, value: int) -> None:
    """In a fresh process: read the index, then search with it; print figures as JSON."""
    import faiss

    flags = {"none": 0, "mmap": faiss.IO_FLAG_MMAP, "mmap_ifc": faiss.IO_FLAG_MMAP_IFC}
    queries = np.load(workdir / QUERIES)
    exact = np.load(workdir / EXACT)
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
        str(ENTRY),
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
