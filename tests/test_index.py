"""A real index of the small corpus: retrieval, answers, round trips, staleness, errors."""

from __future__ import annotations

import itertools
import json
import logging
import shutil
from dataclasses import FrozenInstanceError, replace
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import qa
from qa import store
from qa.api import stale_reason
from qa.passages import merge as merge_passages


def test_passages_and_answers_quote_their_documents_exactly(index: qa.Index) -> None:
    for question in ("Which glacier is the largest in the Alps?", "Where was coffee first brewed?"):
        passages = index.retrieve(question, k=4)
        assert [p.rank for p in passages] == [1, 2, 3, 4]
        for p in passages:
            assert index.document(p.doc_id).text[p.start : p.end] == p.text
        answer = index.ask(question)
        assert not answer.abstained
        assert answer.text is not None and answer.start is not None
        assert index.document(answer.doc_id).text[answer.start : answer.end] == answer.text
        assert any(
            c.doc_id == answer.doc_id and c.start <= answer.start and answer.end <= c.end
            for c in answer.citations
        )


def test_answers_pick_the_right_sentence(index: qa.Index) -> None:
    answer = index.ask("Which glacier is the largest in the Alps?")
    assert answer.text == "The Aletsch Glacier is the largest glacier in the Alps."
    assert answer.doc_id == "glaciers.pdf"
    assert answer.citations[0].page == 2
    answer = index.ask("What did Brazil export in 2023?")
    assert answer.text is not None and "$16.06 billion" in answer.text
    assert answer.citations[0].section == "Trade"


def test_each_mode_finds_the_obvious_passage(index: qa.Index) -> None:
    for mode in ("dense", "keyword", "hybrid"):
        top = index.retrieve("How many degrees can owls rotate their heads?", k=3, mode=mode)[0]
        assert top.doc_id == "owls-1", mode


def test_keyword_search_matches_other_forms_of_a_corpus_word(index: qa.Index) -> None:
    """The word "rotation" never occurs in the corpus, but its stem does ("Owls can rotate")."""
    assert "rotation" not in " ".join(d.text.lower() for d in index.documents)
    top = index.retrieve("head rotation", k=1, mode="keyword")
    assert top and top[0].doc_id == "owls-1"


def test_dense_ranking_equals_numpy_brute_force(index: qa.Index) -> None:
    question = "What causes tides?"
    faiss_index = index.search.faiss_index
    vectors = faiss_index.reconstruct_n(0, faiss_index.ntotal)
    # the stored vectors are the chunk texts' embeddings
    texts = [index.chunk_passage(row).text for row in range(len(index))]
    assert np.allclose(vectors, index.encoder.encode(texts), atol=1e-5)
    query = index.encoder.encode([question])[0]
    expected = np.argsort(-(vectors @ query), kind="stable")[:5]
    got = index.retrieve(question, k=5, mode="dense")
    assert [p.chunks[0] for p in got] == expected.tolist()
    assert [p.score for p in got] == pytest.approx((vectors @ query)[expected].tolist(), abs=1e-5)


def test_keyword_top_rows_equal_a_full_sort() -> None:
    """Ranking only the matching rows gives what sorting every score would, ties included."""
    from qa.retrieval import top_rows

    rng = np.random.default_rng(0)
    for _ in range(200):
        n = int(rng.integers(1, 60))
        scores = rng.choice([0.0, 0.0, 0.5, 1.0, 1.5, 2.25], size=n).astype(np.float32)
        k = int(rng.integers(1, n + 3))
        expected = sorted((i for i in range(n) if scores[i] > 0), key=lambda i: (-scores[i], i))
        assert [int(r) for r, _ in top_rows(scores, k)] == expected[:k]


def test_save_load_round_trip_gives_identical_results(index: qa.Index) -> None:
    again = qa.load_index(index.path)
    for question in ("When did Hekla erupt?", "honey bee queen", "spring tides"):
        for mode in ("dense", "keyword", "hybrid"):
            assert again.retrieve(question, 5, mode=mode) == index.retrieve(question, 5, mode=mode)
        assert again.ask(question) == index.ask(question)


def test_batch_calls_equal_single_calls(index: qa.Index) -> None:
    questions = ["When did Hekla erupt?", "Who grew coffee in Java?"]
    assert index.retrieve_many(questions, 3) == [index.retrieve(q, 3) for q in questions]
    for batched, single in zip(index.ask_many(questions, 3), [index.ask(q, 3) for q in questions]):
        # a batch pads inputs together, which moves scores in the last float digits only
        assert batched.score == pytest.approx(single.score, abs=1e-5)
        assert replace(batched, score=0.0, citations=[]) == replace(single, score=0.0, citations=[])
        assert [(c.doc_id, c.start, c.rank) for c in batched.citations] == [
            (c.doc_id, c.start, c.rank) for c in single.citations
        ]


def test_module_functions_take_an_index(index: qa.Index) -> None:
    assert qa.retrieve("owls", 2, index=index) == index.retrieve("owls", 2)
    assert qa.ask("owls", index=index) == index.ask("owls")


def test_k_larger_than_the_corpus_returns_everything(index: qa.Index) -> None:
    assert len(index.retrieve("volcano", k=1000, mode="dense")) == len(index)


def test_bad_arguments_say_what_is_valid(index: qa.Index) -> None:
    with pytest.raises(ValueError, match="k must be a whole number of 1 or more"):
        index.retrieve("owls", k=0)
    with pytest.raises(ValueError, match="hybrid, dense, keyword"):
        index.retrieve("owls", mode="fuzzy")
    with pytest.raises(qa.EmptyQuestionError):
        index.ask("   ")
    with pytest.raises(KeyError, match="No document 'nope'"):
        index.document("nope")


def test_abstains_off_topic(index: qa.Index) -> None:
    answer = index.ask("What is the exchange rate of the Swiss franc today?")
    assert answer.abstained and answer.text is None and answer.span is None
    assert answer.citations  # the closest passages are still offered


def test_manifest_records_what_was_built(index: qa.Index) -> None:
    manifest = index.manifest
    assert manifest["format_version"] == store.FORMAT_VERSION
    assert manifest["model"] == {"name": "all-MiniLM-L6-v2", "dimension": 384, "window": 254}
    assert manifest["chunking"]["splitter"] == "pysbd"
    assert manifest["faiss"]["type"] == "IndexFlatIP"
    assert set(manifest["corpus_files"]) == {
        "animals.jsonl", "coffee.md", "glaciers.pdf", "tides.html", "volcanoes.txt",
    }  # fmt: skip
    assert manifest["counts"]["documents"] == 6
    on_disk = json.loads((index.generation / "manifest.json").read_text())
    assert on_disk == manifest


# -- the folder on disk -------------------------------------------------------------------------


@pytest.fixture
def own_index(index: qa.Index, tmp_path: Path) -> Path:
    """A copy of the session index that a test may damage."""
    target = tmp_path / "index"
    shutil.copytree(index.path, target)
    return target


def test_missing_index_says_how_to_build_one(tmp_path: Path) -> None:
    with pytest.raises(qa.IndexNotFoundError, match="qa build"):
        qa.load_index(tmp_path)


def test_another_model_is_a_mismatch(own_index: Path) -> None:
    with pytest.raises(qa.IndexMismatchError, match="all-MiniLM-L6-v2"):
        qa.load_index(own_index, model="another-model")


def test_another_format_version_is_a_mismatch(own_index: Path) -> None:
    folder = store.live_folder(own_index)
    assert folder is not None
    manifest = json.loads((folder / "manifest.json").read_text())
    manifest["format_version"] = 999
    (folder / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(qa.IndexMismatchError, match="format version 999"):
        qa.load_index(own_index)


@pytest.mark.parametrize(
    "name", ["vectors.faiss", "chunks.npy", "documents.jsonl", "bm25/params.index.json"]
)
def test_truncated_or_corrupted_files_are_detected(own_index: Path, name: str) -> None:
    folder = store.live_folder(own_index)
    assert folder is not None
    data = (folder / name).read_bytes()
    (folder / name).write_bytes(data[: len(data) // 2])
    with pytest.raises(qa.IndexCorruptError, match="truncated"):
        qa.load_index(own_index)
    flipped = bytearray(data)
    flipped[len(data) // 2] ^= 0xFF
    (folder / name).write_bytes(bytes(flipped))
    with pytest.raises(qa.IndexCorruptError, match="checksum"):
        qa.load_index(own_index)


def test_a_failed_build_leaves_the_previous_index(
    own_index: Path, corpus_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = qa.load_index(own_index).retrieve("owls", 3)

    def boom(*args: object, **kwargs: object) -> None:
        raise RuntimeError("disk full")

    monkeypatch.setattr("faiss.write_index", boom)
    with pytest.raises(RuntimeError, match="disk full"):
        qa.build_index(corpus_dir, own_index, show_progress=False)
    assert [p.name for p in own_index.iterdir() if p.name.startswith("gen-")] == [
        store.live_folder(own_index).name  # type: ignore[union-attr]
    ]
    assert qa.load_index(own_index).retrieve("owls", 3) == before


# -- staleness ----------------------------------------------------------------------------------


def test_stale_detection_and_rebuild_of_the_default_index(
    corpus_dir: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    corpus = tmp_path / "corpus"
    shutil.copytree(corpus_dir, corpus)
    index_dir = tmp_path / "index"
    monkeypatch.setenv("QA_CORPUS_DIR", str(corpus))
    monkeypatch.setenv("QA_INDEX_DIR", str(index_dir))
    monkeypatch.setattr("qa.api._default", None)

    with caplog.at_level(logging.WARNING, logger="qa.api"):
        first = qa.load_index()  # missing: built on first use
    assert "there is no index yet" in caplog.text
    assert stale_reason(index_dir) is None
    assert qa.ask("What is the capital of Peru?").abstained

    (corpus / "peru.txt").write_text("Lima is the capital of Peru.\n", encoding="utf-8")
    assert stale_reason(index_dir) == "the corpus changed since the build (peru.txt)"
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="qa.api"):
        answer = qa.ask("What is the capital of Peru?")
    assert "Building the default index" in caplog.text and "peru.txt" in caplog.text
    assert answer.text == "Lima is the capital of Peru."
    assert qa.load_index() is not first

    # An index folder named explicitly is loaded as it is, with a warning.
    (corpus / "peru.txt").write_text("Lima is the capital city of Peru.\n", encoding="utf-8")
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="qa.api"):
        explicit = qa.load_index(index_dir)
    assert "is stale" in caplog.text and "qa build" in caplog.text
    assert explicit.ask("What is the capital of Peru?").text == "Lima is the capital of Peru."


def test_rebuilding_a_broken_default_index_says_why_without_advising_a_rebuild(
    corpus_dir: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    index_dir = tmp_path / "index"
    qa.build_index(corpus_dir, index_dir, show_progress=False)
    monkeypatch.setenv("QA_CORPUS_DIR", str(corpus_dir))
    monkeypatch.setenv("QA_INDEX_DIR", str(index_dir))
    monkeypatch.setattr("qa.api._default", None)
    (store.live_folder(index_dir) / "manifest.json").write_text("{not json")
    with caplog.at_level(logging.WARNING, logger="qa.api"):
        qa.load_index()
    (line,) = [r.getMessage() for r in caplog.records if r.name == "qa.api"]
    assert line.startswith(f"Building the default index in {index_dir}: Cannot read")
    assert "qa build" not in line and "rebuild the index" not in line  # it is being rebuilt


# -- incremental builds -------------------------------------------------------------------------


def _contents(index: qa.Index) -> tuple[list[qa.Document], np.ndarray, np.ndarray]:
    faiss_index = index.search.faiss_index
    return index.documents, index.chunks, faiss_index.reconstruct_n(0, faiss_index.ntotal)


def test_incremental_build_embeds_only_changed_documents(corpus_dir: Path, tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    shutil.copytree(corpus_dir, corpus)
    index_dir = tmp_path / "index"
    first = qa.build_index(corpus, index_dir, show_progress=False)
    assert first.manifest["embedded"]["chunks"] == first.manifest["counts"]["chunks"]

    # One file changes, one is added, one is removed: only the first two are embedded.
    (corpus / "coffee.md").write_text(
        (corpus / "coffee.md").read_text() + "\nEthiopia is where the coffee plant comes from.\n"
    )
    (corpus / "peru.txt").write_text("Lima is the capital of Peru. It lies on the coast.\n")
    (corpus / "tides.html").unlink()
    again = qa.build_index(corpus, index_dir, show_progress=False)
    changed = {"coffee.md", "peru.txt"}
    changed_rows = [row for row, d in enumerate(again.documents) if d.id in changed]
    expected = int(np.isin(again.chunks[:, 0], changed_rows).sum())
    assert 0 < expected < again.manifest["counts"]["chunks"]
    assert again.manifest["embedded"] == {"documents": 2, "chunks": expected, "on": "local"}
    assert again.ask("What is the capital of Peru?").text == "Lima is the capital of Peru."
    assert "tides.html" not in {p.doc_id for p in again.retrieve("What causes tides?", 100)}

    # The result is the index a full build makes.
    full = qa.build_index(corpus, tmp_path / "full", show_progress=False, incremental=False)
    documents, chunks, vectors = _contents(again)
    full_documents, full_chunks, full_vectors = _contents(full)
    assert documents == full_documents
    assert np.array_equal(chunks, full_chunks)
    assert np.allclose(vectors, full_vectors, atol=1e-5)
    assert full.manifest["embedded"]["chunks"] == full.manifest["counts"]["chunks"]

    # Nothing changed: nothing is embedded.
    assert qa.build_index(corpus, index_dir).manifest["embedded"]["chunks"] == 0


def test_incremental_build_reembeds_everything_for_other_chunking(
    corpus_dir: Path, tmp_path: Path
) -> None:
    from qa.build import build

    build(corpus_dir, tmp_path, show_progress=False)
    build(corpus_dir, tmp_path, show_progress=False, chunk_tokens=32)
    manifest = store.read_manifest(tmp_path)
    assert manifest is not None
    assert manifest["embedded"]["chunks"] == manifest["counts"]["chunks"]


def test_builds_of_one_folder_take_turns(
    corpus_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two builds at once: the second waits for the first, so neither removes what the other
    is writing, and the folder ends with one loadable generation."""
    import threading
    import time

    events: list[str] = []
    save = store.save

    def slow_save(*args: Any, **kwargs: Any) -> Path:
        events.append("start")
        time.sleep(0.5)  # wide open for the other build to barge in, were there no lock
        folder = save(*args, **kwargs)
        events.append("end")
        return folder

    monkeypatch.setattr(store, "save", slow_save)
    threads = [
        threading.Thread(target=qa.build_index, args=(corpus_dir, tmp_path / "index"))
        for _ in range(2)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert events == ["start", "end", "start", "end"]
    assert [p.name for p in (tmp_path / "index").iterdir() if p.name.startswith("gen-")] == [
        store.live_folder(tmp_path / "index").name  # type: ignore[union-attr]
    ]
    assert qa.load_index(tmp_path / "index").retrieve("owls", 1)[0].doc_id == "owls-1"


def test_a_file_changed_during_a_build_is_indexed_as_read_and_then_stale(
    corpus_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The index holds the bytes it read and their hash: a change made mid-build is not half
    taken, and the index reads as stale until the next build takes it."""
    import qa.build

    corpus = tmp_path / "corpus"
    shutil.copytree(corpus_dir, corpus)
    get_encoder = qa.build.get_encoder

    def edit_then_load(*args: Any) -> Any:  # runs after the corpus was read
        (corpus / "animals.jsonl").write_text('{"id": "cats", "text": "Cats purr."}\n')
        return get_encoder(*args)

    monkeypatch.setattr(qa.build, "get_encoder", edit_then_load)
    index = qa.build_index(corpus, tmp_path / "index", show_progress=False)
    ids = {d.id for d in index.documents}
    assert "owls-1" in ids and "cats" not in ids
    assert stale_reason(tmp_path / "index") == "the corpus changed since the build (animals.jsonl)"


LIGHTHOUSE = " ".join(
    f"The lighthouse on island {i} was lit by keeper number {i} every night of year {1900 + i}, "
    f"and its lamp burned {i * 3} litres of whale oil in the winter storms."
    for i in range(1, 41)
)


@pytest.fixture(scope="module")
def long_paragraph_index(tmp_path_factory: pytest.TempPathFactory) -> qa.Index:
    """One long paragraph: its chunks overlap by a sentence, as every long paragraph's do."""
    corpus = tmp_path_factory.mktemp("long-corpus")
    (corpus / "lighthouses.txt").write_text(LIGHTHOUSE + "\n", encoding="utf-8")
    return qa.build_index(corpus, tmp_path_factory.mktemp("long-index"), show_progress=False)


def test_passage_metadata_is_built_from_the_typed_fields() -> None:
    def passage(**fields: Any) -> qa.Passage:
        return qa.Passage(
            text="x", doc_id="d", title="D", start=0, end=1, score=1.0, rank=1, **fields
        )

    assert passage().metadata == {}
    full = passage(section="Trade", page=3, chunks=(7, 2), extra={"topic": "ports"})
    assert full.metadata == {
        "chunk": 7, "chunks": [7, 2], "section": "Trade", "page": 3, "topic": "ports"
    }  # fmt: skip
    assert passage(page=0).metadata == {"page": 0}
    full.metadata["page"] = 9  # a fresh dict: the passage does not change
    assert full.page == 3 and full.metadata["page"] == 3
    # Frozen and hashable; ``extra`` counts for equality but not for the hash.
    assert hash(full) == hash(passage(section="Trade", page=3, chunks=(7, 2)))
    assert full != passage(section="Trade", page=3, chunks=(7, 2))
    with pytest.raises(FrozenInstanceError):
        full.page = 4  # type: ignore[misc]
    with pytest.raises(ValueError, match=r"\['chunks', 'page'\].*pass section=, page= or chunks="):
        passage(extra={"page": 2, "chunks": [1]})


def test_overlapping_chunks_merge_into_one_passage(long_paragraph_index: qa.Index) -> None:
    index = long_paragraph_index
    spans = [tuple(int(v) for v in chunk) for chunk in index.chunks]
    assert len(spans) >= 5 and all(a[2] > b[1] for a, b in itertools.pairwise(spans))
    assert spans[0][2] <= spans[2][1] and spans[2][2] <= spans[4][1]

    # Chunks 0 and 2 are apart; chunk 1 overlaps both and joins them into one passage.
    def merge(hits: list[tuple[int, float]], k: int) -> list[qa.Passage]:
        return merge_passages(hits, index.chunks, index.documents, k)

    passage, after = merge([(0, 0.9), (2, 0.8), (1, 0.7), (4, 0.6)], 5)
    assert (passage.start, passage.end) == (spans[0][1], spans[2][2])
    assert passage.chunks == (0, 1, 2)
    assert passage.score == 0.9 and passage.rank == 1
    # JSON users still read the metadata of the untyped dict the typed fields replaced.
    assert passage.metadata == {"chunk": 0, "chunks": [0, 1, 2]}
    assert after.chunks == (4,) and after.rank == 2 and after.score == 0.6
    # A passage holds three chunks at most: a fourth that overlaps it is skipped.
    assert [p.chunks for p in merge([(0, 0.9), (2, 0.8), (1, 0.7), (3, 0.6)], 5)] == [(0, 1, 2)]
    # Once k passages are taken, the first chunk that would start another ends the reading.
    assert [p.chunks for p in merge([(0, 0.9), (2, 0.8), (1, 0.7)], 1)] == [(0,)]

    question = "How many litres of whale oil did the lamp burn in winter?"
    text = index.document("lighthouses.txt").text
    for mode in ("dense", "keyword", "hybrid"):
        passages = index.retrieve(question, k=3, mode=mode)
        assert len(passages) == 3, mode
        for p in passages:
            assert text[p.start : p.end] == p.text
            assert p.start == min(spans[c][1] for c in p.chunks)
            assert p.end == max(spans[c][2] for c in p.chunks)
        for a, b in itertools.combinations(passages, 2):
            assert a.end <= b.start or b.end <= a.start, mode  # no text cited twice
        assert len({c for p in passages for c in p.chunks}) > len(passages), mode
    answer = index.ask(question, k=2)
    assert len(answer.citations) == 2
