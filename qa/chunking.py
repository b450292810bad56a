"""Sentence-aware chunks with exact character offsets.

Sentences come from pysbd (rule-based; keeps "$16.06 billion", "Dr." and "U.S." inside their
sentence), run paragraph by paragraph. Chunks pack whole sentences up to ``chunk_tokens`` tokens of
the embedding model's tokenizer, so the encoder never truncates them; a sentence longer than that
alone is cut at word boundaries. Chunks never cross a section heading or a page break, close at a
paragraph break once half full, and repeat ``overlap`` sentences when a long paragraph is cut.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from qa.types import Chunk, Document

CHUNK_TOKENS = 128
OVERLAP_SENTENCES = 1
SPLITTER = "pysbd"

TokenCounter = Callable[[list[str]], list[int]]

_PARAGRAPH_BREAK = re.compile(r"\n[ \t\u00a0]*\n\s*")
_WORD = re.compile(r"\S+")


@dataclass(frozen=True)
class Sentence:
    """One sentence of a document: ``text[start:end]``, stripped of surrounding white space."""

    start: int
    end: int
    paragraph: int


@lru_cache(maxsize=1)
def _segmenter() -> Any:
    import pysbd

    return pysbd.Segmenter(language="en", clean=False)


def split_sentences(text: str) -> list[Sentence]:
    """Sentences of ``text`` in order, covering every non-space character exactly once."""
    sentences: list[Sentence] = []
    paragraph_start = 0
    for number, match in enumerate([*_PARAGRAPH_BREAK.finditer(text), None]):
        paragraph_end = match.start() if match else len(text)
        _split_paragraph(text, paragraph_start, paragraph_end, number, sentences)
        if match:
            paragraph_start = match.end()
    return sentences


def _split_paragraph(text: str, start: int, end: int, number: int, out: list[Sentence]) -> None:
    paragraph = text[start:end]
    if not paragraph.strip():
        return
    cursor = 0
    spans: list[tuple[int, int]] = []
    for piece in _segmenter().segment(paragraph):
        piece = piece.strip()
        if not piece:
            continue
        found = paragraph.find(piece, cursor)
        if found < 0:  # the segmenter changed the text; the gap filler below keeps it
            continue
        spans.append((found, found + len(piece)))
        cursor = found + len(piece)
    # Anything the segmenter dropped becomes a sentence of its own, so no text is lost.
    covered = 0
    for span_start, span_end in [*spans, (len(paragraph), len(paragraph))]:
        gap = paragraph[covered:span_start]
        if gap.strip():
            lead = len(gap) - len(gap.lstrip())
            out.append(
                Sentence(start + covered + lead, start + covered + len(gap.rstrip()), number)
            )
        if span_end > span_start:
            out.append(Sentence(start + span_start, start + span_end, number))
        covered = max(covered, span_end)


def is_label(line: str, title: str, heading: str | None) -> bool:
    """True when ``line`` only names what follows, so it is no answer: the section ``heading``,
    or the document ``title`` unless it reads as a sentence (ends with . ! ? or a closing quote,
    as a one-line text file's "title" does)."""
    bare = _bare(line)
    if bare and heading is not None and bare == _bare(heading):
        return True
    return bare == title.strip() and line.rstrip()[-1:] not in '.!?"”'


def _bare(line: str) -> str:
    """A line without surrounding space, Markdown heading marks and a trailing colon."""
    return line.strip().strip("#").strip(" :")


def cut_long_sentence(
    text: str, sentence: Sentence, count_tokens: TokenCounter, max_tokens: int
) -> list[Sentence]:
    """Cut a sentence of more than ``max_tokens`` tokens into word-bounded pieces that fit."""
    words = [m for m in _WORD.finditer(text, sentence.start, sentence.end)]
    counts = count_tokens([m.group() for m in words])
    pieces: list[Sentence] = []
    piece_start: int | None = None
    piece_end = 0
    tokens = 0
    for word, count in zip(words, counts):
        if count > max_tokens:  # one "word" longer than the window: cut it by characters
            if piece_start is not None:
                pieces.append(Sentence(piece_start, piece_end, sentence.paragraph))
                piece_start, tokens = None, 0
            step = max(1, max_tokens // 4)
            for offset in range(word.start(), word.end(), step):
                pieces.append(Sentence(offset, min(offset + step, word.end()), sentence.paragraph))
            continue
        if piece_start is not None and tokens + count > max_tokens:
            pieces.append(Sentence(piece_start, piece_end, sentence.paragraph))
            piece_start, tokens = None, 0
        if piece_start is None:
            piece_start = word.start()
        piece_end = word.end()
        tokens += count
    if piece_start is not None:
        pieces.append(Sentence(piece_start, piece_end, sentence.paragraph))
    return pieces


def chunk_document(
    document: Document,
    count_tokens: TokenCounter,
    *,
    chunk_tokens: int = CHUNK_TOKENS,
    overlap: int = OVERLAP_SENTENCES,
    sentences: Sequence[Sentence] | None = None,
) -> tuple[list[Chunk], list[Sentence]]:
    """Chunks of ``document`` and the sentences they are made of (long ones already cut)."""
    if chunk_tokens < 8:
        raise ValueError(f"chunk_tokens must be at least 8, got {chunk_tokens}")
    if overlap < 0:
        raise ValueError(f"overlap must be 0 or more sentences, got {overlap}")
    text = document.text
    found = list(sentences) if sentences is not None else split_sentences(text)
    counts = count_tokens([text[s.start : s.end] for s in found]) if found else []
    units: list[Sentence] = []
    unit_tokens: list[int] = []
    for sentence, count in zip(found, counts):
        if count <= chunk_tokens:
            units.append(sentence)
            unit_tokens.append(count)
            continue
        pieces = cut_long_sentence(text, sentence, count_tokens, chunk_tokens)
        units.extend(pieces)
        unit_tokens.extend(count_tokens([text[p.start : p.end] for p in pieces]))
    # Chunks never cross a heading or a page break, so each cites one section and one page.
    breaks = {start for start, _ in document.sections} | set(document.pages)

    chunks: list[Chunk] = []
    current: list[int] = []
    tokens = 0

    def emit() -> None:
        first, last = units[current[0]], units[current[-1]]
        chunks.append(
            Chunk(
                doc_id=document.id,
                start=first.start,
                end=last.end,
                text=text[first.start : last.end],
                section=document.section_at(first.start),
                page=document.page_at(first.start),
            )
        )

    for index, unit in enumerate(units):
        if current:
            previous = units[current[-1]]
            heading = any(previous.end <= s <= unit.start for s in breaks)
            paragraph = unit.paragraph != previous.paragraph
            full = tokens + unit_tokens[index] > chunk_tokens
            if heading or full or (paragraph and tokens >= chunk_tokens // 2):
                emit()
                carry = current[-overlap:] if overlap and full and not paragraph else []
                if len(carry) == len(current):
                    carry = []
                carry_tokens = sum(unit_tokens[i] for i in carry)
                while carry and carry_tokens + unit_tokens[index] > chunk_tokens:
                    carry_tokens -= unit_tokens[carry.pop(0)]
                current, tokens = list(carry), carry_tokens
        current.append(index)
        tokens += unit_tokens[index]
    if current:
        emit()
    return chunks, units
