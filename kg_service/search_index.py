"""The index of what the graph already knows: its events and register entities, read once into dataclasses.

Analysts mapping a new article need the id of a known event or entity to paste into their mapping.
`load_index` reads the served graph once (through SPARQL, so it works on the seeds, a ``--data``
file or a remote store) into plain dataclasses, which `search.find` (``kg-service find``,
``GET /search``), `event_match.match_events` and the draft (draft.py) all read, so a search and a
draft agree.

Dates are read through `resolved_dates` only: the best-known dates of the resolved layer (the default
graph, resolve.py: a correction's date first, then the most precise date the articles agree on), and
where a dataset has no resolved layer, the most precise date an article states. Everything else about
an event (label, status, sides, place) is read from the resolved layer too; the article graphs give
only `stated_dates`, what the articles say.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from .dates import Span, is_date_text
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
    """What `load_index` read: events and entities by key, and the version of the graph it read them from."""

    events: dict[str, Event]
    entities: dict[str, Entity]
    version: str = ""


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
