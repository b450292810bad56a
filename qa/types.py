"""Typed, frozen result objects: what the library hands back to notebooks, the CLI and the app."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, SupportsIndex, overload

if TYPE_CHECKING:
    import pandas


@dataclass(frozen=True)
class Document:
    """One document of the corpus, as extracted text.

    All offsets in this package (chunks, passages, answers) index into ``text``.
    ``sections`` holds ``(start, heading)`` pairs in order; ``pages`` holds the start offset
    of each page (PDF only; page ``n`` starts at ``pages[n - 1]``).
    """

    id: str
    title: str
    text: str
    metadata: dict[str, Any] = field(default_factory=dict)
    source: str = ""
    sections: tuple[tuple[int, str], ...] = ()
    pages: tuple[int, ...] = ()

    def section_at(self, offset: int) -> str | None:
        """The heading of the section that holds ``offset``, or None before the first heading."""
        heading = None
        for start, title in self.sections:
            if start > offset:
                break
            heading = title
        return heading

    def page_at(self, offset: int) -> int | None:
        """The 1-based page that holds ``offset``, or None for documents without pages."""
        page = None
        for number, start in enumerate(self.pages, 1):
            if start > offset:
                break
            page = number
        return page


@dataclass(frozen=True)
class Chunk:
    """A run of whole sentences of one document: ``document.text[start:end] == text``."""

    doc_id: str
    start: int
    end: int
    text: str
    section: str | None = None
    page: int | None = None


#: The keys ``Passage.metadata`` fills from the typed fields; ``Passage.extra`` may not use them.
_METADATA_KEYS = frozenset({"chunk", "chunks", "section", "page"})


@dataclass(frozen=True)
class Passage:
    """A retrieved chunk, with its rank (1-based) and score, ready to cite.

    ``section`` and ``page`` say where ``start`` lies in the document, when known. ``chunks``
    holds the index rows of the chunks the passage is made of, its best chunk first (empty for
    a passage built by hand). ``extra`` is free metadata of your own: it counts for equality
    but not for the hash, and its keys must not be ``chunk``, ``chunks``, ``section`` or
    ``page`` (see ``metadata``).
    """

    text: str
    doc_id: str
    title: str
    start: int
    end: int
    score: float
    rank: int
    section: str | None = None
    page: int | None = None
    chunks: tuple[int, ...] = ()
    extra: dict[str, Any] = field(default_factory=dict, hash=False)

    def __post_init__(self) -> None:
        taken = sorted(_METADATA_KEYS.intersection(self.extra))
        if taken:
            raise ValueError(
                f"Passage.extra may not hold the keys {taken}: they name the typed fields; "
                "pass section=, page= or chunks= instead"
            )

    @property
    def metadata(self) -> dict[str, Any]:
        """The passage's metadata as one JSON-ready dict, as ``qa ask --json`` prints it.

        The same object the untyped ``Passage.metadata`` of earlier versions held, so JSON users
        see no change: ``chunk`` (the best chunk's row) and ``chunks`` (a list) when ``chunks``
        is set, ``section`` and ``page`` when known, then the keys of ``extra``. A fresh dict on
        every call: changing it changes nothing.
        """
        data: dict[str, Any] = {}
        if self.chunks:
            data["chunk"] = self.chunks[0]
            data["chunks"] = list(self.chunks)
        if self.section is not None:
            data["section"] = self.section
        if self.page is not None:
            data["page"] = self.page
        return {**data, **self.extra}

    def to_dict(self) -> dict[str, Any]:
        """The passage as JSON-ready data, the shape of a citation in ``/ask`` and ``qa ask
        --json``: ``rank``, ``doc_id``, ``title``, ``section`` and ``page`` (None when unknown),
        ``start``, ``end`` (character offsets in the document), ``text`` (the quoted passage,
        ``document.text[start:end]``) and ``score``. ``chunks`` and ``extra`` are not in it:
        see ``metadata``."""
        return {
            "rank": int(self.rank),
            "doc_id": self.doc_id,
            "title": self.title,
            "section": self.section,
            "page": None if self.page is None else int(self.page),
            "start": int(self.start),
            "end": int(self.end),
            "text": self.text,
            "score": float(self.score),
        }

    def __repr__(self) -> str:
        from qa import render

        place = render.cited_at(self, self.doc_id, self.start, self.end)
        return render.short("Passage", f"#{self.rank} score={self.score:.3f}", self.text, place)

    def _repr_html_(self) -> str:
        """Jupyter's display: the passage's marker and source, score, document and offsets,
        then its text (escaped, line breaks kept)."""
        from qa import render

        return render.notebook(
            f'<div class="qa-passage">{render.marker(self.rank)} {render.source_label(self)} · '
            f'<span class="qa-score">score {self.score:.3f}</span> · '
            f"{render.located(self.doc_id, self.start, self.end)}"
            f'<div class="qa-passage-text">{render.block(self.text)}</div></div>'
        )


#: The columns of ``Passages.to_dataframe()``: the keys of ``Passage.to_dict()``.
_PASSAGE_COLUMNS = ("rank", "doc_id", "title", "section", "page", "start", "end", "text", "score")


class Passages(list[Passage]):
    """The passages ``retrieve`` returns, best first: a list (it compares equal to a plain list
    of the same passages) that displays itself as a table in Jupyter and turns into a pandas
    DataFrame with ``to_dataframe()``. Built from any iterable of ``Passage``; a slice is a
    ``Passages`` too.
    """

    __slots__ = ()

    def __init__(self, passages: Iterable[Passage] = ()) -> None:
        items = list(passages)
        bad = next((p for p in items if not isinstance(p, Passage)), None)
        if bad is not None:
            raise TypeError(
                f"Passages holds qa.Passage objects, got an item of type {type(bad).__name__}; "
                "pass the passages that retrieve() returns, or build each with Passage(...)"
            )
        super().__init__(items)

    @overload
    def __getitem__(self, index: SupportsIndex) -> Passage: ...
    @overload
    def __getitem__(self, index: slice) -> Passages: ...
    def __getitem__(self, index: SupportsIndex | slice) -> Passage | Passages:
        if isinstance(index, slice):
            return Passages(super().__getitem__(index))
        return super().__getitem__(index)

    def to_dataframe(self) -> pandas.DataFrame:
        """One row per passage as a pandas DataFrame, with the columns of ``Passage.to_dict()``
        (needs pandas: ``pip install pandas``)."""
        try:
            import pandas
        except ImportError as exc:
            from qa.errors import MissingDependencyError

            raise MissingDependencyError(
                "Passages.to_dataframe() needs pandas, which is not installed; "
                "run 'pip install pandas', or use [p.to_dict() for p in passages] instead"
            ) from exc
        return pandas.DataFrame([p.to_dict() for p in self], columns=list(_PASSAGE_COLUMNS))

    def __repr__(self) -> str:
        if not self:
            return "Passages([])"
        return "Passages([\n" + "".join(f"    {p!r},\n" for p in self) + "])"

    def _repr_html_(self) -> str:
        """Jupyter's display: a table of rank, source, score and text (folded and clipped)."""
        from qa import render

        return render.notebook(render.passages_table(self))


@dataclass(frozen=True)
class Quote:
    """A verbatim sentence of a passage with the reader's span in it: the closest candidate of an
    answer that abstained. ``start``/``end`` locate ``text`` and ``span`` the marked words in the
    document ``doc_id``; ``citation`` is the passage that holds it; ``score`` as in ``Answer``."""

    text: str
    doc_id: str
    start: int
    end: int
    span: tuple[int, int]
    score: float
    citation: Passage

    @property
    def span_text(self) -> str:
        """The text at ``span``."""
        return self.text[self.span[0] - self.start : self.span[1] - self.start]

    def to_dict(self) -> dict[str, Any]:
        """The candidate as JSON-ready data, as ``/ask`` gives an abstention's ``closest``:
        ``text`` (the sentence), ``span`` (``{"start", "end"}``), ``span_text``, ``score``,
        ``doc_id``, ``start``, ``end`` (document offsets) and ``citation`` (the passage that
        holds it, ``Passage.to_dict()``)."""
        return {
            "text": self.text,
            "span": _span_to_dict(self.span),
            "span_text": self.span_text,
            "score": float(self.score),
            "doc_id": self.doc_id,
            "start": int(self.start),
            "end": int(self.end),
            "citation": self.citation.to_dict(),
        }

    def __repr__(self) -> str:
        from qa import render

        place = render.cited_at(self.citation, self.doc_id, self.start, self.end)
        return render.short("Quote", f"score={self.score:.3f}", self.text, place)

    def _repr_html_(self) -> str:
        """Jupyter's display: the sentence quoted with its span marked, its source and score."""
        from qa import render

        return render.notebook(
            render.quote(self.text, self.start, self.span, [self.citation], self.score)
        )


@dataclass(frozen=True)
class Answer:
    """The extractive answer: one verbatim sentence of the corpus, or an abstention.

    ``start``/``end`` locate ``text`` in the document ``doc_id``; ``span`` locates the reader's
    exact answer inside it. An abstention ("not found") has ``text`` None, and so no location.
    ``score`` is the reader's probability that the answer is right, in [0, 1], abstained or not.
    ``citations`` are the passages the answer was chosen from, in rank order; one holds it.
    ``closest`` is, for an abstention, the candidate the reader was not sure enough of (a
    ``Quote``), or None when it had none; an answer that did not abstain has none.
    """

    question: str
    text: str | None
    score: float
    doc_id: str | None
    start: int | None
    end: int | None
    span: tuple[int, int] | None
    citations: list[Passage]
    closest: Quote | None = None

    @property
    def abstained(self) -> bool:
        """True when no passage answers the question: ``text`` is None."""
        return self.text is None

    @property
    def span_text(self) -> str | None:
        """The text at ``span`` (the exact answer), or None."""
        if self.span is None or self.text is None or self.start is None:
            return None
        return self.text[self.span[0] - self.start : self.span[1] - self.start]

    def to_dict(self) -> dict[str, Any]:
        """The answer as JSON-ready data, what ``/ask`` returns.

        Keys: ``question``, ``answer`` (the sentence, or None when abstaining), ``abstained``,
        ``score``, ``doc_id``, ``start``, ``end`` (where the sentence lies, or None), ``span``
        (``{"start", "end"}`` of the exact answer in document ``doc_id``, or None),
        ``citations`` (each ``Passage.to_dict()``: ``rank``, ``doc_id``, ``title``, ``section``,
        ``page``, ``start``, ``end``, ``text``, ``score``) and ``closest`` (``Quote.to_dict()``
        of the candidate an abstention was not sure of, or None).
        """
        return {
            "question": self.question,
            "answer": self.text,
            "abstained": bool(self.abstained),
            "score": float(self.score),
            "doc_id": self.doc_id,
            "start": None if self.start is None else int(self.start),
            "end": None if self.end is None else int(self.end),
            "span": _span_to_dict(self.span),
            "citations": [p.to_dict() for p in self.citations],
            "closest": None if self.closest is None else self.closest.to_dict(),
        }

    def __repr__(self) -> str:
        from qa import render

        score = f"score={self.score:.3f}"
        if self.text is not None and self.start is not None and self.end is not None:
            held = render.holding(self.doc_id, self.start, self.end, self.citations)
            place = render.cited_at(
                held[0] if held else None, self.doc_id or "", self.start, self.end
            )
            return render.short("Answer", score, self.text, place)
        if self.closest is not None:
            c = self.closest
            place = render.cited_at(c.citation, c.doc_id, c.start, c.end)
            return render.short("Answer", f"abstained {score}, closest", c.text, place)
        question = render.snippet(self.question, render.REPR_TEXT_CHARS)
        return f'<Answer abstained {score}: not found for "{question}">'

    def _repr_html_(self) -> str:
        """Jupyter's display, made as the chat's reply and sources panel are: the question, the
        quoted sentence with its exact span marked, its source and score, then the cited
        passages with the sentence highlighted in those that hold it. An abstention says so and
        quotes its closest candidate, when it has one."""
        from qa import render

        parts = [f'<p class="qa-question">Q: {render.inline(self.question)}</p>']
        parts.append(
            render.answer_quote(self) or render.not_found(self.score, related=bool(self.citations))
        )
        if self.citations:
            parts.append(render.answer_sources(self))
        return render.notebook('<div class="qa-reply">' + "".join(parts) + "</div>")


def _span_to_dict(span: tuple[int, int] | None) -> dict[str, int] | None:
    return None if span is None else {"start": int(span[0]), "end": int(span[1])}
