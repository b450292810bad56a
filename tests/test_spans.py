"""Spans end where the answer ends: qa.spans on its own, then through the bundled reader."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from qa.spans import whole_span

AMOUNT = "In 2025, the government allocated RM10 million (about US$2.2 million) to the office."


def widened(text: str, part: str, low: int = 0, high: int | None = None) -> str:
    start = text.index(part)
    a, b = whole_span(text, start, start + len(part), low, high)
    return text[a:b]


@pytest.mark.parametrize(
    ("part", "whole"),
    [
        ("RM10 million (about US$2.2", "RM10 million (about US$2.2 million)"),
        ("10 million", "RM10 million"),  # the currency before the number
        ("RM10", "RM10 million"),  # the scale word after it
        ("US$2", "US$2.2 million"),  # a number cut at its decimal point
        ("million)", "million"),  # a stray closer at the end
        ("(about US$2.2 million", "about US$2.2 million"),  # a stray opener at the start
        ("2025,", "2025"),
    ],
)
def test_amounts_stay_whole_and_brackets_closed(part: str, whole: str) -> None:
    assert widened(AMOUNT, part) == whole


@pytest.mark.parametrize(
    ("text", "part", "whole"),
    [
        ("a rise of 12.5 percent in 2024", "12", "12.5 percent"),
        ("it costs $16.06 billion today", "16.06", "$16.06 billion"),
        ("from 1,000 to 2,000 units", "1,0", "1,000"),
        (
            "the officers’ union grew 5% last year",
            "officers’ union grew 5",
            "officers’ union grew 5%",
        ),
        ("Google’s Gemini Suite", "Google’s Gemini", "Google’s Gemini"),  # an apostrophe
        ("Tesla (the firm) and X", "Tesla (the", "Tesla (the firm)"),
        ("Tesla (the firm) and X", "firm) and X", "(the firm) and X"),
        ('He called it "the best" plan', 'the best"', "the best"),
        ("He named “Project Aurora” then", "“Project Aurora", "Project Aurora"),
        ("He named “Project Aurora” then", "named “Project", "named “Project Aurora”"),
    ],
)
def test_pairs_and_numbers(text: str, part: str, whole: str) -> None:
    assert widened(text, part) == whole


def test_never_leaves_the_sentence() -> None:
    text = "First (one. Second) two."
    # The sentence is "Second) two.": the opener lies outside it, so the closer is dropped.
    low = text.index("Second")
    assert widened(text, "Second)", low, len(text)) == "Second"


@settings(max_examples=1000)
@given(st.text(alphabet="ab1.,()[]“”\"' $RM%", max_size=40), st.data())
def test_stays_within_bounds_and_is_already_whole(text: str, data: st.DataObject) -> None:
    start = data.draw(st.integers(0, len(text)))
    end = data.draw(st.integers(start, len(text)))
    a, b = whole_span(text, start, end)
    assert 0 <= a <= b <= len(text)
    if a < b:
        assert not text[a:b].startswith(" ") and not text[a:b].endswith((" ", ",", ";", ":"))
        assert whole_span(text, a, b) == (a, b)  # a whole span stays as it is


def test_the_reader_s_span_holds_the_whole_amount() -> None:
    import qa
    from qa.types import Passage

    passage = Passage(
        text=AMOUNT, doc_id="d", title="Budget", start=0, end=len(AMOUNT), score=1, rank=1
    )
    answer = qa.answer(
        "How much did the government allocate to the office?", [passage], min_score=0
    )
    assert answer.span_text is not None
    assert answer.span_text.startswith("RM10 million")
    assert answer.span_text.count("(") == answer.span_text.count(")")
