"""Search what the graph already knows: events and register entities by label, spelling, date and participant.

Analysts mapping a new article need the id of a known event or entity to paste into their mapping.
`load_index` reads the served graph once (through SPARQL, so it works on the seeds, a ``--data``
file or a remote store) into plain dataclasses; `find` answers a search over that index and
`match_events` ranks the known events a new report most probably is — the draft (draft.py) and
``kg-service find`` / ``GET /search`` share this code, so a search and a draft agree.

Dates are read through `resolved_dates` only: the best-known dates of the resolved layer (the default
graph, resolve.py: a correction's date first, then the most precise date the articles agree on), and
where a dataset has no resolved layer, the most precise date an article states. Everything else about
an event (label, status, sides, place) is read from the resolved layer too; the article graphs give
only `stated_dates`, what the articles say.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from typing import Any

from anyascii import anyascii
from rapidfuzz import fuzz

from .dates import Span
from .errors import Location, UsageError
from .mapping import is_date_text
from .vocab import DEFAULT_GRAPHS, DKG, ID, RESOLVED_GRAPH

EVENT_CLASSES = ("Meeting", "Ruling", "TradeMeasure", "Agreement", "Visit", "Ceremony")
ENTITY_KINDS = ("person", "state", "org", "group", "place", "issue", "gathering")
# Event properties that name who took part, whatever the class calls them (the `--who` filter).
SIDE_PROPERTIES = {"participant": "participants", "party": "parties", "imposedBy": "imposed_by",
                   "targets": "targets", "court": "court", "defendant": "defendants", "plaintiff": "plaintiffs"}
_PREFIX = ("PREFIX dkg: <" + str(DKG._NS) + "> PREFIX skos: <http://www.w3.org/2004/02/skos/core#>\n"
           "PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#> PREFIX rdf: <http://www.w3.org/1999/02/22-rdf-syntax-ns#>\n")
# Rows without ?g are the default graph (with a resolved layer: what is known); the others name their graph.
_EVENTS = _PREFIX + """SELECT DISTINCT ?e ?cls ?p ?o ?g WHERE {
  { ?e rdf:type ?cls . ?e ?p ?o } UNION { GRAPH ?g { ?e rdf:type ?cls . ?e ?p ?o } }
  VALUES ?cls { """ + " ".join(f"dkg:{c}" for c in EVENT_CLASSES) + " } }"
_NAMES = _PREFIX + """SELECT DISTINCT ?x ?p ?name WHERE {
  VALUES ?p { skos:prefLabel skos:altLabel dkg:country }
  { ?x ?p ?name } UNION { GRAPH ?g { ?x ?p ?name } }
}"""
_DATE_PROPERTIES = {"date": "date", "earliestDate": "earliest", "latestDate": "latest"}
# The resolved layer's dates, read from the default graph and from graph:resolved by name (a dump served
# without a materialised default graph still has it), with the rank that says whether a correction set them.
_KNOWN_DATES = _PREFIX + """SELECT DISTINCT ?e ?p ?value ?rank WHERE {
  VALUES ?p { dkg:date dkg:earliestDate dkg:latestDate }
  { ?e ?p ?value OPTIONAL { ?e dkg:resolution ?r . ?r rdf:predicate ?p ; rdf:object ?value ; dkg:rank ?rank } }
  UNION { GRAPH <""" + str(RESOLVED_GRAPH) + """> {
    ?e ?p ?value OPTIONAL { ?e dkg:resolution ?r . ?r rdf:predicate ?p ; rdf:object ?value ; dkg:rank ?rank } } }
}"""
_KNOWN_GRAPHS = frozenset(str(g) for g in DEFAULT_GRAPHS)


@dataclass
class Entity:
    """A register entity: its key (what a mapping writes), kind, correct name and every known spelling."""

    key: str
    kind: str
    name: str
    spellings: set[str] = field(default_factory=set)
    country: str | None = None


@dataclass
class Event:
    """A known event as the graph knows it: `date` is the resolved one (corrections first); an event known
    only to lie between two dates has `earliest` and `latest` instead (either alone bounds it on one side)."""

    key: str
    cls: str
    label: str = ""
    date: str | None = None
    stated_dates: set[str] = field(default_factory=set)  # what the article graphs say
    corrected: bool = False
    earliest: str | None = None
    latest: str | None = None
    sides: dict[str, set[str]] = field(default_factory=dict)  # mapping field -> entity keys
    place: str | None = None
    status: str | None = None  # held, planned, expected, not-held
    other_dates: set[str] = field(default_factory=set)  # a trade measure's announced and effective dates

    @property
    def span(self) -> Span | None:
        """The days the event may fall on: its date, else its earliest and latest dates when it has both."""
        if self.date:
            return Span.of(self.date)
        if self.earliest and self.latest:
            return Span(Span.of(self.earliest).earliest, Span.of(self.latest).latest)
        return None

    @property
    def when(self) -> str | None:
        """The resolved date as text: the date, or "EARLIEST/LATEST" for an event known between two dates."""
        return self.date or (f"{self.earliest}/{self.latest}" if self.earliest and self.latest else None)

    def excludes(self, span: Span) -> bool:
        """Whether a one-sided bound rules the days of `span` out (a day apart is allowed: time zones)."""
        day = dt.timedelta(days=1)
        return bool(self.earliest and span.latest < Span.of(self.earliest).earliest - day
                    or self.latest and span.earliest > Span.of(self.latest).latest + day)

    def who(self) -> set[str]:
        return set().union(*self.sides.values()) if self.sides else set()


@dataclass
class Index:
    events: dict[str, Event]
    entities: dict[str, Entity]
    version: str = ""


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


def key_of(iri: str) -> tuple[str, str] | None:
    """(kind, key) of one of our IRIs, or None for anything else.

    >>> key_of("https://w3id.org/kg-service/id/person/park-jin")
    ('person', 'park-jin')
    >>> key_of("http://example.org/x") is None
    True
    """
    if not iri.startswith(str(ID)):
        return None
    kind, _, key = iri[len(str(ID)):].partition("/")
    return (kind, key) if key and "/" not in key else None


def normalise(text: str) -> str:
    """A spelling as compared by fuzzy matching: ASCII, lowercase, words separated by one space.

    >>> normalise("Chung Eui\u2011yong"), normalise("林芳正")
    ('chung eui yong', 'linfangzheng')
    """
    return " ".join(re.findall(r"[a-z0-9]+", anyascii(text).lower()))


@dataclass
class KnownDates:
    """The best-known dates of one event, as the resolved layer gives them."""

    date: set[str] = field(default_factory=set)
    earliest: set[str] = field(default_factory=set)
    latest: set[str] = field(default_factory=set)
    corrected: bool = False  # the date rests on an editorial correction (dkg:rank dkg:Corrected)


def resolved_dates(kg: Any) -> dict[str, KnownDates]:
    """Event key -> its best-known dates (dkg:date, dkg:earliestDate, dkg:latestDate) in the resolved layer:
    the one place dates are resolved. resolve.py has applied the corrections already; a dataset without
    a resolved layer whose default graph is the union of its graphs may give several values here."""
    found: dict[str, KnownDates] = {}
    for row in kg.query(_KNOWN_DATES):
        key, value = key_of(row["e"].value), row["value"].value
        if key is None or key[0] != "event" or not is_date_text(value):
            continue
        known = found.setdefault(key[1], KnownDates())
        getattr(known, _DATE_PROPERTIES[row["p"].value.rpartition("#")[2]]).add(value)
        rank = row["rank"]
        if rank is not None and rank.value == str(DKG.Corrected) and row["p"].value == str(DKG.date):
            known.corrected = True
    return found


def _best(dates: set[str]) -> str | None:
    """The most precise of several dates, the earliest on a tie (one date is simply itself)."""
    return sorted(dates, key=lambda d: (-len(d), d))[0] if dates else None


def load_index(kg: Any) -> Index:
    """Read every event and register entity of the served graph `kg` (a store.KnowledgeGraph)."""
    entities: dict[str, Entity] = {}
    for row in kg.query(_NAMES):
        found = key_of(row["x"].value)
        if found is None or found[0] not in ENTITY_KINDS:
            continue
        entity = entities.setdefault(found[1], Entity(found[1], found[0], found[1]))
        predicate, value = row["p"].value, row["name"].value
        if predicate.endswith("country"):
            entity.country = (key_of(value) or ("", None))[1]
            continue
        entity.spellings.add(value)
        if predicate.endswith("prefLabel"):
            entity.name = value
    known: dict[str, list[tuple[str, str]]] = {}  # from the default graph and the resolved layer
    claimed: dict[str, list[tuple[str, str]]] = {}  # from the article (and other named) graphs
    classes: dict[str, str] = {}
    for row in kg.query(_EVENTS):
        found = key_of(row["e"].value)
        if found is None or found[0] != "event":
            continue
        graph = row["g"]
        into = known if graph is None or graph.value in _KNOWN_GRAPHS else claimed
        into.setdefault(found[1], []).append((row["p"].value.rpartition("#")[2], row["o"].value))
        if into is known or found[1] not in classes:  # the resolved class over an article's
            classes[found[1]] = row["cls"].value.rpartition("#")[2]
    events: dict[str, Event] = {}
    for key in sorted(classes):
        event = events[key] = Event(key, classes[key])
        for name, value in known.get(key) or claimed.get(key, []):  # the articles only where nothing is resolved
            _add_property(event, name, value)
        # What the articles say (of an event only a correction adds: nothing); data without named graphs says it all.
        said = claimed.get(key, []) if claimed else known.get(key, [])
        event.stated_dates = {v for n, v in said if n == "date" and is_date_text(v)}
    dates = resolved_dates(kg)
    for event in events.values():
        if event.key in dates:
            best = dates[event.key]
            event.date, event.corrected = _best(best.date), best.corrected
            event.earliest, event.latest = min(best.earliest, default=None), max(best.latest, default=None)
        elif event.key not in known:  # no resolved layer: the most precise date any article states
            event.date = _best(event.stated_dates)
    return Index(events, entities, getattr(kg, "version", ""))


def _add_property(event: Event, name: str, value: str) -> None:
    if name == "label":
        event.label = event.label or value
    elif name in ("announcedDate", "effectiveDate") and is_date_text(value):
        event.other_dates.add(value)
    elif name == "status":
        event.status = {"Held": "held", "Planned": "planned", "Expected": "expected", "NotHeld": "not-held"}.get(
            value.rpartition("#")[2])
    elif name == "place":
        event.place = (key_of(value) or ("", None))[1]
    elif name in SIDE_PROPERTIES and (found := key_of(value)):
        event.sides.setdefault(SIDE_PROPERTIES[name], set()).add(found[1])


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
