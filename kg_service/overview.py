"""What the home page says the graph holds: counts per class, the latest events, and the foreign ministers'
meetings (the question most visitors come with: when did they last meet, and what came of it?).

Fixed, bounded queries on the embedded store, computed once per graph version by the caller.
"""

from __future__ import annotations

from dataclasses import dataclass

from .pagedata import EVENT_VALUES, PAGE_LIMIT, Value, combined_status, labels, local_name, select, status_name
from .store import KnowledgeGraph
from .vocab import EVENT_CLASSES

EVENT_NAMES = list(EVENT_CLASSES)


@dataclass(frozen=True)
class ClassCount:
    name: str  # local name in the ontology, e.g. "Meeting"
    label: str
    count: int
    is_event: bool


@dataclass(frozen=True)
class MeetingSummary:
    meeting: Value
    date: str | None
    place: Value | None
    participants: tuple[Value, ...]
    outcomes: tuple[str, ...]
    status: str | None


def class_counts(kg: KnowledgeGraph) -> list[ClassCount]:
    """Distinct resources per class of our ontology, event classes first, then by count."""
    rows = select(kg, f"""SELECT ?c (COUNT(DISTINCT ?s) AS ?n) WHERE {{ ?s a ?c .
        FILTER(STRSTARTS(STR(?c), STR(dkg:))) }} GROUP BY ?c LIMIT {PAGE_LIMIT}""")
    names = labels(kg, [r["c"].value for r in rows])
    counts = [ClassCount(local_name(r["c"].value), names.get(r["c"].value, local_name(r["c"].value)),
                         int(r["n"].value), local_name(r["c"].value) in EVENT_CLASSES) for r in rows]
    return sorted(counts, key=lambda c: (not c.is_event, EVENT_NAMES.index(c.name) if c.is_event else 0,
                                         -c.count, c.label))


def latest_events(kg: KnowledgeGraph, limit: int = 8) -> list[tuple[Value, str, str, str | None]]:
    """The most recent dated events: (event, class, date, status)."""
    rows = select(kg, f"""SELECT ?e ?cls (SAMPLE(?l) AS ?label) (MAX(STR(?d)) AS ?date)
            (GROUP_CONCAT(DISTINCT STR(?st); separator=" ") AS ?statuses)
        WHERE {{ ?e a ?cls ; dkg:date ?d . VALUES ?cls {{ {EVENT_VALUES} }}
                 OPTIONAL {{ ?e rdfs:label ?l }} OPTIONAL {{ ?e dkg:status ?st }} }}
        GROUP BY ?e ?cls ORDER BY DESC(?date) LIMIT {int(limit)}""")
    return [(Value(r["label"].value if "label" in r else local_name(r["e"].value), r["e"].value),
             local_name(r["cls"].value), r["date"].value,
             combined_status(status_name(s) for s in r["statuses"].value.split()) if "statuses" in r else None)
            for r in rows]


def foreign_minister_meetings(kg: KnowledgeGraph, limit: int = 5) -> list[MeetingSummary]:
    """Ministerial meetings between Japan and South Korea, latest first, with what came of them."""
    rows = select(kg, f"""SELECT ?m (SAMPLE(?l) AS ?label) (MAX(STR(?d)) AS ?date) (SAMPLE(?pl) AS ?place)
            (GROUP_CONCAT(DISTINCT STR(?who); separator=" ") AS ?people)
            (GROUP_CONCAT(DISTINCT STR(?st); separator=" ") AS ?statuses)
        WHERE {{ ?m a dkg:Meeting ; dkg:level dkg:Ministerial ; dkg:date ?d ;
                    dkg:party <https://w3id.org/kg-service/id/state/japan>,
                              <https://w3id.org/kg-service/id/state/south-korea> .
                 OPTIONAL {{ ?m rdfs:label ?l }} OPTIONAL {{ ?m dkg:place ?pl }}
                 OPTIONAL {{ ?m dkg:participant ?who }} OPTIONAL {{ ?m dkg:status ?st }} }}
        GROUP BY ?m ORDER BY DESC(?date) LIMIT {int(limit)}""")
    people = [p for r in rows if "people" in r for p in r["people"].value.split()]
    places = [r["place"].value for r in rows if "place" in r]
    names = labels(kg, people + places)
    meetings = []
    for r in rows:
        outcomes = select(kg, f"SELECT DISTINCT ?me ?o WHERE {{ ?me dkg:outcome ?o }} LIMIT {PAGE_LIMIT}", me=r["m"])
        statuses = [status_name(s) for s in r["statuses"].value.split()] if "statuses" in r else []
        place = r.get("place")
        meetings.append(MeetingSummary(
            Value(r["label"].value if "label" in r else local_name(r["m"].value), r["m"].value),
            r["date"].value if "date" in r else None,
            Value(names.get(place.value, local_name(place.value)), place.value) if place is not None else None,
            tuple(Value(names.get(p, local_name(p)), p) for p in sorted(set(r["people"].value.split())))
            if "people" in r else (),
            tuple(sorted({o["o"].value for o in outcomes})), combined_status(statuses)))
    return meetings
