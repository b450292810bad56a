"""The scale bench's command line: the options, then each part in turn, then the report."""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import bench.scale
from bench.scale.bm25 import keyword
from bench.scale.data import VECTOR_KINDS
from bench.scale.faiss_dense import dense
from bench.scale.measure import load_average
from bench.scale.milvus import milvus_store
from bench.scale.probe import probe_load
from bench.scale.report import report
from qa import store


def integers(text: str) -> list[int]:
    return [int(value) for value in text.split(",")]


def parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=(bench.scale.__doc__ or "").splitlines()[0])
    parser.add_argument("--chunks", type=int, default=1_000_000, help="corpus size")
    parser.add_argument("--queries", type=int, default=500, help="queries and questions")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--ef",
        type=integers,
        default=[16, 32, 64, store.HNSW_EF_SEARCH, 256],
        help="HNSW efSearch values to sweep (comma-separated)",
    )
    what_if = parser.add_argument_group(
        "what if", "build the product's index with other settings than qa.store's (patched in)"
    )
    what_if.add_argument(
        "--index-type", choices=store.INDEX_TYPES, default="auto",
        help="store.make_faiss_index's index_type (qa's default: auto)",
    )  # fmt: skip
    what_if.add_argument("--hnsw-threshold", type=int, help="store.HNSW_THRESHOLD")
    what_if.add_argument("--hnsw-m", type=int, help="store.HNSW_M")
    what_if.add_argument("--ef-construction", type=int, help="store.HNSW_EF_CONSTRUCTION")
    what_if.add_argument("--ef-search", type=int, help="store.HNSW_EF_SEARCH")
    parser.add_argument("--vectors", choices=VECTOR_KINDS, default="documents")
    parser.add_argument("--topic-size", type=int, default=64, help="mean chunks per document")
    parser.add_argument("--ivf", action="store_true", help="also measure an IndexIVFFlat")
    parser.add_argument("--ivf-nlist", type=int, help="IVF lists (default: 4 * sqrt(chunks))")
    parser.add_argument(
        "--nprobe",
        type=integers,
        default=[8, 16, 32, 64, 128],
        help="IVF nprobe values to sweep; the middle one is loaded (comma-separated)",
    )
    parser.add_argument("--vocab", type=int, default=50_000, help="generated words")
    parser.add_argument(
        "--skip",
        choices=("dense", "product", "keyword"),
        action="append",
        default=[],
        help="leave out a part (product: the index store.make_faiss_index builds); repeatable",
    )
    parser.add_argument(
        "--store",
        choices=("faiss", "milvus"),
        default="faiss",
        help="milvus: measure the Milvus store beside FAISS HNSW instead (needs qa[milvus])",
    )
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    parser.add_argument("--workdir", type=Path, help="folder for the files (default: a temp one)")
    parser.add_argument("--keep", action="store_true", help="keep the files in --workdir")
    parser.add_argument("--probe-load", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--probe-flag", default="none", help=argparse.SUPPRESS)
    parser.add_argument("--probe-param", default="=0", help=argparse.SUPPRESS)
    return parser


def patch_store(args: argparse.Namespace) -> dict[str, int]:
    """Set the ``what if`` options on ``qa.store``; return what was patched."""
    patched = {
        name: value
        for name, value in (
            ("HNSW_THRESHOLD", args.hnsw_threshold),
            ("HNSW_M", args.hnsw_m),
            ("HNSW_EF_CONSTRUCTION", args.ef_construction),
            ("HNSW_EF_SEARCH", args.ef_search),
        )
        if value is not None
    }
    for name, value in patched.items():
        print(f"What if: store.{name} = {value} (qa has {getattr(store, name)})")
        setattr(store, name, value)
    if args.ef_search is not None and args.ef_search not in args.ef:
        args.ef = sorted([*args.ef, args.ef_search])
    return patched


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    if args.probe_load is not None:
        knob, _, value = args.probe_param.partition("=")
        probe_load(args.probe_load, args.workdir, args.probe_flag, knob, int(value))
        return 0

    patched = patch_store(args)
    started = time.perf_counter()
    print(f"Load average at start: {load_average()}; {os.cpu_count()} cores", flush=True)
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="qa-scale-"))
    workdir.mkdir(parents=True, exist_ok=True)
    figures: dict[str, Any] = {
        "command": " ".join(sys.argv),
        "chunks": args.chunks,
        "queries": args.queries,
        "seed": args.seed,
        "vectors": args.vectors,
        "hnsw_threshold": store.HNSW_THRESHOLD,
        "index_type": args.index_type,
        "patched": patched,
        "load_average_start": load_average(),
    }
    try:
        if args.store == "milvus":
            figures["milvus"] = milvus_store(args, workdir)
            args.skip = ["dense", "keyword"]
        if "dense" not in args.skip:
            figures["dense"] = dense(args, workdir)
        if "keyword" not in args.skip:
            figures["keyword"] = keyword(args, workdir)
    finally:
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)
    figures["load_average_end"] = load_average()
    figures["total_seconds"] = round(time.perf_counter() - started, 1)
    report(figures, args.json)
    return 0
