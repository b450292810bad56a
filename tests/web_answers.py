"""Answers and passages for the web tests: one small document with exact offsets."""

from __future__ import annotations

from dataclasses import replace

from qa.types import Answer, Passage, Quote

DOC = (
    "Funding\n\nIn 2025, the government allocated RM10 million to NAIO. "
    "This funding supports research."
)
SENTENCE = "In 2025, the government allocated RM10 million to NAIO."
S_START = DOC.index(SENTENCE)
S_END = S_START + len(SENTENCE)
SPAN = (DOC.index("RM10 million"), DOC.index("RM10 million") + len("RM10 million"))

HOSTILE = (
    'Evil <script>window.__pwned=1</script> and <img src=x onerror="window.__pwned=2"> '
    "and ![x](http://127.0.0.1:9/x.png) and [link](javascript:alert(1)) & more."
)


def passage(
    text: str,
    start: int,
    *,
    rank: int = 1,
    doc_id: str = "naio.md",
    title: str = "NAIO news",
    score: float = 0.8,
    section: str | None = None,
    page: int | None = None,
) -> Passage:
    return Passage(
        text=text,
        doc_id=doc_id,
        title=title,
        start=start,
        end=start + len(text),
        score=score,
        rank=rank,
        section=section,
        page=page,
    )


def found(span: tuple[int, int] | None = SPAN, citations: list[Passage] | None = None) -> Answer:
    if citations is None:
        citations = [
            passage(DOC[S_START:], S_START, section="Funding"),
            passage("Other text.", 0, rank=2, doc_id="other.txt", title="Other", score=0.1),
        ]
    return Answer(
        question="How much did NAIO get?",
        text=SENTENCE,
        score=0.71,
        doc_id="naio.md",
        start=S_START,
        end=S_END,
        span=span,
        citations=citations,
    )


def abstained(citations: list[Passage] | None = None) -> Answer:
    return Answer(
        question="What is the capital of France?",
        text=None,
        score=0.12,
        doc_id=None,
        start=None,
        end=None,
        span=None,
        citations=[passage(DOC[S_START:], S_START, section="Funding")]
        if citations is None
        else citations,
    )


def closest(span: tuple[int, int] = SPAN) -> Quote:
    """The found answer's sentence, as the candidate of an abstention (score below threshold)."""
    return Quote(
        text=SENTENCE,
        doc_id="naio.md",
        start=S_START,
        end=S_END,
        span=span,
        score=0.12,
        citation=passage(DOC[S_START:], S_START, section="Funding"),
    )


def unsure(quote: Quote | None = None) -> Answer:
    """An abstention whose reader had a candidate: ``abstained()`` with ``closest`` set."""
    return replace(abstained(), closest=closest() if quote is None else quote)
