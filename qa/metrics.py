"""SQuAD-style metrics: score one answer against its question, and aggregate the rows.

Pure functions over texts, ``Question``s, ``Answer``s and result rows; no index and no model.
``qa.evaluate`` runs the questions and builds the report from these. The metrics:

- ``answer_accuracy``: answerable questions whose answer sentence (not abstained) contains a gold
  answer, both SQuAD-normalised; "contains" means as a run of whole tokens.
- ``exact_match``, ``f1``: the official SQuAD definitions, of the answer span (``Answer.span_text``,
  or the whole sentence when there is no span) against the golds, max over golds, over answerable
  questions; an abstention scores 0. Reported as fractions (the official script prints x100).
- ``hit@1``, ``hit@{k}``, ``mrr``: over answerable questions, from the k passages cited; a passage
  is relevant when it contains a gold answer (normalised, whole tokens). ``mrr`` is MRR@k.
- ``abstain_precision``: of the questions abstained on, the share that are unanswerable;
  ``abstain_recall``: of the unanswerable questions, the share abstained on.
- ``latency_ms_p50``, ``latency_ms_p95``: per-question latency, the wall time of ``Index.ask`` for
  that question alone (after one untimed warm-up question that loads the model).
- ``squad_v2_exact``, ``squad_v2_f1`` (SQuAD v2.0 input only): the official overall figures, over
  all questions, where abstaining on an unanswerable question scores 1 and answering it scores 0.

A metric with nothing to count (no unanswerable questions, say) is None.
"""

from __future__ import annotations

import re
import string
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

from qa.retrieval import DEFAULT_K

if TYPE_CHECKING:
    from qa.questions import Question
    from qa.types import Answer, Passage

Metric = float | int | None

_ARTICLES = re.compile(r"\b(a|an|the)\b", re.UNICODE)
_PUNCTUATION = frozenset(string.punctuation)


# --- the official SQuAD definitions ------------------------------------------------------------


def normalize_answer(text: str) -> str:
    """SQuAD normalisation: lower case, drop punctuation and articles, collapse whitespace."""
    text = text.lower()
    text = "".join(ch for ch in text if ch not in _PUNCTUATION)
    text = _ARTICLES.sub(" ", text)
    return " ".join(text.split())


def exact_match_score(prediction: str, gold: str) -> int:
    """1 when prediction and gold are equal after normalisation, else 0."""
    return int(normalize_answer(prediction) == normalize_answer(gold))


def f1_score(prediction: str, gold: str) -> float:
    """Token-overlap F1 of the normalised texts (SQuAD v2.0 script: two empty texts score 1)."""
    pred_tokens = normalize_answer(prediction).split()
    gold_tokens = normalize_answer(gold).split()
    if not pred_tokens or not gold_tokens:
        return float(pred_tokens == gold_tokens)
    common = Counter(pred_tokens) & Counter(gold_tokens)
    overlap = sum(common.values())
    if overlap == 0:
        return 0.0
    precision = overlap / len(pred_tokens)
    recall = overlap / len(gold_tokens)
    return 2 * precision * recall / (precision + recall)


def max_over_golds(prediction: str, golds: Iterable[str]) -> tuple[int, float]:
    """(exact match, F1) of the prediction against its best gold, as the SQuAD script takes them.

    Golds that normalise to nothing are dropped; with none left, the only gold is "" (so only an
    empty prediction scores), which is how SQuAD v2.0 scores an unanswerable question.
    """
    kept = [gold for gold in golds if normalize_answer(gold)] or [""]
    return (
        max(exact_match_score(prediction, gold) for gold in kept),
        max(f1_score(prediction, gold) for gold in kept),
    )


def contains_answer(text: str, golds: Iterable[str]) -> bool:
    """True when ``text`` holds one of the golds as a run of whole tokens, both normalised.

    "2.5 million" is in "the city spent 2.5 million on parks", but "10" is not in "in 2010": a
    gold must not match inside a longer token.
    """
    haystack = f" {normalize_answer(text)} "
    return any((needle := normalize_answer(gold)) and f" {needle} " in haystack for gold in golds)


def first_relevant_rank(passages: Sequence[Passage], golds: Iterable[str]) -> int | None:
    """The 1-based position of the first passage that contains a gold answer, or None."""
    golds = list(golds)
    for position, passage in enumerate(passages, 1):
        if contains_answer(passage.text, golds):
            return position
    return None


def percentile(values: Sequence[float], q: float) -> float | None:
    """The q-th percentile (0-100) with linear interpolation (numpy's default), None if empty."""
    if not values:
        return None
    ordered = sorted(values)
    position = (len(ordered) - 1) * q / 100
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


# --- scoring one answer -------------------------------------------------------------------------


@dataclass(frozen=True)
class QuestionResult:
    """One row of the report: a question, what the chatbot answered, and how it scored.

    ``answer`` is the answer sentence, ``span`` the exact answer inside it (the sentence itself
    when the answer has no narrower span), both None when it abstained. ``correct`` is, for an
    answerable question, "answered and the sentence contains a gold"; for an unanswerable one,
    "abstained". ``exact_match`` and ``f1`` are None for unanswerable questions. ``rank`` is the
    position of the first cited passage that contains a gold (None: none of the k does).
    """

    id: str
    question: str
    golds: tuple[str, ...]
    answerable: bool
    answer: str | None
    span: str | None
    abstained: bool
    correct: bool
    exact_match: int | None
    f1: float | None
    rank: int | None
    score: float
    latency_ms: float
    doc_id: str | None = None
    answer_doc_id: str | None = None

    def to_dict(self) -> dict[str, Any]:
        row = asdict(self)
        row["golds"] = list(self.golds)
        return row


def score_answer(question: Question, answer: Answer, latency_ms: float) -> QuestionResult:
    """Score one answer against its question: the report row."""
    sentence = None if answer.abstained else answer.text
    span = answer.span_text if sentence is not None and answer.span is not None else sentence
    exact: int | None = None
    f1: float | None = None
    rank: int | None = None
    if question.answerable:
        exact, f1 = max_over_golds(span or "", question.answers)
        rank = first_relevant_rank(answer.citations, question.answers)
        correct = sentence is not None and contains_answer(sentence, question.answers)
    else:
        correct = answer.abstained
    return QuestionResult(
        id=question.id,
        question=question.question,
        golds=question.answers,
        answerable=question.answerable,
        answer=sentence,
        span=span,
        abstained=answer.abstained,
        correct=correct,
        exact_match=exact,
        f1=f1,
        rank=rank,
        score=float(answer.score),
        latency_ms=latency_ms,
        doc_id=question.doc_id,
        answer_doc_id=None if answer.abstained else answer.doc_id,
    )


# --- aggregating rows into metrics --------------------------------------------------------------


def _mean(values: Sequence[float]) -> float | None:
    return sum(values) / len(values) if values else None


def compute_metrics(
    rows: Sequence[QuestionResult], *, k: int = DEFAULT_K, squad_v2: bool = False
) -> dict[str, Metric]:
    """The report's metrics from its rows, in the order the table shows them."""
    answerable = [row for row in rows if row.answerable]
    unanswerable = [row for row in rows if not row.answerable]
    abstained = [row for row in rows if row.abstained]
    ranks = [row.rank for row in answerable]
    metrics: dict[str, Metric] = {
        "answer_accuracy": _mean([float(row.correct) for row in answerable]),
        "exact_match": _mean([float(row.exact_match or 0) for row in answerable]),
        "f1": _mean([row.f1 or 0.0 for row in answerable]),
        "hit@1": _mean([float(r is not None and r <= 1) for r in ranks]),
        f"hit@{k}": _mean([float(r is not None and r <= k) for r in ranks]),
        "mrr": _mean([1 / r if r is not None and r <= k else 0.0 for r in ranks]),
        "abstain_precision": _mean([float(not row.answerable) for row in abstained]),
        "abstain_recall": _mean([float(row.abstained) for row in unanswerable]),
    }
    if squad_v2:
        # The official v2.0 overall figures: an unanswerable question's only gold is "", so
        # abstaining (an empty prediction) scores 1 and answering scores 0.
        overall = [
            (float(row.exact_match or 0), row.f1 or 0.0)
            if row.answerable
            else max_over_golds(row.span or "", ())
            for row in rows
        ]
        metrics["squad_v2_exact"] = _mean([float(exact) for exact, _ in overall])
        metrics["squad_v2_f1"] = _mean([f1 for _, f1 in overall])
    latencies = [row.latency_ms for row in rows]
    metrics |= {
        "n": len(rows),
        "n_answerable": len(answerable),
        "n_unanswerable": len(unanswerable),
        "latency_ms_p50": percentile(latencies, 50),
        "latency_ms_p95": percentile(latencies, 95),
    }
    return metrics
