"""The answer-or-refuse decision as pure functions: its features and its probability."""

from __future__ import annotations

import math

import pytest

from qa.decision import FEATURES, Decision, content_words, features


def candidate(**changes: object) -> dict[str, float]:
    values: dict[str, object] = {
        "answer_logit": 1.5,
        "span_probability": 0.5,
        "span_logit": 9.0,
        "score": 0.8,
        "span": "RM10 million",
        "others": [(0.3, "rm10 million"), (0.6, "Google"), (0.1, "Tuesday")],
        "rank": 2,
        "sentence": "In 2025, the government allocated RM10 million to it.",
        "passage": "The office opened. In 2025, the government allocated RM10 million to it.",
    }
    values.update(changes)
    return features("How much did the government allocate to the office?", **values)  # type: ignore[arg-type]


def test_features_are_what_their_names_say() -> None:
    got = candidate()
    assert list(got) == list(FEATURES)
    assert got["answer_logit"] == 1.5
    assert got["log_span_probability"] == pytest.approx(math.log(0.5))
    assert got["margin"] == pytest.approx(0.8 - 0.6)  # against the best different span
    assert got["agreement"] == pytest.approx(1 / 3)  # one of three other windows says the same
    assert got["log_rank"] == pytest.approx(math.log(2))
    # Content words of the question: government, allocate, office ("much" is a stop word); the
    # sentence holds two of them, the passage all three.
    assert got["question_overlap"] == pytest.approx(2 / 3)
    assert got["passage_overlap"] == 1.0
    assert got["span_in_question"] == 0.0


def test_an_answer_that_repeats_the_question_is_marked() -> None:
    assert candidate(span="the government")["span_in_question"] == 1.0


def test_one_window_alone_has_no_agreement_and_no_margin_penalty() -> None:
    got = candidate(others=[])
    assert got["agreement"] == 0.0 and got["margin"] == pytest.approx(0.8)


def test_content_words_drop_stop_words_and_cut_to_a_stem() -> None:
    assert content_words("What is the Allocation of the offices?") == {"alloca", "office"}


def test_the_probability_follows_the_standardised_weights() -> None:
    decision = Decision.from_config(
        {
            "weights": {"answer_logit": 2.0},
            "mean": {"answer_logit": 1.0},
            "scale": {"answer_logit": 0.5},
            "bias": -1.0,
        }
    )
    # (2.0 - 1.0) / 0.5 * 2.0 - 1.0 = 3.0
    assert decision.probability({"answer_logit": 2.0}) == pytest.approx(1 / (1 + math.exp(-3.0)))
