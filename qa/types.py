"""Typed, frozen result objects: what the library hands back to notebooks, the CLI and the app."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


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
