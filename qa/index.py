"""``qa.Index``: a loaded index that retrieves passages and answers questions."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from qa import passages, retrieval, store
from qa.answer import DEFAULT_READER, ReaderLike, answer, clean_question
from qa.embedding import Encoder, get_encoder
from qa.manifest import Manifest
from qa.retrieval import DEFAULT_K
from qa.types import Answer, Document, Passage

logger = logging.getLogger(__name__)


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
        #: What the build made (``qa.manifest.Manifest``; also a read-only mapping of its JSON).
        self.manifest: Manifest = stored.manifest
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
        counts = self.manifest.counts
        return (
            f"Index({str(self.path)!r}, documents={counts.documents}, "
            f"chunks={counts.chunks}, model={self.model_name!r})"
        )

    def __len__(self) -> int:
        """The number of chunks."""
        return len(self.chunks)

    @property
    def model_name(self) -> str:
        return self.manifest.model.name

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
        return self._search(questions, k, mode)[0]

    def _search(
        self, questions: Sequence[str], k: int, mode: str | None
    ) -> tuple[list[list[Passage]], list[str]]:
        """The ``k`` passages of each question, and the questions as cleaned."""
        if isinstance(questions, str):
            raise TypeError("retrieve_many takes a list of questions; use retrieve for one")
        if not isinstance(k, int) or isinstance(k, bool) or k <= 0:
            raise ValueError(f"k must be a whole number of 1 or more, got {k!r}")
        mode = retrieval.check_mode(mode)
        questions = [clean_question(q) for q in questions]
        vectors = self.encoder.encode(questions)
        found = passages.search(
            self.search, self.chunks, self.documents, questions, vectors, k, mode
        )
        return found, questions

    def chunk_passage(self, row: int) -> Passage:
        """Chunk ``row`` as a passage (unranked)."""
        doc_row, start, end = (int(v) for v in self.chunks[row])
        return passages.passage(self.documents[doc_row], start, end, score=0.0, rank=1,
                                chunks=[row])  # fmt: skip

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
        found, questions = self._search(questions, k, mode)
        return [
            answer(question, taken, reader=self.reader, min_score=min_score)
            for question, taken in zip(questions, found)
        ]
