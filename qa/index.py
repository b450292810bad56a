"""``qa.Index``: a loaded index that retrieves passages and answers questions."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from qa import filters, passages, retrieval, store
from qa.answer import DEFAULT_READER, ReaderLike, answer, clean_question
from qa.embedding import Encoder, get_encoder
from qa.filters import Where
from qa.manifest import Manifest
from qa.retrieval import DEFAULT_K
from qa.types import Answer, Document, Passage, Passages

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
        self._encoder = encoder
        self._state(stored)

    def _state(self, stored: store.Stored) -> None:
        """Point this index at ``stored``: one assignment, so a query in another thread sees
        the old generation or the new one, never a mix."""
        self._view = (stored, {document.id: row for row, document in enumerate(stored.documents)})

    @property
    def _stored(self) -> store.Stored:
        return self._view[0]

    @property
    def path(self) -> Path:
        """The index folder."""
        return self._stored.path.parent

    @property
    def generation(self) -> Path:
        """The live generation folder this index was loaded from."""
        return self._stored.path

    @property
    def manifest(self) -> Manifest:
        """What the build made (``qa.manifest.Manifest``; also a read-only mapping of its JSON)."""
        return self._stored.manifest

    @property
    def documents(self) -> list[Document]:
        """The indexed documents, in the order of the chunks' document rows."""
        return self._stored.documents

    @property
    def chunks(self) -> np.ndarray:
        """int64 (n, 3): each chunk's document row, start and end."""
        return self._stored.chunks

    @property
    def search(self) -> retrieval.ChunkSearch:
        """The store's search (``qa.retrieval.FaissSearch`` or ``qa.milvus.MilvusSearch``)."""
        return self._stored.search

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
        stored, by_id = self._view
        try:
            return stored.documents[by_id[doc_id]]
        except KeyError:
            raise KeyError(
                f"No document {doc_id!r} in this index; see Index.documents for the ids"
            ) from None

    # -- retrieval ---------------------------------------------------------------------------

    def retrieve(
        self,
        question: str,
        k: int = DEFAULT_K,
        *,
        mode: str | None = None,
        where: Where | None = None,
    ) -> Passages:
        """The ``k`` best passages for ``question``, best first (a list that displays itself
        in Jupyter and has ``to_dataframe()``).

        ``where`` keeps only the documents it matches: ``{"field": value}`` (equal) or
        ``{"field": [a, b]}`` (one of), on ``id``, ``title``, ``path`` or a metadata field
        (see ``qa.filters``). The filter applies before ranking: ``k`` passages come back when
        the matching documents hold them.
        """
        return self.retrieve_many([question], k, mode=mode, where=where)[0]

    def retrieve_many(
        self,
        questions: Sequence[str],
        k: int = DEFAULT_K,
        *,
        mode: str | None = None,
        where: Where | None = None,
    ) -> list[Passages]:
        """``retrieve`` for many questions, with one batched encode."""
        return [Passages(found) for found in self._search(questions, k, mode, where)[0]]

    def fields(self) -> list[str]:
        """The fields ``where`` may name: ``id``, ``doc_id``, ``title``, ``path``, then every
        metadata key of the documents."""
        return filters.known_fields(self.documents)

    def _search(
        self, questions: Sequence[str], k: int, mode: str | None, where: Where | None
    ) -> tuple[list[list[Passage]], list[str]]:
        """The ``k`` passages of each question, and the questions as cleaned."""
        if isinstance(questions, str):
            raise TypeError("retrieve_many takes a list of questions; use retrieve for one")
        if not isinstance(k, int) or isinstance(k, bool) or k <= 0:
            raise ValueError(f"k must be a whole number of 1 or more, got {k!r}")
        mode = retrieval.check_mode(mode)
        stored = self._stored
        allowed = None
        if where is not None:
            allowed = filters.compile_filter(where, stored.documents, stored.chunks)
        questions = [clean_question(q) for q in questions]
        vectors = self.encoder.encode(questions)
        found = passages.search(
            stored.search, stored.chunks, stored.documents, questions, vectors, k, mode, allowed
        )
        return found, questions

    def chunk_passage(self, row: int) -> Passage:
        """Chunk ``row`` as a passage (unranked)."""
        stored = self._stored
        doc_row, start, end = (int(v) for v in stored.chunks[row])
        return passages.passage(stored.documents[doc_row], start, end, score=0.0, rank=1,
                                chunks=[row])  # fmt: skip

    # -- answers -----------------------------------------------------------------------------

    def ask(
        self,
        question: str,
        k: int = DEFAULT_K,
        *,
        mode: str | None = None,
        min_score: float | None = None,
        where: Where | None = None,
    ) -> Answer:
        """``answer(question, self.retrieve(question, k, where=where))``: the reader's answer
        from the ``k`` best passages, or an abstention below ``min_score`` (default: the
        reader's threshold)."""
        return self.ask_many([question], k, mode=mode, min_score=min_score, where=where)[0]

    def ask_many(
        self,
        questions: Sequence[str],
        k: int = DEFAULT_K,
        *,
        mode: str | None = None,
        min_score: float | None = None,
        where: Where | None = None,
    ) -> list[Answer]:
        """``ask`` for many questions, with one batched retrieval."""
        found, questions = self._search(questions, k, mode, where)
        return [
            answer(question, taken, reader=self.reader, min_score=min_score)
            for question, taken in zip(questions, found)
        ]

    # -- documents ---------------------------------------------------------------------------

    def add(self, documents: Iterable[Any], *, show_progress: bool | None = None) -> Index:
        """Add documents to the index (a document with an id it has replaces it), and return it.

        Give ``pathlib.Path`` files, strings of text, or dicts in the corpus JSONL format
        (``text``; optional ``id``, ``title``, ``metadata``); see ``qa.corpus.to_documents``.
        Only the new and changed documents are split and embedded. The change is atomic: a new
        generation of the index folder goes live whole, or not at all; this object, and every
        later load, sees it. The manifest records it, so the index stays up to date with its
        corpus, and builds of the corpus keep it (a corpus file of the same id wins).
        """
        from qa.build import update
        from qa.corpus import to_documents

        if isinstance(documents, (str, dict, Path)):
            documents = [documents]
        given = to_documents(documents, Path(self.manifest.corpus))
        if update(self.path, add=given, show_progress=show_progress) is not None:
            self._reload()
        return self

    def remove(self, ids: Iterable[str] | str) -> Index:
        """Remove the documents with these ids from the index (atomically, as ``add``), and
        return it. Builds of the corpus keep them out until they are added again. Raises
        ``KeyError`` for an id the index lacks, before changing anything."""
        from qa.build import update

        chosen = [ids] if isinstance(ids, str) else list(ids)
        if update(self.path, remove=chosen) is not None:
            self._reload()
        return self

    def _reload(self) -> None:
        self._state(store.load(self.path))
