"""Evaluate the chatbot against a question set: run the questions, and the report.

``evaluate(questions, index=...)`` asks every question on its own (``Index.ask``, timed, so
each row's latency is that question's), scores each answer and aggregates the rows with
``qa.metrics``, which defines the metrics (answer accuracy, SQuAD exact match and F1, hit@k and
MRR, abstention precision and recall, latency, and the SQuAD v2.0 overall figures). The result
is an ``EvalReport``: the metrics, one row per question, and the index and settings it ran with,
written as JSON, CSV or a text table.

A metric with nothing to count (no unanswerable questions, say) is None.
"""

from __future__ import annotations

import csv
import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field, fields
from pathlib import Path
from time import perf_counter
from typing import TYPE_CHECKING, Any

from qa.errors import MissingDependencyError
from qa.metrics import (
    Metric,
    QuestionResult,
    compute_metrics,
    contains_answer,
    exact_match_score,
    f1_score,
    first_relevant_rank,
    max_over_golds,
    normalize_answer,
    percentile,
    score_answer,
)
from qa.questions import Question, read_question_set, select_split
from qa.retrieval import DEFAULT_K

if TYPE_CHECKING:
    import pandas

    from qa.index import Index

# The metric functions and the row type live in qa.metrics; they stay importable from here.
__all__ = [
    "LATENCY",
    "EvalReport",
    "Metric",
    "QuestionResult",
    "compute_metrics",
    "contains_answer",
    "evaluate",
    "exact_match_score",
    "f1_score",
    "first_relevant_rank",
    "format_metric",
    "max_over_golds",
    "normalize_answer",
    "percentile",
    "score_answer",
]

logger = logging.getLogger(__name__)

#: What a row's ``latency_ms`` measures, as the report's settings record it.
LATENCY = "wall time of Index.ask for the question alone, after one untimed warm-up question"

_COUNTS = frozenset({"n", "n_answerable", "n_unanswerable"})


# --- the report ---------------------------------------------------------------------------------


_ROW_FIELDS = tuple(f.name for f in fields(QuestionResult))


@dataclass(frozen=True)
class EvalReport:
    """The result of ``evaluate``: metrics, one row per question, and the index it ran against.

    ``metrics`` maps the metric names (see ``qa.metrics``'s module docs) to figures, None where
    there was nothing to count; ``index`` is the index manifest, so runs can be compared;
    ``settings`` records how the run was made (k, mode, min_score, question file and format) and
    what each row's ``latency_ms`` measures (``LATENCY``).
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
            raise MissingDependencyError(
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

    def _repr_html_(self) -> str:
        """Jupyter's display: the question counts and failures, then the metrics table."""
        from qa import render

        m = self.metrics
        caption = (
            f"{m.get('n')} questions ({m.get('n_answerable')} answerable, "
            f"{m.get('n_unanswerable')} unanswerable), k={self.settings.get('k', DEFAULT_K)}: "
            f"{len(self.failures())} failures"
        )
        rows = [(name, format_metric(name, value)) for name, value in m.items()]
        return render.notebook(render.figures_table(caption, rows))

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
) -> EvalReport:
    """Ask every question of a set and score the answers: an ``EvalReport``.

    ``questions`` is a question-set file (JSONL, CSV or SQuAD JSON) or a sequence of
    ``Question``. ``index`` defaults to ``qa.load_index()``; ``k``, ``mode`` and ``min_score`` go
    to ``Index.ask``. ``split`` keeps only the questions whose article (``doc_id``) the
    ``splits`` file lists under that name (default: ``splits.json`` beside the question file; see
    ``qa.questions.select_split``). Each question is asked on its own, as a user asks it, and its
    row's latency is the wall time of that one ``Index.ask`` (``LATENCY``; one untimed warm-up
    question first, so loading the model is not counted).
    ``squad_v2`` adds the official SQuAD v2.0 figures; None means "when the file is SQuAD v2.0".
    ``show_progress`` None shows a progress bar when stderr is a terminal, as ``build_index`` does.
    """
    if isinstance(k, bool) or not isinstance(k, int) or k < 1:
        raise ValueError(f"k must be a positive integer, got {k!r}")

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
    index.ask(items[0].question, k, mode=mode, min_score=min_score)
    rows: list[QuestionResult] = []
    disable = None if show_progress is None else not show_progress
    with tqdm(total=len(items), desc="Evaluating", unit="question", disable=disable) as bar:
        for item in items:
            started = perf_counter()
            answer = index.ask(item.question, k, mode=mode, min_score=min_score)
            latency_ms = (perf_counter() - started) * 1000
            rows.append(score_answer(item, answer, latency_ms))
            bar.update(1)

    settings = {
        "k": k,
        "reader": None
        if index.reader is None
        else str(getattr(index.reader, "path", index.reader)),
        "mode": mode,
        "min_score": min_score,
        "latency": LATENCY,
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
