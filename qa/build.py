"""Build an index: corpus -> chunks -> vectors (chunks and sentences at once) -> BM25 -> disk."""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import metadata as importlib_metadata
from pathlib import Path
from typing import Any

import numpy as np

from qa import store
from qa.chunking import (
    CHUNK_TOKENS,
    OVERLAP_SENTENCES,
    SPLITTER,
    Sentence,
    chunk_document,
    is_label,
)
from qa.corpus import read_corpus
from qa.embedding import DEFAULT_MODEL, Encoder, get_encoder
from qa.errors import QAError
from qa.types import Document

logger = logging.getLogger(__name__)

ENCODE_BATCH = 256  # chunks per forward-pass group (the progress bar's step)
BM25_PARAMS = {"method": "lucene", "k1": 1.5, "b": 0.75}


def chunking_params(window: int, chunk_tokens: int = CHUNK_TOKENS) -> dict[str, Any]:
    """The chunking settings an index records; chunks never exceed the model's ``window``."""
    return {
        "splitter": SPLITTER,
        "chunk_tokens": min(chunk_tokens, window),
        "overlap_sentences": OVERLAP_SENTENCES,
    }


def build(
    corpus_dir: Path,
    index_dir: Path,
    *,
    model: str | None = None,
    show_progress: bool | None = None,
    chunk_tokens: int = CHUNK_TOKENS,
    incremental: bool = True,
) -> Path:
    """Build the index of ``corpus_dir`` into ``index_dir``; returns the new generation folder.

    With ``incremental`` (the default), documents unchanged since the index already in
    ``index_dir`` keep their chunks and vectors: only new and changed documents are split and
    embedded. Reuse needs the same model, chunking and qa version; otherwise all is rebuilt.
    """
    with store.build_lock(index_dir):
        return _build(corpus_dir, index_dir, model, show_progress, chunk_tokens, incremental)


def _build(
    corpus_dir: Path,
    index_dir: Path,
    model: str | None,
    show_progress: bool | None,
    chunk_tokens: int,
    incremental: bool,
) -> Path:
    started = time.time()
    documents, hashes = read_corpus(corpus_dir)
    encoder = get_encoder(model or DEFAULT_MODEL)
    chunking = chunking_params(encoder.window, chunk_tokens)
    previous = _reusable(index_dir, encoder, chunking) if incremental else None
    old_rows = {d.id: row for row, d in enumerate(previous.documents)} if previous else {}

    parts: list[_Part] = []
    for row, document in enumerate(documents):
        old_row = old_rows.get(document.id)
        if previous is not None and old_row is not None and previous.documents[old_row] == document:
            parts.append(previous.part(old_row, row))
        else:
            parts.append(_split(document, row, encoder, chunking))
    chunk_table = _rows([p.chunks for p in parts])
    sentence_table = _rows([p.sentences for p in parts])
    dimension = encoder.dimension
    vectors = np.concatenate([_or_zeros(p.vectors, len(p.chunks), dimension) for p in parts])
    sentence_vectors = np.concatenate(
        [_or_zeros(p.sentence_vectors, len(p.sentences), dimension) for p in parts]
    )
    fresh_chunks = np.concatenate([np.full(len(p.chunks), p.vectors is None) for p in parts])
    fresh_sentences = np.concatenate([np.full(len(p.sentences), p.vectors is None) for p in parts])
    texts = [documents[row].text[start:end] for row, start, end in chunk_table]
    if fresh_chunks.any():
        vectors[fresh_chunks], sentence_vectors[fresh_sentences] = encode_chunks(
            encoder,
            [t for t, fresh in zip(texts, fresh_chunks) if fresh],
            chunk_table[fresh_chunks],
            sentence_table[fresh_sentences],
            show_progress=show_progress,
        )
    faiss_index, faiss_params = store.make_faiss_index(vectors)
    bm25, tokenizer = build_bm25(texts)

    manifest: dict[str, Any] = {
        "format_version": store.FORMAT_VERSION,
        "qa_version": _version("qa"),
        "built_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "build_seconds": None,
        "corpus": str(corpus_dir),
        "corpus_files": hashes,
        "model": {"name": encoder.name, "dimension": encoder.dimension, "window": encoder.window},
        "chunking": chunking,
        "faiss": faiss_params,
        "bm25": {**BM25_PARAMS, "tokenizer": "bm25s, English stop words, Snowball stemmer"},
        "counts": {
            "documents": len(documents),
            "chunks": len(chunk_table),
            "sentences": len(sentence_table),
        },
        "embedded": {
            "documents": sum(p.vectors is None for p in parts),
            "chunks": int(fresh_chunks.sum()),
        },
        "versions": {
            name: _version(name)
            for name in ("sentence-transformers", "faiss-cpu", "bm25s", "torch", "numpy", "pysbd")
        },
    }
    manifest["build_seconds"] = round(time.time() - started, 3)
    folder = store.save(
        index_dir,
        manifest,
        documents,
        chunk_table,
        sentence_table,
        sentence_vectors,
        faiss_index,
        bm25,
        tokenizer,
    )
    logger.info(
        "Built index of %d documents, %d chunks (%d embedded, the rest reused) in %.1fs: %s",
        len(documents),
        len(chunk_table),
        manifest["embedded"]["chunks"],
        time.time() - started,
        folder,
    )
    return folder


@dataclass(frozen=True)
class _Part:
    """One document's rows (document row, start, end), with its vectors when reused."""

    chunks: np.ndarray
    sentences: np.ndarray
    vectors: np.ndarray | None = None
    sentence_vectors: np.ndarray | None = None


@dataclass(frozen=True)
class _Previous:
    """The index being replaced, kept for the vectors of documents that did not change."""

    documents: list[Document]
    chunks: np.ndarray
    sentences: np.ndarray
    vectors: np.ndarray
    sentence_vectors: np.ndarray

    def part(self, old_row: int, row: int) -> _Part:
        chunks = _row_range(self.chunks, old_row)
        sentences = _row_range(self.sentences, old_row)
        chunk_rows = self.chunks[chunks].copy()
        sentence_rows = self.sentences[sentences].copy()
        chunk_rows[:, 0] = row
        sentence_rows[:, 0] = row
        return _Part(
            chunk_rows, sentence_rows, self.vectors[chunks], self.sentence_vectors[sentences]
        )


def _reusable(index_dir: Path, encoder: Encoder, chunking: dict[str, Any]) -> _Previous | None:
    """The index in ``index_dir`` when its vectors can be reused for this build, else None."""
    try:
        manifest = store.read_manifest(index_dir)
        if manifest is None:
            return None
        model = {"name": encoder.name, "dimension": encoder.dimension, "window": encoder.window}
        if (
            manifest.get("model") != model
            or manifest.get("chunking") != chunking
            or manifest.get("qa_version") != _version("qa")
        ):
            return None
        stored = store.load(index_dir)
    except QAError as error:
        logger.warning("Not reusing the index in %s: %s", index_dir, error)
        return None
    return _Previous(
        stored.documents,
        stored.chunks,
        stored.sentences,
        stored.faiss_index.reconstruct_n(0, stored.faiss_index.ntotal),
        np.asarray(stored.sentence_vectors),
    )


def _split(document: Document, row: int, encoder: Encoder, chunking: dict[str, Any]) -> _Part:
    chunks, sentences = chunk_document(
        document,
        encoder.count_tokens,
        chunk_tokens=chunking["chunk_tokens"],
        overlap=chunking["overlap_sentences"],
    )
    return _Part(
        np.asarray([(row, c.start, c.end) for c in chunks], dtype=np.int64).reshape(-1, 3),
        np.asarray(
            [(row, s.start, s.end) for s in _answerable(document, sentences)], dtype=np.int64
        ).reshape(-1, 3),
    )


def _rows(tables: list[np.ndarray]) -> np.ndarray:
    return np.concatenate(tables) if tables else np.zeros((0, 3), dtype=np.int64)


def _row_range(table: np.ndarray, row: int) -> slice:
    """The rows of ``table`` (sorted by document row) that belong to document ``row``."""
    low, high = np.searchsorted(table[:, 0], [row, row + 1])
    return slice(int(low), int(high))


def _or_zeros(vectors: np.ndarray | None, rows: int, dimension: int) -> np.ndarray:
    """Reused vectors, or zeros for the rows about to be embedded."""
    return vectors if vectors is not None else np.zeros((rows, dimension), dtype=np.float32)


def _answerable(document: Document, sentences: Sequence[Sentence]) -> list[Sentence]:
    """Sentences that can be an answer: not a section heading, not a title line.

    A line repeating the document's title is a label, unless it reads as a sentence (a one-line
    text file's "title" is its only sentence).
    """
    headings = {start: title for start, title in document.sections}
    return [
        s
        for s in sentences
        if not is_label(document.text[s.start : s.end], document.title, headings.get(s.start))
    ]


def encode_chunks(
    encoder: Encoder,
    texts: Sequence[str],
    chunk_table: np.ndarray,
    sentence_table: np.ndarray,
    *,
    show_progress: bool | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Chunk vectors, and sentence vectors pooled from the same forward pass.

    A sentence repeated in two chunks (overlap) gets the mean of its two pooled vectors.
    """
    from tqdm.auto import tqdm

    dimension = encoder.dimension
    vectors = np.zeros((len(texts), dimension), dtype=np.float32)
    sentence_sums = np.zeros((len(sentence_table), dimension), dtype=np.float32)
    # Sentences of each chunk: same document row, inside the chunk's span (tables are sorted).
    keys = sentence_table[:, 0] * (1 << 40) + sentence_table[:, 1]
    chunk_keys_start = chunk_table[:, 0] * (1 << 40) + chunk_table[:, 1]
    chunk_keys_end = chunk_table[:, 0] * (1 << 40) + chunk_table[:, 2]
    lows = np.searchsorted(keys, chunk_keys_start, side="left")
    highs = np.searchsorted(keys, chunk_keys_end, side="left")

    disable = None if show_progress is None else not show_progress
    with tqdm(total=len(texts), desc="Embedding chunks", unit="chunk", disable=disable) as bar:
        for first in range(0, len(texts), ENCODE_BATCH):
            batch = range(first, min(first + ENCODE_BATCH, len(texts)))
            spans = []
            for i in batch:
                rows = sentence_table[lows[i] : highs[i]]
                rows = rows[rows[:, 2] <= chunk_table[i, 2]]
                spans.append(
                    [(int(s - chunk_table[i, 1]), int(e - chunk_table[i, 1])) for _, s, e in rows]
                )
            chunk_vectors, pooled = encoder.encode_with_sentences([texts[i] for i in batch], spans)
            vectors[first : first + len(batch)] = chunk_vectors
            for i, sentence_vectors in zip(batch, pooled):
                if len(sentence_vectors):
                    sentence_sums[lows[i] : lows[i] + len(sentence_vectors)] += sentence_vectors
            bar.update(len(batch))
    norms = np.linalg.norm(sentence_sums, axis=1, keepdims=True)
    return vectors, sentence_sums / np.maximum(norms, 1e-12)


def build_bm25(texts: Sequence[str]) -> tuple[Any, Any]:
    """A bm25s index of ``texts`` and the tokenizer that must read its queries."""
    import bm25s

    tokenizer = store.new_bm25_tokenizer()
    tokens = tokenizer.tokenize(list(texts), show_progress=False, return_as="tuple")
    retriever = bm25s.BM25(**BM25_PARAMS)
    retriever.index(tokens, show_progress=False)
    return retriever, tokenizer


def _version(package: str) -> str | None:
    try:
        return importlib_metadata.version(package)
    except importlib_metadata.PackageNotFoundError:
        return None
