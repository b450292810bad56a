"""Question sets: every file format, the errors a user can meet, and the shipped default set."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from qa.corpus import load_corpus
from qa.errors import QuestionSetError
from qa.questions import Question, load_questions, read_question_set

REPO = Path(__file__).parents[1]
SQUAD = REPO.parent / "shared" / "data" / "squad"
needs_squad = pytest.mark.skipif(not SQUAD.is_dir(), reason=f"no SQuAD data at {SQUAD}")


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


# --- Question -----------------------------------------------------------------------------------


def test_question_answerable_and_answers_kept_as_tuple() -> None:
    question = Question("q1", "Who?", ["Ann", "Ann Lee"])  # type: ignore[arg-type]
    assert question.answers == ("Ann", "Ann Lee")
    assert question.answerable
    assert not Question("q2", "Who?").answerable


def test_question_is_frozen() -> None:
    question = Question("q1", "Who?", ("Ann",))
    with pytest.raises(AttributeError):
        question.id = "q2"  # type: ignore[misc]


def test_question_rejects_empty_text() -> None:
    with pytest.raises(ValueError, match="empty question text"):
        Question("q1", "   ")


# --- JSONL --------------------------------------------------------------------------------------


def test_jsonl(tmp_path: Path) -> None:
    path = write(
        tmp_path / "set.jsonl",
        '{"id": "a", "question": "How much?", "answers": ["RM10 million", "RM10m"]}\n'
        "\n"
        '{"question": " Who heads it? ", "answers": [], "doc_id": "article"}\n'
        '{"id": 7, "question": "When?", "answers": ["2024"], "extra": "ignored"}\n',
    )
    assert load_questions(path) == [
        Question("a", "How much?", ("RM10 million", "RM10m")),
        Question("set:3", "Who heads it?", (), "article"),
        Question("7", "When?", ("2024",)),
    ]
    assert read_question_set(path).format == "jsonl"


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ('{"question": "Q?", "answers": ["x"]', r"set\.jsonl, line 2: not valid JSON"),
        ('["Q?", ["x"]]', r"line 2: expected a JSON object, got list"),
        ('{"answers": ["x"]}', r"line 2: 'question' is missing or empty"),
        ('{"question": "  ", "answers": ["x"]}', r"line 2: 'question' is missing or empty"),
        ('{"question": "Q?"}', r"line 2: 'answers' is missing; .* or \[\] for a question"),
        ('{"question": "Q?", "answers": "x"}', r"line 2: 'answers' must be a list of strings"),
        ('{"question": "Q?", "answers": [1]}', r"line 2: 'answers' must be a list of strings"),
        ('{"question": "Q?", "answers": [" "]}', r"line 2: 'answers' holds an empty string"),
        ('{"question": "Q?", "answers": [], "id": [1]}', r"line 2: 'id' must be a string"),
        ('{"question": "Q?", "answers": [], "doc_id": 3}', r"line 2: 'doc_id' must be a string"),
        (
            '{"id": "a", "question": "Q?", "answers": []}',
            r"line 2: id 'a' is already used at line 1",
        ),
    ],
)
def test_jsonl_errors_name_file_line_and_fix(tmp_path: Path, line: str, message: str) -> None:
    path = write(tmp_path / "set.jsonl", '{"id": "a", "question": "Q?", "answers": []}\n' + line)
    with pytest.raises(QuestionSetError, match=message):
        load_questions(path)


@given(
    st.lists(
        st.tuples(
            st.text(min_size=1).filter(str.strip).map(str.strip),
            st.lists(st.text(min_size=1).filter(str.strip), max_size=3),
            st.none() | st.text(),
        ),
        min_size=1,
        max_size=5,
    )
)
@settings(max_examples=50, deadline=None)
def test_jsonl_round_trip(rows: list[tuple[str, list[str], str | None]]) -> None:
    import tempfile

    questions = [Question(f"q{i}", q, tuple(a), d) for i, (q, a, d) in enumerate(rows)]
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "set.jsonl"
        with path.open("w", encoding="utf-8") as handle:
            for q in questions:
                record = {"id": q.id, "question": q.question, "answers": list(q.answers)}
                handle.write(json.dumps({**record, "doc_id": q.doc_id}) + "\n")
        assert load_questions(path) == questions


# --- CSV ----------------------------------------------------------------------------------------


def test_csv(tmp_path: Path) -> None:
    path = tmp_path / "set.csv"
    # Excel writes a byte-order mark; a quoted cell may hold commas and line breaks.
    path.write_text(
        "\ufeffid,question,answers,doc_id\n"
        "a,How much?,RM10 million | RM10m,\n"
        ',"Who heads it, then?",,article\n'
        'c,"Two\nlines?",yes,\n',
        encoding="utf-8",
    )
    assert load_questions(path) == [
        Question("a", "How much?", ("RM10 million", "RM10m")),
        Question("set:3", "Who heads it, then?", (), "article"),
        Question("c", "Two\nlines?", ("yes",)),
    ]
    assert read_question_set(path).format == "csv"


def test_csv_without_optional_columns(tmp_path: Path) -> None:
    path = write(tmp_path / "set.csv", "question,answers\nWhen?,2024\n")
    assert load_questions(path) == [Question("set:2", "When?", ("2024",))]


def test_csv_missing_column(tmp_path: Path) -> None:
    path = write(tmp_path / "set.csv", "id,question,answer\na,When?,2024\n")
    with pytest.raises(QuestionSetError, match=r"line 1: the header has no 'answers' column"):
        load_questions(path)


def test_csv_too_many_cells(tmp_path: Path) -> None:
    path = write(tmp_path / "set.csv", "question,answers\nWhen?,2024\nWhere, then?,Paris\n")
    with pytest.raises(QuestionSetError, match=r"line 3: more cells than header columns"):
        load_questions(path)


def test_csv_empty_question(tmp_path: Path) -> None:
    path = write(tmp_path / "set.csv", "question,answers\n,2024\n")
    with pytest.raises(QuestionSetError, match=r"set\.csv, line 2: 'question' is missing"):
        load_questions(path)


@given(
    st.lists(
        st.tuples(
            st.text(st.characters(blacklist_categories=["Cs", "Cc"]), min_size=1)
            .filter(str.strip)
            .map(str.strip),
            st.lists(
                st.text(st.characters(blacklist_categories=["Cs", "Cc"]), min_size=1)
                .map(str.strip)
                .filter(lambda a: a and "|" not in a),
                max_size=3,
            ),
        ),
        min_size=1,
        max_size=5,
    )
)
@settings(max_examples=50, deadline=None)
def test_csv_round_trip(rows: list[tuple[str, list[str]]]) -> None:
    import tempfile

    questions = [Question(f"q{i}", q, tuple(a)) for i, (q, a) in enumerate(rows)]
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "set.csv"
        with path.open("w", encoding="utf-8", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(["id", "question", "answers"])
            writer.writerows([q.id, q.question, "|".join(q.answers)] for q in questions)
        assert load_questions(path) == questions


# --- SQuAD --------------------------------------------------------------------------------------


def squad(version: str, qas: list[dict[str, object]]) -> str:
    paragraph = {"context": "Normandy is in France.", "qas": qas}
    return json.dumps(
        {"version": version, "data": [{"title": "Normans", "paragraphs": [paragraph]}]}
    )


def test_squad_v1(tmp_path: Path) -> None:
    gold = {"text": "France", "answer_start": 15}
    path = write(
        tmp_path / "dev.json",
        squad(
            "1.1",
            [
                {"id": "x1", "question": "Where is Normandy?", "answers": [gold, gold]},
                {
                    "id": "x2",
                    "question": "Where? ",
                    "answers": [gold, {"text": "in France", "answer_start": 12}],
                },
            ],
        ),
    )
    question_set = read_question_set(path)
    assert question_set.format == "squad-v1.1"
    assert list(question_set.questions) == [
        Question("x1", "Where is Normandy?", ("France",), "Normans"),
        Question("x2", "Where?", ("France", "in France"), "Normans"),
    ]


def test_squad_v2(tmp_path: Path) -> None:
    path = write(
        tmp_path / "dev.json",
        squad(
            "v2.0",
            [
                {
                    "id": "x1",
                    "question": "Where is Normandy?",
                    "answers": [{"text": "France", "answer_start": 15}],
                    "is_impossible": False,
                },
                {"id": "x2", "question": "Where is Gondor?", "answers": [], "is_impossible": True},
            ],
        ),
    )
    question_set = read_question_set(path)
    assert question_set.format == "squad-v2.0"
    assert list(question_set.questions) == [
        Question("x1", "Where is Normandy?", ("France",), "Normans"),
        Question("x2", "Where is Gondor?", (), "Normans"),
    ]


def test_squad_v2_recognised_by_is_impossible_without_version(tmp_path: Path) -> None:
    qas = [{"id": "x2", "question": "Where is Gondor?", "answers": [], "is_impossible": True}]
    path = write(tmp_path / "dev.json", squad("", qas))
    assert read_question_set(path).format == "squad-v2.0"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('{"data": [', r"dev\.json, line 1: not valid JSON"),
        ('{"questions": []}', r"not a SQuAD file \(no top-level 'data' list\)"),
        ('{"data": [{"paragraphs": []}]}', r"data\[0\]: missing or bad 'title'"),
        (
            squad("1.1", [{"id": "x1", "answers": [{"text": "France"}]}]),
            r"data\[0\]\.paragraphs\[0\]\.qas\[0\]: missing or bad 'question'",
        ),
        (
            squad("1.1", [{"id": "x1", "question": "Where?", "answers": []}]),
            r"qas\[0\]: no answers and not 'is_impossible'",
        ),
        ('{"data": []}', r"holds no questions"),
    ],
)
def test_squad_errors(tmp_path: Path, text: str, message: str) -> None:
    path = write(tmp_path / "dev.json", text)
    with pytest.raises(QuestionSetError, match=message):
        load_questions(path)


# --- errors common to all formats ---------------------------------------------------------------


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(QuestionSetError, match=r"missing\.jsonl does not exist; pass the path"):
        load_questions(tmp_path / "missing.jsonl")


def test_folder_instead_of_file(tmp_path: Path) -> None:
    with pytest.raises(QuestionSetError, match=r"is a folder, not a file"):
        load_questions(tmp_path)


def test_unknown_extension(tmp_path: Path) -> None:
    path = write(tmp_path / "set.txt", "How much?\n")
    with pytest.raises(QuestionSetError, match=r"extension '\.txt'; name it \.jsonl, \.csv or"):
        load_questions(path)


@pytest.mark.parametrize("name", ["set.jsonl", "set.csv"])
def test_empty_file(tmp_path: Path, name: str) -> None:
    path = write(tmp_path / name, "question,answers\n" if name.endswith(".csv") else "\n\n")
    with pytest.raises(QuestionSetError, match=r"holds no questions; add at least one"):
        load_questions(path)


def test_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "set.jsonl"
    path.write_bytes('{"question": "Caf\u00e9?", "answers": []}\n'.encode("latin-1"))
    with pytest.raises(QuestionSetError, match=r"is not UTF-8 text .*; save it as UTF-8"):
        load_questions(path)


# --- the shipped question set -------------------------------------------------------------------


def test_default_question_set_is_answerable_from_the_default_corpus() -> None:
    questions = load_questions(REPO / "questions" / "default.jsonl")
    assert len(questions) >= 40
    assert sum(not q.answerable for q in questions) >= 8
    assert [q.id for q in questions] == [f"default-{i:02d}" for i in range(1, len(questions) + 1)]
    # Every gold is a verbatim part of the text the index holds (front matter excluded).
    corpus = " ".join(" ".join(doc.text.split()) for doc in load_corpus(REPO / "corpus"))
    assert "Malaysia" in corpus, "the default article is missing from corpus/"
    missing = [(q.id, a) for q in questions for a in q.answers if a not in corpus]
    assert missing == []


# --- the real SQuAD files -----------------------------------------------------------------------


@needs_squad
def test_squad_dev_v2_counts() -> None:
    question_set = read_question_set(SQUAD / "dev-v2.0.json")
    assert question_set.format == "squad-v2.0"
    assert len(question_set.questions) == 11873
    assert sum(not q.answerable for q in question_set.questions) == 5945


@needs_squad
def test_squad_dev_v1_counts() -> None:
    question_set = read_question_set(SQUAD / "dev-v1.1.json")
    assert question_set.format == "squad-v1.1"
    assert len(question_set.questions) == 10570
    assert all(q.answerable for q in question_set.questions)
    # Golds repeat across annotators; each is kept once, in order.
    assert all(len(set(q.answers)) == len(q.answers) for q in question_set.questions)
    assert question_set.questions[0].doc_id == "Super_Bowl_50"
