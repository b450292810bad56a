"""The example questions the empty chat offers: the corpus's own, never the code's.

The rule: a corpus folder's question set is ``questions/default.jsonl`` beside it (for
``corpus/`` that is ``questions/default.jsonl`` in the same parent folder, as in this project),
and the examples are its first ``EXAMPLE_COUNT`` answerable questions (ones with at least one
answer), in file order. A corpus without that file has no examples; a file that cannot be read
gives none either, with a warning naming the file and the fix; the chat works without them.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING

from qa.errors import QuestionSetError
from qa.questions import load_questions

if TYPE_CHECKING:
    from qa.index import Index

logger = logging.getLogger(__name__)

#: How many example questions the chat offers at most.
EXAMPLE_COUNT = 4
#: Where a corpus's question set lies, relative to the corpus folder's parent.
QUESTION_SET = Path("questions") / "default.jsonl"


def question_set_of(corpus_dir: Path | str) -> Path:
    """The question set of the corpus in ``corpus_dir``: ``questions/default.jsonl`` beside it."""
    return Path(corpus_dir).parent / QUESTION_SET


def example_questions(question_set: Path | str, count: int = EXAMPLE_COUNT) -> tuple[str, ...]:
    """The first ``count`` answerable questions of ``question_set``, in file order; none when
    the file does not exist or cannot be read (then with a warning)."""
    if count < 0:
        raise ValueError(f"count must be 0 or more example questions, got {count}")
    path = Path(question_set)
    if not path.is_file():
        logger.info("No example questions: no question set at %s", path)
        return ()
    try:
        questions = load_questions(path)
    except QuestionSetError as error:
        logger.warning("No example questions: %s", error)
        return ()
    return tuple(q.question for q in questions if q.answerable)[:count]


def examples_for(index: Index, count: int = EXAMPLE_COUNT) -> tuple[str, ...]:
    """The example questions of the corpus ``index`` was built from (its manifest's
    ``corpus``), by the rule above."""
    corpus = index.manifest.get("corpus")
    return example_questions(question_set_of(corpus), count) if corpus else ()
