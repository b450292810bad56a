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


@dataclass(frozen=True)
class Passage:
    """A retrieved chunk, with its rank (1-based) and score, ready to cite."""

    text: str
    doc_id: str
    title: str
    start: int
    end: int
    score: float
    rank: int
    metadata: dict[str, Any] = field(default_factory=dict)

    @property
    def section(self) -> str | None:
        return self.metadata.get("section")

    @property
    def page(self) -> int | None:
        return self.metadata.get("page")


@dataclass(frozen=True)
class Answer:
    """The extractive answer: one verbatim sentence of the corpus, or an abstention.

    ``start``/``end`` locate ``text`` in the document ``doc_id``; ``span`` locates the reader's
    exact answer inside it. An abstention ("not found") has ``text`` None, and so no location.
    ``score`` is the reader's probability that the answer is right, in [0, 1], abstained or not.
    ``citations`` are the passages the answer was chosen from, in rank order; one holds it.
    """

    question: str
    text: str | None
    score: float
    doc_id: str | None
    start: int | None
    end: int | None
    span: tuple[int, int] | None
    citations: list[Passage]

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
