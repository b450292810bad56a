"""The index on disk: a folder of plain files, written atomically, checked when loaded.

Layout of an index folder::

    CURRENT                      name of the live generation folder (replaced atomically)
    gen-<time>-<rand>/
        manifest.json            format and package versions, model, chunking, FAISS and BM25
                                 parameters, per-file corpus hashes, counts, checksums, build time
        documents.jsonl          one document a line: id, title, source, metadata, text,
                                 sections, pages (all offsets index into text)
        chunks.npy               int64 (n, 3): document row, start, end of each chunk
        vectors.faiss            the FAISS index of the chunk vectors (row i = chunk i)
        vectors.npy              (compressed FAISS index only) the float32 vectors, memory-mapped
                                 at load to rank the index's candidates exactly
        bm25/                    the bm25s index and its tokenizer vocabulary
        keys.npy                 (Milvus store instead of the two above) int64 chunk keys,
                                 row i = chunk i; vectors and BM25 live in the collection the
                                 manifest's "store" names (see qa.milvus)

A build writes a new generation folder and only then points CURRENT at it, so a build that is
killed at any moment leaves the previous index in place. Builds of one folder take turns on its
``.lock`` file. No pickle anywhere.
"""

from __future__ import annotations

import contextlib
import json
import logging
import mmap
import os
import secrets
import shutil
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from qa import manifest as manifest_file
from qa.corpus import file_hash
from qa.errors import IndexCorruptError, IndexNotFoundError
from qa.manifest import Manifest
from qa.retrieval import ChunkSearch, FaissSearch, bm25_tokenizer, faiss_threads
from qa.types import Document

logger = logging.getLogger(__name__)

FORMAT_VERSION = manifest_file.SCHEMA_VERSION
CURRENT = "CURRENT"
LOCK = ".lock"
MANIFEST = manifest_file.FILE
DOCUMENTS = "documents.jsonl"
CHUNKS = "chunks.npy"
KEYS = "keys.npy"
VECTORS = "vectors.faiss"
RERANK_VECTORS = "vectors.npy"  # float32 chunk vectors, for a compressed index's re-rank
BM25_DIR = "bm25"
# Files up to this size get a full sha256 check at load; larger ones a size check only.
FULL_CHECK_BYTES = 256 * 1024 * 1024
# At and above this many chunks "auto" picks an approximate index, below it exact search.
HNSW_THRESHOLD = 20_000  # exact search passes 5 ms near 25k chunks (bench/scale.py)
HNSW_M = 32
HNSW_EF_CONSTRUCTION = 80
HNSW_EF_SEARCH = 128
#: The dense index types a build may be asked for. "auto": exact below HNSW_THRESHOLD chunks,
#: "hnsw-sq8" at and above it; "flat": exact; "hnsw": HNSW over float32 vectors (all in
#: memory); "hnsw-sq8": HNSW over 8-bit codes (a quarter of the memory), its candidates ranked
#: again exactly on the float32 vectors, memory-mapped from ``vectors.npy``.
INDEX_TYPES = ("auto", "flat", "hnsw", "hnsw-sq8")
DEFAULT_INDEX_TYPE = "auto"
LARGE_INDEX_TYPE = "hnsw-sq8"


def check_index_type(index_type: str) -> str:
    """``index_type`` when it is one of ``INDEX_TYPES``, else a ValueError listing them."""
    if index_type not in INDEX_TYPES:
        raise ValueError(f"index_type must be one of {', '.join(INDEX_TYPES)}; got {index_type!r}")
    return index_type


def choose_index_type(index_type: str, chunks: int) -> str:
    """The concrete index type ("flat", "hnsw" or "hnsw-sq8") for a build of ``chunks``."""
    if check_index_type(index_type) != "auto":
        return index_type
    return LARGE_INDEX_TYPE if chunks >= HNSW_THRESHOLD else "flat"


@dataclass(frozen=True)
class Stored:
    """Everything an index folder holds, loaded."""

    path: Path
    manifest: Manifest
    documents: list[Document]
    chunks: np.ndarray
    search: ChunkSearch


def live_folder(index_dir: Path) -> Path | None:
    """The generation folder CURRENT points at, or None when there is no index."""
    pointer = index_dir / CURRENT
    if not pointer.is_file():
        return None
    name = pointer.read_text(encoding="utf-8").strip()
    folder = index_dir / name
    if not name or "/" in name or not folder.is_dir():
        raise IndexCorruptError(
            f"{pointer} names {name!r}, which is not an index folder; rebuild with 'qa build'."
        )
    return folder


def read_manifest(index_dir: Path) -> Manifest | None:
    """The manifest of the index in ``index_dir``, or None when there is none."""
    folder = live_folder(index_dir)
    return None if folder is None else manifest_file.read(folder)


def read_documents(index_dir: Path) -> list[Document]:
    """The documents of the live index in ``index_dir`` (no other file read, none checked)."""
    folder = live_folder(index_dir)
    if folder is None:
        raise IndexNotFoundError(f"No index in {index_dir}; build one with 'qa build'.")
    return _read_documents(folder)


def _read_documents(folder: Path) -> list[Document]:
    try:
        lines = (folder / DOCUMENTS).read_text(encoding="utf-8").splitlines()
        return [_document_from_record(json.loads(line)) for line in lines]
    except (OSError, ValueError, KeyError) as error:
        raise IndexCorruptError(
            f"The documents of the index in {folder} cannot be read ({error}); rebuild it "
            "with 'qa build'."
        ) from error


def make_faiss_index(
    vectors: np.ndarray, index_type: str = DEFAULT_INDEX_TYPE
) -> tuple[Any, dict[str, Any]]:
    """The FAISS index of ``vectors`` (see ``INDEX_TYPES``) and the parameters the manifest
    records: ``type`` (the FAISS class), ``index_type`` (what was asked for), HNSW's settings,
    and ``rerank`` (the file of float32 vectors that ranks a compressed index's candidates)."""
    import faiss

    faiss.omp_set_num_threads(faiss_threads())  # a query may have left it at one
    chosen = choose_index_type(index_type, len(vectors))
    vectors = np.ascontiguousarray(vectors, dtype=np.float32)
    dimension = vectors.shape[1]
    index: Any
    params: dict[str, Any]
    if chosen == "flat":
        index = faiss.IndexFlatIP(dimension)
        params = {"type": "IndexFlatIP"}
    else:
        if chosen == "hnsw":
            index = faiss.IndexHNSWFlat(dimension, HNSW_M, faiss.METRIC_INNER_PRODUCT)
            params = {"type": "IndexHNSWFlat"}
        else:
            eight_bit: Any = faiss.ScalarQuantizer.QT_8bit  # the stubs type it as a quantizer
            index = faiss.IndexHNSWSQ(dimension, eight_bit, HNSW_M, faiss.METRIC_INNER_PRODUCT)
            params = {"type": "IndexHNSWSQ", "quantizer": "SQ8", "rerank": RERANK_VECTORS}
        index.hnsw.efConstruction = HNSW_EF_CONSTRUCTION
        index.hnsw.efSearch = HNSW_EF_SEARCH
        params.update(M=HNSW_M, efConstruction=HNSW_EF_CONSTRUCTION, efSearch=HNSW_EF_SEARCH)
    if len(vectors):
        if not index.is_trained:  # the 8-bit codes' value ranges, per dimension
            index.train(vectors)
        index.add(vectors)
    params.update(metric="inner_product", index_type=index_type)
    return index, params


def save(
    index_dir: Path,
    manifest: Manifest,
    documents: Sequence[Document],
    chunks: np.ndarray,
    search: FaissSearch | np.ndarray,
) -> Path:
    """Write a new generation folder, then make it the live one. Returns its path.

    ``search`` is the FAISS store's search files, or the chunk keys of a Milvus store.
    """

    index_dir.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%dT%H%M%S", time.gmtime())
    folder = index_dir / f"gen-{stamp}-{secrets.token_hex(3)}"
    folder.mkdir()
    try:
        with (folder / DOCUMENTS).open("w", encoding="utf-8") as handle:
            for document in documents:
                handle.write(json.dumps(_document_record(document), ensure_ascii=False) + "\n")
        np.save(folder / CHUNKS, np.asarray(chunks, dtype=np.int64), allow_pickle=False)
        if isinstance(search, FaissSearch):
            _save_faiss_search(folder, search)
        else:
            np.save(folder / KEYS, np.asarray(search, dtype=np.int64), allow_pickle=False)
        manifest_file.write(manifest.with_files(_checksums(folder)), folder)
        _fsync_tree(folder)
        pointer = index_dir / f"{CURRENT}.{secrets.token_hex(3)}.tmp"
        pointer.write_text(folder.name + "\n", encoding="utf-8")
        os.replace(pointer, index_dir / CURRENT)
        _fsync_dir(index_dir)
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    _remove_old_generations(index_dir, keep=folder.name)
    return folder


@contextmanager
def build_lock(index_dir: Path) -> Iterator[None]:
    """Hold the index folder's build lock: builds of one folder, from any process, take turns.

    Without it, one build's clean-up could remove the generation another is still writing.
    """
    import fcntl

    index_dir.mkdir(parents=True, exist_ok=True)
    with (index_dir / LOCK).open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _save_faiss_search(folder: Path, search: FaissSearch) -> None:
    import faiss

    faiss.write_index(search.faiss_index, str(folder / VECTORS))
    if search.vectors is not None:
        np.save(folder / RERANK_VECTORS, np.asarray(search.vectors, np.float32), allow_pickle=False)
    search.bm25.save(str(folder / BM25_DIR), show_progress=False)
    search.tokenizer.save_vocab(str(folder / BM25_DIR))
    search.tokenizer.save_stopwords(str(folder / BM25_DIR))


def load(index_dir: Path, *, verify: bool = True) -> Stored:
    """Load the live index of ``index_dir``, checking every file against the manifest."""
    folder = live_folder(index_dir)  # once: every file below comes from this generation
    manifest = None if folder is None else manifest_file.read(folder)
    if manifest is None or folder is None:
        raise IndexNotFoundError(
            f"No index in {index_dir}; build one with 'qa build' (or qa.build_index())."
        )
    if verify:
        _verify(folder, manifest)
    documents = _read_documents(folder)
    try:
        chunks = np.load(folder / CHUNKS, allow_pickle=False)
        keys = np.load(folder / KEYS, allow_pickle=False) if (folder / KEYS).is_file() else None
        faiss_search = _load_faiss_search(folder, manifest) if keys is None else None
    except (OSError, ValueError, KeyError, RuntimeError) as error:
        raise IndexCorruptError(
            f"The index in {folder} cannot be read ({type(error).__name__}: {error}); "
            "rebuild it with 'qa build'."
        ) from error
    _check_shapes(folder, manifest, documents, chunks)
    search: ChunkSearch
    if keys is None:
        assert faiss_search is not None
        _check_faiss(folder, manifest, chunks, faiss_search)
        search = faiss_search
    else:
        from qa import milvus

        refine_k = int(manifest.index.get("refine_k", 0))
        search = milvus.open_search(manifest.store, index_dir, keys, manifest.model, refine_k)
    return Stored(folder, manifest, documents, chunks, search)


def _load_faiss_search(folder: Path, manifest: Manifest) -> FaissSearch:
    import bm25s
    import faiss

    faiss_index: Any = faiss.read_index(str(folder / VECTORS))
    if "efSearch" in manifest.index:
        faiss_index.hnsw.efSearch = int(manifest.index["efSearch"])
    vectors = None
    if "rerank" in manifest.index:  # read from disk as queries need them, never all loaded
        vectors = np.load(folder / str(manifest.index["rerank"]), mmap_mode="r")
        with contextlib.suppress(AttributeError, OSError, ValueError):  # a few rows a query:
            vectors._mmap.madvise(mmap.MADV_RANDOM)  # no read-ahead of the rows around them
    bm25 = bm25s.BM25.load(str(folder / BM25_DIR), mmap=True)
    tokenizer = bm25_tokenizer()
    tokenizer.load_vocab(str(folder / BM25_DIR))
    tokenizer.load_stopwords(str(folder / BM25_DIR))
    return FaissSearch(faiss_index, bm25, tokenizer, vectors)


def _check_shapes(
    folder: Path, manifest: Manifest, documents: list[Document], chunks: np.ndarray
) -> None:
    counts = manifest.counts
    problems = []
    if len(documents) != counts.documents:
        problems.append(f"{len(documents)} documents, manifest says {counts.documents}")
    if chunks.ndim != 2 or chunks.shape[1] != 3 or len(chunks) != counts.chunks:
        problems.append(f"chunk table of shape {chunks.shape}")
    _inconsistent(folder, problems)
    if len(chunks) and (chunks[:, 0].max() >= len(documents) or chunks[:, 2].min() < 0):
        raise IndexCorruptError(f"The chunk table in {folder} is corrupt; rebuild with 'qa build'.")


def _check_faiss(folder: Path, manifest: Manifest, chunks: np.ndarray, search: FaissSearch) -> None:
    faiss_index = search.faiss_index
    dimension = manifest.model.dimension
    if faiss_index.ntotal != len(chunks) or faiss_index.d != dimension:
        _inconsistent(folder, [f"FAISS index of {faiss_index.ntotal} x {faiss_index.d}"])
    if search.vectors is not None and search.vectors.shape != (len(chunks), dimension):
        _inconsistent(folder, [f"{RERANK_VECTORS} of shape {search.vectors.shape}"])


def _inconsistent(folder: Path, problems: list[str]) -> None:
    if problems:
        raise IndexCorruptError(
            f"The index in {folder} is inconsistent ({'; '.join(problems)}); rebuild it with "
            "'qa build'."
        )


def _checksums(folder: Path) -> dict[str, dict[str, Any]]:
    files = {}
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        files[path.relative_to(folder).as_posix()] = {
            "bytes": path.stat().st_size,
            "sha256": file_hash(path),
        }
    return files


def _verify(folder: Path, manifest: Manifest) -> None:
    for name, expected in manifest.files.items():
        path = folder / name
        if not path.is_file():
            raise IndexCorruptError(f"{path} is missing; rebuild the index with 'qa build'.")
        size = path.stat().st_size
        if size != expected["bytes"]:
            raise IndexCorruptError(
                f"{path} has {size} bytes, the manifest says {expected['bytes']} (truncated or "
                "changed); rebuild the index with 'qa build'."
            )
        if size <= FULL_CHECK_BYTES and file_hash(path) != expected["sha256"]:
            raise IndexCorruptError(
                f"{path} does not match its checksum (corrupted); rebuild the index with "
                "'qa build'."
            )


def _fsync_tree(folder: Path) -> None:
    for path in folder.rglob("*"):
        if path.is_file():
            with path.open("rb") as handle:
                os.fsync(handle.fileno())


def _fsync_dir(folder: Path) -> None:
    descriptor = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def _remove_old_generations(index_dir: Path, keep: str) -> None:
    for path in index_dir.iterdir():
        stale_pointer = path.name.startswith(f"{CURRENT}.") and path.name.endswith(".tmp")
        if (path.is_dir() and path.name.startswith("gen-") and path.name != keep) or stale_pointer:
            if path.is_dir():
                shutil.rmtree(path, ignore_errors=True)
            else:
                path.unlink(missing_ok=True)


def _document_record(document: Document) -> dict[str, Any]:
    return {
        "id": document.id,
        "title": document.title,
        "source": document.source,
        "metadata": document.metadata,
        "text": document.text,
        "sections": [list(section) for section in document.sections],
        "pages": list(document.pages),
    }


def _document_from_record(record: dict[str, Any]) -> Document:
    return Document(
        id=record["id"],
        title=record["title"],
        text=record["text"],
        metadata=record.get("metadata") or {},
        source=record.get("source", ""),
        sections=tuple((int(start), str(title)) for start, title in record.get("sections", [])),
        pages=tuple(int(page) for page in record.get("pages", [])),
    )
