"""Sentences and chunks: real splitter, exact offsets, the model's window respected."""

from __future__ import annotations

import itertools

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from qa.chunking import chunk_document, split_sentences
from qa.corpus import find_headings
from qa.embedding import Encoder
from qa.types import Document


def sentences_of(text: str) -> list[str]:
    return [text[s.start : s.end] for s in split_sentences(text)]


def test_abbreviations_and_amounts_stay_inside_their_sentence() -> None:
    text = (
        "In 2024, the country approved investments totaling 71.1 billion ringgit "
        "($16.06 billion) in the sub-sector. Dr. Lee met U.S. officials on Monday. "
        "It went well."
    )
    assert sentences_of(text) == [
        "In 2024, the country approved investments totaling 71.1 billion ringgit "
        "($16.06 billion) in the sub-sector.",
        "Dr. Lee met U.S. officials on Monday.",
        "It went well.",
    ]


def test_paragraphs_and_headings_split_sentences() -> None:
    text = "Title line\n\nFirst sentence here. Second one.\n\nNext paragraph without a stop"
    assert sentences_of(text) == [
        "Title line",
        "First sentence here.",
        "Second one.",
        "Next paragraph without a stop",
    ]
    assert [s.paragraph for s in split_sentences(text)] == [0, 1, 1, 2]


def doc(text: str) -> Document:
    return Document(id="d", title="t", text=text, sections=find_headings(text))


def check_chunks(text: str, encoder: Encoder, chunk_tokens: int = 64) -> None:
    document = doc(text)
    chunks, sentences = chunk_document(document, encoder.count_tokens, chunk_tokens=chunk_tokens)
    for chunk in chunks:
        assert document.text[chunk.start : chunk.end] == chunk.text
        assert chunk.text == chunk.text.strip()
    for sentence in sentences:
        assert 0 <= sentence.start < sentence.end <= len(text)
    # Every non-space character is in some chunk.
    covered = [False] * len(text)
    for chunk in chunks:
        for i in range(chunk.start, chunk.end):
            covered[i] = True
    assert all(covered[i] for i, c in enumerate(text) if not c.isspace())
    # No chunk is longer than the window, so the encoder never truncates.
    assert max(encoder.count_tokens([c.text for c in chunks]), default=0) <= chunk_tokens


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    st.lists(
        st.one_of(
            st.text(min_size=1, max_size=80),
            st.sampled_from(["\n\n", "\r\n", ". ", "Dr. ", "U.S. ", "$16.06 ", "\u00a0", "😀"]),
        ),
        max_size=30,
    )
)
def test_offsets_hold_for_arbitrary_unicode(encoder: Encoder, parts: list[str]) -> None:
    text = "".join(parts).replace("\r\n", "\n").replace("\r", "\n")
    if not text.strip():
        assert chunk_document(doc(text), encoder.count_tokens)[0] == []
        return
    check_chunks(text, encoder)


def test_one_giant_sentence_is_cut_at_words(encoder: Encoder) -> None:
    text = "This sentence never ends " + "and goes on " * 400 + "until here."
    document = doc(text)
    chunks, _ = chunk_document(document, encoder.count_tokens, chunk_tokens=64)
    assert len(chunks) > 10
    for chunk in chunks:
        assert document.text[chunk.start : chunk.end] == chunk.text
        assert not chunk.text[0].isspace() and not chunk.text[-1].isspace()
        # cut between words, never inside one
        assert chunk.start == 0 or text[chunk.start - 1] == " "
    check_chunks(text, encoder)


def test_one_giant_word_is_cut_too(encoder: Encoder) -> None:
    check_chunks("x" * 5000 + ". Then a normal sentence.", encoder)


def test_chunks_respect_headings_and_overlap_long_paragraphs(encoder: Encoder) -> None:
    words = ["apples", "rivers", "clocks", "stones", "ferns", "boats"] * 5
    body = " ".join(f"This sentence talks about {word} and more {word}." for word in words)
    text = f"Intro\n\nA short paragraph.\n\nFirst Heading\n\n{body}"
    document = doc(text)
    chunks, _ = chunk_document(document, encoder.count_tokens, chunk_tokens=48, overlap=1)
    assert chunks[0].text == "Intro\n\nA short paragraph."
    assert chunks[1].text.startswith("First Heading")
    assert all(c.section == "First Heading" for c in chunks[1:])
    # consecutive chunks of the long paragraph share one sentence
    for left, right in itertools.pairwise(chunks[1:]):
        assert right.start < left.end
        assert text[right.start : left.end].endswith(".")


def test_default_chunks_fit_the_model_window(encoder: Encoder) -> None:
    text = ("Malaysia launched a national office for artificial intelligence. " * 200).strip()
    chunks, _ = chunk_document(doc(text), encoder.count_tokens, chunk_tokens=10_000)
    assert max(encoder.count_tokens([c.text for c in chunks])) <= 10_000
    chunks, _ = chunk_document(doc(text), encoder.count_tokens, chunk_tokens=encoder.window)
    assert max(encoder.count_tokens([c.text for c in chunks])) <= encoder.window
