"""The entity register: one canonical IRI per real person, state, body, place, issue and gathering.

`ontology/entities.yaml` lists each entity with its correct name, every spelling the articles use,
its Wikidata ID and the published sources that identify it; people carry the posts they held
(W3C ORG memberships with dates). Mappings refer to entities by key; this module reads the register
(with line numbers, like a mapping) and turns it into the entity graph.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rdflib import RDF, RDFS, XSD, Graph, Literal, URIRef
from rdflib.namespace import DCTERMS, SKOS

from .dates import date_literal
from .entries import Entry
from .errors import Location, MappingError, MappingErrors
from .fieldread import SchemaReader
from .fields import DATE, KEY, KEYS, TEXT, TEXTS, URL, URLS, WIKIDATA, FieldSpec
from .vocab import DKG, ORG, SCHEMA, TIME, WD, mint
from .yamlread import parse_yaml, read_text_file

_ENTITY = {
    "key": FieldSpec(KEY, True), "name": FieldSpec(TEXT, True, help="the correct name, as encyclopedias spell it"),
    "aliases": FieldSpec(TEXTS, help="every other spelling, including each one found in an article"),
    "wikidata": FieldSpec(WIKIDATA, help="Wikidata ID such as Q17"), "description": FieldSpec(TEXT),
    "sources": FieldSpec(URLS, help="URLs of the published sources that identify the entity"),
    "country": FieldSpec(KEY), "note": FieldSpec(TEXT),
}
# section -> (IRI kind, rdf:type, extra fields)
SECTIONS: dict[str, tuple[str, URIRef, dict[str, FieldSpec]]] = {
    "states": ("state", DKG.State, {}),
    "people": ("person", DKG.Person, {"posts": FieldSpec("posts")}),
    "organisations": ("org", DKG.Organisation, {"type": FieldSpec(
        "choice", True, ("GovernmentBody", "Court", "Company", "Organisation"))}),
    "groups": ("group", DKG.Group, {}),
    "places": ("place", DKG.Place, {"within": FieldSpec(KEY)}),
    "issues": ("issue", DKG.Issue, {"broader": FieldSpec(KEYS)}),
    "gatherings": ("gathering", DKG.Gathering, {"date": FieldSpec(DATE), "end_date": FieldSpec(DATE),
                                                "place": FieldSpec(KEY)}),
    "roles": ("role", ORG.Role, {}),
}
_POST = {"role": FieldSpec(KEY, True), "organisation": FieldSpec(KEY, True), "start": FieldSpec(DATE),
         "end": FieldSpec(DATE), "source": FieldSpec(URL, True), "note": FieldSpec(TEXT)}


@dataclass
class RegisterEntry:
    section: str
    iri: URIRef
    entry: Entry
    posts: list[Entry]
    source: Path | None = None  # the mapping that declares it; None for the register file

    @property
    def key(self) -> str:
        return self.entry.values["key"]

    @property
    def name(self) -> str:
        return self.entry.values["name"]

    @property
    def aliases(self) -> tuple[str, ...]:
        return self.entry.values.get("aliases", ())


@dataclass
class Register:
    path: Path
    entries: dict[str, RegisterEntry]

    def iri(self, key: str) -> URIRef | None:
        found = self.entries.get(key)
        return found.iri if found else None

    def names(self) -> dict[str, str]:
        """Every name and alias, lowercased, with the key it belongs to (for suggestions)."""
        names: dict[str, str] = {}
        for entry in self.entries.values():
            for name in (entry.name, *entry.aliases, entry.key):
                names.setdefault(name.lower(), entry.key)
        return names


def load_register(path: Path) -> Register:
    """Read and check the register; raises MappingErrors with file:line for each problem."""
    doc = parse_yaml(read_text_file(path), path)
    if not hasattr(doc, "items"):
        raise MappingError("expected sections " + ", ".join(SECTIONS), Location(str(path), 1))
    reader = SchemaReader(path)
    entries = read_entries(doc, reader)
    check_references(entries, entries, reader)
    if reader.errors:
        raise MappingErrors(reader.errors)
    return Register(path, entries)


def read_entries(doc: Any, reader: SchemaReader, where: str = "", line: int = 1) -> dict[str, RegisterEntry]:
    """The entries of a register document (or of a mapping's ``entities:`` section, `where`), by key;
    problems go to `reader`, at their lines."""
    entries: dict[str, RegisterEntry] = {}
    if not hasattr(doc, "items"):
        reader.error(line, where or "register", "expected sections " + ", ".join(SECTIONS))
        return entries
    for section, items in doc.items():
        name = f"{where}.{section}" if where else str(section)
        if section not in SECTIONS:
            reader.error(doc.lc.key(section)[0] + 1, name, "unknown section; known: " + ", ".join(SECTIONS))
            continue
        kind, _cls, extra = SECTIONS[section]
        specs = {**_ENTITY, **extra}
        for i, (node, node_line) in enumerate(reader.sequence(items, name, doc.lc.key(section)[0] + 1)):
            posts_node = node.get("posts") if hasattr(node, "get") else None
            entry = reader.entry(node, section, f"{name}[{i}]", specs, node_line, nested=("posts",))
            if entry is None or "key" not in entry.values:
                continue
            posts = []
            post_items = [] if posts_node is None else reader.sequence(posts_node, f"{name}[{i}].posts", node_line)
            for j, (post, pline) in enumerate(post_items):
                checked = reader.entry(post, "post", f"{name}[{i}].posts[{j}]", _POST, pline)
                if checked:
                    posts.append(checked)
            key = entry.values["key"]
            if key in entries:
                reader.error(entry.line, f"{name}[{i}].key", f"{key!r} is already used at line "
                             f"{entries[key].entry.line}")
                continue
            entries[key] = RegisterEntry(section, mint(kind, key), entry, posts)
    return entries


def check_references(entries: dict[str, RegisterEntry], known: dict[str, RegisterEntry],
                     reader: SchemaReader) -> None:
    """Every key `entries` refer to (country, within, place, broader, a post's role and body) is in `known`."""
    for entry in entries.values():
        for name in ("country", "within", "place", "broader"):
            refs = entry.entry.values.get(name, ())
            for ref in (refs,) if isinstance(refs, str) else refs:
                if ref not in known:
                    reader.error(entry.entry.line_of(name), f"{entry.key}.{name}", f"unknown register key {ref!r}")
        for post in entry.posts:
            for name in ("role", "organisation"):
                if post.values.get(name) not in known:
                    reader.error(post.line_of(name), f"{entry.key}.posts.{name}",
                                 f"unknown register key {post.values.get(name)!r}")


def with_declared(register: Register, declared: list[tuple[Path, Any, int]]) -> Register:
    """`register` plus the entities mappings declare in their ``entities:`` sections ((file, node, line)
    each): an article may introduce a person or body the register does not know yet, checked as the
    register is. Raises MappingErrors, at the mapping's lines, for a key the register or another
    mapping already uses, or for a reference to an unknown key."""
    entries = dict(register.entries)
    errors: list[MappingError] = []
    added: list[tuple[SchemaReader, dict[str, RegisterEntry]]] = []
    for path, node, line in declared:
        reader = SchemaReader(path)
        own = read_entries(node, reader, "entities", line)
        for key, entry in own.items():
            if key in entries:
                first = entries[key]
                where = first.source or register.path
                reader.error(entry.entry.line, f"entities.{key}", f"{key!r} is already defined in {where} at line "
                             f"{first.entry.line}: use that key, or add an alias there")
                continue
            entry.source = path
            entries[key] = entry
        added.append((reader, own))
    for reader, own in added:
        check_references(own, entries, reader)
        errors += reader.errors
    if errors:
        raise MappingErrors(errors)
    return Register(register.path, entries)


def register_graph(register: Register, graph: Graph, keys: set[str] | None = None) -> Graph:
    """Add the register's triples to `graph`: labels, aliases, Wikidata links, sources and posts
    (of the entries in `keys` only, when given; they may refer to any entry of the register)."""
    for entry in register.entries.values():
        if keys is not None and entry.key not in keys:
            continue
        _kind, cls, _extra = SECTIONS[entry.section]
        iri, values = entry.iri, entry.entry.values
        graph.add((iri, RDF.type, cls))
        if entry.section == "organisations":
            graph.add((iri, RDF.type, getattr(DKG, values["type"])))
        if entry.section in ("issues", "roles"):
            graph.add((iri, RDF.type, SKOS.Concept))
        graph.add((iri, SKOS.prefLabel, Literal(values["name"], lang="en")))
        graph.add((iri, RDFS.label, Literal(values["name"], lang="en")))
        for alias in entry.aliases:
            graph.add((iri, SKOS.altLabel, Literal(alias, lang="en")))
        if "wikidata" in values:
            graph.add((iri, DKG.wikidata, WD[values["wikidata"]]))
        if "description" in values:
            graph.add((iri, SKOS.definition, Literal(values["description"], lang="en")))
        if "note" in values:
            graph.add((iri, SKOS.editorialNote, Literal(values["note"], lang="en")))
        for url in values.get("sources", ()):
            graph.add((iri, DCTERMS.source, URIRef(url)))
        if "country" in values:
            graph.add((iri, DKG.country, register.entries[values["country"]].iri))
        if "within" in values:  # not dkg:place, whose SEM parent would make a place an event under RDFS
            graph.add((iri, SCHEMA.containedInPlace, register.entries[values["within"]].iri))
        for broader in values.get("broader", ()):
            graph.add((iri, SKOS.broader, register.entries[broader].iri))
        if "place" in values:
            graph.add((iri, DKG.place, register.entries[values["place"]].iri))
        for name, prop in (("date", DKG.date), ("end_date", DKG.endDate)):
            if name in values:
                graph.add((iri, prop, date_literal(values[name])))
        for post in entry.posts:
            _add_post(graph, register, iri, post)
    return graph


def _add_post(graph: Graph, register: Register, person: URIRef, post: Entry) -> None:
    values = post.values
    # The role and organisation make the key: one person rarely holds the same post twice.
    membership = mint("membership", register_key(person), values["role"], values["organisation"])
    interval = URIRef(membership + "/interval")
    graph.add((membership, RDF.type, ORG.Membership))
    graph.add((membership, ORG.member, person))
    graph.add((membership, ORG.organization, register.entries[values["organisation"]].iri))
    graph.add((membership, ORG.role, register.entries[values["role"]].iri))
    graph.add((membership, DCTERMS.source, URIRef(values["source"])))
    if "note" in values:
        graph.add((membership, SKOS.editorialNote, Literal(values["note"], lang="en")))
    graph.add((membership, ORG.memberDuring, interval))
    graph.add((interval, RDF.type, TIME.Interval))
    for name, prop in (("start", TIME.hasBeginning), ("end", TIME.hasEnd)):
        if name in values:
            instant = URIRef(f"{membership}/{name}")
            literal = date_literal(values[name])
            graph.add((interval, prop, instant))
            graph.add((instant, RDF.type, TIME.Instant))
            assert literal.datatype is not None  # date_literal always types its literal
            graph.add((instant, _TIME_PROPERTY[literal.datatype], literal))


_TIME_PROPERTY = {XSD.date: TIME.inXSDDate, XSD.gYearMonth: TIME.inXSDgYearMonth, XSD.gYear: TIME.inXSDgYear}


def register_key(iri: URIRef) -> str:
    """The last path segment of one of our IRIs: the key it was minted from.

    >>> register_key(URIRef("https://w3id.org/kg-service/id/person/park-jin"))
    'park-jin'
    """
    return str(iri).rsplit("/", 1)[-1]


def declared_in(mappings: list) -> list[tuple[Path, Any, int]]:
    """The ``entities:`` sections of `mappings` (Mapping objects), for `with_declared`."""
    return [(m.path, *m.entities) for m in mappings if m.entities is not None]
