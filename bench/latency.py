"""Benchmark: warm latency of retrieve and ask against a bare encode + FAISS search, build time
against a bare encode, and cold start against importing the libraries. Prints figures.

    .venv/bin/python bench/latency.py [--repeat 3]

Runs on the default corpus and question set, in one process, side by side, so the ratios compare
like with like on this machine. Builds a scratch index under bench/.cache/latency/.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import numpy as np

import qa
from qa.answer import answer
from qa.build import build

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
from webserver import free_port  # noqa: E402  (the tests' app helpers)

CACHE = ROOT / "bench" / ".cache" / "latency"


def percentiles(samples: list[float]) -> tuple[float, float]:
    return float(np.percentile(samples, 50)), float(np.percentile(samples, 95))


def interleaved(functions: dict, items: list[str]) -> dict[str, list[float]]:  # type: ignore[type-arg]
    """Milliseconds per call of each function, taking turns on every item so that no function
    is favoured by warm-up or by what else the machine is doing at the time."""
    samples: dict[str, list[float]] = {name: [] for name in functions}
    for item in items:
        for name, function in functions.items():
            started = time.perf_counter()
            function(item)
            samples[name].append((time.perf_counter() - started) * 1000)
    return samples


def wall(command: list[str]) -> float:
    started = time.perf_counter()
    subprocess.run(command, check=True, capture_output=True, cwd=ROOT)
    return time.perf_counter() - started


def app_first_answer(question: str) -> float:
    """Seconds from starting ``python app.py`` (over the scratch index) to its first answer."""
    port = free_port()
    env = {
        **os.environ,
        "QA_INDEX_DIR": str(CACHE),
        "GRADIO_SERVER_PORT": str(port),
        "GRADIO_ANALYTICS_ENABLED": "False",
    }
    url = f"http://127.0.0.1:{port}/gradio_api/call/ask"
    started = time.perf_counter()
    process = subprocess.Popen(
        [sys.executable, "app.py"], cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"app.py exited with code {process.returncode}")
            try:
                request = urllib.request.Request(
                    url, data=json.dumps({"data": [question]}).encode(), method="POST",
                    headers={"Content-Type": "application/json"},
                )  # fmt: skip
                with urllib.request.urlopen(request, timeout=5) as response:
                    event = json.load(response)["event_id"]
                with urllib.request.urlopen(f"{url}/{event}", timeout=60) as response:
                    if b"event: complete" in response.read():
                        return time.perf_counter() - started
            except OSError:
                time.sleep(0.1)
    finally:
        process.terminate()
        process.wait(timeout=30)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3, help="passes over the questions")
    args = parser.parse_args(argv)

    lines = (ROOT / "questions" / "default.jsonl").read_text(encoding="utf-8").splitlines()
    questions = [json.loads(line)["question"] for line in lines if line.strip()] * args.repeat

    started = time.perf_counter()
    build(ROOT / "corpus", CACHE, show_progress=False, incremental=False)
    build_seconds = time.perf_counter() - started
    index = qa.load_index(CACHE)
    encoder, faiss_index = index.encoder, index.search.faiss_index
    texts = [index.chunk_passage(row).text for row in range(len(index))]
    started = time.perf_counter()
    encoder.encode(texts)
    encode_seconds = time.perf_counter() - started

    index.ask(questions[0])  # warm: models loaded, caches filled

    def floor(question: str) -> None:
        faiss_index.search(encoder.encode([question]), 5)

    passages = {q: index.retrieve(q, 5) for q in questions}
    runs = interleaved(
        {
            "bare encode + FAISS search (floor)": floor,
            "Index.retrieve, hybrid": lambda q: index.retrieve(q, 5),
            "Index.retrieve, dense": lambda q: index.retrieve(q, 5, mode="dense"),
            "qa.answer (the reader alone)": lambda q: answer(q, passages[q]),
            "Index.ask (retrieve + reader)": lambda q: index.ask(q, 5),
        },
        questions,
    )
    base = statistics.median(runs["bare encode + FAISS search (floor)"])
    print(f"Warm latency, {len(questions)} questions of questions/default.jsonl, k=5:")
    print(f"{'':38s} {'p50 ms':>8s} {'p95 ms':>8s} {'p50 / floor':>12s}")
    for name, samples in runs.items():
        p50, p95 = percentiles(samples)
        print(f"{name:38s} {p50:8.1f} {p95:8.1f} {p50 / base:12.2f}")

    started = time.perf_counter()
    index.ask_many(questions, 5)
    batch = (time.perf_counter() - started) * 1000 / len(questions)
    print(f"{'Index.ask_many, per question':38s} {batch:8.1f}")

    print(
        f"\nBuild of the default corpus ({len(index)} chunks): {build_seconds:.2f} s; bare encode "
        f"of the same chunk texts: {encode_seconds:.2f} s (the build also loads the model, "
        "splits sentences and writes files)"
    )
    imports = [sys.executable, "-c", "import sentence_transformers, faiss"]
    ask = [sys.executable, "-m", "qa", "ask", "What is NAIO?", "--index", str(CACHE)]
    import_s = statistics.median(wall(imports) for _ in range(3))
    ask_s = statistics.median(wall(ask) for _ in range(3))
    app_s = statistics.median(app_first_answer("What is NAIO?") for _ in range(3))
    print(
        f"Cold start to the first answer: qa ask {ask_s:.2f} s, the web app {app_s:.2f} s; "
        f"python -c 'import sentence_transformers, faiss' {import_s:.2f} s; ratios "
        f"{ask_s / import_s:.2f} and {app_s / import_s:.2f}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
