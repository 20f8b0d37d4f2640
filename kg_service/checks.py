"""Checks across graphs that SHACL cannot express: duplicates of known events, meetings with one
side, quotes and offsets against the verbatim text, and IRIs of ours that name nothing known.

The validator (validate.py) runs these beside pySHACL when a new article or an RDF file from
another tool is checked against the served seeds. Each check reads graphs and returns `Finding`s;
none of them changes a graph.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import cast

from rdflib import RDF, Dataset, Graph, URIRef

from .catalogue import Catalogue
from .dates import Span, is_date_text
from .quotes import not_found_hint
from .report import Finding
from .vocab import CORRECTION_GRAPH, DKG, EVENT_CLASSES, GRAPH, ID, OA

# What makes two reports one event, besides its class and date: who took part, whatever the class calls
# them (participants or parties, court and defendants, imposer and targets), and where.
SIDES = (DKG.participant, DKG.party, DKG.imposedBy, DKG.targets, DKG.court, DKG.defendant)
_CLASSES = {iri: name for name, iri in EVENT_CLASSES.items()}
_EVENT_PREFIX = str(ID) + "event/"
_ARTICLE_GRAPH = str(GRAPH) + "article/"


@dataclass
class KnownEvent:
    """What the graph says of one event, over every article that reports it and the corrections: its
    class, every date given (each a span of days, so 2019 and 2019-07-01 overlap), who took part (by
    property) and where, and the articles (graph names) that report it."""

    iri: URIRef
    cls: str
    spans: list[Span] = field(default_factory=list)
    sides: dict[str, set[str]] = field(default_factory=dict)
    places: set[str] = field(default_factory=set)
    articles: list[str] = field(default_factory=list)

    @property
    def key(self) -> str:
        return str(self.iri).removeprefix(_EVENT_PREFIX)


def known_events(dataset: Dataset, *, exclude: Iterable[str] = ()) -> dict[URIRef, KnownEvent]:
    """Every event of the built dataset, from one walk over its article graphs and its corrections graph
    (graphs named in `exclude` are left out: the article a new mapping replaces)."""
    events: dict[URIRef, KnownEvent] = {}
    left_out = set(exclude)
    for graph in dataset.graphs():
        name = str(graph.identifier)
        if name.startswith(_ARTICLE_GRAPH) and name not in left_out:
            collect_events(graph, events, name)
    collect_corrections(dataset.graph(CORRECTION_GRAPH), events)
    return events


def collect_events(graph: Graph, events: dict[URIRef, KnownEvent], source: str) -> dict[URIRef, KnownEvent]:
    """Add what `graph` (one article's, named `source`) says of its events to `events`."""
    for event, cls in graph.subject_objects(RDF.type):
        if not isinstance(event, URIRef) or cls not in _CLASSES:
            continue
        known = events.setdefault(event, KnownEvent(event, _CLASSES[cast(URIRef, cls)]))
        if source not in known.articles:
            known.articles.append(source)
        start, end = graph.value(event, DKG.date), graph.value(event, DKG.endDate)
        low, high = graph.value(event, DKG.earliestDate), graph.value(event, DKG.latestDate)
        for first, last in ((start, end or start), (low, high or low), (None if low else high, high)):
            if first is not None and last is not None and is_date_text(str(first)) and is_date_text(str(last)):
                known.spans.append(Span(Span.of(str(first)).earliest, Span.of(str(last)).latest))
        for prop in SIDES:
            agents = {str(o) for o in graph.objects(event, prop)}
            if agents:
                known.sides.setdefault(str(prop), set()).update(agents)
        known.places.update(str(o) for o in graph.objects(event, DKG.place))
    return events


def collect_corrections(graph: Graph, events: dict[URIRef, KnownEvent]) -> None:
    """Add the dates the corrections establish (what published sources say) to the events they correct."""
    for correction in graph.subjects(RDF.type, DKG.Correction):
        subject = graph.value(correction, DKG.correctionSubject)
        value = graph.value(correction, DKG.correctValue)
        if subject in events and graph.value(correction, DKG.correctedProperty) in (DKG.date, DKG.earliestDate) \
                and value is not None and is_date_text(str(value)):
            events[cast(URIRef, subject)].spans.append(Span.of(str(value)))


def probably_same(new: KnownEvent, known: KnownEvent) -> bool:
    """Whether two events are probably one: same class, dates that overlap, the same sides for every
    property both give (one may name fewer: a subset), at least one such property, and no two
    different places.

    >>> from datetime import date
    >>> a = KnownEvent(URIRef("a"), "Ruling", [Span.of("2018-10-30")], {"court": {"c"}})
    >>> probably_same(a, KnownEvent(URIRef("b"), "Ruling", [Span.of("2018")], {"court": {"c"}, "defendant": {"d"}}))
    True
    >>> probably_same(a, KnownEvent(URIRef("b"), "Ruling", [Span.of("2018-11")], {"court": {"c"}}))
    False
    """
    if new.cls != known.cls or not any(_overlap(a, b) for a in new.spans for b in known.spans):
        return False
    common = new.sides.keys() & known.sides.keys()
    if not common or any(not (new.sides[p] <= known.sides[p] or known.sides[p] <= new.sides[p]) for p in common):
        return False
    return not (new.places and known.places and not new.places & known.places)


def _overlap(a: Span, b: Span) -> bool:
    return a.earliest <= b.latest and b.earliest <= a.latest


def duplicate_findings(new: dict[URIRef, KnownEvent], known: dict[URIRef, KnownEvent],
                       distinct: dict[URIRef, set[URIRef]] | None = None,
                       line_of: Callable[[URIRef], int | None] = lambda _iri: None,
                       file: str | None = None) -> list[Finding]:
    """A Violation for each event of `new` that is probably a `known` event under another id, unless
    the mapping declares it distinct from that one (`distinct`: event -> the events it is not)."""
    findings = []
    for event, mine in sorted(new.items()):
        for other, theirs in sorted(known.items()):
            if other == event or other in (distinct or {}).get(event, set()) or not probably_same(mine, theirs):
                continue
            where = ", ".join(a.removeprefix(_ARTICLE_GRAPH) for a in theirs.articles)
            key = str(event).removeprefix(_EVENT_PREFIX)
            findings.append(Finding(
                "Violation", f"events.{key}: probably the same event as {theirs.key!r} (a {theirs.cls} on "
                f"{_dates(theirs)}, {_sides(theirs)}; reported in article {where}): reuse its id "
                f"{theirs.key!r}, or declare distinct_from: [{{id: {theirs.key}, reason: ...}}] if it is another",
                str(event), str(RDF.type), str(other), file if line_of(event) else None, line_of(event), "duplicate"))
    return findings


def _dates(event: KnownEvent) -> str:
    spans = sorted(set(event.spans), key=lambda s: (s.earliest, s.latest))
    return " / ".join(s.earliest.isoformat() if s.earliest == s.latest else
                      f"{s.earliest.isoformat()}..{s.latest.isoformat()}" for s in spans[:3])


def _sides(event: KnownEvent) -> str:
    return "; ".join(f"{p.rsplit('#', 1)[-1]} " + ", ".join(sorted(a.rsplit("/", 1)[-1] for a in agents))
                     for p, agents in sorted(event.sides.items()))


def one_sided_findings(graph: Graph, countries: Callable[[URIRef], URIRef | None],
                       line_of: Callable[[URIRef], int | None] = lambda _iri: None,
                       file: str | None = None) -> list[Finding]:
    """A Violation for each meeting with fewer than two sides: its parties and the states of its
    participants together (a participant whose state is unknown is a side of their own). One minister
    and their own state is one side; talks need two."""
    findings = []
    for meeting in sorted(m for m in graph.subjects(RDF.type, DKG.Meeting) if isinstance(m, URIRef)):
        parties = {o for o in graph.objects(meeting, DKG.party) if isinstance(o, URIRef)}
        people = {o for o in graph.objects(meeting, DKG.participant) if isinstance(o, URIRef)}
        sides = parties | {countries(p) or p for p in people}
        if len(sides) == 1:
            key = str(meeting).removeprefix(_EVENT_PREFIX)
            who = ", ".join(sorted(str(x).rsplit("/", 1)[-1] for x in parties | people))
            findings.append(Finding("Violation", f"events.{key}: a meeting needs two sides, but {who} are all one "
                                    f"side ({str(next(iter(sides))).rsplit('/', 1)[-1]}): name the other side's "
                                    "participants or party, or make it a Visit", str(meeting), str(DKG.party), None,
                                    file if line_of(meeting) else None, line_of(meeting), "check"))
    return findings


def quote_findings(graph: Graph, texts: Callable[[URIRef], str | None], file: str | None = None) -> list[Finding]:
    """Evidence in RDF made elsewhere: each quote must occur in its article, at the offsets given."""
    findings: list[Finding] = []
    searched = 0
    for target, source in graph.subject_objects(OA.hasSource):
        text = texts(source) if isinstance(source, URIRef) else None
        if text is None:
            continue
        exacts = [graph.value(sel, OA.exact) for sel in graph.objects(target, OA.hasSelector)
                  if graph.value(sel, OA.exact) is not None]
        for sel in graph.objects(target, OA.hasSelector):
            exact = graph.value(sel, OA.exact)
            if exact is not None and str(exact) not in text:
                findings.append(Finding("Violation", "quote not found in the text of the article; "
                                        f"{not_found_hint(text, str(exact), searched)}", str(sel), str(OA.exact),
                                        str(exact), file, None, "check"))
                searched += 1
            start, end = graph.value(sel, OA.start), graph.value(sel, OA.end)
            if start is None or end is None or not exacts:
                continue
            try:
                there = text[int(cast(str, start)):int(cast(str, end))]  # rdflib terms are str subclasses
            except ValueError:
                continue  # not integers: the shapes say so
            if there != str(exacts[0]):
                findings.append(Finding("Violation", f"offsets {start}-{end} do not match the quote "
                                        f"{str(exacts[0])!r}: the text there reads {there!r}", str(sel),
                                        str(OA.start), str(start), file, None, "check"))
    return findings


def unknown_iri_findings(graph: Graph, catalogue: Catalogue, file: str | None = None) -> list[Finding]:
    """IRIs in our `id/` namespace that are neither in the register, nor known events, nor defined here."""
    defined = {s for s in graph.subjects(RDF.type, None)}
    findings, seen = [], set()
    for node in (*graph.subjects(), *graph.objects()):
        if not isinstance(node, URIRef) or node in seen or node in defined or not str(node).startswith(str(ID)):
            continue
        seen.add(node)
        kind, _, key = str(node)[len(str(ID)):].partition("/")
        if kind in ("evidence", "statement", "article", "membership", "correction") or "#" in key or "/" in key:
            continue
        if kind == "event":
            if key in catalogue.events:
                continue
        elif catalogue.register.iri(key) == node:
            continue
        hint = catalogue.suggest(key)
        findings.append(Finding("Violation", f"unknown {kind} <{node}>"
                                + (f"; did you mean {', '.join(hint)}?" if hint else ": add it to the entity register"),
                                str(node), None, None, file, None, "check"))
    return findings
