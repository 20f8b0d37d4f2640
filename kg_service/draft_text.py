"""Read an article's text for a draft: headline, dateline, publication date, sentences and date phrases.

The first stage of drafting a mapping (draft.py): pure functions over the verbatim text, no graph.
Every span it returns is a verbatim slice of the text, so quotes and the dateline drafted from it
occur in the text as the compiler requires. Absolute dates ("Aug. 2, 2019", "December 28, 2015")
are parsed by dateparser; relative phrases ("on Tuesday", "last Thursday", "on the 21st") by
`dates.resolve_phrase`, the arithmetic the validator checks, so a draft never disagrees with it.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, replace
from functools import lru_cache

from .dates import resolve_phrase

_MONTH = (r"(?:Jan(?:uary|\.)?|Feb(?:ruary|\.)?|Mar(?:ch|\.)?|Apr(?:il|\.)?|May|June?|July?|Aug(?:ust|\.)?|"
          r"Sept?(?:ember|\.)?|Oct(?:ober|\.)?|Nov(?:ember|\.)?|Dec(?:ember|\.)?)")
_WEEKDAYS = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]
_WEEKDAY = r"(?:Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday)"
_FULL_DATES = [  # dates with a year, as a header or dateline gives them
    rf"\b{_MONTH} \d{{1,2}}(?:st|nd|rd|th)?, \d{{4}}\b", rf"\b\d{{1,2}} {_MONTH} \d{{4}}\b",
    r"\b\d{4}-\d{2}-\d{2}\b", r"\b\d{4}\.\d{2}\.\d{2}\b", r"\b\d{4}/\d{2}/\d{2}\b",
]
# Date phrases inside a sentence, most precise first; each is kept verbatim as the event's date_phrase.
_PHRASES = [
    ("day", rf"\b(?:on )?{_MONTH} \d{{1,2}}(?:st|nd|rd|th)?,? \d{{4}}\b"),
    ("day", rf"\b(?:on )?\d{{1,2}} {_MONTH},? \d{{4}}\b"),
    ("month", rf"\b(?:in )?{_MONTH} \d{{4}}\b"),
    ("day-no-year", rf"\b(?:on )?{_MONTH} \d{{1,2}}(?:st|nd|rd|th)?\b"),
    ("relative", rf"\b(?:(?:on|last|this|early|late) )?{_WEEKDAY}(?: (?:morning|afternoon|evening|night))?\b"),
    ("relative", r"\b(?:on )?the \d{1,2}(?:st|nd|rd|th)\b(?: of (?:this|last|next) month)?"),
    ("relative", r"\b(?:yesterday|today|last week)\b"),
    ("year", r"\b(?:in|since|of) (?:(?:late|early|mid-?)\s?)?(?:19|20)\d{2}\b"),
]
_PHRASE_RE = [(kind, re.compile(p, re.IGNORECASE if kind in ("relative", "year") else 0)) for kind, p in _PHRASES]
_DATELINE = re.compile(
    rf"^(?P<place>[A-Z][A-Za-z.' ]{{1,30}}?)(?:, [A-Z][a-z]+(?: [A-Z][a-z]+)?(?=, {_MONTH} ))?"  # ", China"
    rf"(?:, (?P<date>{_MONTH} \d{{1,2}}(?:, \d{{4}})?))?"
    rf"(?: \((?P<agency>[^()\n]{{2,40}})\))?(?= ?(?:--|—|–|-) )")
_ABBREVIATIONS = {"mr", "mrs", "ms", "dr", "st", "no", "gen", "lt", "jr", "sr", "inc", "co", "corp", "vs", "u.s",
                  "u.n", "s", "jan", "feb", "mar", "apr", "aug", "sep", "sept", "oct", "nov", "dec", "rep", "sen",
                  "gov", "prof", "p.m", "a.m"}
_SENTENCE_END = re.compile(r"[.!?][\"”’')]?\s+(?=[\"“‘(]?[A-Z0-9])")


@dataclass(frozen=True)
class Span:
    """A verbatim slice of the text: `text == article[start:end]`."""

    start: int
    end: int
    text: str


@dataclass(frozen=True)
class DatePhrase:
    phrase: str  # verbatim
    date: str  # YYYY-MM-DD, YYYY-MM or YYYY
    how: str  # why this date, for the check comment
    at: int = 0  # where the phrase starts in its sentence


@dataclass(frozen=True)
class Header:
    """What the top of the article says about itself."""

    title: Span | None
    dateline: Span | None
    dateline_place: str | None
    agency: str | None
    published: DatePhrase | None
    base: dt.date | None  # the date relative phrases are resolved against


def lines(text: str) -> list[Span]:
    """The non-blank lines (paragraphs) of the text, stripped.

    >>> [s.text for s in lines("Title\\n\\n  Body one. \\n")]
    ['Title', 'Body one.']
    """
    found = []
    for match in re.finditer(r"[^\n]+", text):
        raw = match.group()
        stripped = raw.strip()
        if stripped:
            start = match.start() + raw.index(stripped)
            found.append(Span(start, start + len(stripped), stripped))
    return found


def sentences(line: Span) -> list[Span]:
    """The sentences of one paragraph; abbreviations such as "Aug." or "U.S." do not end one.

    >>> [s.text for s in sentences(Span(0, 40, "Mr. Park met U.S. envoys. They agreed."))]
    ['Mr. Park met U.S. envoys.', 'They agreed.']
    """
    found, begin = [], 0
    for match in _SENTENCE_END.finditer(line.text):
        before = line.text[begin:match.start()].rsplit(None, 1)
        word = before[-1].lower().strip("(\"“") if before else ""
        if word in _ABBREVIATIONS or (len(word) == 1 and word.isalpha()):
            continue
        end = match.start() + len(match.group().rstrip())
        found.append(Span(line.start + begin, line.start + end, line.text[begin:end]))
        begin = match.end()
    if begin < len(line.text):
        found.append(Span(line.start + begin, line.end, line.text[begin:]))
    return found


@lru_cache(maxsize=4096)
def parse_absolute(phrase: str, base: dt.date | None = None) -> dt.date | None:
    """An absolute date phrase as a date (a month-day without year takes the latest such day on or
    before `base`), or None.

    >>> parse_absolute("Aug. 2, 2019"), parse_absolute("on Aug. 2", dt.date(2019, 8, 3))
    (datetime.date(2019, 8, 2), datetime.date(2019, 8, 2))
    """
    import dateparser  # imported here: loading its language data takes a quarter of a second

    settings: dict[str, object] = {"PREFER_DATES_FROM": "past", "REQUIRE_PARTS": ["day", "month"]}
    if base is not None:
        settings["RELATIVE_BASE"] = dt.datetime(base.year, base.month, base.day, 23, 59)
    cleaned = re.sub(r"^(?:on|in) ", "", phrase.strip(), flags=re.IGNORECASE)
    parsed = dateparser.parse(cleaned, languages=["en"], settings=settings)
    return parsed.date() if parsed else None


def read_header(text: str, *, head_lines: int = 6) -> Header:
    """Title (the first line), dateline, agency and publication date from the top of the text."""
    top = lines(text)[:head_lines]
    title = top[0] if top else None
    if title is not None and len(title.text) > 200:  # no headline: the first sentence stands in
        title = sentences(title)[0]
    dateline = place = agency = None
    dateline_date: dt.date | None = None
    for line in top[1:] or top:
        match = _DATELINE.match(line.text)
        if match and (match.group("date") or match.group("agency")):
            dateline = Span(line.start, line.start + match.end(), match.group())
            place, agency = match.group("place").strip(), match.group("agency")
            if match.group("date") and re.search(r"\d{4}", match.group("date")):
                dateline_date = parse_absolute(match.group("date"))
            break
    published = None
    for line in top:
        for pattern in _FULL_DATES:
            found = re.search(pattern, line.text)
            if found and (day := parse_absolute(found.group())):
                published = DatePhrase(found.group(), day.isoformat(), f"{found.group()!r} at the top of the text")
                break
        if published:
            break
    if published is None and dateline_date is not None:
        published = DatePhrase(dateline.text if dateline else "", dateline_date.isoformat(), "the dateline")
    base = dt.date.fromisoformat(published.date) if published else None
    if dateline is not None and base is not None and (match := _DATELINE.match(dateline.text)) and match.group("date"):
        # "SEOUL, Aug. 2 (Yonhap)" under a header dated Aug. 3: the story's own day is the dateline's.
        base = parse_absolute(match.group("date"), base) or base
    return Header(title, dateline, place, agency, published, base)


def date_phrases(sentence: str, base: dt.date | None, *, future_after: int | None = None) -> list[DatePhrase]:
    """Every date phrase of a sentence that can be resolved, in order of appearance. After the words
    that announce what is to come ("will", at `future_after`), a bare weekday is the next one
    ("it will ... from Thursday"); before them it is the last ("said Monday it will").

    >>> [(d.phrase, d.date) for d in date_phrases("They met on Tuesday in Seoul.", dt.date(2019, 8, 2))]
    [('on Tuesday', '2019-07-30')]
    >>> [d.date for d in date_phrases("In 2015, the two sides agreed.", None)]
    ['2015']
    >>> [d.date for d in date_phrases("It will act from Thursday.", dt.date(2019, 7, 1), future_after=3)]
    ['2019-07-04']
    """
    found: list[tuple[int, DatePhrase]] = []
    taken: list[tuple[int, int]] = []
    for kind, pattern in _PHRASE_RE:
        for match in pattern.finditer(sentence):
            if any(s < match.end() and match.start() < e for s, e in taken):
                continue
            future = future_after is not None and match.start() > future_after
            resolved = _resolve(kind, match.group(), base, future)
            if resolved:
                taken.append((match.start(), match.end()))
                found.append((match.start(), replace(resolved, at=match.start())))
    return [phrase for _, phrase in sorted(found, key=lambda f: f[0])]


def _resolve(kind: str, phrase: str, base: dt.date | None, future: bool = False) -> DatePhrase | None:
    if kind == "year":
        return DatePhrase(phrase, re.findall(r"\d{4}", phrase)[0], "the year the phrase names")
    if kind == "month":
        day = parse_absolute("1 " + re.sub(r"^in ", "", phrase))
        return DatePhrase(phrase, day.isoformat()[:7], "the month the phrase names") if day else None
    if kind == "day":
        day = parse_absolute(phrase)
        return DatePhrase(phrase, day.isoformat(), "the date the phrase names") if day else None
    if base is None:
        return None
    if kind == "day-no-year":
        day = parse_absolute(phrase, base)
        return DatePhrase(phrase, day.isoformat(), f"the latest such day on or before {base}") if day else None
    lowered = phrase.lower()
    if lowered in ("today", "yesterday"):
        day = base - dt.timedelta(days=lowered == "yesterday")
        return DatePhrase(phrase, day.isoformat(), f"{lowered} of {base}")
    weekday = re.search(_WEEKDAY, phrase, re.IGNORECASE)
    if future and weekday and not re.search(r"\blast\b", lowered):
        ahead = (_WEEKDAYS.index(weekday.group().lower()) - base.weekday()) % 7 or 7
        day = base + dt.timedelta(days=ahead)
        return DatePhrase(phrase, day.isoformat(), f"the next {weekday.group()} after {base} (it looks ahead)")
    span = resolve_phrase(phrase, base)
    if span is None or span.earliest != span.latest:
        return None  # a range ("last week") is left to the author: earliest_date/latest_date
    return DatePhrase(phrase, span.earliest.isoformat(), f"resolved against {base}")
