"""Thumbs on answers become question-set rows in the feedback file."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from web_answers import SENTENCE, abstained, found

from qa.web.feedback import append_feedback, feedback_path, feedback_row

# --- feedback ------------------------------------------------------------------------------------


def test_feedback_up_on_an_answer_is_a_regression_case() -> None:
    assert feedback_row(found(), True, row_id="f1") == {
        "question": "How much did NAIO get?",
        "answers": ["RM10 million"],
        "id": "f1",
        "doc_id": "naio.md",
        "feedback": "up",
    }
    assert feedback_row(found(span=None), True, row_id="f1")["answers"] == [SENTENCE]


def test_feedback_down_on_an_answer_needs_review() -> None:
    assert feedback_row(found(), False, row_id="f2") == {
        "question": "How much did NAIO get?",
        "answers": [],
        "id": "f2",
        "feedback": "down",
        "needs_review": True,
        "rejected": SENTENCE,
    }


def test_feedback_on_an_abstention() -> None:
    assert feedback_row(abstained(), True, row_id="f3") == {
        "question": "What is the capital of France?",
        "answers": [],
        "id": "f3",
        "feedback": "up",
    }
    assert feedback_row(abstained(), False, row_id="f4")["needs_review"] is True


def test_feedback_ids_are_unique() -> None:
    assert feedback_row(found(), True)["id"] != feedback_row(found(), True)["id"]


def test_feedback_file_is_a_readable_question_set(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from qa.questions import load_questions

    target = tmp_path / "fb" / "feedback.jsonl"
    monkeypatch.setenv("QA_FEEDBACK_FILE", str(target))
    assert feedback_path() == target
    append_feedback(feedback_row(found(), True, row_id="a"))
    append_feedback(feedback_row(abstained(), True, row_id="b"))
    lines = target.read_text(encoding="utf-8").splitlines()
    assert [json.loads(line)["id"] for line in lines] == ["a", "b"]
    questions = load_questions(target)
    assert [(q.id, q.answers, q.doc_id) for q in questions] == [
        ("a", ("RM10 million",), "naio.md"),
        ("b", (), None),
    ]


def test_feedback_file_defaults_to_the_current_folder(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("QA_FEEDBACK_FILE", raising=False)
    assert str(feedback_path()) == "feedback.jsonl"
