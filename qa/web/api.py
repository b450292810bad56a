"""The HTTP API's JSON: ``answer_to_json`` of an Answer, and the ``/ask`` endpoint that returns it.

The endpoint answers with the library's default k, retrieval mode and abstention threshold; it
is the one function the app exposes to API clients (``gradio_client`` or plain HTTP). The CLI's
``qa ask --json`` prints the same JSON, with each passage's metadata added.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from qa.types import Answer, Passage, Quote


def answer_to_json(answer: Answer) -> dict[str, Any]:
    """``answer`` as the JSON the ``/ask`` endpoint returns: ``Answer.to_dict()``.

    Keys: ``question``, ``answer`` (the sentence, or None when abstaining), ``abstained``,
    ``score``, ``doc_id``, ``start``, ``end`` (where the sentence lies, or None), ``span``
    (``{"start", "end"}`` of the exact answer in document ``doc_id``, or None), ``citations``
    (each ``passage_to_json``) and ``closest`` (``quote_to_json`` of the candidate an abstention
    was not sure of, or None).
    """
    return answer.to_dict()


def passage_to_json(passage: Passage) -> dict[str, Any]:
    """A cited passage as JSON, ``Passage.to_dict()``: ``rank``, ``doc_id``, ``title``,
    ``section`` and ``page`` (None when unknown), ``start``, ``end`` (character offsets in the
    document), ``text`` (the passage quoted, ``document.text[start:end]``) and ``score``."""
    return passage.to_dict()


def quote_to_json(quote: Quote) -> dict[str, Any]:
    """An abstention's closest candidate as JSON, ``Quote.to_dict()``: ``text`` (the sentence),
    ``span`` (``{"start", "end"}``), ``span_text``, ``score``, ``doc_id``, ``start``, ``end``
    (document offsets, as in ``answer_to_json``) and ``citation`` (``passage_to_json`` of the
    passage that holds it)."""
    return quote.to_dict()


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
