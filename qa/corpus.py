"""Read a corpus folder into Documents: .txt, .md (front matter), .html, .pdf and .jsonl.

A document's id is its path relative to the corpus folder (``notes/a.md``); a JSONL record keeps
its own ``id``. Files that cannot be read are skipped with a warning naming the file and why.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from qa.errors import CorpusNotFoundError, EmptyCorpusError
from qa.types import Document

logger = logging.getLogger(__name__)

FORMATS = (".txt", ".md", ".html", ".htm", ".pdf", ".jsonl")

# A line standing alone between blank lines, short and without closing punctuation, reads as a
# heading ("Governance and Funding Progress"); Markdown "#" lines always do.
_MD_HEADING = re.compile(r"^(#{1,6})[ \t]+(.+?)[ \t#]*$", re.MULTILINE)
_PLAIN_HEADING_MAX_CHARS = 80
_LINE_BREAK = re.compile(r"\r\n|\r|\n")
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def corpus_files(corpus_dir: Path, *, warn: bool = True) -> list[Path]:
    """The files of ``corpus_dir`` that the loader reads, sorted; hidden files are left out."""
    if not corpus_dir.is_dir():
        raise CorpusNotFoundError(
            f"No corpus folder at {corpus_dir}; create it and put documents in it "
            f"({', '.join(FORMATS)}), or point QA_CORPUS_DIR at one."
        )
    files = []
    for path in sorted(corpus_dir.rglob("*")):
        relative = path.relative_to(corpus_dir)
        if any(part.startswith(".") for part in relative.parts) or not path.is_file():
            continue
        if path.suffix.lower() not in FORMATS:
            if warn:
                logger.warning(
                    "Skipping %s: unsupported format (reads %s)", relative, ", ".join(FORMATS)
                )
            continue
        files.append(path)
    return files


def file_hash(path: Path) -> str:
    """sha256 of the file's bytes, as hex."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def load_corpus(corpus_dir: Path | str) -> list[Document]:
    """Read every supported file below ``corpus_dir`` into Documents, in path order."""
    return read_corpus(corpus_dir)[0]


def read_corpus(corpus_dir: Path | str) -> tuple[list[Document], dict[str, str]]:
    """The documents of ``corpus_dir`` and the sha256 of each file's bytes, by relative path.

    Each file is read once and hashed from the same bytes it is parsed from, so the hashes
    always describe the text that was indexed, even when files change during a build.
    """
    corpus_dir = Path(corpus_dir)
    documents: list[Document] = []
    hashes: dict[str, str] = {}
    seen: set[str] = set()
    for path in corpus_files(corpus_dir):
        source = path.relative_to(corpus_dir).as_posix()
        try:
            data = path.read_bytes()
        except OSError as error:
            logger.warning("Skipping %s: cannot read it: %s", source, error)
            continue
        hashes[source] = hashlib.sha256(data).hexdigest()
        for document in parse_file(data, source):
            if document.id in seen:
                logger.warning("Skipping a second document with id %r in %s", document.id, source)
                continue
            seen.add(document.id)
            documents.append(document)
    if not documents:
        raise EmptyCorpusError(
            f"No readable document in {corpus_dir}; add files in one of these formats: "
            f"{', '.join(FORMATS)}."
        )
    return documents, hashes


def corpus_hashes(corpus_dir: Path | str) -> dict[str, str]:
    """sha256 of each file the loader reads, by path relative to ``corpus_dir``."""
    corpus_dir = Path(corpus_dir)
    hashes = {}
    for path in corpus_files(corpus_dir, warn=False):
        try:
            hashes[path.relative_to(corpus_dir).as_posix()] = file_hash(path)
        except OSError:
            continue
    return hashes


def corpus_fingerprint(corpus_dir: Path | str) -> tuple[tuple[str, int, int], ...]:
    """Path, size and modification time of each file the loader reads: cheap change detection."""
    corpus_dir = Path(corpus_dir)
    if not corpus_dir.is_dir():
        return ()
    rows = []
    for path in corpus_files(corpus_dir, warn=False):
        info = path.stat()
        rows.append((path.relative_to(corpus_dir).as_posix(), info.st_size, info.st_mtime_ns))
    return tuple(rows)


def parse_file(data: bytes, source: str) -> list[Document]:
    """The documents in one file's bytes; a file that cannot be parsed gives none and a warning."""
    suffix = Path(source).suffix.lower()
    stem = Path(source).stem
    try:
        if suffix == ".jsonl":
            documents = list(_read_jsonl(data, source))
            if not documents:
                logger.warning("Skipping %s: no document in it", source)
            return documents
        if suffix == ".pdf":
            document = _read_pdf(data, source, stem)
        elif suffix in (".html", ".htm"):
            document = _read_html(data, source, stem)
        elif suffix == ".md":
            document = _read_markdown(data, source, stem)
        else:
            document = _read_text(data, source, stem)
    except Exception as error:  # one bad file must not stop the build
        logger.warning("Skipping %s: %s: %s", source, type(error).__name__, error)
        return []
    if not document.text.strip():
        logger.warning("Skipping %s: no text in it", source)
        return []
    return [document]


def decode(data: bytes, source: str) -> str:
    """UTF-8 (with or without BOM); invalid bytes become U+FFFD, with a warning."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        logger.warning("%s is not valid UTF-8 (%s); decoding leniently", source, error.reason)
        return data.decode("utf-8-sig", errors="replace")


def _normalise_newlines(text: str) -> str:
    return text.replace("\r\n", "\n").replace("\r", "\n")


def _read_text(data: bytes, source: str, stem: str) -> Document:
    text = _normalise_newlines(decode(data, source))
    return Document(
        id=source,
        title=_first_line_title(text) or stem,
        text=text,
        source=source,
        sections=find_headings(text),
    )


def _read_markdown(data: bytes, source: str, stem: str) -> Document:
    import frontmatter

    post = frontmatter.loads(_normalise_newlines(decode(data, source)))
    metadata = scrub_surrogates({key: _jsonable(value) for key, value in post.metadata.items()})
    text = post.content
    sections = find_headings(text)
    title = str(metadata.pop("title", "") or "") or (sections[0][1] if sections else "")
    return Document(
        id=source,
        title=title or _first_line_title(text) or stem,
        text=text,
        metadata=metadata,
        source=source,
        sections=sections,
    )


def _read_html(data: bytes, source: str, stem: str) -> Document:
    from qa.extract import html_to_text

    text, title, sections = html_to_text(decode(data, source))
    return Document(id=source, title=title or stem, text=text, source=source, sections=sections)


def _read_pdf(data: bytes, source: str, stem: str) -> Document:
    from qa.extract import pdf_to_text

    text, pages, metadata = pdf_to_text(data)
    title = str(metadata.pop("title", "") or "")
    return Document(
        id=source,
        title=title or _first_line_title(text) or stem,
        text=text,
        metadata=metadata,
        source=source,
        sections=find_headings(text),
        pages=pages,
    )


def _read_jsonl(data: bytes, source: str) -> Iterator[Document]:
    text = decode(data, source)
    # Only these end a line: JSON strings may hold U+2028, U+2029 and U+0085 unescaped.
    for number, line in enumerate(_LINE_BREAK.split(text), 1):
        if not line.strip():
            continue
        try:
            document = record_document(json.loads(line), f"{source}:{number}")
        except (ValueError, KeyError, TypeError) as error:
            logger.warning(
                "Skipping %s line %d: %s: %s", source, number, type(error).__name__, error
            )
            continue
        yield document


def record_document(record: Any, source: str) -> Document:
    """A corpus JSONL record (``text``; optional ``id``, ``title``, ``metadata``) as a Document.

    Without an ``id`` the record is named by ``source`` (``file.jsonl:line``). Raises
    ``KeyError``, ``TypeError`` or ``ValueError`` saying what is wrong with it.
    """
    record = scrub_surrogates(record)
    if not isinstance(record, dict):
        raise TypeError("a record must be a JSON object with a 'text' string")
    body = record["text"]
    if not isinstance(body, str):
        raise TypeError("'text' must be a string")
    metadata = record.get("metadata") or {}
    if not isinstance(metadata, dict):
        raise TypeError("'metadata' must be an object")
    body = _normalise_newlines(body)
    if not body.strip():
        raise ValueError("no text in it")
    doc_id = str(record.get("id") or source)
    return Document(
        id=doc_id,
        title=str(record.get("title") or doc_id),
        text=body,
        metadata=metadata,
        source=source,
        sections=find_headings(body),
    )


def to_documents(items: Iterable[Any], corpus_dir: Path | None = None) -> list[Document]:
    """Documents given from Python, as ``qa.Index.add`` takes them.

    - a ``pathlib.Path`` (or a one-line string naming a file that exists): the file, read as
      the corpus reads it; its id is its path relative to ``corpus_dir`` when it lies inside,
      else its file name;
    - a dict: a record of the corpus JSONL format (``text``; optional ``id``, ``title``,
      ``metadata``); without an id, it is named by a hash of its text;
    - any other string: the text of a document, named by a hash of the text.

    Raises ``ValueError`` for an item it cannot read, naming it; a file that gives no document
    is an error here, not a warning.
    """
    documents: list[Document] = []
    for item in items:
        if isinstance(item, str) and "\n" not in item and _is_file(item):
            item = Path(item)
        if isinstance(item, Path):
            documents.extend(_file_documents(item, corpus_dir))
        elif isinstance(item, dict):
            name = f"python:{_text_hash(str(item.get('text', '')))}"
            try:
                documents.append(record_document(item, name))
            except (KeyError, TypeError, ValueError) as error:
                raise ValueError(f"Cannot add the record {_clip(item)}: {error}") from error
        elif isinstance(item, str):
            if not item.strip():
                raise ValueError("Cannot add an empty text: a document needs words")
            text = _normalise_newlines(scrub_surrogates(item))
            record = {"text": text, "title": _first_line_title(text)}
            documents.append(record_document(record, f"python:{_text_hash(text)}"))
        else:
            raise TypeError(
                f"Cannot add {type(item).__name__} {_clip(item)}: give a pathlib.Path, a "
                "string of text or a dict in the corpus JSONL format"
            )
    return documents


def _file_documents(path: Path, corpus_dir: Path | None) -> list[Document]:
    try:
        data = path.read_bytes()
    except OSError as error:
        raise ValueError(f"Cannot add {path}: {error}") from error
    if path.suffix.lower() not in FORMATS:
        raise ValueError(f"Cannot add {path}: unsupported format (reads {', '.join(FORMATS)})")
    source = path.name
    if corpus_dir is not None and path.resolve().is_relative_to(corpus_dir.resolve()):
        source = path.resolve().relative_to(corpus_dir.resolve()).as_posix()
    documents = parse_file(data, source)
    if not documents:
        raise ValueError(f"Cannot add {path}: no readable document in it (see the log)")
    return documents


def _is_file(text: str) -> bool:
    try:
        return len(text) < 4096 and Path(text).is_file()
    except (OSError, ValueError):
        return False


def _text_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:12]


def _clip(value: Any, limit: int = 60) -> str:
    shown = repr(value)
    return shown if len(shown) <= limit else shown[: limit - 1] + "…"


def scrub_surrogates(value: Any) -> Any:
    """``value`` (a string, or lists and dicts of them) with lone surrogates made U+FFFD.

    JSON's \\u escapes and Python strings can hold them; no UTF-8 text and no tokenizer takes them.
    """
    if isinstance(value, str):
        return _LONE_SURROGATE.sub("\ufffd", value)
    if isinstance(value, list):
        return [scrub_surrogates(item) for item in value]
    if isinstance(value, dict):
        return {scrub_surrogates(key): scrub_surrogates(item) for key, item in value.items()}
    return value


def find_headings(text: str) -> tuple[tuple[int, str], ...]:
    """``(start, heading)`` of Markdown headings and of short stand-alone title lines."""
    headings: list[tuple[int, str]] = []
    offset = 0
    lines = text.split("\n")
    for number, line in enumerate(lines):
        stripped = line.strip()
        match = _MD_HEADING.match(line)
        if match:
            headings.append((offset, match.group(2).strip()))
        elif (
            stripped
            and len(stripped) <= _PLAIN_HEADING_MAX_CHARS
            and number > 0
            and not lines[number - 1].strip()
            and (number + 1 == len(lines) or not lines[number + 1].strip())
            and stripped[-1] not in ".!?,;\"”'’)"
            and any(char.isalpha() for char in stripped)
            and stripped[0].isupper()
        ):
            headings.append((offset + line.index(stripped[0]), stripped.rstrip(":")))
        offset += len(line) + 1
    return tuple(headings)


def _first_line_title(text: str) -> str:
    for line in text.split("\n"):
        if line.strip():
            line = line.strip().lstrip("#").strip()
            return line if len(line) <= 200 else ""
    return ""


def _jsonable(value: Any) -> Any:
    """Front-matter values as JSON types (YAML dates become ISO strings)."""
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    if isinstance(value, list):
        return [_jsonable(item) for item in value]
    if isinstance(value, dict):
        return {str(key): _jsonable(item) for key, item in value.items()}
    return value.isoformat() if hasattr(value, "isoformat") else str(value)
