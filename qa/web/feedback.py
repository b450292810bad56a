"""Thumbs up and down on answers, kept as question-set rows so bad answers become eval cases.

A thumb appends one row in the question-set format (see ``feedback_row``) to the JSONL file named
by ``QA_FEEDBACK_FILE`` (default ``feedback.jsonl`` in the current folder). Rows from many
sessions at once are written whole, one line each.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import uuid
from pathlib import Path
from typing import Any

from qa.types import Answer

logger = logging.getLogger(__name__)

#: The feedback file: env var naming it, and the file used when it is unset.
FEEDBACK_ENV = "QA_FEEDBACK_FILE"
DEFAULT_FEEDBACK_FILE = "feedback.jsonl"

_feedback_lock = threading.Lock()


def feedback_path() -> Path:
    """The feedback file: ``$QA_FEEDBACK_FILE``, or ``feedback.jsonl`` in the current folder."""
    return Path(os.environ.get(FEEDBACK_ENV) or DEFAULT_FEEDBACK_FILE)


def feedback_row(answer: Answer, liked: bool, *, row_id: str | None = None) -> dict[str, Any]:
    """A question-set row (``question``, ``answers``, ``id``, optional ``doc_id``) recording a
    thumb up (``"feedback": "up"``) or down (``"down"``) on ``answer``.

    - Up on an answer: ``answers`` is ``[span text]`` (the whole sentence when there is no span),
      ``doc_id`` the document it came from: a regression case.
    - Up on an abstention: ``answers`` is ``[]``, the question-set mark of an unanswerable one.
    - Down: ``answers`` is ``[]`` and ``needs_review`` is true, with the rejected sentence in
      ``rejected``. Review these rows before evaluating: write the right answer in ``answers``,
      or leave ``[]`` when the documents really do not answer the question.
    """
    row: dict[str, Any] = {
        "question": answer.question,
        "answers": [],
        "id": row_id or f"feedback-{uuid.uuid4().hex[:12]}",
    }
    answered = not answer.abstained and answer.text is not None
    if liked and answered:
        row["answers"] = [answer.span_text or answer.text]
        row["doc_id"] = answer.doc_id
    row["feedback"] = "up" if liked else "down"
    if not liked:
        row["needs_review"] = True
        if answered:
            row["rejected"] = answer.text
    return row


def append_feedback(row: dict[str, Any], path: str | Path | None = None) -> Path:
    """Append ``row`` as one JSON line to ``path`` (default ``feedback_path()``); return it."""
    target = Path(path) if path is not None else feedback_path()
    line = json.dumps(row, ensure_ascii=False) + "\n"
    with _feedback_lock:
        if target.parent != Path():
            target.parent.mkdir(parents=True, exist_ok=True)
        with target.open("a", encoding="utf-8") as handle:
            handle.write(line)
    logger.info("Recorded feedback %s on %r in %s", row["feedback"], row["question"], target)
    return target
