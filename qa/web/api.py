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
    """``answer`` as the JSON the ``/ask`` endpoint returns.

    Keys: ``question``, ``answer`` (the sentence, or None when abstaining), ``abstained``,
    ``score``, ``doc_id``, ``start``, ``end`` (where the sentence lies, or None), ``span``
    (``{"start", "end"}`` of the exact answer in document ``doc_id``, or None), ``citations``
    (each ``passage_to_json``) and ``closest`` (``quote_to_json`` of the candidate an abstention
    was not sure of, or None).
    """
    return {
        "question": answer.question,
        "answer": answer.text,
        "abstained": bool(answer.abstained),
        "score": float(answer.score),
        "doc_id": answer.doc_id,
        "start": None if answer.start is None else int(answer.start),
        "end": None if answer.end is None else int(answer.end),
        "span": _span_to_json(answer.span),
        "citations": [passage_to_json(p) for p in answer.citations],
        "closest": None if answer.closest is None else quote_to_json(answer.closest),
    }


def passage_to_json(passage: Passage) -> dict[str, Any]:
    """A cited passage as JSON: ``rank``, ``doc_id``, ``title``, ``start``, ``end``, ``text``,
    ``score``."""
    return {
        "rank": int(passage.rank),
        "doc_id": passage.doc_id,
        "title": passage.title,
        "start": int(passage.start),
        "end": int(passage.end),
        "text": passage.text,
        "score": float(passage.score),
    }


def quote_to_json(quote: Quote) -> dict[str, Any]:
    """An abstention's closest candidate as JSON: ``text`` (the sentence), ``span``
    (``{"start", "end"}``), ``span_text``, ``score``, ``doc_id``, ``start``, ``end`` (document
    offsets, as in ``answer_to_json``) and ``citation`` (``passage_to_json`` of the passage that
    holds it)."""
    return {
        "text": quote.text,
        "span": _span_to_json(quote.span),
        "span_text": quote.span_text,
        "score": float(quote.score),
        "doc_id": quote.doc_id,
        "start": int(quote.start),
        "end": int(quote.end),
        "citation": passage_to_json(quote.citation),
    }


def _span_to_json(span: tuple[int, int] | None) -> dict[str, int] | None:
    return None if span is None else {"start": int(span[0]), "end": int(span[1])}


def ask_endpoint(ask: Callable[[str], Answer]) -> Callable[[str], dict[str, Any]]:
    """The ``/ask`` endpoint over ``ask`` (one question in, its Answer out, with the library's
    defaults). Gradio shows the endpoint's docstring and type hints to API clients."""

    def endpoint(question: str) -> dict[str, Any]:
        """Answer one question from the documents: the quoted sentence (or an abstention), the
        exact span and the cited passages, with the library's default k, mode and threshold."""
        return answer_to_json(ask(question))

    return endpoint
