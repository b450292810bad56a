"""The web chat's formatting: Answers in, exact HTML and JSON out; hostile text stays text."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import replace

import pytest
from web_answers import (
    DOC,
    HOSTILE,
    S_END,
    S_START,
    SENTENCE,
    SPAN,
    abstained,
    closest,
    found,
    passage,
    unsure,
)

from qa.types import Answer, Quote
from qa.web.api import answer_to_json
from qa.web.format import (
    format_answer,
    format_question,
    format_sources,
    highlight,
    holders,
    snippet,
    where,
)


def test_the_fixture_offsets_are_exact() -> None:
    assert DOC[S_START:S_END] == SENTENCE
    assert found().span_text == "RM10 million"


# --- highlight -----------------------------------------------------------------------------------


def test_highlight_marks_the_span_inside_the_sentence() -> None:
    text = "ab cd ef gh"
    got = highlight(text, 10, (13, 18), (16, 18))
    assert got == 'ab <span class="qa-sentence">cd <mark class="qa-span">ef</mark></span> gh'


def test_highlight_without_span_marks_only_the_sentence() -> None:
    assert highlight("ab cd", 0, (3, 5), None) == 'ab <span class="qa-sentence">cd</span>'


def test_highlight_without_ranges_is_the_escaped_text() -> None:
    assert highlight("a <b> & c", 0, None, None) == "a &lt;b&gt; &amp; c"


def test_highlight_clips_ranges_to_the_text() -> None:
    # The text is document[100:105]; the sentence starts before it and the span after it.
    assert highlight("hello", 100, (90, 103), (104, 200)) == (
        '<span class="qa-sentence">hel</span>lo'
    )
    assert highlight("hello", 100, (0, 50), (60, 70)) == "hello"


def test_highlight_span_alone_is_marked() -> None:
    assert highlight("hello", 0, None, (1, 3)) == 'h<mark class="qa-span">el</mark>lo'


def test_highlight_escapes_every_piece() -> None:
    got = highlight("<i>x</i>", 0, (0, 8), (3, 4))
    assert (
        got == '<span class="qa-sentence">&lt;i&gt;<mark class="qa-span">x</mark>&lt;/i&gt;</span>'
    )


# --- the chat reply ------------------------------------------------------------------------------


def test_reply_quotes_the_sentence_with_the_span_marked_and_the_marker() -> None:
    assert format_answer(found()) == (
        '<div class="qa-reply"><blockquote class="qa-quote">In 2025, the government allocated '
        '<mark class="qa-span">RM10 million</mark> to NAIO.<sup class="qa-cite">[1]</sup>'
        '</blockquote><p class="qa-from"><span class="qa-marker">[1]</span> '
        '<cite class="qa-title">NAIO news</cite> <span class="qa-where">§ Funding</span> · '
        '<span class="qa-score">score 0.71</span></p></div>'
    )


def test_reply_without_span_highlights_nothing_inside_the_sentence() -> None:
    got = format_answer(found(span=None))
    assert "<mark" not in got
    assert f'<blockquote class="qa-quote">{SENTENCE}<sup class="qa-cite">[1]</sup>' in got


def test_reply_marks_every_passage_that_holds_the_sentence() -> None:
    # Overlapping chunks: ranks 1 and 3 both hold the sentence; rank 2 is another document.
    cites = [
        passage(DOC[S_START:], S_START),
        passage("Other text.", 0, rank=2, doc_id="other.txt"),
        passage(DOC, 0, rank=3, page=4),
    ]
    got = format_answer(found(citations=cites))
    assert '<sup class="qa-cite">[1]</sup><sup class="qa-cite">[3]</sup></blockquote>' in got
    assert '<span class="qa-marker">[1]</span><span class="qa-marker">[3]</span>' in got
    assert [p.rank for p in holders(found(citations=cites))] == [1, 3]


def test_reply_shows_page_when_known() -> None:
    cites = [passage(DOC, 0, section="Funding", page=2)]
    assert '<span class="qa-where">§ Funding · p. 2</span>' in format_answer(found(citations=cites))


def test_reply_notes_a_follow_up_rewrite() -> None:
    answer = found()
    assert format_answer(answer, asked=answer.question) == format_answer(answer)
    got = format_answer(answer, asked="How much did it get?")
    assert got.startswith(
        '<div class="qa-reply"><p class="qa-note">Follow-up, asked as: “How much did NAIO get?”</p>'
    )


def test_abstention_says_not_found_and_offers_related_passages() -> None:
    got = format_answer(abstained())
    assert got == (
        '<div class="qa-reply"><p class="qa-notfound"><strong>Not found in the documents.'
        "</strong> No sentence in them answers this question confidently (the best scored "
        "0.12).</p>"
        '<p class="qa-related-head">Possibly related:</p><ul class="qa-related"><li>'
        '<span class="qa-marker">[1]</span> <cite class="qa-title">NAIO news</cite> '
        '<span class="qa-where">§ Funding</span><br><q class="qa-snippet">In 2025, the '
        "government allocated RM10 million to NAIO. This funding supports research.</q></li>"
        "</ul></div>"
    )


def test_abstention_without_closest_does_not_claim_one() -> None:
    got = format_answer(abstained())
    assert "for certain" not in got and "closest one says" not in got
    assert "qa-quote" not in got and "<mark" not in got


def test_unsure_reply_quotes_the_closest_sentence_with_its_span_and_source() -> None:
    assert format_answer(unsure()) == (
        '<div class="qa-reply"><p class="qa-unsure"><strong>No passage answers this for certain.'
        "</strong> The closest one says:</p>"
        '<blockquote class="qa-quote qa-closest">In 2025, the government allocated '
        '<mark class="qa-span">RM10 million</mark> to NAIO.<sup class="qa-cite">[1]</sup>'
        '</blockquote><p class="qa-from"><span class="qa-marker">[1]</span> '
        '<cite class="qa-title">NAIO news</cite> <span class="qa-where">§ Funding</span> · '
        '<span class="qa-score">score 0.12</span></p></div>'
    )


def test_unsure_reply_marks_the_span_as_an_answer_does() -> None:
    quote = closest(span=(S_START, S_START + len("In 2025")))
    got = format_answer(unsure(quote))
    assert '<mark class="qa-span">In 2025</mark>, the government allocated RM10 million' in got
    # The same sentence and span, answered, are marked the very same way.
    answered = format_answer(found(span=quote.span))
    mark = re.compile(r'<blockquote class="[^"]*">(.*?)<sup class="qa-cite">')
    assert mark.findall(got) == mark.findall(answered) != []


def test_unsure_reply_cites_the_passage_of_the_closest_sentence() -> None:
    other = passage("Other text.", 0, rank=4, doc_id="other.txt", title="Other <b>", page=7)
    quote = replace(closest(), citation=other)
    got = format_answer(unsure(quote))
    assert '<sup class="qa-cite">[4]</sup></blockquote>' in got
    assert (
        '<span class="qa-marker">[4]</span> <cite class="qa-title">Other &lt;b&gt;</cite> '
        '<span class="qa-where">p. 7</span>'
    ) in got
    assert "Not found in the documents" not in got and "Possibly related" not in got


def test_abstention_without_passages_offers_none() -> None:
    got = format_answer(abstained(citations=[]))
    assert "<strong>Not found in the documents.</strong> No sentence in them answers this " in got
    assert "confidently.</p></div>" in got
    assert "Possibly related" not in got


def test_abstention_lists_at_most_three_related_passages() -> None:
    cites = [passage(f"Text {i}.", 0, rank=i) for i in range(1, 6)]
    got = format_answer(abstained(citations=cites))
    assert re.findall(r"\[(\d)\]", got) == ["1", "2", "3"]


def test_snippet_cuts_at_a_word_boundary() -> None:
    assert snippet("one two  three\nfour", limit=100) == "one two three four"
    assert snippet("alpha beta gamma delta", limit=12) == "alpha beta…"


def test_question_bubble_is_escaped() -> None:
    assert format_question(" <b>hi</b> ") == '<div class="qa-question">&lt;b&gt;hi&lt;/b&gt;</div>'


# --- the sources panel ---------------------------------------------------------------------------


def test_sources_highlight_the_answer_inside_its_passage() -> None:
    got = format_sources(found())
    assert got == (
        '<div class="qa-sources"><p class="qa-sources-head">Sources</p><ol class="qa-passages">'
        '<li class="qa-passage qa-holds-answer"><div class="qa-passage-head" '
        'title="retrieval score 0.8000"><span class="qa-marker">[1]</span> '
        '<cite class="qa-title">NAIO news</cite> <span class="qa-where">§ Funding</span></div>'
        '<div class="qa-passage-text"><span class="qa-sentence">In 2025, the government '
        'allocated <mark class="qa-span">RM10 million</mark> to NAIO.</span> This funding '
        "supports research.</div></li>"
        '<li class="qa-passage"><div class="qa-passage-head" title="retrieval score 0.1000">'
        '<span class="qa-marker">[2]</span> <cite class="qa-title">Other</cite></div>'
        '<div class="qa-passage-text">Other text.</div></li></ol></div>'
    )


def test_sources_keep_paragraph_breaks_as_line_breaks() -> None:
    got = format_sources(found(citations=[passage(DOC, 0)]))
    assert '<div class="qa-passage-text">Funding<br><span class="qa-sentence">' in got


def test_sources_of_an_abstention_are_possibly_related_and_unhighlighted() -> None:
    got = format_sources(abstained())
    assert '<p class="qa-sources-head">Possibly related passages</p>' in got
    assert "qa-sentence" not in got and "<mark" not in got and "qa-holds-answer" not in got


def test_sources_before_any_question() -> None:
    assert "appear here" in format_sources(None)


# --- hostile document text -----------------------------------------------------------------------


def hostile_answer() -> Answer:
    doc = "Intro. " + HOSTILE + " Tail."
    start = doc.index(HOSTILE)
    title = 'Bad <img src=x onerror="window.__pwned=3"> ![t](http://127.0.0.1:9/t.png)'
    p = passage(doc, 0, title=title, section="<b>S</b>", doc_id="evil.md")
    return Answer(
        question="<script>q()</script>",
        text=HOSTILE,
        score=0.5,
        doc_id="evil.md",
        start=start,
        end=start + len(HOSTILE),
        span=(start + HOSTILE.index("<img"), start + HOSTILE.index("> and ![")),
        citations=[p],
    )


def unsure_of(answer: Answer) -> Answer:
    """``answer`` as an abstention whose closest candidate is its sentence."""
    assert answer.text is not None and answer.doc_id is not None and answer.span is not None
    assert answer.start is not None and answer.end is not None
    quote = Quote(
        answer.text,
        answer.doc_id,
        answer.start,
        answer.end,
        answer.span,
        answer.score,
        answer.citations[0],
    )
    return Answer(answer.question, None, 0.1, None, None, None, None, answer.citations, quote)


@pytest.mark.parametrize(
    "render",
    [
        lambda a: format_answer(a, asked="it?"),
        format_sources,
        lambda a: format_answer(Answer(a.question, None, 0.0, None, None, None, None, a.citations)),
        lambda a: format_answer(unsure_of(a)),
    ],
    ids=["reply", "sources", "abstention", "closest"],
)
def test_hostile_text_is_escaped(render: Callable[[Answer], str]) -> None:
    got = render(hostile_answer())
    # No tag of the document survives: every "<" left is one of ours.
    tags = set(re.findall(r"<(/?[a-z]+)", got))
    assert tags <= {
        "div", "/div", "p", "/p", "blockquote", "/blockquote", "mark", "/mark", "span", "/span",
        "sup", "/sup", "cite", "/cite", "ol", "/ol", "ul", "/ul", "li", "/li", "q", "/q", "br",
        "strong", "/strong",
    }  # fmt: skip
    assert "<script" not in got and "<img" not in got and "<b>" not in got
    assert "&lt;script&gt;" in got
    assert "&lt;img src=x onerror=&quot;window.__pwned=" in got
    # Markdown is never rendered (the chat and the panel render HTML), so this stays text.
    assert "![x](http://127.0.0.1:9/x.png)" in got or "![t](http://127.0.0.1:9/t.png)" in got
    assert "src=" not in got.replace("&lt;img src=x", "")
    assert "href" not in got


@pytest.mark.parametrize("unsure", [False, True], ids=["answer", "closest"])
def test_hostile_span_is_marked_as_text(unsure: bool) -> None:
    answer = hostile_answer()
    got = format_answer(unsure_of(answer) if unsure else answer)
    assert (
        '<mark class="qa-span">&lt;img src=x onerror=&quot;window.__pwned=2&quot;</mark>&gt; and'
        in got
    )


# --- the API's JSON ------------------------------------------------------------------------------


def test_answer_to_json() -> None:
    got = answer_to_json(found())
    assert got == {
        "question": "How much did NAIO get?",
        "answer": SENTENCE,
        "abstained": False,
        "score": 0.71,
        "doc_id": "naio.md",
        "start": S_START,
        "end": S_END,
        "span": {"start": SPAN[0], "end": SPAN[1]},
        "citations": [
            {
                "rank": 1,
                "doc_id": "naio.md",
                "title": "NAIO news",
                "section": "Funding",
                "page": None,
                "start": S_START,
                "end": len(DOC),
                "text": DOC[S_START:],
                "score": 0.8,
            },
            {
                "rank": 2,
                "doc_id": "other.txt",
                "title": "Other",
                "section": None,
                "page": None,
                "start": 0,
                "end": 11,
                "text": "Other text.",
                "score": 0.1,
            },
        ],
        "closest": None,
    }
    assert json.loads(json.dumps(got)) == got


def test_answer_to_json_of_an_abstention() -> None:
    got = answer_to_json(abstained())
    assert got["answer"] is None and got["span"] is None and got["abstained"] is True
    assert got["start"] is None and got["doc_id"] is None
    assert [c["rank"] for c in got["citations"]] == [1]


def test_answer_to_json_of_an_abstention_has_no_closest_without_a_candidate() -> None:
    assert answer_to_json(abstained())["closest"] is None


def test_answer_to_json_of_an_abstention_with_a_closest_sentence() -> None:
    got = answer_to_json(unsure())
    assert got["answer"] is None and got["span"] is None and got["abstained"] is True
    assert got["closest"] == {
        "text": SENTENCE,
        "span": {"start": SPAN[0], "end": SPAN[1]},
        "span_text": "RM10 million",
        "score": 0.12,
        "doc_id": "naio.md",
        "start": S_START,
        "end": S_END,
        "citation": {
            "rank": 1,
            "doc_id": "naio.md",
            "title": "NAIO news",
            "section": "Funding",
            "page": None,
            "start": S_START,
            "end": len(DOC),
            "text": DOC[S_START:],
            "score": 0.8,
        },
    }
    # The closest one's citation has the shape of every citation.
    assert got["closest"]["citation"] == got["citations"][0]
    assert DOC[got["closest"]["start"] : got["closest"]["end"]] == got["closest"]["text"]
    assert json.loads(json.dumps(got)) == got


def test_answer_to_json_without_span() -> None:
    assert answer_to_json(found(span=None))["span"] is None


def test_citations_carry_document_title_section_page_offsets_and_quote() -> None:
    cite = passage(DOC, 0, section="Funding", page=3)
    got = cite.to_dict()
    assert got == {
        "rank": 1,
        "doc_id": "naio.md",
        "title": "NAIO news",
        "section": "Funding",
        "page": 3,
        "start": 0,
        "end": len(DOC),
        "text": DOC,
        "score": 0.8,
    }
    # One code path: the JSON is the result's own to_dict(), wherever the passage is cited.
    assert answer_to_json(found(citations=[cite]))["citations"] == [got]
    quote = replace(closest(), citation=cite)
    assert quote.to_dict()["citation"] == got
    assert answer_to_json(unsure(quote)) == unsure(quote).to_dict()


# --- the pieces: where, holders ------------------------------------------------------------------


def test_where_names_section_and_page() -> None:
    assert where(passage("x", 0, section="Funding", page=3)) == "§ Funding · p. 3"
    assert where(passage("x", 0, section="Funding")) == "§ Funding"
    assert where(passage("x", 0, page=1)) == "p. 1"
    assert where(passage("x", 0)) == ""


def test_holders_are_the_passages_of_the_answer_document_that_hold_its_sentence() -> None:
    inside = passage(DOC, 0, rank=1)
    elsewhere = passage(DOC, 0, rank=2, doc_id="copy.md")
    assert holders(found(citations=[inside, elsewhere])) == [inside]


def test_holders_fall_back_to_passages_that_overlap_the_sentence() -> None:
    head = passage(DOC[: S_START + 10], 0, rank=1)  # holds the start of the sentence only
    tail = passage(DOC[S_END:], S_END, rank=2)  # starts where the sentence ends: no overlap
    assert holders(found(citations=[head, tail])) == [head]


def test_an_abstention_has_no_holders() -> None:
    assert holders(abstained()) == []
