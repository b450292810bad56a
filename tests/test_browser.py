"""The web chat in a real browser: Playwright driving Debian's chromium, headless.

Types questions, sees the quoted answer highlighted in its sources, checks that a document's
``<script>``, ``<img onerror>`` and Markdown image run nothing and fetch nothing, uses the
settings, a follow-up, an example and the thumbs. Skipped only when chromium or Playwright is
missing. Screenshots land in the test's tmp folder.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from webserver import EXAMPLES, HOSTILE_QUESTION, HOSTILE_TEXTS, WebApp, web_app

__all__ = ["web_app"]  # the shared fixture, imported for pytest to find

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
NAIO_QUESTION = "How much did the government allocate to NAIO in 2025?"
NAIO_SENTENCE = "In 2025, the government allocated RM10 million to NAIO."
TIMEOUT_MS = 30_000

if not CHROMIUM.exists():
    pytest.skip(f"no chromium at {CHROMIUM} (apt-get install chromium)", allow_module_level=True)
sync_api = pytest.importorskip(
    "playwright.sync_api", reason="playwright is not installed (pip install playwright)"
)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
        )
        yield browser
        browser.close()


class Page:
    """A page of the app, recording every request it makes and every script error."""

    def __init__(self, browser: Any, url: str) -> None:
        self.url = url
        self.page = browser.new_page(viewport={"width": 1280, "height": 1000})
        self.requests: list[str] = []
        self.errors: list[str] = []
        self.page.on("request", lambda request: self.requests.append(request.url))
        self.page.on("pageerror", lambda error: self.errors.append(str(error)))
        self.page.set_default_timeout(TIMEOUT_MS)
        self.page.goto(url)
        self.page.wait_for_selector("#qa-question textarea")

    def ask(self, question: str) -> Any:
        """Type ``question``, press Enter, and return the locator of the new reply."""
        replies = self.page.locator("#qa-chat .qa-reply")
        before = replies.count()
        self.page.fill("#qa-question textarea", question)
        self.page.press("#qa-question textarea", "Enter")
        self.page.wait_for_function(
            f"document.querySelectorAll('#qa-chat .qa-reply').length > {before}"
        )
        return replies.nth(before)

    def close(self) -> None:
        self.page.close()


@pytest.fixture
def page(browser: Any, web_app: WebApp) -> Iterator[Page]:
    page = Page(browser, web_app.url)
    yield page
    page.close()


def expected(web_app: WebApp, question: str) -> dict[str, Any]:
    """What ``/ask`` returns for ``question``: the page must show the same answer."""
    from gradio_client import Client

    result = Client(web_app.url, verbose=False).predict(question, api_name="/ask")
    assert isinstance(result, dict)
    return result


def test_answer_is_quoted_with_markers_and_highlighted_in_its_source(
    page: Page, web_app: WebApp, tmp_path: Path
) -> None:
    want = expected(web_app, NAIO_QUESTION)
    assert want["answer"] == NAIO_SENTENCE
    reply = page.ask(NAIO_QUESTION)

    quote = reply.locator("blockquote.qa-quote")
    holder_ranks = [
        c["rank"]
        for c in want["citations"]
        if c["doc_id"] == want["doc_id"] and c["start"] <= want["start"] and want["end"] <= c["end"]
    ]
    markers = "".join(f"[{rank}]" for rank in holder_ranks)
    assert quote.inner_text().strip() == NAIO_SENTENCE + markers
    assert reply.locator(".qa-from .qa-title").inner_text() == "Malaysia's National AI Office"
    assert "§ Funding" in reply.locator(".qa-from").inner_text()

    sources = page.page.locator("#qa-sources")
    assert sources.locator(".qa-sources-head").inner_text() == "Sources"
    assert sources.locator(".qa-passage").count() == len(want["citations"])
    holder = sources.locator(".qa-passage.qa-holds-answer").first
    assert holder.locator(".qa-sentence").inner_text() == NAIO_SENTENCE
    assert "Malaysia's National AI Office" in holder.locator(".qa-passage-head").inner_text()
    # The exact span, when the library finds one, is marked in the reply and in the passage.
    if want["span"] is None:
        assert quote.locator("mark").count() == 0
    else:
        span_text = NAIO_SENTENCE[
            want["span"]["start"] - want["start"] : want["span"]["end"] - want["start"]
        ]
        assert quote.locator("mark.qa-span").inner_text() == span_text
        assert holder.locator("mark.qa-span").inner_text() == span_text
    page.page.screenshot(path=str(tmp_path / "answer.png"), full_page=True)


def test_hostile_document_runs_nothing_and_fetches_nothing(
    page: Page, web_app: WebApp, tmp_path: Path
) -> None:
    reply = page.ask(HOSTILE_QUESTION)
    sources = page.page.locator("#qa-sources")
    page.page.wait_for_timeout(1000)  # give an onerror handler or an image fetch time to fire

    # Shown as text, character for character...
    reply_text = reply.inner_text()
    assert HOSTILE_TEXTS[0] in reply_text and HOSTILE_TEXTS[1] in reply_text
    sources_text = sources.inner_text()
    for text in HOSTILE_TEXTS:
        assert text in sources_text
    # ...never turned into elements...
    for root in ("#qa-chat", "#qa-sources"):
        assert page.page.locator(f"{root} script, {root} img, {root} a").count() == 0
    # ...never run, never fetched.
    assert page.page.evaluate("typeof window.__pwned") == "undefined"
    assert page.errors == []
    assert not [u for u in page.requests if "127.0.0.1:9/" in u or u.endswith("/x")]
    assert [u for u in page.requests if not u.startswith((web_app.url, "data:", "blob:"))] == []
    page.page.screenshot(path=str(tmp_path / "hostile.png"), full_page=True)


def test_follow_up_uses_the_previous_question(page: Page) -> None:
    page.ask("Who owns the Okapi farm?")
    reply = page.ask("When was it founded?")
    assert reply.locator(".qa-note").inner_text() == (
        "Follow-up, asked as: “Who owns the Okapi farm? When was it founded?”"
    )
    assert "The Okapi farm was founded in 1901." in reply.locator(".qa-quote").inner_text()


def set_slider(page: Page, elem_id: str, value: str) -> None:
    """Type ``value`` into a slider's number box until its range input shows it.

    A control that has just been revealed can still be mounting: Svelte may then set it back to
    its initial value once. Retrying until the range input agrees makes the test wait for that
    instead of racing it.
    """
    number = page.page.locator(f"#{elem_id} input[type=number]")
    slider = page.page.locator(f"#{elem_id} input[type=range]")
    deadline = time.monotonic() + TIMEOUT_MS / 1000
    while True:
        number.fill(value)
        number.press("Enter")
        try:
            sync_api.expect(slider).to_have_value(value, timeout=2_000)
            return
        except AssertionError:
            if time.monotonic() > deadline:
                raise


def test_settings_threshold_makes_it_abstain(page: Page, tmp_path: Path) -> None:
    page.page.locator("#qa-settings").get_by_text("Settings", exact=True).click()
    set_slider(page, "qa-min-score", "1")
    set_slider(page, "qa-k", "2")
    page.page.locator("#qa-mode").get_by_text("keyword", exact=True).click()
    # The controls update the page's state asynchronously: ask only once all three took.
    expect = sync_api.expect
    expect(page.page.locator("#qa-min-score input[type=range]")).to_have_value("1")
    expect(page.page.locator("#qa-k input[type=range]")).to_have_value("2")
    expect(page.page.locator("#qa-mode input[value=keyword]")).to_be_checked()

    reply = page.ask(NAIO_QUESTION)
    # No score reaches 1: the reply answers nothing, and quotes the reader's candidate as such.
    assert reply.locator(".qa-unsure strong").inner_text() == "No passage answers this for certain."
    closest = reply.locator("blockquote.qa-closest")
    assert NAIO_SENTENCE in closest.inner_text()
    assert closest.locator("mark.qa-span").inner_text() == "RM10 million"
    assert reply.locator(".qa-from .qa-title").inner_text() == "Malaysia's National AI Office"
    sources = page.page.locator("#qa-sources")
    assert sources.locator(".qa-sources-head").inner_text() == "Possibly related passages"
    assert sources.locator(".qa-passage").count() == 2
    assert sources.locator(".qa-sentence, mark").count() == 0
    page.page.screenshot(path=str(tmp_path / "abstention.png"), full_page=True)


def test_example_question_is_asked_on_click_and_clear_starts_over(page: Page) -> None:
    offered = page.page.get_by_role("button", name=re.compile(r"^Select example \d+: "))
    assert offered.count() == len(EXAMPLES)  # the question set's answerable questions
    assert EXAMPLES[0] == NAIO_QUESTION
    example = page.page.get_by_role("button", name=f"Select example 1: {NAIO_QUESTION}")
    example.click()
    page.page.wait_for_selector("#qa-chat .qa-reply")
    assert NAIO_SENTENCE in page.page.locator("#qa-chat .qa-quote").inner_text()
    assert page.page.locator("#qa-sources .qa-passage").count() == 5

    page.page.locator("#qa-chat").get_by_role("button", name="Clear", exact=True).click()
    page.page.wait_for_selector("#qa-sources .qa-empty")
    assert page.page.locator("#qa-chat .qa-reply").count() == 0
    assert example.is_visible()


def test_thumbs_append_feedback_rows(page: Page, web_app: WebApp) -> None:
    def rows() -> list[dict[str, Any]]:
        if not web_app.feedback_file.exists():
            return []
        lines = web_app.feedback_file.read_text(encoding="utf-8").splitlines()
        return [json.loads(line) for line in lines]

    def wait_for_rows(count: int) -> list[dict[str, Any]]:
        deadline = time.monotonic() + TIMEOUT_MS / 1000
        while len(rows()) < count and time.monotonic() < deadline:
            time.sleep(0.2)
        return rows()

    before = len(rows())
    page.ask(NAIO_QUESTION)
    page.ask("What is the capital of France?")
    chat = page.page.locator("#qa-chat")
    chat.get_by_role("button", name="Like", exact=True).first.click()
    chat.get_by_role("button", name="Dislike", exact=True).last.click()

    up, down = wait_for_rows(before + 2)[before:]
    assert up["question"] == NAIO_QUESTION and up["feedback"] == "up"
    assert up["doc_id"] == "naio.md"
    assert up["answers"] and up["answers"][0] in NAIO_SENTENCE
    assert down["question"] == "What is the capital of France?"
    assert (down["feedback"], down["answers"], down["needs_review"]) == ("down", [], True)
