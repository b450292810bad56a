"""Evaluation: the report (files, table, dataframe), ``qa.evaluate`` with a scripted index and on a
real index, and ``qa eval`` end to end. The metrics themselves are in test_metrics.py."""

from __future__ import annotations

import csv
import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from eval_rows import MIXED, SENTENCE, answer, row

import qa
from qa.evaluate import (
    EvalReport,
    compute_metrics,
    contains_answer,
    evaluate,
    first_relevant_rank,
    format_metric,
    max_over_golds,
)
from qa.questions import Question
from qa.types import Answer

REPO = Path(__file__).parents[1]
SQUAD = REPO.parent / "shared" / "data" / "squad"
needs_squad = pytest.mark.skipif(not SQUAD.is_dir(), reason=f"no SQuAD data at {SQUAD}")


# --- the report object --------------------------------------------------------------------------


def make_report() -> EvalReport:
    return EvalReport(
        metrics=compute_metrics(MIXED, k=5),
        questions=list(MIXED),
        index={"model": "bundled", "chunks": 3},
        settings={"k": 5, "mode": None, "min_score": None},
    )


def test_failures() -> None:
    assert [r.id for r in make_report().failures()] == ["a3", "a4", "u2"]


def test_json_round_trip(tmp_path: Path) -> None:
    report = make_report()
    path = report.write_json(tmp_path / "out" / "report.json")
    data = json.loads(path.read_text(encoding="utf-8"))
    assert list(data) == ["metrics", "settings", "questions", "index"]
    assert data["metrics"]["abstain_recall"] == 0.5
    assert data["index"] == {"model": "bundled", "chunks": 3}
    assert data["questions"][4] == {
        "id": "u1",
        "question": "u1?",
        "golds": [],
        "answerable": False,
        "answer": None,
        "span": None,
        "abstained": True,
        "correct": True,
        "exact_match": None,
        "f1": None,
        "rank": None,
        "score": 0.5,
        "latency_ms": 50.0,
        "doc_id": None,
        "answer_doc_id": None,
    }
    assert EvalReport.read_json(path) == report


def test_null_metric_in_json(tmp_path: Path) -> None:
    report = EvalReport(metrics=compute_metrics(MIXED[:3], k=5), questions=list(MIXED[:3]))
    text = report.write_json(tmp_path / "report.json").read_text(encoding="utf-8")
    assert '"abstain_recall": null' in text


def test_write_csv(tmp_path: Path) -> None:
    report = EvalReport(
        metrics={},
        questions=[row("a1", golds=("RM10 million", "RM10m"), span="RM10 million", latency=2.5)],
    )
    with report.write_csv(tmp_path / "rows.csv").open(encoding="utf-8", newline="") as handle:
        rows = list(csv.reader(handle))
    assert rows == [
        [
            "id",
            "question",
            "golds",
            "answerable",
            "answer",
            "span",
            "abstained",
            "correct",
            "exact_match",
            "f1",
            "rank",
            "score",
            "latency_ms",
            "doc_id",
            "answer_doc_id",
        ],
        [
            "a1",
            "a1?",
            "RM10 million|RM10m",
            "True",
            "The answer RM10 million.",
            "RM10 million",
            "False",
            "True",
            "1",
            "1.0",
            "1",
            "0.5",
            "2.5",
            "",
            "",
        ],
    ]


def test_summary_table() -> None:
    report = EvalReport(metrics=compute_metrics(MIXED[:3], k=5), questions=list(MIXED[:3]))
    lines = report.summary_table().splitlines()
    assert lines[0].split() == ["metric", "value"]
    table = dict(line.split() for line in lines[2:])
    assert table == {
        "answer_accuracy": "0.667",
        "exact_match": "0.333",
        "f1": "0.583",
        "hit@1": "0.333",
        "hit@5": "0.667",
        "mrr": "0.444",
        "abstain_precision": "n/a",
        "abstain_recall": "n/a",
        "n": "3",
        "n_answerable": "3",
        "n_unanswerable": "0",
        "latency_ms_p50": "20.0",
        "latency_ms_p95": "29.0",
    }


def test_repr() -> None:
    assert repr(make_report()) == (
        "<EvalReport n=6 (4 answerable, 2 unanswerable), k=5: answer_accuracy=0.500, "
        "exact_match=0.250, f1=0.438, hit@5=0.750, mrr=0.458, abstain_recall=0.500; 3 failures>"
    )


def test_the_notebook_display_is_the_metrics_table() -> None:
    report = make_report()
    shown = report._repr_html_()
    assert shown.startswith('<div class="qa-result"><style>')
    assert f"{len(report.failures())} failures" in shown
    for name, value in report.metrics.items():
        assert f'<td>{name}</td><td class="qa-num">{format_metric(name, value)}</td>' in shown


def test_to_dataframe() -> None:
    frame = make_report().to_dataframe()
    assert list(frame["id"]) == ["a1", "a2", "a3", "a4", "u1", "u2"]
    assert frame.loc[4, "golds"] == []
    assert list(frame.columns)[:3] == ["id", "question", "golds"]


def test_to_dataframe_without_pandas(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "pandas", None)
    with pytest.raises(ImportError, match=r"needs pandas.*pip install pandas"):
        make_report().to_dataframe()


# --- evaluate() with a scripted index: batching, settings, argument checks ----------------------


class ScriptedIndex:
    """Answers from a table; a stand-in for ``qa.Index`` that keeps these unit tests instant."""

    def __init__(self, answers: dict[str, Answer]) -> None:
        self.manifest = {"model": "scripted", "chunks": 2}
        self.reader = "scripted"
        self.answers = answers
        self.calls: list[tuple[str, dict[str, Any]]] = []

    def ask(self, question: str, k: int = 5, **options: Any) -> Answer:
        self.calls.append((question, {"k": k, **options}))
        return self.answers[question]


QUESTIONS = [
    Question("q1", "How much?", ("RM10 million",)),
    Question("q2", "Who heads it?", ()),
    Question("q3", "When?", ("2025",)),
]


def scripted() -> ScriptedIndex:
    return ScriptedIndex(
        {
            "How much?": answer(SENTENCE),
            "Who heads it?": answer(None),
            "When?": answer("The office opened in December 2024."),
        }
    )


def test_evaluate_asks_each_question_and_records_settings() -> None:
    index = scripted()
    report = evaluate(QUESTIONS, index=index, k=3, mode="keyword", min_score=0.2)  # type: ignore[arg-type]
    options = {"k": 3, "mode": "keyword", "min_score": 0.2}
    assert index.calls == [
        ("How much?", options),  # the untimed warm-up
        ("How much?", options),
        ("Who heads it?", options),
        ("When?", options),
    ]
    assert [r.correct for r in report.questions] == [True, True, False]
    assert report.index == {"model": "scripted", "chunks": 2}
    assert report.settings == {
        "k": 3,
        "reader": "scripted",
        "mode": "keyword",
        "min_score": 0.2,
        "latency": "wall time of Index.ask for the question alone, after one untimed warm-up "
        "question",
    }
    assert report.metrics["answer_accuracy"] == 0.5
    assert report.metrics["hit@3"] == 0.5
    assert "squad_v2_exact" not in report.metrics


class Clock:
    """A fake ``perf_counter``: time moves only when the scripted index says a question took
    so many milliseconds."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_each_rows_latency_is_the_time_of_its_own_question(monkeypatch: pytest.MonkeyPatch) -> None:
    clock = Clock()
    # ``qa.evaluate`` names the function; the module is in sys.modules.
    monkeypatch.setattr(sys.modules["qa.evaluate"], "perf_counter", clock)
    took_ms = {"How much?": 5.0, "Who heads it?": 40.0, "When?": 12.0}

    class TimedIndex(ScriptedIndex):
        def ask(self, question: str, k: int = 5, **options: Any) -> Answer:
            clock.now += took_ms[question] / 1000
            return super().ask(question, k, **options)

    report = evaluate(QUESTIONS, index=TimedIndex(scripted().answers))  # type: ignore[arg-type]
    latencies = [row.latency_ms for row in report.questions]
    assert latencies == pytest.approx([5.0, 40.0, 12.0])  # the warm-up is not counted
    assert report.metrics["latency_ms_p50"] == pytest.approx(12.0)
    assert report.metrics["latency_ms_p95"] == pytest.approx(37.2)


def test_evaluate_reads_a_path_and_detects_squad_v2(tmp_path: Path) -> None:
    qas = [
        {
            "id": "q1",
            "question": "How much?",
            "answers": [{"text": "RM10 million", "answer_start": 0}],
        },
        {"id": "q2", "question": "Who heads it?", "answers": [], "is_impossible": True},
    ]
    path = tmp_path / "dev.json"
    paragraph = {"context": SENTENCE, "qas": qas}
    data = {"version": "v2.0", "data": [{"title": "NAIO", "paragraphs": [paragraph]}]}
    path.write_text(json.dumps(data), encoding="utf-8")
    report = evaluate(path, index=scripted())  # type: ignore[arg-type]
    assert report.settings["questions"] == str(path)
    assert report.settings["format"] == "squad-v2.0"
    assert report.questions[0].doc_id == "NAIO"
    # q1: sentence without span, EM 0, F1 2/9 ... q2: abstained, scores 1.
    f1 = max_over_golds(SENTENCE, ["RM10 million"])[1]
    assert report.metrics["squad_v2_exact"] == 0.5
    assert report.metrics["squad_v2_f1"] == pytest.approx((f1 + 1) / 2)
    assert "squad_v2_exact" not in evaluate(path, index=scripted(), squad_v2=False).metrics  # type: ignore[arg-type]


def test_evaluate_keeps_the_questions_of_one_split(tmp_path: Path) -> None:
    def article(title: str, question: str) -> dict[str, Any]:
        qa = {"id": title, "question": question, "answers": [], "is_impossible": True}
        return {"title": title, "paragraphs": [{"context": SENTENCE, "qas": [qa]}]}

    path = tmp_path / "dev.json"
    data = [article("NAIO", "Who heads it?"), article("Other", "How much?")]
    path.write_text(json.dumps({"version": "v2.0", "data": data}), encoding="utf-8")
    (tmp_path / "splits.json").write_text(json.dumps({"tune": ["Other"], "test": ["NAIO"]}))
    index = scripted()
    report = evaluate(path, index=index, split="test")  # type: ignore[arg-type]
    assert [row.id for row in report.questions] == ["NAIO"]
    assert report.settings["split"] == "test"
    assert index.calls[-1][0] == "Who heads it?"
    with pytest.raises(qa.QuestionSetError, match="no split 'dev'; choose one of test, tune"):
        evaluate(path, index=index, split="dev")  # type: ignore[arg-type]
    with pytest.raises(qa.QuestionSetError, match="Could not read the splits file"):
        evaluate(path, index=index, split="test", splits=tmp_path / "none.json")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"k": 0}, ValueError, r"k must be a positive integer, got 0"),
        ({"k": 2.5}, ValueError, r"k must be a positive integer, got 2\.5"),
    ],
)
def test_evaluate_bad_arguments(
    kwargs: dict[str, Any], error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=message):
        evaluate(QUESTIONS, index=scripted(), **kwargs)  # type: ignore[arg-type]


def test_evaluate_rejects_empty_and_foreign_questions() -> None:
    with pytest.raises(ValueError, match="questions is empty"):
        evaluate([], index=scripted())  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"got an item of type str; build them with load_questions"):
        evaluate(["How much?"], index=scripted())  # type: ignore[arg-type,list-item]


def test_evaluate_missing_question_file(tmp_path: Path) -> None:
    with pytest.raises(qa.QuestionSetError, match="does not exist"):
        evaluate(tmp_path / "nope.jsonl", index=scripted())  # type: ignore[arg-type]


def test_qa_evaluate_stays_the_function_after_importing_the_module() -> None:
    # ``qa.evaluate`` is both a function and a submodule name: importing the submodule late
    # must not replace the function on the package.
    code = (
        "import qa; from qa.evaluate import EvalReport; import qa.evaluate; "
        "assert callable(qa.evaluate), qa.evaluate; assert qa.EvalReport is EvalReport"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


# --- the real path: bundled model, real FAISS index ---------------------------------------------

CORPUS = {
    "fruit.txt": (
        "The zorblax fruit is bright purple and tastes of pepper. "
        "It grows only on the island of Quenmore. "
        "Farmers harvest it every October."
    ),
    "bridge.txt": (
        "The Harrowgate Bridge was opened in 1887. "
        "It is 412 metres long and crosses the river Tamsel. "
        "It was designed by the engineer Miriam Okafor."
    ),
    "choir.txt": (
        "The Velden Choir has 64 singers. "
        "It was founded by the organist Piet Halvers. "
        "The choir sings every Sunday in the old cathedral."
    ),
}

REAL_QUESTIONS: list[dict[str, Any]] = [
    {
        "id": "r1",
        "question": "What colour is the zorblax fruit?",
        "answers": ["bright purple", "purple"],
    },
    {"id": "r2", "question": "How long is the Harrowgate Bridge?", "answers": ["412 metres"]},
    {"id": "r3", "question": "Who founded the Velden Choir?", "answers": ["Piet Halvers"]},
    {"id": "r4", "question": "When was the Harrowgate Bridge opened?", "answers": ["1887"]},
    {"id": "r5", "question": "Who designed the bridge?", "answers": ["Miriam Okafor"]},
    {"id": "r6", "question": "What is the capital of Peru?", "answers": []},
]


@pytest.fixture(scope="session")
def real_index(tmp_path_factory: pytest.TempPathFactory) -> tuple[qa.Index, Path]:
    root = tmp_path_factory.mktemp("eval")
    corpus = root / "corpus"
    corpus.mkdir()
    for name, text in CORPUS.items():
        (corpus / name).write_text(text + "\n", encoding="utf-8")
    index_dir = root / "index"
    return qa.build_index(corpus, index_dir, show_progress=False), index_dir


@pytest.fixture()
def question_file(tmp_path: Path) -> Path:
    path = tmp_path / "questions.jsonl"
    path.write_text("".join(json.dumps(q) + "\n" for q in REAL_QUESTIONS), encoding="utf-8")
    return path


def test_evaluate_on_a_real_index(real_index: tuple[qa.Index, Path], question_file: Path) -> None:
    index, _ = real_index
    report = evaluate(question_file, index=index, k=3)
    assert isinstance(report, EvalReport)
    assert list(report.metrics) == [
        "answer_accuracy",
        "exact_match",
        "f1",
        "hit@1",
        "hit@3",
        "mrr",
        "abstain_precision",
        "abstain_recall",
        "n",
        "n_answerable",
        "n_unanswerable",
        "latency_ms_p50",
        "latency_ms_p95",
    ]
    assert (
        report.metrics["n"],
        report.metrics["n_answerable"],
        report.metrics["n_unanswerable"],
    ) == (
        6,
        5,
        1,
    )
    assert report.index == index.manifest
    assert report.settings["format"] == "jsonl"
    # Each row's latency is its own question's timing: six questions, six figures.
    assert len({r.latency_ms for r in report.questions}) == 6
    assert all(r.latency_ms > 0 for r in report.questions)
    # Each row agrees with what the index answers and retrieves for that question alone.
    for result in report.questions:
        single = index.ask(result.question, k=3)
        assert (result.abstained, result.answer) == (single.abstained, single.text)
        if result.answerable:
            assert result.correct == (
                not single.abstained and contains_answer(single.text or "", result.golds)
            )
            assert result.rank == first_relevant_rank(
                index.retrieve(result.question, k=3), result.golds
            )
        else:
            assert result.correct == single.abstained
    # One passage per document, three topics: the right one comes first for every question.
    assert [r.rank for r in report.questions] == [1, 1, 1, 1, 1, None]
    assert (report.metrics["hit@1"], report.metrics["hit@3"], report.metrics["mrr"]) == (
        1.0,
        1.0,
        1.0,
    )
    # The fact sits in the answer sentence itself: these two are answered right.
    assert [r.correct for r in report.questions if r.id in ("r1", "r4")] == [True, True]
    accuracy = sum(r.correct for r in report.questions if r.answerable) / 5
    assert report.metrics["answer_accuracy"] == pytest.approx(accuracy)


def test_evaluate_on_a_real_index_passes_the_mode(real_index: tuple[qa.Index, Path]) -> None:
    index, _ = real_index
    questions = [Question(q["id"], q["question"], tuple(q["answers"])) for q in REAL_QUESTIONS]
    texts = [q.question for q in questions]
    for mode in ("dense", "keyword", "hybrid"):
        report = evaluate(questions, index=index, k=2, mode=mode)
        assert report.settings["mode"] == mode
        expected = index.ask_many(texts, k=2, mode=mode)
        assert [r.answer for r in report.questions] == [a.text for a in expected]
        assert [r.rank for r in report.questions] == [
            first_relevant_rank(a.citations, q.answers) if q.answerable else None
            for q, a in zip(questions, expected, strict=True)
        ]


def test_evaluate_defaults_to_the_default_index_and_ships_a_question_set() -> None:
    report = qa.evaluate(REPO / "questions" / "default.jsonl")
    assert report.metrics["n"] == 54
    assert report.metrics["n_unanswerable"] == 11
    assert report.index == qa.load_index().manifest
    assert all(r.rank is None or 1 <= r.rank <= 5 for r in report.questions)


def test_cli_eval_end_to_end(
    real_index: tuple[qa.Index, Path], question_file: Path, tmp_path: Path
) -> None:
    _, index_dir = real_index
    report_path, rows_path = tmp_path / "report.json", tmp_path / "rows.csv"
    command = [sys.executable, "-m", "qa", "eval", str(question_file), "--index", str(index_dir)]
    command += ["--k", "3", "--output", str(report_path), "--csv", str(rows_path)]
    result = subprocess.run(command, capture_output=True, text=True, cwd=tmp_path, timeout=300)
    assert result.returncode == 0, result.stderr
    assert re.search(r"^hit@3\s+1\.000$", result.stdout, re.MULTILINE), result.stdout
    assert re.search(r"^n_unanswerable\s+1$", result.stdout, re.MULTILINE), result.stdout
    report = EvalReport.read_json(report_path)
    assert report.metrics["n"] == 6
    assert report.settings["k"] == 3
    assert report.index == qa.load_index(index_dir).manifest
    with rows_path.open(encoding="utf-8", newline="") as handle:
        assert [r["id"] for r in csv.DictReader(handle)] == [q["id"] for q in REAL_QUESTIONS]


def test_cli_eval_bad_question_file(real_index: tuple[qa.Index, Path], tmp_path: Path) -> None:
    _, index_dir = real_index
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"question": "Q?"}\n', encoding="utf-8")
    command = [sys.executable, "-m", "qa", "eval", str(bad), "--index", str(index_dir)]
    result = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert result.returncode != 0
    assert "bad.jsonl, line 1: 'answers' is missing" in result.stderr
    assert "Traceback" not in result.stderr


@needs_squad
def test_evaluate_squad_v2_sample_on_a_real_index(tmp_path: Path) -> None:
    data = json.loads((SQUAD / "dev-v2.0.json").read_text(encoding="utf-8"))
    article = data["data"][0]
    paragraphs: list[dict[str, Any]] = article["paragraphs"][:3]
    sample = {"version": "v2.0", "data": [{**article, "paragraphs": paragraphs}]}
    questions = tmp_path / "sample.json"
    questions.write_text(json.dumps(sample), encoding="utf-8")
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    text = "\n\n".join(p["context"] for p in paragraphs)
    (corpus / "normans.txt").write_text(text + "\n", encoding="utf-8")
    index = qa.build_index(corpus, tmp_path / "index", show_progress=False)

    report = evaluate(questions, index=index, k=3)
    n = sum(len(p["qas"]) for p in paragraphs)
    assert report.metrics["n"] == n
    assert report.settings["format"] == "squad-v2.0"
    expected = [
        float(r.exact_match or 0) if r.answerable else float(r.abstained) for r in report.questions
    ]
    assert report.metrics["squad_v2_exact"] == pytest.approx(sum(expected) / n)
    assert report.metrics["squad_v2_f1"] is not None
