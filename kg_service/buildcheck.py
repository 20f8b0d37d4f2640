"""Validate the seeds as built: the register once, each article on its own, the resolved layer, the whole.

Each article graph is validated on its own, together with the metadata and the register's types it
refers to: two articles may legitimately disagree about one event (one says 2019, the other July
2019), and a union of their graphs would look like an event with two dates. Results about register
entities are the register's, reported once. Beside the shapes (shacl.py) run the checks of a build
that SHACL cannot express: the author's date arithmetic against the publication date, and an IRI
the store would refuse. `kg-service build` and `serve` report what `validate_build` finds; the
validation of a new article (validate.py) reuses `validate_article` and the register's types.
"""

from __future__ import annotations

import datetime as dt

import pyoxigraph as ox
from rdflib import RDF, Dataset, Graph, URIRef
from rdflib.namespace import RDFS, SKOS

from .build import Build
from .compiled import CompiledArticle
from .dates import Span, is_date_text, resolve_phrase
from .mapping import Mapping
from .report import Finding, Report
from .shacl import PreparedGraph, shacl_findings
from .vocab import ENTITY_GRAPH, META_GRAPH, ORG, RESOLVED_GRAPH


def entity_types(build: Build) -> Graph:
    """The types and names of the register's entities: what class constraints on article data need."""
    return entity_types_of(build.dataset.graph(ENTITY_GRAPH))


def entity_types_of(entities: Graph) -> Graph:
    types = Graph()
    for predicate in (RDF.type, SKOS.prefLabel, RDFS.label):
        for triple in entities.triples((None, predicate, None)):
            if triple[2] != ORG.Membership:  # memberships are the register's, checked once with it
                types.add(triple)
    return types


def article_data_graph(compiled: CompiledArticle, types: Graph) -> Graph:
    """What SHACL sees for one article: its graph, its metadata and the types of the entities it names
    (a new graph each time: validating it mixes the ontology into it)."""
    data = PreparedGraph()
    data += compiled.graph
    data += compiled.meta
    data += types
    return data


def validate_article(build: Build, compiled: CompiledArticle, mapping: Mapping, shapes: Graph,
                     types: Graph | None = None) -> list[Finding]:
    """Findings for one article only: results about register entities are the register's, not its."""
    types = entity_types(build) if types is None else types
    # Register entities appear in article graphs (the spellings an article uses); the register owns them.
    own = (set(compiled.graph.subjects()) | set(compiled.meta.subjects())) - set(types.subjects())
    found = shacl_findings(article_data_graph(compiled, types), shapes, build.ontology, compiled, str(mapping.path))
    return [f for f in found if f.focus is None or URIRef(f.focus) in own] + date_phrase_findings(mapping, compiled)


def validate_build(build: Build, shapes: Graph) -> Report:
    """Validate the register once and every article on its own; findings are de-duplicated."""
    findings: list[Finding] = list(build.findings)
    entities = PreparedGraph()  # a copy: a graph view of the dataset would let pySHACL see every graph
    entities += build.dataset.graph(ENTITY_GRAPH)
    findings += shacl_findings(entities, shapes, build.ontology)
    types = entity_types(build)
    for mapping, compiled in zip(build.mappings, build.articles, strict=True):
        findings += validate_article(build, compiled, mapping, shapes, types)
    findings += validate_resolved(build.dataset.graph(RESOLVED_GRAPH), build.dataset.graph(META_GRAPH), shapes,
                                  build.ontology, types)
    findings += unloadable_findings(build.dataset)
    return Report(list(dict.fromkeys(findings)))


def validate_resolved(resolved: Graph, meta: Graph, shapes: Graph, ontology: Graph, types: Graph) -> list[Finding]:
    """The resolved layer as the default graph serves it (with the articles' metadata and the register's
    types): one value per single-valued field. Results about register entities are the register's."""
    data = Graph()
    data += resolved
    data += meta
    data += types
    own = set(resolved.subjects()) | set(meta.subjects())
    return [f for f in shacl_findings(data, shapes, ontology) if f.focus is None or URIRef(f.focus) in own]


def unloadable_findings(dataset: Dataset) -> list[Finding]:
    """A Violation for each IRI the store would refuse: `serve` loads the build into Oxigraph, and one
    such IRI would stop it, so `build` must refuse exactly that. The mapping reader refuses what it can
    see (keys, file names, URLs); this is the net behind it, for whatever else reaches the dataset."""
    findings, seen = [], set()
    for quad in dataset.quads((None, None, None, None)):
        for term in quad:
            if isinstance(term, URIRef) and term not in seen:
                seen.add(term)
                try:
                    ox.NamedNode(str(term))
                except ValueError as exc:
                    findings.append(Finding("Violation", f"{str(term)!r} is not an IRI the store accepts ({exc}): "
                                            "the service could not load the graph", None, None, str(term), None,
                                            None, "check"))
    return findings


def date_phrase_findings(mapping: Mapping, compiled: CompiledArticle) -> list[Finding]:
    """Check the author's date arithmetic: a resolvable phrase must agree with the date written.

    Only where the article has a publication date and the phrase is one `resolve_phrase` reads;
    elsewhere there is nothing to check against, and guessing would be worse than silence.
    """
    published = mapping.article.values.get("published")
    if not published or len(published) != 10:
        return []
    pub = dt.date.fromisoformat(published)
    findings = []
    for entry in (*mapping.events, *mapping.statements):
        phrase, values = entry.values.get("date_phrase"), entry.values
        span = resolve_phrase(phrase, pub) if phrase else None
        written = values.get("date") or values.get("earliest_date")
        if span is None or not written or not is_date_text(written):
            continue
        stated = Span.of(written)
        if values.get("latest_date"):
            stated = Span(stated.earliest, Span.of(values["latest_date"]).latest)
        if not (stated.covers(span) or span.covers(stated)):
            findings.append(Finding(
                "Warning", f"date: {phrase!r} read against the publication date {published} is "
                f"{span.earliest.isoformat()}{'' if span.latest == span.earliest else '/' + span.latest.isoformat()}"
                f", but the mapping says {written}", None, None, None, str(mapping.path), entry.line_of("date_phrase")))
        # A held event dated after its article is the shapes' rule (dkgsh:HeldNotAfterArticle), reported once.
    return findings
