"""Benchmark: the reader's abstention, threshold by threshold, on SQuAD v2.0 dev.

    .venv/bin/python bench/answerhood.py [--n 500] [--split test] [--seed 13]

Uses bench/squad_eval.py's open index of the 35 dev articles and its seeded sample of ``--n``
answerable and ``--n`` unanswerable questions of the ``--split`` articles. Each question is
answered once through the public seam, ``qa.answer(question, index.retrieve(question))``
with ``min_score=0``, which keeps the reader's score; then every threshold is applied to those
scores. For each it prints the share of answerable questions answered with a right sentence, and
the abstention recall and precision. The reader's calibrated threshold (fitted on tune articles
only) is marked. It prints figures; it checks nothing.
"""

from __future__ import annotations

import argparse
import sys

import squad_eval

from qa.answer import answer, load_reader
from qa.metrics import contains_answer
from qa.questions import read_question_set, select_split

THRESHOLDS = (0.0, 0.05, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=500, help="answerable, and as many not")
    parser.add_argument("--split", choices=("test", "tune"), default="test")
    parser.add_argument("--seed", type=int, default=squad_eval.SEED)
    args = parser.parse_args(argv)
    if not squad_eval.SQUAD.is_file():
        print(f"No SQuAD v2.0 dev set at {squad_eval.SQUAD}; nothing to measure.", file=sys.stderr)
        return 1
    corpus_dir, index_dir = squad_eval.CACHE / "corpus", squad_eval.CACHE / "index"
    squad_eval.write_corpus(squad_eval.SQUAD, corpus_dir)
    index = squad_eval.load_or_build(corpus_dir, index_dir)
    pool = select_split(
        list(read_question_set(squad_eval.SQUAD).questions),
        squad_eval.SQUAD.parent / "splits.json",
        args.split,
    )
    questions = squad_eval.sample(pool, args.n, args.seed)
    passages = index.retrieve_many([q.question for q in questions], 5)
    scored = []
    for question, found in zip(questions, passages):
        reply = answer(question.question, found, min_score=0.0)
        right = reply.text is not None and contains_answer(reply.text, question.answers)
        scored.append((question.answerable, right, reply.score))

    reader = load_reader("default")
    assert reader is not None
    answerable = sum(a for a, _, _ in scored)
    print(
        f"{len(scored)} questions of the {args.split} split ({answerable} answerable), k=5, "
        f"hybrid; calibrated threshold {reader.threshold:.3f}"
    )
    print(f"{'threshold':>10s} {'answer acc':>11s} {'abstain rec':>12s} {'abstain prec':>13s}")
    for threshold in sorted({*THRESHOLDS, round(reader.threshold, 3)}):
        kept = [(a, r) for a, r, s in scored if s >= threshold]
        dropped = [a for a, _, s in scored if s < threshold]
        accuracy = sum(a and r for a, r in kept) / max(answerable, 1)
        recall = sum(not a for a in dropped) / max(len(scored) - answerable, 1)
        precision = sum(not a for a in dropped) / len(dropped) if dropped else float("nan")
        mark = "  <- calibrated" if abs(threshold - reader.threshold) < 5e-4 else ""
        print(f"{threshold:10.3f} {accuracy:11.3f} {recall:12.3f} {precision:13.3f}{mark}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
