"""Question sets: read JSONL, CSV and SQuAD v1.1 / v2.0 JSON into ``Question`` objects.

Formats (chosen by the file's extension):

- ``.jsonl``: one JSON object per line with ``question`` and ``answers`` (a list of acceptable
  answer strings, empty for an unanswerable question), optional ``id`` and ``doc_id``.
- ``.csv``: a header row and the same columns; ``answers`` separated by ``|``, empty for an
  unanswerable question.
- ``.json``: SQuAD v1.1 or v2.0 as published (``{"version", "data": [{"title", "paragraphs":
  [{"context", "qas": [...]}]}]}``); ``doc_id`` is the article title.

A question without an ``id`` gets ``"<file stem>:<line>"``.
"""

from __future__ import annotations

import csv
import io
import json
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from qa.errors import QuestionSetError

logger = logging.getLogger(__name__)

#: Separates acceptable answers in a CSV ``answers`` cell.
CSV_ANSWER_SEPARATOR = "|"

#: Extensions read by ``load_questions``, and the reader each one selects.
FORMATS = {".jsonl": "jsonl", ".ndjson": "jsonl", ".csv": "csv", ".json": "squad"}


@dataclass(frozen=True)
class Question:
    """One question of a set, with its acceptable answers (none: the question is unanswerable)."""

    id: str
    question: str
    answers: tuple[str, ...] = ()
    doc_id: str | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.question, str) or not self.question.strip():
            raise ValueError(f"Question {self.id!r} has an empty question text; write the question")
        # Accept any iterable of strings (a list from JSON, say) and keep a tuple.
        object.__setattr__(self, "answers", tuple(self.answers))

    @property
    def answerable(self) -> bool:
        """True when the question has at least one acceptable answer."""
        return bool(self.answers)


@dataclass(frozen=True)
class QuestionSet:
    """The questions of one file and the format they were read as.

    ``format`` is one of ``"jsonl"``, ``"csv"``, ``"squad-v1.1"``, ``"squad-v2.0"``; the
    evaluator reports the official SQuAD v2.0 figures for ``"squad-v2.0"``.
    """

    path: str
    format: str
    questions: tuple[Question, ...]


def load_questions(path: str | Path) -> list[Question]:
    """Read a question set (JSONL, CSV or SQuAD JSON, by extension) into a list of Questions.

    Raises ``QuestionSetError`` naming the file, the line and the fix when the file is missing,
    malformed, empty, or repeats an id.
    """
    return list(read_question_set(path).questions)


def read_question_set(path: str | Path) -> QuestionSet:
    """Like ``load_questions``, but also tell which format the file was read as."""
    path = Path(path)
    if not path.is_file():
        what = "is a folder, not a file" if path.is_dir() else "does not exist"
        raise QuestionSetError(
            f"Question set {path} {what}; pass the path of a .jsonl, .csv or SQuAD .json file"
        )
    kind = FORMATS.get(path.suffix.lower())
    if kind is None:
        raise QuestionSetError(
            f"Cannot tell the format of question set {path} from its extension "
            f"{path.suffix or '(none)'!r}; name it .jsonl, .csv or .json (SQuAD)"
        )
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise QuestionSetError(
            f"Question set {path} is not UTF-8 text ({exc.reason} at byte {exc.start}); "
            "save it as UTF-8"
        ) from exc

    if kind == "jsonl":
        fmt, items = "jsonl", list(_read_jsonl(path, text))
    elif kind == "csv":
        fmt, items = "csv", list(_read_csv(path, text))
    else:
        fmt, items = _read_squad(path, text)

    if not items:
        raise QuestionSetError(f"Question set {path} holds no questions; add at least one")
    questions = _check_unique_ids(path, items)
    logger.info(
        "Read %d questions (%d unanswerable) from %s as %s",
        len(questions),
        sum(not q.answerable for q in questions),
        path,
        fmt,
    )
    return QuestionSet(path=str(path), format=fmt, questions=questions)


# A question as read, with where it came from, for error messages.
_Located = tuple[Question, str]


def select_split(questions: list[Question], splits: str | Path, name: str) -> list[Question]:
    """The questions whose article (``doc_id``) the file ``splits`` lists under ``name``.

    ``splits`` is JSON mapping split names to article titles, as SQuAD's ``splits.json``:
    ``{"tune": ["Normans", ...], "test": [...]}``.
    """
    path = Path(splits)
    try:
        table = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise QuestionSetError(f"Could not read the splits file {path} ({error})") from None
    titles = table.get(name) if isinstance(table, dict) else None
    if not isinstance(titles, list):
        names = (
            sorted(k for k, v in table.items() if isinstance(v, list))
            if isinstance(table, dict)
            else []
        )
        raise QuestionSetError(
            f"{path} has no split {name!r}; choose one of {', '.join(names) or '(none)'}"
        )
    wanted = set(titles)
    return [q for q in questions if q.doc_id in wanted]


def _check_unique_ids(path: Path, items: list[_Located]) -> tuple[Question, ...]:
    seen: dict[str, str] = {}
    for question, where in items:
        if question.id in seen:
            raise QuestionSetError(
                f"{path}, {where}: id {question.id!r} is already used at {seen[question.id]}; "
                "give every question its own id"
            )
        seen[question.id] = where
    return tuple(question for question, _ in items)


def _read_jsonl(path: Path, text: str) -> Iterator[_Located]:
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        where = f"line {number}"
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            raise QuestionSetError(
                f"{path}, {where}: not valid JSON ({exc.msg} at column {exc.colno}); "
                'write one object per line, e.g. {"question": "...", "answers": ["..."]}'
            ) from exc
        if not isinstance(record, dict):
            raise QuestionSetError(
                f"{path}, {where}: expected a JSON object, got {type(record).__name__}; "
                'write one object per line, e.g. {"question": "...", "answers": ["..."]}'
            )
        yield _question_from_record(path, where, record, default_id=f"{path.stem}:{number}"), where


def _read_csv(path: Path, text: str) -> Iterator[_Located]:
    reader = csv.DictReader(io.StringIO(text, newline=""))
    columns = reader.fieldnames or []
    missing = [name for name in ("question", "answers") if name not in columns]
    if missing:
        raise QuestionSetError(
            f"{path}, line 1: the header has no {' or '.join(repr(m) for m in missing)} column "
            f"(found {', '.join(repr(c) for c in columns) or 'nothing'}); "
            "start the file with the header 'id,question,answers,doc_id'"
        )
    for row in reader:
        where = f"line {reader.line_num}"
        if None in row:
            raise QuestionSetError(
                f"{path}, {where}: more cells than header columns; quote cells that hold commas"
            )
        cell = row.get("answers") or ""
        answers = [a.strip() for a in cell.split(CSV_ANSWER_SEPARATOR) if a.strip()]
        record: dict[str, Any] = {
            "question": row.get("question") or "",
            "answers": answers,
            "id": (row.get("id") or "").strip() or None,
            "doc_id": (row.get("doc_id") or "").strip() or None,
        }
        yield (
            _question_from_record(path, where, record, default_id=f"{path.stem}:{reader.line_num}"),
            where,
        )


def _question_from_record(
    path: Path, where: str, record: dict[str, Any], *, default_id: str
) -> Question:
    question = record.get("question")
    if not isinstance(question, str) or not question.strip():
        raise QuestionSetError(
            f"{path}, {where}: 'question' is missing or empty; give the question text"
        )
    if "answers" not in record:
        raise QuestionSetError(
            f"{path}, {where}: 'answers' is missing; give a list of acceptable answers, "
            "or [] for a question the corpus cannot answer"
        )
    answers = record["answers"]
    if not isinstance(answers, list) or not all(isinstance(a, str) for a in answers):
        raise QuestionSetError(
            f"{path}, {where}: 'answers' must be a list of strings, got {answers!r}; "
            'write e.g. "answers": ["2.5 million"], or [] for an unanswerable question'
        )
    if any(not a.strip() for a in answers):
        raise QuestionSetError(
            f"{path}, {where}: 'answers' holds an empty string; remove it "
            "(an unanswerable question has an empty list)"
        )
    qid = record.get("id")
    if qid is None or qid == "":
        qid = default_id
    elif not isinstance(qid, str | int):
        raise QuestionSetError(f"{path}, {where}: 'id' must be a string, got {qid!r}")
    doc_id = record.get("doc_id")
    if doc_id is not None and not isinstance(doc_id, str):
        raise QuestionSetError(f"{path}, {where}: 'doc_id' must be a string, got {doc_id!r}")
    return Question(id=str(qid), question=question.strip(), answers=tuple(answers), doc_id=doc_id)


def _read_squad(path: Path, text: str) -> tuple[str, list[_Located]]:
    try:
        dataset = json.loads(text)
    except json.JSONDecodeError as exc:
        raise QuestionSetError(
            f"{path}, line {exc.lineno}: not valid JSON ({exc.msg}, column {exc.colno}); "
            "a .json question set must be a SQuAD v1.1 or v2.0 file"
        ) from exc
    if not isinstance(dataset, dict) or not isinstance(dataset.get("data"), list):
        raise QuestionSetError(
            f"{path}: not a SQuAD file (no top-level 'data' list); use the SQuAD v1.1 / v2.0 "
            "layout, or write the questions as .jsonl"
        )
    version = str(dataset.get("version", ""))
    v2 = version.lstrip("v").startswith("2")
    items: list[_Located] = []
    for a, article in enumerate(dataset["data"]):
        title = _field(path, f"data[{a}]", article, "title", str)
        for p, paragraph in enumerate(_field(path, f"data[{a}]", article, "paragraphs", list)):
            for q, qa in enumerate(
                _field(path, f"data[{a}].paragraphs[{p}]", paragraph, "qas", list)
            ):
                where = f"data[{a}].paragraphs[{p}].qas[{q}]"
                impossible = bool(qa.get("is_impossible", False)) if isinstance(qa, dict) else False
                v2 = v2 or impossible
                golds: list[str] = []
                if not impossible:
                    for n, gold in enumerate(_field(path, where, qa, "answers", list)):
                        gold_text = _field(path, f"{where}.answers[{n}]", gold, "text", str)
                        if gold_text not in golds:
                            golds.append(gold_text)
                    if not golds:
                        raise QuestionSetError(
                            f"{path}, {where}: no answers and not 'is_impossible'; "
                            "give its answers or mark it is_impossible (SQuAD v2.0)"
                        )
                qid = _field(path, where, qa, "id", str)
                question = _field(path, where, qa, "question", str)
                items.append((Question(qid, question.strip(), tuple(golds), title), where))
    return ("squad-v2.0" if v2 else "squad-v1.1"), items


def _field(path: Path, where: str, obj: object, key: str, kind: type) -> Any:
    value = obj.get(key) if isinstance(obj, dict) else None
    if not isinstance(value, kind) or (isinstance(value, str) and not value.strip()):
        raise QuestionSetError(
            f"{path}, {where}: missing or bad {key!r} (expected {kind.__name__}); "
            "the file does not follow the SQuAD layout"
        )
    return value
