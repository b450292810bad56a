"""Build an index: corpus -> chunks -> vectors -> store (FAISS and bm25s, or Milvus) -> disk."""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import metadata as importlib_metadata
from pathlib import Path
from typing import Any, Literal

import numpy as np

from qa import store as folder_store
from qa.chunking import CHUNK_TOKENS, OVERLAP_SENTENCES, SPLITTER, chunk_document
from qa.corpus import read_corpus
from qa.embedding import DEFAULT_MODEL, Encoder, get_encoder
from qa.errors import EmptyCorpusError, IndexNotFoundError, QAError
from qa.manifest import Counts, Edits, Embedded, Manifest, ModelInfo, StoreInfo
from qa.render import plural
from qa.retrieval import BM25_PARAMS, KEYWORD_TERMS, FaissSearch, bm25_tokenizer
from qa.types import Document

logger = logging.getLogger(__name__)

ENCODE_BATCH = 256  # chunks per forward-pass group (the progress bar's step)
StoreChoice = Literal["faiss", "milvus"]
STORES = ("faiss", "milvus")
VERSIONED = {
    "faiss": ("sentence-transformers", "faiss-cpu", "bm25s", "torch", "numpy", "pysbd"),
    "milvus": ("sentence-transformers", "pymilvus", "milvus-lite", "torch", "numpy", "pysbd"),
}


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
    store: StoreChoice | None = None,
    index_type: str | None = None,
    uri: str | None = None,
    collection: str | None = None,
    ray: bool | str = False,
) -> Path:
    """Build the index of ``corpus_dir`` into ``index_dir``; returns the new generation folder.

    With ``incremental`` (the default), documents unchanged since the index already in
    ``index_dir`` keep their chunks and vectors: only new and changed documents are split and
    embedded. Reuse needs the same model, chunking, store and qa version; otherwise all is
    rebuilt. ``store="milvus"`` keeps the vectors and the keyword index in a Milvus collection
    (see ``qa.milvus``); ``None`` keeps the store the index has (FAISS for a new one), or is
    Milvus when ``uri`` or ``collection`` is given. ``ray`` embeds on Ray (see
    ``qa.distributed``).
    """
    if store is not None and store not in STORES:
        raise ValueError(f"store must be one of {', '.join(STORES)}; got {store!r}")
    if index_type is not None:
        folder_store.check_index_type(index_type)
    with folder_store.build_lock(index_dir):
        documents, hashes = read_corpus(corpus_dir)
        documents, edits = _with_edits(documents, index_dir)
        return _build(
            documents,
            hashes,
            corpus_dir,
            index_dir,
            edits=edits,
            model=model or DEFAULT_MODEL,
            show_progress=show_progress,
            chunk_tokens=chunk_tokens,
            incremental=incremental,
            target=_target(index_dir, store, uri, collection),
            index_type=index_type or _index_type(index_dir),
            ray=ray,
        )


def update(
    index_dir: Path,
    *,
    add: Sequence[Document] = (),
    remove: Sequence[str] = (),
    show_progress: bool | None = None,
) -> Path | None:
    """Add (or replace, by id) ``add`` and remove the ids in ``remove`` in the index in
    ``index_dir``, as a new generation: only the added documents are split and embedded.

    The manifest records the edits (``Manifest.edits``) and keeps the corpus hashes, so the
    index stays up to date with its corpus and later builds of the corpus keep the edits.
    Returns the new generation folder, or None when nothing changes. Raises ``KeyError`` for an
    id to remove that the index lacks, before changing anything.
    """
    with folder_store.build_lock(index_dir):
        manifest = folder_store.read_manifest(index_dir)
        if manifest is None:
            raise IndexNotFoundError(
                f"No index in {index_dir} to add to; build one with 'qa build' first."
            )
        current = folder_store.read_documents(index_dir)
        known = {d.id: d for d in current}
        missing = [i for i in remove if i not in known]
        if missing:
            raise KeyError(
                f"No document {', '.join(map(repr, missing))} in the index in {index_dir}; "
                "see Index.documents for the ids"
            )
        added = {d.id: d for d in add}
        if len(added) < len(add):
            raise ValueError("Two documents to add have the same id; give each its own")
        if not remove and all(known.get(i) == d for i, d in added.items()):
            return None
        edits = manifest.edits.changed(added=list(added), removed=remove)
        documents = _compose([d for d in current if d.id not in added], {**known, **added}, edits)
        return _build(
            documents,
            manifest.corpus_files,
            Path(manifest.corpus),
            index_dir,
            edits=edits,
            model=manifest.model.name,
            show_progress=show_progress,
            chunk_tokens=int(manifest.chunking["chunk_tokens"]),
            incremental=True,
            target=manifest.store,
            index_type=str(manifest.index.get("index_type", folder_store.DEFAULT_INDEX_TYPE)),
            ray=False,
        )


def _index_type(index_dir: Path) -> str:
    """The index type the index in ``index_dir`` was asked for, else the default."""
    try:
        manifest = folder_store.read_manifest(index_dir)
    except QAError:
        manifest = None
    chosen = manifest.index.get("index_type") if manifest is not None else None
    return str(chosen or folder_store.DEFAULT_INDEX_TYPE)


def _with_edits(documents: list[Document], index_dir: Path) -> tuple[list[Document], Edits]:
    """The corpus's ``documents`` with the edits of the index in ``index_dir`` applied."""
    try:
        manifest = folder_store.read_manifest(index_dir)
        edits = manifest.edits if manifest is not None else Edits()
        previous = folder_store.read_documents(index_dir) if edits.added else []
    except QAError as error:
        if not isinstance(error, IndexNotFoundError):
            logger.warning("Not keeping documents added from Python to %s: %s", index_dir, error)
        return documents, Edits()
    if not edits.added and not edits.removed:
        return documents, edits
    from_corpus = {d.id for d in documents}
    kept = {d.id: d for d in previous if d.id in edits.added and d.id not in from_corpus}
    edits = Edits(tuple(i for i in edits.added if i in kept), edits.removed)
    logger.info(
        "Keeping %s added and leaving out %s removed from Python",
        plural(len(edits.added), "document"),
        plural(len(edits.removed), "document"),
    )
    return _compose(documents, kept, edits), edits


def _compose(base: list[Document], added: dict[str, Document], edits: Edits) -> list[Document]:
    """``base`` without the removed and added ids, then the added documents in edit order."""
    dropped = set(edits.removed) | set(edits.added)
    return [d for d in base if d.id not in dropped] + [added[i] for i in edits.added if i in added]


def _target(
    index_dir: Path, store: str | None, uri: str | None, collection: str | None
) -> StoreInfo:
    """The manifest's "store" entry for this build."""
    if store is None and uri is None and collection is None:  # the index's own
        try:
            manifest = folder_store.read_manifest(index_dir)
        except QAError:
            manifest = None
        return manifest.store if manifest is not None else StoreInfo()
    if store == "faiss":
        if uri is not None or collection is not None:
            raise ValueError("uri and collection are settings of store='milvus'")
        return StoreInfo()
    from qa import milvus

    return milvus.target(uri, collection)  # store is "milvus", or None with a uri or collection


def _build(
    documents: list[Document],
    hashes: dict[str, str],
    corpus_dir: Path,
    index_dir: Path,
    *,
    edits: Edits,
    model: str,
    show_progress: bool | None,
    chunk_tokens: int,
    incremental: bool,
    target: StoreInfo,
    index_type: str,
    ray: bool | str,
) -> Path:
    """Index ``documents`` (read from ``corpus_dir`` with these file ``hashes``, then ``edits``)
    into a new generation of ``index_dir``."""
    if not documents:
        raise EmptyCorpusError(
            f"No document left to index in {index_dir}: the corpus {corpus_dir} gives none, or "
            "all were removed; add documents (Index.add, or files in the corpus folder)."
        )
    started = time.time()
    encoder = get_encoder(model)
    chunking = chunking_params(encoder.window, chunk_tokens)
    previous = _reusable(index_dir, encoder, chunking, target) if incremental else None
    old_rows = {d.id: row for row, d in enumerate(previous.documents)} if previous else {}

    parts: list[_Part] = []
    for row, document in enumerate(documents):
        old_row = old_rows.get(document.id)
        if previous is not None and old_row is not None and previous.documents[old_row] == document:
            parts.append(previous.part(old_row, row))
        else:
            parts.append(_split(document, row, encoder, chunking))
    chunk_table = _rows([p.chunks for p in parts])
    texts = [documents[row].text[start:end] for row, start, end in chunk_table]

    def embed(chosen: np.ndarray) -> np.ndarray:
        return embed_texts(encoder, [texts[i] for i in np.flatnonzero(chosen)], show_progress, ray)

    search: FaissSearch | np.ndarray
    if target.kind == "faiss":
        fresh = np.concatenate([np.full(len(p.chunks), not p.reused) for p in parts])
        vectors = np.concatenate(
            [_or_zeros(p.vectors, len(p.chunks), encoder.dimension) for p in parts]
        )
        if fresh.any():
            vectors[fresh] = embed(fresh)
        faiss_index, store_params = folder_store.make_faiss_index(vectors, index_type)
        exact = vectors if "rerank" in store_params else None
        search = FaissSearch(faiss_index, *build_bm25(texts), vectors=exact)
        bm25 = {**BM25_PARAMS, "tokenizer": KEYWORD_TERMS}
    else:
        from qa import milvus_build

        collection = milvus_build.open_for_build(target, index_dir, encoder, len(texts), index_type)
        keys = search = milvus_build.chunk_keys(documents, chunk_table, texts)
        fresh = ~collection.contains(keys)
        if fresh.any():
            rows = np.flatnonzero(fresh)
            collection.upsert(
                keys[fresh],
                [documents[chunk_table[i, 0]].id for i in rows],
                [texts[i] for i in rows],
                embed(fresh),
            )
        store_params = collection.params
        bm25 = {
            "k1": milvus_build.BM25["bm25_k1"],
            "b": milvus_build.BM25["bm25_b"],
            "tokenizer": KEYWORD_TERMS,
            "analyzer": milvus_build.ANALYZER,
        }
    embedded = int(fresh.sum())

    manifest = Manifest(
        qa_version=_version("qa"),
        built_at=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        build_seconds=round(time.time() - started, 3),
        corpus=str(corpus_dir),
        corpus_files=hashes,
        model=_model_info(encoder),
        chunking=chunking,
        store=target,
        index=store_params,
        bm25=bm25,
        counts=Counts(documents=len(documents), chunks=len(chunk_table)),
        embedded=Embedded(
            documents=sum(not p.reused for p in parts),
            chunks=embedded,
            on="ray" if ray else "local",
        ),
        versions={name: _version(name) for name in VERSIONED[target.kind]},
        edits=edits,
    )
    folder = folder_store.save(index_dir, manifest, documents, chunk_table, search)
    if target.kind == "milvus":
        collection.keep_only(keys)  # the chunks of replaced generations, now unreferenced
    logger.info(
        "Built index of %s, %s (%d embedded, the rest reused) in %.1fs: %s",
        plural(len(documents), "document"),
        plural(len(chunk_table), "chunk"),
        embedded,
        time.time() - started,
        folder,
    )
    return folder


@dataclass(frozen=True)
class _Part:
    """One document's chunk rows (document row, start, end); when reused from the previous
    index, with their vectors (a FAISS store's; a Milvus collection keeps its own)."""

    chunks: np.ndarray
    reused: bool = False
    vectors: np.ndarray | None = None


@dataclass(frozen=True)
class _Previous:
    """The index being replaced, kept for the chunks (and vectors) of unchanged documents.

    A Milvus store keeps no vectors here: its collection already holds every reused chunk.
    """

    documents: list[Document]
    chunks: np.ndarray
    vectors: np.ndarray | None

    def part(self, old_row: int, row: int) -> _Part:
        rows = _row_range(self.chunks, old_row)
        chunk_rows = self.chunks[rows].copy()
        chunk_rows[:, 0] = row
        return _Part(chunk_rows, True, None if self.vectors is None else self.vectors[rows])


def _reusable(
    index_dir: Path, encoder: Encoder, chunking: dict[str, Any], target: StoreInfo
) -> _Previous | None:
    """The index in ``index_dir`` when its chunks can be reused for this build, else None."""
    try:
        manifest = folder_store.read_manifest(index_dir)
        if manifest is None:
            return None
        if (
            manifest.model != _model_info(encoder)
            or manifest.chunking != chunking
            or manifest.qa_version != _version("qa")
            or manifest.store != target
        ):
            return None
        stored = folder_store.load(index_dir)
    except QAError as error:
        logger.warning("Not reusing the index in %s: %s", index_dir, error)
        return None
    vectors = None
    if isinstance(stored.search, FaissSearch):
        exact = stored.search.vectors  # a compressed index's codes would lose precision
        faiss_index = stored.search.faiss_index
        vectors = (
            np.array(exact)
            if exact is not None
            else faiss_index.reconstruct_n(0, faiss_index.ntotal)
        )
    return _Previous(stored.documents, stored.chunks, vectors)


def _model_info(encoder: Encoder) -> ModelInfo:
    return ModelInfo(name=encoder.name, dimension=encoder.dimension, window=encoder.window)


def _split(document: Document, row: int, encoder: Encoder, chunking: dict[str, Any]) -> _Part:
    chunks, _ = chunk_document(
        document,
        encoder.count_tokens,
        chunk_tokens=chunking["chunk_tokens"],
        overlap=chunking["overlap_sentences"],
    )
    return _Part(np.asarray([(row, c.start, c.end) for c in chunks], dtype=np.int64).reshape(-1, 3))


def _rows(tables: list[np.ndarray]) -> np.ndarray:
    return np.concatenate(tables) if tables else np.zeros((0, 3), dtype=np.int64)


def _row_range(table: np.ndarray, row: int) -> slice:
    """The rows of ``table`` (sorted by document row) that belong to document ``row``."""
    low, high = np.searchsorted(table[:, 0], [row, row + 1])
    return slice(int(low), int(high))


def _or_zeros(vectors: np.ndarray | None, rows: int, dimension: int) -> np.ndarray:
    """Reused vectors, or zeros for the rows about to be embedded."""
    return vectors if vectors is not None else np.zeros((rows, dimension), dtype=np.float32)


def embed_texts(
    encoder: Encoder,
    texts: Sequence[str],
    show_progress: bool | None = None,
    ray: bool | str = False,
) -> np.ndarray:
    """Normalised float32 vectors of ``texts``, here with a progress bar, or on Ray."""
    if ray:
        from qa import distributed

        return distributed.embed(encoder.name, texts, ray, show_progress=show_progress)
    from tqdm.auto import tqdm

    vectors = np.zeros((len(texts), encoder.dimension), dtype=np.float32)
    disable = None if show_progress is None else not show_progress
    with tqdm(total=len(texts), desc="Embedding chunks", unit="chunk", disable=disable) as bar:
        for first in range(0, len(texts), ENCODE_BATCH):
            batch = texts[first : first + ENCODE_BATCH]
            vectors[first : first + len(batch)] = encoder.encode(batch)
            bar.update(len(batch))
    return vectors


def build_bm25(texts: Sequence[str]) -> tuple[Any, Any]:
    """A bm25s index of ``texts`` and the tokenizer that must read its queries."""
    import bm25s

    tokenizer = bm25_tokenizer()
    tokens = tokenizer.tokenize(list(texts), show_progress=False, return_as="tuple")
    retriever = bm25s.BM25(**BM25_PARAMS)
    retriever.index(tokens, show_progress=False)
    return retriever, tokenizer


def _version(package: str) -> str | None:
    try:
        return importlib_metadata.version(package)
    except importlib_metadata.PackageNotFoundError:
        return None
