"""The web chat: a Gradio app that formats what the library returns, and an ``/ask`` API.

One job per module, data flowing one way (library -> format -> chat -> layout -> server):

- ``qa.web.format``: Answers as escaped HTML (replies, sources panel), pure, no Gradio;
- ``qa.web.api``: Answers as the ``/ask`` endpoint's JSON;
- ``qa.web.feedback``: thumbs up/down as question-set rows in the feedback file;
- ``qa.web.chat``: follow-up questions, the session's state, and each chat turn;
- ``qa.web.examples``: the example questions, taken from the corpus's question set;
- ``qa.web.layout``: the Gradio page, ``build_demo``, wiring components to ``Chat``;
- ``qa.web.server``: the address, ``launch`` and ``serve``.

Gradio is imported only when a page is built or served.
"""

from __future__ import annotations

from qa.web.api import answer_to_json, ask_endpoint
from qa.web.chat import (
    REFERRING_WORDS,
    Chat,
    ChatState,
    answer_in_context,
    contextual_question,
    is_follow_up,
    same_sentence,
)
from qa.web.examples import example_questions, examples_for, question_set_of
from qa.web.feedback import append_feedback, feedback_path, feedback_row
from qa.web.format import (
    format_answer,
    format_question,
    format_sources,
    highlight,
    holders,
    snippet,
    where,
)
from qa.web.layout import build_demo
from qa.web.server import launch, serve, server_address

__all__ = [
    "REFERRING_WORDS",
    "Chat",
    "ChatState",
    "answer_in_context",
    "answer_to_json",
    "append_feedback",
    "ask_endpoint",
    "build_demo",
    "contextual_question",
    "example_questions",
    "examples_for",
    "feedback_path",
    "feedback_row",
    "format_answer",
    "format_question",
    "format_sources",
    "highlight",
    "holders",
    "is_follow_up",
    "launch",
    "question_set_of",
    "same_sentence",
    "serve",
    "server_address",
    "snippet",
    "where",
]
