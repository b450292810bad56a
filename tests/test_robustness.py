"""Robustness: killed builds, hostile files and questions, bad arguments, many threads at once.

All on the real parts: the bundled model, real FAISS indexes, real files, real processes.
"""

from __future__ import annotations

import json
import logging
import math
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, replace
from functools import partial
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pdfmaker import write_pdf

import qa
from qa import store
from qa.chunking import chunk_document
from qa.corpus import corpus_hashes, load_corpus, read_corpus

# The formats an EmptyCorpusError must list, spelled out here rather than taken from the code.
FORMAT_LIST = ".txt, .md, .html, .htm, .pdf, .jsonl"


def write_files(folder: Path, files: dict[str, str | bytes]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, content in files.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, str):
            path.write_text(content, encoding="utf-8")
        else:
            path.write_bytes(content)
    return folder


def assert_quotes_its_documents(index: qa.Index, passages: list[qa.Passage]) -> None:
    for passage in passages:
        assert index.document(passage.doc_id).text[passage.start : passage.end] == passage.text


def assert_answer_is_well_formed(index: qa.Index, answer: qa.Answer, k: int = 5) -> None:
    assert 0.0 <= answer.score <= 1.0 and math.isfinite(answer.score)
    assert [c.rank for c in answer.citations] == list(range(1, len(answer.citations) + 1))
    assert len(answer.citations) <= k
    assert_quotes_its_documents(index, answer.citations)
    if answer.abstained:
        assert answer.text is None and answer.start is None and answer.span is None
        return
    assert answer.doc_id is not None and answer.start is not None and answer.end is not None
    assert index.document(answer.doc_id).text[answer.start : answer.end] == answer.text
    assert any(
        c.doc_id == answer.doc_id and c.start <= answer.start and answer.end <= c.end
        for c in answer.citations
    )


# -- 1. builds killed at every step of the write ------------------------------------------------

OLD_CORPUS: dict[str, str | bytes] = {
    "peru.txt": "Lima is the capital of Peru.\n",
    "owls.txt": "Owls can rotate their heads 270 degrees.\n",
    "tides.md": "# Tides\n\nTides are caused mainly by the gravity of the Moon.\n",
}
# peru.txt is gone, ecuador.txt is new, tides.md changed, owls.txt is the same.
NEW_CORPUS: dict[str, str | bytes] = {
    "ecuador.txt": "Quito is the capital of Ecuador.\n",
    "owls.txt": "Owls can rotate their heads 270 degrees.\n",
    "tides.md": "# Tides\n\nSpring tides happen when the Sun and the Moon align.\n",
}
OLD_QUESTION = ("What is the capital of Peru?", "Lima is the capital of Peru.")
NEW_QUESTION = ("What is the capital of Ecuador?", "Quito is the capital of Ecuador.")

# One process imports torch and the rest once (most of a build's time goes there), then forks a
# child per kill point. The child patches one step of the write path and runs a real build, which
# SIGKILLs itself at that step: no cleanup runs, as when the OOM killer or a power cut strikes.
KILL_RUNNER = """
import json, os, signal, sys, traceback
from pathlib import Path

import bm25s, faiss
import numpy as np
import sentence_transformers

import qa
from qa import store

corpus, jobs = sys.argv[1], json.loads(sys.argv[2])


def die():
    os.kill(os.getpid(), signal.SIGKILL)


exit_codes = {}
for index_dir, patch in jobs:
    child = os.fork()
    if child == 0:
        try:
            exec(patch)
            qa.build_index(corpus, index_dir, show_progress=False)
            print(index_dir, "finished: its kill point was never reached", file=sys.stderr)
        except BaseException:
            traceback.print_exc()
        finally:
            os._exit(1)
    exit_codes[index_dir] = os.waitstatus_to_exitcode(os.waitpid(child, 0)[1])
print(json.dumps(exit_codes))
"""
# Kill points in the order qa.store.save reaches them; each patches the step it names.
KILL_POINTS = {
    "writing documents.jsonl": """
real = store._document_record
seen = []
def patched(document):
    seen.append(document)
    if len(seen) == 2:  # the first line is written, the second is not
        die()
    return real(document)
store._document_record = patched
""",
    "after np.save of chunks.npy": """
real = np.save
def patched(file, array, *args, **kwargs):
    real(file, array, *args, **kwargs)
    if Path(file).name == store.CHUNKS:
        die()
np.save = patched
""",
    "in faiss.write_index": """
real = faiss.write_index
def patched(index, path):
    real(index, path)
    os.truncate(path, os.path.getsize(path) // 2)  # half the file reached the disk
    die()
faiss.write_index = patched
""",
    "in the bm25 save": """
real = np.save
def patched(file, array, *args, **kwargs):
    real(file, array, *args, **kwargs)
    if Path(file).parent.name == store.BM25_DIR:  # its first array is written
        die()
np.save = patched
""",
    "before the manifest is written": """
real = Path.write_text
def patched(self, *args, **kwargs):
    if self.name == store.MANIFEST:
        die()
    return real(self, *args, **kwargs)
Path.write_text = patched
""",
    "just before CURRENT is replaced": """
real = os.replace
def patched(source, target, *args, **kwargs):
    if Path(target).name == store.CURRENT:
        die()
    return real(source, target, *args, **kwargs)
os.replace = patched
""",
    "right after CURRENT is replaced": """
real = os.replace
def patched(source, target, *args, **kwargs):
    real(source, target, *args, **kwargs)
    if Path(target).name == store.CURRENT:  # before the old generation is removed
        die()
os.replace = patched
""",
}
AFTER_THE_SWITCH = "right after CURRENT is replaced"


@dataclass(frozen=True)
class KilledBuilds:
    corpus: Path  # holds NEW_CORPUS now
    live: str  # the generation folder of the index of OLD_CORPUS
    folders: dict[str, Path]  # by kill point: a copy of that index, where a build was killed
    exit_codes: dict[str, int]  # by kill point: how the build's process ended
    log: str  # the kill runner's stderr


@pytest.fixture(scope="module")
def killed_builds(tmp_path_factory: pytest.TempPathFactory) -> KilledBuilds:
    root = tmp_path_factory.mktemp("killed")
    corpus = write_files(root / "corpus", OLD_CORPUS)
    first = qa.build_index(corpus, root / "first", show_progress=False)
    shutil.rmtree(corpus)
    write_files(corpus, NEW_CORPUS)
    folders = {point: root / f"index-{number}" for number, point in enumerate(KILL_POINTS)}
    for folder in folders.values():
        shutil.copytree(first.path, folder)
    jobs = [(str(folders[point]), patch) for point, patch in KILL_POINTS.items()]
    run = subprocess.run(
        [sys.executable, "-c", KILL_RUNNER, str(corpus), json.dumps(jobs)],
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    by_folder = json.loads(run.stdout.splitlines()[-1])
    exit_codes = {point: by_folder[str(folder)] for point, folder in folders.items()}
    return KilledBuilds(corpus, first.generation.name, folders, exit_codes, run.stderr)


@pytest.mark.parametrize("point", list(KILL_POINTS))
def test_a_build_killed_at_any_step_leaves_a_loadable_index(
    killed_builds: KilledBuilds, point: str
) -> None:
    index_dir, live = killed_builds.folders[point], killed_builds.live
    assert killed_builds.exit_codes[point] == -signal.SIGKILL, killed_builds.log[-3000:]
    switched = point == AFTER_THE_SWITCH
    # The killed build left its generation folder behind (or, once switched, the old one).
    generations = sorted(p.name for p in index_dir.iterdir() if p.name.startswith("gen-"))
    assert len(generations) == 2 and live in generations
    assert (store.live_folder(index_dir).name != live) is switched  # type: ignore[union-attr]

    # The index loads, checked against its manifest, and answers from the corpus it was built
    # of: the old one, or the new one once CURRENT was switched.
    question, expected = NEW_QUESTION if switched else OLD_QUESTION
    index = qa.load_index(index_dir)
    assert index.ask(question).text == expected
    assert set(index.manifest["corpus_files"]) == set(NEW_CORPUS if switched else OLD_CORPUS)
    assert qa.Index.load(index_dir).retrieve(question, 2) == index.retrieve(question, 2)

    # A later build succeeds and removes every leftover.
    rebuilt = qa.build_index(killed_builds.corpus, index_dir, show_progress=False)
    assert rebuilt.ask(NEW_QUESTION[0]).text == NEW_QUESTION[1]
    assert rebuilt.ask(OLD_QUESTION[0]).text != OLD_QUESTION[1]
    assert sorted(p.name for p in index_dir.iterdir()) == sorted(
        [store.CURRENT, store.LOCK, rebuilt.generation.name]
    )
    assert qa.load_index(index_dir).ask(NEW_QUESTION[0]).text == NEW_QUESTION[1]


# -- 2. the loader and the chunker on whatever files they are given -----------------------------

# Pieces that break naive text handling: line endings of three systems, NUL, BOM, Unicode line
# and paragraph separators, zero-width and direction marks, emoji, other scripts, markup.
FRAGMENTS = [
    "\n", "\r\n", "\r", "\n\n", "\r\n\r\n", "\r\r", "\n\r\n", "\t", " ", "\x00", "\ufeff",
    "\u00a0", "\u2028", "\u2029", "\x85", "\x0b\x0c", "\x1c", "\u200b", "\u200d", "\u200f",
    "\u202e", "😀", "👩\u200d👩\u200d👧", "冰岛有多少座火山？", "ما هي عاصمة بيرو؟", ". ", "? ",
    "Dr. ", "U.S. ", "$16.06 ", "# Heading\n", "\nA Heading\n\n", "<b>", "&amp;", "---\n",
    '"', "\\", "{", "}",
]  # fmt: skip
# One giant sentence (no full stop in thousands of characters) and one giant word.
GIANT_SENTENCE = st.integers(150, 600).map(lambda n: " ".join(f"word{i % 7}" for i in range(n)))
GIANT_WORD = st.integers(300, 2000).map(lambda n: "x" * n)
TEXT = st.lists(
    st.one_of(
        st.text(max_size=40),
        st.sampled_from(FRAGMENTS),
        st.sampled_from(FRAGMENTS),
        GIANT_SENTENCE,
        GIANT_WORD,
    ),
    max_size=10,
).map("".join)
# Bytes that are not UTF-8: stray continuation, Latin-1 é, an encoded surrogate, past U+10FFFF.
BAD_BYTES = [b"\xff", b"\xfe", b"\x80", b"\xc3(", b"\xe9", b"\xed\xa0\x80", b"\xf4\x90\x80\x80"]
BOM = b"\xef\xbb\xbf"
# JSONL lines that hold no document.
GARBAGE_LINES = [
    b"not json", b"\xff\xfe", b"{", b"[1, 2]", b"null", b"5", b'"text"', b'{"text": 5}',
    b'{"id": "no-text"}', b'{"text": "x", "metadata": [1]}', b"   ",
]  # fmt: skip


def normalise(text: str) -> str:
    return text.replace("\r\n", "\n").replace("\r", "\n")


def utf8(text: str) -> bytes:
    return text.encode("utf-8")


@st.composite
def raw_bytes(draw: st.DrawFn) -> bytes:
    """Text, possibly behind a BOM, possibly with bytes that are not UTF-8 in it."""
    parts = draw(st.lists(st.one_of(TEXT.map(utf8), st.sampled_from(BAD_BYTES)), max_size=4))
    return (BOM if draw(st.booleans()) else b"") + b"".join(parts)


@st.composite
def jsonl_file(draw: st.DrawFn, name: str) -> tuple[bytes, dict[str, str]]:
    """A JSONL file and the {id: text} of the documents it must give, in order."""
    lines: list[bytes] = []
    expected: dict[str, str] = {}
    for number, (title, text, ascii_only) in enumerate(
        draw(st.lists(st.tuples(TEXT, TEXT, st.booleans()), max_size=4))
    ):
        doc_id = f"{name}#{number}"
        record = {"id": doc_id, "title": title, "text": text}
        lines.append(utf8(json.dumps(record, ensure_ascii=ascii_only)))
        if normalise(text).strip():
            expected[doc_id] = normalise(text)
        lines.extend(draw(st.lists(st.sampled_from(GARBAGE_LINES), max_size=1)))
    ends = draw(st.lists(st.sampled_from([b"\n", b"\r\n", b"\r"]), min_size=len(lines) + 1))
    data = b"".join(line + end for line, end in zip(lines, ends))
    return (BOM if draw(st.booleans()) else b"") + data, expected


@st.composite
def corpus_file(draw: st.DrawFn, number: int) -> tuple[str, bytes, dict[str, str] | None]:
    """(relative path, bytes, {id: text} expected from it, or None when not predictable)."""
    folder = draw(st.sampled_from(["", "sub/", "ünï cødé/"]))
    kind = draw(st.sampled_from(["txt", "md", "md with front matter", "html", "jsonl"]))
    if kind == "txt":
        name, data = f"{folder}f{number}.txt", draw(raw_bytes())
        text = normalise(data.decode("utf-8-sig", errors="replace"))
        return name, data, {name: text} if text.strip() else {}
    if kind == "md":
        return f"{folder}f{number}.md", draw(raw_bytes()), None
    if kind == "md with front matter":
        front = f"---\ntitle: {json.dumps(draw(TEXT))}\nauthor: {draw(TEXT)}\n---\n"
        newline = draw(st.sampled_from(["\n", "\r\n", "\r"]))
        return f"{folder}f{number}.md", utf8(front.replace("\n", newline)) + draw(raw_bytes()), None
    if kind == "html":
        tags = st.sampled_from(["p", "h1", "h2", "div", "li", "span", "script", "nav", "br"])
        blocks = draw(st.lists(st.tuples(tags, TEXT), max_size=5))
        html = f"<html><head><title>{draw(TEXT)}</title></head><body>"
        html += "".join(f"<{tag}>{text}</{tag}>" for tag, text in blocks) + "</body></html>"
        bad = draw(st.lists(st.sampled_from(BAD_BYTES), max_size=2))
        return (
            f"{folder}f{number}.html",
            draw(st.sampled_from([b"", BOM])) + utf8(html) + b"".join(bad),
            None,
        )
    name = f"{folder}f{number}.jsonl"
    data, expected = draw(jsonl_file(name))
    return name, data, expected


class Collected(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


@contextmanager
def corpus_warnings() -> Iterator[list[str]]:
    """The warnings qa.corpus logs inside the block (caplog is per test, not per example)."""
    handler = Collected()
    logger = logging.getLogger("qa.corpus")
    logger.addHandler(handler)
    try:
        yield handler.messages
    finally:
        logger.removeHandler(handler)


_PIECES = re.compile(r"\w{1,4}|[^\w\s]")


def count_pieces(texts: list[str]) -> list[int]:
    """A fast stand-in for a WordPiece tokenizer: a token per 4 word characters or per mark."""
    return [len(_PIECES.findall(text)) for text in texts]


def check_document(document: qa.Document, chunk_tokens: int) -> None:
    text = document.text
    assert text.strip() and "\r" not in text
    assert isinstance(document.title, str) and document.title
    for start, heading in document.sections:
        assert 0 <= start <= len(text) and isinstance(heading, str)
    # The index stores documents as UTF-8 JSON: everything must survive that.
    record = {"id": document.id, "title": document.title, "text": text, **document.metadata}
    json.dumps(record, ensure_ascii=False).encode("utf-8")

    chunks, sentences = chunk_document(document, count_pieces, chunk_tokens=chunk_tokens)
    assert chunks
    for chunk in chunks:
        assert chunk.doc_id == document.id
        assert text[chunk.start : chunk.end] == chunk.text
        assert chunk.text and chunk.text == chunk.text.strip()
        assert count_pieces([chunk.text])[0] <= chunk_tokens
    covered = [False] * len(text)
    previous_end = 0
    for sentence in sentences:
        piece = text[sentence.start : sentence.end]
        assert previous_end <= sentence.start < sentence.end <= len(text)
        assert piece == piece.strip()
        assert any(c.start <= sentence.start and sentence.end <= c.end for c in chunks)
        covered[sentence.start : sentence.end] = [True] * len(piece)
        previous_end = sentence.end
    assert all(covered[i] or char.isspace() for i, char in enumerate(text))


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.integers(1, 4).flatmap(lambda n: st.tuples(*[corpus_file(i) for i in range(n)])),
    st.sampled_from([8, 32, 128]),
)
def test_loader_and_chunker_survive_any_file(
    files: tuple[tuple[str, bytes, dict[str, str] | None], ...], chunk_tokens: int
) -> None:
    with tempfile.TemporaryDirectory() as folder, corpus_warnings() as warnings:
        write_files(Path(folder), {name: data for name, data, _ in files})
        try:
            documents, hashes = read_corpus(folder)
        except qa.EmptyCorpusError as error:
            assert FORMAT_LIST in str(error)
            documents, hashes = [], {}
    by_id = {d.id: d for d in documents}
    assert len(by_id) == len(documents)
    for name, data, expected in files:
        if hashes:
            assert name in hashes
        mine = [d for d in documents if d.source.split(":")[0] == name]
        if expected is not None:  # .txt and .jsonl: exactly these documents, exactly this text
            assert [d.id for d in mine] == list(expected)
            assert [d.text for d in mine] == list(expected.values())
        else:
            assert [d.id for d in mine] in ([], [name])
        if not mine:  # a file that gives nothing says so, by name
            assert any(name in message for message in warnings), (name, warnings)
        try:
            data.decode("utf-8")
        except UnicodeDecodeError:
            assert f"{name} is not valid UTF-8" in "\n".join(warnings)
    for document in documents:
        check_document(document, chunk_tokens)


def test_jsonl_records_with_unicode_line_separators_are_read(tmp_path: Path) -> None:
    # JSON allows U+2028, U+2029 and U+0085 unescaped inside strings (json.dumps writes them so
    # with ensure_ascii=False, as pandas does); they do not end a JSONL line.
    text = "One line\u2028and the same line. Next\u2029paragraph\x85here."
    (tmp_path / "lines.jsonl").write_text(
        json.dumps({"id": "a", "text": text}, ensure_ascii=False) + "\r\n"
        + json.dumps({"id": "b", "text": "Second record."}) + "\r"
        + json.dumps({"id": "c", "text": "Third record."}) + "\n",
        encoding="utf-8",
    )  # fmt: skip
    documents = {d.id: d for d in load_corpus(tmp_path)}
    assert sorted(documents) == ["a", "b", "c"]
    assert documents["a"].text == text
    assert [d.source for d in documents.values()] == [
        "lines.jsonl:1",
        "lines.jsonl:2",
        "lines.jsonl:3",
    ]


def test_lone_surrogates_in_jsonl_do_not_break_the_build(tmp_path: Path) -> None:
    # "\ud800" is valid JSON, but a lone surrogate is not a character: no UTF-8 file or
    # tokenizer takes it. It becomes U+FFFD like any other undecodable text.
    (tmp_path / "odd.jsonl").write_text(
        '{"id": "odd", "title": "Odd \\udfff", "text": "Lima is the capital of Peru. \\ud800 '
        'Broken.", "metadata": {"note": "\\ud83d"}}\n',
        encoding="utf-8",
    )
    (document,) = load_corpus(tmp_path)
    assert document.text == "Lima is the capital of Peru. \ufffd Broken."
    assert document.title == "Odd \ufffd"
    assert document.metadata == {"note": "\ufffd"}
    index = qa.build_index(tmp_path, tmp_path / "index", show_progress=False)
    assert index.ask("What is the capital of Peru?").text == "Lima is the capital of Peru."


# -- 3. corpora with files that cannot be read ----------------------------------------------------


def unreadable(path: Path, how: str) -> None:
    """Make ``path`` a file whose read fails."""
    if how == "chmod 000":
        if os.geteuid() == 0:
            pytest.skip("root reads a file whatever its mode")
        path.write_text("Secret text that nobody may read.", encoding="utf-8")
        path.chmod(0)
    else:  # a file that stat calls regular but whose read fails, for root too (EIO)
        if not Path("/proc/self/mem").is_file():
            pytest.skip("no /proc/self/mem here")
        path.symlink_to("/proc/self/mem")
    with pytest.raises(OSError):
        path.read_bytes()


@pytest.mark.parametrize("how", ["chmod 000", "read error"])
def test_unreadable_files_are_skipped_with_a_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, how: str
) -> None:
    (tmp_path / "good.txt").write_text("Lima is the capital of Peru.", encoding="utf-8")
    unreadable(tmp_path / "secret.txt", how)
    with caplog.at_level(logging.WARNING, logger="qa.corpus"):
        documents, hashes = read_corpus(tmp_path)
    assert [d.id for d in documents] == ["good.txt"]
    assert set(hashes) == {"good.txt"}
    assert "Skipping secret.txt: cannot read it" in caplog.text
    assert corpus_hashes(tmp_path).keys() == {"good.txt"}  # staleness checks too


def test_a_corpus_with_junk_files_builds_and_answers(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    noise = random.Random(7)
    corpus = write_files(
        tmp_path / "corpus",
        {
            "good.txt": "Lima is the capital of Peru.\n",
            "random.pdf": noise.randbytes(4096),
            "random.txt": noise.randbytes(4096),
            "latin.txt": "Café culture in Quito is old.\n".encode("latin-1"),
            "empty.md": b"",
            "blank.html": b"<html><body>  \n <script>var x = 1;</script></body></html>",
            "bom only.txt": BOM,
            "records.jsonl": b'{"id": "r1", "text": "   "}\n{"text": 3}\n',
        },
    )
    whole = tmp_path / "whole.pdf"
    write_pdf(whole, [["Glaciers cover about ten percent of the land."]])
    (corpus / "truncated.pdf").write_bytes(whole.read_bytes()[:500])
    if Path("/proc/self/mem").is_file():
        unreadable(corpus / "unreadable.txt", "read error")

    with caplog.at_level(logging.WARNING, logger="qa.corpus"):
        index = qa.build_index(corpus, tmp_path / "index", show_progress=False)
    assert sorted(d.id for d in index.documents) == ["good.txt", "latin.txt", "random.txt"]
    assert index.document("latin.txt").text == "Caf\ufffd culture in Quito is old.\n"
    for warning in (
        "Skipping random.pdf: ",
        "random.txt is not valid UTF-8",
        "latin.txt is not valid UTF-8",
        "Skipping truncated.pdf: ",
        "Skipping empty.md: no text in it",
        "Skipping blank.html: no text in it",
        "Skipping bom only.txt: no text in it",
        "Skipping records.jsonl line 1: ValueError: no text in it",
        "Skipping records.jsonl line 2: TypeError",
    ):
        assert warning in caplog.text
    if Path("/proc/self/mem").is_file():
        assert "Skipping unreadable.txt: cannot read it" in caplog.text
    answer = index.ask("What is the capital of Peru?")
    assert answer.text == "Lima is the capital of Peru."
    assert_answer_is_well_formed(index, answer)


@pytest.mark.parametrize("contents", ["nothing", "nothing readable"])
def test_no_readable_document_is_an_empty_corpus_error_listing_the_formats(
    tmp_path: Path, contents: str
) -> None:
    if contents == "nothing readable":
        write_files(
            tmp_path,
            {
                ".hidden.txt": "Hidden files are not read.",
                "notes.docx": b"PK\x03\x04",
                "empty.txt": "",
                "blank.md": "---\ntitle: Only front matter\n---\n  \n",
                "broken.pdf": b"%PDF-1.4 not really",
                "records.jsonl": "not json\n",
            },
        )
    with pytest.raises(qa.EmptyCorpusError) as caught:
        read_corpus(tmp_path)
    assert isinstance(caught.value, qa.QAError)
    assert f"No readable document in {tmp_path}" in str(caught.value)
    assert FORMAT_LIST in str(caught.value)


# -- 4. questions nobody should ask ------------------------------------------------------------


@pytest.mark.parametrize("question", ["", " ", "\n\t\r ", "\u3000\u00a0\u2028", "\x1c\x1f"])
def test_a_blank_question_is_an_empty_question_error(index: qa.Index, question: str) -> None:
    calls: list[Callable[[], Any]] = [
        lambda: index.retrieve(question),
        lambda: index.ask(question),
        lambda: index.ask_many(["Where was coffee first brewed?", question]),
        lambda: qa.ask(question, index=index),
    ]
    for call in calls:
        with pytest.raises(qa.EmptyQuestionError, match="The question is empty") as caught:
            call()
        assert isinstance(caught.value, qa.QAError)


@pytest.mark.parametrize(
    "question",
    ["\u200b", "\u200f\u200e\u2060", "\ufeff", "\x00\x07\x1b", "\ufffd", "\u0301\u0301", "\ue000"],
)
def test_a_question_of_invisible_characters_is_empty_too(index: qa.Index, question: str) -> None:
    # The model's tokenizer drops all of these: asked, such a question reads as no question at
    # all, and the cross-encoder is then sure of any sentence (0.997 before this was caught).
    for call in (index.retrieve, index.ask):
        with pytest.raises(qa.EmptyQuestionError, match="The question is empty"):
            call(question)


def test_a_100_kb_question_is_cut_to_the_model_window(index: qa.Index) -> None:
    filler = "glacier coffee tides owls volcano Iceland Brazil Moon "
    question = "Which glacier is the largest in the Alps? " + filler * 1900
    assert len(question) > 100_000 and len(question.split()) > 15_000
    encoder = index.encoder
    offsets = encoder.tokenizer(
        question, add_special_tokens=False, return_offsets_mapping=True, verbose=False
    )["offset_mapping"]
    assert len(offsets) > 10 * encoder.window
    cut = question[: offsets[encoder.window - 1][1]]  # what the model reads of it
    # Dense retrieval reads exactly the window, nothing past it.
    assert index.retrieve(question, 5, mode="dense") == index.retrieve(cut, 5, mode="dense")
    for mode in ("hybrid", "keyword"):
        passages = index.retrieve(question, 5, mode=mode)
        assert len(passages) == 5
        assert_quotes_its_documents(index, passages)
    # The reader reads the question cut to its own limit, with each passage.
    answer = index.ask(question)
    assert answer.question == question.strip()
    assert_answer_is_well_formed(index, answer)


WEIRD_QUESTIONS = [
    "\x1b[1mWhere was coffee first brewed?\x1b[0m\x00\x07",
    "Which glacier is the largest in the Alps? 🏔️👩\u200d👩\u200d👧\u200d👦",
    "\u200fWhich glacier is the largest in the Alps?\u200e\u202e",
    "Whi\u200bch gla\u200dcier is the lar\u2060gest in the Alps?",
    "冰岛有多少座火山？",
    "\u200fما هي أكبر كتلة جليدية في جبال الألب؟\u200f",
    "Сколько вулканов в Исландии?",
    "Ｗｈｅｒｅ ｗａｓ ｃｏｆｆｅｅ ｆｉｒｓｔ ｂｒｅｗｅｄ？",
    "W\u0301h\u0301e\u0301r\u0301e was coffee first brewed?",
    "\ud800 Where was coffee first brewed? \udfff",
    "???!!!...",
    "the of and a to",
    "\U0010ffff\U000e0001 owls",
    "owls " * 3 + "\ue000",
]


@pytest.mark.parametrize("question", WEIRD_QUESTIONS)
def test_questions_in_any_script_or_noise_answer_or_abstain(index: qa.Index, question: str) -> None:
    for mode in ("hybrid", "dense", "keyword"):
        assert_quotes_its_documents(index, index.retrieve(question, 3, mode=mode))
    assert_answer_is_well_formed(index, index.ask(question))
    assert_answer_is_well_formed(index, index.ask(question, 3, mode="keyword"), k=3)


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        (WEIRD_QUESTIONS[0], "Coffee was first brewed in Yemen in the 15th century."),
        (WEIRD_QUESTIONS[1], "The Aletsch Glacier is the largest glacier in the Alps."),
        (WEIRD_QUESTIONS[2], "The Aletsch Glacier is the largest glacier in the Alps."),
        (WEIRD_QUESTIONS[9], "Coffee was first brewed in Yemen in the 15th century."),
    ],
)
def test_noise_around_a_real_question_does_not_hide_it(
    index: qa.Index, question: str, expected: str
) -> None:
    assert index.ask(question).text == expected


# -- 5. arguments out of range ------------------------------------------------------------------


@pytest.mark.parametrize("k", [0, -1, -10_000])
def test_k_below_one_names_the_valid_range(index: qa.Index, k: int) -> None:
    calls: list[Callable[[], Any]] = [
        lambda: index.retrieve("owls", k),
        lambda: index.retrieve("owls", k, mode="keyword"),
        lambda: index.ask("owls", k),
        lambda: index.retrieve_many(["owls"], k),
        lambda: index.ask_many(["owls"], k),
        lambda: qa.retrieve("owls", k, index=index),
        lambda: qa.ask("owls", k, index=index),
    ]
    for call in calls:
        with pytest.raises(ValueError, match=f"k must be a whole number of 1 or more, got {k}"):
            call()


@pytest.mark.parametrize("mode", ["dense", "hybrid", "keyword"])
def test_k_larger_than_the_corpus_gives_each_passage_once(index: qa.Index, mode: str) -> None:
    question = "How many volcanic mountains does Iceland have?"
    passages = index.retrieve(question, k=10_000, mode=mode)
    rows = [p.chunks[0] for p in passages]
    assert len(rows) == len(set(rows))
    assert len({(p.doc_id, p.start, p.end) for p in passages}) == len(passages)
    assert [p.rank for p in passages] == list(range(1, len(passages) + 1))
    assert [p.score for p in passages] == sorted((p.score for p in passages), reverse=True)
    assert_quotes_its_documents(index, passages)
    assert passages == index.retrieve(question, k=len(index), mode=mode)
    if mode == "keyword":  # BM25 leaves out the chunks that share no word with the question
        assert all(p.score > 0 for p in passages)
        assert {p.doc_id for p in passages} >= {"volcanoes.txt"}
        assert len(passages) < len(index)
    else:
        assert sorted(rows) == list(range(len(index)))


def test_ask_with_k_larger_than_the_corpus(index: qa.Index) -> None:
    answer = index.ask("Which glacier is the largest in the Alps?", k=10_000)
    assert answer.text == "The Aletsch Glacier is the largest glacier in the Alps."
    assert len(answer.citations) == len(index)
    assert_answer_is_well_formed(index, answer, k=len(index))


# -- 6. one index, many threads -----------------------------------------------------------------

THREAD_QUESTIONS = [
    "Which glacier is the largest in the Alps?",
    "Where was coffee first brewed?",
    "When did Hekla erupt?",
    "How many degrees can owls rotate their heads?",
    "What is the exchange rate of the Swiss franc today?",
    "spring tides Sun Moon",
]


def thread_calls(index: qa.Index) -> list[Callable[[], Any]]:
    """Retrieve and ask in every mode, one question and many."""
    calls: list[Callable[[], Any]] = []
    for number, question in enumerate(THREAD_QUESTIONS):
        calls += [
            partial(index.retrieve, question, 3),
            partial(index.retrieve, question, 4, mode="dense"),
            partial(index.retrieve, question, 2, mode="keyword"),
            partial(index.ask, question),
            partial(index.ask, question, 1 + number % 4, mode="keyword"),
            partial(index.ask, question, 3, mode="dense", min_score=0.9),
        ]
    calls += [
        partial(index.retrieve_many, THREAD_QUESTIONS, 3),
        partial(index.ask_many, THREAD_QUESTIONS[:3]),
        partial(index.ask_many, THREAD_QUESTIONS[3:], mode="dense"),
    ]
    return calls


def test_one_index_queried_from_16_threads_answers_as_one_thread_does(index: qa.Index) -> None:
    fresh = qa.Index.load(index.path)  # its lazy parts are first touched by many threads at once
    calls = thread_calls(fresh) * 2
    order = list(range(len(calls)))
    random.Random(16).shuffle(order)
    with ThreadPoolExecutor(max_workers=16) as pool:
        results = dict(zip(order, pool.map(lambda i: calls[i](), order)))
    expected = [call() for call in thread_calls(index)]
    for i, result in results.items():
        # Identical answers and passages; scores equal but for float rounding, since BLAS may
        # split a product differently when other threads keep its cores busy.
        got, want = split_scores(result), split_scores(expected[i % len(expected)])
        assert got[0] == want[0], i
        assert got[1] == pytest.approx(want[1], abs=1e-5), i


def split_scores(result: Any) -> tuple[Any, list[float]]:
    """A result with every score set to 0, and the scores it had, in order."""
    if isinstance(result, list):
        parts = [split_scores(item) for item in result]
        return [p[0] for p in parts], [score for p in parts for score in p[1]]
    if isinstance(result, qa.Answer):
        citations, scores = split_scores(result.citations)
        closest, more = split_scores(result.closest) if result.closest else (None, [])
        unscored = replace(result, score=0.0, citations=citations, closest=closest)
        return unscored, [result.score, *scores, *more]
    if isinstance(result, qa.Quote):
        (citation,), scores = split_scores([result.citation])
        return replace(result, score=0.0, citation=citation), [result.score, *scores]
    return replace(result, score=0.0), [result.score]
