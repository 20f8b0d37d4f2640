"""Find evidence quotes in verbatim article text, by Unicode code point, as Web Annotation selectors need.

Offsets count code points (Python `str` indices), not bytes or UTF-16 units: that is what
`oa:TextPositionSelector` means. When a quote is not found, `closest_passage` shows the author the
passage it most resembles, which is usually the quote with a typo or a "smart" quote mark.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass


@dataclass(frozen=True)
class Located:
    """Where a quote is: `start` and `end` code-point offsets, plus context for a TextQuoteSelector."""

    start: int
    end: int
    prefix: str
    suffix: str


CONTEXT = 32


def locate(text: str, quote: str, occurrence: int = 1) -> Located | None:
    """Find the `occurrence`-th (1-based) place `quote` occurs in `text`, or None.

    >>> locate("Park met Hayashi. Park left.", "Park", 2)
    Located(start=18, end=22, prefix='Park met Hayashi. ', suffix=' left.')
    >>> locate("Japan’s position", "Japan’s").end
    7
    >>> locate("abc", "x") is None
    True
    """
    start = -1
    for _ in range(occurrence):
        start = text.find(quote, start + 1)
        if start < 0:
            return None
    end = start + len(quote)
    return Located(start, end, text[max(0, start - CONTEXT):start], text[end:end + CONTEXT])


def count(text: str, quote: str) -> int:
    """How many times `quote` occurs in `text`, overlaps included.

    >>> count("aaa", "aa")
    2
    """
    found, start = 0, text.find(quote)
    while start >= 0:
        found += 1
        start = text.find(quote, start + 1)
    return found


def closest_passage(text: str, quote: str) -> str:
    """The passage of `text`, as long as `quote`, that most resembles it (for "did you mean").

    >>> closest_passage("The two held bilateral talks on the sidelines.", "held bilateral talk on the sidelines")
    'held bilateral talks on the sideline'
    """
    width = len(quote)
    if not text or width == 0:
        return ""
    matcher = difflib.SequenceMatcher(None, text, quote, autojunk=False)
    block = max(matcher.get_matching_blocks(), key=lambda b: b.size)
    start = max(0, block.a - block.b)
    best, best_ratio = text[start:start + width], 0.0
    for shift in range(-8, 9):
        s = min(max(0, start + shift), max(0, len(text) - width))
        candidate = text[s:s + width]
        ratio = difflib.SequenceMatcher(None, candidate, quote, autojunk=False).ratio()
        if ratio > best_ratio:
            best, best_ratio = candidate, ratio
    return best
