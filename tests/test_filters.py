"""Metadata filters (``where=``) on real indexes: FAISS and Milvus Lite, the same passages."""

from __future__ import annotations

import shutil
from pathlib import Path

import faiss
import numpy as np
import pytest
from conftest import write_corpus

import qa
from qa import filters, retrieval

PROJECT = Path(__file__).resolve().parent.parent
ARTICLE = "malaysia-national-ai-office.md"


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The small corpus of every format, and the default article (many chunks)."""
    folder = write_corpus(tmp_path_factory.mktemp("filter-corpus"))
    shutil.copy(PROJECT / "corpus" / ARTICLE, folder / ARTICLE)
    return folder


@pytest.fixture(scope="module")
def faiss_index(corpus: Path, tmp_path_factory: pytest.TempPathFactory) -> qa.Index:
    return qa.build_index(corpus, tmp_path_factory.mktemp("faiss"), show_progress=False)


def _spans(passages: list[qa.Passage]) -> list[tuple[str, int, int]]:
    return [(p.doc_id, p.start, p.end) for p in passages]


CASES = [
    ({"path": "animals.jsonl"}, {"bees-1", "owls-1"}),
    ({"id": ["coffee.md", "tides.html"]}, {"coffee.md", "tides.html"}),
    ({"doc_id": "volcanoes.txt"}, {"volcanoes.txt"}),
    ({"title": "A Short History of Coffee"}, {"coffee.md"}),
    ({"topic": "insects"}, {"bees-1"}),
    ({"author": "Ana Ruiz", "path": ["coffee.md", "animals.jsonl"]}, {"coffee.md"}),
]


@pytest.mark.parametrize(("where", "allowed"), CASES)
@pytest.mark.parametrize("mode", ["hybrid", "dense", "keyword"])
def test_only_the_matching_documents_come_back(
    faiss_index: qa.Index, where: dict[str, object], allowed: set[str], mode: str
) -> None:
    unfiltered = {p.doc_id for p in faiss_index.retrieve("When did coffee reach Java?", 10)}
    assert unfiltered - allowed  # the filter has something to take away
    found = faiss_index.retrieve("When did coffee reach Java?", 10, mode=mode, where=where)
    assert {p.doc_id for p in found} <= allowed
    if "coffee.md" in allowed:  # the one document that shares the question's words
        assert "coffee.md" in {p.doc_id for p in found}
    if mode != "keyword":  # every allowed document has a vector; not every one shares a word
        assert {p.doc_id for p in found} == allowed


def test_k_passages_come_back_when_the_filter_allows_them(faiss_index: qa.Index) -> None:
    """Filtered before ranking: a question about coffee still gets five passages of the
    article about Malaysia, which a filter after ranking the whole corpus would not give."""
    where = {"path": ARTICLE}
    found = faiss_index.retrieve("When was coffee first brewed in Yemen?", 5, where=where)
    assert len(found) == 5
    assert {p.doc_id for p in found} == {ARTICLE}
    assert [p.rank for p in found] == [1, 2, 3, 4, 5]
    top = faiss_index.retrieve("When was coffee first brewed in Yemen?", 5)
    assert sum(p.doc_id == ARTICLE for p in top) < 5


def test_ask_answers_from_the_filtered_documents(faiss_index: qa.Index) -> None:
    answer = qa.ask("When was coffee first brewed?", index=faiss_index, min_score=0.0,
                    where={"path": ARTICLE})  # fmt: skip
    assert answer.doc_id == ARTICLE  # the best sentence there, however poor
    assert qa.ask("When was coffee first brewed?", index=faiss_index).doc_id == "coffee.md"
    assert all(p.doc_id == ARTICLE for p in answer.citations)
    other = faiss_index.ask("Which ministry houses the national AI office?", where={"topic": "x"})
    assert other.abstained and other.citations == []
    assert qa.retrieve("coffee", index=faiss_index, where={"topic": "insects"})[0].doc_id == (
        "bees-1"
    )


def test_an_unknown_field_names_the_known_ones(faiss_index: qa.Index) -> None:
    with pytest.raises(ValueError, match="Unknown filter field colour") as error:
        faiss_index.retrieve("coffee", where={"colour": "red"})
    for field in ("id", "title", "path", "author", "topic", "category"):
        assert field in str(error.value)
    assert faiss_index.fields()[:4] == ["id", "doc_id", "title", "path"]
    with pytest.raises(ValueError, match="string, number or bool"):
        faiss_index.retrieve("coffee", where={"topic": {"$ne": "x"}})
    with pytest.raises(TypeError, match="dict of field"):
        faiss_index.retrieve("coffee", where=[("topic", "x")])  # type: ignore[arg-type]


def test_matching_rules() -> None:
    docs = [
        qa.Document("a", "A", "x", metadata={"tags": ["red", "blue"], "n": 1, "ok": True}),
        qa.Document("b", "B", "y", metadata={"n": 2, "ok": 1}),
        qa.Document("c", "C", "z", source="set.jsonl:3"),
    ]
    chunks = np.asarray([[0, 0, 1], [0, 1, 1], [1, 0, 1], [2, 0, 1]])

    def ids(where: dict[str, object]) -> tuple[str, ...]:
        return filters.compile_filter(where, docs, chunks).doc_ids

    assert ids({"tags": "blue"}) == ("a",)  # a list matches any of its items
    assert ids({"n": [2, 3]}) == ("b",)
    assert ids({"ok": True}) == ("a",)  # True is not 1
    assert ids({"path": "set.jsonl"}) == ("c",)
    assert ids({"tags": "red", "n": 2}) == ()
    allowed = filters.compile_filter({"id": "a"}, docs, chunks)
    assert allowed.chunks.tolist() == [True, True, False, False] and allowed.count == 2


def test_a_filter_on_hnsw_gives_k_allowed_rows_and_narrow_ones_exactly() -> None:
    """The approximate index large corpora get: a filter looks wider through the graph the
    fewer rows it allows, and falls back to an exact search among them when the graph walk
    finds fewer than k; a narrow filter so gives the exact best k."""
    rng = np.random.default_rng(0)
    vectors = rng.standard_normal((3000, 32)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    hnsw = faiss.IndexHNSWFlat(32, 32, faiss.METRIC_INNER_PRODUCT)
    hnsw.add(vectors)
    hnsw.hnsw.efSearch = 128
    queries = vectors[:20] + 0.1
    for share, wanted_recall in ((0.001, 1.0), (0.01, 1.0), (0.5, 0.9)):
        mask = rng.random(3000) < share
        rows = np.flatnonzero(mask)
        found = retrieval.dense_search(hnsw, queries, 5, filters.Allowed(mask, ()))
        hits = 0
        for query, result in zip(queries, found):
            got = [r for r, _ in result]
            assert len(got) == min(5, len(rows)) and mask[got].all()
            hits += len(set(got) & set(rows[np.argsort(-(vectors[rows] @ query))[:5]]))
        assert hits / (len(queries) * min(5, len(rows))) >= wanted_recall, share


def test_filters_give_the_same_passages_on_milvus(
    corpus: Path, faiss_index: qa.Index, tmp_path: Path
) -> None:
    pytest.importorskip("pymilvus")
    milvus_index = qa.build_index(corpus, tmp_path / "milvus", show_progress=False,
                                  store="milvus")  # fmt: skip
    questions = ["When did coffee reach Java?", "Which ministry houses the national AI office?"]
    for where, _ in [*CASES, ({"path": ARTICLE}, None)]:
        for mode in ("dense", "keyword", "hybrid"):
            for question in questions:
                expected = faiss_index.retrieve(question, 5, mode=mode, where=where)
                found = milvus_index.retrieve(question, 5, mode=mode, where=where)
                assert _spans(found) == _spans(expected), (where, mode, question)
    with pytest.raises(ValueError, match="Unknown filter field"):
        milvus_index.retrieve("coffee", where={"colour": "red"})
