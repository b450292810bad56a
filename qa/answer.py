"""Pick the answer: the best whole sentence of the retrieved passages, or an abstention.

Every sentence inside the top passages is a candidate. A cheap score ranks them all: the cosine
between the question and the sentence's vector (pooled at build time from the chunk's token
embeddings) plus the share of the question's content words that the sentence holds. With
reranking (the default), a cross-encoder then reads the question with each of the best
``RERANK_CANDIDATES`` and the answer's score is the sigmoid of its logit, a relevance
probability. Below ``min_score`` the answer abstains.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np

# Abstention thresholds, calibrated on questions with and without an answer in the corpus (see
# the README): on the cross-encoder's probability, and on the cheap score when not reranking.
MIN_SCORE = 0.5
MIN_SCORE_NO_RERANK = 0.35
KEYWORD_WEIGHT = 0.15
# Candidates the cross-encoder reads: more costs time and gains little (README, Answers).
RERANK_CANDIDATES = 6
# Logits a pointing-back sentence read after its predecessor must gain over the predecessor
# alone to count as the answer (measured on the default question set and SQuAD; README).
CONTEXT_MARGIN = 1.0

_WORD = re.compile(r"\w+", re.UNICODE)


@dataclass(frozen=True)
class Candidate:
    """A sentence of the corpus scored against a question."""

    row: int  # row in the sentence table
    doc_row: int
    start: int
    end: int
    score: float


_local = threading.local()


def _stemmer() -> Any:
    """This thread's Snowball stemmer: PyStemmer objects are not safe to share across threads."""
    if not hasattr(_local, "stemmer"):
        import Stemmer

        _local.stemmer = Stemmer.Stemmer("english")
    return _local.stemmer


@lru_cache(maxsize=1)
def _stopwords() -> frozenset[str]:
    from bm25s.stopwords import STOPWORDS_EN

    return frozenset(STOPWORDS_EN)


def terms(text: str) -> set[str]:
    """Lower-cased, stemmed content words of ``text``."""
    words = [w for w in _WORD.findall(text.lower()) if w not in _stopwords()]
    return set(_stemmer().stemWords(words))


def score_candidates(
    question: str,
    question_vector: np.ndarray,
    rows: np.ndarray,
    sentences: np.ndarray,
    sentence_vectors: np.ndarray,
    texts: list[str],
) -> list[Candidate]:
    """Candidates for the sentence rows ``rows`` (with their ``texts``), best first."""
    if len(rows) == 0:
        return []
    cosines = np.asarray(sentence_vectors[rows], dtype=np.float32) @ question_vector
    wanted = terms(question)
    candidates = []
    for row, cosine, text in zip(rows, cosines, texts):
        overlap = len(wanted & terms(text)) / len(wanted) if wanted else 0.0
        doc_row, start, end = (int(v) for v in sentences[row])
        score = float(cosine) + KEYWORD_WEIGHT * overlap
        candidates.append(Candidate(int(row), doc_row, start, end, score))
    candidates.sort(key=lambda c: (-c.score, c.row))
    return candidates


_POINTING_BACK = re.compile(
    r"^\W*(which|these|this|those|they|it|its|their|such|he|she|his|her|therefore|thus)\b",
    re.IGNORECASE,
)


def points_back(sentence: str) -> bool:
    """True when the sentence opens with a word that refers to what came before it."""
    return _POINTING_BACK.match(sentence) is not None


def sigmoid(logit: float) -> float:
    return float(1.0 / (1.0 + np.exp(-logit)))
