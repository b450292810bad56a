"""The Gradio page: components wired to ``Chat``'s callbacks, and nothing else.

``build_demo`` lays out the chat (with the corpus's example questions, see ``qa.web.examples``),
the sources panel and the settings (passages, retrieval mode, abstention threshold), and exposes
the ``/ask`` API. ``CSS`` and ``theme()`` are its look; ``qa.web.server`` serves it. Gradio is
imported only inside these functions, so importing ``qa.web`` stays fast.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from qa import retrieval
from qa.answer import load_reader
from qa.web.api import ask_endpoint
from qa.web.chat import Chat, ChatState, record_thumb
from qa.web.examples import examples_for
from qa.web.format import format_sources

if TYPE_CHECKING:
    import gradio as gr

    from qa.index import Index

#: The settings panel's defaults: the library's own (the threshold's is the reader's).
DEFAULT_K = retrieval.DEFAULT_K
DEFAULT_MODE = retrieval.DEFAULT_MODE

HEADER = (
    '<div class="qa-header"><h1>Ask the documents</h1><p>Every answer is a sentence quoted word '
    "for word from the documents, with its source. Nothing is generated.</p></div>"
)

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
.qa-notfound strong, .qa-unsure strong { color: var(--body-text-color); }
.qa-quote.qa-closest { border-left-style: dashed; }
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


def theme() -> Any:
    """The app's theme, with system fonts: the page fetches nothing from outside the app."""
    import gradio as gr

    return gr.themes.Soft(
        primary_hue="indigo",
        font=["ui-sans-serif", "system-ui", "sans-serif"],
        font_mono=["ui-monospace", "monospace"],
    )


def build_demo(index: Index | None = None, *, examples: Sequence[str] | None = None) -> gr.Blocks:
    """The Gradio app over ``index`` (default: ``qa.load_index()``, built when missing or stale).

    Chat with cited, highlighted answers; a sources panel; settings (passages, retrieval mode,
    abstention threshold) in a collapsible panel; thumbs up/down written to the feedback file;
    and the ``/ask`` API endpoint, which returns ``answer_to_json`` of one question.
    ``examples`` are the example questions offered (default: the corpus's, ``examples_for``).
    """
    import gradio as gr

    if index is None:
        from qa import load_index

        index = load_index()
    chat = Chat(index)
    shown = examples_for(index) if examples is None else tuple(examples)
    _hint_event_data(gr)
    with gr.Blocks(title="qa: ask the documents", analytics_enabled=False) as demo:
        gr.HTML(HEADER, js_on_load=None)
        state = gr.State(ChatState())
        with gr.Row(equal_height=False):
            with gr.Column(scale=3, min_width=360):
                chatbot = _chatbot(gr, shown)
                with gr.Row():
                    question = _question_box(gr)
                with gr.Accordion("Settings", open=False, elem_id="qa-settings"):
                    k, mode, min_score = _settings(gr, index)
            with gr.Column(scale=2, min_width=300):
                sources = gr.HTML(
                    format_sources(None),
                    label="Sources",
                    max_height=640,
                    js_on_load=None,
                    elem_id="qa-sources",
                )
        turn_in = [question, chatbot, state, k, mode, min_score]
        turn_out = [question, chatbot, sources, state]
        private: dict[str, Any] = {"api_visibility": "private"}
        question.submit(chat.respond, turn_in, turn_out, **private, show_progress="minimal")
        chatbot.example_select(_on_example, None, question, **private).then(
            chat.respond, turn_in, turn_out, **private
        )
        chatbot.like(_on_like, state, None, **private)
        chatbot.clear(chat.clear, None, [sources, state], **private)
        gr.api(ask_endpoint(chat.ask), api_name="ask")
    return demo


def _chatbot(gr: Any, examples: Sequence[str]) -> Any:
    """The chat: replies are HTML (escaped by ``qa.web.format``), never Markdown."""
    return gr.Chatbot(
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
        examples=[{"text": q} for q in examples] or None,
        elem_id="qa-chat",
    )


def _question_box(gr: Any) -> Any:
    return gr.Textbox(
        placeholder="Ask a question…",
        show_label=False,
        scale=5,
        autofocus=True,
        submit_btn=True,
        elem_id="qa-question",
    )


def _settings(gr: Any, index: Index) -> tuple[Any, Any, Any]:
    """The passages slider, the retrieval mode and the abstention threshold."""
    reader = load_reader(index.reader)
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
        value=reader.threshold if reader is not None else 0.5,
        step=0.01,
        label="Abstention threshold",
        info="Below this score the reply gives no answer, only the closest sentence or passages.",
        elem_id="qa-min-score",
    )
    return k, mode, min_score


def _on_like(state: ChatState, data: gr.LikeData) -> None:
    record_thumb(state, data.index, data.liked)


def _on_example(data: gr.SelectData) -> str:
    value = data.value
    return str(value.get("text", "") if isinstance(value, dict) else value)


def _hint_event_data(gr: Any) -> None:
    """Gradio passes event data by type hint; the hints above are strings (postponed
    annotations) naming the lazily imported ``gr``, so hand it the classes themselves."""
    _on_like.__annotations__["data"] = gr.LikeData
    _on_example.__annotations__["data"] = gr.SelectData
