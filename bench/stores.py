"""Benchmark: the Milvus store beside the FAISS store, and the Ray build beside the local one.

    .venv/bin/python bench/stores.py [--questions 2000] [--repeat 300] [--no-ray]

Both stores are built by ``qa.build_index`` from the same corpus into a temporary folder (the
Milvus one is a Milvus Lite file inside it), then asked the same questions through
``Index.retrieve_many`` and ``qa.evaluate``:

* agreement: the share of top-5 passages (document and offsets) that both stores return, per
  retrieval mode. Dense is FAISS flat against Milvus FLAT; keyword is bm25s against Milvus's
  own BM25 function over the same terms (``qa.retrieval.keyword_terms``), with each Milvus Lite
  segment's own statistics; hybrid fuses each store's two lists with qa's own reciprocal rank
  fusion.
* hit@5 of each store and mode, from ``qa.evaluate`` with no reader (retrieval only).
* warm retrieve: ``Index.retrieve`` of one question at a time, after a warm-up, p50 and p95,
  the two stores interleaved so that both see the same machine load.

on the default corpus (``corpus/``, ``questions/default.jsonl``) and on SQuAD v2.0 dev (all 35
articles, a seeded sample of ``--questions`` answerable questions; skipped when
``../shared/data/squad`` is absent). Then the SQuAD v2 dev corpus is built again with
``ray=True`` (a local Ray on every core) and compared with the local build: chunk tables,
manifests and the cosine of each chunk's two vectors, and the two build times. Nothing is
tuned here; it prints figures and checks nothing.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

import qa

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repository: training/
from training.squad import DATA_DIR, load_articles, questions_of, write_articles

ROOT = Path(__file__).resolve().parent.parent
MODES = ("dense", "keyword", "hybrid")
K = 5


def agreement(
    faiss_index: qa.Index, milvus_index: qa.Index, questions: list[str], mode: str
) -> float:
    """The share of top-k passages both stores return."""
    ours = faiss_index.retrieve_many(questions, K, mode=mode)
    theirs = milvus_index.retrieve_many(questions, K, mode=mode)
    shared = total = 0
    for a, b in zip(ours, theirs):
        spans = {(p.doc_id, p.start, p.end) for p in a}
        shared += sum((p.doc_id, p.start, p.end) in spans for p in b)
        total += max(len(a), len(b))
    return shared / max(total, 1)


def warm_retrieve(
    indexes: dict[str, qa.Index], questions: list[str], repeat: int
) -> dict[str, Any]:
    samples: dict[str, list[float]] = {name: [] for name in indexes}
    for index in indexes.values():  # warm-up: models, caches, the Milvus Lite engine
        for question in questions[:20]:
            index.retrieve(question)
    for i in range(repeat):
        question = questions[i % len(questions)]
        for name, index in indexes.items():
            started = time.perf_counter()
            index.retrieve(question)
            samples[name].append((time.perf_counter() - started) * 1000)
    return {
        name: {"p50_ms": float(np.percentile(s, 50)), "p95_ms": float(np.percentile(s, 95))}
        for name, s in samples.items()
    }


def compare(label: str, corpus: Path, questions: list[qa.Question], workdir: Path,
            repeat: int) -> None:  # fmt: skip
    print(f"\n== {label}: {len(questions)} questions", flush=True)
    started = time.perf_counter()
    faiss_index = qa.build_index(corpus, workdir / "faiss", show_progress=False)
    faiss_s = time.perf_counter() - started
    started = time.perf_counter()
    milvus_index = qa.build_index(corpus, workdir / "milvus", show_progress=False, store="milvus")
    milvus_s = time.perf_counter() - started
    print(
        f"  {len(faiss_index)} chunks; build {faiss_s:.1f} s (FAISS store), {milvus_s:.1f} s "
        f"(Milvus Lite, {milvus_index.manifest['milvus']['type']})"
    )
    texts = [q.question for q in questions]
    for index in (faiss_index, milvus_index):
        index.reader = None  # retrieval only
    print(f"  {'mode':8s} {'top-5 agreement':>16s} {'hit@5 FAISS':>12s} {'hit@5 Milvus':>13s}")
    for mode in MODES:
        hits = [
            qa.evaluate(questions, index=index, k=K, mode=mode).metrics[f"hit@{K}"]
            for index in (faiss_index, milvus_index)
        ]
        share = agreement(faiss_index, milvus_index, texts, mode)
        print(f"  {mode:8s} {share:16.3f} {hits[0]:12.3f} {hits[1]:13.3f}", flush=True)
    timings = warm_retrieve({"FAISS": faiss_index, "Milvus Lite": milvus_index}, texts, repeat)
    for name, figures in timings.items():
        print(f"  warm retrieve (hybrid, k={K}), {name}: p50 {figures['p50_ms']:.1f} ms, "
              f"p95 {figures['p95_ms']:.1f} ms")  # fmt: skip
    ratio = timings["Milvus Lite"]["p50_ms"] / timings["FAISS"]["p50_ms"]
    print(f"  Milvus Lite / FAISS p50: {ratio:.2f}x")


def ray_build(corpus: Path, workdir: Path) -> None:
    print("\n== Ray build of SQuAD v2 dev against the local build", flush=True)
    started = time.perf_counter()
    local = qa.build_index(corpus, workdir / "local", show_progress=False, incremental=False)
    local_s = time.perf_counter() - started
    started = time.perf_counter()
    on_ray = qa.build_index(corpus, workdir / "ray", show_progress=False, ray=True)
    ray_s = time.perf_counter() - started
    vectors = [i.search.faiss_index for i in (local, on_ray)]
    a, b = (v.reconstruct_n(0, v.ntotal) for v in vectors)
    same_chunks = np.array_equal(local.chunks, on_ray.chunks)
    # What differs between any two builds; "files" holds checksums, and float sums in other
    # batches differ in the last bits (the cosines below say by how much).
    per_build = ("built_at", "build_seconds", "embedded", "files")
    same_manifest = {k: v for k, v in local.manifest.items() if k not in per_build} == {
        k: v for k, v in on_ray.manifest.items() if k not in per_build
    }
    print(
        f"  {len(local)} chunks; local build {local_s:.1f} s, Ray build {ray_s:.1f} s "
        f"({os.cpu_count()} cores, Ray start and model loads included); same chunks: "
        f"{same_chunks}; same manifest: {same_manifest}; cosine per chunk min "
        f"{float((a * b).sum(axis=1).min()):.6f}"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--questions", type=int, default=2000, help="SQuAD questions sampled")
    parser.add_argument("--repeat", type=int, default=300, help="timed retrieves per store")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--no-ray", action="store_true", help="skip the Ray build")
    args = parser.parse_args(argv)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    print(f"{os.cpu_count()} cores; load average {os.getloadavg()}")

    with tempfile.TemporaryDirectory(prefix="qa-stores-") as folder:
        workdir = Path(folder)
        default = qa.load_questions(ROOT / "questions" / "default.jsonl")
        compare("default corpus", ROOT / "corpus", default, workdir / "default", args.repeat)

        squad = DATA_DIR / "dev-v2.0.json"
        if not squad.is_file():
            print(f"\n{squad} is absent: SQuAD parts skipped")
            return 0
        articles = load_articles(squad)
        corpus = workdir / "squad" / "corpus"
        write_articles(articles, corpus / "squad-v2-dev.jsonl")
        answerable = [q for q in questions_of(articles) if q.answers]
        sample = random.Random(args.seed).sample(answerable, min(args.questions, len(answerable)))
        compare(f"SQuAD v2 dev ({len(articles)} articles)", corpus, sample, workdir / "squad",
                args.repeat)  # fmt: skip
        if not args.no_ray:
            ray_build(corpus, workdir / "ray")
    print(f"load average at the end {os.getloadavg()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
