"""Dense index types: exact for small corpora, HNSW over 8-bit codes with an exact re-rank for
large ones, chosen with index_type= or --index-type; the same answers either way."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

import qa
from qa import store
from qa.cli import main

PROJECT = Path(__file__).resolve().parent.parent
QUESTIONS = ("What causes tides?", "Who studied the eruption?", "When was coffee first brewed?")


def _top(index: qa.Index, question: str, mode: str = "dense") -> list[tuple[str, int, float]]:
    return [(p.doc_id, p.start, round(p.score, 5)) for p in index.retrieve(question, 5, mode=mode)]


def test_large_corpora_get_hnsw_over_8_bit_codes_and_the_same_passages(
    index: qa.Index, corpus_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(store, "HNSW_THRESHOLD", 1)  # the small corpus counts as large
    large = qa.build_index(corpus_dir, tmp_path, show_progress=False, incremental=False)
    assert large.manifest["faiss"] == {
        "type": "IndexHNSWSQ",
        "quantizer": "SQ8",
        "rerank": "vectors.npy",
        "M": store.HNSW_M,
        "efConstruction": store.HNSW_EF_CONSTRUCTION,
        "efSearch": store.HNSW_EF_SEARCH,
        "metric": "inner_product",
        "index_type": "auto",
    }
    assert large.search.faiss_index.hnsw.efSearch == store.HNSW_EF_SEARCH  # set again on load
    # The float32 vectors stay on disk, read as the re-rank needs them.
    assert isinstance(large.search.vectors, np.memmap)
    assert index.manifest["faiss"]["type"] == "IndexFlatIP"  # small corpora stay exact
    assert index.search.vectors is None
    for question in QUESTIONS:  # the re-rank's cosines are the exact ones
        assert _top(large, question) == _top(index, question)
        assert _top(large, question, "hybrid") == _top(index, question, "hybrid")
    filtered = large.retrieve("coffee", 3, where={"path": "coffee.md"}, mode="dense")
    assert [p.doc_id for p in filtered] == ["coffee.md"] * len(filtered) and filtered


@pytest.mark.parametrize(
    ("index_type", "faiss_type"),
    [("flat", "IndexFlatIP"), ("hnsw", "IndexHNSWFlat"), ("hnsw-sq8", "IndexHNSWSQ")],
)
def test_a_chosen_index_type_is_built_kept_and_answers_alike(
    index: qa.Index, corpus_dir: Path, tmp_path: Path, index_type: str, faiss_type: str
) -> None:
    built = qa.build_index(corpus_dir, tmp_path, show_progress=False, index_type=index_type)
    assert built.manifest["faiss"]["type"] == faiss_type
    assert built.manifest["faiss"]["index_type"] == index_type
    for question in QUESTIONS:
        assert _top(built, question) == _top(index, question)
    # A later build without index_type keeps the choice, and reuses every vector exactly.
    again = qa.build_index(corpus_dir, tmp_path, show_progress=False)
    assert again.manifest["faiss"]["type"] == faiss_type
    assert again.manifest["embedded"]["chunks"] == 0
    for question in QUESTIONS:
        assert _top(again, question) == _top(index, question)


def test_an_index_built_before_index_types_loads_and_answers_as_before(
    index: qa.Index, corpus_dir: Path, tmp_path: Path
) -> None:
    """A manifest of the earlier format: HNSW over float32, no "index_type" recorded."""
    old = qa.build_index(corpus_dir, tmp_path, show_progress=False, index_type="hnsw")
    path = old.generation / "manifest.json"
    data = json.loads(path.read_text())
    del data["faiss"]["index_type"]
    path.write_text(json.dumps(data))
    loaded = qa.load_index(tmp_path)
    assert loaded.manifest["faiss"]["type"] == "IndexHNSWFlat" and loaded.search.vectors is None
    for question in QUESTIONS:
        assert _top(loaded, question) == _top(index, question)
    # Rebuilt with the defaults, it takes the default choice: exact at this size.
    rebuilt = qa.build_index(corpus_dir, tmp_path, show_progress=False)
    assert rebuilt.manifest["faiss"]["type"] == "IndexFlatIP"


def test_an_unknown_index_type_names_the_valid_ones(
    corpus_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(ValueError, match="auto, flat, hnsw, hnsw-sq8; got 'ivf'"):
        qa.build_index(corpus_dir, tmp_path, index_type="ivf")
    assert not (tmp_path / "CURRENT").exists()
    with pytest.raises(SystemExit):
        main(["build", str(corpus_dir), "--index", str(tmp_path), "--index-type", "ivf"])
    error = capsys.readouterr().err.replace("'", "")  # argparse quotes choices since 3.12
    assert "invalid choice: ivf (choose from auto, flat, hnsw, hnsw-sq8)" in error
    assert main(["build", str(corpus_dir), "--index", str(tmp_path), "--index-type", "hnsw-sq8",
                 "--quiet"]) == 0  # fmt: skip
    assert qa.load_index(tmp_path).manifest["faiss"]["type"] == "IndexHNSWSQ"


def test_the_default_article_is_answered_alike_by_every_index_type(tmp_path: Path) -> None:
    corpus = PROJECT / "corpus"
    questions = [
        json.loads(line)["question"]
        for line in (PROJECT / "questions" / "default.jsonl").read_text().splitlines()
        if line.strip()
    ]
    exact = qa.build_index(corpus, tmp_path / "flat", show_progress=False, index_type="flat")
    compressed = qa.build_index(corpus, tmp_path / "sq8", show_progress=False,
                                index_type="hnsw-sq8")  # fmt: skip
    expected = exact.ask_many(questions)
    found = compressed.ask_many(questions)
    assert [(a.text, a.span) for a in found] == [(a.text, a.span) for a in expected]


def test_milvus_builds_hnsw_sq_and_gives_the_same_passages(
    index: qa.Index, corpus_dir: Path, tmp_path: Path
) -> None:
    pytest.importorskip("pymilvus")
    milvus_index = qa.build_index(corpus_dir, tmp_path / "milvus", show_progress=False,
                                  store="milvus", index_type="hnsw-sq8")  # fmt: skip
    params = milvus_index.manifest["milvus"]
    assert params["type"] == "HNSW_SQ" and params["sq_type"] == "SQ8"
    assert params["refine"] is True and params["refine_type"] == "FP32"
    assert params["refine_k"] == 2 and params["index_type"] == "hnsw-sq8"
    client = milvus_index.search.client  # type: ignore[attr-defined]
    assert client.describe_index("qa_chunks", "vector")["index_type"] == "HNSW_SQ"
    for question in QUESTIONS:
        found = [(p.doc_id, p.start) for p in milvus_index.retrieve(question, 5, mode="dense")]
        assert found == [(d, s) for d, s, _ in _top(index, question)]
    shutil.rmtree(tmp_path / "milvus")
