"""The index manifest: what a build made, typed, with one reader and one writer.

``manifest.json`` in each generation folder is ``Manifest.to_dict()``; ``read`` parses it back,
checking the schema version. A ``Manifest`` is also a read-only mapping of that JSON
(``index.manifest["counts"]["chunks"]``), for notebooks and reports; code uses the fields.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from qa.errors import IndexCorruptError, IndexMismatchError

#: The manifest's (and the index folder's) schema version: a reader of another one refuses it.
SCHEMA_VERSION = 1
FILE = "manifest.json"


@dataclass(frozen=True)
class ModelInfo:
    """The embedding model the vectors came from."""

    name: str
    dimension: int
    window: int


@dataclass(frozen=True)
class StoreInfo:
    """Where the vectors and the keyword index live: "faiss" (files in the generation folder)
    or "milvus" (a collection at ``uri``; a bare file name is relative to the index folder)."""

    kind: str = "faiss"
    uri: str | None = None
    collection: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {k: v for k, v in vars(self).items() if v is not None}


@dataclass(frozen=True)
class Counts:
    documents: int
    chunks: int


@dataclass(frozen=True)
class Embedded:
    """What one build embedded (the rest it reused), and where: "local" or "ray"."""

    documents: int
    chunks: int
    on: str = "local"


@dataclass(frozen=True)
class Edits:
    """Documents added and removed from Python (``qa.Index.add`` / ``remove``), by id.

    A build of the corpus keeps them: it leaves the removed ids out and keeps the added
    documents, except where a corpus file now gives a document of the same id (the file wins).
    """

    added: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()

    def changed(self, added: Sequence[str] = (), removed: Sequence[str] = ()) -> Edits:
        """These edits, then ``added`` added and ``removed`` removed."""
        gone, new = set(removed), set(added)
        return Edits(
            added=tuple(dict.fromkeys(i for i in (*self.added, *added) if i not in gone)),
            removed=tuple(dict.fromkeys(i for i in (*self.removed, *removed) if i not in new)),
        )

    def to_dict(self) -> dict[str, list[str]]:
        return {"added": list(self.added), "removed": list(self.removed)}


@dataclass(frozen=True, eq=False)  # equality is the mapping's: the same JSON
class Manifest(Mapping[str, Any]):
    """What a build made: versions, corpus hashes, model, chunking, store, counts, files, and
    the documents added or removed from Python since."""

    qa_version: str | None
    built_at: str
    build_seconds: float | None
    corpus: str
    corpus_files: dict[str, str]
    model: ModelInfo
    chunking: dict[str, Any]
    store: StoreInfo
    #: The store's index settings (FAISS index type, or the Milvus collection's).
    index: dict[str, Any]
    bm25: dict[str, Any]
    counts: Counts
    embedded: Embedded
    versions: dict[str, str | None]
    #: Every file of the generation folder: {path: {bytes, sha256}}; set when it is written.
    files: dict[str, dict[str, Any]] = field(default_factory=dict)
    format_version: int = SCHEMA_VERSION
    #: Documents added and removed from Python since the corpus was read.
    edits: Edits = Edits()

    def to_dict(self) -> dict[str, Any]:
        """The JSON of ``manifest.json``."""
        data = {
            "format_version": self.format_version,
            "qa_version": self.qa_version,
            "built_at": self.built_at,
            "build_seconds": self.build_seconds,
            "corpus": self.corpus,
            "corpus_files": self.corpus_files,
            "model": vars(self.model),
            "chunking": self.chunking,
            "store": self.store.to_dict(),
            self.store.kind: self.index,
            "bm25": self.bm25,
            "counts": vars(self.counts),
            "embedded": vars(self.embedded),
            "versions": self.versions,
            "edits": self.edits.to_dict(),
        }
        if self.files:
            data["files"] = self.files
        return json.loads(json.dumps(data))  # a deep copy: the manifest stays as it is

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Manifest:
        """Parse ``manifest.json``'s JSON; an index from before the Milvus store is a FAISS one."""
        store = StoreInfo(**data.get("store", {"kind": "faiss"}))
        counts, embedded = data["counts"], data["embedded"]
        return cls(
            qa_version=data.get("qa_version"),
            built_at=data["built_at"],
            build_seconds=data.get("build_seconds"),
            corpus=data["corpus"],
            corpus_files=dict(data["corpus_files"]),
            model=ModelInfo(**data["model"]),
            chunking=dict(data["chunking"]),
            store=store,
            index=dict(data.get(store.kind, {})),
            bm25=dict(data.get("bm25", {})),
            counts=Counts(counts["documents"], counts["chunks"]),
            embedded=Embedded(
                embedded["documents"], embedded["chunks"], embedded.get("on", "local")
            ),
            versions=dict(data.get("versions", {})),
            files=dict(data.get("files", {})),
            format_version=int(data["format_version"]),
            edits=Edits(**{k: tuple(v) for k, v in data.get("edits", {}).items()}),
        )

    def with_files(self, files: dict[str, dict[str, Any]]) -> Manifest:
        return replace(self, files=files)

    # A read-only mapping of the JSON.
    def __getitem__(self, key: str) -> Any:
        return self.to_dict()[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self.to_dict())

    def __len__(self) -> int:
        return len(self.to_dict())


def read(folder: Path) -> Manifest:
    """The manifest of the generation ``folder``."""
    path = folder / FILE
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise IndexCorruptError(
            f"Cannot read {path} ({error}); rebuild the index with 'qa build'."
        ) from error
    version = data.get("format_version") if isinstance(data, dict) else None
    if version != SCHEMA_VERSION:
        raise IndexMismatchError(
            f"The index in {folder.parent} has format version {version!r}; this qa reads "
            f"version {SCHEMA_VERSION}. Rebuild it with 'qa build'."
        )
    try:
        return Manifest.from_dict(data)
    except (KeyError, TypeError, ValueError) as error:
        raise IndexCorruptError(
            f"{path} lacks or mistypes {error}; rebuild the index with 'qa build'."
        ) from error


def write(manifest: Manifest, folder: Path) -> None:
    (folder / FILE).write_text(json.dumps(manifest.to_dict(), indent=2) + "\n", encoding="utf-8")
