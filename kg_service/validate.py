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
from collections.abc import Mapping as NamespaceMap
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyoxigraph as ox
from pyshacl import validate as shacl_validate
from rdflib import RDF, Dataset, Graph, URIRef
from rdflib.graph import DATASET_DEFAULT_GRAPH_ID
from rdflib.namespace import OWL, RDFS, SH, SKOS
from rdflib.plugins.sparql.algebra import translateQuery
from rdflib.plugins.sparql.parser import parseQuery
from rdflib.plugins.sparql.sparql import Query

from .build import Build, build_dataset, catalogue_for, cross_article_findings
from .catalogue import Catalogue
from .checks import (
    KnownEvent,
    collect_corrections,
    collect_events,
    duplicate_findings,
    known_events,
    one_sided_findings,
    quote_findings,
    unknown_iri_findings,
)
from .compiled import CompiledArticle, event_iri
from .compiler import compile_article
from .dates import Span, is_date_text, resolve_phrase
from .errors import InputError, Location, MappingError, MappingErrors, TooLarge
from .mapping import Mapping, load_mapping
from .register import register_graph
from .report import Finding, Report
from .settings import Settings
from .vocab import CORRECTION_GRAPH, DKG, ENTITY_GRAPH, META_GRAPH, ONTOLOGY_GRAPH, ORG, RESOLVED_GRAPH, article_iri
from .yamlread import read_text_file

if TYPE_CHECKING:
    from rdflib.query import Processor, Result
    from rdflib.term import Identifier

_SEVERITY = {SH.Violation: "Violation", SH.Warning: "Warning", SH.Info: "Info"}


def load_shapes(ontology_dir: Path) -> Graph:
    shapes = Graph()
    shapes.parse(ontology_dir / "shapes.ttl", format="turtle")
    return shapes


_TRANSLATED: dict[tuple, Query] = {}
_TRANSLATED_MAX = 1024
_translate_lock = threading.Lock()  # rdflib's parser (pyparsing) is not thread-safe (rdflib #1282)


class PreparedGraph(Graph):
    """A graph that parses and translates each SPARQL text it is asked once per process, not once per call.

    pySHACL hands rdflib the text of a SPARQL constraint on every evaluation, once per focus node, and
    rdflib's pure-Python parser is slow (rdflib #618; pySHACL prepares no queries), so half of a build
    went into re-parsing the same few dozen queries. The data graph pySHACL queries is one of these
    (validated in place, `inplace=True`), so the cache lives in our own graphs only: nothing of rdflib
    is patched, and other users of rdflib in the process are untouched. The translated algebra is only
    read during evaluation, so sharing it between runs is safe; the reports are the same as without.
    """

    def query(self, query_object: str | Query, processor: str | Processor = "sparql",
              result: str | type[Result] = "sparql", initNs: NamespaceMap[str, Any] | None = None,  # noqa: N803
              initBindings: NamespaceMap[str, Identifier] | None = None,  # noqa: N803
              use_store_provided: bool = True, **kwargs: Any) -> Result:
        if isinstance(query_object, str):
            namespaces = dict(initNs or self.namespaces())
            key = (query_object, kwargs.get("base"), tuple(sorted(namespaces.items())))
            found = _TRANSLATED.get(key)
            if found is None:
                with _translate_lock:
                    found = translateQuery(parseQuery(query_object), kwargs.get("base"), namespaces)
                    if len(_TRANSLATED) < _TRANSLATED_MAX:
                        _TRANSLATED[key] = found
            query_object = found
        return super().query(query_object, processor, result, initNs, initBindings, use_store_provided, **kwargs)


def shacl_findings(data: Graph, shapes: Graph, ontology: Graph,
                   compiled: CompiledArticle | None = None, file: str | None = None) -> list[Finding]:
    """Run pySHACL on `data` and turn each result into a Finding, with a mapping line when known.

    A `PreparedGraph` is validated as it is (the ontology is mixed into it); any other graph is copied."""
    shapes_copy = Graph()
    shapes_copy += shapes
    if isinstance(data, PreparedGraph):  # a throwaway graph made for this run: validated as it is
        target = data
    else:
        target = PreparedGraph()
        target += data
    # In place: pySHACL mixes the ontology into `target` and queries it, so `target` is what it queries.
    _conforms, results, _text = shacl_validate(target, shacl_graph=shapes_copy, ont_graph=ontology,
                                               inference="none", advanced=True, allow_warnings=True, inplace=True)
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


@dataclass
class Context:
    """What a new article is validated against: the seeds as built (register, ontology, every known
    event), the shapes, and the register's types. Built once and reused, and never written to: each
    validation works on graphs of its own (a copy of the shapes, its own data graph, pySHACL #314),
    so validations may run in several threads at once; rdflib's SPARQL parser, which is not
    thread-safe (rdflib #1282), runs under a lock (`PreparedGraph`). Callers bound how many run."""

    build: Build
    shapes: Graph
    types: Graph
    known: dict[URIRef, KnownEvent]

    def text_of(self, article: URIRef) -> str | None:
        """The verbatim text of a seed article, by its IRI (for checking quotes in RDF made elsewhere)."""
        for mapping in self.build.mappings:
            if article_iri(mapping.article_id) == article:
                return read_text_file(mapping.text_path)
        return None


def load_context(settings: Settings, build: Build | None = None) -> Context:
    """The context for validating new articles: `build` (the seeds, built now when None) and the shapes."""
    build = build_dataset(settings) if build is None else build
    return Context(build, load_shapes(settings.ontology_dir), entity_types(build), known_events(build.dataset))


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
    findings += gate_findings(context, mapping, compiled, catalogue)
    return Report(list(dict.fromkeys(findings))), mapping


def gate_findings(context: Context, mapping: Mapping, compiled: CompiledArticle, catalogue: Catalogue) -> list[Finding]:
    """What keeps the graph clean as it grows: no second id for a known event (unless the mapping says
    why it is another), no text added twice, no meeting with one side."""
    build, file = context.build, str(mapping.path)
    replaces = any(m.article_id == mapping.article_id for m in build.mappings)  # its old graph is left out
    known = known_events(build.dataset, exclude={str(compiled.graph_iri)}) if replaces else context.known
    new = collect_events(compiled.graph, {}, str(compiled.graph_iri))
    collect_corrections(compiled.corrections, new)
    distinct: dict[URIRef, set[URIRef]] = {}
    findings: list[Finding] = []
    for entry in mapping.events:
        for other in entry.values.get("distinct_from", ()):
            if other.id not in catalogue.events or event_iri(other.id) == event_iri(entry.values["id"]):
                findings.append(Finding("Violation", f"events.{entry.values['id']}.distinct_from: {other.id!r} is "
                                        "not another known event", None, None, other.id, file, other.line))
            distinct.setdefault(event_iri(entry.values["id"]), set()).add(event_iri(other.id))
    line_of = lambda iri: compiled.line_for(str(iri), None)  # noqa: E731
    findings += duplicate_findings(new, known, distinct, line_of, file)
    countries = {entry.iri: catalogue.register.entries[entry.entry.values["country"]].iri
                 for entry in catalogue.register.entries.values() if "country" in entry.entry.values}
    findings += one_sided_findings(compiled.graph, countries.get, line_of, file)
    digest = compiled.meta.value(article_iri(mapping.article_id), DKG.sha256)
    for article, sha in build.dataset.graph(META_GRAPH).subject_objects(DKG.sha256):
        if sha == digest and article != article_iri(mapping.article_id):
            findings.append(Finding("Violation", f"article.text: this text is already in the graph, as article "
                                    f"{str(article).rsplit('/', 1)[-1]!r} (same SHA-256): an article is added once; "
                                    "map what it reports in that article's mapping", str(article), str(DKG.sha256),
                                    str(sha), file, mapping.article.line_of("text")))
    return findings


# The most resources (distinct subjects) one RDF validation over HTTP checks: the served dump of the seeds
# has under a thousand; 17,000 bare dkg:Meeting nodes took over a minute of pySHACL.
MAX_RDF_SUBJECTS = 5000


def validate_rdf(context: Context, dataset: Dataset, name: str, text: str | None = None, *,
                 max_subjects: int | None = None) -> Report:
    """Validate RDF made by another tool, or exported by this service, in the context of the served dataset.

    Graphs are validated as the build validates the seeds: each article-like graph (the default graph,
    and every named graph but the service's own metadata, register, ontology and corrections graphs) on
    its own, with the article metadata and the register's types already served plus any the input
    brings (its graph:meta, graph:entities); a graph:entities in the input is validated as the register
    is. So an exported article graph or a whole dump validates as the seeds do. Quotes are checked
    against `text` when given, else against the seed article they cite. Raises TooLarge for more than
    `max_subjects` resources (the web layer's bound; the CLI has none: its user waits for their own file).
    """
    graphs: dict[str, PreparedGraph] = {}
    for s, p, o, named in dataset.quads((None, None, None, None)):
        key = str(named) if named is not None and str(named) != str(DATASET_DEFAULT_GRAPH_ID) else ""
        graphs.setdefault(key, PreparedGraph()).add((s, p, o))
    union = PreparedGraph()
    for graph in graphs.values():
        union += graph
    if not union:
        raise InputError("the file holds no triples: nothing to validate", Location(name))
    subjects = len(set(union.subjects()))
    if max_subjects is not None and subjects > max_subjects:
        raise TooLarge(f"the file describes {subjects:,} resources; a validation here checks at most "
                       f"{max_subjects:,} (SHACL costs milliseconds per resource): split it, or run "
                       "kg-service validate on your own machine", Location(name))
    build = context.build
    meta, types = Graph(), Graph()
    meta += build.dataset.graph(META_GRAPH)
    meta += graphs.get(str(META_GRAPH), Graph())
    types += context.types
    types += entity_types_of(graphs.get(str(ENTITY_GRAPH), Graph()))
    findings: list[Finding] = []
    if str(ENTITY_GRAPH) in graphs:  # a register: validated on its own, as the build does
        findings += shacl_findings(graphs[str(ENTITY_GRAPH)], context.shapes, build.ontology)
    own_meta = set(graphs.get(str(META_GRAPH), Graph()).subjects())
    for graph_name, graph in graphs.items():
        if graph_name in _CONTEXT_GRAPHS:
            continue
        own = (set(graph.subjects()) | own_meta) - set(types.subjects())
        data = PreparedGraph()
        for part in (graph, meta, types):
            data += part
        found = shacl_findings(data, context.shapes, build.ontology)
        findings += [f for f in found if f.focus is None or URIRef(f.focus) in own]
    findings += quote_findings(union, (lambda _a: text) if text is not None else context.text_of, name)
    findings += unknown_iri_findings(union, catalogue_for(build.register, build.mappings), name)
    # events the input declares distinct (owl:differentFrom, from a mapping's distinct_from), either way round
    distinct: dict[URIRef, set[URIRef]] = {}
    for one, other in union.subject_objects(OWL.differentFrom):
        if isinstance(one, URIRef) and isinstance(other, URIRef):
            distinct.setdefault(one, set()).add(other)
            distinct.setdefault(other, set()).add(one)
    findings += duplicate_findings(collect_events(union, {}, name), context.known, distinct)
    given = sorted(g.rsplit("/", 1)[-1] for g in graphs if g in _CONTEXT_GRAPHS)
    used = (f"the served dataset's graph:meta ({len(set(build.dataset.graph(META_GRAPH).subjects(RDF.type)))} "
            f"articles), the register's types from graph:entities ({len(set(context.types.subjects()))} "
            f"entities) and graph:ontology" + (f", plus the input's own {', '.join(given)}" if given else "")
            + f"; {len(graphs) - len(given)} graph(s) of the input validated one by one")
    return Report([_with_file(f, name) for f in dict.fromkeys(findings)], context=used)


_CONTEXT_GRAPHS = {str(g) for g in (META_GRAPH, ENTITY_GRAPH, ONTOLOGY_GRAPH, CORRECTION_GRAPH)}


def schema_finding(error: MappingError) -> Finding:
    """A schema error as a Violation of the report, at its line and under its field."""
    loc = error.location
    message = f"{loc.field}: {error.message}" if loc.field else error.message
    return Finding("Violation", message, None, None, None, loc.file, loc.line, "schema")


def _with_file(finding: Finding, name: str) -> Finding:
    return finding if finding.file else replace(finding, file=name)
