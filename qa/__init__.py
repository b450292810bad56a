"""qa: answers from your documents, quoted verbatim, with citations.

>>> import qa
>>> answer = qa.ask("How much did Malaysia allocate to NAIO in 2025?")
>>> answer.text, answer.citations[0].title
"""

from __future__ import annotations

from qa.api import ask, build_index, evaluate, load_index, retrieve
from qa.errors import (
    CorpusNotFoundError,
    EmptyCorpusError,
    EmptyQuestionError,
    IndexCorruptError,
    IndexMismatchError,
    IndexNotFoundError,
    ModelLoadError,
    QAError,
    QuestionSetError,
)
from qa.index import Index
from qa.types import Answer, Chunk, Document, Passage

__version__ = "0.1.0"

__all__ = [
    "Answer",
    "Chunk",
    "CorpusNotFoundError",
    "Document",
    "EmptyCorpusError",
    "EmptyQuestionError",
    "EvalReport",
    "Index",
    "IndexCorruptError",
    "IndexMismatchError",
    "IndexNotFoundError",
    "ModelLoadError",
    "Passage",
    "QAError",
    "QuestionSetError",
    "__version__",
    "ask",
    "build_index",
    "evaluate",
    "load_index",
    "retrieve",
]


def __getattr__(name: str) -> object:
    # EvalReport lives with the evaluator; import it only when asked for.
    if name == "EvalReport":
        from qa.evaluate import EvalReport

        return EvalReport
    raise AttributeError(f"module 'qa' has no attribute {name!r}")
