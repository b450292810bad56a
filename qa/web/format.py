"""Answers as HTML for the chat: pure functions, Answer in, escaped HTML out; no Gradio.

Every piece of document text is untrusted. It is escaped with ``html.escape`` here and shown
through components that do not run Markdown (the Chatbot has ``render_markdown=False``, the
sources panel is a ``gr.HTML``), so ``<script>``, ``<img onerror>`` and ``![x](http://...)`` in a
document are shown as text: never executed, never fetched.

- ``format_answer``: the chat reply (the quoted sentence, its span marked, citation markers and
  source; for an abstention, "No passage answers this for certain." with the closest candidate
  sentence quoted the same way, or, without one, "Not found in the documents." with the closest
  passages);
- ``format_sources``: the sources panel (every cited passage, the answer highlighted in the
  passages that hold it);
- ``format_question``: the user's bubble;
- ``highlight``, ``holders``, ``where``, ``snippet``: the pieces they are made of.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable

from qa.types import Answer, Passage, Quote

#: What an abstention with a closest candidate says before quoting it (the chat and ``qa ask``).
UNSURE = "No passage answers this for certain."
CLOSEST_SAYS = "The closest one says:"
#: How many closest passages an abstention reply lists as possibly related.
RELATED_IN_REPLY = 3
#: Passages shown in an abstention reply are cut to about this many characters.
SNIPPET_CHARS = 160

_SPACES = re.compile(r"\s+")
_LINE_BREAKS = re.compile(r"\s*\n\s*")


def _esc(text: str) -> str:
    return html.escape(text, quote=True)


def _inline(text: str) -> str:
    """Escape ``text`` and fold every run of whitespace into one space."""
    return _SPACES.sub(" ", _esc(text))


def _block(text: str) -> str:
    """Escape ``text``; a run of whitespace holding a line break becomes one ``<br>``."""
    parts = _LINE_BREAKS.split(_esc(text))
    return "<br>".join(_SPACES.sub(" ", part) for part in parts)


def highlight(
    text: str,
    offset: int,
    sentence: tuple[int, int] | None,
    span: tuple[int, int] | None,
    *,
    render: Callable[[str], str] = _inline,
) -> str:
    """``text`` (which starts at document offset ``offset``) as escaped HTML, with the part in
    ``sentence`` wrapped in ``<span class="qa-sentence">`` and the part in ``span`` in
    ``<mark class="qa-span">``. Ranges are document offsets, clipped to the text; an empty or
    missing range marks nothing. ``render`` escapes each piece (``_inline`` or ``_block``)."""
    end = offset + len(text)

    def clip(bounds: tuple[int, int] | None) -> tuple[int, int] | None:
        if bounds is None:
            return None
        lo, hi = max(bounds[0], offset), min(bounds[1], end)
        return (lo, hi) if lo < hi else None

    outer = clip(sentence)
    inner = clip(span)
    if outer is None:
        if inner is None:
            return render(text)
        outer, sentence_class = inner, None
    else:
        sentence_class = "qa-sentence"
        if inner is not None:
            inner = (max(inner[0], outer[0]), min(inner[1], outer[1]))
            inner = inner if inner[0] < inner[1] else None

    def piece(lo: int, hi: int) -> str:
        return render(text[lo - offset : hi - offset])

    middle = piece(*outer)
    if inner is not None:
        middle = (
            piece(outer[0], inner[0])
            + f'<mark class="qa-span">{piece(*inner)}</mark>'
            + piece(inner[1], outer[1])
        )
    if sentence_class is not None:
        middle = f'<span class="{sentence_class}">{middle}</span>'
    return piece(offset, outer[0]) + middle + piece(outer[1], end)


def where(passage: Passage) -> str:
    """Section and page of ``passage`` as plain text ("§ Funding · p. 3"), or ""."""
    parts = []
    if passage.section:
        parts.append(f"§ {passage.section}")
    if passage.page is not None:
        parts.append(f"p. {passage.page}")
    return " · ".join(parts)


def holders(answer: Answer) -> list[Passage]:
    """The cited passages that hold the answer sentence (overlapping chunks may give several)."""
    if answer.abstained or answer.doc_id is None or answer.start is None or answer.end is None:
        return []
    same_doc = [p for p in answer.citations if p.doc_id == answer.doc_id]
    inside = [p for p in same_doc if p.start <= answer.start and answer.end <= p.end]
    return inside or [p for p in same_doc if p.start < answer.end and answer.start < p.end]


def _marker(rank: int) -> str:
    return f'<span class="qa-marker">[{rank}]</span>'


def _source_label(passage: Passage) -> str:
    label = f'<cite class="qa-title">{_inline(passage.title)}</cite>'
    place = where(passage)
    if place:
        label += f' <span class="qa-where">{_inline(place)}</span>'
    return label


def snippet(text: str, limit: int = SNIPPET_CHARS) -> str:
    """``text`` with whitespace folded, cut at a word boundary to about ``limit`` characters."""
    text = _SPACES.sub(" ", text).strip()
    if len(text) <= limit:
        return text
    cut = text[:limit].rsplit(" ", 1)[0] or text[:limit]
    return cut.rstrip(" ,;:") + "…"


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
        parts.append(f'<p class="qa-note">Follow-up, asked as: “{_inline(answer.question)}”</p>')
    if not answer.abstained and answer.text is not None and answer.start is not None:
        parts.append(
            _format_quote(answer.text, answer.start, answer.span, holders(answer), answer.score)
        )
    elif answer.closest is not None:
        parts.append(_format_closest(answer.closest))
    else:
        parts.append(_format_abstention(answer))
    return '<div class="qa-reply">' + "".join(parts) + "</div>"


def _format_quote(
    text: str,
    start: int,
    span: tuple[int, int] | None,
    held: list[Passage],
    score: float,
    *,
    classes: str = "qa-quote",
) -> str:
    """``text`` (at document offset ``start``) quoted with ``span`` marked and the markers of the
    passages in ``held``, then the first one's source and ``score``."""
    quote = highlight(text, start, None, span).strip()
    markers = "".join(f'<sup class="qa-cite">[{p.rank}]</sup>' for p in held)
    out = f'<blockquote class="{classes}">{quote}{markers}</blockquote>'
    label = ""
    if held:
        label = "".join(_marker(p.rank) for p in held) + " " + _source_label(held[0]) + " · "
    out += f'<p class="qa-from">{label}<span class="qa-score">score {score:.2f}</span></p>'
    return out


def _format_closest(closest: Quote) -> str:
    head = f'<p class="qa-unsure"><strong>{UNSURE}</strong> {CLOSEST_SAYS}</p>'
    return head + _format_quote(
        closest.text,
        closest.start,
        closest.span,
        [closest.citation],
        closest.score,
        classes="qa-quote qa-closest",
    )


def _format_abstention(answer: Answer) -> str:
    out = (
        '<p class="qa-notfound"><strong>Not found in the documents.</strong> '
        "No sentence in them answers this question confidently"
    )
    related = answer.citations[:RELATED_IN_REPLY]
    out += f" (the best scored {answer.score:.2f}).</p>" if related else ".</p>"
    if related:
        items = "".join(
            f"<li>{_marker(p.rank)} {_source_label(p)}"
            f'<br><q class="qa-snippet">{_esc(snippet(p.text))}</q></li>'
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
    found = not answer.abstained and answer.start is not None and answer.end is not None
    head = "Sources" if found else "Possibly related passages"
    held = {id(p) for p in holders(answer)}
    sentence = None
    if answer.start is not None and answer.end is not None:
        sentence = (answer.start, answer.end)
    items = []
    for passage in answer.citations:
        holds = id(passage) in held
        body = highlight(
            passage.text,
            passage.start,
            sentence if holds else None,
            answer.span if holds else None,
            render=_block,
        )
        classes = "qa-passage qa-holds-answer" if holds else "qa-passage"
        items.append(
            f'<li class="{classes}"><div class="qa-passage-head" '
            f'title="retrieval score {passage.score:.4f}">{_marker(passage.rank)} '
            f"{_source_label(passage)}</div>"
            f'<div class="qa-passage-text">{body}</div></li>'
        )
    return (
        f'<div class="qa-sources"><p class="qa-sources-head">{head}</p>'
        f'<ol class="qa-passages">{"".join(items)}</ol></div>'
    )


def format_question(question: str) -> str:
    """The user's chat bubble: the question, escaped."""
    return f'<div class="qa-question">{_inline(question.strip())}</div>'
