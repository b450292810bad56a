"""Text out of HTML (BeautifulSoup) and PDF (pypdf), with heading and page offsets kept."""

from __future__ import annotations

import re
from typing import Any

# Elements whose content is not visible text of the page.
_DROP = ("script", "style", "noscript", "template", "nav", "header", "footer", "aside", "form",
         "iframe", "svg", "canvas", "button", "select", "head")  # fmt: skip
_BLOCKS = ("p", "div", "section", "article", "main", "li", "ul", "ol", "pre", "blockquote",
           "table", "tr", "td", "th", "dl", "dt", "dd", "figure", "figcaption", "caption",
           "h1", "h2", "h3", "h4", "h5", "h6", "hr", "address")  # fmt: skip
_HEADINGS = ("h1", "h2", "h3", "h4", "h5", "h6")
_OPEN, _CLOSE = "\x02", "\x03"
_BLOCK_BREAK = re.compile(r"\n\s*\n")


def html_to_text(html: str) -> tuple[str, str, tuple[tuple[int, str], ...]]:
    """Visible text of an HTML page, its title and its ``(start, heading)`` pairs.

    Block elements become paragraphs separated by blank lines; white space inside a paragraph is
    folded to single spaces; scripts, styles, navigation, headers, footers and hidden elements go.
    """
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(html, "html.parser")
    title_tag = soup.find("title")
    title = " ".join(title_tag.get_text().split()) if title_tag else ""
    for tag in soup.find_all(_DROP):
        tag.decompose()
    for tag in soup.find_all(True, attrs={"hidden": True}):
        tag.decompose()
    for tag in soup.find_all(True, attrs={"aria-hidden": "true"}):
        tag.decompose()
    for tag in soup.find_all(_HEADINGS):
        tag.insert(0, _OPEN)
        tag.append(_CLOSE)
    for tag in soup.find_all(_BLOCKS):
        tag.insert_before("\n\n")
        tag.insert_after("\n\n")
    for tag in soup.find_all("br"):
        tag.replace_with("\n\n")
    raw = soup.get_text()

    parts: list[str] = []
    sections: list[tuple[int, str]] = []
    offset = 0
    for block in _BLOCK_BREAK.split(raw):
        text, headings = _unmark(" ".join(block.split()))
        if not text:
            continue
        if parts:
            offset += 2  # the "\n\n" joining blocks
        sections.extend((offset + start, heading) for start, heading in headings)
        parts.append(text)
        offset += len(text)
    full = "\n\n".join(parts)
    clean = tuple((s, h) for s, h in sections if h and full.startswith(h, s))
    if not title:
        title = next((h for _, h in clean), "")
    return full, title, clean


def _unmark(block: str) -> tuple[str, list[tuple[int, str]]]:
    """Remove the heading markers of one folded block: its stripped text and its headings."""
    text = ""
    headings: list[tuple[int, str]] = []
    last = 0
    for match in re.finditer(f"{_OPEN}([^{_CLOSE}]*){_CLOSE}", block):
        text += block[last : match.start()]
        inner = match.group(1)
        headings.append((len(text) + len(inner) - len(inner.lstrip()), inner.strip()))
        text += inner
        last = match.end()
    text = (text + block[last:]).replace(_OPEN, "").replace(_CLOSE, "")
    lead = len(text) - len(text.lstrip())
    return text.strip(), [(start - lead, heading) for start, heading in headings]


def pdf_to_text(data: bytes) -> tuple[str, tuple[int, ...], dict[str, Any]]:
    """Text of each page joined by blank lines, the start offset of each page, and metadata."""
    import io

    from pypdf import PdfReader

    reader = PdfReader(io.BytesIO(data))
    pages: list[int] = []
    texts: list[str] = []
    offset = 0
    for page in reader.pages:
        text = (page.extract_text() or "").replace("\r\n", "\n").replace("\r", "\n").strip()
        pages.append(offset)
        texts.append(text)
        offset += len(text) + 2
    metadata: dict[str, Any] = {}
    info = reader.metadata
    if info:
        for key, name in (("/Title", "title"), ("/Author", "author")):
            value = info.get(key)
            if value:
                metadata[name] = str(value)
    return "\n\n".join(texts), tuple(pages), metadata
