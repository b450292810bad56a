"""The reader: reads a question with passages, decides whether they answer it, marks the span.

A compact transformer trained in this repository (``training/train_reader.py``, model card in
``qa/models/reader/README.md``) and run with onnxruntime: no torch at answer time. It reads each
passage in windows of ``max_tokens`` tokens (long passages in strides) and gives, per window, the
probability that the window holds the answer and start/end logits over its tokens. The best span of
each window is scored, calibrated on held-out questions, as the probability that the answer is
right; the best window over all passages wins.

A reader is a folder with ``reader.onnx``, ``tokenizer.json`` and ``config.json``, as
``python -m training.train_reader`` writes it. ``get_reader()`` loads the bundled one, or any such
folder you name.
"""

from __future__ import annotations

import json
import math
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from qa.decision import Decision
from qa.errors import ModelLoadError

BUNDLED_READER = Path(__file__).resolve().parent / "models" / "reader"
FORMAT = "qa-reader"
MAX_QUESTION_TOKENS = 64  # a longer question is cut: the window must leave room for the passage
_OUTPUTS = ("start_logits", "end_logits", "answer_logit")

_cache: dict[Path, Reader] = {}
_lock = threading.Lock()


@dataclass(frozen=True)
class Reading:
    """The reader's best span: ``texts[passage][start:end]``, and how sure it is.

    ``score`` is the calibrated probability that the answer is right; ``answer_logit`` is the
    answer head's logit for "the window holds an answer"; ``span_probability`` is the start x end
    probability of this span within its window; ``span_logit`` its raw start + end logit (the
    decision's feature, ``qa.decision``). ``score`` is the sigmoid of a weighted sum of
    ``answer_logit`` and ``log(span_probability)``, with the weights fitted when the reader was
    calibrated.
    """

    passage: int
    start: int
    end: int
    score: float
    answer_logit: float
    span_probability: float
    span_logit: float


def get_reader(path: Path | str | None = None) -> Reader:
    """The shared reader in folder ``path`` (default: the bundled one), loaded once."""
    folder = Path(path) if path is not None else BUNDLED_READER
    key = folder.resolve()
    with _lock:
        if key not in _cache:
            _cache[key] = Reader(folder)
        return _cache[key]


class Reader:
    """A loaded reader. Thread-safe; load one with ``get_reader``."""

    def __init__(self, folder: Path | str) -> None:
        self.path = Path(folder)
        config = self._config()
        try:
            self.max_tokens = int(config["max_tokens"])
            self.stride = int(config["stride"])
            self.max_answer_tokens = int(config["max_answer_tokens"])
            calibration = config.get("calibration", {})
            self.weights = (
                float(calibration.get("has_answer", 1.0)),
                float(calibration.get("span", 0.0)),
                float(calibration.get("bias", 0.0)),
            )
            #: Below this score the answer abstains (calibrated with the model; see its card).
            self.threshold = float(config.get("threshold", 0.5))
            #: The answer-or-refuse model over the best candidate's features (qa.decision);
            #: None for a reader calibrated before it, whose score is the window score.
            self.decision = (
                Decision.from_config(config["decision"]) if "decision" in config else None
            )
        except (KeyError, TypeError, ValueError) as error:
            raise ModelLoadError(
                f"The reader config {self.path / 'config.json'} lacks or mangles {error}; "
                "write it with 'python -m training.train_reader'."
            ) from None
        self._session = self._load_session()
        # Two tokenizers, each set up once: changing one's settings per call is not thread-safe.
        self._question_tokenizer = self._load_tokenizer()
        self._tokenizer = self._load_tokenizer()
        self._tokenizer.enable_truncation(
            self.max_tokens, stride=self.stride, strategy="only_second", direction="right"
        )
        self._check()

    def __repr__(self) -> str:
        return f"Reader({str(self.path)!r}, threshold={self.threshold:.3f})"

    def _config(self) -> dict[str, Any]:
        path = self.path / "config.json"
        if not self.path.is_dir():
            raise ModelLoadError(
                f"No reader folder at {self.path}; give a folder written by "
                "'python -m training.train_reader', or reader=None to answer without a reader."
            )
        try:
            config = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as error:
            raise ModelLoadError(
                f"Could not read the reader config {path} ({error}); retrain or reinstall qa."
            ) from None
        if not isinstance(config, dict) or config.get("format") != FORMAT:
            raise ModelLoadError(f"{path} is not a qa reader config (format {FORMAT!r}).")
        return config

    def _load_session(self) -> Any:
        import onnxruntime

        path = self.path / "reader.onnx"
        options = onnxruntime.SessionOptions()
        options.log_severity_level = 3
        # No busy-waiting threads after a run: they would steal the cores the encoder needs next.
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        options.add_session_config_entry("session.inter_op.allow_spinning", "0")
        try:
            return onnxruntime.InferenceSession(
                str(path), options, providers=["CPUExecutionProvider"]
            )
        except Exception as error:
            raise ModelLoadError(
                f"Could not load the reader model {path} ({type(error).__name__}: {error}); "
                "the file is missing or corrupt: retrain it or reinstall qa."
            ) from None

    def _load_tokenizer(self) -> Any:
        from tokenizers import Tokenizer

        path = self.path / "tokenizer.json"
        try:
            tokenizer = Tokenizer.from_file(str(path))
        except Exception as error:
            raise ModelLoadError(f"Could not load the reader tokenizer {path} ({error}).") from None
        tokenizer.no_padding()
        tokenizer.no_truncation()
        return tokenizer

    def _check(self) -> None:
        """The model must give our outputs, and run on two tiny windows with their shapes."""
        names = [o.name for o in self._session.get_outputs()]
        wrong = f"The reader model {self.path / 'reader.onnx'} has the wrong outputs"
        if tuple(names) != _OUTPUTS:
            raise ModelLoadError(
                f"{wrong} {names}; a reader gives {list(_OUTPUTS)} shaped (windows, tokens), "
                "(windows, tokens) and (windows,)."
            )
        try:
            _, arrays = self._encode("what?", ["An answer.", "Two."])
            start, end, answer = self.run(*arrays)
        except Exception as error:
            raise ModelLoadError(
                f"The reader model {self.path / 'reader.onnx'} does not run on qa's inputs "
                f"({type(error).__name__}: {error})."
            ) from None
        if not (start.shape == end.shape == arrays[0].shape and answer.shape == (2,)):
            raise ModelLoadError(
                f"{wrong}' shapes {start.shape}, {end.shape}, {answer.shape}; a reader gives "
                f"{list(_OUTPUTS)} shaped (windows, tokens), (windows, tokens) and (windows,)."
            )

    def read(self, question: str, texts: Sequence[str]) -> Reading | None:
        """The best span of all ``texts`` for ``question``, or None when there is no text."""
        return max(self.readings(question, texts), key=lambda r: r.score, default=None)

    def readings(self, question: str, texts: Sequence[str]) -> list[Reading]:
        """The best span of each window of each text, all read in one batch."""
        if not texts:
            return []
        windows, (ids, mask, types) = self._encode(question, texts)
        start_logits, end_logits, answer_logits = self.run(ids, mask, types)
        found = (
            self._best_span(encoding, starts, ends, float(answer), passage)
            for (passage, encoding), starts, ends, answer in zip(
                windows, start_logits, end_logits, answer_logits
            )
        )
        return [reading for reading in found if reading is not None]

    def _encode(self, question: str, texts: Sequence[str]) -> tuple[list[tuple[int, Any]], Any]:
        """Every window of every text, and the padded arrays to run."""
        question = self._cut_question(question)
        pairs = [(question, text) for text in texts]
        windows: list[tuple[int, Any]] = []
        for passage, encoding in enumerate(self._tokenizer.encode_batch(pairs)):
            windows += [(passage, e) for e in (encoding, *encoding.overflowing)]
        width = max(len(e.ids) for _, e in windows)
        arrays = np.zeros((3, len(windows), width), dtype=np.int64)
        for row, (_, encoding) in enumerate(windows):
            n = len(encoding.ids)
            arrays[0, row, :n] = encoding.ids
            arrays[1, row, :n] = 1
            arrays[2, row, :n] = encoding.type_ids
        return windows, arrays

    def _cut_question(self, question: str) -> str:
        offsets = self._question_tokenizer.encode(question, add_special_tokens=False).offsets
        if len(offsets) <= MAX_QUESTION_TOKENS:
            return question
        return question[: offsets[MAX_QUESTION_TOKENS - 1][1]]

    def run(self, ids: np.ndarray, mask: np.ndarray, types: np.ndarray) -> list[np.ndarray]:
        """The model's raw outputs for a batch of windows: the one place that runs the network.

        ``ids``, ``mask`` and ``types`` are int64 arrays shaped (windows, tokens): token ids, the
        attention mask (1 for a token, 0 for padding) and the token type ids (0 question, 1
        passage). Returns float32 ``[start_logits, end_logits, answer_logit]`` shaped (windows,
        tokens), (windows, tokens) and (windows,). Override it to run the same weights on
        another backend (``bench/reader_formats.py`` runs them in torch); the tokenisation,
        span search and calibration around it stay the same. ``Reader.__init__`` calls it once,
        on two tiny windows, to check the model it loaded.
        """
        feed = {"input_ids": ids, "attention_mask": mask, "token_type_ids": types}
        return [np.asarray(o, dtype=np.float32) for o in self._session.run(list(_OUTPUTS), feed)]

    def _best_span(
        self, encoding: Any, starts: np.ndarray, ends: np.ndarray, answer: float, passage: int
    ) -> Reading | None:
        """The best span of one window (start x end probability over its passage tokens)."""
        offsets = encoding.offsets
        context = np.array(
            [
                i
                for i, s in enumerate(encoding.sequence_ids)
                if s == 1 and offsets[i][1] > offsets[i][0]
            ],
            dtype=np.int64,
        )  # the passage's tokens, without empty ones
        if len(context) == 0:
            return None
        start_p = _softmax(starts[context])
        end_p = _softmax(ends[context])
        pair = np.triu(np.outer(start_p, end_p))
        pair = np.tril(pair, self.max_answer_tokens - 1)
        i, j = np.unravel_index(int(np.argmax(pair)), pair.shape)
        span_probability = float(pair[i, j])
        return Reading(
            passage=passage,
            start=int(offsets[context[i]][0]),
            end=int(offsets[context[j]][1]),
            score=calibrated(self.weights, answer, span_probability),
            answer_logit=answer,
            span_probability=span_probability,
            span_logit=float(starts[context[i]] + ends[context[j]]),
        )


def calibrated(
    weights: tuple[float, float, float], answer_logit: float, span_probability: float
) -> float:
    """The probability that a span is right, from its window's answer logit and its own
    probability, with a reader's calibration ``weights`` (answer, span, bias)."""
    a, b, c = weights
    return _sigmoid(a * answer_logit + b * math.log(max(span_probability, 1e-9)) + c)


def _softmax(logits: np.ndarray) -> np.ndarray:
    shifted = np.exp(logits - logits.max())
    return np.asarray(shifted / shifted.sum())


def _sigmoid(logit: float) -> float:
    return 1.0 / (1.0 + math.exp(-max(min(logit, 50.0), -50.0)))
