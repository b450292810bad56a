"""The answer stage: passages in, one verbatim sentence (or an honest abstention) out.

``answer(question, passages)`` has the reader read the question with every passage in one batch.
The reader marks its best span over all of them (made whole by ``qa.spans``); the decision
(``qa.decision``) scores it from the reader's outputs and the passages: the probability that the
answer is right. Below the reader's calibrated threshold (or ``min_score``) the answer abstains,
and carries the candidate as ``closest``. Otherwise the answer is the whole sentence of the
passage that holds the span, quoted verbatim, with the span marked inside it. Any passages work:
``Index.retrieve``'s, or ones you chose yourself.
"""

from __future__ import annotations

import unicodedata
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from qa.chunking import is_label, split_sentences
from qa.corpus import scrub_surrogates
from qa.decision import features
from qa.errors import EmptyQuestionError
from qa.reader import Reader, get_reader
from qa.spans import whole_span
from qa.types import Answer, Passage, Quote

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
    passages, in their order. An abstention carries the candidate it was not sure of as
    ``closest``, when there was one whose sentence shares a content word with the question.
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
    found = candidate(question, passages, loaded)
    if found is None:
        return abstention(question, passages, 0.0)
    holder = found.passage
    quote = Quote(
        text=holder.text[found.start : found.end],
        doc_id=holder.doc_id,
        start=holder.start + found.start,
        end=holder.start + found.end,
        span=(holder.start + found.span[0], holder.start + found.span[1]),
        score=found.score,
        citation=holder,
    )
    if found.score < threshold:
        # Offered as the closest only when it shares a word with the question: a sentence about
        # something else is no lead.
        related = found.features["question_overlap"] > 0
        return replace(
            abstention(question, passages, found.score), closest=quote if related else None
        )
    return Answer(
        question=question,
        text=quote.text,
        score=quote.score,
        doc_id=quote.doc_id,
        start=quote.start,
        end=quote.end,
        span=quote.span,
        citations=passages,
    )


@dataclass(frozen=True)
class Candidate:
    """The reader's best answer candidate in ``passages``, before the answer-or-refuse call.

    ``passage`` holds it; ``start``/``end`` are its sentence and ``span`` the answer's words, as
    offsets into ``passage.text``; ``features`` feed the decision (``qa.decision``), and
    ``score`` is the decision's probability that the candidate is right.
    """

    passage: Passage
    start: int
    end: int
    span: tuple[int, int]
    features: dict[str, float]
    score: float


def candidate(question: str, passages: Sequence[Passage], reader: Reader) -> Candidate | None:
    """The best candidate of ``passages`` for ``question`` (a span outside titles and headings),
    scored; None when the reader finds none."""
    readings = reader.readings(question, [p.text for p in passages])
    readings.sort(key=lambda r: r.score, reverse=True)
    for best in readings:  # the best span that is not in a title or a heading
        holder = passages[best.passage]
        start, end = sentence_around(holder.text, best.start, best.end)
        if not is_label(holder.text[start:end], holder.title, holder.section):
            break
    else:
        return None
    span = whole_span(holder.text, best.start, best.end, start, end)
    if span[0] >= span[1]:
        span = (best.start, best.end)
    others = [
        (r.score, passages[r.passage].text[r.start : r.end]) for r in readings if r is not best
    ]
    values = features(
        question,
        answer_logit=best.answer_logit,
        span_probability=best.span_probability,
        span_logit=best.span_logit,
        score=best.score,
        span=holder.text[span[0] : span[1]],
        others=others,
        rank=holder.rank,
        sentence=holder.text[start:end],
        passage=holder.text,
    )
    score = best.score if reader.decision is None else reader.decision.probability(values)
    return Candidate(holder, start, end, span, values, score)


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
