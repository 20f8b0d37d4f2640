"""Dates at their real precision, and relative date phrases resolved against a publication date.

Articles say "on the 21st", "last Thursday", "last week" or "in July 2019". The mapping author
writes the resolved date beside the phrase; `resolve_phrase` resolves the phrases it understands so
the validator can check the author's arithmetic. Phrases it does not understand resolve to None:
the validator then says nothing rather than guessing. `is_date_text` tells a date written at its
precision from anything else, for the mapping reader, the checks and the search alike.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from rdflib import XSD, Literal

_WEEKDAYS = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]
_MONTHS = ["january", "february", "march", "april", "may", "june", "july", "august", "september",
           "october", "november", "december"]
_DATE = re.compile(r"\d{4}(-(0[1-9]|1[0-2])(-(0[1-9]|[12]\d|3[01]))?)?")


def is_date_text(text: str) -> bool:
    """Tell whether `text` is a real date written as YYYY-MM-DD, YYYY-MM or YYYY.

    >>> is_date_text("2021-09-23"), is_date_text("2018-10"), is_date_text("2021-02-30"), is_date_text("soon")
    (True, True, False, False)
    """
    return bool(_DATE.fullmatch(text)) and _valid_date(text)


def _valid_date(text: str) -> bool:
    if len(text) < 10:
        return True
    try:
        dt.date.fromisoformat(text)
    except ValueError:
        return False
    return True


def date_literal(text: str) -> Literal:
    """The typed literal for a date written at its precision.

    >>> date_literal("2021-09-23").datatype == XSD.date
    True
    >>> date_literal("2018-10").datatype == XSD.gYearMonth, date_literal("2015").datatype == XSD.gYear
    (True, True)
    """
    datatype = {10: XSD.date, 7: XSD.gYearMonth, 4: XSD.gYear}[len(text)]
    return Literal(text, datatype=datatype)


@dataclass(frozen=True)
class Span:
    """A date or range of days: `earliest` and `latest` are equal for a single day."""

    earliest: dt.date
    latest: dt.date

    @classmethod
    def of(cls, text: str) -> Span:
        """The days a date at any precision covers.

        >>> Span.of("2018-10")
        Span(earliest=datetime.date(2018, 10, 1), latest=datetime.date(2018, 10, 31))
        >>> Span.of("2015").latest
        datetime.date(2015, 12, 31)
        """
        parts = [int(p) for p in text.split("-")]
        if len(parts) == 3:
            day = dt.date(*parts)
            return cls(day, day)
        if len(parts) == 2:
            first = dt.date(parts[0], parts[1], 1)
            return cls(first, _month_end(first))
        return cls(dt.date(parts[0], 1, 1), dt.date(parts[0], 12, 31))

    def covers(self, other: Span) -> bool:
        return self.earliest <= other.earliest and other.latest <= self.latest


def _month_end(first: dt.date) -> dt.date:
    following = (first.replace(day=28) + dt.timedelta(days=4)).replace(day=1)
    return following - dt.timedelta(days=1)


def resolve_phrase(phrase: str, published: dt.date) -> Span | None:
    """Resolve a relative date phrase against the publication date, or None if not understood.

    >>> pub = dt.date(2023, 2, 22)
    >>> resolve_phrase("said on the 21st", pub)
    Span(earliest=datetime.date(2023, 2, 21), latest=datetime.date(2023, 2, 21))
    >>> resolve_phrase("Last week", pub)
    Span(earliest=datetime.date(2023, 2, 13), latest=datetime.date(2023, 2, 19))
    >>> resolve_phrase("From the 1st to the 2nd of next month", pub)
    Span(earliest=datetime.date(2023, 3, 1), latest=datetime.date(2023, 3, 2))
    >>> resolve_phrase("last Thursday", dt.date(2014, 2, 18))
    Span(earliest=datetime.date(2014, 2, 13), latest=datetime.date(2014, 2, 13))
    >>> resolve_phrase("last December", dt.date(2014, 2, 18)).earliest
    datetime.date(2013, 12, 1)
    >>> resolve_phrase("On September 22, local time", dt.date(2021, 9, 24)).earliest
    datetime.date(2021, 9, 22)
    >>> resolve_phrase("in the evening of the 23rd, Japan time", dt.date(2021, 9, 24)).latest
    datetime.date(2021, 9, 23)
    >>> resolve_phrase("some time ago", pub) is None
    True
    """
    text = phrase.lower()
    days = [int(d) for d in re.findall(r"\bthe (\d{1,2})(?:st|nd|rd|th)\b", text)]
    month_named = next((i + 1 for i, m in enumerate(_MONTHS) if re.search(rf"\b{m}\b", text)), None)
    explicit = re.search(r"\b(" + "|".join(_MONTHS) + r") (\d{1,2})\b", text)
    if explicit:
        month, day = _MONTHS.index(explicit.group(1)) + 1, int(explicit.group(2))
        year = published.year if (month, day) <= (published.month, published.day) else published.year - 1
        return _day_span(year, month, day)
    if "next month" in text and days:
        first = (published.replace(day=28) + dt.timedelta(days=4)).replace(day=1)
        return _range(first.year, first.month, min(days), max(days))
    if days and month_named is None:
        year, month = published.year, published.month
        if min(days) > published.day:  # "on the 28th" read on the 2nd means last month
            last = published.replace(day=1) - dt.timedelta(days=1)
            year, month = last.year, last.month
        return _range(year, month, min(days), max(days))
    if "last week" in text:
        monday = published - dt.timedelta(days=published.weekday() + 7)
        return Span(monday, monday + dt.timedelta(days=6))
    # A bare weekday is the most recent one on or before publication; "last" excludes the day itself.
    weekday = next((i for i, w in enumerate(_WEEKDAYS) if re.search(rf"\b{w}\b", text)), None)
    if weekday is not None:
        back = (published.weekday() - weekday) % 7
        if "last" in text and back == 0:
            back = 7
        on = published - dt.timedelta(days=back)
        return Span(on, on)
    if month_named is not None and "last" in text:
        year = published.year if month_named < published.month else published.year - 1
        return Span.of(f"{year:04d}-{month_named:02d}")
    return None


def _day_span(year: int, month: int, day: int) -> Span | None:
    try:
        return Span(dt.date(year, month, day), dt.date(year, month, day))
    except ValueError:
        return None


def _range(year: int, month: int, first: int, last: int) -> Span | None:
    try:
        return Span(dt.date(year, month, first), dt.date(year, month, last))
    except ValueError:
        return None
