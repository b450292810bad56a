"""The exact answer inside the answer sentence, when the question asks for a typed fact.

"How much / how many / what percentage" want an amount or a number, "when / what year" a date,
"who" a name, "where" a place. Candidates of that type are found in the sentence with patterns;
words the question already says are not an answer, and among the rest the one nearest to the
words the sentence shares with the question wins. No type cue, or no candidate: no span.
"""

from __future__ import annotations

import re

_NUMBER_WORDS = (
    "one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|thirteen|fourteen|fifteen|"
    "sixteen|seventeen|eighteen|nineteen|twenty|thirty|forty|fifty|sixty|seventy|eighty|ninety|"
    "hundred|thousand|dozen|several"
)
_SCALE = r"(?:\s(?:hundred|thousand|million|billion|trillion)\b)?"
_UNIT = (
    r"(?:\s(?:per\s?cent|percent|ringgit|dollars?|euros?|pounds?|yen|yuan|years?|months?|weeks?|"
    r"days?|hours?|minutes?|seconds?|km|kilometres?|kilometers?|miles?|metres?|meters?|feet|"
    r"people|officers|companies|members|deliverables)\b)?"
)
_NUMBER = (
    r"(?:[$€£¥]|RM|US\$|USD\s?)?\d[\d,]*(?:\.\d+)?%?" + _SCALE + _UNIT
    + rf"|\b(?:{_NUMBER_WORDS})\b(?:[\s-](?:{_NUMBER_WORDS}))*" + _SCALE + _UNIT
)  # fmt: skip
_MONTHS = (
    "January|February|March|April|May|June|July|August|September|October|November|December|"
    "Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sep|Sept|Oct|Nov|Dec"
)
_DATE = (
    rf"\b(?:\d{{1,2}}\s)?(?:{_MONTHS})\.?(?:\s\d{{1,2}},?)?(?:\s\d{{4}})?\b"
    r"|\b\d{1,2}/\d{1,2}/\d{2,4}\b|\b\d{4}[–-]\d{2,4}\b|\b(?:1[0-9]|20)\d{2}s?\b"
    r"|\b\d{1,2}(?:st|nd|rd|th)\scentury\b"
)
_NAME = r"\b[A-Z][\w'’.-]*(?:\s(?:of|de|da|van|von|al|bin|the)?\s?[A-Z][\w'’.-]*)*"

_PATTERNS = {
    "number": re.compile(_NUMBER, re.IGNORECASE),
    "date": re.compile(_DATE),
    "name": re.compile(_NAME),
}
_DATE_CUE = r"\b(when|what (year|date|month|decade|century)|which year)\b"
_NUMBER_CUE = (
    r"\b(how (much|many|long|old|far|big|large|tall|high|often)"
    r"|what (percentage|percent|amount|number|share|proportion))\b"
)
_NAME_CUE = (
    r"\b(who|whom|whose|where"
    r"|(which|what) (company|companies|country|countries|person|city|organi[sz]ation|agency"
    r"|firm|platform))\b"
)
_CUES = (
    ("date", re.compile(_DATE_CUE, re.IGNORECASE)),
    ("number", re.compile(_NUMBER_CUE, re.IGNORECASE)),
    ("name", re.compile(_NAME_CUE, re.IGNORECASE)),
)
_WORD = re.compile(r"\w+")


def _drop_leading_common_words(text: str, start: int) -> tuple[str, int]:
    """Strip capitalised words that are capitalised only for opening a sentence ("This", "In")."""
    from bm25s.stopwords import STOPWORDS_EN

    while True:
        first = _WORD.match(text)
        if first is None:
            return "", start
        word = first.group().lower()
        if word not in STOPWORDS_EN and not word.endswith(("ed", "ly")) and word not in _OPENERS:
            return text, start
        rest = text[first.end() :].lstrip()
        start += len(text) - len(rest)
        text = rest


_OPENERS = {"meanwhile", "consequently", "however", "first", "also", "through", "since", "after",
            "before", "during", "while", "although", "therefore", "thus", "today", "yesterday",
            "written", "posted", "published", "said", "according", "known"}  # fmt: skip


def answer_type(question: str) -> str | None:
    """The type of fact the question asks for: "date", "number", "name", or None."""
    for kind, cue in _CUES:
        if cue.search(question):
            return kind
    return None


def find_span(question: str, sentence: str) -> tuple[int, int] | None:
    """``(start, end)`` of the typed answer inside ``sentence``, or None."""
    kind = answer_type(question)
    if kind is None:
        return None
    asked = {w.lower() for w in _WORD.findall(question)}
    candidates = []
    for match in _PATTERNS[kind].finditer(sentence):
        text = match.group().strip(" ,.;:")
        if not text or not any(ch.isalnum() for ch in text):
            continue
        start = match.start() + match.group().index(text)
        if kind == "name":
            text, start = _drop_leading_common_words(text, start)
        words = [w.lower() for w in _WORD.findall(text)]
        if not words or all(w in asked for w in words):
            continue  # the question's own words are not its answer
        candidates.append((start, start + len(text)))
    if not candidates:
        return None
    anchors = [m.start() for m in _WORD.finditer(sentence) if m.group().lower() in asked]

    def distance(span: tuple[int, int]) -> float:
        if not anchors:
            return span[0]
        return min(abs(a - span[0]) for a in anchors)

    return min(candidates, key=lambda span: (distance(span), span[0]))
