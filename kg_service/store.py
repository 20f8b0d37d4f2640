"""The dataset the service answers from: an embedded Oxigraph store (pyoxigraph), loaded once.

rdflib builds and validates the graph (it is the better toolkit for that); queries run on Oxigraph,
whose compiled engine is the one Oxigraph's own server uses. The build is handed over as N-Quads,
so what is served is exactly what was validated. `version` changes whenever the content changes and
is what HTTP caching (ETag) and result caches key on. The same `KnowledgeGraph` wraps a store kept in
a folder (`stores`) or stands for one held by a remote server (`remote`); its `backend` (see
`backends`) says where it lives and what it allows, so the web layer never asks which kind it is.
"""

from __future__ import annotations

import hashlib
import warnings
from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyoxigraph as ox
from rdflib import Dataset

from .errors import InputError, Location, NotFound, QueryError
from .formats import DATASET, RESULTS, Format, format_for_file, rdf_suffixes, written
from .guard import refuse_update
from .tokens import TOKEN
from .vocab import ARTICLE_GRAPH_PREFIX, DEFAULT_GRAPHS, PREFIXES, RESOLVED_GRAPH, UNION_GRAPH
from .vocab import GRAPH as GRAPH_NS

if TYPE_CHECKING:
    from .backends import Backend
    from .remote import RemoteStore





def dataset_nquads(dataset: Dataset) -> bytes:
    """The built dataset as N-Quads, one line per quad in a fixed order, so equal content gives an
    equal version (its hash)."""
    with warnings.catch_warnings():
        # rdflib 7's N-Quads serializer calls its own deprecated Dataset.contexts(); nothing of ours to fix.
        warnings.filterwarnings("ignore", "Dataset.contexts is deprecated", DeprecationWarning)
        data = dataset.serialize(format="nquads", encoding="utf-8")
    return b"\n".join(sorted(line for line in data.splitlines() if line.strip())) + b"\n"


def default_graph_quads(quads: Iterable[ox.Quad], *, resolved: bool) -> Iterator[ox.Quad]:
    """The quads that form the served default graph, moved into it. With a resolved layer (the seeds,
    or a dump of them: `resolved`), the default graph is what is known, vocab.DEFAULT_GRAPHS, and the
    article graphs stay named only; any other dataset gets the union of its named graphs.
    This is the one place that decides which graphs form the default graph."""
    chosen = {ox.NamedNode(str(g)) for g in DEFAULT_GRAPHS}
    return (ox.Quad(q.subject, q.predicate, q.object, ox.DefaultGraph()) for q in quads
            if not isinstance(q.graph_name, ox.DefaultGraph) and (not resolved or q.graph_name in chosen))


def default_graph_update(*, resolved: bool) -> str:
    """The same choice as `default_graph_quads`, as an update the engine runs in place (several times
    faster than a loop over the quads in Python).

    >>> default_graph_update(resolved=False)
    'INSERT { ?s ?p ?o } WHERE { GRAPH ?g { ?s ?p ?o } }'
    """
    if not resolved:
        return "INSERT { ?s ?p ?o } WHERE { GRAPH ?g { ?s ?p ?o } }"
    graphs = " ".join(f"<{g}>" for g in DEFAULT_GRAPHS)
    return f"INSERT {{ ?s ?p ?o }} WHERE {{ VALUES ?g {{ {graphs} }} GRAPH ?g {{ ?s ?p ?o }} }}"


def from_union(text: str, graphs: list[str]) -> str:
    """`FROM graph:union` in a query's text made `FROM` each article graph: the union by name, as a
    dataset over the article graphs rather than a copy. Only FROM clauses change (tokens, not text, so a
    string or comment naming the union is left alone).

    >>> from_union("SELECT * FROM <https://w3id.org/kg-service/graph/union> { ?s ?p ?o }", ["urn:a", "urn:b"])
    'SELECT * FROM <urn:a> FROM <urn:b> { ?s ?p ?o }'
    >>> from_union("PREFIX g: <https://w3id.org/kg-service/graph/> SELECT * FROM g:union {}", ["urn:a"])
    'PREFIX g: <https://w3id.org/kg-service/graph/> SELECT * FROM <urn:a> {}'
    """
    prefixes: dict[str, str] = {}
    tokens = [m for m in TOKEN.finditer(text) if m.lastgroup != "comment"]
    out, last = [], 0
    for before, token, after in zip(tokens, tokens[1:], tokens[2:], strict=False):
        if before.group().upper() == "PREFIX" and token.lastgroup == "pname" and after.lastgroup == "iri":
            prefixes[token.group()[:-1]] = after.group()[1:-1]
    for before, token in zip(tokens, tokens[1:], strict=False):
        if before.group().upper() != "FROM":
            continue
        name = token.group()[1:-1] if token.lastgroup == "iri" else None
        if token.lastgroup == "pname":
            prefix, _, local = token.group().partition(":")
            name = prefixes.get(prefix, "\x00") + local
        if name == str(UNION_GRAPH):
            out.append(text[last:before.start()])
            out.append(" ".join(f"FROM <{g}>" for g in graphs) or f"FROM <{name}>")
            last = token.end()
    return "".join(out) + text[last:]


def has_resolved_layer(data: ox.Store | ox.Dataset) -> bool:
    graph = ox.NamedNode(str(RESOLVED_GRAPH))
    if isinstance(data, ox.Store):
        return data.contains_named_graph(graph)
    return any(True for _ in data.quads_for_graph_name(graph))


def content_version(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()[:16]


def file_version(path: Path) -> str:
    """`content_version` of a file's bytes, read in chunks."""
    with path.open("rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()[:16]


class KnowledgeGraph:
    """An Oxigraph store plus whether the default graph is the union of the named graphs."""

    def __init__(self, store: ox.Store, *, union_default_graph: bool, version: str,
                 quads: ox.Dataset | Callable[[], ox.Dataset] | None = None, materialised: bool = False,
                 size: int | None = None, backend: Backend | None = None):
        """Wrap a loaded store. With `union_default_graph`, the union is written into the store's default
        graph once here (unless `materialised` says a persistent store already holds it): Oxigraph's own
        union option is a bag (a triple in two graphs counts twice) and overrides FROM, while a
        materialised default graph is the RDF merge the SPARQL spec means.

        `quads` is the exact parsed copy, or a function that reads it: a worker or a persistent store
        never needs it for queries, and at a million quads an eager copy costs hundreds of megabytes.
        `backend` is where the graph lives (`backends`; the in-memory one when None).
        """
        self.store = store
        # Oxigraph's store turns xsd:nonNegativeInteger (and other integer subtypes) into xsd:integer, so
        # dumps are written from the parsed quads, which keep every datatype exactly as validated.
        materialise = union_default_graph and not materialised
        if quads is None:  # the copy must not see the union about to be written
            quads = ox.Dataset(store) if materialise else (lambda: ox.Dataset(store))
        self._quads = quads
        self._size = len(store) if materialise and size is None else size
        if materialise:  # in the engine: several times faster than a loop over the quads in Python
            store.update(default_graph_update(resolved=has_resolved_layer(store)))
        self.union_default_graph = union_default_graph
        self.version = version
        if backend is None:
            from .backends import Memory

            backend = Memory()
        self.backend: Backend = backend

    @property
    def remote(self) -> RemoteStore | None:
        """The remote store that answers this graph's queries (the remote backend), else None."""
        return getattr(self.backend, "remote", None)

    @property
    def data_file(self) -> Path | None:
        """The dataset file served (``serve --data``), or None for the seeds."""
        return self.backend.spec.data if self.backend.name == "file" else None

    @data_file.setter
    def data_file(self, path: Path) -> None:
        """Serve this graph as the dataset file `path` (the file backend: updates allowed)."""
        from .backends import DataFile, GraphSpec

        self.backend = DataFile(GraphSpec(data=path, union_default_graph=self.union_default_graph))

    @property
    def quads(self) -> ox.Dataset:
        """The exact copy, read on first use and then kept."""
        if callable(self._quads):
            self._quads = self._quads()
        return self._quads

    @classmethod
    def from_nquads(cls, data: bytes, *, union_default_graph: bool = True,
                    backend: Backend | None = None) -> KnowledgeGraph:
        store = ox.Store()
        store.bulk_load(data, format=ox.RdfFormat.N_QUADS)
        return cls(store, union_default_graph=union_default_graph, version=content_version(data),
                   quads=lambda: ox.Dataset(ox.parse(data, format=ox.RdfFormat.N_QUADS)), backend=backend)

    @classmethod
    def from_dataset(cls, dataset: Dataset, *, union_default_graph: bool = True,
                     backend: Backend | None = None) -> KnowledgeGraph:
        """Load a built rdflib dataset (the seeds) into a fresh in-memory store."""
        return cls.from_nquads(dataset_nquads(dataset), union_default_graph=union_default_graph, backend=backend)

    @classmethod
    def from_file(cls, path: Path, *, union_default_graph: bool = False) -> KnowledgeGraph:
        """Load any RDF dataset file, chosen by its suffix; a syntax error names the line."""
        table = format_for_file(path.name)  # the one suffix table: formats.FORMATS
        if table is None:
            raise InputError(f"unknown RDF file type {path.suffix!r}; use one of {', '.join(rdf_suffixes())}",
                             Location(str(path)))
        fmt = table.rdf
        base = path.resolve().as_uri()
        try:  # hashed as it is read, never held: a million quads are hundreds of megabytes of text
            version = file_version(path)
        except OSError as exc:
            raise InputError(f"cannot read file: {exc.strerror}", Location(str(path))) from None
        store = ox.Store()
        try:
            store.bulk_load(path=path, format=fmt, base_iri=base)
        except SyntaxError as exc:
            raise InputError(f"not valid {fmt.name}: {exc}", Location(str(path), getattr(exc, "lineno", None),
                                                                    getattr(exc, "offset", None))) from None

        def exact() -> ox.Dataset:
            if file_version(path) != version:
                raise InputError("the data file changed since it was loaded: restart the server to serve it",
                                 Location(str(path)))
            return ox.Dataset(ox.parse(path=path, format=fmt, base_iri=base))

        kg = cls(store, union_default_graph=union_default_graph, version=version, quads=exact)
        kg.data_file = path
        return kg

    def article_graphs(self) -> list[str]:
        """The article graphs, in order: what the name `graph:union` stands for."""
        return [g for g in self.graph_names() if g.startswith(ARTICLE_GRAPH_PREFIX)]

    def query(self, text: str, *, default_graphs: Iterable[str] = (), named_graphs: Iterable[str] = (),
              bindings: Mapping[str, ox.NamedNode | ox.BlankNode | ox.Literal] | None = None,
              base_iri: str | None = None) -> ox.QuerySolutions | ox.QueryBoolean | ox.QueryTriples:
        """Run a SPARQL query; raises QueryError with the parser's message for a malformed one.

        `default_graphs`/`named_graphs` are the protocol's dataset IRIs; when given they replace the
        store's default and named graphs, as the SPARQL 1.1 Protocol says. `bindings` are values for
        variables (SEP-0007): parameters are bound as values, never spliced into text. `base_iri`
        resolves the query's relative IRIs.
        """
        options: dict[str, Any] = {"base_iri": base_iri}  # keyword arguments of ox.Store.query
        default_graphs = self._expand_union(default_graphs)
        if str(UNION_GRAPH)[len(str(GRAPH_NS)):] in text:  # cheap test first: the name must be in the text
            text = from_union(text, self.article_graphs())
        if default_graphs:
            options["default_graph"] = [ox.NamedNode(iri) for iri in default_graphs]
        if named_graphs:
            options["named_graphs"] = [ox.NamedNode(iri) for iri in named_graphs]
        if bindings:
            options["substitutions"] = {ox.Variable(name): value for name, value in bindings.items()}
        try:
            return self.store.query(text, **options)
        except SyntaxError as exc:
            refuse_update(text)
            raise QueryError(f"SPARQL syntax error: {exc}", Location(field="query")) from None
        except RuntimeError as exc:  # pyoxigraph's evaluation errors (an unsupported function, ...)
            raise QueryError(f"the query cannot be evaluated: {exc}", Location(field="query")) from None

    def _expand_union(self, graphs: Iterable[str]) -> list[str]:
        """`graph:union` in a dataset spec (default-graph-uri, FROM) stands for every article graph: a
        dataset over the article graphs, not a second copy of them in the store."""
        graphs = list(graphs)
        if str(UNION_GRAPH) not in graphs:
            return graphs
        return list(dict.fromkeys(g for name in graphs
                                  for g in (self.article_graphs() if name == str(UNION_GRAPH) else [name])))

    def dump(self, fmt: Format) -> bytes:
        """The whole dataset in `fmt`; a graph-only format gets the union of all graphs."""
        if fmt.oxigraph is None or fmt.kind == RESULTS:
            raise ValueError(f"{fmt.name} is not an RDF format")
        if fmt.kind == DATASET:
            return written(ox.serialize(self.quads, format=fmt.rdf, prefixes=PREFIXES))
        return written(ox.serialize(self.triples(None), format=fmt.rdf, prefixes=PREFIXES))

    def triples(self, name: str | None) -> list[ox.Triple]:
        """The triples of named graph `name`, or of the default graph as served (the union if so set),
        with their datatypes exactly as loaded. Raises NotFound for an unknown graph name."""
        if name is not None and name != str(UNION_GRAPH):
            graph = ox.NamedNode(name)
            if not any(True for _ in self.quads.quads_for_graph_name(graph)):
                raise NotFound(f"no graph named <{name}>", Location(field="graph"))
            return [q.triple for q in self.quads.quads_for_graph_name(graph)]
        if name is not None and name == str(UNION_GRAPH):
            return list(dict.fromkeys(q.triple for g in self.article_graphs()
                                      for q in self.quads.quads_for_graph_name(ox.NamedNode(g))))
        if not self.union_default_graph:
            return [q.triple for q in self.quads.quads_for_graph_name(ox.DefaultGraph())]
        quads = self.quads
        return list(dict.fromkeys(q.triple for q in default_graph_quads(quads, resolved=has_resolved_layer(quads))))

    def graph_names(self) -> list[str]:
        return sorted(g.value for g in self.store.named_graphs() if isinstance(g, ox.NamedNode))

    def __len__(self) -> int:
        """Quads as loaded (the materialised union default graph is not counted again)."""
        if self._size is None:
            self._size = len(self.quads) if self.union_default_graph else len(self.store)
        return self._size
