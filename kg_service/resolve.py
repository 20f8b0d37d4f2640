"""The resolved layer: the best-known value of every field of every event and statement, compiled from
what the articles say and what the corrections establish (never written by hand).

Like Wikidata's "truthy" `wdt:` statements beside its full statements, the resolved graph
(`graph:resolved`) holds one plain triple per best-known value, so a plain query gets the right
answer, while each article's graph keeps what that article claims. How a field resolves is the field
registry's `rule` (fields.py): a correction's value wins; else dates take the most precise value the
sources agree on (2019, 2019-07 and 2019-07-01 agree; 2019-07-01 wins); single values must agree;
statuses take the most advanced (held, then not-held, planned, expected); lists take every value.
Where sources disagree and nothing settles it, the subject gets `dkg:disputed <property>` and no value.

Every resolved value is traceable: beside the plain triple a `dkg:ResolvedValue` node (an
`rdf:Statement` and a `prov:Entity`) names it by `rdf:subject`/`rdf:predicate`/`rdf:object`, carries a
`dkg:rank` (`dkg:Corrected`, `dkg:Agreed`, `dkg:Disputed` for each competing claim) and
`prov:wasDerivedFrom` the article graphs or the correction it rests on, the correction with its
published source (`dcterms:source`), and `dkg:overrules` the article graphs whose claim a correction
overrules. Runs after all articles are compiled (build.py), before validation.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from rdflib import RDF, Graph, Literal, Node, URIRef
from rdflib.namespace import DCTERMS, PROV

from .compiled import CompiledArticle
from .fields import (
    COMMON_EVENT_FIELDS,
    EVENT_FIELDS,
    FIRST,
    OWN,
    PRECISE,
    SAME,
    STATEMENT_FIELDS,
    STATUS,
    UNION,
    FieldSpec,
)
from .vocab import DKG, EVENT_CLASSES

# property -> its spec (one property has one meaning wherever it is used)
SPECS: dict[URIRef, FieldSpec] = {}
for _specs in (COMMON_EVENT_FIELDS, *EVENT_FIELDS.values(), STATEMENT_FIELDS):
    for _spec in _specs.values():
        if _spec.predicate is not None:
            SPECS.setdefault(_spec.predicate, _spec)
# Statement claims are three triples the registry's `claim` field stands for; they resolve as one value each.
CLAIM_PARTS = (DKG.claimSubject, DKG.claimObject)
# The properties the resolved layer carries (a field whose value only its article can give stays there).
RESOLVED_PROPERTIES = frozenset({*(p for p, spec in SPECS.items() if spec.rule != OWN), *CLAIM_PARTS})
STATUS_ORDER = (DKG.Held, DKG.NotHeld, DKG.Planned, DKG.Expected)
SUBJECT_CLASSES = frozenset((*EVENT_CLASSES.values(), DKG.Statement))


@dataclass
class Source:
    """One source of claims: an article graph, or a correction (with its published source URL)."""

    iri: URIRef
    correction: bool = False
    url: URIRef | None = None


@dataclass
class Claims:
    """What the sources say about one subject: its classes and, per property, each source's values."""

    types: set[URIRef] = field(default_factory=set)
    sources: dict[URIRef, Source] = field(default_factory=dict)
    said: dict[URIRef, list[tuple[Source, list[Node]]]] = field(default_factory=dict)
    corrected: dict[URIRef, list[tuple[Source, list[Node]]]] = field(default_factory=dict)


def resolve(articles: Iterable[CompiledArticle]) -> Graph:
    """The resolved layer of the compiled articles: plain best-known triples plus their provenance."""
    subjects: dict[URIRef, Claims] = {}
    for compiled in articles:
        _collect(subjects, compiled.graph, Source(compiled.graph_iri), into="said")
        for correction in compiled.corrections.subjects(RDF.type, DKG.Correction):
            _correction(subjects, compiled, URIRef(str(correction)))
    out: list[tuple[Node, Node, Node]] = []  # added at once: rdflib's add per triple is the cost here
    for subject, claims in sorted(subjects.items()):
        if not claims.types:  # a correction about an entity or a statement no article describes
            continue
        for cls in sorted(claims.types):
            out.append((subject, RDF.type, cls))
        for source in claims.sources.values():
            out.append((subject, PROV.wasDerivedFrom, source.iri))
        for prop in sorted(set(claims.said) | set(claims.corrected)):
            _resolve_field(out, subject, prop, claims)
    graph = Graph()
    graph.addN((s, p, o, graph) for s, p, o in out)
    return graph


def _collect(subjects: dict[URIRef, Claims], graph: Graph, source: Source, *, into: str) -> None:
    for subject, cls in graph.subject_objects(RDF.type):
        if cls not in SUBJECT_CLASSES or not isinstance(subject, URIRef):
            continue
        claims = subjects.setdefault(subject, Claims())
        claims.types.add(URIRef(str(cls)))
        claims.sources[source.iri] = source
        said: dict[URIRef, list[Node]] = {}
        for prop, value in graph.predicate_objects(subject):  # one scan per subject, not one per property
            if prop in RESOLVED_PROPERTIES:
                said.setdefault(URIRef(str(prop)), []).append(value)
        for prop, values in said.items():
            getattr(claims, into).setdefault(prop, []).append((source, _sorted(values)))


def _correction(subjects: dict[URIRef, Claims], compiled: CompiledArticle, node: URIRef) -> None:
    graph = compiled.corrections
    subject, prop = graph.value(node, DKG.correctionSubject), graph.value(node, DKG.correctedProperty)
    url = graph.value(node, DCTERMS.source)
    source = Source(node, True, URIRef(str(url)) if isinstance(url, URIRef) else None)
    if not isinstance(subject, URIRef) or not isinstance(prop, URIRef):
        return
    if prop == RDF.type:  # the correction adds an event the article leaves out: its fields are the correction's
        _collect(subjects, compiled.added, source, into="corrected")
        return
    if prop in SPECS:
        values = _sorted(graph.objects(node, DKG.correctValue))
        subjects.setdefault(subject, Claims()).corrected.setdefault(prop, []).append((source, values))


def _resolve_field(out: list[tuple[Node, Node, Node]], subject: URIRef, prop: URIRef, claims: Claims) -> None:
    spec = SPECS.get(prop, FieldSpec("key"))
    if prop in claims.corrected:
        said = claims.corrected[prop]
        chosen = _choose(spec, said)
        rank = DKG.Corrected
    else:
        said = claims.said[prop]
        chosen = _choose(spec, said)
        rank = DKG.Agreed
    if chosen is None:  # sources disagree and nothing settles it: a marker and each competing claim
        out.append((subject, DKG.disputed, prop))
        for value in _sorted({v for _, values in said for v in values}):
            _record(out, subject, prop, value, DKG.Disputed, [s for s, vs in said if value in vs])
        return
    overruled = [s for s, vs in claims.said.get(prop, []) if rank == DKG.Corrected and not (
        set(vs) <= set(chosen) or (spec.rule == PRECISE and all(_agree(str(c), vs) for c in chosen)))]
    for value in chosen:
        out.append((subject, prop, value))
        backing = [s for s, vs in said if value in vs or (spec.rule == PRECISE and _agree(str(value), vs))]
        _record(out, subject, prop, value, rank, backing)
        for source in overruled:  # the article graphs whose claim the correction overrules
            out.append((value_node(subject, prop, value), DKG.overrules, source.iri))


def _choose(spec: FieldSpec, said: list[tuple[Source, list[Node]]]) -> list[Node] | None:
    """The value(s) a field resolves to, or None when its sources disagree."""
    values = [v for _, vs in said for v in vs]
    rule = spec.rule
    if rule == UNION:
        return _sorted(set(values))
    if rule == FIRST:
        return said[0][1][:1]
    if rule == STATUS:
        return [next((s for s in STATUS_ORDER if s in values), values[0])]
    if rule == PRECISE:
        best = most_precise([str(v) for v in values])
        return None if best is None else [next(v for v in values if str(v) == best)]
    distinct = _sorted(set(values))
    return distinct if len(distinct) == 1 or (rule != SAME and distinct) else None


def _sorted(nodes: Iterable[Node]) -> list[Node]:
    """Terms in a fixed order, so the resolved layer (and its version hash) is the same on every build."""
    return sorted(nodes, key=lambda n: (type(n).__name__, str(n)))


def most_precise(dates: list[str]) -> str | None:
    """The most precise of dates that agree (each a prefix of the most precise), else None.

    >>> most_precise(["2019", "2019-07-01", "2019-07"]), most_precise(["2021-09-22", "2017-09-22"])
    ('2019-07-01', None)
    """
    best = max(dates, key=len)
    return best if all(best.startswith(d) for d in dates) else None


def _agree(best: str, values: list[Node]) -> bool:
    return any(best.startswith(str(v)) for v in values)


def _record(out: list[tuple[Node, Node, Node]], subject: URIRef, prop: URIRef, value: Node, rank: URIRef,
            backing: list[Source]) -> None:
    node = value_node(subject, prop, value)
    out.append((subject, DKG.resolution, node))
    out.append((node, RDF.type, DKG.ResolvedValue))
    out.append((node, RDF.subject, subject))
    out.append((node, RDF.predicate, prop))
    out.append((node, RDF.object, value))
    out.append((node, DKG.rank, rank))
    for source in backing:
        out.append((node, PROV.wasDerivedFrom, source.iri))
        if source.url is not None:
            out.append((node, DCTERMS.source, source.url))


def value_node(subject: URIRef, prop: URIRef, value: Node) -> URIRef:
    """The IRI of one resolved value: the subject's IRI with a fragment naming the property and value.

    >>> str(value_node(URIRef("https://w3id.org/kg-service/id/event/x"), DKG.date, Literal("2019-07")))
    'https://w3id.org/kg-service/id/event/x#date-2019-07'
    >>> str(value_node(URIRef("https://w3id.org/kg-service/id/event/x"), DKG.participant,
    ...                URIRef("https://w3id.org/kg-service/id/person/park-jin")))
    'https://w3id.org/kg-service/id/event/x#participant-person-park-jin'
    """
    name = str(prop).rsplit("#", 1)[-1].rsplit("/", 1)[-1]
    if isinstance(value, URIRef):
        text = "-".join(str(value).rstrip("/").rsplit("/", 2)[-2:])
    elif isinstance(value, Literal):
        text = str(value)
    else:
        text = "value"
    slug = "-".join("".join(c if c.isalnum() else " " for c in text.lower()).split())[:60].rstrip("-")
    return URIRef(f"{subject}#{name}-{slug or 'value'}")
