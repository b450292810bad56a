"""The Milvus store: chunk vectors and BM25 keyword search in a Milvus collection.

Install with ``pip install 'qa[milvus]'`` (pymilvus and milvus-lite). Without a URI the store is
a Milvus Lite file, ``milvus.db``, inside the index folder; with ``http://host:19530`` it is a
Milvus server or cluster, through the same client API. A token comes from ``MILVUS_TOKEN``,
never from the manifest or the logs.

The collection holds one row per chunk: its key (primary), its text, its vector, and the sparse
BM25 vector Milvus's own BM25 function makes from the text. The index folder keeps the rest, as
for the FAISS store: documents, the chunk table, and ``keys.npy`` (row i's chunk key).

A chunk key is content-addressed (document id, offsets and text), so a build only inserts the
chunks the collection lacks and deletes, after the new generation is live, the ones no
generation uses any more. Until then a search skips keys the loaded generation does not know:
a build that fails midway leaves the collection the manifest names loadable, and as it was.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import numpy as np

from qa.errors import (
    IndexCorruptError,
    IndexMismatchError,
    IndexNotFoundError,
    MissingDependencyError,
    QAError,
    StoreUnavailableError,
)
from qa.retrieval import Hits

logger = logging.getLogger(__name__)

LITE_FILE = "milvus.db"
COLLECTION = "qa_chunks"
TOKEN_ENV = "MILVUS_TOKEN"
TIMEOUT_SECONDS = 10.0
# At and above this many chunks the dense index is HNSW, below it FLAT (exact), as for FAISS.
HNSW_THRESHOLD = 20_000
HNSW = {"M": 32, "efConstruction": 80}
HNSW_EF = 128
MAX_TOP_K = 16_384  # Milvus's limit on a search's top k
INSERT_BATCH = 1_000
MAX_TEXT_BYTES = 65_535  # Milvus's VARCHAR limit; a chunk is far shorter
BM25 = {"bm25_k1": 1.5, "bm25_b": 0.75}
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,254}")
_REMOTE = ("http://", "https://", "tcp://", "grpc://", "unix:")


def target(uri: str | None, collection: str | None) -> dict[str, Any]:
    """The manifest's "store" entry: the URI without secrets, and the collection."""
    name = collection or COLLECTION
    if not _NAME.fullmatch(name):
        raise ValueError(
            f"{name!r} is not a Milvus collection name: use letters, digits and underscores, "
            "starting with a letter or underscore"
        )
    if uri is None:
        shown = LITE_FILE  # inside the index folder
    elif uri.startswith(_REMOTE):
        parts = urlsplit(uri)
        host = parts.hostname or ""
        netloc = f"{host}:{parts.port}" if parts.port else host
        shown = urlunsplit((parts.scheme, netloc, parts.path, "", ""))
    else:
        shown = str(Path(uri).expanduser().resolve())
    return {"kind": "milvus", "uri": shown, "collection": name}


def chunk_keys(
    documents: Sequence[Any], chunk_table: np.ndarray, texts: Sequence[str]
) -> np.ndarray:
    """Each chunk's key: 63 bits of a hash of its document id, offsets and text."""
    keys = np.empty(len(texts), dtype=np.int64)
    for i, ((row, start, end), text) in enumerate(zip(chunk_table, texts)):
        digest = hashlib.blake2b(
            f"{documents[row].id}\0{start}\0{end}\0{text}".encode(), digest_size=8
        ).digest()
        keys[i] = int.from_bytes(digest, "big") >> 1
    return keys


@dataclass
class Collection:
    """The collection a build writes to."""

    client: Any
    name: str
    params: dict[str, Any]

    def existing_keys(self) -> np.ndarray:
        """Every key in the collection."""
        found: list[int] = []
        with _quiet("pymilvus", "grpc._server"):  # Milvus Lite lacks a timestamp call: noise
            iterator = self.client.query_iterator(
                self.name, batch_size=16_384, filter="", output_fields=["key"]
            )
            try:
                while batch := iterator.next():
                    found.extend(row["key"] for row in batch)
            finally:
                iterator.close()
        return np.asarray(found, dtype=np.int64)

    def contains(self, keys: np.ndarray) -> np.ndarray:
        """Which of ``keys`` the collection holds already."""
        return np.isin(keys, self.existing_keys())

    def upsert(self, keys: np.ndarray, texts: Sequence[str], vectors: np.ndarray) -> None:
        """Write these chunks (by key), then flush them to storage."""
        from tqdm.auto import tqdm

        with tqdm(total=len(keys), desc="Writing to Milvus", unit="chunk", disable=None) as bar:
            for first in range(0, len(keys), INSERT_BATCH):
                rows = [
                    {"key": int(key), "text": text, "vector": vector.tolist()}
                    for key, text, vector in zip(
                        keys[first : first + INSERT_BATCH],
                        texts[first : first + INSERT_BATCH],
                        vectors[first : first + INSERT_BATCH],
                    )
                ]
                self.client.upsert(self.name, rows)
                bar.update(len(rows))
        self.client.flush(self.name)

    def keep_only(self, keys: np.ndarray) -> None:
        """Delete every chunk whose key is not in ``keys``."""
        stale = np.setdiff1d(self.existing_keys(), keys)
        for first in range(0, len(stale), INSERT_BATCH):
            self.client.delete(self.name, ids=[int(k) for k in stale[first : first + INSERT_BATCH]])
        if len(stale):
            self.client.flush(self.name)
            logger.info("Deleted %d chunks no index uses from %s", len(stale), self.name)


def open_for_build(
    target: dict[str, Any], index_dir: Path, encoder: Any, chunks: int
) -> Collection:
    """The build's collection: created when missing, checked against the model when not."""
    uri = _resolve(target["uri"], index_dir)
    if not _is_remote(uri):
        Path(uri).parent.mkdir(parents=True, exist_ok=True)
    client = _connect(uri)
    name = target["collection"]
    model = {"qa.model": encoder.name, "qa.dimension": str(encoder.dimension)}
    wanted = _dense_index(chunks)
    try:
        if client.has_collection(name):
            _check_model(client, name, uri, encoder.name, encoder.dimension)
            _set_dense_index(client, name, wanted)
        else:
            _create(client, name, encoder.dimension, wanted, model)
        client.load_collection(name)
    except QAError:
        raise
    except Exception as error:
        _raise_store_error(error, uri)
    params = {"type": wanted["index_type"], "metric": "inner_product", "collection": name}
    if wanted["index_type"] == "HNSW":
        params.update(HNSW, efSearch=HNSW_EF)
    return Collection(client, name, params)


def open_search(
    target: dict[str, Any], index_dir: Path, keys: np.ndarray, model: dict[str, Any]
) -> MilvusSearch:
    """The search of a Milvus store an index folder names."""
    uri = _resolve(target["uri"], index_dir)
    if not _is_remote(uri) and not Path(uri).exists():
        raise IndexNotFoundError(
            f"The Milvus Lite file {uri} of the index in {index_dir} is missing; rebuild with "
            f"'qa build --index {index_dir} --store milvus'."
        )
    client = _connect(uri)
    name = target["collection"]
    try:
        if not client.has_collection(name):
            raise IndexNotFoundError(
                f"Milvus at {target['uri']} has no collection {name!r}, which the index in "
                f"{index_dir} names; rebuild with 'qa build --index {index_dir} --store milvus'."
            )
        _check_model(client, name, target["uri"], model["name"], int(model["dimension"]))
        client.load_collection(name)
        rows = int(client.get_collection_stats(name).get("row_count", 0))
    except QAError:
        raise
    except Exception as error:
        _raise_store_error(error, uri)
    return MilvusSearch(client, name, keys, extra=max(0, rows - len(keys)))


@dataclass
class MilvusSearch:
    """Dense and BM25 search inside Milvus, as chunk rows of the loaded generation."""

    client: Any
    name: str
    keys: np.ndarray
    #: Rows in the collection that this generation does not use (a newer or failed build's).
    extra: int = 0
    _order: np.ndarray = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._order = np.argsort(self.keys, kind="stable")

    def dense(self, vectors: np.ndarray, k: int) -> list[Hits]:
        params = {"metric_type": "IP", "params": {"ef": max(HNSW_EF, k + self.extra)}}
        data = [v.tolist() for v in np.asarray(vectors, dtype=np.float32)]
        return self._search(data, "vector", params, k)

    def keyword(self, questions: Sequence[str], k: int) -> list[Hits]:
        return self._search(list(questions), "sparse", {"metric_type": "BM25"}, k)

    def _search(self, data: list[Any], field: str, params: dict[str, Any], k: int) -> list[Hits]:
        limit = min(k + self.extra, len(self.keys) + self.extra, MAX_TOP_K)
        if limit <= 0 or not data:
            return [[] for _ in data]
        found = self.client.search(
            self.name,
            data=data,
            anns_field=field,
            limit=limit,
            output_fields=["key"],
            search_params=params,
        )
        return [self._rows(hits, k) for hits in found]

    def _rows(self, hits: Any, k: int) -> Hits:
        """Chunk rows of ``hits`` this generation knows, best first. Milvus Lite gives BM25 as
        a negated distance, a server as a positive score: the size is the score either way."""
        keys = np.asarray([hit["key"] for hit in hits], dtype=np.int64)
        sorted_keys = self.keys[self._order]
        at = np.minimum(np.searchsorted(sorted_keys, keys), max(len(sorted_keys) - 1, 0))
        known = (sorted_keys[at] == keys) if len(sorted_keys) else np.zeros(len(keys), bool)
        rows = self._order[at]
        return [
            (int(row), abs(float(hit["distance"]))) for row, hit, ok in zip(rows, hits, known) if ok
        ][:k]


def _create(client: Any, name: str, dimension: int, dense: dict[str, Any],
            model: dict[str, str]) -> None:  # fmt: skip
    from pymilvus import DataType, Function, FunctionType

    schema = client.create_schema(auto_id=False)
    schema.add_field("key", DataType.INT64, is_primary=True)
    schema.add_field(
        "text",
        DataType.VARCHAR,
        max_length=MAX_TEXT_BYTES,
        enable_analyzer=True,
        analyzer_params=analyzer(),
    )
    schema.add_field("vector", DataType.FLOAT_VECTOR, dim=dimension)
    schema.add_field("sparse", DataType.SPARSE_FLOAT_VECTOR)
    schema.add_function(
        Function(
            name="text_bm25",
            function_type=FunctionType.BM25,
            input_field_names=["text"],
            output_field_names=["sparse"],
        )
    )
    index_params = client.prepare_index_params()
    index_params.add_index("vector", **dense)
    index_params.add_index(
        "sparse", index_type="SPARSE_INVERTED_INDEX", metric_type="BM25", params=BM25
    )
    client.create_collection(name, schema=schema, index_params=index_params, properties=model)


def analyzer() -> dict[str, Any]:
    """The text field's analyzer: standard tokenizer, lower case, bm25s's English stop words
    (as the FAISS store's keyword index), English stemmer. Milvus Lite applies all but the
    stemmer; a Milvus server applies all."""
    from bm25s.stopwords import STOPWORDS_EN

    return {
        "tokenizer": "standard",
        "filter": [
            "lowercase",
            {"type": "stop", "stop_words": list(STOPWORDS_EN)},
            {"type": "stemmer", "language": "english"},
        ],
    }


def _dense_index(chunks: int) -> dict[str, Any]:
    if chunks >= HNSW_THRESHOLD:
        return {"index_type": "HNSW", "metric_type": "IP", "params": dict(HNSW)}
    return {"index_type": "FLAT", "metric_type": "IP", "params": {}}


def _set_dense_index(client: Any, name: str, wanted: dict[str, Any]) -> None:
    """Rebuild the dense index when the corpus crossed HNSW_THRESHOLD since the last build."""
    current = client.describe_index(name, "vector") or {}
    if current.get("index_type") == wanted["index_type"]:
        return
    client.release_collection(name)
    client.drop_index(name, "vector")
    index_params = client.prepare_index_params()
    index_params.add_index("vector", **wanted)
    client.create_index(name, index_params)


def _check_model(client: Any, name: str, uri: str, model: str, dimension: int) -> None:
    described = client.describe_collection(name)
    dims = [
        int(f.get("params", {}).get("dim", 0))
        for f in described.get("fields", [])
        if f.get("name") == "vector"
    ]
    properties = described.get("properties", {}) or {}
    theirs = properties.get("qa.model")
    if dims != [dimension] or (theirs is not None and theirs != model):
        raise IndexMismatchError(
            f"The collection {name!r} at {uri} holds vectors of model {theirs!r} with dimension "
            f"{dims[0] if dims else '?'}, not {model!r} with dimension {dimension}. Build into "
            "another collection (collection=, --collection) or drop this one."
        )


def _resolve(uri: str, index_dir: Path) -> str:
    """A manifest URI made usable: a Milvus Lite file name is relative to the index folder."""
    return uri if _is_remote(uri) else str(index_dir / uri)


def _is_remote(uri: str) -> bool:
    return uri.startswith(_REMOTE)


_clients: dict[str, Any] = {}
_clients_lock = threading.Lock()


def _connect(uri: str) -> Any:
    """One client per URI and process (Milvus Lite runs one engine per file)."""
    try:
        from pymilvus import MilvusClient
    except ImportError as error:
        raise MissingDependencyError(
            "The Milvus store needs pymilvus and milvus-lite: pip install 'qa[milvus]'"
        ) from error
    with _clients_lock:
        if uri not in _clients:
            token = os.environ.get(TOKEN_ENV, "")
            try:
                _clients[uri] = MilvusClient(uri=uri, token=token, timeout=TIMEOUT_SECONDS)
            except Exception as error:
                _raise_store_error(error, uri)
        return _clients[uri]


def _raise_store_error(error: Exception, uri: str) -> Any:
    if _is_remote(uri):
        shown = target(uri, None)["uri"]
        raise StoreUnavailableError(
            f"Milvus at {shown} is not reachable ({type(error).__name__}: {_first_line(error)}). "
            f"Check the URI, that the server runs, and {TOKEN_ENV} if it needs a token."
        ) from error
    raise IndexCorruptError(
        f"The Milvus Lite file {uri} cannot be opened ({type(error).__name__}: "
        f"{_first_line(error)}); rebuild the index with 'qa build --store milvus'."
    ) from error


@contextmanager
def _quiet(*names: str) -> Iterator[None]:
    """Silence these loggers below CRITICAL for the block."""
    loggers = [logging.getLogger(name) for name in names]
    levels = [each.level for each in loggers]
    for each in loggers:
        each.setLevel(logging.CRITICAL)
    try:
        yield
    finally:
        for each, level in zip(loggers, levels):
            each.setLevel(level)


def _first_line(error: Exception) -> str:
    return str(error).strip().splitlines()[0][:300] if str(error).strip() else ""
