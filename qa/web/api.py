"""The HTTP API's JSON: ``answer_to_json`` of an Answer, and the ``/ask`` endpoint that returns it.

The endpoint answers with the library's default k, retrieval mode and abstention threshold; it
is the one function the app exposes to API clients (``gradio_client`` or plain HTTP).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from qa.types import Answer


def answer_to_json(answer: Answer) -> dict[str, Any]:
    """``answer`` as the JSON the ``/ask`` endpoint returns.

    Keys: ``question``, ``answer`` (the sentence, or None when abstaining), ``abstained``,
    ``score``, ``doc_id``, ``start``, ``end`` (where the sentence lies, or None), ``span``
    (``{"start", "end"}`` of the exact answer in document ``doc_id``, or None) and
    ``citations`` (``rank``, ``doc_id``, ``title``, ``start``, ``end``, ``text``, ``score``).
    """
    span = None if answer.span is None else {"start": answer.span[0], "end": answer.span[1]}
    return {
        "question": answer.question,
        "answer": answer.text,
        "abstained": bool(answer.abstained),
        "score": float(answer.score),
        "doc_id": answer.doc_id,
        "start": None if answer.start is None else int(answer.start),
        "end": None if answer.end is None else int(answer.end),
        "span": None if span is None else {k: int(v) for k, v in span.items()},
        "citations": [
            {
                "rank": int(p.rank),
                "doc_id": p.doc_id,
                "title": p.title,
                "start": int(p.start),
                "end": int(p.end),
                "text": p.text,
                "score": float(p.score),
            }
            for p in answer.citations
        ],
    }


def ask_endpoint(ask: Callable[[str], Answer]) -> Callable[[str], dict[str, Any]]:
    """The ``/ask`` endpoint over ``ask`` (one question in, its Answer out, with the library's
    defaults). Gradio shows the endpoint's docstring and type hints to API clients."""

    def endpoint(question: str) -> dict[str, Any]:
        """Answer one question from the documents: the quoted sentence (or an abstention), the
        exact span and the cited passages, with the library's default k, mode and threshold."""
        return answer_to_json(ask(question))

    return endpoint
