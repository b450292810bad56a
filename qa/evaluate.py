"""Evaluate the chatbot against a question set: metrics, per-question rows and a report.

``evaluate(questions, index=...)`` asks every question (``Index.ask_many`` in batches), then scores:

- ``answer_accuracy``: answerable questions whose answer sentence (not abstained) contains a gold
  answer, both SQuAD-normalised; "contains" means as a run of whole tokens.
- ``exact_match``, ``f1``: the official SQuAD definitions, of the answer span (``Answer.span_text``,
  or the whole sentence when there is no span) against the golds, max over golds, over answerable
  questions; an abstention scores 0. Reported as fractions (the official script prints x100).
- ``hit@1``, ``hit@{k}``, ``mrr``: over answerable questions, from the k passages cited; a passage
  is relevant when it contains a gold answer (normalised, whole tokens). ``mrr`` is MRR@k.
- ``abstain_precision``: of the questions abstained on, the share that are unanswerable;
  ``abstain_recall``: of the unanswerable questions, the share abstained on.
- ``latency_ms_p50``, ``latency_ms_p95``: per-question latency, which is the wall time of its batch
  divided by the batch size (questions are answered ``batch_size`` at a time, after one untimed
  warm-up question that loads the model).
- ``squad_v2_exact``, ``squad_v2_f1`` (SQuAD v2.0 input only): the official overall figures, over
  all questions, where abstaining on an unanswerable question scores 1 and answering it scores 0.

A metric with nothing to count (no unanswerable questions, say) is None.
"""

from __future__ import annotations

import csv
import json
import logging
import re
import string
import time
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any

from qa.questions import Question, read_question_set, select_split
from qa.retrieval import DEFAULT_K

if TYPE_CHECKING:
    import pandas

    from qa.index import Index
    from qa.types import Answer, Passage

logger = logging.getLogger(__name__)

#: Passages retrieved (and cited) per question.
#: Questions sent to ``Index.ask_many`` at once.
DEFAULT_BATCH_SIZE = 32

Metric = float | int | None

_COUNTS = frozenset({"n", "n_answerable", "n_unanswerable"})

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


# --- the report ---------------------------------------------------------------------------------


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


_ROW_FIELDS = tuple(f.name for f in fields(QuestionResult))


@dataclass(frozen=True)
class EvalReport:
    """The result of ``evaluate``: metrics, one row per question, and the index it ran against.

    ``metrics`` maps the metric names (see ``qa.evaluate``'s module docs) to figures, None where
    there was nothing to count; ``index`` is the index manifest, so runs can be compared;
    ``settings`` records how the run was made (k, mode, min_score, question file and format).
    """

    metrics: dict[str, Metric]
    questions: list[QuestionResult]
    index: dict[str, Any] = field(default_factory=dict)
    settings: dict[str, Any] = field(default_factory=dict)

    def failures(self) -> list[QuestionResult]:
        """The rows that are wrong: answerable questions missed, unanswerable ones answered."""
        return [row for row in self.questions if not row.correct]

    def to_dict(self) -> dict[str, Any]:
        """The report as plain JSON-ready data: metrics, settings, questions, index."""
        return {
            "metrics": dict(self.metrics),
            "settings": dict(self.settings),
            "questions": [row.to_dict() for row in self.questions],
            "index": dict(self.index),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> EvalReport:
        """Rebuild a report from ``to_dict()`` output (a saved report.json, say)."""
        rows = [
            QuestionResult(**{**row, "golds": tuple(row["golds"])}) for row in data["questions"]
        ]
        return cls(
            metrics=dict(data["metrics"]),
            questions=rows,
            index=dict(data.get("index", {})),
            settings=dict(data.get("settings", {})),
        )

    def write_json(self, path: str | Path) -> Path:
        """Write the report as JSON (UTF-8, indented); return the path written."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(
            json.dumps(self.to_dict(), indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
        )
        return path

    @classmethod
    def read_json(cls, path: str | Path) -> EvalReport:
        """Read a report written by ``write_json``."""
        return cls.from_dict(json.loads(Path(path).read_text(encoding="utf-8")))

    def write_csv(self, path: str | Path) -> Path:
        """Write one row per question as CSV (golds joined by ``|``); return the path written."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("w", encoding="utf-8", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=_ROW_FIELDS)
            writer.writeheader()
            for row in self.questions:
                record = row.to_dict()
                record["golds"] = "|".join(row.golds)
                writer.writerow(record)
        return path

    def to_dataframe(self) -> pandas.DataFrame:
        """One row per question as a pandas DataFrame (needs pandas: ``pip install pandas``)."""
        try:
            import pandas
        except ImportError as exc:
            raise ImportError(
                "EvalReport.to_dataframe() needs pandas, which is not installed; "
                "run 'pip install pandas', or use write_csv() / to_dict() instead"
            ) from exc
        return pandas.DataFrame([row.to_dict() for row in self.questions], columns=_ROW_FIELDS)

    def summary_table(self) -> str:
        """The metrics as a two-column text table, ``n/a`` where there was nothing to count."""
        rows = [(name, format_metric(name, value)) for name, value in self.metrics.items()]
        width = max((len(name) for name, _ in rows), default=6)
        value_width = max((len(value) for _, value in rows), default=5)
        lines = [f"{'metric':<{width}}  {'value':>{value_width}}"]
        lines.append(f"{'-' * width}  {'-' * value_width}")
        lines += [f"{name:<{width}}  {value:>{value_width}}" for name, value in rows]
        return "\n".join(lines)

    def __repr__(self) -> str:
        m = self.metrics
        k = self.settings.get("k", DEFAULT_K)
        shown = ["answer_accuracy", "exact_match", "f1", f"hit@{k}", "mrr", "abstain_recall"]
        figures = ", ".join(f"{name}={format_metric(name, m.get(name))}" for name in shown)
        return (
            f"<EvalReport n={m.get('n')} ({m.get('n_answerable')} answerable, "
            f"{m.get('n_unanswerable')} unanswerable), k={k}: {figures}; "
            f"{len(self.failures())} failures>"
        )


def format_metric(name: str, value: Metric) -> str:
    """A metric as the table shows it: ``n/a`` for None, counts as integers, 3 decimals else."""
    if value is None:
        return "n/a"
    if name in _COUNTS:
        return str(int(value))
    if name.startswith("latency_ms"):
        return f"{value:.1f}"
    return f"{value:.3f}"


# --- scoring ------------------------------------------------------------------------------------


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


# --- the run ------------------------------------------------------------------------------------


def evaluate(
    questions: str | Path | Sequence[Question],
    *,
    index: Index | None = None,
    k: int = DEFAULT_K,
    mode: str | None = None,
    min_score: float | None = None,
    split: str | None = None,
    splits: str | Path | None = None,
    show_progress: bool | None = None,
    squad_v2: bool | None = None,
    batch_size: int = DEFAULT_BATCH_SIZE,
) -> EvalReport:
    """Ask every question of a set and score the answers: an ``EvalReport``.

    ``questions`` is a question-set file (JSONL, CSV or SQuAD JSON) or a sequence of
    ``Question``. ``index`` defaults to ``qa.load_index()``; ``k``, ``mode`` and ``min_score`` go
    to ``Index.ask_many``. ``split`` keeps only the questions whose article (``doc_id``) the
    ``splits`` file lists under that name (default: ``splits.json`` beside the question file; see
    ``qa.questions.select_split``). Questions are answered ``batch_size`` at a time, and each
    one's latency is its batch's wall time divided by the batch size (after one untimed warm-up
    question).
    ``squad_v2`` adds the official SQuAD v2.0 figures; None means "when the file is SQuAD v2.0".
    ``show_progress`` None shows a progress bar when stderr is a terminal, as ``build_index`` does.
    """
    if isinstance(k, bool) or not isinstance(k, int) or k < 1:
        raise ValueError(f"k must be a positive integer, got {k!r}")
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"batch_size must be a positive integer, got {batch_size!r}")

    source: dict[str, Any] = {}
    if isinstance(questions, str | Path):
        question_set = read_question_set(questions)
        items = list(question_set.questions)
        source = {"questions": question_set.path, "format": question_set.format}
        if squad_v2 is None:
            squad_v2 = question_set.format == "squad-v2.0"
    else:
        items = list(questions)
        bad = next((q for q in items if not isinstance(q, Question)), None)
        if bad is not None:
            raise TypeError(
                f"questions must be a path or a sequence of qa.questions.Question, "
                f"got an item of type {type(bad).__name__}; build them with load_questions()"
            )
    if split is not None:
        if splits is None:
            if not isinstance(questions, str | Path):
                raise ValueError("split= needs splits= (the splits.json file) for a list")
            splits = Path(questions).parent / "splits.json"
        items = select_split(items, splits, split)
        source.update(split=split, splits=str(splits))
    if not items:
        raise ValueError("questions is empty; pass at least one question to evaluate")

    if index is None:
        from qa.api import load_index

        index = load_index()

    logger.info(
        "Evaluating %d questions (k=%d, mode=%s, min_score=%s)", len(items), k, mode, min_score
    )

    from tqdm.auto import tqdm

    # One untimed question first, so that loading the model is not counted as latency.
    index.ask_many([items[0].question], k=k, mode=mode, min_score=min_score)
    rows: list[QuestionResult] = []
    disable = None if show_progress is None else not show_progress
    with tqdm(total=len(items), desc="Evaluating", unit="question", disable=disable) as bar:
        for begin in range(0, len(items), batch_size):
            batch = items[begin : begin + batch_size]
            started = time.perf_counter()
            answers = index.ask_many(
                [q.question for q in batch], k=k, mode=mode, min_score=min_score
            )
            latency_ms = (time.perf_counter() - started) * 1000 / len(batch)
            if len(answers) != len(batch):
                raise RuntimeError(
                    f"Index.ask_many returned {len(answers)} answers for {len(batch)} questions"
                )
            rows += [score_answer(q, a, latency_ms) for q, a in zip(batch, answers, strict=True)]
            bar.update(len(batch))

    settings = {
        "k": k,
        "reader": None
        if index.reader is None
        else str(getattr(index.reader, "path", index.reader)),
        "mode": mode,
        "min_score": min_score,
        "batch_size": batch_size,
        **source,
    }
    report = EvalReport(
        metrics=compute_metrics(rows, k=k, squad_v2=bool(squad_v2)),
        questions=rows,
        index=dict(index.manifest),
        settings=settings,
    )
    logger.info("Evaluation done: %r", report)
    return report
