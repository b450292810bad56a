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
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

if TYPE_CHECKING:
    from qa.filters import Allowed

MODES = ("hybrid", "dense", "keyword")
DEFAULT_K = 5  # passages retrieved (and read) per question unless asked otherwise
DEFAULT_MODE = "hybrid"
RRF_K = 60  # the usual reciprocal-rank-fusion constant
# Candidates each retriever contributes to the fusion, at least.
FUSION_DEPTH = 50
# A compressed index proposes this many times k candidates; their float32 vectors rank them.
RERANK_FACTOR = 2
# The widest HNSW search a narrow metadata filter gets before the exact search takes over.
MAX_FILTERED_EF = 4_096

_bm25_lock = threading.Lock()

Hits = list[tuple[int, float]]

#: How keyword search reads a text, for every store (the manifest records it).
KEYWORD_TERMS = "bm25s: lower case, English stop words removed, Snowball stems"
#: BM25's parameters, for every store: bm25s's index and Milvus's BM25 function score alike.
BM25_PARAMS = {"method": "lucene", "k1": 1.5, "b": 0.75}


class ChunkSearch(Protocol):
    """What a store answers: the best chunk rows of each query, best first."""

    def dense(self, vectors: np.ndarray, k: int, allowed: Allowed | None = None) -> list[Hits]:
        """Top ``k`` chunk rows by inner product with each (normalised) query vector, among
        the ``allowed`` ones (a metadata filter's; None: all)."""
        ...

    def keyword(
        self, questions: Sequence[str], k: int, allowed: Allowed | None = None
    ) -> list[Hits]:
        """Top ``k`` chunk rows by BM25 for each question, among the ``allowed`` ones; rows
        sharing no term left out."""
        ...


@dataclass(frozen=True)
class FaissSearch:
    """The embedded store's search: a FAISS index of the chunk vectors and a bm25s index.

    ``vectors``, for a compressed FAISS index, are the float32 chunk vectors (memory-mapped
    when loaded) that rank its candidates exactly; None for an index that holds them itself.
    """

    faiss_index: Any
    bm25: Any
    tokenizer: Any
    vectors: np.ndarray | None = None

    def dense(self, vectors: np.ndarray, k: int, allowed: Allowed | None = None) -> list[Hits]:
        return dense_search(self.faiss_index, vectors, k, allowed, self.vectors)

    def keyword(
        self, questions: Sequence[str], k: int, allowed: Allowed | None = None
    ) -> list[Hits]:
        return keyword_search(self.bm25, self.tokenizer, questions, k, allowed)


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


def dense_search(
    faiss_index: Any,
    query_vectors: np.ndarray,
    k: int,
    allowed: Allowed | None = None,
    exact: np.ndarray | None = None,
) -> list[Hits]:
    """Top ``k`` chunk rows by cosine for each query vector, among the ``allowed`` rows.

    One query runs on one FAISS thread: a second thread saves nothing on one query and costs a
    wait on a busy core (16 ms instead of 1.6 ms at 10k chunks, bench/scale.py). Batches use all.
    A filter is applied inside the search (FAISS's ID selector), so ``k`` rows come back when
    ``k`` are allowed; when an approximate (HNSW) search finds fewer, the allowed rows are
    searched exactly. With ``exact`` (the float32 vectors of a compressed index), the index
    proposes ``RERANK_FACTOR`` times ``k`` candidates and their exact cosines rank them.
    """
    import faiss

    query_vectors = np.ascontiguousarray(query_vectors, dtype=np.float32)
    available = faiss_index.ntotal if allowed is None else allowed.count
    k = min(k, available)
    if k <= 0:
        return [[] for _ in range(len(query_vectors))]
    fetch = k if exact is None else min(RERANK_FACTOR * k, available)
    faiss.omp_set_num_threads(1 if len(query_vectors) == 1 else faiss_threads())
    if allowed is None:
        scores, rows = faiss_index.search(query_vectors, fetch)
    else:
        scores, rows = _filtered_search(faiss_index, query_vectors, fetch, allowed.chunks, exact)
    if exact is not None:
        return [_rerank(query, found, exact, k) for query, found in zip(query_vectors, rows)]
    return [
        [(int(r), float(s)) for r, s in zip(row_ids, row_scores) if r >= 0]
        for row_ids, row_scores in zip(rows, scores)
    ]


def _rerank(query: np.ndarray, rows: np.ndarray, exact: np.ndarray, k: int) -> Hits:
    """The ``k`` best of ``rows`` by exact inner product with ``query`` (ties: lower row)."""
    rows = np.sort(rows[rows >= 0])  # in file order: a memory-mapped read goes forward
    scores = np.asarray(exact[rows], dtype=np.float32) @ query
    order = np.lexsort((rows, -scores))[:k]
    return [(int(rows[i]), float(scores[i])) for i in order]


def _filtered_search(
    faiss_index: Any,
    query_vectors: np.ndarray,
    k: int,
    allowed: np.ndarray,
    exact: np.ndarray | None,
) -> tuple[np.ndarray, np.ndarray]:
    import faiss as faiss_module

    faiss: Any = faiss_module  # its stubs lack the search parameters' keyword arguments
    bitmap = np.packbits(allowed, bitorder="little")
    selector = faiss.IDSelectorBitmap(len(allowed), faiss.swig_ptr(bitmap))
    hnsw = getattr(faiss_index, "hnsw", None)
    if hnsw is None:
        params = faiss.SearchParameters(sel=selector)
    else:  # a narrow filter leaves few allowed nodes on the way: look wider
        share = max(float(allowed.mean()), 1e-6)
        breadth = min(max(hnsw.efSearch, k, int(hnsw.efSearch / share)), MAX_FILTERED_EF)
        params = faiss.SearchParametersHNSW(sel=selector, efSearch=breadth)
    scores, rows = faiss_index.search(query_vectors, k, params=params)
    if hnsw is not None and (rows < 0).any():
        scores, rows = _exact_among(faiss_index, query_vectors, k, np.flatnonzero(allowed), exact)
    return scores, rows


def _exact_among(
    faiss_index: Any,
    query_vectors: np.ndarray,
    k: int,
    rows: np.ndarray,
    exact: np.ndarray | None,
) -> tuple[np.ndarray, np.ndarray]:
    """Exact inner-product search over the vectors of ``rows`` only (from ``exact`` when
    given, else as the index reconstructs them)."""
    vectors = np.asarray(exact[rows]) if exact is not None else faiss_index.reconstruct_batch(rows)
    scores = query_vectors @ vectors.T
    best = np.argsort(-scores, axis=1, kind="stable")[:, :k]
    return np.take_along_axis(scores, best, axis=1), rows[best]


def keyword_search(
    bm25: Any, tokenizer: Any, questions: Sequence[str], k: int, allowed: Allowed | None = None
) -> list[Hits]:
    """Top ``k`` chunk rows by BM25 for each question, among the ``allowed`` rows; chunks
    sharing no term are left out."""
    n = int(bm25.scores["num_docs"])
    k = min(k, n if allowed is None else allowed.count)
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
        scores = bm25.get_scores_from_ids(ids)
        if allowed is not None:
            scores = np.where(allowed.chunks, scores, 0.0)
        rows = top_rows(scores, k)
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
    search: ChunkSearch,
    questions: Sequence[str],
    vectors: np.ndarray,
    depth: int,
    mode: str,
    allowed: Allowed | None = None,
) -> list[Hits]:
    """The ``depth`` best chunk rows of each question by ``mode``, best first, among the
    ``allowed`` rows (None: all)."""
    each = max(depth, FUSION_DEPTH) if mode == "hybrid" else depth
    dense = search.dense(vectors, each, allowed) if mode != "keyword" else []
    if mode == "dense":
        return dense
    keyword = search.keyword(questions, each, allowed)
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
