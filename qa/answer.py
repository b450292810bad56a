"""The answer stage: passages in, one verbatim sentence (or an honest abstention) out.

``answer(question, passages)`` has the reader read the question with every passage in one batch.
The reader marks its best span over all of them and scores it: the probability that the answer is
right. Below the reader's calibrated threshold (or ``min_score``) the answer abstains. Otherwise
the answer is the whole sentence of the passage that holds the span, quoted verbatim, with the
span marked inside it. Any passages work: ``Index.retrieve``'s, or ones you chose yourself.
"""

from __future__ import annotations

import unicodedata
import warnings
from collections.abc import Sequence
from pathlib import Path

from qa.chunking import is_label, split_sentences
from qa.corpus import scrub_surrogates
from qa.errors import EmptyQuestionError
from qa.reader import Reader, get_reader
from qa.types import Answer, Passage

#: ``reader=`` this means the bundled reader.
DEFAULT_READER = "default"

ReaderLike = Reader | Path | str | None


def answer(
    question: str,
    passages: Sequence[Passage],
    *,
    reader: ReaderLike = DEFAULT_READER,
    min_score: float | None = None,
) -> Answer:
    """The answer to ``question`` from ``passages``: a verbatim sentence that holds the reader's
    span, or an abstention.

    ``reader`` is a loaded ``Reader``, the folder of one, ``"default"`` (the bundled reader), or
    None: no reader, so the answer abstains (with a warning) and only cites the passages.
    ``min_score`` overrides the reader's calibrated threshold. The answer's citations are the
    passages, in their order.
    """
    question = clean_question(question)
    passages = list(passages)
    loaded = load_reader(reader)
    if loaded is None:
        warnings.warn(
            "No reader: the answer abstains and only cites the passages; pass reader='default' "
            "(or a reader folder) to answer.",
            stacklevel=2,
        )
        return abstention(question, passages, 0.0)
    threshold = loaded.threshold if min_score is None else float(min_score)
    readings = loaded.readings(question, [p.text for p in passages])
    readings.sort(key=lambda r: r.score, reverse=True)
    for reading in readings:  # the best span that is not in a title or a heading
        holder = passages[reading.passage]
        start, end = sentence_around(holder.text, reading.start, reading.end)
        if not is_label(holder.text[start:end], holder.title, holder.section):
            break
    else:
        return abstention(question, passages, readings[0].score if readings else 0.0)
    if reading.score < threshold:
        return abstention(question, passages, reading.score)
    return Answer(
        question=question,
        text=holder.text[start:end],
        score=reading.score,
        doc_id=holder.doc_id,
        start=holder.start + start,
        end=holder.start + end,
        span=(holder.start + reading.start, holder.start + reading.end),
        citations=passages,
    )


def load_reader(reader: ReaderLike) -> Reader | None:
    """``reader`` as a loaded Reader (see ``answer``), or None."""
    if reader is None or isinstance(reader, Reader):
        return reader
    return get_reader(None if reader == DEFAULT_READER else reader)


def abstention(question: str, passages: list[Passage], score: float) -> Answer:
    """The answer that says "not found": no text, the passages as possibly related."""
    return Answer(
        question=question,
        text=None,
        score=score,
        doc_id=None,
        start=None,
        end=None,
        span=None,
        citations=passages,
    )


def sentence_around(text: str, start: int, end: int) -> tuple[int, int]:
    """``(start, end)`` of the sentence(s) of ``text`` that hold ``text[start:end]``."""
    sentences = [s for s in split_sentences(text) if s.start < end and start < s.end]
    if not sentences:
        return start, end
    return sentences[0].start, sentences[-1].end


def clean_question(question: str) -> str:
    """The question stripped, lone surrogates (which no tokenizer takes) made U+FFFD.

    A question with no letter, digit, punctuation or symbol is empty: white space, control and
    format characters (zero-width, direction marks), marks, U+FFFD are all the tokenizer drops.
    """
    if not isinstance(question, str):
        raise TypeError(f"a question must be a string, got {type(question).__name__}")
    question = scrub_surrogates(question).strip()
    if not any(unicodedata.category(c)[0] in "LNPS" and c != "\ufffd" for c in question):
        raise EmptyQuestionError("The question is empty; ask something about the documents")
    return question
