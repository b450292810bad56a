"""Where an answer span ends: the reader's token span, made whole on the characters around it.

The reader marks tokens; its best span can stop one token short of where the answer ends: before
a closing bracket, inside a number, between an amount and its currency or its scale word.
``whole_span`` widens (or trims) the span, within its sentence, so that:

- it never ends inside a bracket or quote pair: an opener in the span takes its closer, a closer
  takes its opener, and a stray one at either edge is dropped;
- a number is whole, with its currency before it ("RM", "US$", "$", "€") and its scale or percent
  after it ("million", "%");
- it carries no trailing comma, semicolon or colon and no edge white space.

Pure functions on strings: no model, no index.
"""

from __future__ import annotations

import re

_PAIRS = {"(": ")", "[": "]", "{": "}", "“": "”", "‘": "’"}
_CLOSERS = {closer: opener for opener, closer in _PAIRS.items()}
_CURRENCY_BEFORE = re.compile(r"(?:\b[A-Z]{1,3}\$?|[$€£¥₹])$")
_NUMBER_AFTER = re.compile(r"[\d.,]*\d")
_SCALE_AFTER = re.compile(
    r"\s?(?:%|per ?cent\b|percent\b|(?:hundred|thousand|million|billion|trillion)s?\b)", re.I
)
_TRAILING = ",;:"


def whole_span(
    text: str, start: int, end: int, low: int = 0, high: int | None = None
) -> tuple[int, int]:
    """``(start, end)`` of ``text[start:end]`` made whole (see the module docstring), never
    beyond ``[low, high)`` (the sentence). An empty span stays as it is."""
    high = len(text) if high is None else high
    start, end = max(start, low), min(end, high)
    if start >= end:
        return start, end
    start, end = _trim(text, start, end)
    if start >= end:
        return start, end
    start, end = _number(text, start, end, low, high)
    start, end = _pairs(text, start, end, low, high)
    return _trim(text, start, end)


def _trim(text: str, start: int, end: int) -> tuple[int, int]:
    while end > start and (text[end - 1].isspace() or text[end - 1] in _TRAILING):
        end -= 1
    while start < end and text[start].isspace():
        start += 1
    return start, end


def _number(text: str, start: int, end: int, low: int, high: int) -> tuple[int, int]:
    """A number cut at either end is made whole, with its currency and its scale word."""
    while (
        start > low
        and text[start].isdigit()
        and (
            text[start - 1].isdigit()
            or (text[start - 1] in ".," and start - 2 >= low and text[start - 2].isdigit())
        )
    ):
        start -= 1
    if text[start].isdigit() and (currency := _CURRENCY_BEFORE.search(text, low, start)):
        start = currency.start()
    if text[end - 1].isdigit():
        if more := _NUMBER_AFTER.match(text, end, high):
            end = more.end()
        if scale := _SCALE_AFTER.match(text, end, high):
            end = scale.end()
    return start, end


def _pairs(text: str, start: int, end: int, low: int, high: int) -> tuple[int, int]:
    """Brackets and quotes in the span are closed, or a stray one at an edge is dropped."""
    for _ in range(2):  # widen to close a pair (a wider span may hold one more)
        opener, closer = _unmatched(text[start:end])
        if opener is not None and opener > 0:
            found = _find_closer(text, start + opener, high)
            if found is None:
                break
            end = found + 1
        elif closer is not None and start + closer < end - 1:
            found = _find_opener(text, start + closer, low)
            if found is None:
                break
            start = found
        else:
            break
    while start < end:  # then only narrow, until nothing is left open
        opener, closer = _unmatched(text[start:end])
        if opener is not None:
            start, end = (start + 1, end) if opener == 0 else (start, start + opener)
        elif closer is not None and start + closer == end - 1:
            end -= 1
        elif closer is not None:
            start += closer + 1
        else:
            break
        start, end = _trim(text, start, end)
    return start, end


def _unmatched(span: str) -> tuple[int | None, int | None]:
    """(offset of the first opener left open, offset of the first closer with no opener)."""
    stack: list[tuple[str, int]] = []
    quote: int | None = None
    for i, char in enumerate(span):
        if char == '"':
            quote = i if quote is None else None
        elif char in _PAIRS:
            stack.append((char, i))
        elif char in _CLOSERS:
            if stack and stack[-1][0] == _CLOSERS[char]:
                stack.pop()
            elif char != "’":  # a lone ’ is an apostrophe ("officers’")
                return None, i
    if stack:
        return stack[0][1], None
    return (quote, None) if quote is not None else (None, None)


def _find_closer(text: str, opened: int, high: int) -> int | None:
    opener = text[opened]
    closer = '"' if opener == '"' else _PAIRS[opener]
    depth = 0
    for i in range(opened + 1, high):
        if text[i] == closer and depth == 0:
            return i
        if opener != '"':
            depth += (text[i] == opener) - (text[i] == closer)
    return None


def _find_opener(text: str, closed: int, low: int) -> int | None:
    opener = _CLOSERS[text[closed]]
    depth = 0
    for i in range(closed - 1, low - 1, -1):
        if text[i] == opener and depth == 0:
            return i
        depth += (text[i] == text[closed]) - (text[i] == opener)
    return None
