"""Results as escaped HTML and short text: the pieces the chat and the notebook displays share.

Pure functions, standard library only. ``qa.web.format`` builds the chat's replies and sources
panel from them; ``Passage``, ``Answer``, ``Quote`` and ``Passages`` (``qa.types``) build their
one-line ``__repr__`` and their Jupyter ``_repr_html_`` from them. This module does not import
``qa.types`` (which imports it lazily, when a result is displayed): it reads a passage through
the ``Cited`` protocol, which ``qa.Passage`` satisfies.

Every piece of document text is untrusted: it is escaped with ``html.escape`` here, so
``<script>`` or ``<img onerror>`` in a document is shown as text, never run.

- ``esc``, ``inline``, ``block``: escaping (``inline`` folds whitespace, ``block`` keeps line
  breaks as ``<br>``);
- ``highlight``: a text with the answer sentence and the exact span marked;
- ``snippet``, ``citation``, ``where``, ``plural``: plain text (a clipped text, a citation line,
  a place, a count of things);
- ``holding``, ``marker``, ``source_label``, ``cited_at``, ``located``, ``short``: which
  passages hold a text, and how a passage or a place is named;
- ``quote``, ``unsure``, ``not_found``, ``sources``, ``passage_head``: the blocks of a reply and
  of the sources panel; ``answer_quote`` and ``answer_sources`` put them together for an answer
  (read through the ``Answered`` protocol, which ``qa.Answer`` satisfies);
- ``passages_table``, ``figures_table``, ``notebook``: the notebook displays, self-contained
  (a small ``<style>``).
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable, Sequence
from typing import Protocol, TypeVar

#: What an abstention with a closest candidate says before quoting it (the chat and ``qa ask``).
UNSURE = "No passage answers this for certain."
CLOSEST_SAYS = "The closest one says:"
#: Passages shown in an abstention reply are cut to about this many characters.
SNIPPET_CHARS = 160
#: A one-line ``repr`` clips a result's text and a title to about these many characters.
REPR_TEXT_CHARS = 60
REPR_TITLE_CHARS = 40
#: The notebook table of passages clips each text to about this many characters.
TABLE_TEXT_CHARS = 200

_SPACES = re.compile(r"\s+")
_LINE_BREAKS = re.compile(r"\s*\n\s*")


class Cited(Protocol):
    """What rendering reads of a retrieved passage: the fields of a ``qa.Passage``."""

    @property
    def text(self) -> str: ...
    @property
    def doc_id(self) -> str: ...
    @property
    def title(self) -> str: ...
    @property
    def start(self) -> int: ...
    @property
    def end(self) -> int: ...
    @property
    def score(self) -> float: ...
    @property
    def rank(self) -> int: ...
    @property
    def section(self) -> str | None: ...
    @property
    def page(self) -> int | None: ...


class Quoted(Protocol):
    """What rendering reads of an abstention's closest candidate: the fields of a ``qa.Quote``."""

    @property
    def text(self) -> str: ...
    @property
    def start(self) -> int: ...
    @property
    def span(self) -> tuple[int, int] | None: ...
    @property
    def score(self) -> float: ...
    @property
    def citation(self) -> Cited: ...


class Answered(Protocol):
    """What rendering reads of an answer: the fields of a ``qa.Answer``."""

    @property
    def text(self) -> str | None: ...
    @property
    def doc_id(self) -> str | None: ...
    @property
    def start(self) -> int | None: ...
    @property
    def end(self) -> int | None: ...
    @property
    def span(self) -> tuple[int, int] | None: ...
    @property
    def score(self) -> float: ...
    @property
    def citations(self) -> Sequence[Cited]: ...
    @property
    def closest(self) -> Quoted | None: ...


P = TypeVar("P", bound=Cited)


# --- escaping and plain text --------------------------------------------------------------------


def esc(text: str) -> str:
    """``text`` escaped for HTML, quotes included."""
    return html.escape(text, quote=True)


def inline(text: str) -> str:
    """Escape ``text`` and fold every run of whitespace into one space."""
    return _SPACES.sub(" ", esc(text))


def block(text: str) -> str:
    """Escape ``text``; a run of whitespace holding a line break becomes one ``<br>``."""
    parts = _LINE_BREAKS.split(esc(text))
    return "<br>".join(_SPACES.sub(" ", part) for part in parts)


def plural(count: int, noun: str) -> str:
    """``count`` and ``noun``, in the plural unless the count is one: ``1 document``,
    ``2 documents``, ``0 documents``."""
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


def snippet(text: str, limit: int = SNIPPET_CHARS) -> str:
    """``text`` with whitespace folded, cut at a word boundary to about ``limit`` characters."""
    text = _SPACES.sub(" ", text).strip()
    if len(text) <= limit:
        return text
    cut = text[:limit].rsplit(" ", 1)[0] or text[:limit]
    return cut.rstrip(" ,;:") + "…"


def where(passage: Cited) -> str:
    """Section and page of ``passage`` as plain text ("§ Funding · p. 3"), or ""."""
    parts = []
    if passage.section:
        parts.append(f"§ {passage.section}")
    if passage.page is not None:
        parts.append(f"p. {passage.page}")
    return " · ".join(parts)


def citation(title: str, section: str | None, page: int | None, start: int, end: int) -> str:
    """Where a text stands, as one plain line: ``title, section 'S', page N, chars start-end``
    (section and page only when known), the words ``qa ask`` prints."""
    parts = [title]
    if section:
        parts.append(f"section {section!r}")
    if page is not None:
        parts.append(f"page {page}")
    parts.append(f"chars {start}-{end}")
    return ", ".join(part for part in parts if part)


def cited_at(holder: Cited | None, doc_id: str, start: int, end: int) -> str:
    """``citation`` of the text at ``start:end`` of document ``doc_id``, for a one-line
    ``repr``: the title (clipped), section and page of ``holder``, the passage that holds the
    text; the document id alone without one."""
    if holder is None:
        return citation(doc_id, None, None, start, end)
    title = snippet(holder.title or doc_id, REPR_TITLE_CHARS)
    return citation(title, holder.section, holder.page, start, end)


def short(kind: str, head: str, text: str, place: str) -> str:
    """A one-line ``repr``: ``<kind head "text, clipped" (place)>``; ``place`` may be ""."""
    clipped = snippet(text, REPR_TEXT_CHARS)
    tail = f" ({place})" if place else ""
    return f'<{kind} {head} "{clipped}"{tail}>'


def holding(
    doc_id: str | None, start: int | None, end: int | None, passages: Sequence[P]
) -> list[P]:
    """The ``passages`` of document ``doc_id`` that hold its text at ``start:end`` (several when
    chunks overlap), else those that overlap it; none without a location."""
    if doc_id is None or start is None or end is None:
        return []
    same_doc = [p for p in passages if p.doc_id == doc_id]
    inside = [p for p in same_doc if p.start <= start and end <= p.end]
    return inside or [p for p in same_doc if p.start < end and start < p.end]


# --- HTML pieces --------------------------------------------------------------------------------


def highlight(
    text: str,
    offset: int,
    sentence: tuple[int, int] | None,
    span: tuple[int, int] | None,
    *,
    render: Callable[[str], str] = inline,
) -> str:
    """``text`` (which starts at document offset ``offset``) as escaped HTML, with the part in
    ``sentence`` wrapped in ``<span class="qa-sentence">`` and the part in ``span`` in
    ``<mark class="qa-span">``. Ranges are document offsets, clipped to the text; an empty or
    missing range marks nothing. ``render`` escapes each piece (``inline`` or ``block``)."""
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


def marker(rank: int) -> str:
    """A passage's number, ``[rank]``, as the chat shows it."""
    return f'<span class="qa-marker">[{rank}]</span>'


def source_label(passage: Cited) -> str:
    """The passage's title, then its section and page when known, as HTML."""
    label = f'<cite class="qa-title">{inline(passage.title)}</cite>'
    place = where(passage)
    if place:
        label += f' <span class="qa-where">{inline(place)}</span>'
    return label


def quote(
    text: str,
    start: int,
    span: tuple[int, int] | None,
    held: Sequence[Cited],
    score: float,
    *,
    classes: str = "qa-quote",
) -> str:
    """``text`` (at document offset ``start``) quoted with ``span`` marked and the markers of the
    passages in ``held``, then the first one's source and ``score``."""
    quoted = highlight(text, start, None, span).strip()
    markers = "".join(f'<sup class="qa-cite">[{p.rank}]</sup>' for p in held)
    out = f'<blockquote class="{classes}">{quoted}{markers}</blockquote>'
    label = ""
    if held:
        label = "".join(marker(p.rank) for p in held) + " " + source_label(held[0]) + " · "
    out += f'<p class="qa-from">{label}<span class="qa-score">score {score:.2f}</span></p>'
    return out


def unsure(
    text: str, start: int, span: tuple[int, int] | None, citation: Cited, score: float
) -> str:
    """An abstention's closest candidate: ``UNSURE`` and ``CLOSEST_SAYS``, then its sentence
    quoted as an answer is, with the passage it comes from."""
    head = f'<p class="qa-unsure"><strong>{UNSURE}</strong> {CLOSEST_SAYS}</p>'
    return head + quote(text, start, span, [citation], score, classes="qa-quote qa-closest")


def not_found(score: float, *, related: bool) -> str:
    """What an abstention without a candidate says; with ``related`` passages, the best score."""
    out = (
        '<p class="qa-notfound"><strong>Not found in the documents.</strong> '
        "No sentence in them answers this question confidently"
    )
    return out + (f" (the best scored {score:.2f}).</p>" if related else ".</p>")


def passage_head(passage: Cited) -> str:
    """A passage's head in the sources panel: its marker and source, its score in a tooltip."""
    return (
        f'<div class="qa-passage-head" title="retrieval score {passage.score:.4f}">'
        f"{marker(passage.rank)} {source_label(passage)}</div>"
    )


def sources(
    passages: Sequence[Cited],
    sentence: tuple[int, int] | None,
    span: tuple[int, int] | None,
    held: Sequence[Cited],
    *,
    head: str,
) -> str:
    """The sources panel: ``head``, then every passage with its source and text, ``sentence``
    and ``span`` (document offsets) highlighted in the passages of ``held``."""
    holders = {id(p) for p in held}
    items = []
    for passage in passages:
        holds = id(passage) in holders
        body = highlight(
            passage.text,
            passage.start,
            sentence if holds else None,
            span if holds else None,
            render=block,
        )
        classes = "qa-passage qa-holds-answer" if holds else "qa-passage"
        items.append(
            f'<li class="{classes}">{passage_head(passage)}'
            f'<div class="qa-passage-text">{body}</div></li>'
        )
    return (
        f'<div class="qa-sources"><p class="qa-sources-head">{esc(head)}</p>'
        f'<ol class="qa-passages">{"".join(items)}</ol></div>'
    )


def answer_quote(answer: Answered) -> str | None:
    """The head of a reply: the answer's sentence quoted (``quote``), or an abstention's closest
    candidate (``unsure``); None for an abstention without one, which each display words its
    own way."""
    if answer.text is not None and answer.start is not None:
        held = holding(answer.doc_id, answer.start, answer.end, answer.citations)
        return quote(answer.text, answer.start, answer.span, held, answer.score)
    if answer.closest is not None:
        c = answer.closest
        return unsure(c.text, c.start, c.span, c.citation, c.score)
    return None


def answer_sources(answer: Answered) -> str:
    """``sources`` of an answer's citations: headed "Sources" with the sentence highlighted in
    the passages that hold it, or "Possibly related passages" for an abstention."""
    answered = answer.text is not None
    held = holding(answer.doc_id, answer.start, answer.end, answer.citations) if answered else []
    sentence = None
    if answer.start is not None and answer.end is not None:
        sentence = (answer.start, answer.end)
    head = "Sources" if answered else "Possibly related passages"
    return sources(answer.citations, sentence, answer.span, held, head=head)


def located(doc_id: str, start: int, end: int) -> str:
    """The document and character offsets of a text, as a muted HTML line."""
    return f'<span class="qa-doc">{inline(doc_id)}, chars {start}-{end}</span>'


def passages_table(passages: Sequence[Cited]) -> str:
    """A table of ``passages``: rank, source (title, section, page, document), score, and the
    text with whitespace folded, clipped to about ``TABLE_TEXT_CHARS`` characters."""
    if not passages:
        return '<p class="qa-empty">No passages.</p>'
    rows = "".join(
        f"<tr><td>{p.rank}</td><td>{source_label(p)}<br>{located(p.doc_id, p.start, p.end)}</td>"
        f'<td class="qa-num">{p.score:.3f}</td>'
        f"<td>{esc(snippet(p.text, TABLE_TEXT_CHARS))}</td></tr>"
        for p in passages
    )
    return (
        '<table class="qa-table"><thead><tr><th>rank</th><th>source</th><th>score</th>'
        f"<th>text</th></tr></thead><tbody>{rows}</tbody></table>"
    )


def figures_table(caption: str, rows: Sequence[tuple[str, str]]) -> str:
    """A two-column table of names and formatted figures, under ``caption`` (all escaped)."""
    body = "".join(f'<tr><td>{esc(name)}</td><td class="qa-num">{esc(value)}</td></tr>'
                   for name, value in rows)  # fmt: skip
    return (
        f'<p class="qa-sources-head">{esc(caption)}</p><table class="qa-table"><thead><tr>'
        f"<th>metric</th><th>value</th></tr></thead><tbody>{body}</tbody></table>"
    )


#: The notebook displays' own style: Jupyter has none of the chat's CSS. Scoped to .qa-result.
NOTEBOOK_CSS = (
    ".qa-result{line-height:1.5;max-width:60rem}"
    ".qa-result mark.qa-span{background:#fde68a;color:#1f2937;padding:0 .15em;border-radius:3px}"
    ".qa-result .qa-sentence{background:rgba(99,102,241,.15);border-radius:3px}"
    ".qa-result .qa-quote{margin:0 0 .4em 0;padding:.15em 0 .15em .8em;"
    "border-left:3px solid #6366f1}"
    ".qa-result .qa-closest{border-left-style:dashed}"
    ".qa-result .qa-marker,.qa-result .qa-cite{color:#6366f1;font-weight:600}"
    ".qa-result .qa-title{font-style:normal;font-weight:600}"
    ".qa-result .qa-where,.qa-result .qa-score,.qa-result .qa-from,.qa-result .qa-doc,"
    ".qa-result .qa-question{opacity:.75;font-size:.9em}"
    ".qa-result p{margin:.25em 0}"
    ".qa-result .qa-sources-head{font-weight:600}"
    ".qa-result .qa-passages{list-style:none;margin:0;padding:0}"
    ".qa-result .qa-passage{border:1px solid rgba(127,127,127,.35);border-radius:6px;"
    "padding:.5em .7em;margin:0 0 .5em 0}"
    ".qa-result .qa-holds-answer{border-color:#6366f1}"
    ".qa-result .qa-table td,.qa-result .qa-table th{text-align:left;vertical-align:top}"
    ".qa-result .qa-table td.qa-num{text-align:right;font-variant-numeric:tabular-nums}"
)


def notebook(body: str) -> str:
    """``body`` as a self-contained notebook display: in a ``.qa-result`` div, with its style."""
    return f'<div class="qa-result"><style>{NOTEBOOK_CSS}</style>{body}</div>'
