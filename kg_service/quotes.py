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


# The closest-passage search probes the text with at most PROBES pieces of the quote, each PIECE code
# points long, so its cost is PROBES fast substring searches of the text: linear in the text, whatever
# the quote. A quote longer than MAX_COMPARED is compared by its first MAX_COMPARED code points.
PIECE, PROBES, MAX_COMPARED = 12, 16, 400


def closest_passage(text: str, quote: str) -> str:
    """The passage of `text`, as long as `quote`, that most resembles it (for "did you mean"), or "" when
    no piece of the quote occurs in the text at all.

    Pieces of the quote that do occur vote for where the quote would start; the best-voted place is then
    refined by comparing the passages a few code points around it.

    >>> closest_passage("The two held bilateral talks on the sidelines.", "held bilateral talk on the sidelines")
    'held bilateral talks on the sideline'
    >>> closest_passage("abc" * 1000, "xyz")
    ''
    """
    width = len(quote)
    if not text or width == 0:
        return ""
    compared = quote[:MAX_COMPARED]
    start = _likely_start(text, compared)
    if start is None:
        return ""
    best, best_ratio = text[start:start + width], -1.0
    for shift in range(-2, 3):  # the votes are exact for the pieces without typos: a nudge suffices
        s = min(max(0, start + shift), max(0, len(text) - width))
        candidate = text[s:s + len(compared)]
        ratio = difflib.SequenceMatcher(None, candidate, compared, autojunk=False).ratio()
        if ratio > best_ratio:
            best, best_ratio = text[s:s + width], ratio
    return best


# The most quotes of one validation that get a closest-passage search; the rest are reported without one,
# so ten thousand invented quotes cost no more than fifty.
MAX_SEARCHES = 50


def not_found_hint(text: str, quote: str, searched: int = 0) -> str:
    """What to tell the author of a quote that is not in the text; `searched` is how many quotes of this
    validation were already searched for.

    >>> not_found_hint("Park met Hayashi.", "Park met Hayashy"), not_found_hint("Park met Hayashi.", "xyz")
    ("closest passage: 'Park met Hayashi'", 'no passage of the text resembles it')
    >>> not_found_hint("Park met Hayashi.", "Park met Hayashy", MAX_SEARCHES)
    'closest passage not searched (only the first 50 quotes not found are)'
    """
    if searched >= MAX_SEARCHES:
        return f"closest passage not searched (only the first {MAX_SEARCHES} quotes not found are)"
    passage = closest_passage(text, quote)
    return f"closest passage: {passage!r}" if passage else "no passage of the text resembles it"


def _likely_start(text: str, quote: str) -> int | None:
    """Where `quote` most probably begins in `text`: the start most of its pieces that occur point to."""
    piece = min(PIECE, len(quote))
    offsets = sorted({round(i * (len(quote) - piece) / max(PROBES - 1, 1)) for i in range(PROBES)})
    votes: dict[int, int] = {}
    for offset in offsets:
        found = text.find(quote[offset:offset + piece])
        seen = 0
        while found >= 0 and seen < 8:  # a piece found everywhere says little; its first places suffice
            votes[found - offset] = votes.get(found - offset, 0) + 1
            found = text.find(quote[offset:offset + piece], found + 1)
            seen += 1
    if not votes:
        return None
    return max(0, max(votes, key=lambda start: (votes[start], -start)))
