"""Answer quality on the real path: typed spans, the cross-encoder, titles, abstention."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import qa
from qa.answer import points_back
from qa.rerank import get_reranker
from qa.span import answer_type, find_span

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize(
    ("question", "sentence", "expected"),
    [
        ("How much did the government allocate to NAIO in 2025?",
         "In 2025, the government allocated RM10 million to NAIO.", "RM10 million"),
        ("How many public officers got Gemini?",
         "In addition, the government rolled out Google’s Gemini Suite to 445,000 public officers.",
         "445,000"),
        ("When did officials confirm the action plan?",
         "In August 2025, officials confirmed they are finalizing a 2026–2030 National AI Action "
         "Plan.", "August 2025"),
        ("Who told Reuters it was a historic moment?",
         "“This is another historical moment,” Prime Minister Anwar Ibrahim told Reuters.",
         "Prime Minister Anwar Ibrahim"),
        ("How many key deliverables will the agency focus on?",
         "The new agency will focus on seven key deliverables in its first year.", "seven"),
        ("When was the article posted?", "Posted on 12/19/2024", "12/19/2024"),
        ("Who wrote the article?", "Written by Jeremy Werner", "Jeremy Werner"),
        ("Why did Malaysia act?", "Malaysia acted to lead the region.", None),
        ("How many moons does it have?", "It has no moons at all.", None),
    ],
)  # fmt: skip
def test_typed_spans(question: str, sentence: str, expected: str | None) -> None:
    span = find_span(question, sentence)
    assert (sentence[span[0] : span[1]] if span else None) == expected


def test_answer_types() -> None:
    assert answer_type("When was it launched?") == "date"
    assert answer_type("How much money was allocated?") == "number"
    assert answer_type("Which companies partnered?") == "name"
    assert answer_type("Where is it?") == "name"
    assert answer_type("Why is the sky blue?") is None


def test_bundled_cross_encoder_ranks_the_answer_first() -> None:
    scores = get_reranker().score(
        "How much did the government allocate to NAIO?",
        [
            "Malaysia hosted ASEAN AI summits.",
            "In 2025, the government allocated RM10 million to NAIO.",
            "These changes aim to strengthen safeguards.",
        ],
    )
    assert scores.shape == (3,)
    assert int(np.argmax(scores)) == 1
    assert scores[1] > 0 > scores[0]


def test_unknown_cross_encoder_says_what_to_do() -> None:
    with pytest.raises(qa.ModelLoadError, match="CrossEncoder"):
        get_reranker(str(ROOT / "no-such-cross-encoder"))


@pytest.fixture(scope="module")
def default_index(tmp_path_factory: pytest.TempPathFactory) -> qa.Index:
    return qa.build_index(ROOT / "corpus", tmp_path_factory.mktemp("default"), show_progress=False)


@pytest.mark.parametrize(
    ("question", "sentence", "span"),
    [
        ("How much did the government allocate to NAIO in 2025?",
         "In 2025, the government allocated RM10 million to NAIO.", "RM10 million"),
        ("How many public officers got access to Gemini?",
         "In addition, the government rolled out Google’s Gemini Suite to 445,000 public "
         "officers.", "445,000"),
        ("How much did Malaysia approve in digital investments in 2024?",
         "In 2024, the country approved investments totaling 71.1 billion ringgit ($16.06 "
         "billion) in the information and communications sub-sector, according to Malaysia’s "
         "investment authority.", None),
    ],
)  # fmt: skip
def test_default_corpus_answers_with_span(
    default_index: qa.Index, question: str, sentence: str, span: str | None
) -> None:
    answer = default_index.ask(question)
    assert answer.text == sentence
    assert not answer.abstained and answer.score >= 0.5
    assert default_index.document(answer.doc_id).text[answer.start : answer.end] == sentence
    if span is not None:
        assert answer.span_text == span
    assert answer.span is None or answer.start <= answer.span[0] < answer.span[1] <= answer.end


@pytest.mark.parametrize(
    ("question", "sentence"),
    [
        ("Which companies are among Malaysia's tech partners?",
         "Which includes Amazon, Google, and Microsoft."),
        ("Who belongs to the NAIO working groups?",
         "These groups include experts from academia, government, industry, and civil society."),
        ("How many tech companies did Malaysia partner with?",
         "As part of its AI strategy, Malaysia announced partnerships with six major tech "
         "companies."),
    ],
)  # fmt: skip
def test_a_sentence_pointing_back_is_read_after_its_predecessor(
    default_index: qa.Index, question: str, sentence: str
) -> None:
    assert default_index.ask(question).text == sentence


def test_points_back() -> None:
    assert points_back("Which includes Amazon, Google, and Microsoft.")
    assert points_back("“This move signals a shift.")
    assert not points_back("Thistle grows here.")
    assert not points_back("Malaysia hosted ASEAN AI summits.")


def test_off_topic_questions_abstain(default_index: qa.Index) -> None:
    for question in ("What is the capital of France?", "How do I bake sourdough bread?"):
        answer = default_index.ask(question)
        assert answer.abstained, answer.text
        assert answer.score < 0.5
        assert len(answer.citations) == 5


def test_without_rerank_the_cheap_scorer_answers(default_index: qa.Index) -> None:
    answer = default_index.ask(
        "How much did the government allocate to NAIO in 2025?", rerank=False
    )
    assert answer.text == "In 2025, the government allocated RM10 million to NAIO."
    assert 0 < answer.score < 2


def test_titles_and_headings_are_never_answers(default_index: qa.Index) -> None:
    title = default_index.documents[0].title
    for question in (title, "Governance and Funding Progress", "Who heads the National AI Office?"):
        answer = default_index.ask(question, min_score=0.0)
        assert answer.text not in (title, "Governance and Funding Progress")
