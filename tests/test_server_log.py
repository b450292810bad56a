"""User errors are not server errors: a bad question on ``/ask`` logs one warning line, no
traceback, and the client still gets the message. A real server (``python app.py``, the shared
``web_app``) with its log read as it is written; then the endpoint's handling, unit by unit."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from web_answers import found
from webserver import WebApp, web_app

from qa.errors import EmptyQuestionError
from qa.types import Answer
from qa.web.api import ask_endpoint
from qa.web.chat import MAX_QUESTION_CHARS

__all__ = ["web_app"]  # the shared fixture, imported for pytest to find

EMPTY = "The question is empty; ask something about the documents"
NULL = "The question must be text, got nothing (null); send one question as a string"
LONG = (
    f"The question is {MAX_QUESTION_CHARS + 1:,} characters long; ask it in at most "
    f"{MAX_QUESTION_CHARS:,} characters"
)


# --- a real server -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def client(web_app: WebApp) -> Any:
    from gradio_client import Client

    return Client(web_app.url, verbose=False)


@pytest.mark.parametrize(
    ("question", "message"),
    [("   ", EMPTY), (None, NULL), ("x" * (MAX_QUESTION_CHARS + 1), LONG)],
    ids=["empty", "null", "oversized"],
)
def test_a_bad_question_logs_one_warning_line_and_no_traceback(
    web_app: WebApp, client: Any, question: object, message: str
) -> None:
    from gradio_client.exceptions import AppError

    before = web_app.log_file.read_text(encoding="utf-8")
    with pytest.raises(AppError) as raised:
        client.predict(question, api_name="/ask")
    assert str(raised.value) == message  # the client gets the message
    # The server logged it before answering, so it is in the log now.
    logged = web_app.log_file.read_text(encoding="utf-8")[len(before) :]
    assert "Traceback" not in logged
    assert logged.splitlines() == [f"qa: Refused a question: {message}"]


def test_a_good_question_logs_nothing(web_app: WebApp, client: Any) -> None:
    before = web_app.log_file.read_text(encoding="utf-8")
    result = client.predict("Who owns the Okapi farm?", api_name="/ask")
    assert "Maria Lopes" in result["answer"]
    assert web_app.log_file.read_text(encoding="utf-8")[len(before) :] == ""


# --- the endpoint over any ask -------------------------------------------------------------------


def refuse(question: str) -> Answer:
    raise EmptyQuestionError(EMPTY)


def test_the_endpoint_refuses_a_library_user_error_as_a_gradio_error(
    caplog: pytest.LogCaptureFixture,
) -> None:
    import gradio as gr

    with caplog.at_level(logging.WARNING, logger="qa.web"), pytest.raises(gr.Error) as raised:
        ask_endpoint(refuse)("   ")
    assert (raised.value.message, raised.value.print_exception) == (EMPTY, False)
    assert [(r.levelname, r.getMessage()) for r in caplog.records] == [
        ("WARNING", f"Refused a question: {EMPTY}")
    ]


@pytest.mark.parametrize(
    ("question", "message"),
    [(None, NULL), (["a", "b"], "got a value of type list"), ("x" * 5000, "5,000 characters")],
)
def test_the_endpoint_refuses_what_is_not_a_question_without_asking(
    caplog: pytest.LogCaptureFixture, question: object, message: str
) -> None:
    import gradio as gr

    asked: list[str] = []

    def ask(question: str) -> Answer:
        asked.append(question)
        return found()

    with caplog.at_level(logging.WARNING, logger="qa.web"), pytest.raises(gr.Error) as raised:
        ask_endpoint(ask)(question)
    assert message in raised.value.message and raised.value.print_exception is False
    assert asked == []
    assert len(caplog.records) == 1


def test_the_endpoint_leaves_a_real_bug_to_gradio(caplog: pytest.LogCaptureFixture) -> None:
    def broken(question: str) -> Answer:
        raise RuntimeError("the index broke")

    with caplog.at_level(logging.WARNING, logger="qa.web"), pytest.raises(RuntimeError):
        ask_endpoint(broken)("Who owns the farm?")
    assert caplog.records == []  # Gradio prints its traceback: a real bug should be seen


def test_the_endpoint_answers_a_good_question() -> None:
    assert ask_endpoint(lambda q: found())("How much did NAIO get?")["answer"] == found().text
