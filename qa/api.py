"""The notebook API: module-level functions over the default (or a given) index."""

from __future__ import annotations

import logging
import os
import re
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

from qa import store
from qa.answer import DEFAULT_READER, ReaderLike, answer
from qa.errors import IndexMismatchError, IndexNotFoundError
from qa.filters import Where
from qa.index import Index
from qa.retrieval import DEFAULT_K
from qa.types import Answer, Passages

if TYPE_CHECKING:
    from qa.build import StoreChoice

logger = logging.getLogger(__name__)

PROJECT_ROOT = Path(__file__).resolve().parent.parent

# The advice that ends an index error's message: "; rebuild the index with 'qa build'."
_ADVICE = re.compile(r"[;.]?\s*[Rr]ebuild\b.*$", re.DOTALL)

_default: Index | None = None
_default_lock = threading.Lock()
_fingerprint: tuple[Any, ...] | None = None


def default_corpus_dir() -> Path:
    """``$QA_CORPUS_DIR``, else this project's ``corpus/``."""
    return Path(os.environ.get("QA_CORPUS_DIR") or PROJECT_ROOT / "corpus")


def default_index_dir() -> Path:
    """``$QA_INDEX_DIR``, else this project's ``index/``."""
    return Path(os.environ.get("QA_INDEX_DIR") or PROJECT_ROOT / "index")


def build_index(
    corpus: Path | str | None = None,
    index_dir: Path | str | None = None,
    *,
    model: str | None = None,
    show_progress: bool | None = None,
    incremental: bool = True,
    store: StoreChoice | None = None,
    index_type: str | None = None,
    uri: str | None = None,
    collection: str | None = None,
    ray: bool | str = False,
) -> Index:
    """Build the index of ``corpus`` into ``index_dir`` and return it loaded.

    ``None`` means the defaults: this project's ``corpus/`` and ``index/`` (or the folders in
    ``QA_CORPUS_DIR`` / ``QA_INDEX_DIR``). ``model`` is any sentence-transformers model name or
    path (default: the bundled all-MiniLM-L6-v2). With ``incremental``, documents unchanged
    since the last build of ``index_dir`` keep their vectors; ``incremental=False`` embeds all.

    ``store`` is where the vectors and the keyword index live: ``"faiss"`` (files in
    ``index_dir``) or ``"milvus"`` (a Milvus Lite file in ``index_dir``, or the Milvus server at
    ``uri``, in ``collection``; needs ``qa[milvus]``). ``None`` keeps the index's store, FAISS
    for a new index. ``ray=True`` embeds on a local Ray, ``ray="ray://host:10001"`` on a cluster
    (needs ``qa[ray]``).

    ``index_type`` is the dense index: ``"auto"`` (exact below 20,000 chunks, ``"hnsw-sq8"`` from
    there on), ``"flat"`` (exact), ``"hnsw"`` (HNSW over float32 vectors) or ``"hnsw-sq8"`` (HNSW
    over 8-bit codes, a quarter of the memory, its candidates ranked exactly on the float32
    vectors read from disk; Milvus: HNSW_SQ with an FP32 refine). ``None`` keeps the index's own
    choice, ``"auto"`` for a new index.
    """
    from qa.build import build

    global _default
    corpus_dir = Path(corpus) if corpus is not None else default_corpus_dir()
    target = Path(index_dir) if index_dir is not None else default_index_dir()
    build(
        corpus_dir,
        target,
        model=model,
        show_progress=show_progress,
        incremental=incremental,
        store=store,
        index_type=index_type,
        uri=uri,
        collection=collection,
        ray=ray,
    )
    index = Index.load(target)
    if target.resolve() == default_index_dir().resolve():
        with _default_lock:
            _default = index
    return index


def stale_reason(
    index_dir: Path | str, corpus: Path | str | None = None, *, defaults: bool = False
) -> str | None:
    """Why the index in ``index_dir`` is out of date with its corpus, or None when it is not.

    ``corpus`` defaults to the folder the index was built from. With ``defaults``, an index
    built by another qa version or with other chunking than the defaults is out of date too.
    """
    from qa.build import chunking_params
    from qa.corpus import corpus_hashes
    from qa.embedding import DEFAULT_MODEL

    manifest = store.read_manifest(Path(index_dir))
    if manifest is None:
        return "there is no index yet"
    corpus_dir = Path(corpus) if corpus is not None else Path(manifest.corpus)
    built = manifest.corpus_files
    current = corpus_hashes(corpus_dir) if corpus_dir.is_dir() else {}
    changed = sorted(
        set(built) ^ set(current) | {p for p in built if current.get(p, built[p]) != built[p]}
    )
    if changed:
        shown = ", ".join(changed[:3]) + (
            f" and {len(changed) - 3} more" if len(changed) > 3 else ""
        )
        return f"the corpus changed since the build ({shown})"
    if not defaults:
        return None
    if manifest.qa_version != _package_version():
        return f"it was built by qa {manifest.qa_version}"
    model = manifest.model
    if model.name == DEFAULT_MODEL and manifest.chunking != chunking_params(model.window):
        return "it was built with other chunking settings"
    return None


def load_index(index_dir: Path | str | None = None, *, model: str | None = None) -> Index:
    """Load an index.

    With no ``index_dir``, the default index: built when missing, rebuilt (with a log line)
    when the corpus changed since its build. An index folder you name is loaded as it is, with a
    warning when its corpus has changed; ``qa build`` refreshes it. ``model``, when given, must
    be the model the index was built with (else ``IndexMismatchError``).
    """
    global _default
    if index_dir is None:
        with _default_lock:
            if _default is None or _is_outdated(_default):
                _default = _load_default()
            index = _default
    else:
        path = Path(index_dir)
        if store.read_manifest(path) is None:
            raise IndexNotFoundError(
                f"No index in {path}; build one with 'qa build CORPUS --index {path}'."
            )
        reason = stale_reason(path)
        if reason:
            logger.warning(
                "The index in %s is stale: %s; run 'qa build' to refresh it", path, reason
            )
        index = Index.load(path)
    if model is not None and model != index.model_name:
        raise IndexMismatchError(
            f"The index in {index.path} was built with model {index.model_name!r}, not "
            f"{model!r}; rebuild it with 'qa build --model {model}' or drop model=."
        )
    return index


def _load_default() -> Index:
    from qa.build import build

    index_dir = default_index_dir()
    corpus_dir = default_corpus_dir()
    try:
        reason = stale_reason(index_dir, corpus_dir, defaults=True)
    except (IndexMismatchError, store.IndexCorruptError) as error:
        # The error's advice ("rebuild it with 'qa build'") is what happens next: leave it out.
        reason = _ADVICE.sub("", str(error))
    if reason:
        logger.warning("Building the default index in %s: %s", index_dir, reason)
        build(corpus_dir, index_dir)
    return Index.load(index_dir)


def _is_outdated(index: Index) -> bool:
    """True when the default index in memory no longer matches the folder on disk or corpus.

    Cheap when nothing changed: file sizes and modification times first, hashes only then.
    """
    global _fingerprint
    from qa.corpus import corpus_fingerprint

    try:
        fingerprint = (
            store.live_folder(default_index_dir()),
            corpus_fingerprint(default_corpus_dir()),
        )
    except Exception:
        return True
    if fingerprint == _fingerprint:
        return False
    outdated = (
        fingerprint[0] != index.generation
        or stale_reason(index.path, default_corpus_dir(), defaults=True) is not None
    )
    _fingerprint = None if outdated else fingerprint
    return outdated


def _package_version() -> str | None:
    from qa.build import _version

    return _version("qa")


def retrieve(
    question: str,
    k: int = DEFAULT_K,
    *,
    index: Index | None = None,
    mode: str | None = None,
    where: Where | None = None,
) -> Passages:
    """The ``k`` passages that best match ``question``, best first, from the documents
    ``where`` matches (``{"title": "Report"}``, ``{"path": ["a.md", "b.md"]}``; see
    ``Index.retrieve``)."""
    return (index or load_index()).retrieve(question, k, mode=mode, where=where)


def ask(
    question: str,
    k: int = DEFAULT_K,
    *,
    index: Index | None = None,
    mode: str | None = None,
    min_score: float | None = None,
    reader: ReaderLike = DEFAULT_READER,
    where: Where | None = None,
) -> Answer:
    """The answer to ``question``: a verbatim sentence with its citations, or an abstention.

    ``answer(question, retrieve(question, k, where=where))``; ``reader`` and ``min_score`` go
    to ``qa.answer`` (a reader folder of your own, or None for no reader).
    """
    passages = (index or load_index()).retrieve(question, k, mode=mode, where=where)
    return answer(question, passages, reader=reader, min_score=min_score)
