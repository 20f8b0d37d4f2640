"""Search the index of what the graph knows: events and register entities by label, spelling, date and participant.

``kg-service find`` and ``GET /search`` call `find` over the index `search_index.load_index` reads:
text matches labels, spellings and ids fuzzily (rapidfuzz over the ASCII forms `normalise` gives,
which the draft's spellings use too), the other criteria filter, and each `Hit` says why it matched.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from anyascii import anyascii
from rapidfuzz import fuzz

from .dates import Span, is_date_text
from .errors import Location, UsageError
from .search_index import ENTITY_KINDS, EVENT_CLASSES, Entity, Event, Index


@dataclass
class Hit:
    """One search result: the id to paste into a mapping, what it is and why it matched."""

    kind: str  # "event" or an entity kind
    key: str
    label: str
    score: float
    cls: str | None = None
    date: str | None = None
    why: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"id": self.key, "kind": self.kind, "class": self.cls, "label": self.label, "date": self.date,
                "score": round(self.score, 1), "why": self.why}


def normalise(text: str) -> str:
    """A spelling as compared by fuzzy matching: ASCII, lowercase, words separated by one space.

    >>> normalise("Chung Eui\u2011yong"), normalise("林芳正")
    ('chung eui yong', 'linfangzheng')
    """
    return " ".join(re.findall(r"[a-z0-9]+", anyascii(text).lower()))


def parse_bound(text: str | None, option: str, *, end: bool) -> Span | None:
    """A --from/--to bound: YYYY, YYYY-MM or YYYY-MM-DD, as the span it covers.

    >>> parse_bound("2019-07", "--from", end=False)
    Span(earliest=datetime.date(2019, 7, 1), latest=datetime.date(2019, 7, 31))
    """
    if not text:
        return None
    if not is_date_text(text):
        raise UsageError(f"{text!r} is not a date: write YYYY-MM-DD, YYYY-MM or YYYY", Location(field=option))
    return Span.of(text)


def find(index: Index, text: str = "", *, cls: str | None = None, date_from: str | None = None,
         date_to: str | None = None, who: str | None = None, limit: int = 20) -> list[Hit]:
    """Events and entities matching all the criteria given, best first.

    `text` matches labels, spellings and ids fuzzily; `cls` an event class or an entity kind; an
    event is in a date range when the days its resolved date covers overlap the range (a year-only
    date overlaps every month of its year: `why` says so); `who` is an entity key or a spelling."""
    low, high = parse_bound(date_from, "--from", end=False), parse_bound(date_to, "--to", end=True)
    if cls and cls not in EVENT_CLASSES and cls not in ENTITY_KINDS:
        raise UsageError(f"unknown class {cls!r}; known: " + ", ".join(EVENT_CLASSES + ENTITY_KINDS),
                         Location(field="--class"))
    who_key = _who_key(index, who) if who else None
    query = normalise(text)
    hits = []
    for event in index.events.values():
        hit = _event_hit(index, event, query, cls, low, high, who_key)
        if hit:
            hits.append(hit)
    if not (low or high or who_key) and (not cls or cls in ENTITY_KINDS):
        for entity in index.entities.values():
            score = _text_score(query, [entity.name, entity.key, *entity.spellings])
            if (not cls or entity.kind == cls) and score >= _THRESHOLD:
                hits.append(Hit(entity.kind, entity.key, entity.name, score, why=_spelled(query, entity)))
    hits.sort(key=lambda h: (-h.score, h.date or "", h.key))
    return hits[:limit]


_THRESHOLD = 60.0  # rapidfuzz WRatio, 0-100: below this a label shares little more than letters


def _text_score(query: str, labels: list[str]) -> float:
    if not query:
        return 100.0
    return max((fuzz.WRatio(query, normalise(label)) for label in labels if label), default=0.0)


def _spelled(query: str, entity: Entity) -> list[str]:
    best = max(entity.spellings or {entity.name}, key=lambda s: fuzz.WRatio(query, normalise(s)))
    return [f"spelled {best!r}"] if query and best != entity.name else []


def _who_key(index: Index, who: str) -> str:
    if who in index.entities:
        return who
    scored = [(_text_score(normalise(who), [e.name, *e.spellings]), e.key) for e in index.entities.values()]
    score, key = max(scored, default=(0.0, ""))
    if score < 85:
        raise UsageError(f"--who {who!r} names no known entity: give a key (kg-service find {who!r})",
                         Location(field="--who"))
    return key


def _event_hit(index: Index, event: Event, query: str, cls: str | None, low: Span | None, high: Span | None,
               who: str | None) -> Hit | None:
    if cls and cls != event.cls or who and who not in event.who():
        return None
    why = []
    span = event.span
    if low or high:
        if span is None:
            return None
        start = low.earliest if low else span.earliest
        stop = high.latest if high else span.latest
        if span.latest < start or span.earliest > stop:
            return None
        if not (start <= span.earliest and span.latest <= stop):
            why.append(f"dated only {event.when}: may fall outside the range")
    names = [index.entities[k].name for k in event.who() if k in index.entities]
    score = _text_score(query, [event.label, event.key.replace("-", " "), *names])
    if score < _THRESHOLD:
        return None
    if event.corrected:
        why.append(f"date {event.date} from an editorial correction")
    return Hit("event", event.key, event.label, score, event.cls, event.when, why)
