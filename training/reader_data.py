"""The reader's training data: SQuAD questions and contexts into tokenised windows.

``select_examples`` draws every example from ``../shared/data/squad/`` with a fixed seed
(``SEED``). No question or paragraph of a ``test`` article is read, nor of the tune articles kept
back for calibration (``training.squad.split_titles``).

Answerable (a question with its gold answer):

- ``SQUAD1_QUESTIONS`` questions of SQuAD v1.1 train, all answerable questions of the first 10
  SQuAD v2.0 train articles and of the training ``tune`` articles of dev-v2.0.

Unanswerable (the context does not answer the question), from the same pools:

- ``real``: SQuAD 2.0's unanswerable questions against their own paragraph
  (``UNANSWERABLE_REPEATS`` times, as they are few);
- ``sentence``: an answerable question against the sentences of its own paragraph that best
  match it but lack the answer (``SENTENCE_NEGATIVES``): read sentence by sentence, a passage
  can be on topic and still not answer;
- ``distractor``: the question against the paragraph of its article that BM25 ranks first
  among those without the answer (``DISTRACTORS``);
- ``perturbed``: the question with one name, number or year swapped for another of the same
  kind from its article that its paragraph never mentions, against that paragraph
  (``PERTURBED``);
- ``off_topic``: the question against a paragraph of another article (``OFF_TOPIC``).

Every context, answerable or not, is cut to a length qa reads (``CONTEXT_SHARES``): the whole
paragraph, one sentence, a few sentences, or the paragraph with a neighbour paragraph of the
same article, as merged chunks are. Questions are typed as users type them (``NOISE``): some
lower case, some without the question mark, some with stray spaces.

``featurize`` turns the examples into windows of ``MAX_TOKENS`` tokens (long contexts in strides
of ``STRIDE``), marking the answer's tokens, as flat arrays, once, ahead of training;
``batches`` and ``collate`` make the seeded batches of torch tensors that
``training.train_reader`` trains on.
"""

from __future__ import annotations

import random
import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from training.squad import load_articles, split_titles

SEED = 0
MAX_TOKENS = 256  # question + passage window; longer passages are read in strides
STRIDE = 96  # tokens two windows of one passage share
MAX_ANSWER_TOKENS = 30  # the longest span the reader marks (its config.json)
PAD_TO = 32  # batch widths are multiples of this (see collate)
# The data selection (see the module docstring).
SQUAD1_QUESTIONS = 64_000
UNANSWERABLE_REPEATS = 2
SENTENCE_NEGATIVES = 14_000
DISTRACTORS = 14_000
PERTURBED = 12_000
OFF_TOPIC = 6_000
#: How a context is cut: (kind, share).
CONTEXT_SHARES = (("paragraph", 0.40), ("sentence", 0.25), ("sentences", 0.20), ("neighbour", 0.15))
#: Question noise: (share lower-cased, share without "?", share with stray spaces).
NOISE = (0.2, 0.3, 0.1)


@dataclass(frozen=True)
class Example:
    """A question read against one context; ``answer`` is (char start, text) or None.
    ``kind`` says which ingredient it came from (see the module docstring)."""

    question: str
    context: str
    answer: tuple[int, str] | None
    kind: str = "answerable"


_SENTENCE_END = re.compile(r"[.!?][\"'”’)\]]*\s+(?=[\"“(\[]?[A-Z0-9])")
_NAME = re.compile(r"(?<!^)(?<![.?!] )\b[A-Z][\w'’-]*(?:\s+(?:of\s+|the\s+|de\s+)?[A-Z][\w'’-]*)*")
_NUMBER = re.compile(r"\b\d[\d,.]*\b")
_WORD = re.compile(r"\w+")
_STOP = frozenset(
    [
        "a",
        "an",
        "the",
        "of",
        "in",
        "on",
        "at",
        "to",
        "for",
        "by",
        "with",
        "from",
        "and",
        "or",
        "is",
        "are",
        "was",
        "were",
        "be",
        "been",
        "what",
        "which",
        "who",
        "whom",
        "whose",
        "when",
        "where",
        "why",
        "how",
        "did",
        "does",
        "do",
        "that",
        "this",
        "these",
        "those",
        "as",
        "it",
        "its",
    ]
)


def sentence_spans(text: str) -> list[tuple[int, int]]:
    """Sentences of ``text`` as (start, end), by a fast rule (training data only: qa's index
    splits with pysbd, which is too slow for a hundred thousand paragraphs)."""
    spans, start = [], 0
    for match in _SENTENCE_END.finditer(text):
        end = match.start() + len(match.group().rstrip())
        spans.append((start, end))
        start = match.end()
    if text[start:].strip():
        spans.append((start, len(text.rstrip())))
    return spans


def _words(text: str) -> set[str]:
    return {w for w in _WORD.findall(text.lower()) if w not in _STOP}


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
            for _ in range(UNANSWERABLE_REPEATS):
                examples.append(
                    _cut(rng, Example(qa["question"], context, None, "real"), paragraphs, number)
                )
            continue
        gold = qa["answers"][0]
        example = Example(qa["question"], context, (gold["answer_start"], gold["text"]))
        examples.append(_cut(rng, example, paragraphs, number))
        answerable.append((paragraphs, number, qa))

    def draw(count: int) -> list[tuple[list[str], int, dict[str, Any]]]:
        return rng.sample(answerable, min(len(answerable), int(count * scale)))

    for paragraphs, number, qa in draw(SENTENCE_NEGATIVES):
        negative = other_sentences(rng, qa, paragraphs[number])
        if negative is not None:
            examples.append(negative)
    for example, (paragraphs, number) in _distractors(draw(DISTRACTORS)):
        examples.append(_cut(rng, example, paragraphs, number))
    for paragraphs, number, qa in draw(PERTURBED):
        question = perturb(rng, qa["question"], paragraphs, number)
        if question is not None:
            example = Example(question, paragraphs[number], None, "perturbed")
            examples.append(_cut(rng, example, paragraphs, number))
    articles = [a for a in squad1 if a["paragraphs"]]
    for _, _, qa in draw(OFF_TOPIC):
        article = rng.choice(articles)
        paragraphs = [p["context"] for p in article["paragraphs"]]
        number = rng.randrange(len(paragraphs))
        if not _holds_answer(paragraphs[number], qa):
            example = Example(qa["question"], paragraphs[number], None, "off_topic")
            examples.append(_cut(rng, example, paragraphs, number))
    examples = [replace(e, question=_noisy(rng, e.question)) for e in examples]
    rng.shuffle(examples)
    return examples


def kinds(examples: list[Example]) -> dict[str, int]:
    """How many examples each ingredient gave."""
    return dict(Counter(e.kind for e in examples).most_common())


def _questions(articles: list[dict[str, Any]]) -> Iterator[tuple[list[str], int, dict[str, Any]]]:
    for article in articles:
        paragraphs = [p["context"] for p in article["paragraphs"]]
        for number, paragraph in enumerate(article["paragraphs"]):
            for qa in paragraph["qas"]:
                yield paragraphs, number, qa


def _holds_answer(context: str, qa: dict[str, Any]) -> bool:
    lowered = context.lower()
    return any(a["text"].lower() in lowered for a in qa["answers"])


def _cut(rng: random.Random, example: Example, paragraphs: list[str], number: int) -> Example:
    """``example`` with its context cut to one of ``CONTEXT_SHARES``; the answer, if any, stays
    whole inside it and its offset follows."""
    kind = rng.choices([k for k, _ in CONTEXT_SHARES], [w for _, w in CONTEXT_SHARES])[0]
    text = example.context
    if kind == "paragraph":
        return example
    if kind == "neighbour":
        others = [i for i in (number - 1, number + 1) if 0 <= i < len(paragraphs)]
        if not others:
            return example
        if example.answer is None:
            return example  # a neighbour may hold the answer of a question asked elsewhere
        other = rng.choice(others)
        if other < number:
            shift = len(paragraphs[other]) + 2
            context = paragraphs[other] + "\n\n" + text
        else:
            shift = 0
            context = text + "\n\n" + paragraphs[other]
        answer = example.answer
        if answer is not None:
            answer = (answer[0] + shift, answer[1])
        return replace(example, context=context, answer=answer)
    spans = sentence_spans(text)
    if len(spans) < 2:
        return example
    if example.answer is None:
        # The sentence that best matches the question, with neighbours for "sentences".
        question = _words(example.question)
        anchor = max(
            range(len(spans)), key=lambda i: len(question & _words(text[slice(*spans[i])]))
        )
    else:
        start, answer_text = example.answer
        end = start + len(answer_text)
        inside = [i for i, (s, e) in enumerate(spans) if s <= start and end <= e]
        if not inside:
            return example  # the answer crosses a sentence break
        anchor = inside[0]
    low = high = anchor
    if kind == "sentences":
        low = max(0, anchor - rng.randint(0, 2))
        high = min(len(spans) - 1, anchor + rng.randint(0, 2))
    begin, finish = spans[low][0], spans[high][1]
    moved = None if example.answer is None else (example.answer[0] - begin, example.answer[1])
    return replace(example, context=text[begin:finish], answer=moved)


def other_sentences(rng: random.Random, qa: dict[str, Any], paragraph: str) -> Example | None:
    """The question against the 1-3 sentences of its paragraph that best match it without
    holding its answer."""
    spans = sentence_spans(paragraph)
    question = _words(qa["question"])
    candidates = [
        (len(question & _words(paragraph[s:e])), i)
        for i, (s, e) in enumerate(spans)
        if not _holds_answer(paragraph[s:e], qa)
    ]
    if not candidates:
        return None
    _, anchor = max(candidates)
    low, high = anchor, anchor
    for _ in range(rng.randint(0, 2)):  # grow by neighbours that lack the answer too
        for i in (low - 1, high + 1):
            if 0 <= i < len(spans) and not _holds_answer(paragraph[slice(*spans[i])], qa):
                low, high = min(low, i), max(high, i)
                break
    context = paragraph[spans[low][0] : spans[high][1]]
    return Example(qa["question"], context, None, "sentence")


def perturb(rng: random.Random, question: str, paragraphs: list[str], number: int) -> str | None:
    """``question`` with one name, number or year that its paragraph mentions swapped for one of
    the same kind from elsewhere in the article that the paragraph never mentions."""
    paragraph = paragraphs[number].lower()
    choices = []
    for pattern in (_NAME, _NUMBER):
        for match in pattern.finditer(question):
            if match.group().lower() in paragraph:
                choices.append((pattern, match))
    if not choices:
        return None
    pattern, match = rng.choice(choices)
    article = " ".join(paragraphs)
    pool = sorted(
        {
            m.group()
            for m in pattern.finditer(article)
            if m.group().lower() not in paragraph
            and len(m.group()) > 1
            and (pattern is _NAME or len(m.group()) == len(match.group()))
        }
    )
    if not pool:
        return None
    return question[: match.start()] + rng.choice(pool) + question[match.end() :]


def _distractors(
    chosen: list[tuple[list[str], int, dict[str, Any]]],
) -> list[tuple[Example, tuple[list[str], int]]]:
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
                candidate = int(candidate)
                if candidate != number and not _holds_answer(paragraphs[candidate], qa):
                    example = Example(qa["question"], paragraphs[candidate], None, "distractor")
                    negatives.append((example, (paragraphs, candidate)))
                    break
    return negatives


def _noisy(rng: random.Random, question: str) -> str:
    """``question`` as users type it, now and then (``NOISE``)."""
    lower, no_mark, spaces = NOISE
    question = question.strip()
    if rng.random() < lower:
        question = question.lower()
    if rng.random() < no_mark:
        question = question.rstrip("?").rstrip()
    if rng.random() < spaces:
        words = question.split(" ")
        i = rng.randrange(len(words))
        words[i] = words[i] + " "
        question = " " + " ".join(words) + "  "
    return question


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
