"""Benchmark: recall@10 and latency of qa's dense index types on real SQuAD vectors, not synthetic.

    .venv/bin/python bench/real_vectors.py [--limit N] [--queries 1000] [--seed 0] [--json PATH]

Synthetic vectors overstate how easy neighbourhoods are; this measures the index types on real
all-MiniLM-L6-v2 vectors. It reads every SQuAD context in ``../shared/data/squad`` (the train
files, the dev files and XQuAD; paragraphs deduplicated by text, ``--limit`` keeps the first N) and
makes two sets of vectors with qa's own code:

* ``chunks``: each paragraph a Document, chunked as ``qa build`` chunks it
  (``qa.chunking.chunk_document`` with ``qa.build.chunking_params``);
* ``sentences``: each paragraph split by qa's sentence splitter (pysbd, ``split_sentences``);

and measures each, and their union ``all``. Each set holds distinct texts only: a repeated text
gives equal vectors, whose ties an exact and an approximate search may break differently.
Vectors come from ``qa.embedding.get_encoder()`` and are cached in ``bench/.cache/real_vectors/``
under a hash of the model name and the texts, so a rerun skips the embedding.

Queries: a seeded sample of ``--queries`` SQuAD dev questions, embedded the same way. Ground
truth: the exact top 10 by inner product (``faiss.knn``). Each index type is built by
``qa.store.make_faiss_index`` (qa's parameters), written to disk and read back as qa's loader
reads it (the float32 vectors of ``hnsw-sq8`` memory-mapped, warm in the page cache), then every
query is searched alone through ``qa.retrieval.dense_search`` (one FAISS thread, k=10), the types
taking turns on each query so that none is favoured by what else the machine is doing. ``flat``
is the exact baseline; ``hnsw-sq8 (no re-rank)`` is the same 8-bit index searched without the
float32 vectors (a plain ``faiss_index.search``), to show what the re-rank buys; its disk figure
is the index file alone. It prints figures; it checks nothing.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
from tqdm import tqdm

from qa.build import chunking_params
from qa.chunking import chunk_document, split_sentences
from qa.embedding import Encoder, get_encoder
from qa.retrieval import dense_search, faiss_threads
from qa.store import VECTORS, make_faiss_index
from qa.types import Document

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # the repository: training/
from training.squad import DATA_DIR, load_articles  # noqa: E402

CACHE = ROOT / "bench" / ".cache" / "real_vectors"
INDEX_TYPES = ("flat", "hnsw", "hnsw-sq8")
NO_RERANK = "hnsw-sq8 (no re-rank)"
K = 10
SEED = 0
QUERIES = 1_000
EMBED_BATCH = 256  # texts per encode call (the progress bar's step), as qa build embeds
WARMUP = 20  # queries searched once by every index before the timed pass
MIB = 1024 * 1024


@dataclass(frozen=True)
class Row:
    """The figures of one index type on one vector set (None: not measured for this row)."""

    type: str
    vectors: int
    build_s: float | None
    disk_mib: float
    recall_at_10: float
    p50_ms: float
    p95_ms: float


def squad_files(data_dir: Path) -> list[Path]:
    """The SQuAD files whose contexts make the corpus: train, then dev, then XQuAD."""
    patterns = ("train-*.json", "dev-*.json", "xquad*.json")
    return [path for pattern in patterns for path in sorted(data_dir.glob(pattern))]


def read_paragraphs(files: list[Path]) -> list[str]:
    """Every context of ``files``, stripped, each distinct text once, in file order."""
    texts = (p["context"].strip() for f in files for a in load_articles(f) for p in a["paragraphs"])
    return [t for t in dict.fromkeys(texts) if t]


def read_questions(files: list[Path]) -> list[str]:
    """Every question of ``files``, stripped, each distinct text once, in file order."""
    texts = (
        q["question"].strip()
        for f in files
        for a in load_articles(f)
        for p in a["paragraphs"]
        for q in p["qas"]
    )
    return [t for t in dict.fromkeys(texts) if t]


def split(paragraphs: list[str], encoder: Encoder) -> tuple[list[str], list[str]]:
    """The chunk texts and the sentence texts of ``paragraphs`` (with repeats, in order).

    The sentences are split once and handed to ``chunk_document``, which would otherwise split
    them again the same way (``split_sentences``); the chunks are those of a build.
    """
    chunking = chunking_params(encoder.window)
    chunks: list[str] = []
    sentences: list[str] = []
    for number, text in enumerate(tqdm(paragraphs, desc="Splitting", unit="paragraph")):
        found = split_sentences(text)
        sentences.extend(text[s.start : s.end] for s in found)
        document = Document(id=f"p{number}", title="", text=text)
        made, _ = chunk_document(
            document,
            encoder.count_tokens,
            chunk_tokens=chunking["chunk_tokens"],
            overlap=chunking["overlap_sentences"],
            sentences=found,
        )
        chunks.extend(c.text for c in made)
    return chunks, sentences


def embed(encoder: Encoder, texts: list[str], name: str) -> np.ndarray:
    """The vectors of ``texts``, from the cache when these texts were embedded before."""
    digest = hashlib.sha256(json.dumps([encoder.name, texts]).encode("utf-8")).hexdigest()
    path = CACHE / f"{name}-{digest[:16]}.npy"
    if path.is_file():
        vectors = np.load(path)
        print(f"{name}: {len(vectors):,} vectors from {path.relative_to(ROOT)}", flush=True)
        return vectors
    # Texts of like length share a batch, so little of each batch is padding.
    order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
    vectors = np.zeros((len(texts), encoder.dimension), dtype=np.float32)
    with tqdm(total=len(texts), desc=f"Embedding {name}", unit="text") as bar:
        for first in range(0, len(texts), EMBED_BATCH):
            rows = order[first : first + EMBED_BATCH]
            vectors[rows] = encoder.encode([texts[i] for i in rows])
            bar.update(len(rows))
    CACHE.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.stem + ".partial.npy")
    np.save(partial, vectors, allow_pickle=False)
    partial.replace(path)
    return vectors


def exact_top(vectors: np.ndarray, queries: np.ndarray, k: int) -> np.ndarray:
    """The rows of the exact top ``k`` of each query by inner product (all FAISS threads)."""
    import faiss

    faiss.omp_set_num_threads(faiss_threads())
    _, rows = faiss.knn(queries, vectors, k, metric=faiss.METRIC_INNER_PRODUCT)
    return rows


def build_and_load(
    vectors: np.ndarray, index_type: str, folder: Path
) -> tuple[Any, np.ndarray | None, float, float, float]:
    """Build ``index_type`` as qa builds it, write it as qa writes it, read it back as qa's
    loader does. Returns the index, its re-rank vectors (memory-mapped) or None, the build
    seconds, the MiB on disk of the index file and of all its files."""
    import faiss

    started = time.perf_counter()
    faiss_index, params = make_faiss_index(vectors, index_type)
    build_s = time.perf_counter() - started
    folder.mkdir(parents=True)
    faiss.write_index(faiss_index, str(folder / VECTORS))
    del faiss_index
    if "rerank" in params:
        np.save(folder / str(params["rerank"]), vectors, allow_pickle=False)
    index_mib = (folder / VECTORS).stat().st_size / MIB
    total_mib = sum(f.stat().st_size for f in folder.iterdir()) / MIB
    # As qa.store._load_faiss_search reads it.
    loaded: Any = faiss.read_index(str(folder / VECTORS))
    if "efSearch" in params:
        loaded.hnsw.efSearch = int(params["efSearch"])
    exact = None
    if "rerank" in params:
        exact = np.load(folder / str(params["rerank"]), mmap_mode="r")
    return loaded, exact, build_s, index_mib, total_mib


def measure(
    name: str, vectors: np.ndarray, queries: np.ndarray, truth: np.ndarray, scratch: Path
) -> list[Row]:
    """The figures of every index type on ``vectors``: built, written, read back, searched."""
    searches: dict[str, tuple[Any, np.ndarray | None]] = {}
    built: dict[str, tuple[float | None, float]] = {}
    for index_type in INDEX_TYPES:
        print(f"{name}: building {index_type} over {len(vectors):,} vectors ...", flush=True)
        loaded, exact, build_s, index_mib, total_mib = build_and_load(
            vectors, index_type, scratch / f"{name}-{index_type}"
        )
        searches[index_type] = (loaded, exact)
        built[index_type] = (build_s, total_mib)
        if exact is not None:
            searches[NO_RERANK] = (loaded, None)
            built[NO_RERANK] = (None, index_mib)

    def search(index_type: str, row: int) -> list[int]:
        faiss_index, exact = searches[index_type]
        hits = dense_search(faiss_index, queries[row : row + 1], K, exact=exact)[0]
        return [found for found, _ in hits]

    import faiss

    faiss.omp_set_num_threads(1)  # as dense_search sets it for one query
    for row in range(min(WARMUP, len(queries))):
        for index_type in searches:
            search(index_type, row)
    found: dict[str, list[list[int]]] = {t: [] for t in searches}
    millis: dict[str, list[float]] = {t: [] for t in searches}
    for row in tqdm(range(len(queries)), desc=f"Searching {name}", unit="query"):
        for index_type in searches:
            started = time.perf_counter()
            hits = search(index_type, row)
            millis[index_type].append((time.perf_counter() - started) * 1000)
            found[index_type].append(hits)
    faiss.omp_set_num_threads(faiss_threads())

    rows = []
    for index_type in searches:
        recall = np.mean(
            [len(set(f) & set(t.tolist())) / K for f, t in zip(found[index_type], truth)]
        )
        build_s, disk_mib = built[index_type]
        p50, p95 = np.percentile(millis[index_type], [50, 95])
        rows.append(
            Row(index_type, len(vectors), build_s, disk_mib, float(recall), float(p50), float(p95))
        )
    return rows


def table(rows: list[Row]) -> str:
    lines = [
        "| type | vectors | build s | disk MiB | recall@10 | p50 ms | p95 ms |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for r in rows:
        build = "—" if r.build_s is None else f"{r.build_s:.1f}"
        lines.append(
            f"| {r.type} | {r.vectors:,} | {build} | {r.disk_mib:.1f} | {r.recall_at_10:.4f} "
            f"| {r.p50_ms:.2f} | {r.p95_ms:.2f} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, help="use the first N paragraphs only (smoke check)")
    parser.add_argument(
        "--queries", type=int, default=QUERIES, help=f"questions sampled (default {QUERIES:,})"
    )
    parser.add_argument("--seed", type=int, default=SEED, help=f"sampling seed (default {SEED})")
    parser.add_argument("--json", type=Path, help="also write the figures to this JSON file")
    args = parser.parse_args(argv)
    if args.limit is not None and args.limit < 1:
        parser.error(f"--limit must be 1 or more, got {args.limit}")
    if args.queries < 1:
        parser.error(f"--queries must be 1 or more, got {args.queries}")
    if not DATA_DIR.is_dir():
        print(f"No SQuAD data at {DATA_DIR} (../shared is absent); nothing to benchmark.")
        return 0

    started = time.perf_counter()
    faiss_threads()  # record FAISS's own thread count before any query sets it to one
    files = squad_files(DATA_DIR)
    paragraphs = read_paragraphs(files)[: args.limit]
    pool = read_questions([f for f in files if f.name.startswith("dev-")])
    if args.queries > len(pool):
        parser.error(f"--queries of {args.queries:,} is more than the {len(pool):,} questions")
    questions = random.Random(args.seed).sample(pool, args.queries)

    encoder = get_encoder()
    chunk_texts, sentence_texts = split(paragraphs, encoder)
    chunks, sentences = list(dict.fromkeys(chunk_texts)), list(dict.fromkeys(sentence_texts))
    union = list(dict.fromkeys(chunks + sentences))
    counts = {
        "paragraphs": len(paragraphs),
        "chunks": len(chunk_texts),
        "distinct_chunks": len(chunks),
        "sentences": len(sentence_texts),
        "distinct_sentences": len(sentences),
        "all": len(union),
    }
    print(
        f"{len(paragraphs):,} paragraphs from {', '.join(f.name for f in files)}: "
        f"{len(chunk_texts):,} chunks ({len(chunks):,} distinct), "
        f"{len(sentence_texts):,} sentences ({len(sentences):,} distinct), "
        f"{len(union):,} distinct texts in all; {len(questions):,} questions (seed {args.seed})",
        flush=True,
    )
    vectors = embed(encoder, union, "texts")
    query_vectors = embed(encoder, questions, "questions")
    row_of = {text: row for row, text in enumerate(union)}
    sets = {
        "chunks": vectors[[row_of[t] for t in chunks]],
        "sentences": vectors[[row_of[t] for t in sentences]],
        "all": vectors,
    }

    results: dict[str, list[Row]] = {}
    CACHE.mkdir(parents=True, exist_ok=True)
    for name, set_vectors in sets.items():
        truth = exact_top(set_vectors, query_vectors, K)
        with tempfile.TemporaryDirectory(dir=CACHE) as scratch:
            results[name] = measure(name, set_vectors, query_vectors, truth, Path(scratch))
    seconds = time.perf_counter() - started

    import faiss

    print(
        f"\nmodel {encoder.name}, faiss {faiss.__version__}, k={K}, {len(questions):,} queries "
        f"one at a time on one FAISS thread; builds on {faiss_threads()} threads"
    )
    for name, rows in results.items():
        print(f"\n### {name}\n\n{table(rows)}")
    print(f"\nTotal {seconds:.0f} s")
    if args.json:
        report = {
            "command": " ".join(["bench/real_vectors.py", *(argv or sys.argv[1:])]),
            "model": encoder.name,
            "faiss": faiss.__version__,
            "k": K,
            "queries": len(questions),
            "seed": args.seed,
            "limit": args.limit,
            "counts": counts,
            "sets": {name: [asdict(r) for r in rows] for name, rows in results.items()},
            "seconds": round(seconds, 1),
        }
        args.json.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
