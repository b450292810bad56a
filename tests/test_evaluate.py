"""Evaluation: SQuAD metrics against the official definitions, report aggregation, report files,
``qa.evaluate`` on a real index and ``qa eval`` end to end."""

from __future__ import annotations

import collections
import csv
import json
import re
import string
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import qa
from qa.evaluate import (
    EvalReport,
    QuestionResult,
    compute_metrics,
    contains_answer,
    evaluate,
    exact_match_score,
    f1_score,
    first_relevant_rank,
    max_over_golds,
    normalize_answer,
    percentile,
    score_answer,
)
from qa.questions import Question
from qa.types import Answer, Passage

REPO = Path(__file__).parents[1]
SQUAD = REPO.parent / "shared" / "data" / "squad"
needs_squad = pytest.mark.skipif(not SQUAD.is_dir(), reason=f"no SQuAD data at {SQUAD}")


# --- the official SQuAD v2.0 evaluation script's definitions, as the reference ------------------
# (evaluate-v2.0.py of the SQuAD explorer: normalize_answer, get_tokens, compute_exact,
# compute_f1, and the gold filtering of get_raw_scores)


def ref_normalize_answer(s: str) -> str:
    def remove_articles(text: str) -> str:
        regex = re.compile(r"\b(a|an|the)\b", re.UNICODE)
        return re.sub(regex, " ", text)

    def white_space_fix(text: str) -> str:
        return " ".join(text.split())

    def remove_punc(text: str) -> str:
        exclude = set(string.punctuation)
        return "".join(ch for ch in text if ch not in exclude)

    return white_space_fix(remove_articles(remove_punc(s.lower())))


def ref_get_tokens(s: str) -> list[str]:
    if not s:
        return []
    return ref_normalize_answer(s).split()


def ref_compute_exact(a_gold: str, a_pred: str) -> int:
    return int(ref_normalize_answer(a_gold) == ref_normalize_answer(a_pred))


def ref_compute_f1(a_gold: str, a_pred: str) -> float:
    gold_toks = ref_get_tokens(a_gold)
    pred_toks = ref_get_tokens(a_pred)
    common = collections.Counter(gold_toks) & collections.Counter(pred_toks)
    num_same = sum(common.values())
    if len(gold_toks) == 0 or len(pred_toks) == 0:
        return int(gold_toks == pred_toks)
    if num_same == 0:
        return 0
    precision = 1.0 * num_same / len(pred_toks)
    recall = 1.0 * num_same / len(gold_toks)
    return (2 * precision * recall) / (precision + recall)


def ref_raw_scores(golds: Sequence[str], a_pred: str) -> tuple[int, float]:
    gold_answers = [a for a in golds if ref_normalize_answer(a)]
    if not gold_answers:
        gold_answers = [""]
    return (
        max(ref_compute_exact(a, a_pred) for a in gold_answers),
        max(ref_compute_f1(a, a_pred) for a in gold_answers),
    )


# Text that exercises articles, punctuation, case, whitespace and non-ASCII.
squadish = st.lists(
    st.sampled_from(["the", "a", "An", "THE", "cat", "Cat's", "sat", "on", "mat", "1,000", "x"])
    | st.sampled_from([".", ",", "!", "-", "'", " ", "  ", "\t", "\n", "é", "\u2019", "$", "(a)"])
    | st.text(max_size=4),
    max_size=8,
).map(" ".join)


@given(squadish)
@settings(max_examples=300, deadline=None)
def test_normalize_answer_matches_official(text: str) -> None:
    assert normalize_answer(text) == ref_normalize_answer(text)


@given(squadish, squadish)
@settings(max_examples=300, deadline=None)
def test_exact_and_f1_match_official(prediction: str, gold: str) -> None:
    assert exact_match_score(prediction, gold) == ref_compute_exact(gold, prediction)
    assert f1_score(prediction, gold) == pytest.approx(ref_compute_f1(gold, prediction))


@given(squadish, st.lists(squadish, max_size=4))
@settings(max_examples=300, deadline=None)
def test_max_over_golds_matches_official(prediction: str, golds: list[str]) -> None:
    exact, f1 = max_over_golds(prediction, golds)
    ref_exact, ref_f1 = ref_raw_scores(golds, prediction)
    assert exact == ref_exact
    assert f1 == pytest.approx(ref_f1)


# --- the metric functions against hand-computed values ------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("The  Cat's hat!", "cats hat"),
        ("An apple a day", "apple day"),
        ("theater, THE end", "theater end"),
        ("RM10 million", "rm10 million"),
        ("445,000 public officers.", "445000 public officers"),
        ("Google\u2019s", "google\u2019s"),  # a curly apostrophe is not in string.punctuation
        (" ", ""),
    ],
)
def test_normalize_answer(text: str, expected: str) -> None:
    assert normalize_answer(text) == expected


@pytest.mark.parametrize(
    ("prediction", "gold", "exact", "f1"),
    [
        ("Denver Broncos", "the denver broncos.", 1, 1.0),
        ("the cat sat", "a cat sat down", 0, 0.8),  # P = 2/2, R = 2/3
        ("x x y", "x y y", 0, 2 / 3),  # overlap counts are clipped: min(2,1) + min(1,2) = 2
        ("blue", "red", 0, 0.0),
        ("", "", 1, 1.0),  # both empty: the v2.0 script scores 1
        ("the", "", 1, 1.0),  # "the" normalises to nothing
        ("cat", "", 0, 0.0),
        ("", "cat", 0, 0.0),
    ],
)
def test_exact_and_f1_by_hand(prediction: str, gold: str, exact: int, f1: float) -> None:
    assert exact_match_score(prediction, gold) == exact
    assert f1_score(prediction, gold) == pytest.approx(f1)


def test_max_over_golds_takes_the_best_gold() -> None:
    # vs "Denver Broncos": P = 1/2, R = 1/2 -> 0.5; vs "Broncos": P = 1/2, R = 1 -> 2/3.
    assert max_over_golds("the Broncos team", ["Denver Broncos", "Broncos"]) == (
        0,
        pytest.approx(2 / 3),
    )
    assert max_over_golds("Broncos", ["Denver Broncos", "Broncos"]) == (1, 1.0)


def test_max_over_golds_drops_golds_that_normalise_to_nothing() -> None:
    assert max_over_golds("cat", ["the", "cat"]) == (1, 1.0)
    assert max_over_golds("", ["the", "."]) == (1, 1.0)  # no gold left: only "" scores
    assert max_over_golds("cat", []) == (0, 0.0)


@pytest.mark.parametrize(
    ("text", "golds", "expected"),
    [
        ("In 2025, the government allocated RM10 million to NAIO.", ["RM10 million"], True),
        ("Gemini Suite to 445,000 public officers.", ["445,000"], True),
        ("The Broncos won in 2010.", ["10"], False),  # no match inside a longer token
        ("The Broncos won in 2010.", ["Panthers", "broncos"], True),
        ("The theatre", ["the"], False),  # a gold that normalises to nothing never matches
        ("Anything", [], False),
    ],
)
def test_contains_answer(text: str, golds: list[str], expected: bool) -> None:
    assert contains_answer(text, golds) is expected


def passage(text: str, rank: int = 1, doc_id: str = "doc") -> Passage:
    return Passage(
        text=text, doc_id=doc_id, title=doc_id, start=0, end=len(text), score=0.5, rank=rank
    )


def test_first_relevant_rank_with_duplicate_passages() -> None:
    passages = [
        passage("Nothing here.", 1),
        passage("Nothing here.", 2),  # a duplicate is still a position
        passage("Paris is in France.", 3),
        passage("Paris is in France.", 4),
    ]
    assert first_relevant_rank(passages, ["France"]) == 3
    assert first_relevant_rank(passages, ["Spain"]) is None
    assert first_relevant_rank([], ["France"]) is None


@pytest.mark.parametrize(
    "values", [[10.0], [10.0, 20.0, 30.0, 40.0], [5.0, 1.0, 3.0], [0.2, 0.1, 100.0, 7.5, 7.5]]
)
@pytest.mark.parametrize("q", [0, 50, 95, 100])
def test_percentile_matches_numpy(values: list[float], q: float) -> None:
    assert percentile(values, q) == pytest.approx(float(np.percentile(values, q)))


def test_percentile_by_hand() -> None:
    assert percentile([10.0, 20.0, 30.0, 40.0], 50) == 25.0
    assert percentile([10.0, 20.0, 30.0, 40.0], 95) == pytest.approx(38.5)
    assert percentile([], 50) is None


# --- scoring one answer -------------------------------------------------------------------------

SENTENCE = "In 2025, the government allocated RM10 million to NAIO."


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


def test_score_answer_uses_the_span() -> None:
    start = 100 + SENTENCE.index("RM10")
    result = score_answer(
        Question("q1", "How much?", ("RM10 million",), "doc"),
        answer(SENTENCE, (start, start + len("RM10 million"))),
        12.5,
    )
    assert result == QuestionResult(
        id="q1",
        question="How much?",
        golds=("RM10 million",),
        answerable=True,
        answer=SENTENCE,
        span="RM10 million",
        abstained=False,
        correct=True,
        exact_match=1,
        f1=1.0,
        rank=1,
        score=0.7,
        latency_ms=12.5,
        doc_id="doc",
        answer_doc_id="doc",
    )


def test_score_answer_without_span_scores_the_sentence() -> None:
    result = score_answer(Question("q1", "How much?", ("RM10 million",)), answer(SENTENCE), 1.0)
    assert result.span == SENTENCE
    assert result.correct is True
    assert result.exact_match == 0
    # sentence tokens: in 2025 government allocated rm10 million to naio (8); overlap 2.
    assert result.f1 == pytest.approx(2 * (2 / 8) * 1 / (2 / 8 + 1))


def test_score_answer_abstained_on_answerable() -> None:
    citations = [passage("Nothing.", 1), passage(SENTENCE, 2)]
    result = score_answer(
        Question("q1", "How much?", ("RM10 million",)), answer(None, None, citations), 3.0
    )
    assert (result.answer, result.span, result.abstained, result.correct) == (
        None,
        None,
        True,
        False,
    )
    assert (result.exact_match, result.f1, result.rank) == (0, 0.0, 2)


def test_score_answer_unanswerable() -> None:
    question = Question("q2", "Who heads NAIO?", ())
    abstained = score_answer(question, answer(None), 1.0)
    answered = score_answer(question, answer(SENTENCE), 1.0)
    assert (abstained.correct, abstained.exact_match, abstained.f1, abstained.rank) == (
        True,
        None,
        None,
        None,
    )
    assert answered.correct is False


# --- aggregating rows into metrics --------------------------------------------------------------


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


def test_compute_metrics_by_hand() -> None:
    assert compute_metrics(MIXED, k=5) == {
        "answer_accuracy": 0.5,  # a1, a2
        "exact_match": 0.25,  # a1
        "f1": pytest.approx((1.0 + 0.5 + 0.25 + 0.0) / 4),
        "hit@1": 0.25,  # a1
        "hit@5": 0.75,  # a1, a2, a4: abstaining does not undo retrieval
        "mrr": pytest.approx((1 + 1 / 3 + 0 + 1 / 2) / 4),
        "abstain_precision": 0.5,  # abstained on a4 and u1; u1 is unanswerable
        "abstain_recall": 0.5,  # u1 of u1, u2
        "n": 6,
        "n_answerable": 4,
        "n_unanswerable": 2,
        "latency_ms_p50": 35.0,
        "latency_ms_p95": pytest.approx(57.5),
    }


def test_compute_metrics_hit_key_follows_k() -> None:
    metrics = compute_metrics(MIXED, k=2)
    assert (metrics["hit@1"], metrics["hit@2"], "hit@5" in metrics) == (0.25, 0.5, False)
    assert metrics["mrr"] == pytest.approx((1 + 0 + 0 + 1 / 2) / 4)  # rank 3 is beyond k
    assert list(compute_metrics(MIXED, k=1)).count("hit@1") == 1


def test_compute_metrics_squad_v2_by_hand() -> None:
    metrics = compute_metrics(MIXED, k=5, squad_v2=True)
    # Answerable: their EM / F1; u1 abstained scores 1; u2 answered "x" scores 0.
    assert metrics["squad_v2_exact"] == pytest.approx((1 + 0 + 0 + 0 + 1 + 0) / 6)
    assert metrics["squad_v2_f1"] == pytest.approx((1.0 + 0.5 + 0.25 + 0.0 + 1 + 0) / 6)
    assert "squad_v2_exact" not in compute_metrics(MIXED, k=5)


def test_compute_metrics_without_answerable_questions() -> None:
    rows = [row("u1", golds=(), abstained=True), row("u2", golds=(), correct=False)]
    metrics = compute_metrics(rows, k=3, squad_v2=True)
    for name in ("answer_accuracy", "exact_match", "f1", "hit@1", "hit@3", "mrr"):
        assert metrics[name] is None, name
    assert (metrics["abstain_precision"], metrics["abstain_recall"]) == (1.0, 0.5)
    assert (metrics["squad_v2_exact"], metrics["squad_v2_f1"]) == (0.5, 0.5)
    assert (metrics["n"], metrics["n_answerable"], metrics["n_unanswerable"]) == (2, 0, 2)


def test_compute_metrics_without_unanswerable_questions_or_abstentions() -> None:
    metrics = compute_metrics(MIXED[:3], k=5)
    assert metrics["abstain_precision"] is None  # never abstained
    assert metrics["abstain_recall"] is None  # nothing to abstain on
    assert metrics["answer_accuracy"] == pytest.approx(2 / 3)


def test_compute_metrics_everything_abstained() -> None:
    rows = [
        row("a1", abstained=True, correct=False, exact=0, f1=0.0, rank=1),
        row("a2", abstained=True, correct=False, exact=0, f1=0.0, rank=None),
        row("u1", golds=(), abstained=True),
    ]
    metrics = compute_metrics(rows, k=5, squad_v2=True)
    assert metrics["answer_accuracy"] == 0.0
    assert (metrics["exact_match"], metrics["f1"]) == (0.0, 0.0)
    assert (metrics["hit@5"], metrics["mrr"]) == (0.5, 0.5)
    assert metrics["abstain_precision"] == pytest.approx(1 / 3)
    assert metrics["abstain_recall"] == 1.0
    assert metrics["squad_v2_exact"] == pytest.approx(1 / 3)


# --- the report object --------------------------------------------------------------------------


def make_report() -> EvalReport:
    return EvalReport(
        metrics=compute_metrics(MIXED, k=5),
        questions=list(MIXED),
        index={"model": "bundled", "chunks": 3},
        settings={"k": 5, "mode": None, "min_score": None},
    )


def test_failures() -> None:
    assert [r.id for r in make_report().failures()] == ["a3", "a4", "u2"]


def test_json_round_trip(tmp_path: Path) -> None:
    report = make_report()
    path = report.write_json(tmp_path / "out" / "report.json")
    data = json.loads(path.read_text(encoding="utf-8"))
    assert list(data) == ["metrics", "settings", "questions", "index"]
    assert data["metrics"]["abstain_recall"] == 0.5
    assert data["index"] == {"model": "bundled", "chunks": 3}
    assert data["questions"][4] == {
        "id": "u1",
        "question": "u1?",
        "golds": [],
        "answerable": False,
        "answer": None,
        "span": None,
        "abstained": True,
        "correct": True,
        "exact_match": None,
        "f1": None,
        "rank": None,
        "score": 0.5,
        "latency_ms": 50.0,
        "doc_id": None,
        "answer_doc_id": None,
    }
    assert EvalReport.read_json(path) == report


def test_null_metric_in_json(tmp_path: Path) -> None:
    report = EvalReport(metrics=compute_metrics(MIXED[:3], k=5), questions=list(MIXED[:3]))
    text = report.write_json(tmp_path / "report.json").read_text(encoding="utf-8")
    assert '"abstain_recall": null' in text


def test_write_csv(tmp_path: Path) -> None:
    report = EvalReport(
        metrics={},
        questions=[row("a1", golds=("RM10 million", "RM10m"), span="RM10 million", latency=2.5)],
    )
    with report.write_csv(tmp_path / "rows.csv").open(encoding="utf-8", newline="") as handle:
        rows = list(csv.reader(handle))
    assert rows == [
        [
            "id",
            "question",
            "golds",
            "answerable",
            "answer",
            "span",
            "abstained",
            "correct",
            "exact_match",
            "f1",
            "rank",
            "score",
            "latency_ms",
            "doc_id",
            "answer_doc_id",
        ],
        [
            "a1",
            "a1?",
            "RM10 million|RM10m",
            "True",
            "The answer RM10 million.",
            "RM10 million",
            "False",
            "True",
            "1",
            "1.0",
            "1",
            "0.5",
            "2.5",
            "",
            "",
        ],
    ]


def test_summary_table() -> None:
    report = EvalReport(metrics=compute_metrics(MIXED[:3], k=5), questions=list(MIXED[:3]))
    lines = report.summary_table().splitlines()
    assert lines[0].split() == ["metric", "value"]
    table = dict(line.split() for line in lines[2:])
    assert table == {
        "answer_accuracy": "0.667",
        "exact_match": "0.333",
        "f1": "0.583",
        "hit@1": "0.333",
        "hit@5": "0.667",
        "mrr": "0.444",
        "abstain_precision": "n/a",
        "abstain_recall": "n/a",
        "n": "3",
        "n_answerable": "3",
        "n_unanswerable": "0",
        "latency_ms_p50": "20.0",
        "latency_ms_p95": "29.0",
    }


def test_repr() -> None:
    assert repr(make_report()) == (
        "<EvalReport n=6 (4 answerable, 2 unanswerable), k=5: answer_accuracy=0.500, "
        "exact_match=0.250, f1=0.438, hit@5=0.750, mrr=0.458, abstain_recall=0.500; 3 failures>"
    )


def test_to_dataframe() -> None:
    frame = make_report().to_dataframe()
    assert list(frame["id"]) == ["a1", "a2", "a3", "a4", "u1", "u2"]
    assert frame.loc[4, "golds"] == []
    assert list(frame.columns)[:3] == ["id", "question", "golds"]


def test_to_dataframe_without_pandas(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "pandas", None)
    with pytest.raises(ImportError, match=r"needs pandas.*pip install pandas"):
        make_report().to_dataframe()


# --- evaluate() with a scripted index: batching, settings, argument checks ----------------------


class ScriptedIndex:
    """Answers from a table; a stand-in for ``qa.Index`` that keeps these unit tests instant."""

    def __init__(self, answers: dict[str, Answer]) -> None:
        self.manifest = {"model": "scripted", "chunks": 2}
        self.reader = "scripted"
        self.answers = answers
        self.calls: list[tuple[list[str], dict[str, Any]]] = []

    def ask_many(self, questions: list[str], k: int = 5, **options: Any) -> list[Answer]:
        self.calls.append((questions, {"k": k, **options}))
        return [self.answers[q] for q in questions]


QUESTIONS = [
    Question("q1", "How much?", ("RM10 million",)),
    Question("q2", "Who heads it?", ()),
    Question("q3", "When?", ("2025",)),
]


def scripted() -> ScriptedIndex:
    return ScriptedIndex(
        {
            "How much?": answer(SENTENCE),
            "Who heads it?": answer(None),
            "When?": answer("The office opened in December 2024."),
        }
    )


def test_evaluate_batches_and_records_settings() -> None:
    index = scripted()
    report = evaluate(QUESTIONS, index=index, k=3, mode="keyword", min_score=0.2, batch_size=2)  # type: ignore[arg-type]
    options = {"k": 3, "mode": "keyword", "min_score": 0.2}
    assert index.calls == [
        (["How much?"], options),  # the untimed warm-up
        (["How much?", "Who heads it?"], options),
        (["When?"], options),
    ]
    assert [r.correct for r in report.questions] == [True, True, False]
    assert report.questions[0].latency_ms == report.questions[1].latency_ms  # one batch
    assert report.index == {"model": "scripted", "chunks": 2}
    assert report.settings == {
        "k": 3,
        "reader": "scripted",
        "mode": "keyword",
        "min_score": 0.2,
        "batch_size": 2,
    }
    assert report.metrics["answer_accuracy"] == 0.5
    assert report.metrics["hit@3"] == 0.5
    assert "squad_v2_exact" not in report.metrics


def test_evaluate_reads_a_path_and_detects_squad_v2(tmp_path: Path) -> None:
    qas = [
        {
            "id": "q1",
            "question": "How much?",
            "answers": [{"text": "RM10 million", "answer_start": 0}],
        },
        {"id": "q2", "question": "Who heads it?", "answers": [], "is_impossible": True},
    ]
    path = tmp_path / "dev.json"
    paragraph = {"context": SENTENCE, "qas": qas}
    data = {"version": "v2.0", "data": [{"title": "NAIO", "paragraphs": [paragraph]}]}
    path.write_text(json.dumps(data), encoding="utf-8")
    report = evaluate(path, index=scripted())  # type: ignore[arg-type]
    assert report.settings["questions"] == str(path)
    assert report.settings["format"] == "squad-v2.0"
    assert report.questions[0].doc_id == "NAIO"
    # q1: sentence without span, EM 0, F1 2/9 ... q2: abstained, scores 1.
    f1 = max_over_golds(SENTENCE, ["RM10 million"])[1]
    assert report.metrics["squad_v2_exact"] == 0.5
    assert report.metrics["squad_v2_f1"] == pytest.approx((f1 + 1) / 2)
    assert "squad_v2_exact" not in evaluate(path, index=scripted(), squad_v2=False).metrics  # type: ignore[arg-type]


def test_evaluate_keeps_the_questions_of_one_split(tmp_path: Path) -> None:
    def article(title: str, question: str) -> dict[str, Any]:
        qa = {"id": title, "question": question, "answers": [], "is_impossible": True}
        return {"title": title, "paragraphs": [{"context": SENTENCE, "qas": [qa]}]}

    path = tmp_path / "dev.json"
    data = [article("NAIO", "Who heads it?"), article("Other", "How much?")]
    path.write_text(json.dumps({"version": "v2.0", "data": data}), encoding="utf-8")
    (tmp_path / "splits.json").write_text(json.dumps({"tune": ["Other"], "test": ["NAIO"]}))
    index = scripted()
    report = evaluate(path, index=index, split="test")  # type: ignore[arg-type]
    assert [row.id for row in report.questions] == ["NAIO"]
    assert report.settings["split"] == "test"
    assert index.calls[-1][0] == ["Who heads it?"]
    with pytest.raises(qa.QuestionSetError, match="no split 'dev'; choose one of test, tune"):
        evaluate(path, index=index, split="dev")  # type: ignore[arg-type]
    with pytest.raises(qa.QuestionSetError, match="Could not read the splits file"):
        evaluate(path, index=index, split="test", splits=tmp_path / "none.json")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"k": 0}, ValueError, r"k must be a positive integer, got 0"),
        ({"k": 2.5}, ValueError, r"k must be a positive integer, got 2\.5"),
        ({"batch_size": 0}, ValueError, r"batch_size must be a positive integer"),
    ],
)
def test_evaluate_bad_arguments(
    kwargs: dict[str, Any], error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=message):
        evaluate(QUESTIONS, index=scripted(), **kwargs)  # type: ignore[arg-type]


def test_evaluate_rejects_empty_and_foreign_questions() -> None:
    with pytest.raises(ValueError, match="questions is empty"):
        evaluate([], index=scripted())  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"got an item of type str; build them with load_questions"):
        evaluate(["How much?"], index=scripted())  # type: ignore[arg-type,list-item]


def test_evaluate_missing_question_file(tmp_path: Path) -> None:
    with pytest.raises(qa.QuestionSetError, match="does not exist"):
        evaluate(tmp_path / "nope.jsonl", index=scripted())  # type: ignore[arg-type]


def test_qa_evaluate_stays_the_function_after_importing_the_module() -> None:
    # ``qa.evaluate`` is both a function and a submodule name: importing the submodule late
    # must not replace the function on the package.
    code = (
        "import qa; from qa.evaluate import EvalReport; import qa.evaluate; "
        "assert callable(qa.evaluate), qa.evaluate; assert qa.EvalReport is EvalReport"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


# --- the real path: bundled model, real FAISS index ---------------------------------------------

CORPUS = {
    "fruit.txt": (
        "The zorblax fruit is bright purple and tastes of pepper. "
        "It grows only on the island of Quenmore. "
        "Farmers harvest it every October."
    ),
    "bridge.txt": (
        "The Harrowgate Bridge was opened in 1887. "
        "It is 412 metres long and crosses the river Tamsel. "
        "It was designed by the engineer Miriam Okafor."
    ),
    "choir.txt": (
        "The Velden Choir has 64 singers. "
        "It was founded by the organist Piet Halvers. "
        "The choir sings every Sunday in the old cathedral."
    ),
}

REAL_QUESTIONS: list[dict[str, Any]] = [
    {
        "id": "r1",
        "question": "What colour is the zorblax fruit?",
        "answers": ["bright purple", "purple"],
    },
    {"id": "r2", "question": "How long is the Harrowgate Bridge?", "answers": ["412 metres"]},
    {"id": "r3", "question": "Who founded the Velden Choir?", "answers": ["Piet Halvers"]},
    {"id": "r4", "question": "When was the Harrowgate Bridge opened?", "answers": ["1887"]},
    {"id": "r5", "question": "Who designed the bridge?", "answers": ["Miriam Okafor"]},
    {"id": "r6", "question": "What is the capital of Peru?", "answers": []},
]


@pytest.fixture(scope="session")
def real_index(tmp_path_factory: pytest.TempPathFactory) -> tuple[qa.Index, Path]:
    root = tmp_path_factory.mktemp("eval")
    corpus = root / "corpus"
    corpus.mkdir()
    for name, text in CORPUS.items():
        (corpus / name).write_text(text + "\n", encoding="utf-8")
    index_dir = root / "index"
    return qa.build_index(corpus, index_dir, show_progress=False), index_dir


@pytest.fixture()
def question_file(tmp_path: Path) -> Path:
    path = tmp_path / "questions.jsonl"
    path.write_text("".join(json.dumps(q) + "\n" for q in REAL_QUESTIONS), encoding="utf-8")
    return path


def test_evaluate_on_a_real_index(real_index: tuple[qa.Index, Path], question_file: Path) -> None:
    index, _ = real_index
    report = evaluate(question_file, index=index, k=3)
    assert isinstance(report, EvalReport)
    assert list(report.metrics) == [
        "answer_accuracy",
        "exact_match",
        "f1",
        "hit@1",
        "hit@3",
        "mrr",
        "abstain_precision",
        "abstain_recall",
        "n",
        "n_answerable",
        "n_unanswerable",
        "latency_ms_p50",
        "latency_ms_p95",
    ]
    assert (
        report.metrics["n"],
        report.metrics["n_answerable"],
        report.metrics["n_unanswerable"],
    ) == (
        6,
        5,
        1,
    )
    assert report.index == index.manifest
    assert report.settings["format"] == "jsonl"
    # Each row agrees with what the index answers and retrieves for that question alone.
    for result in report.questions:
        single = index.ask(result.question, k=3)
        assert (result.abstained, result.answer) == (single.abstained, single.text)
        if result.answerable:
            assert result.correct == (
                not single.abstained and contains_answer(single.text or "", result.golds)
            )
            assert result.rank == first_relevant_rank(
                index.retrieve(result.question, k=3), result.golds
            )
        else:
            assert result.correct == single.abstained
    # One passage per document, three topics: the right one comes first for every question.
    assert [r.rank for r in report.questions] == [1, 1, 1, 1, 1, None]
    assert (report.metrics["hit@1"], report.metrics["hit@3"], report.metrics["mrr"]) == (
        1.0,
        1.0,
        1.0,
    )
    # The fact sits in the answer sentence itself: these two are answered right.
    assert [r.correct for r in report.questions if r.id in ("r1", "r4")] == [True, True]
    accuracy = sum(r.correct for r in report.questions if r.answerable) / 5
    assert report.metrics["answer_accuracy"] == pytest.approx(accuracy)


def test_evaluate_on_a_real_index_passes_the_mode(real_index: tuple[qa.Index, Path]) -> None:
    index, _ = real_index
    questions = [Question(q["id"], q["question"], tuple(q["answers"])) for q in REAL_QUESTIONS]
    texts = [q.question for q in questions]
    for mode in ("dense", "keyword", "hybrid"):
        report = evaluate(questions, index=index, k=2, mode=mode)
        assert report.settings["mode"] == mode
        expected = index.ask_many(texts, k=2, mode=mode)
        assert [r.answer for r in report.questions] == [a.text for a in expected]
        assert [r.rank for r in report.questions] == [
            first_relevant_rank(a.citations, q.answers) if q.answerable else None
            for q, a in zip(questions, expected, strict=True)
        ]


def test_evaluate_defaults_to_the_default_index_and_ships_a_question_set() -> None:
    report = qa.evaluate(REPO / "questions" / "default.jsonl")
    assert report.metrics["n"] == 54
    assert report.metrics["n_unanswerable"] == 11
    assert report.index == qa.load_index().manifest
    assert all(r.rank is None or 1 <= r.rank <= 5 for r in report.questions)


def test_cli_eval_end_to_end(
    real_index: tuple[qa.Index, Path], question_file: Path, tmp_path: Path
) -> None:
    _, index_dir = real_index
    report_path, rows_path = tmp_path / "report.json", tmp_path / "rows.csv"
    command = [sys.executable, "-m", "qa", "eval", str(question_file), "--index", str(index_dir)]
    command += ["--k", "3", "--output", str(report_path), "--csv", str(rows_path)]
    result = subprocess.run(command, capture_output=True, text=True, cwd=tmp_path, timeout=300)
    assert result.returncode == 0, result.stderr
    assert re.search(r"^hit@3\s+1\.000$", result.stdout, re.MULTILINE), result.stdout
    assert re.search(r"^n_unanswerable\s+1$", result.stdout, re.MULTILINE), result.stdout
    report = EvalReport.read_json(report_path)
    assert report.metrics["n"] == 6
    assert report.settings["k"] == 3
    assert report.index == qa.load_index(index_dir).manifest
    with rows_path.open(encoding="utf-8", newline="") as handle:
        assert [r["id"] for r in csv.DictReader(handle)] == [q["id"] for q in REAL_QUESTIONS]


def test_cli_eval_bad_question_file(real_index: tuple[qa.Index, Path], tmp_path: Path) -> None:
    _, index_dir = real_index
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"question": "Q?"}\n', encoding="utf-8")
    command = [sys.executable, "-m", "qa", "eval", str(bad), "--index", str(index_dir)]
    result = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert result.returncode != 0
    assert "bad.jsonl, line 1: 'answers' is missing" in result.stderr
    assert "Traceback" not in result.stderr


@needs_squad
def test_evaluate_squad_v2_sample_on_a_real_index(tmp_path: Path) -> None:
    data = json.loads((SQUAD / "dev-v2.0.json").read_text(encoding="utf-8"))
    article = data["data"][0]
    paragraphs: list[dict[str, Any]] = article["paragraphs"][:3]
    sample = {"version": "v2.0", "data": [{**article, "paragraphs": paragraphs}]}
    questions = tmp_path / "sample.json"
    questions.write_text(json.dumps(sample), encoding="utf-8")
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    text = "\n\n".join(p["context"] for p in paragraphs)
    (corpus / "normans.txt").write_text(text + "\n", encoding="utf-8")
    index = qa.build_index(corpus, tmp_path / "index", show_progress=False)

    report = evaluate(questions, index=index, k=3)
    n = sum(len(p["qas"]) for p in paragraphs)
    assert report.metrics["n"] == n
    assert report.settings["format"] == "squad-v2.0"
    expected = [
        float(r.exact_match or 0) if r.answerable else float(r.abstained) for r in report.questions
    ]
    assert report.metrics["squad_v2_exact"] == pytest.approx(sum(expected) / n)
    assert report.metrics["squad_v2_f1"] is not None
