"""The HTTP API's JSON: ``answer_to_json`` of an Answer, and the ``/ask`` endpoint that returns it.

The endpoint answers with the library's default k, retrieval mode and abstention threshold; it
is the one function the app exposes to API clients (``gradio_client`` or plain HTTP). The CLI's
``qa ask --json`` prints the same JSON, with each passage's metadata added.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from qa.types import Answer


def answer_to_json(answer: Answer) -> dict[str, Any]:
    """``answer`` as the JSON the ``/ask`` endpoint returns: ``Answer.to_dict()``.

    Keys: ``question``, ``answer`` (the sentence, or None when abstaining), ``abstained``,
    ``score``, ``doc_id``, ``start``, ``end`` (where the sentence lies, or None), ``span``
    (``{"start", "end"}`` of the exact answer in document ``doc_id``, or None), ``citations``
    (each ``Passage.to_dict()``: ``rank``, ``doc_id``, ``title``, ``section`` and ``page``
    (None when unknown), ``start``, ``end``, ``text`` (the passage quoted) and ``score``) and
    ``closest`` (``Quote.to_dict()`` of the candidate an abstention was not sure of: ``text``,
    ``span``, ``span_text``, ``score``, ``doc_id``, ``start``, ``end`` and its ``citation``; or
    None).
    """
    return answer.to_dict()


def ask_endpoint(ask: Callable[[str], Answer]) -> Callable[[str], dict[str, Any]]:
    """The ``/ask`` endpoint over ``ask`` (one question in, its Answer out, with the library's
    defaults). Gradio shows the endpoint's docstring and type hints to API clients.

    A user's mistake is no server error: a question that is not text or is too long
    (``checked_question``), or one ``ask`` refuses with a ``QAError`` (an empty one), reaches
    the client as a ``gr.Error`` with the message and is logged as one warning line, without a
    traceback (``qa.web.chat.user_error``); a ``gr.Error`` that ``ask`` raises passes as it is.
    """
    from qa.errors import QAError
    from qa.web.chat import checked_question, user_error

    def endpoint(question: str) -> dict[str, Any]:
        """Answer one question from the documents: the quoted sentence (or an abstention), the
        exact span and the cited passages, with the library's default k, mode and threshold."""
        try:
            answer = ask(checked_question(question))
        except QAError as exc:
            raise user_error(str(exc)) from exc
        return answer_to_json(answer)

    return endpoint
