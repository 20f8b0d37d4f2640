"""What the page of one resource (``/id/...``) shows, gathered from the graph.

web/entity.py renders `entity`: the resource's names, types and definitions; what each named graph
(an article, the register, the corrections) says about it, with the evidence quotes; the events it
took part in; and the resources that point at it, under a heading per property. It reads the graph
as every page does, through pagedata's fixed queries and labels.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pyoxigraph as ox

from .fields import FACT_ORDER as FIELD_ORDER
from .pagedata import (
    EVENT_VALUES,
    PAGE_LIMIT,
    RDF_TYPE,
    RDFS,
    SKOS,
    Term,
    Value,
    article_id_of,
    combined_status,
    humanise,
    labels,
    local_name,
    select,
    status_name,
    to_value,
)
from .results import short
from .store import KnowledgeGraph
from .vocab import BASE, DKG, PREFIXES

# Properties shown in the page header rather than among the facts.
HEADER_PROPERTIES = {SKOS + "prefLabel", RDFS + "label", SKOS + "altLabel", RDF_TYPE, str(DKG.evidence),
                     str(DKG.wikidata), SKOS + "definition", RDFS + "comment", str(DKG.resolution)}
# The order facts are listed in (the field registry's); the rest follow alphabetically.
FACT_ORDER = [str(p) for p in FIELD_ORDER]
ORG_MEMBER = PREFIXES["org"] + "member"
# Headings for resources that point at the one shown, by the property they point with.
INCOMING_HEADINGS = {str(DKG.occasion): "Statements made on this occasion", str(DKG.about): "Statements about it",
                     str(DKG.speaker): "Statements", str(DKG.correctionSubject): "Corrections",
                     ORG_MEMBER: "Posts held", str(DKG.sidelinesOf): "Meetings on its sidelines",
                     str(DKG.claimObject): "Claims naming it", str(DKG.claimSubject): "Claims about it",
                     str(DKG.publisher): "Articles published",
                     str(DKG.topic): "Statements on this issue", str(DKG.correctsArticle): "Corrections"}


@dataclass
class Fact:
    prop: Value
    values: list[Value] = field(default_factory=list)


@dataclass(frozen=True)
class Quote:
    """One evidence quote: the exact words, where they are and which facts they support."""

    evidence: str
    exact: str
    article_id: str | None
    start: int | None
    end: int | None
    supports: tuple[str, ...] = ()


@dataclass
class Source:
    """What one named graph (an article, the register, the corrections) says about a resource."""

    graph: str
    label: str
    article_id: str | None
    facts: list[Fact] = field(default_factory=list)
    quotes: list[Quote] = field(default_factory=list)


@dataclass(frozen=True)
class EventRef:
    event: Value
    kind: str
    date: str | None
    status: str | None
    roles: tuple[str, ...] = ()


@dataclass
class Entity:
    iri: str
    label: str
    aliases: list[str]
    types: list[Value]
    wikidata: str | None
    definitions: list[str]
    sources: list[Source]
    events: list[EventRef]
    incoming: list[tuple[str, list[Value]]]


def exists(kg: KnowledgeGraph, iri: str) -> bool:
    node = ox.NamedNode(iri)
    return any(True for _ in kg.store.quads_for_pattern(node, None, None, None)) or \
        any(True for _ in kg.store.quads_for_pattern(None, None, node, None))


def source_label(graph: str, names: dict[str, str]) -> str:
    article = article_id_of(graph)
    if article is not None:
        return names.get(BASE + "id/article/" + article, f"Article {article}")
    return {BASE + "graph/entities": "Entity register", BASE + "graph/corrections": "Editorial corrections",
            BASE + "graph/meta": "Article metadata", BASE + "graph/ontology": "Ontology",
            BASE + "graph/resolved": "What is known (resolved from the articles and corrections)"}.get(graph, short(
                ox.NamedNode(graph)))


def entity(kg: KnowledgeGraph, iri: str) -> Entity | None:
    """Everything the resource page shows, or None when the graph does not know `iri`."""
    if not exists(kg, iri):
        return None
    me = ox.NamedNode(iri)
    rows = select(kg, f"SELECT ?me ?g ?p ?o WHERE {{ GRAPH ?g {{ ?me ?p ?o }} }} LIMIT {PAGE_LIMIT}", me=me)
    if not rows and not kg.union_default_graph:
        rows = select(kg, f"SELECT ?me ?p ?o WHERE {{ ?me ?p ?o }} LIMIT {PAGE_LIMIT}", me=me)
    quotes = evidence_quotes(kg, me)
    events = events_of(kg, me)
    incoming = select(kg, f"""SELECT DISTINCT ?me ?s ?p WHERE {{ ?s ?p ?me .
        FILTER(?p NOT IN (oa:hasBody, rdf:type))
        FILTER NOT EXISTS {{ ?s a ?c . VALUES ?c {{ {EVENT_VALUES} }} }} }} LIMIT {PAGE_LIMIT}""", me=me)
    posts = posts_of(kg, me)
    iris = [t.value for r in rows + incoming for t in r.values() if isinstance(t, ox.NamedNode)]
    names = labels(kg, [iri, *iris, *(BASE + "id/article/" + (article_id_of(r["g"].value) or "x")
                                      for r in rows if "g" in r)])
    own = [r for r in rows if "p" in r]
    aliases = sorted({r["o"].value for r in own if r["p"].value == SKOS + "altLabel"})
    types = list({r["o"].value: to_value(r["o"], names) for r in own if r["p"].value == RDF_TYPE}.values())
    wikidata = next((r["o"].value for r in own if r["p"].value == str(DKG.wikidata)), None)
    definitions = sorted({r["o"].value for r in own if r["p"].value in (SKOS + "definition", RDFS + "comment")})
    return Entity(iri, names.get(iri) or short(me), aliases, types, wikidata, definitions,
                  _sources(rows, quotes, names), events, _incoming_groups(incoming, names, posts))


def _sources(rows: list[dict[str, Term]], quotes: dict[str, list[Quote]], names: dict[str, str]) -> list[Source]:
    """The facts and quotes per named graph, articles first; the header's properties left out."""
    by_graph: dict[str, Source] = {}
    for row in rows:
        graph = row["g"].value if "g" in row else ""
        source = by_graph.setdefault(graph, Source(graph, source_label(graph, names), article_id_of(graph)))
        prop = row["p"].value
        fact = next((f for f in source.facts if f.prop.iri == prop), None)
        if fact is None:
            fact = Fact(Value(names.get(prop) or humanise(local_name(prop)), prop))
            source.facts.append(fact)
        fact.values.append(to_value(row["o"], names))
    for graph, graph_quotes in quotes.items():
        source = by_graph.setdefault(graph, Source(graph, source_label(graph, names), article_id_of(graph)))
        source.quotes = graph_quotes
    for source in by_graph.values():
        source.facts = sorted((f for f in source.facts if f.prop.iri not in HEADER_PROPERTIES), key=_fact_key)
    sources = sorted(by_graph.values(), key=lambda s: (s.article_id is None, s.label))
    return [s for s in sources if s.facts or s.quotes]


def _incoming_groups(incoming: list[dict[str, Term]], names: dict[str, str],
                     posts: dict[str, Value]) -> list[tuple[str, list[Value]]]:
    """The resources that point at this one, under a heading per property ("Statements about it")."""
    groups: dict[str, list[Value]] = {}
    for row in incoming:
        prop = row["p"].value
        heading = INCOMING_HEADINGS.get(prop) or f"Refers to it as {names.get(prop) or humanise(local_name(prop))}"
        value = posts.get(row["s"].value) if prop == ORG_MEMBER else None
        groups.setdefault(heading, []).append(value or to_value(row["s"], names))
    return [(h, sorted(set(v), key=lambda x: x.text)) for h, v in sorted(groups.items())]


def _fact_key(fact: Fact) -> tuple[int, str]:
    iri = fact.prop.iri or ""
    return (FACT_ORDER.index(iri) if iri in FACT_ORDER else len(FACT_ORDER), fact.prop.text.lower())


def evidence_quotes(kg: KnowledgeGraph, me: ox.NamedNode) -> dict[str, list[Quote]]:
    """The quotes each named graph gives as evidence for `me`, in text order."""
    rows = select(kg, f"""SELECT ?me ?g ?ev ?exact ?src ?start ?end
            (GROUP_CONCAT(DISTINCT ?supLabel; separator="|") AS ?sup)
        WHERE {{ GRAPH ?g {{ ?ev oa:hasBody ?me ; oa:hasTarget ?t .
                            ?t oa:hasSource ?src ; oa:hasSelector ?qs .
                            ?qs oa:exact ?exact .
                            OPTIONAL {{ ?t oa:hasSelector ?ps . ?ps oa:start ?start ; oa:end ?end }}
                            }}
                 OPTIONAL {{ ?ev dkg:supports ?sp . ?sp rdfs:label ?supLabel }} }}
        GROUP BY ?me ?g ?ev ?exact ?src ?start ?end ORDER BY ?g ?start LIMIT {PAGE_LIMIT}""", me=me)
    found: dict[str, list[Quote]] = {}
    for row in rows:
        start, end = (int(row[k].value) if k in row else None for k in ("start", "end"))
        supports = tuple(sorted(s for s in row["sup"].value.split("|") if s)) if "sup" in row else ()
        found.setdefault(row["g"].value, []).append(Quote(row["ev"].value, row["exact"].value,
                                                          article_id_of(row["src"].value), start, end, supports))
    return found


def events_of(kg: KnowledgeGraph, me: ox.NamedNode) -> list[EventRef]:
    """The events `me` took part in (or is the topic, place, court... of), in date order, undated last."""
    rows = select(kg, f"""SELECT ?me ?e ?cls (SAMPLE(?l) AS ?label) (MIN(STR(?d)) AS ?date)
            (GROUP_CONCAT(DISTINCT STR(?st); separator=" ") AS ?statuses)
            (GROUP_CONCAT(DISTINCT ?roleLabel; separator="|") AS ?roles)
        WHERE {{ ?e ?role ?me ; a ?cls . VALUES ?cls {{ {EVENT_VALUES} }}
                 OPTIONAL {{ ?role rdfs:label ?roleLabel }}
                 OPTIONAL {{ ?e rdfs:label ?l }} OPTIONAL {{ ?e dkg:date|dkg:earliestDate ?d }}
                 OPTIONAL {{ ?e dkg:status ?st }} }}
        GROUP BY ?me ?e ?cls LIMIT {PAGE_LIMIT}""", me=me)
    events = []
    for row in rows:
        statuses = [status_name(s) for s in row["statuses"].value.split()] if "statuses" in row else []
        roles = tuple(sorted(r for r in row["roles"].value.split("|") if r)) if "roles" in row else ()
        label = row["label"].value if "label" in row else short(row["e"])
        events.append(EventRef(Value(label, row["e"].value), local_name(row["cls"].value),
                               row["date"].value if "date" in row else None, combined_status(statuses), roles))
    return sorted(events, key=lambda e: (e.date is None, e.date or "", e.event.text))


def posts_of(kg: KnowledgeGraph, me: ox.NamedNode) -> dict[str, Value]:
    """The posts (W3C ORG memberships) `me` held, each named "role, organisation (from – to)"."""
    rows = select(kg, f"""SELECT ?me ?m ?role ?org ?start ?end WHERE {{
            ?m org:member ?me ; org:role ?r ; org:organization ?o .
            OPTIONAL {{ ?r skos:prefLabel|rdfs:label ?role }} OPTIONAL {{ ?o skos:prefLabel|rdfs:label ?org }}
            OPTIONAL {{ ?m org:memberDuring/time:hasBeginning/time:inXSDDate ?start }}
            OPTIONAL {{ ?m org:memberDuring/time:hasEnd/time:inXSDDate ?end }} }} LIMIT {PAGE_LIMIT}""", me=me)
    posts: dict[str, Value] = {}
    for r in rows:
        name = ", ".join(r[k].value for k in ("role", "org") if k in r) or local_name(r["m"].value)
        span = f" ({r['start'].value if 'start' in r else '?'} – {r['end'].value if 'end' in r else ''})"
        posts.setdefault(r["m"].value, Value(name + (span if "start" in r or "end" in r else ""), r["m"].value))
    return posts
