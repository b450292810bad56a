"""Answers and report rows made by hand, shared by the metrics and the evaluation tests."""

from __future__ import annotations

from qa.metrics import QuestionResult
from qa.types import Answer, Passage

SENTENCE = "In 2025, the government allocated RM10 million to NAIO."


def passage(text: str, rank: int = 1, doc_id: str = "doc") -> Passage:
    return Passage(
        text=text, doc_id=doc_id, title=doc_id, start=0, end=len(text), score=0.5, rank=rank
    )


def answer(
    text: str | None,
    span: tuple[int, int] | None = None,
    citations: list[Passage] | None = None,
    *,
    start: int = 100,
    score: float = 0.7,
    question: str = "Q?",
) -> Answer:
    return Answer(
        question=question,
        text=text,
        score=score,
        doc_id=None if text is None else "doc",
        start=None if text is None else start,
        end=None if text is None else start + len(text),
        span=span,
        citations=citations if citations is not None else [passage(text or "Nothing.")],
    )


def row(
    qid: str,
    *,
    golds: tuple[str, ...] = ("x",),
    abstained: bool = False,
    correct: bool = True,
    exact: int | None = 1,
    f1: float | None = 1.0,
    rank: int | None = 1,
    latency: float = 10.0,
    span: str | None = "x",
) -> QuestionResult:
    answerable = bool(golds)
    return QuestionResult(
        id=qid,
        question=f"{qid}?",
        golds=golds,
        answerable=answerable,
        answer=None if abstained else f"The answer {span}.",
        span=None if abstained else span,
        abstained=abstained,
        correct=correct,
        exact_match=exact if answerable else None,
        f1=f1 if answerable else None,
        rank=rank if answerable else None,
        score=0.5,
        latency_ms=latency,
    )


MIXED = [
    row("a1", exact=1, f1=1.0, rank=1, latency=10.0),
    row("a2", exact=0, f1=0.5, rank=3, latency=20.0),
    row("a3", correct=False, exact=0, f1=0.25, rank=None, latency=30.0),
    row("a4", abstained=True, correct=False, exact=0, f1=0.0, rank=2, latency=40.0),
    row("u1", golds=(), abstained=True, correct=True, latency=50.0),
    row("u2", golds=(), abstained=False, correct=False, latency=60.0),
]
