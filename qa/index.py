"""``qa.Index``: a loaded index that retrieves passages and answers questions."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from qa import retrieval, store
from qa.answer import DEFAULT_READER, ReaderLike, answer, clean_question
from qa.embedding import Encoder, get_encoder
from qa.retrieval import DEFAULT_K
from qa.types import Answer, Document, Passage

logger = logging.getLogger(__name__)

# Hits read per passage asked for: chunks that overlap a better one merge into it (a long
# paragraph's chunks share a sentence), and the passages after it still fill the k places.
HITS_PER_PASSAGE = 3
# Chunks one passage holds at most: a chunk joining two passages makes three; more would let a
# long paragraph's chunks chain into one passage of the whole paragraph.
MAX_CHUNKS_PER_PASSAGE = 3


class Index:
    """An index loaded from disk: documents, chunks, and the store that searches them.

    Safe to query from many threads. Build one with ``qa.build_index``, load one with
    ``qa.load_index``.
    """

    #: The reader that answers from the retrieved passages: the bundled one by default, a
    #: reader folder, a loaded ``Reader``, or None (answers abstain; see ``qa.answer``).
    reader: ReaderLike = DEFAULT_READER

    def __init__(self, stored: store.Stored, encoder: Encoder | None = None) -> None:
        self.path: Path = stored.path.parent
        #: The live generation folder this index was loaded from.
        self.generation: Path = stored.path
        self.manifest: dict[str, Any] = stored.manifest
        self.documents: list[Document] = stored.documents
        #: int64 (n, 3): each chunk's document row, start and end.
        self.chunks: np.ndarray = stored.chunks
        #: The store's search (``qa.retrieval.FaissSearch`` or ``qa.milvus.MilvusSearch``).
        self.search: retrieval.ChunkSearch = stored.search
        self._by_id = {document.id: row for row, document in enumerate(self.documents)}
        self._encoder = encoder

    @classmethod
    def load(cls, index_dir: Path | str) -> Index:
        """Load the index in ``index_dir`` (checked against its manifest)."""
        return cls(store.load(Path(index_dir)))

    def __repr__(self) -> str:
        counts = self.manifest.get("counts", {})
        return (
            f"Index({str(self.path)!r}, documents={counts.get('documents')}, "
            f"chunks={counts.get('chunks')}, model={self.model_name!r})"
        )

    def __len__(self) -> int:
        """The number of chunks."""
        return len(self.chunks)

    @property
    def model_name(self) -> str:
        return str(self.manifest["model"]["name"])

    @property
    def encoder(self) -> Encoder:
        if self._encoder is None:
            self._encoder = get_encoder(self.model_name)
        return self._encoder

    def document(self, doc_id: str) -> Document:
        """The document with id ``doc_id``."""
        try:
            return self.documents[self._by_id[doc_id]]
        except KeyError:
            raise KeyError(
                f"No document {doc_id!r} in this index; see Index.documents for the ids"
            ) from None

    # -- retrieval ---------------------------------------------------------------------------

    def retrieve(
        self, question: str, k: int = DEFAULT_K, *, mode: str | None = None
    ) -> list[Passage]:
        """The ``k`` best passages for ``question``, best first."""
        return self.retrieve_many([question], k, mode=mode)[0]

    def retrieve_many(
        self, questions: Sequence[str], k: int = DEFAULT_K, *, mode: str | None = None
    ) -> list[list[Passage]]:
        """``retrieve`` for many questions, with one batched encode."""
        taken, _, _ = self._search(questions, k, mode)
        return [[passage for passage, _ in question_taken] for question_taken in taken]

    def _search(
        self, questions: Sequence[str], k: int, mode: str | None
    ) -> tuple[list[list[tuple[Passage, list[int]]]], np.ndarray, list[str]]:
        """The ``k`` passages of each question with their chunk rows (see ``_passages``), the
        question vectors, and the questions as cleaned."""
        if isinstance(questions, str):
            raise TypeError("retrieve_many takes a list of questions; use retrieve for one")
        if not isinstance(k, int) or isinstance(k, bool) or k <= 0:
            raise ValueError(f"k must be a whole number of 1 or more, got {k!r}")
        mode = retrieval.check_mode(mode)
        questions = [clean_question(q) for q in questions]
        vectors = self.encoder.encode(questions)
        taken: list[list[tuple[Passage, list[int]]]] = [[] for _ in questions]
        todo = list(range(len(questions)))
        depth = k * HITS_PER_PASSAGE
        while todo:  # again, deeper, for questions whose hits merged into fewer than k passages
            hits = retrieval.hybrid(
                self.search, [questions[i] for i in todo], vectors[todo], depth, mode
            )
            for i, question_hits in zip(todo, hits):
                taken[i] = self._passages(question_hits, k)
            todo = [i for i, h in zip(todo, hits) if len(taken[i]) < k and len(h) == depth]
            depth *= 2
        return taken, vectors, questions

    def _passages(self, hits: retrieval.Hits, k: int) -> list[tuple[Passage, list[int]]]:
        """The ``k`` best passages of ``hits``, each with its chunk rows (best first).

        Hits are taken in rank order. A chunk that overlaps a passage already taken widens it
        instead of repeating its text, and widening merges passages that then overlap: no text
        is cited twice. A passage keeps the rank and score of its best chunk and holds at most
        ``MAX_CHUNKS_PER_PASSAGE`` chunks; an overlapping chunk that would pass that is skipped.
        """
        spans: list[list[int]] = []  # [doc_row, start, end] per passage, best first
        rows: list[list[int]] = []
        scores: list[float] = []
        for row, score in hits:
            doc_row, start, end = (int(v) for v in self.chunks[row])
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
            (self._passage(doc_row, start, end, score, rank, chunks), chunks)
            for rank, ((doc_row, start, end), chunks, score) in enumerate(
                zip(spans, rows, scores), 1
            )
        ]

    def chunk_passage(self, row: int) -> Passage:
        """Chunk ``row`` as a passage (unranked)."""
        doc_row, start, end = (int(v) for v in self.chunks[row])
        return self._passage(doc_row, start, end, 0.0, 1, [row])

    def _passage(
        self, doc_row: int, start: int, end: int, score: float, rank: int, chunks: list[int]
    ) -> Passage:
        document = self.documents[doc_row]
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

    # -- answers -----------------------------------------------------------------------------

    def ask(
        self,
        question: str,
        k: int = DEFAULT_K,
        *,
        mode: str | None = None,
        min_score: float | None = None,
    ) -> Answer:
        """``answer(question, self.retrieve(question, k))``: the reader's answer from the ``k``
        best passages, or an abstention below ``min_score`` (default: the reader's threshold)."""
        return self.ask_many([question], k, mode=mode, min_score=min_score)[0]

    def ask_many(
        self,
        questions: Sequence[str],
        k: int = DEFAULT_K,
        *,
        mode: str | None = None,
        min_score: float | None = None,
    ) -> list[Answer]:
        """``ask`` for many questions, with one batched retrieval."""
        taken_all, _, questions = self._search(questions, k, mode)
        return [
            answer(question, [passage for passage, _ in taken], reader=self.reader,
                   min_score=min_score)
            for question, taken in zip(questions, taken_all)
        ]  # fmt: skip
