"""The conversation: follow-ups asked with their topic, the session's state, each turn."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, cast

import pytest
from web_answers import DOC, abstained, found

from qa.errors import EmptyQuestionError
from qa.types import Answer
from qa.web.chat import (
    Chat,
    ChatState,
    answer_in_context,
    contextual_question,
    is_follow_up,
    record_thumb,
    same_sentence,
)
from qa.web.format import format_answer, format_question, format_sources

# --- follow-ups ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ("When was it launched?", True),
        ("What do they fund?", True),
        ("Is This new?", True),
        ("Who funds NAIO?", False),
        ("What is Italy's budget?", False),  # "it" inside a word does not count
        ("Which items?", False),
    ],
)
def test_is_follow_up(question: str, expected: bool) -> None:
    assert is_follow_up(question) is expected


def test_contextual_question() -> None:
    assert contextual_question("When was it launched?", "What is NAIO?") == (
        "What is NAIO? When was it launched?"
    )
    assert contextual_question(" Who funds NAIO? ", "What is NAIO?") == "Who funds NAIO?"
    assert contextual_question("When was it launched?", None) == "When was it launched?"


def other_sentence(question: str) -> Answer:
    start = DOC.index("This funding")
    return Answer(question, DOC[start:], 0.6, "naio.md", start, len(DOC), None, [])


def test_same_sentence() -> None:
    assert same_sentence(found(), found(span=None))
    assert not same_sentence(found(), other_sentence("q"))
    assert not same_sentence(found(), None)
    assert not same_sentence(abstained(), abstained())


class FakeAsk:
    """Stands for Index.ask: canned answers by question, and the questions asked, in order."""

    def __init__(self, answers: dict[str, Answer]) -> None:
        self.answers = answers
        self.asked: list[str] = []

    def __call__(self, question: str) -> Answer:
        self.asked.append(question)
        return self.answers[question]


def test_answer_in_context_asks_a_follow_up_with_the_topic() -> None:
    ask = FakeAsk({"What is NAIO? What does it fund?": other_sentence("ctx")})
    got = answer_in_context(ask, "What does it fund?", "What is NAIO?", found())
    assert ask.asked == ["What is NAIO? What does it fund?"]
    assert got.question == "ctx"


def test_answer_in_context_asks_alone_when_the_topic_repeats_the_last_answer() -> None:
    ask = FakeAsk(
        {"What is NAIO? What does it fund?": found(), "What does it fund?": other_sentence("own")}
    )
    got = answer_in_context(ask, " What does it fund?", "What is NAIO?", found())
    assert ask.asked == ["What is NAIO? What does it fund?", "What does it fund?"]
    assert got.question == "own"


def test_answer_in_context_keeps_the_repeat_when_alone_abstains() -> None:
    ask = FakeAsk({"What is NAIO? What does it fund?": found(), "What does it fund?": abstained()})
    got = answer_in_context(ask, "What does it fund?", "What is NAIO?", found())
    assert same_sentence(got, found())


def test_answer_in_context_asks_other_questions_as_they_are() -> None:
    ask = FakeAsk({"Who funds NAIO?": found()})
    assert answer_in_context(ask, "Who funds NAIO?", "What is NAIO?", found()) == found()
    assert ask.asked == ["Who funds NAIO?"]


# --- the session and each turn -------------------------------------------------------------------


class FakeIndex:
    """Stands for an Index: ``ask`` gives canned answers and records how it was called."""

    reader = None

    def __init__(self, answers: dict[str, Answer]) -> None:
        self.answers = answers
        self.calls: list[tuple[str, int, str | None, float | None]] = []

    def ask(self, question: str, *, k: int, mode: str | None, min_score: float | None) -> Answer:
        self.calls.append((question, k, mode, min_score))
        if question not in self.answers:
            raise EmptyQuestionError(f"no canned answer for {question!r}")
        return self.answers[question]


def chat_over(answers: dict[str, Answer]) -> tuple[Chat, FakeIndex]:
    index = FakeIndex(answers)
    return Chat(cast(Any, index)), index


def test_answer_at_takes_an_index_or_gradios_list() -> None:
    state = ChatState(answers={1: found()})
    assert state.answer_at(1) == found()
    assert state.answer_at([1, 0]) == found()
    assert state.answer_at(0) is None


def test_a_turn_adds_the_question_and_reply_and_remembers_the_topic() -> None:
    chat, index = chat_over({"How much did NAIO get?": found()})
    state = ChatState()
    box, history, sources, state = chat.respond(
        "How much did NAIO get?", [], state, 3, "dense", 0.4
    )
    assert box == ""
    assert index.calls == [("How much did NAIO get?", 3, "dense", 0.4)]
    assert history == [
        {"role": "user", "content": format_question("How much did NAIO get?")},
        {"role": "assistant", "content": format_answer(found(), asked="How much did NAIO get?")},
    ]
    assert sources == format_sources(found())
    assert (state.topic, state.last, state.answers) == (
        "How much did NAIO get?",
        found(),
        {1: found()},
    )


def test_a_follow_up_turn_is_asked_with_the_topic_and_keeps_it() -> None:
    follow = "How much did NAIO get? What does it fund?"
    chat, index = chat_over({follow: other_sentence(follow)})
    state = ChatState(topic="How much did NAIO get?", last=found(), answers={1: found()})
    _, history, _, state = chat.respond("What does it fund?", [{}, {}], state, 5, "", 0.2)
    assert index.calls == [(follow, 5, None, 0.2)]  # an empty mode is the library's default
    assert "Follow-up, asked as" in history[-1]["content"]
    assert state.topic == "How much did NAIO get?"
    assert state.answers == {1: found(), 3: other_sentence(follow)}


def test_a_user_error_reaches_the_page_as_a_gradio_error() -> None:
    import gradio as gr

    chat, _ = chat_over({})
    with pytest.raises(gr.Error, match="no canned answer for 'Why\\?'"):
        chat.ask("Why?")


def test_clear_empties_the_sources_and_the_state() -> None:
    assert Chat.clear() == (format_sources(None), ChatState())


def test_thumbs_record_a_row_only_for_an_answer(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "feedback.jsonl"
    monkeypatch.setenv("QA_FEEDBACK_FILE", str(target))
    state = ChatState(answers={1: found(), 3: abstained()})
    record_thumb(state, 0, True)  # the user's own question
    record_thumb(state, [1], None)  # a thumb taken back
    assert not target.exists()
    record_thumb(state, [1], True)
    record_thumb(state, 3, False)
    rows = [json.loads(line) for line in target.read_text(encoding="utf-8").splitlines()]
    assert [(r["question"], r["feedback"], r["answers"]) for r in rows] == [
        ("How much did NAIO get?", "up", ["RM10 million"]),
        ("What is the capital of France?", "down", []),
    ]
