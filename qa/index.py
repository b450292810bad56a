"""``qa.Index``: a loaded index that retrieves passages and answers questions."""

from __future__ import annotations

import logging
import unicodedata
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from qa import answer as answering
from qa import retrieval, store
from qa.corpus import scrub_surrogates
from qa.embedding import Encoder, get_encoder
from qa.errors import EmptyQuestionError
from qa.rerank import DEFAULT_RERANKER, get_reranker
from qa.span import find_span
from qa.types import Answer, Document, Passage

logger = logging.getLogger(__name__)

_KEY_SHIFT = 1 << 40  # (document row, offset) packed into one sortable int64
# Hits read per passage asked for: chunks that overlap a better one merge into it (a long
# paragraph's chunks share a sentence), and the passages after it still fill the k places.
HITS_PER_PASSAGE = 3
# Chunks one passage holds at most: a chunk joining two passages makes three; more would let a
# long paragraph's chunks chain into one passage of the whole paragraph.
MAX_CHUNKS_PER_PASSAGE = 3


class Index:
    """An index loaded from disk: documents, chunk vectors, sentence vectors and BM25.

    Safe to query from many threads. Build one with ``qa.build_index``, load one with
    ``qa.load_index``.
    """

    #: The cross-encoder that reranks answer candidates: the bundled ONNX model by default, or
    #: any sentence-transformers CrossEncoder name or path.
    reranker: str = DEFAULT_RERANKER

    def __init__(self, stored: store.Stored, encoder: Encoder | None = None) -> None:
        self._stored = stored
        self.path: Path = stored.path.parent
        self.manifest: dict[str, Any] = stored.manifest
        self.documents: list[Document] = stored.documents
        self._by_id = {document.id: row for row, document in enumerate(self.documents)}
        self._chunks = stored.chunks
        self._sentences = stored.sentences
        self._sentence_keys = stored.sentences[:, 0] * _KEY_SHIFT + stored.sentences[:, 1]
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
        return len(self._chunks)

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

    def retrieve(self, question: str, k: int = 5, *, mode: str | None = None) -> list[Passage]:
        """The ``k`` best passages for ``question``, best first."""
        return self.retrieve_many([question], k, mode=mode)[0]

    def retrieve_many(
        self, questions: Sequence[str], k: int = 5, *, mode: str | None = None
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
        questions = [_clean_question(q) for q in questions]
        vectors = self.encoder.encode(questions)
        taken: list[list[tuple[Passage, list[int]]]] = [[] for _ in questions]
        todo = list(range(len(questions)))
        depth = k * HITS_PER_PASSAGE
        while todo:  # again, deeper, for questions whose hits merged into fewer than k passages
            hits = self._hits([questions[i] for i in todo], vectors[todo], depth, mode)
            for i, question_hits in zip(todo, hits):
                taken[i] = self._passages(question_hits, k)
            todo = [i for i, h in zip(todo, hits) if len(taken[i]) < k and len(h) == depth]
            depth *= 2
        return taken, vectors, questions

    def _hits(
        self, questions: list[str], vectors: np.ndarray, depth: int, mode: str
    ) -> list[retrieval.Hits]:
        """The ``depth`` best chunk rows of each question by ``mode``, best first."""
        each = max(depth, retrieval.FUSION_DEPTH) if mode == "hybrid" else depth
        dense: list[retrieval.Hits] = []
        if mode != "keyword":
            dense = retrieval.dense_search(self._stored.faiss_index, vectors, each)
            if mode == "dense":
                return dense
        keyword = retrieval.keyword_search(
            self._stored.bm25, self._stored.bm25_tokenizer, questions, each
        )
        if mode == "keyword":
            return keyword
        return [retrieval.fuse([d, w], depth) for d, w in zip(dense, keyword)]

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
            doc_row, start, end = (int(v) for v in self._chunks[row])
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

    def _chunk_passage(self, row: int) -> Passage:
        """Chunk ``row`` as a passage (unranked)."""
        doc_row, start, end = (int(v) for v in self._chunks[row])
        return self._passage(doc_row, start, end, 0.0, 1, [row])

    def _passage(
        self, doc_row: int, start: int, end: int, score: float, rank: int, chunks: list[int]
    ) -> Passage:
        document = self.documents[doc_row]
        metadata: dict[str, Any] = {"chunk": chunks[0], "chunks": chunks}
        section = document.section_at(start)
        if section is not None:
            metadata["section"] = section
        page = document.page_at(start)
        if page is not None:
            metadata["page"] = page
        return Passage(
            text=document.text[start:end],
            doc_id=document.id,
            title=document.title,
            start=start,
            end=end,
            score=score,
            rank=rank,
            metadata=metadata,
        )

    # -- answers -----------------------------------------------------------------------------

    def ask(
        self,
        question: str,
        k: int = 5,
        *,
        mode: str | None = None,
        min_score: float | None = None,
        rerank: bool = True,
    ) -> Answer:
        """The best sentence of the ``k`` best passages, or an abstention below ``min_score``.

        ``rerank=False`` skips the cross-encoder: faster, less accurate, and scored on another
        scale (``answer.MIN_SCORE_NO_RERANK`` is then the default threshold).
        """
        return self.ask_many([question], k, mode=mode, min_score=min_score, rerank=rerank)[0]

    def ask_many(
        self,
        questions: Sequence[str],
        k: int = 5,
        *,
        mode: str | None = None,
        min_score: float | None = None,
        rerank: bool = True,
    ) -> list[Answer]:
        """``ask`` for many questions, with one batched encode."""
        if min_score is None:
            min_score = answering.MIN_SCORE if rerank else answering.MIN_SCORE_NO_RERANK
        taken_all, vectors, questions = self._search(questions, k, mode)
        answers = []
        for question, taken, vector in zip(questions, taken_all, vectors):
            passages = [passage for passage, _ in taken]
            chunk_rows = [row for _, chunks in taken for row in chunks]
            answers.append(
                self._answer(question, passages, chunk_rows, vector, float(min_score), rerank)
            )
        return answers

    def _answer(
        self,
        question: str,
        passages: list[Passage],
        chunk_rows: list[int],
        vector: np.ndarray,
        threshold: float,
        rerank: bool,
    ) -> Answer:
        question = question.strip()
        rows = self._candidate_rows(chunk_rows)
        texts = [self._sentence_text(int(row)) for row in rows]
        candidates = answering.score_candidates(
            question, vector, rows, self._sentences, self._stored.sentence_vectors, texts
        )
        best = candidates[0] if candidates else None
        score = best.score if best else 0.0
        if best is not None and rerank:
            top = candidates[: answering.RERANK_CANDIDATES]
            logits = self._rerank(question, top)
            choice = int(np.argmax(logits))
            best, score = top[choice], answering.sigmoid(float(logits[choice]))
        if best is None or score < threshold:
            return Answer(
                question=question,
                text=None,
                abstained=True,
                score=score,
                doc_id=None,
                start=None,
                end=None,
                span=None,
                citations=passages,
            )
        document = self.documents[best.doc_row]
        text = document.text[best.start : best.end]
        span = find_span(question, text)
        return Answer(
            question=question,
            text=text,
            abstained=False,
            score=score,
            doc_id=document.id,
            start=best.start,
            end=best.end,
            span=None if span is None else (best.start + span[0], best.start + span[1]),
            citations=passages,
        )

    def _rerank(self, question: str, top: list[answering.Candidate]) -> np.ndarray:
        """Cross-encoder logits of the candidates.

        A sentence that opens by pointing back ("Which includes Amazon, Google, and
        Microsoft.", "He has a diverse background ...") is also read after the sentence before
        it in its paragraph; it takes that score when reading both beats reading the earlier
        sentence alone by ``answer.CONTEXT_MARGIN``: the answer is in it, not in its predecessor.
        """
        texts = [self._sentence_text(c.row) for c in top]
        pairs: list[tuple[int, str, str]] = []  # (candidate, earlier sentence, both)
        for i, candidate in enumerate(top):
            earlier = self._earlier_in_paragraph(candidate.row)
            if earlier is not None and answering.points_back(texts[i]):
                pairs.append((i, earlier, f"{earlier} {texts[i]}"))
        reranker = get_reranker(self.reranker)
        scores = reranker.score(question, texts + [p[1] for p in pairs] + [p[2] for p in pairs])
        logits = scores[: len(top)].copy()
        earlier_alone = scores[len(top) : len(top) + len(pairs)]
        together = scores[len(top) + len(pairs) :]
        for (i, _, _), alone, both in zip(pairs, earlier_alone, together):
            if both > alone + answering.CONTEXT_MARGIN:
                logits[i] = max(logits[i], both)
        return logits

    def _sentence_text(self, row: int) -> str:
        doc_row, start, end = (int(v) for v in self._sentences[row])
        return self.documents[doc_row].text[start:end]

    def _earlier_in_paragraph(self, row: int) -> str | None:
        """The sentence before sentence ``row`` when both stand in one paragraph, else None."""
        if row == 0:
            return None
        doc_row, start, _ = (int(v) for v in self._sentences[row])
        prev_doc, prev_start, prev_end = (int(v) for v in self._sentences[row - 1])
        text = self.documents[doc_row].text
        if prev_doc != doc_row or "\n\n" in text[prev_end:start]:
            return None
        return text[prev_start:prev_end]

    def _candidate_rows(self, chunk_rows: list[int]) -> np.ndarray:
        """Sentence rows inside the given chunks, each once, in order of first appearance."""
        seen: dict[int, None] = {}
        for row in chunk_rows:
            doc_row, start, end = (int(v) for v in self._chunks[row])
            low = np.searchsorted(self._sentence_keys, doc_row * _KEY_SHIFT + start, side="left")
            high = np.searchsorted(self._sentence_keys, doc_row * _KEY_SHIFT + end, side="left")
            for sentence in range(int(low), int(high)):
                seen.setdefault(sentence, None)
        return np.fromiter(seen, dtype=np.int64, count=len(seen))


def _clean_question(question: str) -> str:
    """The question stripped, lone surrogates (which no tokenizer takes) made U+FFFD.

    A question with no letter, digit, punctuation or symbol is empty: white space, control and
    format characters (zero-width, direction marks), marks, U+FFFD are all the model's tokenizer
    drops, and the cross-encoder is sure of any sentence for a question it reads as nothing.
    """
    if not isinstance(question, str):
        raise TypeError(f"a question must be a string, got {type(question).__name__}")
    question = scrub_surrogates(question).strip()
    if not any(unicodedata.category(c)[0] in "LNPS" and c != "\ufffd" for c in question):
        raise EmptyQuestionError("The question is empty; ask something, e.g. 'What is NAIO?'")
    return question
