"""End to end: ``python app.py`` over a tiny corpus, asked through ``gradio_client``'s ``/ask``."""

from __future__ import annotations

import json
import urllib.request
from typing import Any

import pytest
from webserver import HOSTILE_QUESTION, HOSTILE_TEXTS, WebApp, web_app

from qa.store import read_manifest

__all__ = ["web_app"]  # the shared fixture, imported for pytest to find

KEYS = {
    "question", "answer", "abstained", "score", "doc_id", "start", "end", "span", "citations",
    "closest",
}  # fmt: skip
CITATION_KEYS = {"rank", "doc_id", "title", "section", "page", "start", "end", "text", "score"}
CLOSEST_KEYS = {"text", "span", "span_text", "score", "doc_id", "start", "end", "citation"}


@pytest.fixture(scope="module")
def client(web_app: WebApp) -> Any:
    from gradio_client import Client

    return Client(web_app.url, verbose=False)


def ask(client: Any, question: str) -> dict[str, Any]:
    result = client.predict(question, api_name="/ask")
    assert isinstance(result, dict)
    return result


def check_shape(result: dict[str, Any]) -> None:
    assert set(result) == KEYS
    assert isinstance(result["score"], float)
    for rank, citation in enumerate(result["citations"], 1):
        assert set(citation) == CITATION_KEYS
        assert citation["rank"] == rank
        assert citation["end"] - citation["start"] == len(citation["text"])
    closest = result["closest"]
    if closest is not None:
        assert set(closest) == CLOSEST_KEYS
        assert closest["citation"] in result["citations"]


def test_ask_returns_the_sentence_and_its_citations(client: Any) -> None:
    question = "How much did the government allocate to NAIO in 2025?"
    result = ask(client, question)
    check_shape(result)
    assert result["question"] == question
    assert result["abstained"] is False and result["closest"] is None
    assert result["answer"] == "In 2025, the government allocated RM10 million to NAIO."
    assert result["doc_id"] == "naio.md"
    assert len(result["citations"]) == 5
    # The sentence lies inside a cited passage, at the offsets given.
    holder = next(
        c
        for c in result["citations"]
        if c["doc_id"] == "naio.md" and c["start"] <= result["start"] < result["end"] <= c["end"]
    )
    assert holder["title"] == "Malaysia's National AI Office"
    local = result["start"] - holder["start"]
    assert holder["text"][local : local + len(result["answer"])] == result["answer"]
    if result["span"] is not None:
        assert result["start"] <= result["span"]["start"] < result["span"]["end"] <= result["end"]


def test_ask_returns_hostile_text_verbatim_with_exact_offsets(web_app: WebApp, client: Any) -> None:
    result = ask(client, HOSTILE_QUESTION)
    check_shape(result)
    assert result["doc_id"] == "zebra.txt"
    assert result["answer"].startswith("The zebra vault password is")
    # JSON carries the document's text as it is; escaping is the page's job.
    assert HOSTILE_TEXTS[0] in result["answer"] and HOSTILE_TEXTS[1] in result["answer"]
    document = (web_app.corpus_dir / "zebra.txt").read_text(encoding="utf-8")
    assert document[result["start"] : result["end"]] == result["answer"]
    for citation in result["citations"]:
        if citation["doc_id"] == "zebra.txt":
            assert document[citation["start"] : citation["end"]] == citation["text"]
            assert citation["title"] == "Zebra vault notes"


def test_ask_abstains_when_the_documents_do_not_answer(client: Any) -> None:
    result = ask(client, "What is the capital of France?")
    check_shape(result)
    assert result["abstained"] is True
    assert result["answer"] is None and result["span"] is None and result["doc_id"] is None
    assert result["citations"], "an abstention still offers the closest passages"


def test_ask_rejects_an_empty_question(client: Any) -> None:
    from gradio_client.exceptions import AppError

    with pytest.raises(AppError, match="The question is empty"):
        client.predict("   ", api_name="/ask")


def test_ask_over_plain_http(web_app: WebApp) -> None:
    # POST the question, then read the result from the event stream (what the README shows).
    request = urllib.request.Request(
        web_app.url + "gradio_api/call/ask",
        data=json.dumps({"data": ["How many public officers got Google's Gemini Suite?"]}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        event_id = json.load(response)["event_id"]
    with urllib.request.urlopen(
        web_app.url + f"gradio_api/call/ask/{event_id}", timeout=60
    ) as response:
        stream = response.read().decode("utf-8")
    lines = stream.splitlines()
    assert "event: complete" in lines, stream
    data = lines[lines.index("event: complete") + 1]
    assert data.startswith("data: ")
    [result] = json.loads(data.removeprefix("data: "))
    check_shape(result)
    assert "445,000 public officers" in result["answer"]


def test_only_ask_is_exposed_to_clients(client: Any) -> None:
    info = client.view_api(print_info=False, return_format="dict")
    assert list(info["named_endpoints"]) == ["/ask"]
    assert [p["parameter_name"] for p in info["named_endpoints"]["/ask"]["parameters"]] == [
        "question"
    ]


def test_the_app_says_it_is_ready_in_one_line(web_app: WebApp) -> None:
    # app.py prints what ``qa serve`` prints: one Ready line (the index is built first, and says
    # so on stderr); no Gradio start-up lines, no advice to make a share link.
    manifest = read_manifest(web_app.index_dir)
    assert manifest is not None
    counts = manifest.counts
    assert counts.documents == 3
    url = web_app.url.rstrip("/")
    log = web_app.log_file.read_text(encoding="utf-8")
    ready = [line for line in log.splitlines() if line.startswith("Ready: ")]
    assert ready == [f"Ready: {url} (3 documents, {counts.chunks} passages)"]
    assert "share=True" not in log and "Running on local URL" not in log
