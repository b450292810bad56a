"""The web chat's formatting: Answers in, exact HTML and JSON out; hostile text stays text."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path

import pytest

from qa.types import Answer, Passage
from qa.web import (
    answer_in_context,
    answer_to_json,
    append_feedback,
    contextual_question,
    feedback_path,
    feedback_row,
    format_answer,
    format_question,
    format_sources,
    highlight,
    holders,
    is_follow_up,
    same_sentence,
    server_address,
    snippet,
)

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
    **metadata: object,
) -> Passage:
    return Passage(
        text=text,
        doc_id=doc_id,
        title=title,
        start=start,
        end=start + len(text),
        score=score,
        rank=rank,
        metadata=dict(metadata),
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


@pytest.mark.parametrize(
    "render",
    [
        lambda a: format_answer(a, asked="it?"),
        format_sources,
        lambda a: format_answer(Answer(a.question, None, 0.0, None, None, None, None, a.citations)),
    ],
    ids=["reply", "sources", "abstention"],
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


def test_hostile_span_is_marked_as_text() -> None:
    got = format_answer(hostile_answer())
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
                "start": S_START,
                "end": len(DOC),
                "text": DOC[S_START:],
                "score": 0.8,
            },
            {
                "rank": 2,
                "doc_id": "other.txt",
                "title": "Other",
                "start": 0,
                "end": 11,
                "text": "Other text.",
                "score": 0.1,
            },
        ],
    }
    assert json.loads(json.dumps(got)) == got


def test_answer_to_json_of_an_abstention() -> None:
    got = answer_to_json(abstained())
    assert got["answer"] is None and got["span"] is None and got["abstained"] is True
    assert got["start"] is None and got["doc_id"] is None
    assert [c["rank"] for c in got["citations"]] == [1]


def test_answer_to_json_without_span() -> None:
    assert answer_to_json(found(span=None))["span"] is None


# --- follow-ups ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ("When was it launched?", True),
        ("What do they fund?", True),
        ("Is This new?", True),
        ("Who funds NAIO?", False),
        ("What is Italy's budget?", False),  # "it" inside a word does not count
        ("Which items?", False),
    ],
)
def test_is_follow_up(question: str, expected: bool) -> None:
    assert is_follow_up(question) is expected


def test_contextual_question() -> None:
    assert contextual_question("When was it launched?", "What is NAIO?") == (
        "What is NAIO? When was it launched?"
    )
    assert contextual_question(" Who funds NAIO? ", "What is NAIO?") == "Who funds NAIO?"
    assert contextual_question("When was it launched?", None) == "When was it launched?"


def other_sentence(question: str) -> Answer:
    start = DOC.index("This funding")
    return Answer(question, DOC[start:], 0.6, "naio.md", start, len(DOC), None, [])


def test_same_sentence() -> None:
    assert same_sentence(found(), found(span=None))
    assert not same_sentence(found(), other_sentence("q"))
    assert not same_sentence(found(), None)
    assert not same_sentence(abstained(), abstained())


class FakeAsk:
    """Stands for Index.ask: canned answers by question, and the questions asked, in order."""

    def __init__(self, answers: dict[str, Answer]) -> None:
        self.answers = answers
        self.asked: list[str] = []

    def __call__(self, question: str) -> Answer:
        self.asked.append(question)
        return self.answers[question]


def test_answer_in_context_asks_a_follow_up_with_the_topic() -> None:
    ask = FakeAsk({"What is NAIO? What does it fund?": other_sentence("ctx")})
    got = answer_in_context(ask, "What does it fund?", "What is NAIO?", found())
    assert ask.asked == ["What is NAIO? What does it fund?"]
    assert got.question == "ctx"


def test_answer_in_context_asks_alone_when_the_topic_repeats_the_last_answer() -> None:
    ask = FakeAsk(
        {"What is NAIO? What does it fund?": found(), "What does it fund?": other_sentence("own")}
    )
    got = answer_in_context(ask, " What does it fund?", "What is NAIO?", found())
    assert ask.asked == ["What is NAIO? What does it fund?", "What does it fund?"]
    assert got.question == "own"


def test_answer_in_context_keeps_the_repeat_when_alone_abstains() -> None:
    ask = FakeAsk({"What is NAIO? What does it fund?": found(), "What does it fund?": abstained()})
    got = answer_in_context(ask, "What does it fund?", "What is NAIO?", found())
    assert same_sentence(got, found())


def test_answer_in_context_asks_other_questions_as_they_are() -> None:
    ask = FakeAsk({"Who funds NAIO?": found()})
    assert answer_in_context(ask, "Who funds NAIO?", "What is NAIO?", found()) == found()
    assert ask.asked == ["Who funds NAIO?"]


# --- feedback ------------------------------------------------------------------------------------


def test_feedback_up_on_an_answer_is_a_regression_case() -> None:
    assert feedback_row(found(), True, row_id="f1") == {
        "question": "How much did NAIO get?",
        "answers": ["RM10 million"],
        "id": "f1",
        "doc_id": "naio.md",
        "feedback": "up",
    }
    assert feedback_row(found(span=None), True, row_id="f1")["answers"] == [SENTENCE]


def test_feedback_down_on_an_answer_needs_review() -> None:
    assert feedback_row(found(), False, row_id="f2") == {
        "question": "How much did NAIO get?",
        "answers": [],
        "id": "f2",
        "feedback": "down",
        "needs_review": True,
        "rejected": SENTENCE,
    }


def test_feedback_on_an_abstention() -> None:
    assert feedback_row(abstained(), True, row_id="f3") == {
        "question": "What is the capital of France?",
        "answers": [],
        "id": "f3",
        "feedback": "up",
    }
    assert feedback_row(abstained(), False, row_id="f4")["needs_review"] is True


def test_feedback_ids_are_unique() -> None:
    assert feedback_row(found(), True)["id"] != feedback_row(found(), True)["id"]


def test_feedback_file_is_a_readable_question_set(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from qa.questions import load_questions

    target = tmp_path / "fb" / "feedback.jsonl"
    monkeypatch.setenv("QA_FEEDBACK_FILE", str(target))
    assert feedback_path() == target
    append_feedback(feedback_row(found(), True, row_id="a"))
    append_feedback(feedback_row(abstained(), True, row_id="b"))
    lines = target.read_text(encoding="utf-8").splitlines()
    assert [json.loads(line)["id"] for line in lines] == ["a", "b"]
    questions = load_questions(target)
    assert [(q.id, q.answers, q.doc_id) for q in questions] == [
        ("a", ("RM10 million",), "naio.md"),
        ("b", (), None),
    ]


def test_feedback_file_defaults_to_the_current_folder(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("QA_FEEDBACK_FILE", raising=False)
    assert str(feedback_path()) == "feedback.jsonl"


# --- server address ------------------------------------------------------------------------------


def test_server_address_default_to_localhost_7860(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GRADIO_SERVER_NAME", raising=False)
    monkeypatch.delenv("GRADIO_SERVER_PORT", raising=False)
    assert server_address() == ("127.0.0.1", 7860)


def test_server_address_honour_the_environment_then_arguments(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("GRADIO_SERVER_NAME", "0.0.0.0")
    monkeypatch.setenv("GRADIO_SERVER_PORT", "8123")
    assert server_address() == ("0.0.0.0", 8123)
    assert server_address(host="localhost", port=9000) == ("localhost", 9000)


def test_server_address_reject_a_bad_port(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GRADIO_SERVER_PORT", "http")
    with pytest.raises(ValueError, match="GRADIO_SERVER_PORT is 'http'"):
        server_address()
