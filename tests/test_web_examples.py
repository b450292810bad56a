"""Example questions come from the corpus's question set, never from the code."""

from __future__ import annotations

import json
import logging
import re
from pathlib import Path
from types import SimpleNamespace
from typing import Any, cast

import pytest

from qa.web.examples import example_questions, examples_for, question_set_of

ROOT = Path(__file__).resolve().parent.parent


def write_set(path: Path, rows: list[tuple[str, list[str]]]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = [
        json.dumps({"id": f"q{i}", "question": q, "answers": a}) for i, (q, a) in enumerate(rows)
    ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def stub_index(corpus: Path | None) -> Any:
    """An index as far as the examples and the layout see it: a manifest, and no reader."""
    manifest = {} if corpus is None else {"corpus": str(corpus)}
    return cast(Any, SimpleNamespace(manifest=manifest, reader=None))


def test_the_question_set_lies_beside_the_corpus_folder() -> None:
    assert question_set_of(Path("/data/corpus")) == Path("/data/questions/default.jsonl")
    assert question_set_of("corpus") == Path("questions/default.jsonl")


def test_examples_are_the_first_answerable_questions_in_file_order(tmp_path: Path) -> None:
    path = write_set(
        tmp_path / "set.jsonl",
        [
            ("Who heads it?", []),
            ("What is A?", ["a"]),
            ("What is B?", ["b"]),
            ("Is C unknown?", []),
            ("What is D?", ["d"]),
            ("What is E?", ["e"]),
            ("What is F?", ["f"]),
        ],
    )
    assert example_questions(path) == ("What is A?", "What is B?", "What is D?", "What is E?")
    assert example_questions(path, 2) == ("What is A?", "What is B?")
    assert example_questions(path, 0) == ()


def test_a_negative_count_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="count must be 0 or more"):
        example_questions(tmp_path / "set.jsonl", -1)


def test_no_question_set_means_no_examples(tmp_path: Path) -> None:
    assert example_questions(tmp_path / "questions" / "default.jsonl") == ()
    assert examples_for(stub_index(tmp_path / "corpus")) == ()
    assert examples_for(stub_index(None)) == ()


def test_a_broken_question_set_gives_no_examples_and_a_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "questions" / "default.jsonl"
    path.parent.mkdir()
    path.write_text('{"question": "What?"\n', encoding="utf-8")
    with caplog.at_level(logging.WARNING, logger="qa.web.examples"):
        assert example_questions(path) == ()
    assert str(path) in caplog.text


def test_a_users_corpus_shows_its_own_questions(tmp_path: Path) -> None:
    write_set(tmp_path / "questions" / "default.jsonl", [("Who owns the farm?", ["Maria"])])
    assert examples_for(stub_index(tmp_path / "corpus")) == ("Who owns the farm?",)


def test_the_default_corpus_shows_its_question_sets_first_answerable_questions() -> None:
    assert examples_for(stub_index(ROOT / "corpus")) == (
        "How much money did the Malaysian government give NAIO in 2025?",
        "How many civil servants got access to Google's Gemini?",
        "When was the National AI Office launched?",
        "What does NAIO stand for?",
    )


def chatbot_examples(index: Any, **kwargs: Any) -> Any:
    import gradio as gr

    from qa.web import build_demo

    demo = build_demo(index, **kwargs)
    (chatbot,) = [b for b in demo.blocks.values() if isinstance(b, gr.Chatbot)]
    return chatbot.examples


def test_the_page_offers_the_corpus_examples_or_none(tmp_path: Path) -> None:
    assert chatbot_examples(stub_index(tmp_path / "corpus")) is None
    write_set(tmp_path / "questions" / "default.jsonl", [("Who owns the farm?", ["Maria"])])
    assert chatbot_examples(stub_index(tmp_path / "corpus")) == [{"text": "Who owns the farm?"}]
    assert chatbot_examples(stub_index(None), examples=["Why?"]) == [{"text": "Why?"}]


def test_the_web_package_names_no_fact_of_the_default_article() -> None:
    facts = re.compile(r"NAIO|Malaysia|Gemini|RM10|National AI Office", re.IGNORECASE)
    named = [p.name for p in (ROOT / "qa" / "web").glob("*.py") if facts.search(p.read_text())]
    assert named == []
