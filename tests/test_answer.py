"""The answer stage on the real path: the bundled reader, its seam, abstention, bad readers."""

from __future__ import annotations

import json
import shutil
import warnings
from pathlib import Path

import pytest

import qa
from qa.answer import answer, sentence_around
from qa.chunking import is_label
from qa.reader import BUNDLED_READER, Reader, get_reader

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def default_index(tmp_path_factory: pytest.TempPathFactory) -> qa.Index:
    return qa.build_index(ROOT / "corpus", tmp_path_factory.mktemp("default"), show_progress=False)


def passage(text: str, *, doc_id: str = "notes.txt", start: int = 0, rank: int = 1) -> qa.Passage:
    return qa.Passage(
        text=text, doc_id=doc_id, title="Notes", start=start, end=start + len(text), score=1.0,
        rank=rank,
    )  # fmt: skip


@pytest.mark.parametrize(
    ("question", "sentence", "span"),
    [
        ("How much did the government allocate to NAIO in 2025?",
         "In 2025, the government allocated RM10 million to NAIO.", "RM10 million"),
        ("How many public officers got access to Gemini?",
         "In addition, the government rolled out Google’s Gemini Suite to 445,000 public "
         "officers.", "445,000"),
    ],
)  # fmt: skip
def test_default_corpus_answers_with_the_readers_span(
    default_index: qa.Index, question: str, sentence: str, span: str
) -> None:
    reply = default_index.ask(question)
    assert reply.text == sentence
    assert not reply.abstained and reply.score >= default_index_reader().threshold
    assert default_index.document(reply.doc_id).text[reply.start : reply.end] == sentence
    assert reply.span is not None and reply.start <= reply.span[0] < reply.span[1] <= reply.end
    assert span in (reply.span_text or "")


def default_index_reader() -> Reader:
    return get_reader()


def test_ask_is_answer_over_retrieve(default_index: qa.Index) -> None:
    question = "How much did the government allocate to NAIO in 2025?"
    assert default_index.ask(question) == answer(question, default_index.retrieve(question))


def test_answer_reads_passages_a_user_chose() -> None:
    chosen = [
        passage("The museum opens at nine. Tickets cost twelve euros for adults.", rank=1),
        passage("Owls can rotate their heads 270 degrees.", doc_id="owls.txt", rank=2),
    ]
    reply = answer("How much is an adult ticket?", chosen)
    assert reply.text == "Tickets cost twelve euros for adults."
    assert reply.doc_id == "notes.txt" and (reply.start, reply.end) == (26, 63)
    assert "twelve euros" in (reply.span_text or "")
    assert reply.citations == chosen


def test_off_topic_questions_abstain(default_index: qa.Index) -> None:
    for question in ("What is the capital of France?", "How do I bake sourdough bread?"):
        reply = default_index.ask(question)
        assert reply.abstained, reply.text
        assert reply.text is None and reply.span is None and reply.start is None
        assert 0.0 <= reply.score < get_reader().threshold
        assert len(reply.citations) == 5


def test_min_score_overrides_the_calibrated_threshold(default_index: qa.Index) -> None:
    question = "How much did the government allocate to NAIO in 2025?"
    sure = default_index.ask(question)
    assert not default_index.ask(question, min_score=0.0).abstained
    never = default_index.ask(question, min_score=1.01)
    assert never.abstained and never.score == pytest.approx(sure.score)


def test_score_is_a_probability_whatever_the_flags(default_index: qa.Index) -> None:
    for question in ("What is NAIO?", "Who won the 1998 World Cup?"):
        for min_score in (None, 0.0, 1.0):
            score = default_index.ask(question, min_score=min_score).score
            assert 0.0 <= score <= 1.0


def test_no_reader_keeps_retrieval_and_warns(default_index: qa.Index) -> None:
    question = "How much did the government allocate to NAIO in 2025?"
    passages = default_index.retrieve(question)
    with pytest.warns(UserWarning, match="No reader"):
        reply = answer(question, passages, reader=None)
    assert reply.abstained and reply.citations == passages and reply.score == 0.0


def test_a_long_passage_is_read_in_strides() -> None:
    filler = " ".join(f"Line {n} of the log says nothing of note." for n in range(60))
    text = filler + " The spare key is hidden under the blue flowerpot."
    assert len(get_reader()._question_tokenizer.encode(text).ids) > 2 * get_reader().max_tokens
    reply = answer("Where is the spare key hidden?", [passage(text)])
    assert reply.text == "The spare key is hidden under the blue flowerpot."
    assert "flowerpot" in (reply.span_text or "")


def test_a_title_or_heading_is_never_the_answer(default_index: qa.Index) -> None:
    title = default_index.documents[0].title
    for question in (title, "Governance and Funding Progress", "Who heads the National AI Office?"):
        reply = default_index.ask(question, min_score=0.0)
        assert reply.text not in (title, "Governance and Funding Progress")


def test_is_label() -> None:
    # A passage of the document "Report" in its section "Funding".
    assert is_label("Funding", "Report", "Funding")
    assert is_label("## Funding:", "Report", "Funding")
    assert is_label("Report", "Report", "Funding")
    assert not is_label("It grew.", "Report", "Funding")
    assert not is_label("Report.", "Report", "Funding")  # a title that reads as a sentence is one


def test_sentence_around() -> None:
    text = "Dr. Ruiz came. She left at 5 p.m. on Monday. Then rain."
    assert text[slice(*sentence_around(text, 27, 33))] == "She left at 5 p.m. on Monday."
    span = sentence_around(text, 10, 20)  # a span across two sentences quotes both
    assert text[slice(*span)] == "Dr. Ruiz came. She left at 5 p.m. on Monday."


# -- a reader of your own, and readers that cannot load ---------------------------------------


def copy_reader(target: Path) -> Path:
    shutil.copytree(BUNDLED_READER, target)
    return target


def test_reader_folder_of_your_own(tmp_path: Path, default_index: qa.Index) -> None:
    folder = copy_reader(tmp_path / "mine")
    config = json.loads((folder / "config.json").read_text())
    config["threshold"] = 0.999
    (folder / "config.json").write_text(json.dumps(config))
    question = "How much did the government allocate to NAIO in 2025?"
    mine = answer(question, default_index.retrieve(question), reader=folder)
    assert mine.abstained  # its own threshold, not the bundled one
    assert mine.score == pytest.approx(default_index.ask(question).score)
    assert get_reader(folder).threshold == 0.999


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (lambda f: shutil.rmtree(f), "No reader folder at"),
        (lambda f: (f / "reader.onnx").unlink(), "the file is missing or corrupt"),
        (lambda f: (f / "reader.onnx").write_bytes(b"\x08\x01garbage" * 100), "missing or corrupt"),
        (lambda f: (f / "config.json").write_text("{not json"), "Could not read the reader config"),
        (lambda f: (f / "config.json").write_text('{"format": "qa-reader"}'), "lacks or mangles"),
        (lambda f: (f / "tokenizer.json").write_text("[]"), "Could not load the reader tokenizer"),
    ],
)
def test_a_broken_reader_is_a_model_load_error_naming_the_path(
    tmp_path: Path, damage: object, message: str
) -> None:
    folder = copy_reader(tmp_path / "broken")
    damage(folder)  # type: ignore[operator]
    with pytest.raises(qa.ModelLoadError, match=message) as caught:
        Reader(folder)
    assert str(tmp_path / "broken") in str(caught.value)


@pytest.mark.parametrize(
    "outputs",
    [("logits",), ("start_logits", "end_logits", "answer_logit")],
    ids=["other outputs", "answer logit per token"],
)
def test_a_model_of_the_wrong_shape_is_a_model_load_error(
    tmp_path: Path, outputs: tuple[str, ...]
) -> None:
    onnx = pytest.importorskip("onnx")
    from onnx import TensorProto, helper

    folder = copy_reader(tmp_path / "shape")
    axes = ["batch", "tokens"]
    graph = helper.make_graph(
        [helper.make_node("Identity", ["input_ids"], [name]) for name in outputs],
        "wrong",
        [
            helper.make_tensor_value_info(name, TensorProto.INT64, axes)
            for name in ("input_ids", "attention_mask", "token_type_ids")
        ],
        [helper.make_tensor_value_info(name, TensorProto.INT64, axes) for name in outputs],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    onnx.save(model, str(folder / "reader.onnx"))
    with pytest.raises(qa.ModelLoadError, match="has the wrong outputs") as caught:
        Reader(folder)
    assert str(folder / "reader.onnx") in str(caught.value)


def test_an_index_with_a_missing_reader_says_so_and_retrieval_still_works(
    tmp_path: Path, default_index: qa.Index
) -> None:
    fresh = qa.Index.load(default_index.path)
    fresh.reader = tmp_path / "nowhere"
    with pytest.raises(qa.ModelLoadError, match=str(tmp_path / "nowhere")):
        fresh.ask("What is NAIO?")
    assert len(fresh.retrieve("What is NAIO?")) == 5
    fresh.reader = None
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert fresh.ask("What is NAIO?").abstained
    assert any("No reader" in str(w.message) for w in caught)
