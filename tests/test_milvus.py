"""The Milvus store, on a real embedded Milvus (Milvus Lite): same answers, same lifecycle."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest

import qa
from qa import milvus, milvus_build, store

pytest.importorskip("pymilvus")

PROJECT = Path(__file__).resolve().parent.parent
QUESTIONS = [
    json.loads(line)["question"]
    for line in (PROJECT / "questions" / "default.jsonl").read_text().splitlines()
    if line.strip()
]


def _spans(passages: list[qa.Passage]) -> list[tuple[str, int, int]]:
    return [(p.doc_id, p.start, p.end) for p in passages]


@pytest.fixture(scope="module")
def stores(tmp_path_factory: pytest.TempPathFactory) -> tuple[qa.Index, qa.Index]:
    """The default corpus in the FAISS store and in the Milvus store."""
    folder = tmp_path_factory.mktemp("stores")
    corpus = PROJECT / "corpus"
    faiss_index = qa.build_index(corpus, folder / "faiss", show_progress=False)
    milvus_index = qa.build_index(corpus, folder / "milvus", show_progress=False, store="milvus")
    return faiss_index, milvus_index


def test_milvus_flat_gives_the_faiss_flat_top_five(stores: tuple[qa.Index, qa.Index]) -> None:
    faiss_index, milvus_index = stores
    assert milvus_index.manifest["milvus"]["type"] == "FLAT"
    for question in QUESTIONS:
        expected = faiss_index.retrieve(question, 5, mode="dense")
        found = milvus_index.retrieve(question, 5, mode="dense")
        assert _spans(found) == _spans(expected), question
        assert [p.score for p in found] == pytest.approx([p.score for p in expected], abs=1e-4)


def test_keyword_search_runs_in_milvus(stores: tuple[qa.Index, qa.Index]) -> None:
    _, milvus_index = stores
    assert not (milvus_index.generation / store.BM25_DIR).exists()  # no local keyword index
    top = milvus_index.retrieve("Which ministry houses the national AI office?", 5, mode="keyword")
    assert top and all(p.score > 0 for p in top)
    assert [p.rank for p in top] == list(range(1, len(top) + 1))
    assert milvus_index.retrieve("zzzqx", 5, mode="keyword") == []
    assert milvus_index.retrieve("the of and", 5, mode="keyword") == []  # stop words only
    stemmed = milvus_index.retrieve("amend", 1, mode="keyword")  # the corpus: "amendments"
    assert stemmed and "amendments" in stemmed[0].text


@pytest.mark.parametrize("mode", ["keyword", "hybrid"])
def test_milvus_bm25_gives_the_bm25s_top_five(stores: tuple[qa.Index, qa.Index], mode: str) -> None:
    """Milvus scores the terms bm25s scores (``retrieval.keyword_terms``): stemmed, so a
    question's "amend" finds the corpus's "amendments" in both stores."""
    faiss_index, milvus_index = stores
    same = sum(
        _spans(milvus_index.retrieve(q, 5, mode=mode))
        == _spans(faiss_index.retrieve(q, 5, mode=mode))
        for q in QUESTIONS
    )  # all 54 here; a tie in BM25 scores may order two passages either way
    assert same >= 0.95 * len(QUESTIONS)


def test_answers_are_the_same_on_both_stores(stores: tuple[qa.Index, qa.Index]) -> None:
    faiss_index, milvus_index = stores
    same = sum(faiss_index.ask(q).text == milvus_index.ask(q).text for q in QUESTIONS)
    assert same >= 0.95 * len(QUESTIONS)


def test_manifest_names_the_store_and_load_reconnects(
    stores: tuple[qa.Index, qa.Index],
) -> None:
    _, milvus_index = stores
    manifest = milvus_index.manifest
    assert manifest["store"] == {"kind": "milvus", "uri": "milvus.db", "collection": "qa_chunks"}
    assert (milvus_index.path / "milvus.db").exists()
    again = qa.load_index(milvus_index.path)
    question = QUESTIONS[0]
    assert _spans(again.retrieve(question)) == _spans(milvus_index.retrieve(question))


def test_rebuild_after_a_file_changes_upserts_and_deletes(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    shutil.copytree(PROJECT / "corpus", corpus)
    index_dir = tmp_path / "index"
    first = qa.build_index(corpus, index_dir, show_progress=False, store="milvus")
    chunks = first.manifest["counts"]["chunks"]

    (corpus / "peru.txt").write_text("Lima is the capital of Peru. It lies on the coast.\n")
    added = qa.build_index(corpus, index_dir, show_progress=False)  # keeps the Milvus store
    assert added.manifest["store"]["kind"] == "milvus"
    assert added.manifest["embedded"]["chunks"] == added.manifest["counts"]["chunks"] - chunks
    assert added.ask("What is the capital of Peru?").text == "Lima is the capital of Peru."

    (corpus / "peru.txt").write_text("Quito is the capital of Ecuador.\n")
    changed = qa.build_index(corpus, index_dir, show_progress=False)
    assert changed.manifest["embedded"]["chunks"] == 1
    assert "Quito" in changed.retrieve("What is the capital of Ecuador?", 1)[0].text
    assert _rows_in_collection(changed) == changed.manifest["counts"]["chunks"]  # Lima's gone

    (corpus / "peru.txt").unlink()
    removed = qa.build_index(corpus, index_dir, show_progress=False)
    assert removed.manifest["counts"]["chunks"] == chunks
    assert _rows_in_collection(removed) == chunks
    assert all(p.doc_id != "peru.txt" for p in removed.retrieve("capital of Ecuador", 20))


def _rows_in_collection(index: qa.Index) -> int:
    search = index.search
    return len(milvus_build.Collection(search.client, search.name, {}).existing_keys())


def test_a_build_that_fails_midway_leaves_the_named_collection_loadable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    corpus = tmp_path / "corpus"
    shutil.copytree(PROJECT / "corpus", corpus)
    index_dir = tmp_path / "index"
    before = qa.build_index(corpus, index_dir, show_progress=False, store="milvus")
    question = QUESTIONS[0]
    expected = _spans(before.retrieve(question, 5, mode="dense"))

    # The new chunks reach the collection, then the build dies before the manifest is written.
    (corpus / "extra.md").write_text("# Extra\n\n" + (corpus.glob("*.md").__next__()).read_text())

    def die(*args: object, **kwargs: object) -> None:
        raise RuntimeError("killed")

    monkeypatch.setattr(store, "save", die)
    with pytest.raises(RuntimeError, match="killed"):
        qa.build_index(corpus, index_dir, show_progress=False)
    monkeypatch.undo()

    # The live index skips the chunks it does not know, though they match as well as its own.
    survivor = qa.load_index(index_dir)
    assert survivor.search.extra > 0
    assert _spans(survivor.retrieve(question, 5, mode="dense")) == expected
    # The next build reuses them and leaves nothing behind.
    after = qa.build_index(corpus, index_dir, show_progress=False)
    assert after.manifest["embedded"]["chunks"] == 0
    assert _rows_in_collection(after) == after.manifest["counts"]["chunks"]


def test_a_collection_of_another_dimension_or_layout_is_a_mismatch(tmp_path: Path) -> None:
    index = qa.build_index(PROJECT / "corpus", tmp_path, show_progress=False, store="milvus")
    client = index.search.client
    client.drop_collection("qa_chunks")
    client.create_collection("qa_chunks", dimension=8)
    with pytest.raises(qa.IndexMismatchError, match="dimension 8"):
        qa.load_index(tmp_path)
    with pytest.raises(qa.IndexMismatchError, match="another collection"):
        qa.build_index(PROJECT / "corpus", tmp_path, show_progress=False)
    # The model's dimension, but no keyword terms: the layout of an earlier qa.
    client.drop_collection("qa_chunks")
    client.create_collection("qa_chunks", dimension=index.manifest.model.dimension)
    with pytest.raises(qa.IndexMismatchError, match=r"no 'terms' field.*another collection"):
        qa.load_index(tmp_path)
    other = qa.build_index(PROJECT / "corpus", tmp_path, show_progress=False, collection="qa_two")
    assert other.manifest["store"]["collection"] == "qa_two" and other.retrieve(QUESTIONS[0])


def test_missing_and_corrupt_lite_files(tmp_path: Path) -> None:
    missing = tmp_path / "missing"
    qa.build_index(PROJECT / "corpus", missing, show_progress=False, store="milvus")
    shutil.rmtree(missing / "milvus.db")
    with pytest.raises(qa.IndexNotFoundError, match=r"milvus\.db"):
        qa.load_index(missing)

    # Corrupt: another process's view of a file that is not a Milvus Lite database.
    corrupt = tmp_path / "corrupt"
    qa.build_index(PROJECT / "corpus", corrupt, show_progress=False, store="milvus")
    probe = (
        "import shutil, sys, qa\n"
        f"shutil.rmtree({str(corrupt / 'milvus.db')!r})\n"
        f"open({str(corrupt / 'milvus.db')!r}, 'wb').write(b'not a database' * 100)\n"
        "try:\n"
        f"    qa.load_index({str(corrupt)!r})\n"
        "except qa.IndexCorruptError as error:\n"
        "    print('IndexCorruptError', error)\n"
    )
    run = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=300, check=True
    )
    assert run.stdout.startswith("IndexCorruptError") and "qa build" in run.stdout


def test_an_unreachable_uri_fails_fast_and_keeps_the_token_secret(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(milvus.TOKEN_ENV, "s3cret-token")
    uri = "http://admin:hunter2@127.0.0.1:9"  # the discard port: nothing listens
    outcome: list[BaseException] = []

    def build() -> None:
        try:
            qa.build_index(PROJECT / "corpus", tmp_path, show_progress=False, uri=uri)
        except BaseException as error:  # handed to the test thread
            outcome.append(error)

    worker = threading.Thread(target=build, daemon=True)
    worker.start()
    worker.join(timeout=120)  # a guard against a hang, not a timing assertion
    assert not worker.is_alive(), "an unreachable Milvus hung the build"
    (error,) = outcome
    assert isinstance(error, qa.StoreUnavailableError)
    assert "http://127.0.0.1:9" in str(error)
    assert "hunter2" not in str(error) and "s3cret" not in str(error)
    assert milvus.target(uri, None).uri == "http://127.0.0.1:9"


def test_cli_builds_asks_and_evaluates_on_milvus(tmp_path: Path) -> None:
    index_dir = tmp_path / "index"
    run = [sys.executable, "-m", "qa"]
    built = subprocess.run(
        [*run, "build", str(PROJECT / "corpus"), "--index", str(index_dir), "--store", "milvus",
         "--quiet"],
        capture_output=True, text=True, timeout=600, check=True,
    )  # fmt: skip
    assert "Indexed 1 document as" in built.stdout
    asked = subprocess.run(
        [*run, "ask", QUESTIONS[0], "--index", str(index_dir), "--json"],
        capture_output=True, text=True, timeout=600, check=True,
    )  # fmt: skip
    assert json.loads(asked.stdout)["citations"]
    evaluated = subprocess.run(
        [*run, "eval", str(PROJECT / "questions" / "default.jsonl"), "--index", str(index_dir)],
        capture_output=True, text=True, timeout=600, check=True,
    )  # fmt: skip
    assert "hit@5" in evaluated.stdout


def test_a_missing_extra_names_the_pip_line(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "pymilvus", None)  # import pymilvus now fails
    monkeypatch.setattr(milvus, "_clients", {})
    with pytest.raises(qa.MissingDependencyError, match=r"pip install 'qa\[milvus\]'"):
        milvus.connect("/nonexistent/milvus.db")


def test_chunk_keys_are_content_addressed() -> None:
    documents = [qa.Document(id="a.md", title="A", text="One. Two.")]
    table = np.asarray([[0, 0, 4], [0, 5, 9]], dtype=np.int64)
    keys = milvus_build.chunk_keys(documents, table, ["One.", "Two."])
    assert len(set(keys.tolist())) == 2 and (keys >= 0).all()
    assert np.array_equal(keys, milvus_build.chunk_keys(documents, table, ["One.", "Two."]))
    changed = milvus_build.chunk_keys(documents, table, ["One.", "Too."])
    assert changed[0] == keys[0] and changed[1] != keys[1]


def test_the_web_app_answers_from_a_milvus_index(tmp_path: Path) -> None:
    from gradio_client import Client
    from webserver import start, stop, write_corpus

    corpus = write_corpus(tmp_path / "corpus")
    index_dir = tmp_path / "index"
    subprocess.run(  # in its own process: Milvus Lite serves a file to one process at a time
        [sys.executable, "-m", "qa", "build", str(corpus), "--index", str(index_dir), "--store",
         "milvus", "--quiet"],
        capture_output=True, text=True, timeout=600, check=True,
    )  # fmt: skip
    built = store.live_folder(index_dir)
    app, process = start(tmp_path)  # python app.py with QA_INDEX_DIR=index_dir
    try:
        result = Client(app.url, verbose=False).predict(
            "How much did the government allocate to NAIO in 2025?", api_name="/ask"
        )
    finally:
        stop(process)
    assert result["answer"] == "In 2025, the government allocated RM10 million to NAIO."
    assert store.live_folder(index_dir) == built  # served as built: not rebuilt into FAISS
