"""Build the dataset from the seeds: register, ontology, every article's mapping compiled to its graph.

The dataset has one named graph per article (what that article says), a metadata graph (the
articles themselves), the entity graph (the register), the corrections graph (what published
sources say where an article is wrong), the ontology graph and the resolved layer (resolve.py: the
best-known value of every field, which with the register, metadata, corrections and ontology forms
the default graph the store serves). Event keys are collected from all
mappings first, so an article may refer to an event another article defines.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from rdflib import RDF, RDFS, Dataset, Graph, URIRef

from .catalogue import Catalogue
from .compiled import CompiledArticle, event_iri
from .compiler import added_events, compile_article
from .mapping import Mapping, load_mapping
from .progress import progress
from .register import Register, declared_in, load_register, register_graph, with_declared
from .report import Finding
from .resolve import resolve
from .settings import Settings
from .vocab import (
    CORRECTION_GRAPH,
    DKG,
    ENTITY_GRAPH,
    META_GRAPH,
    ONTOLOGY_GRAPH,
    ORG,
    RESOLVED_GRAPH,
    article_graph,
)
from .yamlread import read_text_file


@dataclass
class Build:
    """The built dataset and everything needed to validate it and trace it back to the mappings."""

    dataset: Dataset
    register: Register
    ontology: Graph
    mappings: list[Mapping] = field(default_factory=list)
    articles: list[CompiledArticle] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)


def mapping_paths(seeds_dir: Path) -> list[Path]:
    """The mappings of the seeds folder; dotfiles (an interrupted add's temporary files) are not articles."""
    return sorted(p for p in seeds_dir.glob("*.yaml") if not p.name.startswith("."))


def load_ontology(ontology_dir: Path) -> Graph:
    graph = Graph()
    graph.parse(ontology_dir / "dkg.ttl", format="turtle")
    return graph


def catalogue_for(register: Register, mappings: list[Mapping], known: Dataset | None = None) -> Catalogue:
    """All keys the mappings can use: register entities, the entities mappings declare, every event
    any mapping defines, and the events already in `known` (the served graph, when a new article is
    validated). Raises MappingErrors for a declared entity that clashes with a known key."""
    events: dict[str, URIRef] = {}
    if known is not None:
        prefix = str(event_iri("x"))[:-1]
        for node in known.subjects(RDF.type, None):
            if isinstance(node, URIRef) and str(node).startswith(prefix):
                events[str(node)[len(prefix):]] = node
    for mapping in mappings:
        for entry in mapping.events:
            events[entry.values["id"]] = event_iri(entry.values["id"])
        for key in added_events(mapping):
            events[key] = event_iri(key)
    return Catalogue(with_declared(register, declared_in(mappings)), events)


def build_dataset(settings: Settings) -> Build:
    """Compile every mapping in the seeds folder into a fresh dataset.

    Raises the InputError or MappingErrors of the first unreadable mapping or register: a build
    from broken files would silently lose an article. Content problems become findings instead.
    """
    register = load_register(settings.ontology_dir / "entities.yaml")
    ontology = load_ontology(settings.ontology_dir)
    dataset = Dataset(default_union=True)
    for prefix, namespace in ontology.namespaces():
        dataset.bind(prefix, namespace, override=False)
    dataset.bind("dkg", DKG._NS)
    dataset.bind("org", ORG)
    build = Build(dataset, register, ontology)
    dataset.graph(ONTOLOGY_GRAPH).__iadd__(ontology)
    build.mappings = [load_mapping(path) for path in mapping_paths(settings.seeds_dir)]
    catalogue = catalogue_for(register, build.mappings)
    register_graph(catalogue.register, dataset.graph(ENTITY_GRAPH))  # with the entities articles declare
    with progress("Compiling", total=len(build.mappings), unit="article") as step:
        for mapping in build.mappings:
            add_article(build, mapping, read_text_file(mapping.text_path), catalogue)
            step()
    build.findings.extend(cross_article_findings(build.mappings))
    build.dataset.graph(RESOLVED_GRAPH).__iadd__(resolve(build.articles))
    return build


def add_article(build: Build, mapping: Mapping, text: str, catalogue: Catalogue) -> CompiledArticle:
    """Compile one article into the build's dataset (its own graph, metadata, corrections)."""
    compiled = compile_article(mapping, text, catalogue)
    graph = build.dataset.graph(article_graph(compiled.article_id))
    graph += compiled.graph
    build.dataset.graph(META_GRAPH).__iadd__(compiled.meta)
    build.dataset.graph(CORRECTION_GRAPH).__iadd__(compiled.corrections)
    build.articles.append(compiled)
    build.findings.extend(compiled.findings)
    return compiled


def cross_article_findings(mappings: list[Mapping]) -> list[Finding]:
    """One event key must name one kind of event, under one label, in every article that reports it."""
    findings: list[Finding] = []
    classes: dict[str, tuple[object, Path]] = {}  # event key -> (first class, its mapping file)
    labels: dict[str, tuple[object, Path]] = {}  # event key -> (first label, its mapping file)
    for mapping in mappings:
        for entry in mapping.events:
            key, cls, label = entry.values["id"], entry.values["class"], entry.values["label"]
            first_label = labels.setdefault(key, (label, mapping.path))
            if first_label[0] != label:
                findings.append(Finding("Warning", f"events.{key}.label: {label!r} here but {first_label[0]!r} in "
                                        f"{first_label[1]}: give one event one label", str(event_iri(key)),
                                        str(RDFS.label), None, str(mapping.path), entry.line_of("label")))
            first = classes.setdefault(key, (cls, mapping.path))
            if first[0] != cls:
                findings.append(Finding("Violation", f"events.{key}.class: {cls} here but {first[0]} in {first[1]}: "
                                        "one event key is one event", str(event_iri(key)), str(RDF.type), None,
                                        str(mapping.path), entry.line_of("class")))
    return findings


def class_counts(dataset: Dataset) -> dict[str, int]:
    """How many distinct resources of each ontology class the dataset holds (union of all graphs)."""
    counted: Counter[str] = Counter()
    seen = set()
    for node, cls in dataset.subject_objects(RDF.type):
        if isinstance(cls, URIRef) and str(cls).startswith(str(DKG._NS)) and (node, cls) not in seen:
            seen.add((node, cls))
            counted[str(cls)[len(str(DKG._NS)):]] += 1
    return dict(sorted(counted.items()))
