"""Build an index: corpus -> chunks -> vectors (chunks and sentences at once) -> BM25 -> disk."""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from importlib import metadata as importlib_metadata
from pathlib import Path
from typing import Any

import numpy as np

from qa import store
from qa.chunking import CHUNK_TOKENS, OVERLAP_SENTENCES, SPLITTER, Sentence, chunk_document
from qa.corpus import read_corpus
from qa.embedding import DEFAULT_MODEL, Encoder, get_encoder
from qa.types import Chunk, Document

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
) -> Path:
    """Build the index of ``corpus_dir`` into ``index_dir``; returns the new generation folder."""
    started = time.time()
    documents, hashes = read_corpus(corpus_dir)
    encoder = get_encoder(model or DEFAULT_MODEL)
    chunking = chunking_params(encoder.window, chunk_tokens)

    chunks: list[Chunk] = []
    chunk_rows: list[tuple[int, int, int]] = []
    sentence_rows: list[tuple[int, int, int]] = []
    for row, document in enumerate(documents):
        doc_chunks, sentences = chunk_document(
            document,
            encoder.count_tokens,
            chunk_tokens=chunking["chunk_tokens"],
            overlap=chunking["overlap_sentences"],
        )
        chunks.extend(doc_chunks)
        chunk_rows.extend((row, c.start, c.end) for c in doc_chunks)
        sentence_rows.extend((row, s.start, s.end) for s in _answerable(document, sentences))
    chunk_table = np.asarray(chunk_rows, dtype=np.int64).reshape(-1, 3)
    sentence_table = np.asarray(sentence_rows, dtype=np.int64).reshape(-1, 3)

    vectors, sentence_vectors = encode_chunks(
        encoder, chunks, chunk_table, sentence_table, show_progress=show_progress
    )
    faiss_index, faiss_params = store.make_faiss_index(vectors)
    bm25, tokenizer = build_bm25([c.text for c in chunks])

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
            "chunks": len(chunks),
            "sentences": len(sentence_table),
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
        "Built index of %d documents, %d chunks in %.1fs: %s",
        len(documents),
        len(chunks),
        time.time() - started,
        folder,
    )
    return folder


def _answerable(document: Document, sentences: Sequence[Sentence]) -> list[Sentence]:
    """Sentences that can be an answer: not a section heading, not a title line.

    A line repeating the document's title is a label, unless it reads as a sentence (a one-line
    text file's "title" is its only sentence).
    """
    headings = {start: title for start, title in document.sections}
    title = document.title.strip()

    def label(sentence: Sentence) -> str:
        return document.text[sentence.start : sentence.end].strip().strip("#").strip(" :")

    return [
        s
        for s in sentences
        if label(s) != headings.get(s.start)
        and (label(s) != title or document.text[s.end - 1] in '.!?"”')
    ]


def encode_chunks(
    encoder: Encoder,
    chunks: Sequence[Chunk],
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
    vectors = np.zeros((len(chunks), dimension), dtype=np.float32)
    sentence_sums = np.zeros((len(sentence_table), dimension), dtype=np.float32)
    # Sentences of each chunk: same document row, inside the chunk's span (tables are sorted).
    keys = sentence_table[:, 0] * (1 << 40) + sentence_table[:, 1]
    chunk_keys_start = chunk_table[:, 0] * (1 << 40) + chunk_table[:, 1]
    chunk_keys_end = chunk_table[:, 0] * (1 << 40) + chunk_table[:, 2]
    lows = np.searchsorted(keys, chunk_keys_start, side="left")
    highs = np.searchsorted(keys, chunk_keys_end, side="left")

    disable = None if show_progress is None else not show_progress
    with tqdm(total=len(chunks), desc="Embedding chunks", unit="chunk", disable=disable) as bar:
        for first in range(0, len(chunks), ENCODE_BATCH):
            batch = range(first, min(first + ENCODE_BATCH, len(chunks)))
            spans = []
            for i in batch:
                rows = sentence_table[lows[i] : highs[i]]
                rows = rows[rows[:, 2] <= chunk_table[i, 2]]
                spans.append(
                    [(int(s - chunk_table[i, 1]), int(e - chunk_table[i, 1])) for _, s, e in rows]
                )
            chunk_vectors, pooled = encoder.encode_with_sentences(
                [chunks[i].text for i in batch], spans
            )
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
