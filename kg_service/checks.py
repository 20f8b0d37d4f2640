"""Checks across graphs that SHACL cannot express: duplicates of known events, quotes and offsets
against the verbatim text, and IRIs of ours that name nothing known.

The validator (validate.py) runs these beside pySHACL when a new article or an RDF file from
another tool is checked against the served seeds. Each check reads graphs and returns `Finding`s;
none of them changes a graph.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import cast

from rdflib import RDF, Graph, URIRef

from .compiler import Catalogue
from .fields import ACTOR_PREDICATES
from .quotes import closest_passage
from .report import Finding
from .vocab import DKG, EVENT_CLASSES, ID, OA

# What makes two reports one event: its class, its date and who took part, whatever the class calls them.
SIDES = ACTOR_PREDICATES  # the field registry's actor fields
_CLASSES = {iri: name for name, iri in EVENT_CLASSES.items()}
_EVENT_PREFIX = str(ID) + "event/"


@dataclass(frozen=True)
class Signature:
    """An event's class and date: the first thing two reports of one event share."""

    cls: str
    date: str


Sides = dict[str, frozenset[str]]  # property IRI -> the agents it names


def signatures(graph: Graph) -> dict[URIRef, dict[Signature, Sides]]:
    """The signature and sides of every dated event in `graph` that names any side."""
    found: dict[URIRef, dict[Signature, Sides]] = {}
    for event, cls in graph.subject_objects(RDF.type):
        if not isinstance(cls, URIRef) or cls not in _CLASSES or not isinstance(event, URIRef):
            continue
        sides = {str(p): frozenset(str(o) for o in graph.objects(event, p)) for p in SIDES}
        sides = {p: agents for p, agents in sides.items() if agents}
        for date in graph.objects(event, DKG.date):
            if sides:
                found.setdefault(event, {})[Signature(_CLASSES[cls], str(date))] = sides
    return found


def known_signatures(graphs: Iterable[tuple[str, Graph]]) -> dict[Signature, list[tuple[URIRef, Sides, str]]]:
    """Signature -> [(event IRI, sides, graph name)] over the served article graphs."""
    index: dict[Signature, list[tuple[URIRef, Sides, str]]] = {}
    for name, graph in graphs:
        for event, sigs in signatures(graph).items():
            for sig, sides in sigs.items():
                index.setdefault(sig, []).append((event, sides, name))
    return index


def same_sides(a: Sides, b: Sides) -> bool:
    """Whether two events name the same sides: equal for every property both give, and they share one.

    One report may name the ministers and another the states as well; what both name must agree.

    >>> p, s = "participant", "party"
    >>> same_sides({p: frozenset("ab")}, {p: frozenset("ab"), s: frozenset("xy")})
    True
    >>> same_sides({p: frozenset("ab")}, {p: frozenset("ac")}), same_sides({p: frozenset("ab")}, {s: frozenset("ab")})
    (False, False)
    """
    common = a.keys() & b.keys()
    return bool(common) and all(a[p] == b[p] for p in common)


def duplicate_findings(graph: Graph, known: dict[Signature, list[tuple[URIRef, Sides, str]]],
                       line_of: Callable[[URIRef], int | None] = lambda _iri: None,
                       file: str | None = None) -> list[Finding]:
    """A Warning for each event of `graph` that matches a known event under another IRI: same class,
    same date, same participants (or parties, imposer and targets, court and defendants)."""
    findings = []
    for event, sigs in sorted(signatures(graph).items()):
        for sig, sides in sorted(sigs.items(), key=lambda item: item[0].date):
            others = sorted({other: source for other, their, source in known.get(sig, [])
                             if other != event and same_sides(sides, their)}.items())
            for other, source in others:
                key = str(event).removeprefix(_EVENT_PREFIX)
                findings.append(Finding(
                    "Warning", f"events.{key}: probably the same event as <{other}> (same class {sig.cls}, date "
                    f"{sig.date} and participants, reported in <{source}>): reuse its id "
                    f"{str(other).removeprefix(_EVENT_PREFIX)!r}", str(event), str(RDF.type), str(other),
                    file if line_of(event) else None, line_of(event), "duplicate"))
    return findings


def quote_findings(graph: Graph, texts: Callable[[URIRef], str | None], file: str | None = None) -> list[Finding]:
    """Evidence in RDF made elsewhere: each quote must occur in its article, at the offsets given."""
    findings = []
    for target, source in graph.subject_objects(OA.hasSource):
        text = texts(source) if isinstance(source, URIRef) else None
        if text is None:
            continue
        exacts = [graph.value(sel, OA.exact) for sel in graph.objects(target, OA.hasSelector)
                  if graph.value(sel, OA.exact) is not None]
        for sel in graph.objects(target, OA.hasSelector):
            exact = graph.value(sel, OA.exact)
            if exact is not None and str(exact) not in text:
                findings.append(Finding("Violation", "quote not found in the text of the article; closest passage: "
                                        f"{closest_passage(text, str(exact))!r}", str(sel), str(OA.exact),
                                        str(exact), file, None, "check"))
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
