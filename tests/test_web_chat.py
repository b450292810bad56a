"""The conversation: follow-ups asked with their topic, the session's state, each turn."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any, cast

import pytest
from web_answers import DOC, abstained, found

from qa.errors import EmptyQuestionError
from qa.types import Answer
from qa.web.chat import (
    MAX_QUESTION_CHARS,
    Chat,
    ChatState,
    answer_in_context,
    checked_question,
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


def test_a_user_error_reaches_the_page_as_a_gradio_error(caplog: pytest.LogCaptureFixture) -> None:
    import gradio as gr

    chat, _ = chat_over({})
    with (
        caplog.at_level(logging.WARNING, logger="qa.web"),
        pytest.raises(gr.Error, match="no canned answer for 'Why\\?'") as raised,
    ):
        chat.ask("Why?")
    assert raised.value.print_exception is False  # Gradio prints no traceback for it
    assert [(r.name, r.levelname, r.getMessage()) for r in caplog.records] == [
        ("qa.web.chat", "WARNING", "Refused a question: no canned answer for 'Why?'")
    ]
    assert all(r.exc_info is None for r in caplog.records)


def test_a_real_bug_is_no_user_error(caplog: pytest.LogCaptureFixture) -> None:
    class Broken(FakeIndex):
        def ask(self, question: str, **options: Any) -> Answer:
            raise RuntimeError("the index broke")

    chat = Chat(cast(Any, Broken({})))
    with caplog.at_level(logging.WARNING, logger="qa.web"), pytest.raises(RuntimeError):
        chat.ask("Why?")  # left to Gradio, which prints its traceback
    assert caplog.records == []


@pytest.mark.parametrize(
    ("question", "message"),
    [
        (None, "The question must be text, got nothing (null); send one question as a string"),
        (42, "The question must be text, got a value of type int; send one question as a string"),
        (
            "x" * (MAX_QUESTION_CHARS + 1),
            f"The question is {MAX_QUESTION_CHARS + 1:,} characters long; ask it in at most "
            f"{MAX_QUESTION_CHARS:,} characters",
        ),
    ],
)
def test_checked_question_refuses_what_is_not_a_question(
    caplog: pytest.LogCaptureFixture, question: object, message: str
) -> None:
    import gradio as gr

    with caplog.at_level(logging.WARNING, logger="qa.web"), pytest.raises(gr.Error) as raised:
        checked_question(question)
    assert raised.value.message == message
    assert raised.value.print_exception is False
    assert caplog.messages == [f"Refused a question: {message}"]


def test_checked_question_passes_text_as_it_is() -> None:
    padded = "  " + "y" * MAX_QUESTION_CHARS + "  "  # the white space around it does not count
    assert checked_question(padded) == padded
    assert checked_question("   ") == "   "  # the library refuses an empty one


def test_a_turn_refuses_an_oversized_question_without_asking(
    caplog: pytest.LogCaptureFixture,
) -> None:
    import gradio as gr

    chat, index = chat_over({})
    with caplog.at_level(logging.WARNING, logger="qa.web"), pytest.raises(gr.Error):
        chat.respond("x" * 5000, [], ChatState(), 5, "dense", 0.3)
    assert index.calls == []
    assert len(caplog.records) == 1


def test_a_turn_takes_no_question_as_an_empty_one(caplog: pytest.LogCaptureFixture) -> None:
    import gradio as gr

    chat, index = chat_over({})
    with caplog.at_level(logging.WARNING, logger="qa.web"), pytest.raises(gr.Error):
        chat.respond(cast(Any, None), [], ChatState(), 5, "dense", 0.3)
    assert [call[0] for call in index.calls] == [""]
    assert caplog.messages == ["Refused a question: no canned answer for ''"]


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
