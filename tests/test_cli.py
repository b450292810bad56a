"""The qa command, run as a user runs it: a real process, real index, exit codes, output."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
from web_answers import DOC, S_END, S_START, SENTENCE, abstained, found, unsure

import qa
from qa.cli import answer_dict, answer_text, plural, ready_line


def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "qa", *args],
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, **(env or {})},
    )


def test_build_then_ask(corpus_dir: Path, tmp_path: Path) -> None:
    index_dir = tmp_path / "index"
    built = run("build", str(corpus_dir), "--index", str(index_dir), "--quiet")
    assert built.returncode == 0, built.stderr
    assert built.stderr == ""  # --quiet: no progress, and no library's debug lines
    assert "Indexed 6 documents as" in built.stdout
    assert qa.load_index(index_dir).manifest["counts"]["documents"] == 6

    asked = run(
        "ask", "Which glacier is the largest in the Alps?", "--index", str(index_dir), "--k", "2"
    )
    assert asked.returncode == 0, asked.stderr
    lines = asked.stdout.splitlines()
    assert lines[0] == "The Aletsch Glacier is the largest glacier in the Alps."
    assert lines[2].startswith("[1] Glacier Report, page 2, chars ")
    assert lines[3].startswith("[2] ")
    assert len(lines) == 4


def test_ask_json(index: qa.Index) -> None:
    asked = run("ask", "Where was coffee first brewed?", "--index", str(index.path), "--json")
    assert asked.returncode == 0, asked.stderr
    data = json.loads(asked.stdout)
    assert data["answer"] == "Coffee was first brewed in Yemen in the 15th century."
    assert data["abstained"] is False and data["closest"] is None
    assert data["doc_id"] == "coffee.md"
    document = index.document("coffee.md")
    assert document.text[data["start"] : data["end"]] == data["answer"]
    assert [c["rank"] for c in data["citations"]] == [1, 2, 3, 4, 5]
    assert data["citations"][0]["metadata"]["section"] == "Origins"
    # Each citation's metadata is the object the untyped Passage.metadata dict used to be.
    passages = index.retrieve("Where was coffee first brewed?")
    for citation, passage in zip(data["citations"], passages, strict=True):
        document = index.document(passage.doc_id)
        expected = {"chunk": passage.chunks[0], "chunks": list(passage.chunks)}
        for key, value in [
            ("section", document.section_at(passage.start)),
            ("page", document.page_at(passage.start)),
        ]:
            if value is not None:
                expected[key] = value
        assert citation["metadata"] == expected
        assert list(citation["metadata"]) == list(expected)


def test_ask_with_another_reader_or_none(index: qa.Index, tmp_path: Path) -> None:
    question = "Where was coffee first brewed?"
    unread = run("ask", question, "--index", str(index.path), "--reader", "none", "--json")
    assert unread.returncode == 0, unread.stderr
    data = json.loads(unread.stdout)
    assert data["abstained"] is True and len(data["citations"]) == 5  # retrieval still works
    assert data["closest"] is None  # no reader, no candidate
    missing = run("ask", question, "--index", str(index.path), "--reader", str(tmp_path / "r"))
    assert missing.returncode == 1
    assert missing.stderr.startswith(f"qa: error: No reader folder at {tmp_path / 'r'}")


def test_ask_abstains_in_words(index: qa.Index) -> None:
    question = "What is the exchange rate of the Swiss franc?"
    asked = run("ask", question, "--index", str(index.path), "--reader", "none")
    assert asked.returncode == 0
    assert asked.stdout.startswith("Not found in the documents. Possibly related:\n\n[1] ")


def test_ask_below_the_threshold_quotes_the_closest_sentence(index: qa.Index) -> None:
    # The reader finds the answer, but no score reaches 1: it abstains with it as closest.
    question, args = "Where was coffee first brewed?", ("--index", str(index.path), "--k", "2")
    sentence = "Coffee was first brewed in Yemen in the 15th century."
    asked = run("ask", question, *args, "--min-score", "1")
    assert asked.returncode == 0, asked.stderr
    lines = asked.stdout.splitlines()
    assert lines[:3] == ["No passage answers this for certain. The closest one says:", sentence, ""]
    assert lines[3].startswith("[1] A Short History of Coffee, section 'Origins', chars ")
    assert len(lines) == 5

    data = json.loads(run("ask", question, *args, "--min-score", "1", "--json").stdout)
    assert data["abstained"] is True and data["answer"] is None and data["span"] is None
    closest = data["closest"]
    assert closest["text"] == sentence and closest["doc_id"] == "coffee.md"
    assert index.document("coffee.md").text[closest["start"] : closest["end"]] == sentence
    assert closest["start"] <= closest["span"]["start"] < closest["span"]["end"] <= closest["end"]
    local = closest["span"]["start"] - closest["start"], closest["span"]["end"] - closest["start"]
    assert closest["span_text"] == sentence[local[0] : local[1]]
    assert closest["score"] < 1
    assert closest["citation"] == data["citations"][closest["citation"]["rank"] - 1]
    assert closest["citation"]["metadata"]["section"] == "Origins"


def test_answer_text_of_an_answer_an_abstention_and_a_closest_sentence() -> None:
    cite = f"[1] NAIO news, section 'Funding', chars {S_START}-{len(DOC)}"
    assert answer_text(found()).splitlines()[:3] == [SENTENCE, "", cite]
    assert answer_text(abstained()) == f"Not found in the documents. Possibly related:\n\n{cite}"
    assert answer_text(unsure()) == (
        f"No passage answers this for certain. The closest one says:\n{SENTENCE}\n\n{cite}"
    )


def test_answer_dict_gives_the_closest_sentence_and_its_citation_metadata() -> None:
    assert answer_dict(found())["closest"] is None
    assert answer_dict(abstained())["closest"] is None
    data = answer_dict(unsure())
    closest = data["closest"]
    assert (closest["text"], closest["start"], closest["end"]) == (SENTENCE, S_START, S_END)
    assert closest["span_text"] == "RM10 million" and closest["score"] == 0.12
    assert closest["citation"]["metadata"] == {"section": "Funding"}
    assert closest["citation"] == data["citations"][0]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["ask", "anything", "--index", "{tmp}/none"], "No index in"),
        (["ask", "   ", "--index", "{index}"], "The question is empty"),
        (["ask", "owls", "--k", "0", "--index", "{index}"], "k must be a whole number"),
        (["build", "{tmp}/no-corpus", "--index", "{tmp}/i"], "No corpus folder at"),
        (["build", "{tmp}", "--index", "{tmp}/i"], "No readable document in"),
    ],
)
def test_user_errors_are_one_line_and_exit_1(
    index: qa.Index, tmp_path: Path, args: list[str], message: str
) -> None:
    filled = [a.format(tmp=tmp_path, index=index.path) for a in args]
    result = run(*filled)
    assert result.returncode == 1
    assert result.stderr.startswith(f"qa: error: {message}")
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_help_lists_every_command() -> None:
    result = run("--help")
    assert result.returncode == 0
    for command in ("build", "ask", "eval", "serve"):
        assert command in result.stdout


def test_build_says_one_document_in_the_singular(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "one.txt").write_text("The okapi lives in the Ituri forest.\n", encoding="utf-8")
    built = run("build", str(corpus), "--index", str(tmp_path / "index"), "--quiet")
    assert built.returncode == 0, built.stderr
    assert built.stdout.startswith("Indexed 1 document as 1 chunk with ")
    assert built.stdout.rstrip().endswith("; embedded 1 chunk, reused 0")


def test_plural_says_one_thing_in_the_singular() -> None:
    assert [plural(n, "document") for n in (0, 1, 2, 1000)] == [
        "0 documents",
        "1 document",
        "2 documents",
        "1000 documents",
    ]


def test_ready_line() -> None:
    assert ready_line("http://127.0.0.1:7860", 3, 12) == (
        "Ready: http://127.0.0.1:7860 (3 documents, 12 passages)"
    )
    assert (
        ready_line("http://0.0.0.0:8000", 1, 1)
        == "Ready: http://0.0.0.0:8000 (1 document, 1 passage)"
    )


def wait_for_line(path: Path, prefix: str, process: subprocess.Popen[bytes]) -> str:
    """The first line of ``path`` (a process's stdout) that starts with ``prefix``, once written."""
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline:
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.startswith(prefix):
                return line
        assert process.poll() is None, path.read_text(encoding="utf-8")
        time.sleep(0.2)
    raise AssertionError(f"no {prefix!r} line in {path}: {path.read_text(encoding='utf-8')}")


def test_serve_says_it_is_ready_in_one_line_then_answers(
    corpus_dir: Path, index: qa.Index, tmp_path: Path
) -> None:
    from webserver import free_port, stop

    # A copy of the corpus and its index: what the server reads, and could rebuild, is its own.
    corpus = shutil.copytree(corpus_dir, tmp_path / "corpus")
    index_dir = shutil.copytree(index.path, tmp_path / "index")
    port = free_port()
    out, err = tmp_path / "serve.out", tmp_path / "serve.err"
    env = {
        **os.environ,
        "QA_CORPUS_DIR": str(corpus),
        "QA_INDEX_DIR": str(index_dir),
        "GRADIO_ANALYTICS_ENABLED": "False",
        "HF_HUB_OFFLINE": "1",
        "PYTHONUNBUFFERED": "1",
    }
    with out.open("wb") as stdout, err.open("wb") as stderr:
        process = subprocess.Popen(
            [sys.executable, "-m", "qa", "serve", "--port", str(port)],
            env=env,
            stdout=stdout,
            stderr=stderr,
            start_new_session=True,
        )
    try:
        ready = wait_for_line(out, "Ready: ", process)
        counts = index.manifest.counts
        assert (counts.documents, counts.chunks) == (6, len(index))
        assert ready == f"Ready: http://127.0.0.1:{port} (6 documents, {counts.chunks} passages)"
        from gradio_client import Client

        result = Client(f"http://127.0.0.1:{port}/", verbose=False).predict(
            "Where was coffee first brewed?", api_name="/ask"
        )
        assert result["answer"] == "Coffee was first brewed in Yemen in the 15th century."
    finally:
        stop(process)
    # Only the Ready line: no Gradio start-up lines, no advice to make a share link.
    assert out.read_text(encoding="utf-8").splitlines() == [ready]
    assert "share=True" not in out.read_text(encoding="utf-8") + err.read_text(encoding="utf-8")
