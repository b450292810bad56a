"""Answer or refuse: a small calibrated model over what the reader and the passages show.

One logit against one threshold did not transfer beyond the data it was fitted on: questions
people type about news scored lower across the board. The decision is instead a logistic model
over a few features of the best candidate, each one meaningful whatever the corpus:

- ``answer_logit``: the reader's answer head on the candidate's window ("this window answers");
- ``log_span_probability``: how sure the span head is of this span within its window;
- ``span_logit``: the span's raw start + end logits (not normalised within the window, so a
  short window does not look sure just because it has few tokens);
- ``margin``: the candidate's reader score minus the best score of a different span;
- ``agreement``: the share of the other windows whose span says the same thing;
- ``log_rank``: the log of the holding passage's rank in retrieval;
- ``question_overlap`` / ``passage_overlap``: the share of the question's content words found
  in the answer sentence / in the holding passage;
- ``span_in_question``: the share of the span's content words the question already has (an
  "answer" that repeats the question answers nothing).

``training/calibrate_reader.py`` fits the weights (on held-out tune articles plus synthetic
one-sentence pieces) and picks the threshold for a stated precision; both live in the reader's
``config.json``. The probability is ``Answer.score``.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

FEATURES = (
    "answer_logit",
    "log_span_probability",
    "span_logit",
    "margin",
    "agreement",
    "log_rank",
    "question_overlap",
    "passage_overlap",
    "span_in_question",
)

_WORD = re.compile(r"\w+")
_STOP = frozenset(
    [
        "a",
        "about",
        "after",
        "all",
        "also",
        "an",
        "and",
        "any",
        "are",
        "as",
        "at",
        "be",
        "been",
        "before",
        "but",
        "by",
        "can",
        "could",
        "did",
        "do",
        "does",
        "for",
        "from",
        "had",
        "has",
        "have",
        "he",
        "her",
        "his",
        "how",
        "i",
        "if",
        "in",
        "into",
        "is",
        "it",
        "its",
        "many",
        "may",
        "me",
        "more",
        "most",
        "much",
        "my",
        "no",
        "not",
        "of",
        "on",
        "one",
        "or",
        "other",
        "our",
        "out",
        "over",
        "she",
        "should",
        "so",
        "some",
        "such",
        "than",
        "that",
        "the",
        "their",
        "them",
        "then",
        "there",
        "these",
        "they",
        "this",
        "those",
        "through",
        "to",
        "up",
        "was",
        "we",
        "were",
        "what",
        "when",
        "where",
        "which",
        "while",
        "who",
        "whom",
        "whose",
        "why",
        "will",
        "with",
        "would",
        "you",
        "your",
    ]
)


@dataclass(frozen=True)
class Decision:
    """A fitted decision: ``P(right) = sigmoid(weights . (features - mean) / scale + bias)``."""

    weights: Mapping[str, float]
    mean: Mapping[str, float]
    scale: Mapping[str, float]
    bias: float

    @classmethod
    def from_config(cls, config: Mapping[str, object]) -> Decision:
        """The decision of a reader's ``config.json`` entry ``decision``."""
        weights = dict(config["weights"])  # type: ignore[call-overload]
        mean = dict(config.get("mean", {}))  # type: ignore[call-overload]
        scale = dict(config.get("scale", {}))  # type: ignore[call-overload]
        return cls(
            weights={k: float(v) for k, v in weights.items()},
            mean={k: float(mean.get(k, 0.0)) for k in weights},
            scale={k: float(scale.get(k, 1.0)) or 1.0 for k in weights},
            bias=float(config["bias"]),  # type: ignore[arg-type]
        )

    def probability(self, features: Mapping[str, float]) -> float:
        """P(the candidate is right) for ``features`` (names as in ``FEATURES``)."""
        logit = self.bias + sum(
            w * (features[name] - self.mean[name]) / self.scale[name]
            for name, w in self.weights.items()
        )
        return 1.0 / (1.0 + math.exp(-max(min(logit, 50.0), -50.0)))


def content_words(text: str) -> set[str]:
    """Lower-case words of ``text`` without stop words, cut to 6 letters (a crude stem)."""
    return {w[:6] for w in _WORD.findall(text.lower()) if w not in _STOP}


def features(
    question: str,
    *,
    answer_logit: float,
    span_probability: float,
    span_logit: float,
    score: float,
    span: str,
    others: Sequence[tuple[float, str]],
    rank: int,
    sentence: str,
    passage: str,
) -> dict[str, float]:
    """The decision features of one candidate (see the module docstring). ``others`` are the
    (score, span text) of the reader's other windows."""
    asked = content_words(question)
    said = content_words(span)
    same = [s for _, s in others if _same(s, span)]
    different = [value for value, s in others if not _same(s, span)]
    return {
        "answer_logit": answer_logit,
        "log_span_probability": math.log(max(span_probability, 1e-9)),
        "span_logit": span_logit,
        "margin": score - max(different, default=0.0),
        "agreement": len(same) / len(others) if others else 0.0,
        "log_rank": math.log(max(rank, 1)),
        "question_overlap": _share(asked, content_words(sentence)),
        "passage_overlap": _share(asked, content_words(passage)),
        "span_in_question": _share(said, asked),
    }


def _share(words: set[str], within: set[str]) -> float:
    return len(words & within) / len(words) if words else 0.0


def _same(a: str, b: str) -> bool:
    a, b = a.lower().strip(), b.lower().strip()
    return bool(a) and bool(b) and (a in b or b in a)
