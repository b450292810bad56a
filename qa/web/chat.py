"""The conversation: follow-up questions, what one browser session remembers, and each turn.

Follow-ups: a question that points back with one of ``REFERRING_WORDS`` ("it", "they", "this",
...) is asked together with the last question that did not, e.g. "When was it founded?" after
"Who owns the Okapi farm?" is asked as "Who owns the Okapi farm? When was it founded?", and the
reply says so; when that only gives back the answer already shown, the question on its own is
asked too, and its answer, if any, is shown (``answer_in_context``).

``Chat`` holds the callbacks that the layout wires to its components: they call ``Index.ask``
and format what it returns. No retrieval logic lives here; Gradio is imported only to raise
``gr.Error``.

A user's mistake (an empty, oversized or malformed question; see ``checked_question``) is no
server error: ``user_error`` logs it as one warning line of this module's logger, with no
traceback, and the page (or API client) gets the message. Tracebacks are for real bugs.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from qa.errors import QAError
from qa.retrieval import DEFAULT_K
from qa.types import Answer
from qa.web.feedback import append_feedback, feedback_row
from qa.web.format import format_answer, format_question, format_sources

if TYPE_CHECKING:
    from qa.index import Index

logger = logging.getLogger(__name__)

#: The longest question taken, in characters (the reader reads its first 64 tokens anyway).
MAX_QUESTION_CHARS = 1000

#: Words that point back to the previous question, making a question a follow-up.
REFERRING_WORDS = ("it", "its", "they", "them", "their", "this", "these", "those")
_REFERRING = re.compile(r"\b(?:" + "|".join(REFERRING_WORDS) + r")\b", re.IGNORECASE)


def is_follow_up(question: str) -> bool:
    """True when ``question`` refers back with one of ``REFERRING_WORDS``."""
    return _REFERRING.search(question) is not None


def contextual_question(question: str, topic: str | None) -> str:
    """The question to ask: ``question`` itself, or, for a follow-up, ``topic`` (the last
    question that was not a follow-up) followed by ``question``."""
    question = question.strip()
    if topic and is_follow_up(question):
        return f"{topic.strip()} {question}"
    return question


def user_error(message: str) -> Exception:
    """A ``gr.Error`` carrying ``message`` for the page or API client, for a user's mistake:
    logged here as one warning line, and not printed by Gradio with a traceback."""
    import gradio as gr

    logger.warning("Refused a question: %s", message)
    return gr.Error(message, print_exception=False)


def checked_question(question: object) -> str:
    """``question`` as received from a page or API client, if it is text of at most
    ``MAX_QUESTION_CHARS`` characters (an empty one is left for the library to refuse);
    otherwise raise ``user_error`` saying what is wrong."""
    if not isinstance(question, str):
        got = "nothing (null)" if question is None else f"a value of type {type(question).__name__}"
        raise user_error(f"The question must be text, got {got}; send one question as a string")
    length = len(question.strip())
    if length > MAX_QUESTION_CHARS:
        raise user_error(
            f"The question is {length:,} characters long; ask it in at most "
            f"{MAX_QUESTION_CHARS:,} characters"
        )
    return question


def same_sentence(answer: Answer, other: Answer | None) -> bool:
    """True when both answers quote the same sentence of the same document."""
    return (
        other is not None
        and not answer.abstained
        and not other.abstained
        and (answer.doc_id, answer.start, answer.end) == (other.doc_id, other.start, other.end)
    )


def answer_in_context(
    ask: Callable[[str], Answer], question: str, topic: str | None, previous: Answer | None
) -> Answer:
    """Answer ``question`` in a conversation, with ``ask`` (one library call per question).

    A follow-up is asked as ``contextual_question(question, topic)``. The topic's words pull
    the answer towards the one already given, so when that gives back the sentence of
    ``previous`` (the answer shown last), the follow-up is asked again on its own, and that
    answer wins unless it abstains.
    """
    asked = contextual_question(question, topic)
    answer = ask(asked)
    if asked != question.strip() and same_sentence(answer, previous):
        alone = ask(question.strip())
        if not alone.abstained:
            return alone
    return answer


@dataclass
class ChatState:
    """What one browser session remembers: the topic and last answer for follow-ups, and the
    Answer behind each assistant message (by its index in the chat) for feedback."""

    topic: str | None = None
    last: Answer | None = None
    answers: dict[int, Answer] = field(default_factory=dict)

    def answer_at(self, message: int | Sequence[int]) -> Answer | None:
        """The Answer shown as chat message ``message`` (an index, or Gradio's ``[index, ...]``),
        or None when that message is not an answer."""
        return self.answers.get(message if isinstance(message, int) else message[0])


def record_thumb(state: ChatState, message: int | Sequence[int], liked: object) -> None:
    """Append the feedback row of a thumb up (``liked`` True) or down (False) on chat message
    ``message``; a thumb taken back, or one on a message that is not an answer, records nothing."""
    answer = state.answer_at(message)
    if answer is None or liked not in (True, False):
        return
    append_feedback(feedback_row(answer, bool(liked)))


@dataclass(frozen=True)
class Chat:
    """The chat's callbacks over ``index``: each takes its components' values, returns theirs."""

    index: Index

    def ask(
        self,
        question: str,
        k: int = DEFAULT_K,
        mode: str | None = None,
        min_score: float | None = None,
    ) -> Answer:
        """``Index.ask``; a user's error (a ``QAError``, or a bad k or mode, named in its
        message) is raised as ``user_error`` of the library's message: one warning logged, no
        traceback."""
        try:
            return self.index.ask(question, k=int(k), mode=mode or None, min_score=min_score)
        except (QAError, ValueError) as exc:
            raise user_error(str(exc)) from exc

    def respond(
        self,
        question: str,
        history: list[dict[str, Any]],
        state: ChatState,
        k: int,
        mode: str,
        min_score: float,
    ) -> tuple[str, list[dict[str, Any]], str, ChatState]:
        """One turn: answer ``question`` in context; return the emptied question box, the chat
        with the question and reply added, the sources panel, and the session's state. A
        question that is not text, or is too long, is refused (``checked_question``)."""
        question = checked_question("" if question is None else question)
        answer = answer_in_context(
            lambda q: self.ask(q, k, mode, min_score), question, state.topic, state.last
        )
        if not is_follow_up(question) or state.topic is None:
            state.topic = question.strip()
        state.last = answer
        history = [
            *history,
            {"role": "user", "content": format_question(question)},
            {"role": "assistant", "content": format_answer(answer, asked=question)},
        ]
        state.answers[len(history) - 1] = answer
        return "", history, format_sources(answer), state

    @staticmethod
    def clear() -> tuple[str, ChatState]:
        """A cleared chat: the empty sources panel and a fresh session state."""
        return format_sources(None), ChatState()
