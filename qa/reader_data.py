"""The reader's training data: SQuAD questions and paragraphs into tokenised windows.

``select_examples`` draws the examples, all from ``../shared/data/squad/`` and with a fixed seed:

- answerable questions against their own paragraph: a sample of SQuAD v1.1 train, all of the
  first 10 SQuAD v2.0 train articles, and the dev-v2.0 articles that ``splits.json`` puts in
  ``tune`` except the ``qa.squad.CALIBRATION_ARTICLES`` kept back to calibrate the threshold;
- negatives: SQuAD 2.0's unanswerable questions against their own paragraph (repeated, as they
  are few), the same questions against the paragraph of their article that BM25 (bm25s, as in
  qa's keyword retriever) ranks first among those without the answer (hard negatives), and
  against a random other paragraph of the article.

No question or paragraph of a ``test`` article is read. ``featurize`` turns the examples into
windows of ``MAX_TOKENS`` tokens (long paragraphs in strides of ``STRIDE``), marking the answer's
tokens, as flat arrays; ``batches`` and ``collate`` make the seeded batches of torch tensors
that ``qa.train_reader`` trains on. bm25s and torch are imported only when called, never by the
answering path.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from qa.squad import load_articles, split_titles

SEED = 0
MAX_TOKENS = 256  # question + passage window; longer passages are read in strides
STRIDE = 96  # tokens two windows of one passage share
MAX_ANSWER_TOKENS = 30  # the longest span the reader marks (its config.json)
PAD_TO = 32  # batch widths are multiples of this (see collate)
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
