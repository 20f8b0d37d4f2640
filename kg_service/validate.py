"""Validate compiled articles: SHACL shapes plus the checks SHACL cannot express, in one report.

Each article graph is validated on its own, together with the metadata and entity graphs it refers
to: two articles may legitimately disagree about one event (one says 2019, the other July 2019), and
a union of their graphs would look like an event with two dates. SHACL results are mapped back to
the mapping line of their focus node and path, so the author reads `file:line`. pySHACL writes into
the shapes graph it is given (pySHACL #314): every run gets its own copy.

A new article (`validate_mapping`) or RDF made by another tool (`validate_rdf`) is validated
against a `Context`: the seeds as built, so it sees the register, the ontology and every known
event, and the checks of checks.py (probable duplicates, quotes and offsets, unknown IRIs) run
beside SHACL. Schema errors of the mapping become findings of the same report. Nothing here
changes the context or the served graph.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Iterator
from collections.abc import Mapping as NamespaceMap
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pyshacl import validate as shacl_validate
from rdflib import RDF, Dataset, Graph, URIRef
from rdflib.namespace import RDFS, SH, SKOS

from .build import Build, build_dataset, catalogue_for, cross_article_findings
from .checks import Sides, Signature, duplicate_findings, known_signatures, quote_findings, unknown_iri_findings
from .compiler import CompiledArticle, compile_article
from .dates import Span, resolve_phrase
from .errors import InputError, Location, MappingError, MappingErrors
from .mapping import Mapping, is_date_text, load_mapping, read_text_file
from .register import register_graph
from .report import Finding, Report
from .settings import Settings
from .vocab import ARTICLE_GRAPH_PREFIX, ENTITY_GRAPH, META_GRAPH, ORG, RESOLVED_GRAPH, article_iri

if TYPE_CHECKING:
    from pyparsing import ParseResults
    from rdflib.plugins.sparql.sparql import Query

_SEVERITY = {SH.Violation: "Violation", SH.Warning: "Warning", SH.Info: "Info"}


def load_shapes(ontology_dir: Path) -> Graph:
    shapes = Graph()
    shapes.parse(ontology_dir / "shapes.ttl", format="turtle")
    return shapes


_TRANSLATED: dict[tuple, Query] = {}
_TRANSLATED_MAX = 1024
_translate_lock = threading.Lock()


@contextmanager
def _translated_once() -> Iterator[None]:
    """Parse and translate each SPARQL constraint once per process instead of once per focus node.

    pySHACL hands rdflib the constraint's text on every evaluation, and rdflib's pure-Python parser
    is slow (rdflib #618; pySHACL prepares no queries), so half of a build went into re-parsing the
    same few dozen queries. While pySHACL runs, rdflib's `parseQuery` passes the text through and
    `translateQuery` looks it up by (text, base, namespaces). The translated algebra is only read
    during evaluation, so sharing it is safe; the reports are identical with and without (measured on
    the seeds: 0 violations, 21 warnings, 61 infos either way), the build 2.8 s -> 1.2 s.
    Validations run one at a time (the callers hold a lock), and this one lock keeps it so.
    """
    from rdflib.plugins.sparql import processor

    parse, translate = processor.parseQuery, processor.translateQuery

    # Named as translateQuery's own parameters (q, base, initNs), which it replaces.
    def memo(q: str | ParseResults, base: str | None = None, initNs: NamespaceMap[str, Any] | None = None) -> Query:
        if not isinstance(q, str):
            return translate(q, base, initNs)
        key = (q, base, tuple(sorted((initNs or {}).items())))
        found = _TRANSLATED.get(key)
        if found is None:
            found = translate(parse(q), base, initNs)
            if len(_TRANSLATED) < _TRANSLATED_MAX:
                _TRANSLATED[key] = found
        return found

    with _translate_lock:
        # Deliberately untyped: parseQuery now hands the text itself on to memo (see above).
        processor.parseQuery = lambda text: text  # type: ignore[assignment,return-value]
        processor.translateQuery = memo
        try:
            yield
        finally:
            processor.parseQuery, processor.translateQuery = parse, translate


def shacl_findings(data: Graph, shapes: Graph, ontology: Graph,
                   compiled: CompiledArticle | None = None, file: str | None = None) -> list[Finding]:
    """Run pySHACL on `data` and turn each result into a Finding, with a mapping line when known."""
    shapes_copy = Graph()
    shapes_copy += shapes
    with _translated_once():
        _conforms, results, _text = shacl_validate(data, shacl_graph=shapes_copy, ont_graph=ontology,
                                                   inference="none", advanced=True, allow_warnings=True)
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
    return entity_types_of(build.dataset.graph(ENTITY_GRAPH))


def entity_types_of(entities: Graph) -> Graph:
    types = Graph()
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
    findings += validate_resolved(build.dataset.graph(RESOLVED_GRAPH), build.dataset.graph(META_GRAPH), shapes,
                                  build.ontology, types)
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


@dataclass
class Context:
    """What a new article is validated against: the seeds as built (register, ontology, every known
    event), the shapes, and the register's types. Built once and reused; rdflib is not thread-safe
    (rdflib #1282), so callers validate under `lock`. Nothing here is ever written to."""

    build: Build
    shapes: Graph
    types: Graph
    known: dict[Signature, list[tuple[URIRef, Sides, str]]]
    lock: threading.Lock = field(default_factory=threading.Lock)

    def articles(self, except_id: str | None = None) -> list[tuple[str, Graph]]:
        return [(str(c.graph_iri), c.graph) for c in self.build.articles if c.article_id != except_id]

    def text_of(self, article: URIRef) -> str | None:
        """The verbatim text of a seed article, by its IRI (for checking quotes in RDF made elsewhere)."""
        for mapping in self.build.mappings:
            if article_iri(mapping.article_id) == article:
                return read_text_file(mapping.text_path)
        return None


def load_context(settings: Settings, build: Build | None = None) -> Context:
    """The context for validating new articles: `build` (the seeds, built now when None) and the shapes."""
    build = build_dataset(settings) if build is None else build
    compiled = [(str(c.graph_iri), c.graph) for c in build.articles]
    return Context(build, load_shapes(settings.ontology_dir), entity_types(build), known_signatures(compiled))


def validate_mapping(context: Context, source: str, path: Path, text: str) -> tuple[Report, Mapping | None]:
    """Validate a new article's mapping (`source`, read from `path`) and its text against the seeds.

    Schema errors, compiler findings, SHACL results, cross-article checks and probable duplicates
    come back in one report, each at its mapping line. An article whose id is already in the seeds
    is validated as its replacement: its old graph is left out of the comparisons. Raises InputError
    only for unreadable YAML; the returned mapping is None when the schema check failed.
    """
    try:
        mapping = load_mapping(path, source)
    except MappingError as exc:
        errors = exc.errors if isinstance(exc, MappingErrors) else [exc]
        return Report([schema_finding(e) for e in errors]), None
    with context.lock:
        build = context.build
        others = [m for m in build.mappings if m.article_id != mapping.article_id]
        try:
            catalogue = catalogue_for(build.register, [*others, mapping])
        except MappingError as exc:  # the entities it declares clash with known keys or name unknown ones
            errors = exc.errors if isinstance(exc, MappingErrors) else [exc]
            return Report([schema_finding(e) for e in errors if e.location.file == str(mapping.path)]), None
        compiled = compile_article(mapping, text, catalogue)
        # The entities this article declares are typed like the register's, so class constraints hold.
        declared = {k for k, e in catalogue.register.entries.items() if e.source == mapping.path}
        types = context.types + entity_types_of(register_graph(catalogue.register, Graph(), declared))
        findings = [*compiled.findings, *validate_article(build, compiled, mapping, context.shapes, types)]
        findings += [f for f in cross_article_findings([*others, mapping]) if f.file == str(mapping.path)]
        known = context.known if len(others) == len(build.mappings) else known_signatures(
            context.articles(mapping.article_id))
        findings += duplicate_findings(compiled.graph, known, lambda iri: compiled.line_for(str(iri), None),
                                       str(mapping.path))
    return Report(list(dict.fromkeys(findings))), mapping


def validate_rdf(context: Context, dataset: Dataset, name: str, text: str | None = None) -> Report:
    """Validate RDF made by another tool (all its graphs together) against the shapes and the seeds.

    Quotes are checked against `text` when given, else against the seed article they cite.
    """
    parts = _validation_parts(dataset)
    if not any(parts):
        raise InputError("the file holds no triples: nothing to validate", Location(name))
    if len(parts) > 1:  # a dump of ours: the default view and each article graph, each on its own
        with context.lock:
            found = [f for part in parts for f in _validate_part(context, part)]
        return Report([_with_file(f, name) for f in dict.fromkeys(found)])
    data = parts[0]
    with context.lock:
        build = context.build
        own = set(data.subjects()) - set(context.types.subjects())
        data += context.types
        found = shacl_findings(data, context.shapes, build.ontology)
        findings = [f for f in found if f.focus is None or URIRef(f.focus) in own]
        findings += quote_findings(data, (lambda _a: text) if text is not None else context.text_of, name)
        findings += unknown_iri_findings(data, catalogue_for(build.register, build.mappings), name)
        findings += duplicate_findings(data, context.known)
    return Report([_with_file(f, name) for f in dict.fromkeys(findings)])


def _validation_parts(dataset: Dataset) -> list[Graph]:
    """What is validated together. A dataset with a resolved layer (a dump of this service) is the
    default view (every graph but the articles') plus each article graph on its own, as the build
    validates it: two articles may give one event different dates, and only the resolved layer must
    hold one. Any other RDF is validated as the union of its graphs."""
    graphs: dict[str, Graph] = {}
    for s, p, o, graph in dataset.quads((None, None, None, None)):
        name = str(graph.identifier if isinstance(graph, Graph) else graph or "")
        key = name if name.startswith(ARTICLE_GRAPH_PREFIX) else ""
        graphs.setdefault(key, Graph()).add((s, p, o))
    if not any(name == str(RESOLVED_GRAPH) for name in {str(g.identifier) for g in dataset.graphs()}):
        union = Graph()
        for part in graphs.values():
            union += part
        return [union]
    default = graphs.pop("", Graph())
    meta = Graph()
    meta += dataset.graph(META_GRAPH)
    return [default, *(g + meta for g in graphs.values())]


def _validate_part(context: Context, part: Graph) -> list[Finding]:
    own = set(part.subjects()) - set(context.types.subjects())
    data = part + context.types
    found = shacl_findings(data, context.shapes, context.build.ontology)
    return [f for f in found if f.focus is None or URIRef(f.focus) in own]


def schema_finding(error: MappingError) -> Finding:
    """A schema error as a Violation of the report, at its line and under its field."""
    loc = error.location
    message = f"{loc.field}: {error.message}" if loc.field else error.message
    return Finding("Violation", message, None, None, None, loc.file, loc.line, "schema")


def _with_file(finding: Finding, name: str) -> Finding:
    return finding if finding.file else replace(finding, file=name)
