"""Validate compiled articles: SHACL shapes plus the checks SHACL cannot express, in one report.

Each article graph is validated on its own, together with the metadata and entity graphs it refers
to: two articles may legitimately disagree about one event (one says 2019, the other July 2019), and
a union of their graphs would look like an event with two dates. SHACL results are mapped back to
the mapping line of their focus node and path, so the author reads `file:line`. pySHACL writes into
the shapes graph it is given (pySHACL #314): every run gets its own copy.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from pyshacl import validate as shacl_validate
from rdflib import RDF, Graph, URIRef
from rdflib.namespace import RDFS, SH, SKOS

from .build import Build
from .compiler import CompiledArticle
from .dates import Span, resolve_phrase
from .mapping import Mapping, is_date_text
from .report import Finding, Report
from .vocab import ENTITY_GRAPH, ORG

_SEVERITY = {SH.Violation: "Violation", SH.Warning: "Warning", SH.Info: "Info"}


def load_shapes(ontology_dir: Path) -> Graph:
    shapes = Graph()
    shapes.parse(ontology_dir / "shapes.ttl", format="turtle")
    return shapes


def shacl_findings(data: Graph, shapes: Graph, ontology: Graph,
                   compiled: CompiledArticle | None = None, file: str | None = None) -> list[Finding]:
    """Run pySHACL on `data` and turn each result into a Finding, with a mapping line when known."""
    shapes_copy = Graph()
    shapes_copy += shapes
    _conforms, results, _text = shacl_validate(data, shacl_graph=shapes_copy, ont_graph=ontology, inference="none",
                                               advanced=True, allow_warnings=True)
    findings = []
    for result in results.subjects(RDF.type, SH.ValidationResult):
        focus = results.value(result, SH.focusNode)
        path = results.value(result, SH.resultPath)
        value = results.value(result, SH.value)
        shape = results.value(result, SH.sourceShape)
        message = str(results.value(result, SH.resultMessage) or "constraint not met")
        line = compiled.line_for(str(focus), str(path) if isinstance(path, URIRef) else None) if compiled else None
        findings.append(Finding(_SEVERITY.get(results.value(result, SH.resultSeverity), "Violation"), message,
                                str(focus) if focus is not None else None,
                                str(path) if isinstance(path, URIRef) else None,
                                str(value) if value is not None else None,
                                file if line else None, line, str(shape) if isinstance(shape, URIRef) else "shacl"))
    return findings


def entity_types(build: Build) -> Graph:
    """The types and names of the register's entities: what class constraints on article data need."""
    types = Graph()
    entities = build.dataset.graph(ENTITY_GRAPH)
    for predicate in (RDF.type, SKOS.prefLabel, RDFS.label):
        for triple in entities.triples((None, predicate, None)):
            if triple[2] != ORG.Membership:  # memberships are the register's, checked once with it
                types.add(triple)
    return types


def article_data_graph(compiled: CompiledArticle, types: Graph) -> Graph:
    """What SHACL sees for one article: its graph, its metadata and the types of the entities it names."""
    data = Graph()
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
    entities = Graph()  # a plain copy: a graph view of the dataset would let pySHACL see every graph
    entities += build.dataset.graph(ENTITY_GRAPH)
    findings += shacl_findings(entities, shapes, build.ontology)
    types = entity_types(build)
    for mapping, compiled in zip(build.mappings, build.articles, strict=True):
        findings += validate_article(build, compiled, mapping, shapes, types)
    return Report(list(dict.fromkeys(findings)))


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
        if values.get("status") == "held" and stated.earliest > pub:
            findings.append(Finding("Violation", f"date: a held event cannot be dated {written}, after the article's "
                                    f"publication on {published}", None, None, None, str(mapping.path),
                                    entry.line_of("date")))
    return findings
