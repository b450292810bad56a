"""The scale bench's synthetic data: chunk vectors with held-out queries, chunk texts, questions.

Synthetic vectors (seeded). Isotropic random vectors in 384 dimensions have no neighbourhood
structure and are a worst case that no approximate index handles well, while sentence
embeddings have a low local dimension. So the vectors here are a mixture of "documents": each
document has a centroid (a gaussian with a gently decaying spectrum, normalised), and its
chunks are the centroid plus a gaussian in a document-specific random 16-dimensional subspace
(scale 1.0, times a per-document log-normal factor of sigma 0.3), plus isotropic noise of norm
about 0.4, plus a shared offset, normalised. Documents hold 32 to 96 chunks (``--topic-size``
64 on average), stored contiguously as a build adds them. The parameters were fitted to the
2,304 all-MiniLM-L6-v2 chunk vectors of the SQuAD v2 dev index (``bench/squad_eval.py``); at
that size real / synthetic (seed 0) give: nearest-neighbour cosine p10/p50/p90 0.58/0.74/0.85
vs 0.68/0.75/0.81; random-pair cosine mean 0.03 vs 0.03, sd 0.105 vs 0.109; principal
components for 50/80/90% of the variance 32/108/164 vs 27/123/195; local intrinsic dimension
(MLE, 20 neighbours) 11.7 vs 11.9. Queries are ``--queries`` further draws from the same
documents, held out of the index. ``--vectors isotropic`` measures plain normalised gaussian
vectors instead, the worst case.

Synthetic texts (seeded): 40 to 80 words each, drawn from a Zipf-Mandelbrot distribution
(exponent 1.0, offset 2.7) over 42 common English function words (which the tokenizer drops as
stop words, as in real text) followed by ``--vocab`` generated syllable words. Questions are 3
to 8 words from the same distribution.

Every engine's bench draws its data here, with the same seeds, so that they measure the same
chunks and questions.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

DIMENSION = 384  # all-MiniLM-L6-v2
SUBSPACE = 16  # rank of each document's spread
SPREAD = 1.0
SPREAD_SIGMA = 0.3
NOISE = 0.4
OFFSET = 0.15
CENTROID_DECAY = 0.3
VECTOR_KINDS = ("documents", "isotropic")
CHUNK_WORDS = (40, 80)
QUESTION_WORDS = (3, 8)
# The commonest English words, in frequency order: stop words, which the tokenizer drops.
FUNCTION_WORDS_TEXT = """the of and to in a is that for it as was with be by on not he this are or
his from at which but have an they you were her she there been one all we their has would when"""
FUNCTION_WORDS = tuple(FUNCTION_WORDS_TEXT.split())


@dataclass(frozen=True)
class Vectors:
    """A corpus of normalised chunk vectors and the query vectors held out of it."""

    corpus: np.ndarray
    queries: np.ndarray
    #: The document of each corpus row (``documents`` vectors only).
    document_of: np.ndarray | None

    @property
    def documents(self) -> int:
        """How many documents the corpus and the queries were drawn from (0: isotropic)."""
        return 0 if self.document_of is None else int(self.document_of.max()) + 1


def make_vectors(kind: str, n: int, count: int, topic_size: int, seed: int) -> Vectors:
    """``n`` corpus vectors and ``count`` queries of ``kind`` (``VECTOR_KINDS``), seeded."""
    if kind == "isotropic":
        every, labels = isotropic_vectors(n + count, seed), None
    elif kind == "documents":
        every, labels = document_vectors(n + count, topic_size, seed)
    else:
        raise ValueError(f"Unknown vectors {kind!r}; choose one of {', '.join(VECTOR_KINDS)}")
    held = held_out(len(every), count, seed)
    return Vectors(
        corpus=np.ascontiguousarray(every[~held]),
        queries=np.ascontiguousarray(every[held]),
        document_of=None if labels is None else labels[~held],
    )


def document_vectors(
    n: int, topic_size: int, seed: int, dimension: int = DIMENSION
) -> tuple[np.ndarray, np.ndarray]:
    """``n`` normalised vectors, document by document, and the document of each; see above."""
    rng = np.random.default_rng(seed)
    decay = np.arange(1, dimension + 1) ** -CENTROID_DECAY
    decay /= np.sqrt((decay**2).mean())
    rotation, _ = np.linalg.qr(rng.standard_normal((dimension, dimension)))
    offset = rng.standard_normal(dimension)
    offset *= OFFSET / np.linalg.norm(offset)
    vectors = np.empty((n, dimension), dtype=np.float32)
    labels = np.empty(n, dtype=np.int64)
    first = documents = 0
    while first < n:
        size = min(int(rng.integers(topic_size // 2, topic_size * 3 // 2 + 1)), n - first)
        centroid = (rng.standard_normal(dimension) * decay) @ rotation.T
        centroid /= np.linalg.norm(centroid)
        basis = rng.standard_normal((SUBSPACE, dimension)) / np.sqrt(dimension)
        spread = SPREAD * np.exp(SPREAD_SIGMA * rng.standard_normal())
        within = rng.standard_normal((size, SUBSPACE)) @ basis * (spread / np.sqrt(SUBSPACE))
        noise = rng.standard_normal((size, dimension)) * (NOISE / np.sqrt(dimension))
        vectors[first : first + size] = centroid + within + noise + offset
        labels[first : first + size] = documents
        first += size
        documents += 1
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors, labels


def isotropic_vectors(n: int, seed: int, dimension: int = DIMENSION) -> np.ndarray:
    rng = np.random.default_rng(seed)
    vectors = rng.standard_normal((n, dimension), dtype=np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors


def held_out(total: int, count: int, seed: int) -> np.ndarray:
    """A mask of ``count`` random rows of ``total`` to hold out as queries; the rest, in order,
    is the corpus."""
    rng = np.random.default_rng(seed + 1)
    held = np.zeros(total, dtype=bool)
    held[rng.choice(total, size=count, replace=False)] = True
    return held


def vocabulary(size: int, seed: int) -> list[str]:
    """Function words, then ``size`` distinct generated words of one to four syllables."""
    rng = np.random.default_rng(seed + 2)
    onsets = [
        *"bcdfghjklmnprstvwz",
        "br",
        "ch",
        "cl",
        "dr",
        "fl",
        "gr",
        "pl",
        "pr",
        "sh",
        "st",
        "th",
    ]
    vowels = [*"aeiou", "ai", "ea", "ee", "ie", "oa", "ou"]
    codas = ["", "", "", "n", "r", "s", "l", "t", "m", "nd", "st", "ck"]
    words: list[str] = []
    seen = set(FUNCTION_WORDS)
    while len(words) < size:
        syllables = int(rng.choice([1, 2, 3, 4], p=[0.15, 0.45, 0.3, 0.1]))
        word = "".join(
            onsets[rng.integers(len(onsets))]
            + vowels[rng.integers(len(vowels))]
            + codas[rng.integers(len(codas))]
            for _ in range(syllables)
        )
        if word not in seen:
            seen.add(word)
            words.append(word)
    return [*FUNCTION_WORDS, *words]


def chunk_texts(n: int, words: list[str], seed: int) -> list[str]:
    """The ``n`` chunk texts of the corpus."""
    return texts(n, *CHUNK_WORDS, words, seed + 3)


def question_texts(count: int, words: list[str], seed: int) -> list[str]:
    """The ``count`` keyword questions."""
    return texts(count, *QUESTION_WORDS, words, seed + 4)


def texts(count: int, low: int, high: int, words: list[str], seed: int) -> list[str]:
    """``count`` texts of ``low`` to ``high`` words, Zipf-Mandelbrot over ``words``."""
    rng = np.random.default_rng(seed)
    weights = 1.0 / (np.arange(len(words)) + 2.7)
    weights /= weights.sum()
    lengths = rng.integers(low, high + 1, size=count)
    ids = rng.choice(len(words), size=int(lengths.sum()), p=weights)
    table = np.asarray(words, dtype=object)
    ends = np.cumsum(lengths)
    return [" ".join(table[ids[end - length : end]]) for end, length in zip(ends, lengths)]
