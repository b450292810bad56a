"""Experiment: can cheap signals tell a sentence that answers from one that is only relevant?

    .venv/bin/python bench/answerhood.py [--n 600]

The cross-encoder scores relevance; abstaining on SQuAD v2's unanswerable questions needs to know
whether a sentence answers. Two tries without a model trained for that, both printed against the
cross-encoder alone (the shipped answer step), on the SQuAD v2.0 sample of bench/squad_eval.py:

1. A logistic regression over, per candidate sentence: the cross-encoder logit, its margin to the
   best candidate's, the cheap score, whether a typed question ("how many", "when", "who") finds
   a fact of its type in the sentence (qa.span), the share of the sentence's words the question
   does not have, the share of the question's words it has, whether it points back, and its rank.
   It is fitted on ``--n`` questions of the 13 SQuAD v1.1 dev articles that v2.0 dev does not
   hold, so nothing it is scored on was seen.
2. A rule: a typed question whose chosen sentence holds no fact of its type abstains.

Scratch files go to bench/.cache/answerhood/. Prints figures; checks nothing. The SQuAD v2 index
is bench/squad_eval.py's (built there if missing).
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from pathlib import Path
from typing import Any

import numpy as np
import squad_eval

import qa
from qa import answer as answering
from qa.evaluate import contains_answer
from qa.questions import Question, read_question_set
from qa.rerank import get_reranker
from qa.span import answer_type, find_span

CACHE = squad_eval.ROOT / "bench" / ".cache" / "answerhood"
SQUAD_V1 = squad_eval.SQUAD.parent / "dev-v1.1.json"
CANDIDATES = answering.RERANK_CANDIDATES
FEATURES = ("logit", "margin", "cheap", "typed_hit", "typed_miss", "new_words", "overlap",
            "points_back", "log_rank")  # fmt: skip


def held_out(n: int, seed: int) -> tuple[Path, list[Question]]:
    """A corpus of the SQuAD v1.1 dev articles that v2.0 dev lacks, and ``n`` of their
    questions."""
    v1 = json.loads(SQUAD_V1.read_text(encoding="utf-8"))["data"]
    v2 = {a["title"] for a in json.loads(squad_eval.SQUAD.read_text(encoding="utf-8"))["data"]}
    articles = [a for a in v1 if a["title"] not in v2]
    corpus = CACHE / "corpus"
    squad_eval.write_articles(articles, corpus / "held-out.jsonl")
    questions = [
        Question(
            id=q["id"],
            question=q["question"],
            answers=tuple(sorted({x["text"] for x in q["answers"]})),
        )
        for a in articles
        for p in a["paragraphs"]
        for q in p["qas"]
    ]
    return corpus, random.Random(seed).sample(questions, min(n, len(questions)))


def candidates(index: qa.Index, questions: list[Question]) -> list[dict[str, Any]]:
    """Each question's best candidate sentences, as the answer step sees them, with logits."""
    taken, vectors, cleaned = index._search([q.question for q in questions], 5, None)
    reranker = get_reranker(index.reranker)
    out = []
    for question, passages, vector, text in zip(questions, taken, vectors, cleaned):
        rows = index._candidate_rows([row for _, chunks in passages for row in chunks])
        texts = [index._sentence_text(int(r)) for r in rows]
        scored = answering.score_candidates(
            text, vector, rows, index._sentences, index._stored.sentence_vectors, texts
        )[:CANDIDATES]
        sentences = [index._sentence_text(c.row) for c in scored]
        out.append(
            {
                "question": text,
                "answerable": question.answerable,
                "golds": list(question.answers),
                "sentences": sentences,
                "cheap": [c.score for c in scored],
                "logits": reranker.score(text, sentences).tolist(),
            }
        )
    return out


def features(item: dict[str, Any]) -> np.ndarray:
    question = item["question"]
    kind = answer_type(question)
    asked = answering.terms(question)
    best = max(item["logits"], default=0.0)
    rows = []
    for rank, (sentence, cheap, logit) in enumerate(
        zip(item["sentences"], item["cheap"], item["logits"])
    ):
        words = answering.terms(sentence)
        typed = kind is not None and find_span(question, sentence) is not None
        rows.append(
            [
                logit,
                logit - best,
                cheap,
                float(typed),
                float(kind is not None and not typed),
                len(words - asked) / len(words) if words else 0.0,
                len(words & asked) / len(asked) if asked else 0.0,
                float(answering.points_back(sentence)),
                float(np.log1p(rank)),
            ]
        )
    return np.asarray(rows, dtype=np.float64).reshape(-1, len(FEATURES))


def collect(name: str, index: qa.Index, questions: list[Question]) -> list[dict[str, Any]]:
    path = CACHE / f"{name}.json"
    if path.is_file():
        return list(json.loads(path.read_text(encoding="utf-8")))
    print(f"Reading {len(questions)} questions of {name} ...", flush=True)
    items = candidates(index, questions)
    path.write_text(json.dumps(items), encoding="utf-8")
    return items


def outcome(items: list[dict[str, Any]], scores: list[np.ndarray], threshold: float) -> str:
    """Right answers (abstention counts wrong) and abstentions on the unanswerable questions."""
    right = abstained = answerable = 0
    for item, score in zip(items, scores):
        if len(score) == 0:
            abstained += not item["answerable"]
            continue
        choice = int(np.argmax(score))
        keeps = score[choice] >= threshold
        if item["answerable"]:
            answerable += 1
            right += keeps and contains_answer(item["sentences"][choice], item["golds"])
        else:
            abstained += not keeps
    unanswerable = len(items) - answerable
    return (
        f"right {right / answerable:.3f}, abstained on unanswerable {abstained / unanswerable:.3f}"
    )


def _typed_rule(item: dict[str, Any], logits: np.ndarray) -> np.ndarray:
    """The logits, or all -inf (abstain) when a typed question's choice holds no typed fact."""
    if len(logits) == 0 or answer_type(item["question"]) is None:
        return logits
    choice = item["sentences"][int(np.argmax(logits))]
    if find_span(item["question"], choice) is None:
        return np.full_like(logits, -np.inf)
    return logits


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=600, help="held-out questions to fit on")
    args = parser.parse_args(argv)
    if not SQUAD_V1.is_file() or not squad_eval.SQUAD.is_file():
        print(f"No SQuAD dev sets in {SQUAD_V1.parent}; nothing to run.", file=sys.stderr)
        return 1
    from sklearn.linear_model import LogisticRegression

    corpus, fit_questions = held_out(args.n, squad_eval.SEED)
    fit_index = squad_eval.load_or_build(corpus, CACHE / "index")
    fit_items = collect(f"held-out-{args.n}", fit_index, fit_questions)

    squad_eval.write_corpus(squad_eval.SQUAD, squad_eval.CACHE / "corpus")
    index = squad_eval.load_or_build(squad_eval.CACHE / "corpus", squad_eval.CACHE / "index")
    sample = squad_eval.sample(
        list(read_question_set(squad_eval.SQUAD).questions), 500, squad_eval.SEED
    )
    items = collect("squad-v2-sample", index, sample)

    x = np.vstack([features(i) for i in fit_items])
    y = np.concatenate(
        [[contains_answer(s, i["golds"]) for s in i["sentences"]] for i in fit_items]
    ).astype(int)
    model = LogisticRegression(max_iter=1000).fit(x, y)
    print("weights:", dict(zip(FEATURES, np.round(model.coef_[0], 3).tolist())))

    logits = [np.asarray(i["logits"]) for i in items]
    learned = [
        model.predict_proba(features(i))[:, 1] if i["logits"] else np.zeros(0) for i in items
    ]
    print(f"\nSQuAD v2.0 sample, {len(items)} questions, best of {CANDIDATES} candidates:")
    print(f"  cross-encoder, sigmoid >= 0.5:    {outcome(items, logits, 0.0)}")
    print(f"  cross-encoder, never abstaining:  {outcome(items, logits, -np.inf)}")
    print(f"  learned, never abstaining:        {outcome(items, learned, -np.inf)}")
    for threshold in (0.3, 0.4, 0.5, 0.6):
        label = f"learned, p >= {threshold}:"
        print(f"  {label:<34}{outcome(items, learned, threshold)}")
    typed = [_typed_rule(i, lg) for i, lg in zip(items, logits)]
    print(f"  typed rule + cross-encoder >= 0.5: {outcome(items, typed, 0.0)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
