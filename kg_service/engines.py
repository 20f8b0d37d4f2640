"""What differs between SPARQL servers used as the remote store: their layout and their dataset semantics.

The remote store (`remote`) speaks only the standard protocols, but servers disagree on what a query
without FROM sees. Oxigraph, Fuseki and GraphDB have a real default graph, which we fill with exactly
what the embedded store answers from. Virtuoso has none: a query without a dataset sees the *bag* of
every graph, its own system graphs included, and GRAPH ?g ranges over those too. So for Virtuoso the
default graph lives in a named graph of its own (`VIRTUOSO_DEFAULT_GRAPH`) inside a graph group
(`VIRTUOSO_DEFAULT_GROUP`, created by the push), each query is sent with that group as its default
graph (the protocol's default-graph-uri), and that graph and the graphs that are not ours are
excluded from GRAPH ?g by Virtuoso's own `define input:named-graph-exclude` pragma (its manual,
"SPARQL: Pragmas"). A query that names its own dataset (FROM, FROM NAMED, or the protocol's graph
URIs) gets no default added, since Virtuoso adds a FROM to that graph rather than replacing it.

GraphDB, whose default graph is the union unless told otherwise, gets the default graph named too.
The engine is chosen by the URL (`virtuoso+http://...`, `oxigraph+http://...`) or, for a plain URL, by
probing: a `Server: Virtuoso/...` header names Virtuoso, else the first layout that answers ``ASK {}``.
"""

from __future__ import annotations

import re
import urllib.parse
from dataclasses import dataclass

from .tokens import TOKEN

VIRTUOSO_DEFAULT_GRAPH = "urn:x-kg-service:default-graph"
VIRTUOSO_DEFAULT_GROUP = "urn:x-kg-service:default-graph-group"
# Run once per push with the credentials given (idempotent): the graph group the queries' default graph is.
VIRTUOSO_SETUP = (f'SELECT (<sql:RDF_GRAPH_GROUP_CREATE>("{VIRTUOSO_DEFAULT_GROUP}", 1) AS ?done) {{}}',
                  f'SELECT (<sql:RDF_GRAPH_GROUP_INS>("{VIRTUOSO_DEFAULT_GROUP}", "{VIRTUOSO_DEFAULT_GRAPH}") '
                  'AS ?done) {}')
SCHEME = re.compile(r"(?P<engine>[a-z]+)\+(?P<scheme>https?)://(?P<rest>.*)", re.DOTALL)


@dataclass(frozen=True)
class Engine:
    """One server family: where its endpoints are and how its dataset differs from SPARQL's."""

    name: str
    query_path: str  # relative to the base URL given
    store_path: str  # the Graph Store Protocol endpoint
    auth_store_path: str = ""  # the Graph Store endpoint that takes credentials, when it is another one
    default_graph: str = ""  # the named graph standing for the default graph; "" when the server has one
    default_uri: str = ""  # the default-graph-uri sent with a query that names no dataset
    admin_path: str = ""  # the query endpoint that takes credentials, for `setup`
    setup: tuple[str, ...] = ()  # queries run there before a push
    whole_put: bool = True  # may take the whole dataset in one PUT of N-Quads (tried, then graph by graph)
    owns_server: bool = True  # every graph on the server is ours: graphs we do not have are deleted
    # keeps an xsd:duration as its number of seconds and sends that back, not the ISO 8601 form it was given
    numeric_durations: bool = False

    def store_for(self, authenticated: bool) -> str:
        return self.auth_store_path if authenticated and self.auth_store_path else self.store_path


OXIGRAPH = Engine("oxigraph", "query", "store")
FUSEKI = Engine("fuseki", "sparql", "data")
VIRTUOSO = Engine("virtuoso", "sparql", "sparql-graph-crud", auth_store_path="sparql-graph-crud-auth",
                  default_graph=VIRTUOSO_DEFAULT_GRAPH, default_uri=VIRTUOSO_DEFAULT_GROUP,
                  admin_path="sparql-auth", setup=VIRTUOSO_SETUP, whole_put=False, owns_server=False,
                  numeric_durations=True)
# The URL given is the repository's. GraphDB's default graph is the union of every graph unless a
# query names RDF4J's sesame:nil as its default graph, which means the real default graph alone
# (GraphDB's manual, "Query behaviour"); not tested here.
GRAPHDB = Engine("graphdb", "", "rdf-graphs/service", default_uri="http://www.openrdf.org/schema/sesame#nil")
GENERIC = Engine("generic", "", "rdf-graphs/service")  # a query endpoint at the URL itself
# Probed in this order for a plain URL (Virtuoso is told by its Server header, not by its layout).
ENGINES = {engine.name: engine for engine in (OXIGRAPH, FUSEKI, VIRTUOSO, GRAPHDB, GENERIC)}
PROBED = (OXIGRAPH, FUSEKI, GRAPHDB)


@dataclass(frozen=True)
class StoreUrl:
    """A `--store URL` taken apart: the engine it names (if any), the base URL, and credentials."""

    engine: Engine | None
    base: str
    user: str | None = None
    password: str | None = None

    def __repr__(self) -> str:  # never show the password
        return f"StoreUrl({self.engine and self.engine.name!r}, {self.base!r}, user={self.user!r})"


def parse_store_url(url: str) -> StoreUrl:
    """Split the engine prefix and the credentials off `url`; raises ValueError for an unknown engine.

    >>> parse_store_url("virtuoso+http://dba:secret@127.0.0.1:8890/sparql")
    StoreUrl('virtuoso', 'http://127.0.0.1:8890', user='dba')
    >>> parse_store_url("http://127.0.0.1:7878/").base
    'http://127.0.0.1:7878'
    >>> parse_store_url("blazegraph+http://x/")
    Traceback (most recent call last):
    ValueError: unknown engine 'blazegraph' in the store URL; use one of oxigraph, fuseki, virtuoso, graphdb, generic
    """
    engine = None
    match = SCHEME.fullmatch(url)
    if match:
        if match["engine"] not in ENGINES:
            raise ValueError(f"unknown engine {match['engine']!r} in the store URL; use one of {', '.join(ENGINES)}")
        engine = ENGINES[match["engine"]]
        url = f"{match['scheme']}://{match['rest']}"
    parts = urllib.parse.urlsplit(url)
    user = urllib.parse.unquote(parts.username) if parts.username is not None else None
    password = urllib.parse.unquote(parts.password) if parts.password is not None else None
    netloc = parts.hostname or ""
    if ":" in netloc:  # an IPv6 address
        netloc = f"[{netloc}]"
    if parts.port is not None:
        netloc += f":{parts.port}"
    base = urllib.parse.urlunsplit((parts.scheme, netloc, parts.path.rstrip("/"), parts.query, ""))
    for known in ENGINES.values():  # a URL given as the query endpoint itself is understood too
        if known.query_path and base.endswith("/" + known.query_path) and engine in (None, known):
            base = base[: -len(known.query_path) - 1]
            break
    return StoreUrl(engine, base, user, password)


def names_dataset(text: str) -> bool:
    """Whether the query names its own dataset with FROM or FROM NAMED (strings and IRIs do not count).

    >>> names_dataset("SELECT * FROM <http://g> { ?s ?p ?o }"), names_dataset('SELECT ("FROM" AS ?x) {}')
    (True, False)
    """
    return any(m.lastgroup == "word" and m.group().upper() == "FROM" for m in TOKEN.finditer(text))


def dataset_prologue(engine: Engine, excluded: tuple[str, ...]) -> str:
    """The text to put before a query so `engine`'s GRAPH ?g ranges over our named graphs only.

    >>> dataset_prologue(VIRTUOSO, ("http://sys",)).splitlines()  # doctest: +NORMALIZE_WHITESPACE
    ['define input:named-graph-exclude <urn:x-kg-service:default-graph>',
     'define input:named-graph-exclude <http://sys>']
    >>> dataset_prologue(OXIGRAPH, ())
    ''
    """
    if not engine.default_graph:
        return ""
    return "".join(f"define input:named-graph-exclude <{graph}>\n" for graph in (engine.default_graph, *excluded))


def graph_references(text: str) -> tuple[set[str], bool]:
    """The graph IRIs a query names after GRAPH (prefixed names resolved), and whether it has GRAPH ?var.

    Virtuoso 7.2, given a default graph and no named graphs, finds nothing in GRAPH <iri> while it lets
    GRAPH ?g range over every graph; so the graphs a query names are sent as its named graphs.

    >>> names, variable = graph_references("PREFIX g: <http://g/> SELECT * { GRAPH g:a {} GRAPH <http://b> {} }")
    >>> sorted(names), variable
    (['http://b', 'http://g/a'], False)
    >>> graph_references("SELECT * { GRAPH ?g { ?s ?p ?o } } # GRAPH <http://c>")
    (set(), True)
    """
    prefixes: dict[str, str] = {}
    named: set[str] = set()
    variable = False
    tokens = [m for m in TOKEN.finditer(text) if m.lastgroup != "comment"]
    for index, match in enumerate(tokens[:-1]):
        word, following = match.group().upper(), tokens[index + 1]
        if match.lastgroup == "word" and word == "PREFIX" and following.lastgroup == "pname" \
                and index + 2 < len(tokens) and tokens[index + 2].lastgroup == "iri":
            prefixes[following.group()] = tokens[index + 2].group()[1:-1]
        elif match.lastgroup == "word" and word == "GRAPH":
            if following.lastgroup == "var":
                variable = True
            elif following.lastgroup == "iri":
                named.add(following.group()[1:-1])
            elif following.lastgroup == "pname":
                prefix, _, local = following.group().partition(":")
                if prefix + ":" in prefixes:
                    named.add(prefixes[prefix + ":"] + local)
    return named, variable


def graph_constants_bound(text: str) -> str | None:
    """`text` with each ``GRAPH <iri>`` written ``VALUES ?kg_graphN { <iri> } GRAPH ?kg_graphN``; None
    when the query projects ``*`` (the new variables would show in its results).

    For Virtuoso, a query with both GRAPH <iri> and GRAPH ?var would otherwise have to name every graph
    of ours, which at thousands of graphs is a request Virtuoso refuses; a graph variable bound to the
    IRI is found among all graphs.

    >>> graph_constants_bound("SELECT ?s { GRAPH <http://a> { ?s ?p ?o } GRAPH ?g { ?s ?p ?o } }")
    'SELECT ?s { VALUES ?kg_graph0 { <http://a> } GRAPH ?kg_graph0 { ?s ?p ?o } GRAPH ?g { ?s ?p ?o } }'
    >>> graph_constants_bound("SELECT DISTINCT * { GRAPH <http://a> {} }") is None
    True
    """
    tokens = [m for m in TOKEN.finditer(text) if m.lastgroup != "comment"]
    for index, match in enumerate(tokens[:-1]):
        if match.lastgroup == "word" and match.group().upper() == "SELECT":
            following = tokens[index + 1]
            if following.group().upper() in ("DISTINCT", "REDUCED") and index + 2 < len(tokens):
                following = tokens[index + 2]
            if following.group() == "*":
                return None
    pieces, last, count = [], 0, 0
    for index, match in enumerate(tokens[:-1]):
        following = tokens[index + 1]
        if match.lastgroup == "word" and match.group().upper() == "GRAPH" and following.lastgroup in ("iri", "pname"):
            variable = f"?kg_graph{count}"
            pieces += [text[last:match.start()], f"VALUES {variable} {{ {following.group()} }} GRAPH {variable}"]
            last, count = following.end(), count + 1
    return "".join(pieces) + text[last:]


def default_graph_uris(engine: Engine, *, own_dataset: bool) -> list[str]:
    """The protocol's default-graph-uri to send with a query that names no dataset of its own.

    Sent as the protocol parameter, not as Virtuoso's ``define input:default-graph-uri``: with that
    pragma Virtuoso 7.2 also empties the named graphs (GRAPH <g> finds nothing).

    And not the default graph's own name: Virtuoso's named-graph-exclude (which hides it from GRAPH ?g)
    takes it out of the default graph too, but not out of a graph group holding it (VIRTUOSO_SETUP).

    >>> default_graph_uris(VIRTUOSO, own_dataset=False), default_graph_uris(VIRTUOSO, own_dataset=True)
    (['urn:x-kg-service:default-graph-group'], [])
    """
    return [engine.default_uri] if engine.default_uri and not own_dataset else []
