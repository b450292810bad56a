"""SQuAD data as qa uses it: articles, the tune/test split, and articles written as a corpus.

The reader's training and calibration and the SQuAD benchmarks read ``../shared/data/squad/``
through these helpers, so that every one of them draws the split the same way.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from qa.questions import Question

#: Where the SQuAD files lie in a checkout: ``../shared/data/squad`` beside the repository.
DATA_DIR = Path(__file__).resolve().parents[2] / "shared" / "data" / "squad"
#: Of the 18 ``tune`` articles of dev-v2.0, the last ones in file order are kept back from the
#: reader's training, to calibrate its score and threshold.
CALIBRATION_ARTICLES = 6


def load_articles(path: Path) -> list[dict[str, Any]]:
    """The ``data`` list of a SQuAD JSON file."""
    return list(json.loads(path.read_text(encoding="utf-8"))["data"])


def split_titles(data_dir: Path = DATA_DIR) -> tuple[list[str], list[str], list[str]]:
    """Article titles: (tune articles to train on, tune articles to calibrate on, test)."""
    splits = json.loads((data_dir / "splits.json").read_text(encoding="utf-8"))
    tune = list(splits["tune"])
    return tune[:-CALIBRATION_ARTICLES], tune[-CALIBRATION_ARTICLES:], list(splits["test"])


def questions_of(articles: list[dict[str, Any]]) -> list[Question]:
    """The questions of SQuAD ``articles``; ``doc_id`` is the article title."""
    return [
        Question(
            qa["id"], qa["question"].strip(), tuple(a["text"] for a in qa["answers"]), art["title"]
        )
        for art in articles
        for paragraph in art["paragraphs"]
        for qa in paragraph["qas"]
    ]


def write_articles(articles: list[dict[str, Any]], target: Path) -> None:
    """SQuAD ``articles`` as JSONL documents in ``target`` (id and title from the article title,
    paragraphs joined by blank lines), rewritten only when they changed."""
    lines = [
        json.dumps(
            {
                "id": article["title"],
                "title": article["title"].replace("_", " "),
                "text": "\n\n".join(p["context"].strip() for p in article["paragraphs"]),
            },
            ensure_ascii=False,
        )
        for article in articles
    ]
    target.parent.mkdir(parents=True, exist_ok=True)
    text = "\n".join(lines) + "\n"
    if not target.is_file() or target.read_text(encoding="utf-8") != text:
        target.write_text(text, encoding="utf-8")
