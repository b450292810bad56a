"""Dense, keyword and hybrid (reciprocal rank fusion) search over chunks.

A store's search is a ``ChunkSearch``: dense and keyword hits as chunk rows with scores, best
first. ``FaissSearch`` is the embedded store's (FAISS and bm25s); ``qa.milvus.MilvusSearch``
runs both inside Milvus. The fusion is qa's own, the same for every store. ``qa.Index`` turns
rows into Passages.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Protocol

import numpy as np

MODES = ("hybrid", "dense", "keyword")
DEFAULT_K = 5  # passages retrieved (and read) per question unless asked otherwise
DEFAULT_MODE = "hybrid"
RRF_K = 60  # the usual reciprocal-rank-fusion constant
# Candidates each retriever contributes to the fusion, at least.
FUSION_DEPTH = 50

_bm25_lock = threading.Lock()

Hits = list[tuple[int, float]]

#: How keyword search reads a text, for every store (the manifest records it).
KEYWORD_TERMS = "bm25s: lower case, English stop words removed, Snowball stems"
#: BM25's parameters, for every store: bm25s's index and Milvus's BM25 function score alike.
BM25_PARAMS = {"method": "lucene", "k1": 1.5, "b": 0.75}


class ChunkSearch(Protocol):
    """What a store answers: the best chunk rows of each query, best first."""

    def dense(self, vectors: np.ndarray, k: int) -> list[Hits]:
        """Top ``k`` chunk rows by inner product with each (normalised) query vector."""
        ...

    def keyword(self, questions: Sequence[str], k: int) -> list[Hits]:
        """Top ``k`` chunk rows by BM25 for each question; rows sharing no term left out."""
        ...


@dataclass(frozen=True)
class FaissSearch:
    """The embedded store's search: a FAISS index of the chunk vectors and a bm25s index."""

    faiss_index: Any
    bm25: Any
    tokenizer: Any

    def dense(self, vectors: np.ndarray, k: int) -> list[Hits]:
        return dense_search(self.faiss_index, vectors, k)

    def keyword(self, questions: Sequence[str], k: int) -> list[Hits]:
        return keyword_search(self.bm25, self.tokenizer, questions, k)


def check_mode(mode: str | None) -> str:
    mode = mode or DEFAULT_MODE
    if mode not in MODES:
        raise ValueError(f"mode must be one of {', '.join(MODES)}; got {mode!r}")
    return mode


@lru_cache(maxsize=1)
def faiss_threads() -> int:
    """FAISS's thread count before qa set it: OpenMP's default, every core."""
    import faiss

    return int(faiss.omp_get_max_threads())


def dense_search(faiss_index: Any, query_vectors: np.ndarray, k: int) -> list[Hits]:
    """Top ``k`` chunk rows by cosine for each query vector.

    One query runs on one FAISS thread: a second thread saves nothing on one query and costs a
    wait on a busy core (16 ms instead of 1.6 ms at 10k chunks, bench/scale.py). Batches use all.
    """
    import faiss

    k = min(k, faiss_index.ntotal)
    if k <= 0:
        return [[] for _ in range(len(query_vectors))]
    faiss.omp_set_num_threads(1 if len(query_vectors) == 1 else faiss_threads())
    scores, rows = faiss_index.search(np.ascontiguousarray(query_vectors, dtype=np.float32), k)
    return [
        [(int(r), float(s)) for r, s in zip(row_ids, row_scores) if r >= 0]
        for row_ids, row_scores in zip(rows, scores)
    ]


def keyword_search(bm25: Any, tokenizer: Any, questions: Sequence[str], k: int) -> list[Hits]:
    """Top ``k`` chunk rows by BM25 for each question; chunks sharing no term are left out."""
    n = int(bm25.scores["num_docs"])
    k = min(k, n)
    # update_vocab=False: a question's word counts when its stem is in the corpus ("amend" finds
    # "amendments"); bm25s adds the new word form to its dicts as it goes, hence the lock.
    with _bm25_lock:
        token_ids = tokenizer.tokenize(list(questions), update_vocab=False, show_progress=False)
    results: list[Hits] = []
    for ids in token_ids:
        ids = [i for i in ids if i != 0]  # 0 is bm25s's empty token: no word of the corpus
        if not ids or k <= 0:
            results.append([])
            continue
        rows = top_rows(bm25.get_scores_from_ids(ids), k)
        results.append([(int(r), float(s)) for r, s in rows])
    return results


def bm25_tokenizer() -> Any:
    """A fresh bm25s tokenizer that reads texts as ``KEYWORD_TERMS`` says."""
    import bm25s
    import Stemmer

    return bm25s.tokenization.Tokenizer(stemmer=Stemmer.Stemmer("english"), stopwords="en")


def keyword_terms(texts: Sequence[str]) -> list[str]:
    """Each text as the terms keyword search matches, space-separated.

    A store that scores BM25 itself (Milvus) indexes and queries these instead of the raw
    text, so every store scores the same terms as the FAISS store's bm25s index.
    """
    tokens = bm25_tokenizer().tokenize(list(texts), return_as="string", show_progress=False)
    return [" ".join(words) for words in tokens]


def top_rows(scores: np.ndarray, k: int) -> zip[tuple[Any, Any]]:
    """The ``k`` best rows with a score above zero, best first (ties: lower row first).

    Only the matching rows are ranked: at a million chunks a question matches ~10% of them, and
    a top-k over all scores would cost ten times as much.
    """
    rows = np.flatnonzero(scores > 0)
    if len(rows) > k:
        kth_best = np.partition(scores[rows], len(rows) - k)[len(rows) - k]
        rows = rows[scores[rows] >= kth_best]
    rows = rows[np.lexsort((rows, -scores[rows]))][:k]
    return zip(rows, scores[rows])


def hybrid(
    search: ChunkSearch, questions: Sequence[str], vectors: np.ndarray, depth: int, mode: str
) -> list[Hits]:
    """The ``depth`` best chunk rows of each question by ``mode``, best first."""
    each = max(depth, FUSION_DEPTH) if mode == "hybrid" else depth
    dense = search.dense(vectors, each) if mode != "keyword" else []
    if mode == "dense":
        return dense
    keyword = search.keyword(questions, each)
    if mode == "keyword":
        return keyword
    return [fuse([d, w], depth) for d, w in zip(dense, keyword)]


def fuse(rankings: Sequence[Hits], k: int) -> Hits:
    """Reciprocal rank fusion: each list adds 1 / (RRF_K + rank) to a row's score."""
    fused: dict[int, float] = {}
    for ranking in rankings:
        for rank, (row, _) in enumerate(ranking, 1):
            fused[row] = fused.get(row, 0.0) + 1.0 / (RRF_K + rank)
    return sorted(fused.items(), key=lambda item: (-item[1], item[0]))[:k]
