"""The embedding build on a real local Ray (num_cpus=2): the same index as a one-process build."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import qa
from qa import distributed
from qa.embedding import get_encoder

ray = pytest.importorskip("ray")

PROJECT = Path(__file__).resolve().parent.parent
# What may differ between two builds of the same corpus: when, where, and the files' checksums
# (vectors summed in other batches may differ in their last bits; the cosines are checked).
PER_BUILD = ("built_at", "build_seconds", "embedded", "corpus", "files")


@pytest.fixture(scope="module")
def local_ray() -> Iterator[None]:
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield
    ray.shutdown()


def _vectors(index: qa.Index) -> np.ndarray:
    faiss_index = index.search.faiss_index
    return np.asarray(faiss_index.reconstruct_n(0, faiss_index.ntotal))


def _same(manifest: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in manifest.items() if key not in PER_BUILD}


def test_a_ray_build_equals_a_local_build(
    local_ray: None, corpus_dir: Path, tmp_path: Path
) -> None:
    local = qa.build_index(corpus_dir, tmp_path / "local", show_progress=False)
    on_ray = qa.build_index(corpus_dir, tmp_path / "ray", show_progress=False, ray=True)
    assert on_ray.manifest["embedded"]["on"] == "ray"
    assert _same(on_ray.manifest) == _same(local.manifest)
    assert on_ray.documents == local.documents
    assert np.array_equal(on_ray.chunks, local.chunks)
    cosines = (_vectors(on_ray) * _vectors(local)).sum(axis=1)
    assert len(cosines) == len(local) and cosines.min() >= 0.9999
    question = "How many degrees can owls rotate their heads?"
    assert on_ray.ask(question).text == local.ask(question).text
    assert ray.is_initialized()  # the Ray this process started is left running


def test_ray_embeds_in_chunk_order(local_ray: None) -> None:
    texts = [f"Note {i}: the lighthouse keeper lit lamp number {i}." for i in range(600)]
    vectors = distributed.embed("all-MiniLM-L6-v2", texts, True, show_progress=False)
    local = get_encoder("all-MiniLM-L6-v2").encode(texts)
    assert vectors.shape == local.shape
    assert (vectors * local).sum(axis=1).min() >= 0.9999


def test_cli_builds_on_ray_into_milvus(tmp_path: Path) -> None:
    pytest.importorskip("pymilvus")
    index_dir = tmp_path / "index"
    built = subprocess.run(
        [sys.executable, "-m", "qa", "build", str(PROJECT / "corpus"), "--index", str(index_dir),
         "--store", "milvus", "--ray", "--quiet"],
        capture_output=True, text=True, timeout=900,
    )  # fmt: skip
    assert built.returncode == 0, built.stderr[-4000:]  # what went wrong, when it does
    assert "Indexed 1 document as" in built.stdout
    index = qa.load_index(index_dir)
    assert index.manifest["embedded"]["on"] == "ray"
    assert index.manifest["store"]["kind"] == "milvus"
    assert index.retrieve("When was the National AI Office launched?")


def test_a_missing_extra_names_the_pip_line(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "ray", None)
    with pytest.raises(qa.MissingDependencyError, match=r"pip install 'qa\[ray\]'"):
        distributed.embed("all-MiniLM-L6-v2", ["text"], True)
