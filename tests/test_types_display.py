"""Results that display themselves: one-line reprs, Jupyter HTML, JSON-ready dicts, Passages."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Callable
from dataclasses import replace

import numpy as np
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

import qa
from qa.types import Answer, Passage, Passages, Quote
from qa.web.format import format_answer, format_sources

LONG_TEXT = "Funding\n\n" + "The   government allocated\tmoney to the office. " * 60

# --- __repr__ ------------------------------------------------------------------------------------


def test_passage_repr_is_one_short_line_with_its_citation() -> None:
    p = passage(LONG_TEXT, 100, section="Funding", page=2, score=0.8123)
    got = repr(p)
    assert "\n" not in got and len(got) < 160
    assert got == (
        '<Passage #1 score=0.812 "Funding The government allocated money to the office. The'
        f"…\" (NAIO news, section 'Funding', page 2, chars 100-{100 + len(LONG_TEXT)})>"
    )


def test_passage_repr_clips_a_long_title() -> None:
    got = repr(passage("Short.", 0, title="A very long title " * 10))
    assert "\n" not in got and len(got) < 120
    assert got.startswith('<Passage #1 score=0.800 "Short." (A very long title A very long title')
    assert "…, chars 0-6)>" in got


def test_answer_repr_quotes_the_sentence_and_where_it_stands() -> None:
    assert repr(found()) == (
        f"<Answer score=0.710 \"{SENTENCE}\" (NAIO news, section 'Funding', "
        f"chars {S_START}-{S_END})>"
    )


def test_answer_repr_without_a_citation_that_holds_it_names_the_document() -> None:
    got = repr(found(citations=[]))
    assert got.endswith(f'" (naio.md, chars {S_START}-{S_END})>')


def test_abstention_reprs_say_so() -> None:
    assert repr(abstained()) == (
        '<Answer abstained score=0.120: not found for "What is the capital of France?">'
    )
    assert repr(unsure()) == (
        f"<Answer abstained score=0.120, closest \"{SENTENCE}\" (NAIO news, section 'Funding', "
        f"chars {S_START}-{S_END})>"
    )


def test_quote_repr() -> None:
    assert repr(closest()) == (
        f"<Quote score=0.120 \"{SENTENCE}\" (NAIO news, section 'Funding', "
        f"chars {S_START}-{S_END})>"
    )


def test_an_answer_with_many_long_citations_still_reprs_in_one_line() -> None:
    cites = [passage(LONG_TEXT, 0, rank=i) for i in range(1, 6)]
    answer = Answer("q?", LONG_TEXT, 0.5, "naio.md", 0, len(LONG_TEXT), None, cites)
    got = repr(answer)
    assert "\n" not in got and len(got) < 140


# --- _repr_html_ ---------------------------------------------------------------------------------


def hostile_passage() -> Passage:
    return passage(
        "Intro. " + HOSTILE,
        0,
        title="<script>alert('t')</script>",
        section="<b>S</b>",
        page=4,
        score=0.25,
        rank=2,
    )


def no_foreign_tags(html: str) -> None:
    assert "<script" not in html and "<img" not in html and "<b>" not in html
    assert "&lt;script&gt;" in html


def test_passage_html_escapes_the_document_and_shows_source_rank_and_score() -> None:
    got = hostile_passage()._repr_html_()
    no_foreign_tags(got)
    assert '<span class="qa-marker">[2]</span>' in got
    title = "&lt;script&gt;alert(&#x27;t&#x27;)&lt;/script&gt;"
    assert f'<cite class="qa-title">{title}</cite>' in got
    assert '<span class="qa-where">§ &lt;b&gt;S&lt;/b&gt; · p. 4</span>' in got
    assert '<span class="qa-score">score 0.250</span>' in got
    assert "naio.md, chars 0-" in got
    assert "Intro. Evil &lt;script&gt;window.__pwned=1&lt;/script&gt;" in got


def test_html_is_self_contained() -> None:
    # Jupyter has none of the chat's CSS: the display brings the style of its marks.
    for html in (found()._repr_html_(), passage("x", 0)._repr_html_()):
        assert html.startswith('<div class="qa-result"><style>')
        assert ".qa-result mark.qa-span{" in html and ".qa-result .qa-sentence{" in html


def test_answer_html_marks_the_span_and_cites_its_passages() -> None:
    got = found()._repr_html_()
    assert '<p class="qa-question">Q: How much did NAIO get?</p>' in got
    assert (
        '<blockquote class="qa-quote">In 2025, the government allocated '
        '<mark class="qa-span">RM10 million</mark> to NAIO.<sup class="qa-cite">[1]</sup>'
        "</blockquote>"
    ) in got
    assert '<span class="qa-score">score 0.71</span>' in got
    assert '<p class="qa-sources-head">Sources</p>' in got
    assert got.count('<li class="qa-passage') == 2
    assert got.count('<mark class="qa-span">RM10 million</mark>') == 2  # quote and its passage


@pytest.mark.parametrize("make", [found, abstained, unsure], ids=["found", "none", "closest"])
def test_answer_html_is_made_by_the_chat_rendering_code(make: Callable[[], Answer]) -> None:
    answer = make()
    got = answer._repr_html_()
    reply = format_answer(answer).removeprefix('<div class="qa-reply">').removesuffix("</div>")
    if answer.closest is not None or not answer.abstained:
        assert reply in got  # the very quote the chat shows
    assert format_sources(answer) in got  # the very sources panel


def test_abstention_html_says_not_found() -> None:
    got = abstained()._repr_html_().split("</style>", 1)[1]
    assert "<strong>Not found in the documents.</strong>" in got
    assert "(the best scored 0.12)" in got
    assert '<p class="qa-sources-head">Possibly related passages</p>' in got
    assert "<mark" not in got and "qa-sentence" not in got


def test_abstention_html_quotes_the_closest_candidate() -> None:
    got = unsure()._repr_html_()
    assert "<strong>No passage answers this for certain.</strong> The closest one says:" in got
    assert '<blockquote class="qa-quote qa-closest">' in got
    assert '<mark class="qa-span">RM10 million</mark> to NAIO.' in got
    assert "Not found in the documents" not in got


def test_hostile_answer_html_is_escaped_and_its_span_marked() -> None:
    doc = "Intro. " + HOSTILE
    start = doc.index(HOSTILE)
    span = (start + HOSTILE.index("<img"), start + HOSTILE.index("> and !["))
    answer = Answer(
        question="<script>q()</script>",
        text=HOSTILE,
        score=0.5,
        doc_id="naio.md",
        start=start,
        end=start + len(HOSTILE),
        span=span,
        citations=[hostile_passage()],
    )
    got = answer._repr_html_()
    no_foreign_tags(got)
    assert "Q: &lt;script&gt;q()&lt;/script&gt;" in got
    assert '<mark class="qa-span">&lt;img src=x onerror=&quot;window.__pwned=2&quot;</mark>' in got
    assert "href" not in got
    quote = Quote(HOSTILE, "naio.md", start, start + len(HOSTILE), span, 0.1, hostile_passage())
    no_foreign_tags(quote._repr_html_())


def test_quote_html_marks_its_span() -> None:
    got = closest()._repr_html_()
    assert '<blockquote class="qa-quote">In 2025, the government allocated <mark' in got
    assert '<cite class="qa-title">NAIO news</cite>' in got and "score 0.12" in got


# --- to_dict -------------------------------------------------------------------------------------


def numpy_passage() -> Passage:
    """A passage with the numpy numbers retrieval hands out, which json cannot write."""
    return Passage(
        text=DOC,
        doc_id="naio.md",
        title="NAIO news",
        start=np.int64(0),  # type: ignore[arg-type]
        end=np.int64(len(DOC)),  # type: ignore[arg-type]
        score=np.float32(0.5),  # type: ignore[arg-type]
        rank=np.int64(1),  # type: ignore[arg-type]
        section="Funding",
        page=np.int64(3),  # type: ignore[arg-type]
        chunks=(7, 8),
        extra={"url": "http://example.org"},
    )


def test_passage_to_dict_is_json_ready() -> None:
    got = numpy_passage().to_dict()
    assert got == {
        "rank": 1,
        "doc_id": "naio.md",
        "title": "NAIO news",
        "section": "Funding",
        "page": 3,
        "start": 0,
        "end": len(DOC),
        "text": DOC,
        "score": 0.5,
    }
    assert json.loads(json.dumps(got)) == got
    assert [type(got[k]) for k in ("rank", "page", "start", "end", "score")] == [
        int,
        int,
        int,
        int,
        float,
    ]


def test_passage_to_dict_has_none_for_unknown_section_and_page() -> None:
    got = passage("x", 0).to_dict()
    assert got["section"] is None and got["page"] is None


@pytest.mark.parametrize("make", [found, abstained, unsure], ids=["found", "none", "closest"])
def test_answer_to_dict_round_trips_through_json(make: Callable[[], Answer]) -> None:
    answer = replace(make(), citations=[numpy_passage()], score=np.float32(0.25))
    got = answer.to_dict()
    assert json.loads(json.dumps(got)) == got
    assert got["citations"] == [numpy_passage().to_dict()]
    assert got["score"] == 0.25


def test_answer_to_dict() -> None:
    got = found().to_dict()
    assert got["answer"] == SENTENCE and got["abstained"] is False
    assert (got["start"], got["end"]) == (S_START, S_END)
    assert got["span"] == {"start": SPAN[0], "end": SPAN[1]}
    assert [c["rank"] for c in got["citations"]] == [1, 2]
    assert got["closest"] is None


def test_quote_to_dict() -> None:
    got = closest().to_dict()
    assert got["span_text"] == "RM10 million"
    assert got["citation"] == closest().citation.to_dict()
    assert json.loads(json.dumps(got)) == got


# --- Passages ------------------------------------------------------------------------------------


def three() -> list[Passage]:
    return [
        passage(DOC, 0, section="Funding", page=1, score=0.9),
        passage("Other   text.\nMore.", 0, rank=2, doc_id="o.txt", title="Other", score=0.5),
        passage("Third <i>x</i>.", 5, rank=3, doc_id="t.txt", title="T & co", score=0.25),
    ]


def test_passages_is_a_list() -> None:
    plain = three()
    got = Passages(p for p in plain)  # any iterable
    assert isinstance(got, list) and got == plain and plain == got
    assert len(got) == 3 and got[0] is plain[0]
    assert isinstance(got[1:], Passages) and got[1:] == plain[1:]
    assert Passages() == [] and qa.Passages is Passages


def test_passages_refuses_what_is_not_a_passage() -> None:
    with pytest.raises(TypeError, match="got an item of type dict"):
        Passages([three()[0], {"text": "x"}])  # type: ignore[list-item]


def test_passages_repr_is_one_line_per_passage() -> None:
    got = repr(Passages(three()))
    lines = got.splitlines()
    assert lines[0] == "Passages([" and lines[-1] == "])" and len(lines) == 5
    assert lines[2] == '    <Passage #2 score=0.500 "Other text. More." (Other, chars 0-19)>,'
    assert repr(Passages()) == "Passages([])"


def test_passages_to_dataframe() -> None:
    frame = Passages(three()).to_dataframe()
    assert list(frame.columns) == [
        "rank", "doc_id", "title", "section", "page", "start", "end", "text", "score",
    ]  # fmt: skip
    assert frame["rank"].tolist() == [1, 2, 3]
    assert frame["doc_id"].tolist() == ["naio.md", "o.txt", "t.txt"]
    assert frame["score"].tolist() == [0.9, 0.5, 0.25]
    assert frame.iloc[0]["section"] == "Funding" and frame.iloc[0]["page"] == 1
    assert frame.iloc[2]["text"] == "Third <i>x</i>." and frame.iloc[2]["start"] == 5


def test_empty_passages_to_dataframe_keeps_the_columns() -> None:
    frame = Passages().to_dataframe()
    assert len(frame) == 0 and "score" in frame.columns


def test_passages_to_dataframe_without_pandas(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "pandas", None)  # import pandas now raises ImportError
    with pytest.raises(qa.MissingDependencyError, match=r"run 'pip install pandas'") as info:
        Passages(three()).to_dataframe()
    assert isinstance(info.value, ImportError)


def test_passages_html_is_a_table_of_rank_source_score_and_text() -> None:
    got = Passages(three())._repr_html_()
    assert got.startswith('<div class="qa-result"><style>')
    assert "<th>rank</th><th>source</th><th>score</th><th>text</th>" in got
    rows = re.findall(r"<tr><td>(\d)</td>", got)
    assert rows == ["1", "2", "3"]
    assert (
        '<tr><td>2</td><td><cite class="qa-title">Other</cite><br>'
        '<span class="qa-doc">o.txt, chars 0-19</span></td><td class="qa-num">0.500</td>'
        "<td>Other text. More.</td></tr>"
    ) in got
    assert '<span class="qa-where">§ Funding · p. 1</span>' in got
    assert "Third &lt;i&gt;x&lt;/i&gt;." in got and "T &amp; co" in got and "<i>" not in got


def test_passages_html_clips_long_texts() -> None:
    got = Passages([passage(LONG_TEXT, 0)])._repr_html_()
    text = re.findall(r"<td>([^<]*)</td></tr>", got)[0]
    assert text.startswith("Funding The government allocated money") and text.endswith("…")
    assert len(text) <= 201


def test_empty_passages_html() -> None:
    assert "No passages." in Passages()._repr_html_()


def test_displaying_results_imports_nothing_heavy() -> None:
    code = (
        "import sys, qa\n"
        "p = qa.Passage(text='a', doc_id='d', title='t', start=0, end=1, score=1.0, rank=1)\n"
        "repr(p); p._repr_html_(); p.to_dict(); qa.Passages([p])._repr_html_()\n"
        "roots = {m.split('.')[0] for m in sys.modules}\n"
        "print(sorted(roots & {'pandas', 'gradio', 'torch', 'faiss'}), 'qa.web' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[] False"
