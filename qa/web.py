"""The web chat: Answers formatted as HTML, a Gradio app around them, and an ``/ask`` API.

The formatting functions are pure (Answer in, HTML or dict out) and need no Gradio; Gradio is
imported only inside ``build_demo`` and ``launch``. The callbacks call ``Index.ask`` and format
what it returns: no retrieval logic lives here.

Every piece of document text is untrusted. It is escaped with ``html.escape`` and shown through
components that do not run Markdown (the Chatbot has ``render_markdown=False``, the sources panel
is a ``gr.HTML``), so ``<script>``, ``<img onerror>`` and ``![x](http://...)`` in a document are
shown as text: never executed, never fetched.

Follow-ups: a question that says "it", "they", "this" (see ``REFERRING_WORDS``) is asked together
with the last question that did not, e.g. "When was it launched?" after "What is NAIO?" is asked
as "What is NAIO? When was it launched?", and the reply says so; when that only gives back the
answer already shown, the question on its own is asked too, and its answer, if any, is shown
(``answer_in_context``).

Feedback: a thumb up or down on an answer appends a row in the question-set format to the JSONL
file named by ``QA_FEEDBACK_FILE`` (default ``feedback.jsonl`` in the current folder); see
``feedback_row`` for what each row holds.
"""

from __future__ import annotations

import html
import json
import logging
import os
import re
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from qa import retrieval
from qa.answer import load_reader
from qa.errors import QAError
from qa.types import Answer, Passage

if TYPE_CHECKING:
    import gradio as gr

    from qa.index import Index

logger = logging.getLogger(__name__)

#: Where the app listens unless GRADIO_SERVER_NAME / GRADIO_SERVER_PORT say otherwise.
DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 7860

#: The feedback file: env var naming it, and the file used when it is unset.
FEEDBACK_ENV = "QA_FEEDBACK_FILE"
DEFAULT_FEEDBACK_FILE = "feedback.jsonl"

#: Defaults of the settings panel (and of the ``/ask`` API): the library's own. The abstention
#: threshold's default is the reader's calibrated one.
DEFAULT_K = retrieval.DEFAULT_K
DEFAULT_MODE = retrieval.DEFAULT_MODE

#: How many closest passages an abstention reply lists as possibly related.
RELATED_IN_REPLY = 3
#: Passages shown in an abstention reply are cut to about this many characters.
SNIPPET_CHARS = 160

#: Words that make a question a follow-up of the previous one.
REFERRING_WORDS = ("it", "its", "they", "them", "their", "this", "these", "those")
_REFERRING = re.compile(r"\b(?:" + "|".join(REFERRING_WORDS) + r")\b", re.IGNORECASE)

#: Example questions for the default corpus (the article on Malaysia's National AI Office).
EXAMPLES = (
    "How much did the government allocate to NAIO in 2025?",
    "How many public officers got Google's Gemini Suite?",
    "What will the new agency focus on in its first year?",
    "What is AI Malaysia (AIM)?",
)

_SPACES = re.compile(r"\s+")
_LINE_BREAKS = re.compile(r"\s*\n\s*")


# --- formatting: Answer -> HTML ----------------------------------------------------------------


def _esc(text: str) -> str:
    return html.escape(text, quote=True)


def _inline(text: str) -> str:
    """Escape ``text`` and fold every run of whitespace into one space."""
    return _SPACES.sub(" ", _esc(text))


def _block(text: str) -> str:
    """Escape ``text``; a run of whitespace holding a line break becomes one ``<br>``."""
    parts = _LINE_BREAKS.split(_esc(text))
    return "<br>".join(_SPACES.sub(" ", part) for part in parts)


def highlight(
    text: str,
    offset: int,
    sentence: tuple[int, int] | None,
    span: tuple[int, int] | None,
    *,
    render: Callable[[str], str] = _inline,
) -> str:
    """``text`` (which starts at document offset ``offset``) as escaped HTML, with the part in
    ``sentence`` wrapped in ``<span class="qa-sentence">`` and the part in ``span`` in
    ``<mark class="qa-span">``. Ranges are document offsets, clipped to the text; an empty or
    missing range marks nothing. ``render`` escapes each piece (``_inline`` or ``_block``)."""
    end = offset + len(text)

    def clip(bounds: tuple[int, int] | None) -> tuple[int, int] | None:
        if bounds is None:
            return None
        lo, hi = max(bounds[0], offset), min(bounds[1], end)
        return (lo, hi) if lo < hi else None

    outer = clip(sentence)
    inner = clip(span)
    if outer is None:
        if inner is None:
            return render(text)
        outer, sentence_class = inner, None
    else:
        sentence_class = "qa-sentence"
        if inner is not None:
            inner = (max(inner[0], outer[0]), min(inner[1], outer[1]))
            inner = inner if inner[0] < inner[1] else None

    def piece(lo: int, hi: int) -> str:
        return render(text[lo - offset : hi - offset])

    middle = piece(*outer)
    if inner is not None:
        middle = (
            piece(outer[0], inner[0])
            + f'<mark class="qa-span">{piece(*inner)}</mark>'
            + piece(inner[1], outer[1])
        )
    if sentence_class is not None:
        middle = f'<span class="{sentence_class}">{middle}</span>'
    return piece(offset, outer[0]) + middle + piece(outer[1], end)


def where(passage: Passage) -> str:
    """Section and page of ``passage`` as plain text ("§ Funding · p. 3"), or ""."""
    parts = []
    if passage.section:
        parts.append(f"§ {passage.section}")
    if passage.page is not None:
        parts.append(f"p. {passage.page}")
    return " · ".join(parts)


def holders(answer: Answer) -> list[Passage]:
    """The cited passages that hold the answer sentence (overlapping chunks may give several)."""
    if answer.abstained or answer.doc_id is None or answer.start is None or answer.end is None:
        return []
    same_doc = [p for p in answer.citations if p.doc_id == answer.doc_id]
    inside = [p for p in same_doc if p.start <= answer.start and answer.end <= p.end]
    return inside or [p for p in same_doc if p.start < answer.end and answer.start < p.end]


def _marker(rank: int) -> str:
    return f'<span class="qa-marker">[{rank}]</span>'


def _source_label(passage: Passage) -> str:
    label = f'<cite class="qa-title">{_inline(passage.title)}</cite>'
    place = where(passage)
    if place:
        label += f' <span class="qa-where">{_inline(place)}</span>'
    return label


def snippet(text: str, limit: int = SNIPPET_CHARS) -> str:
    """``text`` with whitespace folded, cut at a word boundary to about ``limit`` characters."""
    text = _SPACES.sub(" ", text).strip()
    if len(text) <= limit:
        return text
    cut = text[:limit].rsplit(" ", 1)[0] or text[:limit]
    return cut.rstrip(" ,;:") + "…"


def format_answer(answer: Answer, *, asked: str | None = None) -> str:
    """The chat reply for ``answer``, as HTML.

    An answer quotes its sentence with the exact span in ``<mark>`` and the numbered markers of
    the cited passages that hold it, then names their source. An abstention says the answer was
    not found in the documents and offers the closest passages. ``asked`` is the question as the
    user typed it; when the question asked was rewritten (a follow-up), the reply shows how.
    """
    parts = []
    if asked is not None and asked.strip() != answer.question.strip():
        parts.append(f'<p class="qa-note">Follow-up, asked as: “{_inline(answer.question)}”</p>')
    if answer.abstained or answer.text is None or answer.start is None:
        parts.append(_format_abstention(answer))
    else:
        parts.append(_format_found(answer, answer.text, answer.start))
    return '<div class="qa-reply">' + "".join(parts) + "</div>"


def _format_found(answer: Answer, text: str, start: int) -> str:
    quote = highlight(text, start, None, answer.span).strip()
    held = holders(answer)
    markers = "".join(f'<sup class="qa-cite">[{p.rank}]</sup>' for p in held)
    out = f'<blockquote class="qa-quote">{quote}{markers}</blockquote>'
    label = ""
    if held:
        label = "".join(_marker(p.rank) for p in held) + " " + _source_label(held[0]) + " · "
    out += f'<p class="qa-from">{label}<span class="qa-score">score {answer.score:.2f}</span></p>'
    return out


def _format_abstention(answer: Answer) -> str:
    out = (
        '<p class="qa-notfound"><strong>Not found in the documents.</strong> '
        "No sentence in them answers this question confidently"
    )
    related = answer.citations[:RELATED_IN_REPLY]
    out += f" (the best scored {answer.score:.2f}).</p>" if related else ".</p>"
    if related:
        items = "".join(
            f"<li>{_marker(p.rank)} {_source_label(p)}"
            f'<br><q class="qa-snippet">{_esc(snippet(p.text))}</q></li>'
            for p in related
        )
        out += (
            f'<p class="qa-related-head">Possibly related:</p><ul class="qa-related">{items}</ul>'
        )
    return out


def format_sources(answer: Answer | None) -> str:
    """The sources panel for ``answer``, as HTML: every cited passage with its title, section or
    page (its retrieval score in a tooltip), the answer sentence highlighted (and its span
    marked) in the passages that hold it. For an abstention the passages are headed "Possibly
    related passages"."""
    if answer is None:
        return (
            '<div class="qa-sources qa-empty">'
            "The passages an answer is quoted from appear here.</div>"
        )
    if not answer.citations:
        return '<div class="qa-sources qa-empty">No passage was retrieved.</div>'
    found = not answer.abstained and answer.start is not None and answer.end is not None
    head = "Sources" if found else "Possibly related passages"
    held = {id(p) for p in holders(answer)}
    sentence = None
    if answer.start is not None and answer.end is not None:
        sentence = (answer.start, answer.end)
    items = []
    for passage in answer.citations:
        holds = id(passage) in held
        body = highlight(
            passage.text,
            passage.start,
            sentence if holds else None,
            answer.span if holds else None,
            render=_block,
        )
        classes = "qa-passage qa-holds-answer" if holds else "qa-passage"
        items.append(
            f'<li class="{classes}"><div class="qa-passage-head" '
            f'title="retrieval score {passage.score:.4f}">{_marker(passage.rank)} '
            f"{_source_label(passage)}</div>"
            f'<div class="qa-passage-text">{body}</div></li>'
        )
    return (
        f'<div class="qa-sources"><p class="qa-sources-head">{head}</p>'
        f'<ol class="qa-passages">{"".join(items)}</ol></div>'
    )


def format_question(question: str) -> str:
    """The user's chat bubble: the question, escaped."""
    return f'<div class="qa-question">{_inline(question.strip())}</div>'


# --- the API's JSON ----------------------------------------------------------------------------


def answer_to_json(answer: Answer) -> dict[str, Any]:
    """``answer`` as the JSON the ``/ask`` endpoint returns.

    Keys: ``question``, ``answer`` (the sentence, or None when abstaining), ``abstained``,
    ``score``, ``doc_id``, ``start``, ``end`` (where the sentence lies, or None), ``span``
    (``{"start", "end"}`` of the exact answer in document ``doc_id``, or None) and
    ``citations`` (``rank``, ``doc_id``, ``title``, ``start``, ``end``, ``text``, ``score``).
    """
    span = None if answer.span is None else {"start": answer.span[0], "end": answer.span[1]}
    return {
        "question": answer.question,
        "answer": answer.text,
        "abstained": bool(answer.abstained),
        "score": float(answer.score),
        "doc_id": answer.doc_id,
        "start": None if answer.start is None else int(answer.start),
        "end": None if answer.end is None else int(answer.end),
        "span": None if span is None else {k: int(v) for k, v in span.items()},
        "citations": [
            {
                "rank": int(p.rank),
                "doc_id": p.doc_id,
                "title": p.title,
                "start": int(p.start),
                "end": int(p.end),
                "text": p.text,
                "score": float(p.score),
            }
            for p in answer.citations
        ],
    }


# --- follow-ups --------------------------------------------------------------------------------


def is_follow_up(question: str) -> bool:
    """True when ``question`` refers back with one of ``REFERRING_WORDS``."""
    return _REFERRING.search(question) is not None


def contextual_question(question: str, topic: str | None) -> str:
    """The question to ask: ``question`` itself, or, for a follow-up, ``topic`` (the last
    question that was not a follow-up) followed by ``question``."""
    question = question.strip()
    if topic and is_follow_up(question):
        return f"{topic.strip()} {question}"
    return question


def same_sentence(answer: Answer, other: Answer | None) -> bool:
    """True when both answers quote the same sentence of the same document."""
    return (
        other is not None
        and not answer.abstained
        and not other.abstained
        and (answer.doc_id, answer.start, answer.end) == (other.doc_id, other.start, other.end)
    )


def answer_in_context(
    ask: Callable[[str], Answer], question: str, topic: str | None, previous: Answer | None
) -> Answer:
    """Answer ``question`` in a conversation, with ``ask`` (one library call per question).

    A follow-up is asked as ``contextual_question(question, topic)``. The topic's words pull
    the answer towards the one already given, so when that gives back the sentence of
    ``previous`` (the answer shown last), the follow-up is asked again on its own, and that
    answer wins unless it abstains.
    """
    asked = contextual_question(question, topic)
    answer = ask(asked)
    if asked != question.strip() and same_sentence(answer, previous):
        alone = ask(question.strip())
        if not alone.abstained:
            return alone
    return answer


# --- feedback ----------------------------------------------------------------------------------

_feedback_lock = threading.Lock()


def feedback_path() -> Path:
    """The feedback file: ``$QA_FEEDBACK_FILE``, or ``feedback.jsonl`` in the current folder."""
    return Path(os.environ.get(FEEDBACK_ENV) or DEFAULT_FEEDBACK_FILE)


def feedback_row(answer: Answer, liked: bool, *, row_id: str | None = None) -> dict[str, Any]:
    """A question-set row (``question``, ``answers``, ``id``, optional ``doc_id``) recording a
    thumb up (``"feedback": "up"``) or down (``"down"``) on ``answer``.

    - Up on an answer: ``answers`` is ``[span text]`` (the whole sentence when there is no span),
      ``doc_id`` the document it came from: a regression case.
    - Up on an abstention: ``answers`` is ``[]``, the question-set mark of an unanswerable one.
    - Down: ``answers`` is ``[]`` and ``needs_review`` is true, with the rejected sentence in
      ``rejected``. Review these rows before evaluating: write the right answer in ``answers``,
      or leave ``[]`` when the documents really do not answer the question.
    """
    row: dict[str, Any] = {
        "question": answer.question,
        "answers": [],
        "id": row_id or f"feedback-{uuid.uuid4().hex[:12]}",
    }
    answered = not answer.abstained and answer.text is not None
    if liked and answered:
        row["answers"] = [answer.span_text or answer.text]
        row["doc_id"] = answer.doc_id
    row["feedback"] = "up" if liked else "down"
    if not liked:
        row["needs_review"] = True
        if answered:
            row["rejected"] = answer.text
    return row


def append_feedback(row: dict[str, Any], path: str | Path | None = None) -> Path:
    """Append ``row`` as one JSON line to ``path`` (default ``feedback_path()``); return it."""
    target = Path(path) if path is not None else feedback_path()
    line = json.dumps(row, ensure_ascii=False) + "\n"
    with _feedback_lock:
        if target.parent != Path():
            target.parent.mkdir(parents=True, exist_ok=True)
        with target.open("a", encoding="utf-8") as handle:
            handle.write(line)
    logger.info("Recorded feedback %s on %r in %s", row["feedback"], row["question"], target)
    return target


# --- the Gradio app ----------------------------------------------------------------------------


@dataclass
class ChatState:
    """What one browser session remembers: the topic and last answer for follow-ups, and the
    Answer behind each assistant message (by its index in the chat) for feedback."""

    topic: str | None = None
    last: Answer | None = None
    answers: dict[int, Answer] = field(default_factory=dict)


CSS = """
.qa-header h1 { margin: 0 0 .2rem 0; font-size: 1.6rem; }
.qa-header p { margin: 0; color: var(--body-text-color-subdued); }
.qa-reply, .qa-question { line-height: 1.55; }
.qa-reply p { margin: .25rem 0; }
.qa-quote { margin: 0 0 .4rem 0; padding: .15rem 0 .15rem .8rem;
  border-left: 3px solid var(--color-accent); font-size: 1.02rem; }
.qa-cite { color: var(--color-accent); font-weight: 600; margin-left: .15rem; }
.qa-marker { color: var(--color-accent); font-weight: 600; font-variant-numeric: tabular-nums; }
mark.qa-span { background: #fde68a; color: inherit; padding: 0 .15rem; border-radius: 3px; }
.dark mark.qa-span { background: #a16207; }
.qa-sentence { background: rgba(99, 102, 241, .12); border-radius: 3px; }
.qa-title { font-style: normal; font-weight: 600; }
.qa-where, .qa-score, .qa-note, .qa-from, .qa-related-head {
  color: var(--body-text-color-subdued); font-size: .9em; }
.qa-note { font-style: italic; }
.qa-notfound strong { color: var(--body-text-color); }
.qa-related { margin: .2rem 0 0 0; padding-left: 0; list-style: none; }
.qa-related li { margin: .35rem 0; }
.qa-snippet { color: var(--body-text-color-subdued); font-size: .92em; }
.qa-sources { font-size: .95rem; }
.qa-sources-head { font-weight: 600; margin: 0 0 .5rem 0; }
.qa-empty { color: var(--body-text-color-subdued); padding: 1rem .25rem; }
.qa-passages { list-style: none; margin: 0; padding: 0; }
.qa-passage { border: 1px solid var(--border-color-primary); border-radius: 8px;
  padding: .6rem .75rem; margin: 0 0 .6rem 0; background: var(--background-fill-primary); }
.qa-passage.qa-holds-answer { border-color: var(--color-accent); }
.qa-passage-head { margin-bottom: .3rem; line-height: 1.4; }
.qa-passage-text { line-height: 1.5; }
"""


def _theme() -> Any:
    import gradio as gr

    # System fonts: the page fetches nothing from outside the app.
    return gr.themes.Soft(
        primary_hue="indigo",
        font=["ui-sans-serif", "system-ui", "sans-serif"],
        font_mono=["ui-monospace", "monospace"],
    )


def build_demo(index: Index | None = None) -> gr.Blocks:
    """The Gradio app over ``index`` (default: ``qa.load_index()``, built when missing or stale).

    Chat with cited, highlighted answers; a sources panel; settings (passages, retrieval mode,
    abstention threshold) in a collapsible panel; thumbs up/down written to the feedback file;
    and the ``/ask`` API endpoint, which returns ``answer_to_json`` of one question.
    """
    import gradio as gr

    if index is None:
        from qa import load_index

        index = load_index()
    idx = index
    reader = load_reader(idx.reader)
    threshold = reader.threshold if reader is not None else 0.5

    def ask_answer(question: str, k: int, mode: str | None, min_score: float | None) -> Answer:
        try:
            return idx.ask(question, k=int(k), mode=mode or None, min_score=min_score)
        except (QAError, ValueError) as exc:  # ValueError: a bad k or mode, named in the message
            raise gr.Error(str(exc)) from exc

    def respond(
        question: str,
        history: list[dict[str, Any]],
        state: ChatState,
        k: int,
        mode: str,
        min_score: float,
    ) -> tuple[str, list[dict[str, Any]], str, ChatState]:
        question = question or ""
        answer = answer_in_context(
            lambda q: ask_answer(q, k, mode, min_score), question, state.topic, state.last
        )
        if not is_follow_up(question) or state.topic is None:
            state.topic = question.strip()
        state.last = answer
        history = [
            *history,
            {"role": "user", "content": format_question(question)},
            {"role": "assistant", "content": format_answer(answer, asked=question)},
        ]
        state.answers[len(history) - 1] = answer
        return "", history, format_sources(answer), state

    def on_like(state: ChatState, data: gr.LikeData) -> None:
        index_ = data.index if isinstance(data.index, int) else data.index[0]
        answer = state.answers.get(index_)
        if answer is None or data.liked not in (True, False):
            return  # a thumb taken back, or a message that is not an answer
        append_feedback(feedback_row(answer, bool(data.liked)))

    def on_example(data: gr.SelectData) -> str:
        value = data.value
        return str(value.get("text", "") if isinstance(value, dict) else value)

    # Gradio passes event data by type hint; the hints above are strings (postponed
    # annotations) naming the lazily imported ``gr``, so hand it the classes themselves.
    on_like.__annotations__["data"] = gr.LikeData
    on_example.__annotations__["data"] = gr.SelectData

    def on_clear() -> tuple[str, ChatState]:
        return format_sources(None), ChatState()

    def ask(question: str) -> dict[str, Any]:
        """Answer one question from the documents: the quoted sentence (or an abstention), the
        exact span and the cited passages, with the library's default k, mode and threshold."""
        return answer_to_json(ask_answer(question, DEFAULT_K, None, None))

    with gr.Blocks(title="qa: ask the documents", analytics_enabled=False) as demo:
        gr.HTML(
            '<div class="qa-header"><h1>Ask the documents</h1><p>Every answer is a sentence '
            "quoted word for word from the documents, with its source. Nothing is generated.</p>"
            "</div>",
            js_on_load=None,
        )
        state = gr.State(ChatState())
        with gr.Row(equal_height=False):
            with gr.Column(scale=3, min_width=360):
                chatbot = gr.Chatbot(
                    label="Chat",
                    show_label=False,
                    height=520,
                    render_markdown=False,
                    sanitize_html=True,
                    allow_tags=False,
                    latex_delimiters=[],
                    buttons=[],  # a copy button would copy the reply's HTML source
                    feedback_options=("Like", "Dislike"),
                    placeholder="Ask a question about the documents.",
                    examples=[{"text": q} for q in EXAMPLES],
                    elem_id="qa-chat",
                )
                with gr.Row():
                    question = gr.Textbox(
                        placeholder="Ask a question…",
                        show_label=False,
                        scale=5,
                        autofocus=True,
                        submit_btn=True,
                        elem_id="qa-question",
                    )
                with gr.Accordion("Settings", open=False, elem_id="qa-settings"):
                    k = gr.Slider(
                        1,
                        20,
                        value=DEFAULT_K,
                        step=1,
                        label="Passages",
                        info="How many passages to search for the answer, and to cite.",
                        elem_id="qa-k",
                    )
                    mode = gr.Radio(
                        list(retrieval.MODES),
                        value=DEFAULT_MODE,
                        label="Retrieval mode",
                        info="dense: by meaning; keyword: by words (BM25); hybrid: both, fused.",
                        elem_id="qa-mode",
                    )
                    min_score = gr.Slider(
                        0.0,
                        1.0,
                        value=threshold,
                        step=0.01,
                        label="Abstention threshold",
                        info="Below this score the reply is 'Not found in the documents'.",
                        elem_id="qa-min-score",
                    )
            with gr.Column(scale=2, min_width=300):
                sources = gr.HTML(
                    format_sources(None),
                    label="Sources",
                    max_height=640,
                    js_on_load=None,
                    elem_id="qa-sources",
                )

        chat_inputs = [question, chatbot, state, k, mode, min_score]
        chat_outputs = [question, chatbot, sources, state]
        question.submit(
            respond, chat_inputs, chat_outputs, api_visibility="private", show_progress="minimal"
        )
        chatbot.example_select(on_example, None, question, api_visibility="private").then(
            respond, chat_inputs, chat_outputs, api_visibility="private"
        )
        chatbot.like(on_like, state, None, api_visibility="private")
        chatbot.clear(on_clear, None, [sources, state], api_visibility="private")
        gr.api(ask, api_name="ask")
    return demo


def server_address(*, host: str | None = None, port: int | None = None) -> tuple[str, int]:
    """Where to listen: the arguments, else GRADIO_SERVER_NAME / GRADIO_SERVER_PORT, else
    127.0.0.1:7860."""
    host = host or os.environ.get("GRADIO_SERVER_NAME") or DEFAULT_HOST
    if port is None:
        env_port = os.environ.get("GRADIO_SERVER_PORT")
        try:
            port = int(env_port) if env_port else DEFAULT_PORT
        except ValueError:
            raise ValueError(
                f"GRADIO_SERVER_PORT is {env_port!r}, not a port number; set it to e.g. 7860"
            ) from None
    return host, port


def launch(demo: gr.Blocks, *, host: str | None = None, port: int | None = None) -> None:
    """Serve ``demo`` (from ``build_demo``) at ``server_address(host=, port=)`` with its
    stylesheet and theme, without a share link, until interrupted."""
    server_name, server_port = server_address(host=host, port=port)
    demo.launch(
        server_name=server_name, server_port=server_port, share=False, css=CSS, theme=_theme()
    )


def serve(*, host: str | None = None, port: int | None = None) -> None:
    """Build the app over the default index and serve it until interrupted."""
    launch(build_demo(), host=host, port=port)
