"""Benchmark: the evaluation on SQuAD v2.0 dev, dense / keyword / hybrid retrieval side by side.

    .venv/bin/python bench/squad_eval.py [--n 500] [--k 5] [--seed 13] [--split test]
                                         [--modes dense,keyword,hybrid]

Reads ``../shared/data/squad/dev-v2.0.json`` (beside this repository), writes its 35 articles as a
JSONL corpus (one document per article, its paragraphs joined by blank lines) and builds an index
of it under ``bench/.cache/squad-v2-dev/`` (reused while the corpus is unchanged): an open corpus.
Then it draws a seeded random sample of ``--n`` answerable and ``--n`` unanswerable questions of
the ``--split`` articles (``splits.json``: quality is reported on ``test``), runs
``qa.evaluate`` once per retrieval mode, prints the metrics side by side and writes each mode's
report to the cache folder. It prints figures; it checks nothing.

SQuAD questions were written while reading their paragraph, so they share many words with it:
keyword search looks strong here, stronger than on questions users write.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from pathlib import Path

import qa
from qa.api import stale_reason
from qa.evaluate import EvalReport, evaluate, format_metric
from qa.questions import Question, read_question_set, select_split

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repository: training/
from training.squad import DATA_DIR, load_articles, write_articles

ROOT = Path(__file__).resolve().parents[1]
SQUAD = DATA_DIR / "dev-v2.0.json"
CACHE = ROOT / "bench" / ".cache" / "squad-v2-dev"
MODES = ("dense", "keyword", "hybrid")
SEED = 13


def write_corpus(squad: Path, corpus_dir: Path) -> None:
    """One JSONL document per article of ``squad``: the corpus the questions are asked of."""
    write_articles(load_articles(squad), corpus_dir / "squad-v2-dev.jsonl")


def load_or_build(corpus_dir: Path, index_dir: Path) -> qa.Index:
    reason = stale_reason(index_dir, corpus_dir)
    if reason is None:
        return qa.load_index(index_dir)
    print(f"Building the index in {index_dir} ({reason}) ...", flush=True)
    started = time.perf_counter()
    index = qa.build_index(corpus_dir, index_dir, show_progress=True)
    print(f"Built in {time.perf_counter() - started:.0f} s", flush=True)
    return index


def sample(questions: list[Question], n: int, seed: int) -> list[Question]:
    """``n`` answerable and ``n`` unanswerable questions (fewer if there are not as many)."""
    rng = random.Random(seed)
    answerable = [q for q in questions if q.answerable]
    unanswerable = [q for q in questions if not q.answerable]
    chosen = {
        q.id for group in (answerable, unanswerable) for q in rng.sample(group, min(n, len(group)))
    }
    return [q for q in questions if q.id in chosen]  # in file order


def average_passage_chars(index: qa.Index, questions: list[Question], k: int, mode: str) -> float:
    """The mean length in characters of the passages retrieved for the questions."""
    passages = [
        p
        for hits in index.retrieve_many([q.question for q in questions], k, mode=mode)
        for p in hits
    ]
    return sum(len(p.text) for p in passages) / len(passages)


def side_by_side(reports: dict[str, EvalReport], extra: dict[str, dict[str, str]]) -> str:
    names = list(next(iter(reports.values())).metrics) + list(extra)
    rows = [
        [name]
        + [
            extra[name][mode] if name in extra else format_metric(name, report.metrics[name])
            for mode, report in reports.items()
        ]
        for name in names
    ]
    header = ["metric", *reports]
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    lines = [
        "  ".join(
            h.ljust(w) if i == 0 else h.rjust(w) for i, (h, w) in enumerate(zip(header, widths))
        )
    ]
    lines.append("  ".join("-" * w for w in widths))
    for row in rows:
        lines.append(
            "  ".join(
                c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(row, widths))
            )
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--n",
        type=int,
        default=500,
        help="answerable questions, and as many unanswerable (default 500)",
    )
    parser.add_argument(
        "--k", type=int, default=5, help="passages retrieved per question (default 5)"
    )
    parser.add_argument("--seed", type=int, default=SEED, help=f"sampling seed (default {SEED})")
    parser.add_argument(
        "--split",
        choices=("test", "tune", "all"),
        default="test",
        help="articles whose questions are asked (default test; splits.json beside the data)",
    )
    parser.add_argument("--modes", default=",".join(MODES), help="retrieval modes to run")
    args = parser.parse_args(argv)
    if not SQUAD.is_file():
        print(f"No SQuAD v2.0 dev set at {SQUAD}; nothing to benchmark.", file=sys.stderr)
        return 1

    corpus_dir, index_dir = CACHE / "corpus", CACHE / "index"
    write_corpus(SQUAD, corpus_dir)
    index = load_or_build(corpus_dir, index_dir)
    question_set = read_question_set(SQUAD)
    pool = list(question_set.questions)
    if args.split != "all":
        pool = select_split(pool, SQUAD.parent / "splits.json", args.split)
    questions = sample(pool, args.n, args.seed)
    counts = index.manifest["counts"]
    print(
        f"SQuAD v2.0 dev: {counts['documents']} articles, {counts['chunks']} chunks; "
        f"{len(questions)} questions sampled (seed {args.seed}) of the {len(pool)} of the "
        f"{args.split} split; "
        f"k={args.k}; model {index.model_name}",
        flush=True,
    )

    reports: dict[str, EvalReport] = {}
    passage_chars: dict[str, str] = {}
    for mode in args.modes.split(","):
        started = time.perf_counter()
        report = evaluate(
            questions, index=index, k=args.k, mode=mode, squad_v2=True, show_progress=True
        )
        print(f"{mode}: {time.perf_counter() - started:.0f} s", flush=True)
        report.write_json(CACHE / f"report-{args.split}-{mode}.json")
        reports[mode] = report
        passage_chars[mode] = f"{average_passage_chars(index, questions, args.k, mode):.0f}"

    print()
    print(side_by_side(reports, {"avg_passage_chars": passage_chars}))
    print(f"\nReports: {CACHE}/report-*.json")
    return 0


if __name__ == "__main__":
    sys.exit(main())
