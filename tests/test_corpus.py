"""The corpus loader: every format, metadata, ids, headings, pages, bad files."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from qa.corpus import load_corpus, read_corpus
from qa.errors import CorpusNotFoundError, EmptyCorpusError


def by_id(corpus_dir: Path) -> dict:
    return {d.id: d for d in load_corpus(corpus_dir)}


def test_every_format_is_read_with_stable_ids(corpus_dir: Path) -> None:
    docs = by_id(corpus_dir)
    assert sorted(docs) == [
        "bees-1", "coffee.md", "glaciers.pdf", "owls-1", "tides.html", "volcanoes.txt",
    ]  # fmt: skip
    assert [d.id for d in load_corpus(corpus_dir)] == [d.id for d in load_corpus(corpus_dir)]


def test_txt_title_is_first_line_and_headings_found(corpus_dir: Path) -> None:
    doc = by_id(corpus_dir)["volcanoes.txt"]
    assert doc.title == "Volcanoes of Iceland"
    assert doc.source == "volcanoes.txt"
    assert [h for _, h in doc.sections] == ["Eruptions"]
    start = doc.sections[0][0]
    assert doc.text[start : start + len("Eruptions")] == "Eruptions"


def test_markdown_front_matter_becomes_metadata(corpus_dir: Path) -> None:
    doc = by_id(corpus_dir)["coffee.md"]
    assert doc.title == "A Short History of Coffee"
    assert doc.metadata == {"author": "Ana Ruiz", "date": "2021-03-04"}
    assert not doc.text.startswith("---")
    assert [h for _, h in doc.sections] == ["Origins", "Trade"]
    assert doc.section_at(doc.text.index("Brazil")) == "Trade"


def test_html_keeps_visible_text_only(corpus_dir: Path) -> None:
    doc = by_id(corpus_dir)["tides.html"]
    assert doc.title == "How Tides Work"
    assert "gravity of the Moon" in doc.text
    for hidden in ("do not index", "color:red", "Menu item", "Copyright footer"):
        assert hidden not in doc.text
    assert [h for _, h in doc.sections] == ["How Tides Work", "Spring tides"]
    assert doc.section_at(doc.text.index("twice a month")) == "Spring tides"


def test_pdf_pages_are_kept(corpus_dir: Path) -> None:
    doc = by_id(corpus_dir)["glaciers.pdf"]
    assert doc.title == "Glacier Report"
    assert len(doc.pages) == 2
    assert doc.page_at(doc.text.index("ten percent")) == 1
    assert doc.page_at(doc.text.index("Aletsch")) == 2


def test_jsonl_records_keep_their_ids_and_metadata(corpus_dir: Path) -> None:
    docs = by_id(corpus_dir)
    assert docs["bees-1"].title == "Honey Bees"
    assert docs["bees-1"].metadata == {"topic": "insects"}
    assert docs["owls-1"].source == "animals.jsonl:2"


def test_bad_files_are_skipped_with_a_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    (tmp_path / "good.txt").write_text("A good document. It has text.", encoding="utf-8")
    (tmp_path / "broken.pdf").write_bytes(b"%PDF-1.4 this is not really a pdf")
    (tmp_path / "bad.jsonl").write_text('{"id": "x"}\nnot json\n', encoding="utf-8")
    (tmp_path / "image.png").write_bytes(b"\x89PNG")
    with caplog.at_level(logging.WARNING, logger="qa.corpus"):
        docs = load_corpus(tmp_path)
    assert [d.id for d in docs] == ["good.txt"]
    messages = "\n".join(r.getMessage() for r in caplog.records)
    assert "broken.pdf" in messages
    assert "bad.jsonl line 1" in messages and "bad.jsonl line 2" in messages
    assert "image.png: unsupported format" in messages


def test_invalid_utf8_is_decoded_leniently(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    (tmp_path / "latin.txt").write_bytes("Caf\xe9 culture is old.".encode("latin-1"))
    with caplog.at_level(logging.WARNING, logger="qa.corpus"):
        (doc,) = load_corpus(tmp_path)
    assert doc.text == "Caf\ufffd culture is old."
    assert "latin.txt is not valid UTF-8" in caplog.text


def test_empty_and_missing_corpus_errors(tmp_path: Path) -> None:
    with pytest.raises(EmptyCorpusError, match=r"\.txt, \.md"):
        load_corpus(tmp_path)
    with pytest.raises(CorpusNotFoundError, match="QA_CORPUS_DIR"):
        load_corpus(tmp_path / "nope")


def test_hashes_cover_the_bytes_read(corpus_dir: Path) -> None:
    import hashlib

    _, hashes = read_corpus(corpus_dir)
    assert (
        hashes["coffee.md"] == hashlib.sha256((corpus_dir / "coffee.md").read_bytes()).hexdigest()
    )
    assert set(hashes) == {
        "animals.jsonl", "coffee.md", "glaciers.pdf", "tides.html", "volcanoes.txt",
    }  # fmt: skip


def test_default_corpus_is_the_whole_article() -> None:
    import re

    root = Path(__file__).resolve().parents[1]
    (doc,) = load_corpus(root / "corpus")
    assert doc.title.startswith("Malaysia Establishes National AI Office")
    assert doc.metadata["author"] == "Jeremy Werner"
    assert doc.metadata["publisher"] == "BABL AI"
    seed = root.parent / "shared" / "seed" / "000_f97cbfcf8b5fa429.txt"
    if not seed.exists():
        pytest.skip("../shared/seed is not here")
    # Everything, verbatim: only white space may differ.
    squash = lambda s: re.sub(r"\s+", "", s)  # noqa: E731
    assert squash(doc.text) == squash(seed.read_text(encoding="utf-8"))
