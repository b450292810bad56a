"""SQuAD metrics against the official definitions, scoring one answer, and aggregating rows."""

from __future__ import annotations

import collections
import importlib
import re
import string
from collections.abc import Sequence

import numpy as np
import pytest
from eval_rows import MIXED, SENTENCE, answer, passage, row
from hypothesis import given, settings
from hypothesis import strategies as st

import qa.metrics
from qa.metrics import (
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
from qa.questions import Question

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


def test_the_metric_names_stay_importable_from_qa_evaluate() -> None:
    # ``qa.evaluate`` is the function, so the module is reached by its import name.
    evaluate_module = importlib.import_module("qa.evaluate")
    for name in ("normalize_answer", "contains_answer", "percentile", "compute_metrics"):
        assert getattr(evaluate_module, name) is getattr(qa.metrics, name), name
