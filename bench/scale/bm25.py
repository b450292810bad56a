"""The scale bench's keyword part: the bm25s index qa builds, at the bench's size.

``qa.build.build_bm25`` on generated texts -> build time and memory; ``bm25.save`` and
``bm25s.BM25.load(mmap=True)`` with the tokenizer's vocabulary (what ``store.save`` and
``store.load`` do) -> size on disk and load time; ``qa.retrieval.keyword_search`` for one
question at a time with k=``retrieval.FUSION_DEPTH`` -> p50 / p95 milliseconds, with the time
split into tokenizing, scoring and ranking the matching chunks, and bm25s's own top-k over all
the scores timed for comparison.
"""

from __future__ import annotations

import argparse
import gc
import time
from pathlib import Path
from typing import Any

import numpy as np

from bench.scale.data import chunk_texts, question_texts, vocabulary
from bench.scale.measure import fmt, latencies, reset_peak, rss, step, summary
from qa import retrieval, store
from qa.build import build_bm25


def keyword(args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    """The keyword figures: build, save, load, search, and where a search's time goes."""
    import bm25s

    figures: dict[str, Any] = {"k": retrieval.FUSION_DEPTH}
    n = args.chunks
    with step(f"Generating {n:,} texts of 40-80 words, vocabulary {args.vocab:,}") as timing:
        words = vocabulary(args.vocab, args.seed)
        corpus = chunk_texts(n, words, args.seed)
        questions = question_texts(args.queries, words, args.seed)
    figures["generate_seconds"] = timing["seconds"]
    print(f"  e.g. {corpus[0][:70]!r}; question {questions[0]!r}")

    gc.collect()
    reset_peak()
    before = rss()
    with step("qa.build.build_bm25") as timing:
        bm25, tokenizer = build_bm25(corpus)
    after = rss()
    figures["build_seconds"] = timing["seconds"]
    figures["build_rss_delta_mib"] = round(after["rss"] - before["rss"], 1)
    figures["build_peak_rss_mib"] = round(after["peak"], 1)
    figures["vocabulary"] = len(tokenizer.get_vocab_dict())
    figures["postings"] = len(bm25.scores["data"])
    print(
        f"  {figures['vocabulary']:,} terms, {figures['postings']:,} postings; memory "
        f"+{figures['build_rss_delta_mib']:.0f} MiB, peak {figures['build_peak_rss_mib']:.0f} MiB"
    )
    del corpus

    folder = workdir / store.BM25_DIR
    with step(f"Saving to {folder}") as timing:
        bm25.save(str(folder), show_progress=False)
        tokenizer.save_vocab(str(folder))
        tokenizer.save_stopwords(str(folder))
    figures["save_seconds"] = timing["seconds"]
    figures["disk_mib"] = round(sum(p.stat().st_size for p in folder.iterdir()) / 2**20, 1)
    del bm25, tokenizer
    gc.collect()

    before = rss()
    with step("bm25s.BM25.load(mmap=True) and the tokenizer vocabulary") as timing:
        bm25 = bm25s.BM25.load(str(folder), mmap=True)
        tokenizer = retrieval.bm25_tokenizer()  # what store.load reads the folder with
        tokenizer.load_vocab(str(folder))
        tokenizer.load_stopwords(str(folder))
    figures["load_seconds"] = timing["seconds"]
    figures["load_rss_delta_mib"] = round(rss()["rss"] - before["rss"], 1)

    def search(i: int) -> object:
        return retrieval.keyword_search(bm25, tokenizer, [questions[i]], retrieval.FUSION_DEPTH)

    figures.update(latencies(search, len(questions)))
    figures["rss_after_search_mib"] = round(rss()["rss"], 1)
    print(
        f"  keyword_search, one question, k={retrieval.FUSION_DEPTH}: {fmt(figures)}; load "
        f"{figures['load_seconds']:.2f} s, +{figures['load_rss_delta_mib']:.0f} MiB, RSS "
        f"{figures['rss_after_search_mib']:.0f} MiB after the searches"
    )
    figures.update(search_parts(bm25, tokenizer, questions))
    return figures


def search_parts(bm25: Any, tokenizer: Any, questions: list[str]) -> dict[str, Any]:
    """Where the time goes: the three steps of keyword_search timed apart (its ranking of the
    matching chunks is retrieval.top_rows), and, for comparison, bm25s's own top-k over all the
    scores, which qa used before d79d809: np.argpartition is slow on a long array that is mostly
    zeros."""
    from bm25s import selection

    figures: dict[str, Any] = {}
    depth = retrieval.FUSION_DEPTH
    parts: dict[str, list[float]] = {"tokenize": [], "score": [], "rank": [], "bm25s_topk": []}
    postings, matched, same = [], [], 0
    indptr = np.asarray(bm25.scores["indptr"])
    for question in questions:
        started = time.perf_counter()
        ids = tokenizer.tokenize([question], update_vocab=False, show_progress=False)[0]
        ids = [i for i in ids if i != 0]
        tokenized = time.perf_counter()
        if not ids:
            continue
        scores = bm25.get_scores_from_ids(ids)
        scored = time.perf_counter()
        ranked = list(retrieval.top_rows(scores, depth))
        done = time.perf_counter()
        top_scores, _ = selection.topk(scores, k=depth, sorted=True, backend="numpy")
        parts["bm25s_topk"].append((time.perf_counter() - done) * 1000)
        parts["tokenize"].append((tokenized - started) * 1000)
        parts["score"].append((scored - tokenized) * 1000)
        parts["rank"].append((done - scored) * 1000)
        postings.append(int(sum(indptr[i + 1] - indptr[i] for i in ids)))
        matched.append(int(np.count_nonzero(scores)))
        same += np.array_equal(top_scores[top_scores > 0], [s for _, s in ranked])
    figures["parts"] = {name: summary(values) for name, values in parts.items()}
    figures["postings_per_question_p50_p95"] = [int(v) for v in np.percentile(postings, [50, 95])]
    figures["matching_chunks_p50_p95"] = [int(v) for v in np.percentile(matched, [50, 95])]
    figures["bm25s_topk_same_scores"] = f"{same}/{len(matched)}"
    print(
        "  split: "
        + "; ".join(f"{name} {fmt(value)}" for name, value in figures["parts"].items())
        + f"\n  postings read per question p50/p95 {figures['postings_per_question_p50_p95']},"
        f" chunks matching p50/p95 {figures['matching_chunks_p50_p95']}; bm25s's top-k gives"
        f" the same scores for {same} of {len(matched)} questions"
    )
    return figures
