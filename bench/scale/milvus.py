"""The scale bench's Milvus part (``--store milvus``): the Milvus store beside qa's FAISS store.

On the same data (the ``documents`` vectors and the keyword bench's texts), beside the FAISS HNSW
index and bm25s index qa builds at that size: ``qa.milvus_build.open_for_build`` and
``Collection.upsert`` write the chunks (key, document id, text, vector) into a Milvus Lite file,
which indexes them (HNSW with qa's M and efConstruction, and Milvus's BM25 function over the
texts' keyword terms) -> build time and size on disk; ``qa.milvus.open_search`` reconnects in
this process -> ``MilvusSearch.dense`` for one query at a time (k=10) -> p50 / p95 and recall@10
against exact search, and ``MilvusSearch.keyword`` for one question at a time
(k=``retrieval.FUSION_DEPTH``) -> p50 / p95, beside ``qa.retrieval.keyword_search`` on a bm25s
index of the same texts.
"""

from __future__ import annotations

import argparse
import gc
from pathlib import Path
from typing import Any

import numpy as np

from bench.scale.data import (
    DIMENSION,
    chunk_texts,
    make_vectors,
    question_texts,
    vocabulary,
)
from bench.scale.measure import K, dense_latencies, fmt, latencies, recall, step
from qa import retrieval, store
from qa.build import build_bm25


def milvus_store(args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    """The figures of each store, ``faiss`` and ``milvus``: build, disk, dense and keyword."""
    import faiss

    from qa import milvus, milvus_build
    from qa.manifest import ModelInfo

    n, count = args.chunks, args.queries
    with step(f"Generating {n:,} + {count} vectors and texts"):
        data = make_vectors("documents", n, count, args.topic_size, args.seed)
        vectors, queries = data.corpus, data.queries
        doc_ids = [f"doc{document}" for document in np.asarray(data.document_of)]
        del data
        words = vocabulary(args.vocab, args.seed)
        texts = chunk_texts(n, words, args.seed)  # the keyword bench's texts
        questions = question_texts(count, words, args.seed)
        _, exact = faiss.knn(queries, vectors, K, metric=faiss.METRIC_INNER_PRODUCT)
    figures: dict[str, Any] = {}

    with step(f"FAISS store: store.make_faiss_index on {n:,} vectors") as timing:
        index, params = store.make_faiss_index(vectors, args.index_type)
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
        bm25, tokenizer = build_bm25(texts)
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
        collection.upsert(keys, doc_ids, texts, vectors)
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
