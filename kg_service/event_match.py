"""Which known event a new report most probably is: the matcher behind the draft's proposed ids.

The draft (draft_events.py) describes each candidate event of a new article as a `Probe`;
`match_events` ranks the events of the index (search_index.py) it may be, with a score and the
reasons to show the analyst, so the draft can propose reusing the id of the known event.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .dates import Span
from .search_index import Event, Index


def _gap(one: Span, other: Span) -> int:
    """Days between two spans; 0 when they overlap.

    >>> _gap(Span.of("2019-07-01"), Span.of("2019-07-04")), _gap(Span.of("2019"), Span.of("2019-07"))
    (3, 0)
    """
    return max((other.earliest - one.latest).days, (one.earliest - other.latest).days, 0)


@dataclass
class Probe:
    """What a new article says about one event: what `match_events` compares with known events."""

    cls: str
    date: str | None = None
    status: str = "held"
    people: set[str] = field(default_factory=set)
    parties: set[str] = field(default_factory=set)
    place: str | None = None


def match_events(index: Index, probe: Probe, *, limit: int = 3) -> list[tuple[float, Event, list[str]]]:
    """Known events the probe most probably is, best first, each with a score and its reasons.

    Same class is required; dates must overlap (a day apart is allowed: time zones; an event known only
    between two dates overlaps their span, and a one-sided bound rules out what lies beyond it); then
    shared people weigh most, then shared parties and the place. A match needs a shared date or person,
    but a dated report never matches a known event of unknown date on its people alone: the same people
    meet again and again, and nothing says which of their meetings the undated one was (Kishida's 2014
    proposal of talks with Yun is not their 2016 phone call)."""
    found = []
    span = Span.of(probe.date) if probe.date else None
    for event in index.events.values():
        if event.cls != probe.cls or "not-held" in (event.status, probe.status) and event.status != probe.status:
            continue  # a summit that was not held is not the one that was
        score, why, anchored = 1.0, [f"same class {event.cls}"], False
        if span:
            known = _known_spans(event)
            if not known or event.excludes(span):
                continue  # an undated known event is not told apart from other meetings of its people
            # A measure announced on one day and in force on another is one event: any of its dates will do.
            gap, date = min((_gap(span, s), d) for d, s in known.items())
            if gap > 1:
                continue
            exact = date == probe.date
            score += 3.0 if exact else 2.0 if gap == 0 else 1.0
            why.append(f"date {date}" + ("" if exact else f" ~ {probe.date}") +
                       (" (corrected)" if event.corrected and date == event.date else ""))
            anchored = True
        people = probe.people & event.sides.get("participants", set())
        if people:
            score += 2.0 * len(people)
            why.append("people " + ", ".join(sorted(people)))
            anchored = True
        parties = probe.parties & (event.who() - event.sides.get("participants", set()))
        if parties:
            score += 0.5 * len(parties)
            why.append("parties " + ", ".join(sorted(parties)))
        if probe.place and probe.place == event.place:
            score += 1.0
            why.append(f"place {event.place}")
        if anchored and score >= 3.0:
            found.append((score, event, why))
    found.sort(key=lambda m: (-m[0], m[1].key))
    return found[:limit]


def _known_spans(event: Event) -> dict[str, Span]:
    """The event's resolved date (or span between two dates) and a measure's announced and effective dates."""
    spans = {d: Span.of(d) for d in sorted(event.other_dates)}
    if event.span is not None and event.when:
        spans[event.when] = event.span
    return spans
