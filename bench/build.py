"""Benchmark: building an index against a bare sentence-transformers encode of the same chunk
texts, peak memory of each, and an incremental rebuild after one file changes. Prints figures.

    .venv/bin/python bench/build.py [--corpus DIR] [--articles N]

The default corpus is the Wikipedia articles of SQuAD v1.1 dev (../shared/data/squad), one text
file per article, paragraphs kept; ``--corpus`` takes any folder instead. Each step runs in its
own process, so peak memory (ru_maxrss) is that step's alone; the model load is timed apart from
the work. The bare encode runs before and after the build and the two are averaged, so machine
noise does not favour either side. Scratch files go to bench/.cache/build/.
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
CACHE = ROOT / "bench" / ".cache" / "build"
SQUAD = ROOT.parent / "shared" / "data" / "squad" / "dev-v1.1.json"


def write_squad_corpus(folder: Path, articles: int | None) -> None:
    """One .txt per SQuAD article: its title, then its paragraphs separated by blank lines."""
    data = json.loads(SQUAD.read_text(encoding="utf-8"))["data"][:articles]
    folder.mkdir(parents=True)
    for number, article in enumerate(data):
        title = article["title"].replace("_", " ")
        paragraphs = [p["context"].strip() for p in article["paragraphs"]]
        text = "\n\n".join([title, *paragraphs]) + "\n"
        (folder / f"{number:02d}-{article['title'][:40]}.txt").write_text(text, encoding="utf-8")


def peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


# -- the steps, each run in a child process ------------------------------------------------------


def step_build(corpus: Path, index_dir: Path, incremental: bool) -> dict[str, Any]:
    from qa.build import build
    from qa.embedding import get_encoder

    started = time.perf_counter()
    get_encoder()
    load = time.perf_counter() - started
    memory_before = peak_mib()
    started = time.perf_counter()
    folder = build(corpus, index_dir, show_progress=False, incremental=incremental)
    seconds = time.perf_counter() - started
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    return {
        "seconds": seconds,
        "model_load_seconds": load,
        "peak_mib": peak_mib(),
        "peak_mib_after_model_load": memory_before,
        "counts": manifest["counts"],
        "embedded": manifest["embedded"],
    }


def step_encode(index_dir: Path) -> dict[str, Any]:
    """A bare sentence-transformers encode of the chunk texts the index holds."""
    import numpy as np

    from qa import store
    from qa.embedding import resolve_model

    stored = store.load(index_dir)
    texts = [stored.documents[row].text[start:end] for row, start, end in stored.chunks]
    del stored
    from sentence_transformers import SentenceTransformer

    started = time.perf_counter()
    model = SentenceTransformer(resolve_model("all-MiniLM-L6-v2"))
    load = time.perf_counter() - started
    started = time.perf_counter()
    vectors = model.encode(texts, batch_size=64, normalize_embeddings=True)
    seconds = time.perf_counter() - started
    return {
        "seconds": seconds,
        "model_load_seconds": load,
        "peak_mib": peak_mib(),
        "chunks": len(np.asarray(vectors)),
    }


def child(*args: str) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, __file__, "--step", *args],
        check=True,
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, help="corpus folder (default: SQuAD v1.1 dev)")
    parser.add_argument("--articles", type=int, help="only the first N SQuAD articles")
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    parser.add_argument("--step", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.step:
        name, *rest = args.step
        if name == "build":
            figures = step_build(Path(rest[0]), Path(rest[1]), rest[2] == "incremental")
        else:
            figures = step_encode(Path(rest[0]))
        print(json.dumps(figures))
        return 0

    shutil.rmtree(CACHE, ignore_errors=True)
    corpus = CACHE / "corpus"
    if args.corpus:
        shutil.copytree(args.corpus, corpus)
    elif SQUAD.is_file():
        write_squad_corpus(corpus, args.articles)
    else:
        print(f"No corpus: {SQUAD} is absent; give --corpus DIR.")
        return 0
    index_dir = CACHE / "index"
    size = sum(p.stat().st_size for p in corpus.rglob("*") if p.is_file())
    print(f"Corpus: {corpus} ({len(list(corpus.iterdir()))} files, {size / 1e6:.2f} MB)")

    full = child("build", str(corpus), str(index_dir), "full")
    encodes = [child("encode", str(index_dir))]
    full_again = child("build", str(corpus), str(CACHE / "index-2"), "full")
    encodes.append(child("encode", str(index_dir)))
    build_s = statistics.mean([full["seconds"], full_again["seconds"]])
    encode_s = statistics.mean(e["seconds"] for e in encodes)

    # One file changes: append a paragraph to the first file.
    changed = sorted(corpus.iterdir())[0]
    with changed.open("a", encoding="utf-8") as handle:
        handle.write("\nThis paragraph was added to measure an incremental build.\n")
    incremental = child("build", str(corpus), str(index_dir), "incremental")

    counts = full["counts"]
    lines = [
        f"Chunks: {counts['chunks']} of {counts['documents']} documents",
        f"{'':36s} {'seconds':>8s} {'peak MiB':>9s}",
        f"{'bare encode of the chunk texts':36s} {encode_s:8.1f} {encodes[0]['peak_mib']:9.0f}",
        f"{'qa build (full)':36s} {build_s:8.1f} {full['peak_mib']:9.0f}",
        f"{'qa build ratio to the bare encode':36s} {build_s / encode_s:8.2f}",
        f"{'incremental, one file changed':36s} {incremental['seconds']:8.1f} "
        f"{incremental['peak_mib']:9.0f}   ({incremental['embedded']['chunks']} chunks embedded)",
        f"Model load (not in the figures above): {full['model_load_seconds']:.1f} s; peak memory "
        f"after the model load {full['peak_mib_after_model_load']:.0f} MiB",
    ]
    print("\n".join(lines))
    if args.json:
        figures = {
            "full": [full, full_again],
            "encode": encodes,
            "incremental": incremental,
            "ratio": build_s / encode_s,
        }
        args.json.write_text(json.dumps(figures, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
