"""The Milvus store: chunk vectors and BM25 keyword search in a Milvus collection.

Install with ``pip install 'qa[milvus]'`` (pymilvus and milvus-lite). Without a URI the store is
a Milvus Lite file, ``milvus.db``, inside the index folder; with ``http://host:19530`` it is a
Milvus server or cluster, through the same client API. A token comes from ``MILVUS_TOKEN``,
never from the manifest or the logs.

The collection holds one row per chunk: its key (primary), its document's id (what a metadata
filter selects on: ``where=`` becomes ``doc in [...]``), its text, its keyword terms, its
vector, and the sparse BM25 vector Milvus's own BM25 function makes from the terms. The terms
are the text as qa's keyword search reads it (``qa.retrieval.keyword_terms``: lower case, stop
words out, stemmed), and a question is searched by its terms too, so Milvus scores the words
the FAISS store's bm25s index scores. The index folder keeps the rest, as for the FAISS store:
documents, the chunk table, and ``keys.npy`` (row i's chunk key).

A chunk key is content-addressed (document id, offsets and text), so a build only inserts the
chunks the collection lacks and deletes, after the new generation is live, the ones no
generation uses any more (``qa.milvus_build``). Until then a search skips keys the loaded
generation does not know: a build that fails midway leaves the collection the manifest names
loadable, and as it was. This module connects and searches.
"""

from __future__ import annotations

import json
import logging
import os
import re
import threading
from collections.abc import Sequence
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
from qa.filters import Allowed
from qa.manifest import ModelInfo, StoreInfo
from qa.retrieval import Hits, keyword_terms

logger = logging.getLogger(__name__)

LITE_FILE = "milvus.db"
COLLECTION = "qa_chunks"
TOKEN_ENV = "MILVUS_TOKEN"
TIMEOUT_SECONDS = 10.0
HNSW_EF = 128  # the HNSW search breadth, as the FAISS store's efSearch
MAX_TOP_K = 16_384  # Milvus's limit on a search's top k
DOC_FIELD = "doc"  # each row's document id
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,254}")
_REMOTE = ("http://", "https://", "tcp://", "grpc://", "unix:")


def target(uri: str | None, collection: str | None) -> StoreInfo:
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
    return StoreInfo(kind="milvus", uri=shown, collection=name)


def open_search(
    target: StoreInfo, index_dir: Path, keys: np.ndarray, model: ModelInfo, refine_k: int = 0
) -> MilvusSearch:
    """The search of a Milvus store an index folder names (``refine_k``: how many times k
    candidates a compressed index ranks again on the float32 vectors; 0 for none)."""
    uri = resolve(target, index_dir)
    if not is_remote(uri) and not Path(uri).exists():
        raise IndexNotFoundError(
            f"The Milvus Lite file {uri} of the index in {index_dir} is missing; rebuild with "
            f"'qa build --index {index_dir} --store milvus'."
        )
    client = connect(uri)
    name = str(target.collection)
    try:
        if not client.has_collection(name):
            raise IndexNotFoundError(
                f"Milvus at {target.uri} has no collection {name!r}, which the index in "
                f"{index_dir} names; rebuild with 'qa build --index {index_dir} --store milvus'."
            )
        fields = check_model(client, name, str(target.uri), model.name, model.dimension)
        client.load_collection(name)
        rows = int(client.get_collection_stats(name).get("row_count", 0))
    except QAError:
        raise
    except Exception as error:
        raise_store_error(error, uri)
    return MilvusSearch(
        client,
        name,
        keys,
        extra=max(0, rows - len(keys)),
        filterable=DOC_FIELD in fields,
        refine_k=refine_k,
    )


@dataclass
class MilvusSearch:
    """Dense and BM25 search inside Milvus, as chunk rows of the loaded generation."""

    client: Any
    name: str
    keys: np.ndarray
    #: Rows in the collection that this generation does not use (a newer or failed build's).
    extra: int = 0
    #: Whether the rows carry their document id (collections built before filters do not).
    filterable: bool = True
    #: A compressed (HNSW_SQ) index's re-rank depth, as a multiple of k; 0 for none.
    refine_k: int = 0
    _order: np.ndarray = field(init=False, repr=False)
    _sorted: np.ndarray = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._order = np.argsort(self.keys, kind="stable")
        self._sorted = self.keys[self._order]

    def dense(self, vectors: np.ndarray, k: int, allowed: Allowed | None = None) -> list[Hits]:
        search: dict[str, Any] = {"ef": max(HNSW_EF, k + self.extra)}
        if self.refine_k:
            search["refine_k"] = self.refine_k
        params = {"metric_type": "IP", "params": search}
        data = [v.tolist() for v in np.asarray(vectors, dtype=np.float32)]
        return self._search(data, "vector", params, k, allowed)

    def keyword(
        self, questions: Sequence[str], k: int, allowed: Allowed | None = None
    ) -> list[Hits]:
        terms = keyword_terms(questions)
        asked = [i for i, words in enumerate(terms) if words]  # a question of stop words only
        found = self._search(
            [terms[i] for i in asked], "sparse", {"metric_type": "BM25"}, k, allowed
        )
        hits: list[Hits] = [[] for _ in questions]
        for i, question_hits in zip(asked, found):
            hits[i] = question_hits
        return hits

    def _search(
        self,
        data: list[Any],
        field: str,
        params: dict[str, Any],
        k: int,
        allowed: Allowed | None,
    ) -> list[Hits]:
        rows = len(self.keys) if allowed is None else allowed.count
        limit = min(k + self.extra, rows + self.extra, MAX_TOP_K)
        if limit <= 0 or not data or rows == 0:
            return [[] for _ in data]
        found = self.client.search(
            self.name,
            data=data,
            anns_field=field,
            limit=limit,
            output_fields=["key"],
            search_params=params,
            filter=self._expression(allowed),
        )
        return [self._rows(hits, k) for hits in found]

    def _expression(self, allowed: Allowed | None) -> str:
        """Milvus's filter expression for ``allowed``: ``doc in [...]``, or "" for no filter."""
        if allowed is None:
            return ""
        if not self.filterable:
            raise IndexMismatchError(
                f"The Milvus collection {self.name!r} was built by an earlier version of qa, "
                "without document ids, so it cannot filter; rebuild it into a new collection "
                "('qa build --store milvus --collection NEW') to use where=."
            )
        return f"{DOC_FIELD} in [{', '.join(json.dumps(d) for d in allowed.doc_ids)}]"

    def _rows(self, hits: Any, k: int) -> Hits:
        """Chunk rows of ``hits`` this generation knows, best first. Milvus Lite gives BM25 as
        a negated distance, a server as a positive score: the size is the score either way."""
        keys = np.asarray([hit["key"] for hit in hits], dtype=np.int64)
        at = np.minimum(np.searchsorted(self._sorted, keys), max(len(self._sorted) - 1, 0))
        known = (self._sorted[at] == keys) if len(self._sorted) else np.zeros(len(keys), bool)
        rows = self._order[at]
        return [
            (int(row), abs(float(hit["distance"]))) for row, hit, ok in zip(rows, hits, known) if ok
        ][:k]


def check_model(client: Any, name: str, uri: str, model: str, dimension: int) -> set[str]:
    """Raise ``IndexMismatchError`` unless collection ``name`` holds this model's vectors, in
    a layout this version of qa reads; return the collection's field names."""
    described = client.describe_collection(name)
    fields = {f.get("name"): f for f in described.get("fields", [])}
    dims = [int(fields["vector"].get("params", {}).get("dim", 0))] if "vector" in fields else []
    theirs = (described.get("properties", {}) or {}).get("qa.model")
    if dims != [dimension] or (theirs is not None and theirs != model):
        raise IndexMismatchError(
            f"The collection {name!r} at {uri} holds vectors of model {theirs!r} with dimension "
            f"{dims[0] if dims else '?'}, not {model!r} with dimension {dimension}. Build into "
            "another collection (collection=, --collection) or drop this one."
        )
    if "terms" not in fields:
        raise IndexMismatchError(
            f"The collection {name!r} at {uri} has no 'terms' field: an earlier version of qa "
            "built it. Build into another collection (collection=, --collection) or drop this "
            "one."
        )
    return set(fields)


def resolve(target: StoreInfo, index_dir: Path) -> str:
    """A manifest URI made usable: a Milvus Lite file name is relative to the index folder."""
    uri = str(target.uri)
    return uri if is_remote(uri) else str(index_dir / uri)


def is_remote(uri: str) -> bool:
    return uri.startswith(_REMOTE)


_clients: dict[str, Any] = {}
_clients_lock = threading.Lock()


def connect(uri: str) -> Any:
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
                raise_store_error(error, uri)
        return _clients[uri]


def raise_store_error(error: Exception, uri: str) -> Any:
    if is_remote(uri):
        shown = target(uri, None).uri
        raise StoreUnavailableError(
            f"Milvus at {shown} is not reachable ({type(error).__name__}: {first_line(error)}). "
            f"Check the URI, that the server runs, and {TOKEN_ENV} if it needs a token."
        ) from error
    raise IndexCorruptError(
        f"The Milvus Lite file {uri} cannot be opened ({type(error).__name__}: "
        f"{first_line(error)}); rebuild the index with 'qa build --store milvus'."
    ) from error


def first_line(error: Exception) -> str:
    return str(error).strip().splitlines()[0][:300] if str(error).strip() else ""
