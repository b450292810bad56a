"""Metadata filters: ``where={"field": value}`` as the documents, and so the chunks, it allows.

A filter maps fields to a wanted value (equality) or a list of them (one of). Every pair must
hold. The fields are ``id`` (or ``doc_id``), ``title``, ``path`` (the file, relative to the
corpus folder) and every metadata key the corpus has (Markdown front matter, a JSONL record's
``metadata``, a PDF's properties). A document whose value is a list matches when any of its
items is wanted (``tags: [a, b]`` matches ``{"tags": "a"}``); a document without the field does
not match.

``compile_filter`` turns a filter into an ``Allowed``: the allowed chunk rows (for the FAISS
store, which searches only those) and the allowed document ids (for Milvus, a filter
expression). Every store filters before it ranks, so ``k`` results come back when ``k`` chunks
match.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from qa.types import Document

#: The fields every document has, whatever its format.
BUILT_IN = ("id", "doc_id", "title", "path")
_SCALARS = (str, int, float, bool)

Where = Mapping[str, Any]


@dataclass(frozen=True)
class Allowed:
    """What a filter lets through: ``chunks`` a bool per chunk row, ``doc_ids`` the documents."""

    chunks: np.ndarray
    doc_ids: tuple[str, ...]

    @property
    def count(self) -> int:
        """How many chunks the filter allows."""
        return int(self.chunks.sum())


def known_fields(documents: Iterable[Document]) -> list[str]:
    """The fields a filter over ``documents`` may name: the built-in ones, then metadata keys."""
    keys: set[str] = set()
    for document in documents:
        keys.update(document.metadata)
    return list(BUILT_IN) + sorted(keys - set(BUILT_IN))


def compile_filter(where: Where, documents: Sequence[Document], chunks: np.ndarray) -> Allowed:
    """The documents and chunk rows (``chunks``: the (n, 3) table, document row first) that
    ``where`` allows. Raises ``ValueError`` naming the known fields for an unknown field, and
    for a value that is not a string, number, bool or a list of them."""
    wanted = _check(where, documents)
    rows = np.fromiter(
        (all(_matches(value_of(d, field), values) for field, values in wanted.items())
         for d in documents),
        dtype=bool,
        count=len(documents),
    )  # fmt: skip
    allowed_chunks = rows[chunks[:, 0]] if len(chunks) else np.zeros(0, dtype=bool)
    return Allowed(allowed_chunks, tuple(d.id for d, ok in zip(documents, rows) if ok))


def value_of(document: Document, field: str) -> Any:
    """The value of ``field`` for ``document``, or None when it has none."""
    if field in ("id", "doc_id"):
        return document.id
    if field == "title":
        return document.title
    if field == "path":
        return document_path(document)
    return document.metadata.get(field)


def document_path(document: Document) -> str:
    """The corpus file a document came from (a JSONL record's source is ``file:line``)."""
    path, _, line = document.source.rpartition(":")
    return path if path.lower().endswith(".jsonl") and line.isdigit() else document.source


def _check(where: Where, documents: Sequence[Document]) -> dict[str, list[Any]]:
    if not isinstance(where, Mapping):
        raise TypeError(
            f"where must be a dict of field: value, e.g. {{'title': 'Report'}}; got {where!r}"
        )
    fields = known_fields(documents)
    unknown = sorted(str(field) for field in where if field not in fields)
    if unknown:
        raise ValueError(
            f"Unknown filter field{'s' if len(unknown) > 1 else ''} {', '.join(unknown)}; "
            f"the documents have: {', '.join(fields)}"
        )
    wanted: dict[str, list[Any]] = {}
    for field, value in where.items():
        values = list(value) if isinstance(value, (list, tuple, set, frozenset)) else [value]
        if not all(isinstance(v, _SCALARS) for v in values):
            raise ValueError(
                f"where[{field!r}] must be a string, number or bool, or a list of them "
                f"(one of); got {value!r}"
            )
        wanted[field] = values
    return wanted


def _matches(value: Any, wanted: list[Any]) -> bool:
    if isinstance(value, list):
        return any(_matches(item, wanted) for item in value)
    return value is not None and any(_equal(value, w) for w in wanted)


def _equal(value: Any, wanted: Any) -> bool:
    """Equality that keeps bools apart from numbers (``True`` is not ``1``)."""
    return isinstance(value, bool) == isinstance(wanted, bool) and value == wanted
