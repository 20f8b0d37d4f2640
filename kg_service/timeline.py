"""All events on one time axis: their dates, classes and statuses, the issues and actors to filter by.

Read with three fixed queries once per graph version (`load_timeline`), then filtered and grouped by
year in plain Python (`filter_events`, `by_year`), so the page stays cheap with thousands of events.
The default graph is the resolved layer (resolve.py), so an event has one date and one status here: a
correction's where one exists (the event is marked corrected), else the most precise date its sources
agree on, else the start of its range; an event whose sources disagree shows undated.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from .fields import ACTOR_PREDICATES
from .pagedata import EVENT_VALUES, Value, combined_status, labels, local_name, select, status_name
from .store import KnowledgeGraph

# Who an event can be filtered by: the registry's actor fields (participants, parties, court, defendants...).
ACTOR_PROPERTIES = tuple(str(p).rsplit("#", 1)[-1] for p in ACTOR_PREDICATES)
MAX_EVENTS = 100000


@dataclass(frozen=True)
class TimelineEvent:
    iri: str
    label: str
    kind: str  # class local name: Meeting, Ruling, ...
    date: str | None  # YYYY-MM-DD, YYYY-MM or YYYY
    status: str | None  # held, planned, expected, not-held
    corrected: bool  # the date comes from an editorial correction
    approximate: bool  # the date is the start of a range ("late April at the earliest")
    issues: frozenset[str] = frozenset()
    actors: frozenset[str] = frozenset()

    @property
    def year(self) -> str | None:
        return self.date[:4] if self.date else None

    @property
    def held(self) -> bool:
        return self.status == "held"


@dataclass
class Timeline:
    events: list[TimelineEvent]
    issues: list[Value] = field(default_factory=list)  # every issue some event is about, for the filter
    actors: list[Value] = field(default_factory=list)


def load_timeline(kg: KnowledgeGraph) -> Timeline:
    rows = select(kg, f"""SELECT ?e ?cls (SAMPLE(?l) AS ?label) (MIN(STR(?d)) AS ?date) (MIN(STR(?early)) AS ?from)
            (MAX(?fixed) AS ?corrected) (GROUP_CONCAT(DISTINCT STR(?st); separator=" ") AS ?statuses)
        WHERE {{ ?e a ?cls . VALUES ?cls {{ {EVENT_VALUES} }}
                 OPTIONAL {{ ?e rdfs:label ?l }} OPTIONAL {{ ?e dkg:date ?d }} OPTIONAL {{ ?e dkg:earliestDate ?early }}
                 OPTIONAL {{ ?e dkg:status ?st }}
                 OPTIONAL {{ ?e dkg:resolution ?r . ?r rdf:predicate dkg:date ; dkg:rank dkg:Corrected .
                             BIND(1 AS ?fixed) }} }}
        GROUP BY ?e ?cls LIMIT {MAX_EVENTS}""")
    links = select(kg, f"""SELECT DISTINCT ?e ?issue WHERE {{ ?e a ?cls ; dkg:topic/skos:broader* ?issue .
        VALUES ?cls {{ {EVENT_VALUES} }} }} LIMIT {MAX_EVENTS * 10}""")
    actor_values = " ".join(f"dkg:{p}" for p in ACTOR_PROPERTIES)
    actor_rows = select(kg, f"""SELECT DISTINCT ?e ?who WHERE {{ ?e a ?cls ; ?p ?who .
        VALUES ?cls {{ {EVENT_VALUES} }} VALUES ?p {{ {actor_values} }} }} LIMIT {MAX_EVENTS * 10}""")
    issues_of: dict[str, set[str]] = {}
    for r in links:
        issues_of.setdefault(r["e"].value, set()).add(r["issue"].value)
    actors_of: dict[str, set[str]] = {}
    for r in actor_rows:
        actors_of.setdefault(r["e"].value, set()).add(r["who"].value)
    events = []
    seen = set()
    for r in rows:
        iri = r["e"].value
        if iri in seen:  # an event typed with two event classes shows once
            continue
        seen.add(iri)
        date = r["date"].value if "date" in r else r["from"].value if "from" in r else None
        statuses = [status_name(s) for s in r["statuses"].value.split()] if "statuses" in r else []
        events.append(TimelineEvent(iri, r["label"].value if "label" in r else local_name(iri),
                                    local_name(r["cls"].value), date, combined_status(statuses),
                                    "corrected" in r, "corrected" not in r and "date" not in r and "from" in r,
                                    frozenset(issues_of.get(iri, ())), frozenset(actors_of.get(iri, ()))))
    events.sort(key=lambda e: (e.date is None, e.date or "", e.label))
    issue_iris = {i for e in events for i in e.issues}
    actor_iris = {a for e in events for a in e.actors}
    names = labels(kg, issue_iris | actor_iris)
    return Timeline(events, sorted((Value(names.get(i, local_name(i)), i) for i in issue_iris), key=lambda v: v.text),
                    sorted((Value(names.get(a, local_name(a)), a) for a in actor_iris), key=lambda v: v.text))


def filter_events(events: list[TimelineEvent], *, issue: str | None = None, actor: str | None = None,
                  kind: str | None = None) -> list[TimelineEvent]:
    return [e for e in events if (not issue or issue in e.issues) and (not actor or actor in e.actors)
            and (not kind or e.kind == kind)]


def by_year(events: list[TimelineEvent]) -> list[tuple[str, list[TimelineEvent]]]:
    """Events grouped by year in date order, undated ones last under "Undated".

    >>> e = [TimelineEvent("a", "A", "Meeting", "2019-07", "held", False, False),
    ...      TimelineEvent("b", "B", "Ruling", None, "held", False, False)]
    >>> [(y, len(es)) for y, es in by_year(e)]
    [('2019', 1), ('Undated', 1)]
    """
    groups: dict[str, list[TimelineEvent]] = {}
    for event in events:
        groups.setdefault(event.year or "Undated", []).append(event)
    return list(groups.items())


def year_counts(events: list[TimelineEvent]) -> list[tuple[str, Counter]]:
    """Per year (every year from the first to the last, empty ones too), how many events of each class."""
    years = sorted({e.year for e in events if e.year})
    counts: dict[str, Counter] = {}
    for event in events:
        if event.year:
            counts.setdefault(event.year, Counter())[event.kind] += 1
    if not years:
        return []
    span = range(int(years[0]), int(years[-1]) + 1)
    return [(str(y), counts.get(str(y), Counter())) for y in span]
