"""qa: answers from your documents, quoted verbatim, with citations.

>>> import qa
>>> answer = qa.ask("Who founded the company?")   # over corpus/, indexed on first use
>>> answer.text, answer.citations[0].title          # the verbatim sentence, where it stands
"""

from __future__ import annotations

from qa.answer import answer
from qa.api import ask, build_index, load_index, retrieve
from qa.errors import (
    CorpusNotFoundError,
    EmptyCorpusError,
    EmptyQuestionError,
    IndexCorruptError,
    IndexMismatchError,
    IndexNotFoundError,
    MissingDependencyError,
    ModelLoadError,
    QAError,
    QuestionSetError,
    StoreUnavailableError,
)
from qa.evaluate import EvalReport, evaluate
from qa.index import Index
from qa.questions import Question, load_questions
from qa.types import Answer, Chunk, Document, Passage, Passages, Quote

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
    "MissingDependencyError",
    "ModelLoadError",
    "Passage",
    "Passages",
    "QAError",
    "Question",
    "QuestionSetError",
    "Quote",
    "StoreUnavailableError",
    "__version__",
    "answer",
    "ask",
    "build_index",
    "evaluate",
    "load_index",
    "load_questions",
    "retrieve",
]
