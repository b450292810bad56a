"""Chunk hits to passages: the ``k`` best, overlapping chunks merged so no text is cited twice."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from qa import retrieval
from qa.filters import Allowed
from qa.types import Document, Passage

# Hits read per passage asked for: chunks that overlap a better one merge into it (a long
# paragraph's chunks share a sentence), and the passages after it still fill the k places.
HITS_PER_PASSAGE = 3
# Chunks one passage holds at most: a chunk joining two passages makes three; more would let a
# long paragraph's chunks chain into one passage of the whole paragraph.
MAX_CHUNKS_PER_PASSAGE = 3


def search(
    search: retrieval.ChunkSearch,
    chunks: np.ndarray,
    documents: Sequence[Document],
    questions: Sequence[str],
    vectors: np.ndarray,
    k: int,
    mode: str,
    allowed: Allowed | None = None,
) -> list[list[Passage]]:
    """The ``k`` best passages of each question (its cleaned text and vector), best first, from
    the ``allowed`` chunks (a metadata filter's; None: all).

    Questions whose hits merged into fewer than ``k`` passages are searched again, deeper.
    """
    taken: list[list[Passage]] = [[] for _ in questions]
    todo = list(range(len(questions)))
    depth = k * HITS_PER_PASSAGE
    while todo:
        hits = retrieval.hybrid(
            search, [questions[i] for i in todo], vectors[todo], depth, mode, allowed
        )
        for i, question_hits in zip(todo, hits):
            taken[i] = merge(question_hits, chunks, documents, k)
        todo = [i for i, h in zip(todo, hits) if len(taken[i]) < k and len(h) == depth]
        depth *= 2
    return taken


def merge(
    hits: retrieval.Hits, chunks: np.ndarray, documents: Sequence[Document], k: int
) -> list[Passage]:
    """The ``k`` best passages of ``hits`` (chunk rows with scores, best first).

    Hits are taken in rank order. A chunk that overlaps a passage already taken widens it
    instead of repeating its text, and widening merges passages that then overlap: no text
    is cited twice. A passage keeps the rank and score of its best chunk and holds at most
    ``MAX_CHUNKS_PER_PASSAGE`` chunks; an overlapping chunk that would pass that is skipped.
    """
    spans: list[list[int]] = []  # [doc_row, start, end] per passage, best first
    rows: list[list[int]] = []
    scores: list[float] = []
    for row, score in hits:
        doc_row, start, end = (int(v) for v in chunks[row])
        overlapping = [
            i for i, (d, s, e) in enumerate(spans) if d == doc_row and start < e and s < end
        ]
        if not overlapping:
            if len(spans) == k:
                break
            spans.append([doc_row, start, end])
            rows.append([row])
            scores.append(score)
            continue
        if 1 + sum(len(rows[i]) for i in overlapping) > MAX_CHUNKS_PER_PASSAGE:
            continue
        first, *others = overlapping
        spans[first][1] = min([start] + [spans[i][1] for i in overlapping])
        spans[first][2] = max([end] + [spans[i][2] for i in overlapping])
        rows[first].append(row)
        for i in reversed(others):
            rows[first].extend(rows.pop(i))
            del spans[i], scores[i]
    return [
        passage(documents[doc_row], start, end, score=score, rank=rank, chunks=chunk_rows)
        for rank, ((doc_row, start, end), chunk_rows, score) in enumerate(
            zip(spans, rows, scores), 1
        )
    ]


def passage(
    document: Document, start: int, end: int, *, score: float, rank: int, chunks: Sequence[int]
) -> Passage:
    """``document.text[start:end]`` as a Passage, with its section and page."""
    return Passage(
        text=document.text[start:end],
        doc_id=document.id,
        title=document.title,
        start=start,
        end=end,
        score=score,
        rank=rank,
        section=document.section_at(start),
        page=document.page_at(start),
        chunks=tuple(chunks),
    )
