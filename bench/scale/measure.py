"""Measuring for the scale bench: latencies, memory, recall, timed steps, and their format."""

from __future__ import annotations

import contextlib
import os
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import numpy as np

from qa import retrieval

K = 10  # the k of dense search and of recall@k


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


def summary(samples: Sequence[float]) -> dict[str, float]:
    return {
        "p50_ms": round(float(np.percentile(samples, 50)), 3),
        "p95_ms": round(float(np.percentile(samples, 95)), 3),
    }


def recall(found: np.ndarray, exact: np.ndarray, k: int = K) -> float:
    """Mean share of the exact top ``k`` found in the approximate top ``k``."""
    hits = [len(set(f[:k].tolist()) & set(e[:k].tolist())) for f, e in zip(found, exact)]
    return float(np.mean(hits)) / k


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


def fmt(figures: dict[str, Any]) -> str:
    """``p50 … ms, p95 … ms (CPU p50 … ms)``: what ``latencies`` or ``summary`` measured."""
    text = f"p50 {figures['p50_ms']:.2f} ms, p95 {figures['p95_ms']:.2f} ms"
    if "cpu_p50_ms" in figures:
        text += f" (CPU p50 {figures['cpu_p50_ms']:.2f} ms)"
    return text
