"""Documents from Python: ``Index.add`` and ``Index.remove`` on real FAISS and Milvus indexes."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import write_corpus

import qa
from qa import build, store
from qa.api import stale_reason
from qa.corpus import to_documents

PENGUINS = "Penguins of Antarctica\n\nEmperor penguins breed in the middle of the winter."
CATS = {"id": "cats", "title": "Cats", "text": "Cats sleep about sixteen hours a day.",
        "metadata": {"topic": "pets"}}  # fmt: skip


def _fresh(tmp_path: Path, store_kind: str = "faiss") -> qa.Index:
    corpus = write_corpus(tmp_path / "corpus")
    return qa.build_index(corpus, tmp_path / "index", show_progress=False, store=store_kind)


@pytest.mark.parametrize("store_kind", ["faiss", "milvus"])
def test_add_embeds_only_the_new_documents_and_stays_up_to_date(
    tmp_path: Path, store_kind: str
) -> None:
    if store_kind == "milvus":
        pytest.importorskip("pymilvus")
    index = _fresh(tmp_path, store_kind)
    before = len(index.documents)
    note = tmp_path / "elsewhere" / "owls.md"
    note.parent.mkdir()
    note.write_text("---\ntitle: Owl facts\n---\nBarn owls swallow their prey whole.\n")

    assert index.add([PENGUINS, CATS, note]) is index
    assert len(index.documents) == before + 3
    assert index.manifest.embedded.documents == 3  # the rest reused
    assert index.manifest.embedded.chunks == 3
    assert index.manifest.edits.added[1:] == ("cats", "owls.md")
    answer = index.ask("How long do cats sleep?", min_score=0.0)
    assert answer.doc_id == "cats" and answer.text == CATS["text"]
    assert index.retrieve("barn owls", 1, where={"path": "owls.md"})[0].title == "Owl facts"
    assert index.retrieve("pets", 3, where={"topic": "pets"})[0].doc_id == "cats"
    # What a later load sees, and what `make run` checks before serving: nothing to rebuild.
    again = qa.load_index(index.path)
    assert [d.id for d in again.documents] == [d.id for d in index.documents]
    assert stale_reason(index.path, defaults=True) is None


def test_a_document_added_again_unchanged_changes_nothing(tmp_path: Path) -> None:
    index = _fresh(tmp_path).add([CATS])
    generation = index.generation
    index.add([CATS])
    assert index.generation == generation


def test_add_replaces_a_document_of_the_same_id(tmp_path: Path) -> None:
    index = _fresh(tmp_path).add([CATS])
    index.add([{**CATS, "text": "Cats purr at about 25 hertz."}])
    assert index.manifest.embedded.documents == 1
    assert [d.text for d in index.documents if d.id == "cats"] == ["Cats purr at about 25 hertz."]
    assert "purr" in index.retrieve("How do cats purr?", 1)[0].text


@pytest.mark.parametrize("store_kind", ["faiss", "milvus"])
def test_remove_takes_documents_out_and_a_corpus_build_keeps_the_edits(
    tmp_path: Path, store_kind: str
) -> None:
    if store_kind == "milvus":
        pytest.importorskip("pymilvus")
    index = _fresh(tmp_path, store_kind).add([CATS])
    index.remove(["coffee.md", "cats"])
    ids = {d.id for d in index.documents}
    assert "coffee.md" not in ids and "cats" not in ids
    assert all(p.doc_id != "coffee.md" for p in index.retrieve("coffee in Yemen", 10))
    assert index.manifest.edits == qa.manifest.Edits(added=(), removed=("coffee.md", "cats"))
    assert stale_reason(index.path, defaults=True) is None
    # A change in the corpus rebuilds from the files, and keeps what was done from Python.
    index.add([PENGUINS])
    corpus = Path(index.manifest.corpus)
    (corpus / "tides.html").write_text("<h1>Tides</h1><p>Tides follow the Moon.</p>")
    assert stale_reason(index.path) is not None
    rebuilt = qa.build_index(corpus, index.path, show_progress=False)
    ids = {d.id for d in rebuilt.documents}
    assert "coffee.md" not in ids and any(i.startswith("python:") for i in ids)
    assert rebuilt.manifest.embedded.documents == 1  # tides.html only
    with pytest.raises(KeyError, match="no-such-id"):
        rebuilt.remove(["volcanoes.txt", "no-such-id"])
    assert "volcanoes.txt" in {d.id for d in rebuilt.documents}  # nothing removed


def test_a_corpus_file_wins_over_a_document_added_with_its_id(tmp_path: Path) -> None:
    index = _fresh(tmp_path)
    index.add([{"id": "owls-1", "text": "Owls are birds of prey."}])
    assert [d.text for d in index.documents if d.id == "owls-1"] == ["Owls are birds of prey."]
    rebuilt = qa.build_index(index.manifest.corpus, index.path, show_progress=False,
                             incremental=False)  # fmt: skip
    assert "270 degrees" in rebuilt.document("owls-1").text


def test_a_failed_add_leaves_the_index_as_it_was(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    index = _fresh(tmp_path)
    generation, count = index.generation, len(index.documents)

    def broken(*args: object, **kwargs: object) -> object:
        raise RuntimeError("killed while embedding")

    monkeypatch.setattr(build, "embed_texts", broken)
    with pytest.raises(RuntimeError, match="killed"):
        index.add([CATS])
    assert index.generation == generation and len(index.documents) == count
    assert store.live_folder(index.path) == generation
    assert [p.name for p in index.path.iterdir() if p.name.startswith("gen-")] == [generation.name]
    assert qa.load_index(index.path).manifest.edits.added == ()


def test_removing_every_document_is_refused(tmp_path: Path) -> None:
    index = _fresh(tmp_path)
    with pytest.raises(qa.EmptyCorpusError, match="No document left"):
        index.remove([d.id for d in index.documents])
    assert len(qa.load_index(index.path).documents) == len(index.documents)


def test_documents_given_from_python(tmp_path: Path) -> None:
    corpus = write_corpus(tmp_path / "corpus")
    inside = to_documents([corpus / "coffee.md", str(corpus / "volcanoes.txt")], corpus)
    assert [d.id for d in inside] == ["coffee.md", "volcanoes.txt"]  # a path string is a file
    records = to_documents([corpus / "animals.jsonl"], corpus)
    assert [d.id for d in records] == ["bees-1", "owls-1"]
    text, again = to_documents([PENGUINS, PENGUINS])
    assert text.id == again.id and text.id.startswith("python:")
    assert text.title == "Penguins of Antarctica" and text.source == text.id  # its path filter
    (record,) = to_documents([{"text": "Just text."}])
    assert record.id.startswith("python:") and record.metadata == {}
    (scrubbed,) = to_documents(["Lone \ud800 surrogate."])  # no UTF-8 file could hold it
    assert scrubbed.text == "Lone \ufffd surrogate."
    for bad, message in [
        ("   ", "empty text"),
        ({"title": "no text"}, "Cannot add the record"),
        ({"text": "x", "metadata": [1]}, "'metadata' must be an object"),
        (tmp_path / "missing.md", "Cannot add"),
        (corpus / "..", "Cannot add"),
    ]:
        with pytest.raises(ValueError, match=message):
            to_documents([bad])
    (tmp_path / "data.csv").write_text("a,b\n")
    with pytest.raises(ValueError, match="unsupported format"):
        to_documents([tmp_path / "data.csv"])
    with pytest.raises(TypeError, match=r"pathlib\.Path, a string"):
        to_documents([42])
