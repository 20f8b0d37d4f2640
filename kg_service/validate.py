"""Validate what a user hands in against the seeds as built: a new article's mapping, or RDF from another tool.

A new article (`validate_mapping`) or RDF made by another tool (`validate_rdf`) is validated
against a `Context`: the seeds as built, so it sees the register, the ontology and every known
event. Its graphs are validated as the build validates the seeds (buildcheck.py, shacl.py), and the
checks of checks.py (probable duplicates, quotes and offsets, unknown IRIs) run beside SHACL, with
the gate that keeps the graph clean as it grows (no second id for a known event, no text added
twice). Schema errors of the mapping become findings of the same report, each at its mapping line.
Nothing here changes the context or the served graph. `kg-service validate`, `kg-service add`,
``POST /validate`` and ``POST /articles`` all come here.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

from rdflib import RDF, Dataset, Graph, URIRef
from rdflib.graph import DATASET_DEFAULT_GRAPH_ID
from rdflib.namespace import OWL

from .build import Build, build_dataset, catalogue_for, cross_article_findings
from .buildcheck import entity_types, entity_types_of, validate_article
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
from .errors import InputError, Location, MappingError, MappingErrors, TooLarge
from .mapping import Mapping, load_mapping
from .register import register_graph
from .report import Finding, Report
from .settings import Settings
from .shacl import PreparedGraph, load_shapes, shacl_findings
from .vocab import CORRECTION_GRAPH, DKG, ENTITY_GRAPH, META_GRAPH, ONTOLOGY_GRAPH, article_iri
from .yamlread import read_text_file


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
