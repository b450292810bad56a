"""The Milvus store's build side: the collection's schema and index, and its writes.

``open_for_build`` creates the collection (key, doc, text, terms, vector, and the sparse vector of
Milvus's BM25 function over the terms) or checks the one there against the model; ``Collection``
inserts the chunks it lacks and deletes the ones no generation uses. See ``qa.milvus`` for the
store.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from qa.errors import IndexMismatchError, QAError
from qa.manifest import StoreInfo
from qa.milvus import (
    DOC_FIELD,
    HNSW_EF,
    check_model,
    connect,
    is_remote,
    raise_store_error,
    resolve,
)
from qa.retrieval import BM25_PARAMS, RERANK_FACTOR, keyword_terms
from qa.store import HNSW_EF_CONSTRUCTION, HNSW_M, choose_index_type

logger = logging.getLogger(__name__)

HNSW = {"M": HNSW_M, "efConstruction": HNSW_EF_CONSTRUCTION}
# qa's index types (``qa.store.INDEX_TYPES``) as Milvus's: "hnsw-sq8" is HNSW over 8-bit codes
# whose candidates are ranked again on the float32 vectors, RERANK_FACTOR times k of them.
MILVUS_INDEX = {"flat": "FLAT", "hnsw": "HNSW", "hnsw-sq8": "HNSW_SQ"}
SQ8 = {"sq_type": "SQ8", "refine": True, "refine_type": "FP32"}
INSERT_BATCH = 1_000
MAX_TEXT_BYTES = 65_535  # Milvus's VARCHAR limit; a chunk is far shorter
BM25 = {"bm25_k1": BM25_PARAMS["k1"], "bm25_b": BM25_PARAMS["b"]}
# The terms field's analyzer. Its text is already qa's keyword terms (``retrieval.keyword_terms``:
# lower case, stop words out, stemmed, space-separated), so splitting on word boundaries is all
# that is left, and Milvus Lite and a Milvus server split them alike.
ANALYZER = {"tokenizer": "standard"}


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

    def upsert(
        self, keys: np.ndarray, doc_ids: Sequence[str], texts: Sequence[str], vectors: np.ndarray
    ) -> None:
        """Write these chunks (by key) with their document ids and keyword terms, then flush
        them to storage."""
        from tqdm.auto import tqdm

        with tqdm(total=len(keys), desc="Writing to Milvus", unit="chunk", disable=None) as bar:
            for first in range(0, len(keys), INSERT_BATCH):
                batch = slice(first, first + INSERT_BATCH)
                rows = [
                    {"key": int(key), DOC_FIELD: doc, "text": text, "terms": terms,
                     "vector": vector.tolist()}
                    for key, doc, text, terms, vector in zip(
                        keys[batch], doc_ids[batch], texts[batch], keyword_terms(texts[batch]),
                        vectors[batch],
                    )
                ]  # fmt: skip
                self.client.upsert(self.name, rows)
                bar.update(len(rows))
        self._flush()

    def _flush(self) -> None:
        """Persist what was written, and load it again: Milvus Lite searches rows written since
        the last load without their index (at 100k chunks, 130-550 ms a query against 50 ms)."""
        self.client.flush(self.name)
        self.client.release_collection(self.name)
        self.client.load_collection(self.name)

    def keep_only(self, keys: np.ndarray) -> None:
        """Delete every chunk whose key is not in ``keys``."""
        stale = np.setdiff1d(self.existing_keys(), keys)
        for first in range(0, len(stale), INSERT_BATCH):
            self.client.delete(self.name, ids=[int(k) for k in stale[first : first + INSERT_BATCH]])
        if len(stale):
            self._flush()
            logger.info("Deleted %d chunks no index uses from %s", len(stale), self.name)


def open_for_build(
    target: StoreInfo, index_dir: Path, encoder: Any, chunks: int, index_type: str
) -> Collection:
    """The build's collection: created when missing, checked against the model when not; its
    dense index is the one ``index_type`` (see ``qa.store.INDEX_TYPES``) gives ``chunks``."""
    uri = resolve(target, index_dir)
    if not is_remote(uri):
        Path(uri).parent.mkdir(parents=True, exist_ok=True)
    client = connect(uri)
    name = str(target.collection)
    model = {"qa.model": encoder.name, "qa.dimension": str(encoder.dimension)}
    wanted = _dense_index(chunks, index_type)
    try:
        if client.has_collection(name):
            if DOC_FIELD not in check_model(client, name, uri, encoder.name, encoder.dimension):
                raise IndexMismatchError(
                    f"The collection {name!r} at {uri} has no '{DOC_FIELD}' field: an earlier "
                    "version of qa built it. Build into another collection (collection=, "
                    "--collection) or drop this one."
                )
            _set_dense_index(client, name, wanted)
        else:
            _create(client, name, encoder.dimension, wanted, model)
        client.load_collection(name)
    except QAError:
        raise
    except Exception as error:
        raise_store_error(error, uri)
    params = {"type": wanted["index_type"], "metric": "inner_product", "collection": name}
    if wanted["index_type"] != "FLAT":
        params.update(wanted["params"], efSearch=HNSW_EF)
    if "refine" in wanted["params"]:
        params["refine_k"] = RERANK_FACTOR
    params["index_type"] = index_type
    return Collection(client, name, params)


def _create(client: Any, name: str, dimension: int, dense: dict[str, Any],
            model: dict[str, str]) -> None:  # fmt: skip
    from pymilvus import DataType, Function, FunctionType

    schema = client.create_schema(auto_id=False)
    schema.add_field("key", DataType.INT64, is_primary=True)
    schema.add_field(DOC_FIELD, DataType.VARCHAR, max_length=MAX_TEXT_BYTES)
    schema.add_field("text", DataType.VARCHAR, max_length=MAX_TEXT_BYTES)
    schema.add_field(
        "terms",
        DataType.VARCHAR,
        max_length=MAX_TEXT_BYTES,
        enable_analyzer=True,
        analyzer_params=ANALYZER,
    )
    schema.add_field("vector", DataType.FLOAT_VECTOR, dim=dimension)
    schema.add_field("sparse", DataType.SPARSE_FLOAT_VECTOR)
    schema.add_function(
        Function(
            name="text_bm25",
            function_type=FunctionType.BM25,
            input_field_names=["terms"],
            output_field_names=["sparse"],
        )
    )
    index_params = client.prepare_index_params()
    index_params.add_index("vector", **dense)
    index_params.add_index(
        "sparse", index_type="SPARSE_INVERTED_INDEX", metric_type="BM25", params=BM25
    )
    client.create_collection(name, schema=schema, index_params=index_params, properties=model)


def _dense_index(chunks: int, index_type: str) -> dict[str, Any]:
    chosen = choose_index_type(index_type, chunks)
    params = {} if chosen == "flat" else {**HNSW, **(SQ8 if chosen == "hnsw-sq8" else {})}
    return {"index_type": MILVUS_INDEX[chosen], "metric_type": "IP", "params": params}


def _set_dense_index(client: Any, name: str, wanted: dict[str, Any]) -> None:
    """Rebuild the dense index when the type changed since the last build (asked for, or the
    corpus crossed ``qa.store.HNSW_THRESHOLD``)."""
    current = client.describe_index(name, "vector") or {}
    if current.get("index_type") == wanted["index_type"]:
        return
    client.release_collection(name)
    client.drop_index(name, "vector")
    index_params = client.prepare_index_params()
    index_params.add_index("vector", **wanted)
    client.create_index(name, index_params)


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
