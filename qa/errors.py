"""The errors a user can meet. Each message says what failed and what to do."""

from __future__ import annotations


class QAError(Exception):
    """Base class of every error this package raises on purpose."""


class EmptyCorpusError(QAError):
    """The corpus folder holds no readable document."""


class CorpusNotFoundError(QAError):
    """The corpus folder does not exist."""


class IndexNotFoundError(QAError):
    """No index at the given folder."""


class IndexCorruptError(QAError):
    """An index file is missing, truncated or does not match its checksum."""


class IndexMismatchError(QAError):
    """The index was built with another model, dimension, chunking or format version."""


class StoreUnavailableError(QAError):
    """The store's server (a Milvus URI) cannot be reached."""


class MissingDependencyError(QAError, ImportError):
    """An optional part needs an extra that is not installed; the message names the pip line."""


class ModelLoadError(QAError):
    """The embedding model could not be loaded."""


class EmptyQuestionError(QAError):
    """The question is empty or only whitespace."""


class QuestionSetError(QAError):
    """A question-set file could not be read."""
