"""Answers as HTML for the chat: pure functions, Answer in, escaped HTML out; no Gradio.

Every piece of document text is untrusted. It is escaped with ``html.escape`` (``qa.render``)
and shown through components that do not run Markdown (the Chatbot has
``render_markdown=False``, the sources panel is a ``gr.HTML``), so ``<script>``,
``<img onerror>`` and ``![x](http://...)`` in a document are shown as text: never executed,
never fetched.

- ``format_answer``: the chat reply (the quoted sentence, its span marked, citation markers and
  source; for an abstention, "No passage answers this for certain." with the closest candidate
  sentence quoted the same way, or, without one, "Not found in the documents." with the closest
  passages);
- ``format_sources``: the sources panel (every cited passage, the answer highlighted in the
  passages that hold it);
- ``format_question``: the user's bubble;
- ``holders``: the cited passages that hold an answer's sentence.

The blocks come from ``qa.render`` (``answer_quote``, ``answer_sources`` and their pieces),
which the notebook displays of results (``Answer._repr_html_`` and the others) share, so both
quote and highlight the same way; ``highlight``, ``where`` and ``snippet`` are re-exported
from there.
"""

from __future__ import annotations

from qa.render import (
    CLOSEST_SAYS,
    SNIPPET_CHARS,
    UNSURE,
    answer_quote,
    answer_sources,
    esc,
    highlight,
    holding,
    inline,
    marker,
    not_found,
    snippet,
    source_label,
    where,
)
from qa.types import Answer, Passage

__all__ = [
    "CLOSEST_SAYS",
    "RELATED_IN_REPLY",
    "SNIPPET_CHARS",
    "UNSURE",
    "format_answer",
    "format_question",
    "format_sources",
    "highlight",
    "holders",
    "snippet",
    "where",
]

#: How many closest passages an abstention reply lists as possibly related.
RELATED_IN_REPLY = 3


def holders(answer: Answer) -> list[Passage]:
    """The cited passages that hold the answer sentence (overlapping chunks may give several)."""
    if answer.abstained:
        return []
    return holding(answer.doc_id, answer.start, answer.end, answer.citations)


def format_answer(answer: Answer, *, asked: str | None = None) -> str:
    """The chat reply for ``answer``, as HTML.

    An answer quotes its sentence with the exact span in ``<mark>`` and the numbered markers of
    the cited passages that hold it, then names their source. An abstention with a ``closest``
    candidate says no passage answers for certain and quotes that candidate the same way, with
    the passage it comes from; one without says the answer was not found in the documents and
    offers the closest passages. ``asked`` is the question as the user typed it; when the
    question asked was rewritten (a follow-up), the reply shows how.
    """
    parts = []
    if asked is not None and asked.strip() != answer.question.strip():
        parts.append(f'<p class="qa-note">Follow-up, asked as: “{inline(answer.question)}”</p>')
    parts.append(answer_quote(answer) or _format_abstention(answer))
    return '<div class="qa-reply">' + "".join(parts) + "</div>"


def _format_abstention(answer: Answer) -> str:
    related = answer.citations[:RELATED_IN_REPLY]
    out = not_found(answer.score, related=bool(related))
    if related:
        items = "".join(
            f"<li>{marker(p.rank)} {source_label(p)}"
            f'<br><q class="qa-snippet">{esc(snippet(p.text))}</q></li>'
            for p in related
        )
        out += (
            f'<p class="qa-related-head">Possibly related:</p><ul class="qa-related">{items}</ul>'
        )
    return out


def format_sources(answer: Answer | None) -> str:
    """The sources panel for ``answer``, as HTML: every cited passage with its title, section or
    page (its retrieval score in a tooltip), the answer sentence highlighted (and its span
    marked) in the passages that hold it. For an abstention the passages are headed "Possibly
    related passages"."""
    if answer is None:
        return (
            '<div class="qa-sources qa-empty">'
            "The passages an answer is quoted from appear here.</div>"
        )
    if not answer.citations:
        return '<div class="qa-sources qa-empty">No passage was retrieved.</div>'
    return answer_sources(answer)


def format_question(question: str) -> str:
    """The user's chat bubble: the question, escaped."""
    return f'<div class="qa-question">{inline(question.strip())}</div>'
