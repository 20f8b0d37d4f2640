"""A remote store: any SPARQL 1.1 server with the Graph Store Protocol holds the graph and answers queries.

For graphs that outgrow one machine, `serve --store URL` builds the graph here as usual, pushes it to
the server (Oxigraph server, Fuseki, Virtuoso, GraphDB) and forwards every query there. What is pushed
is exactly what the embedded store would answer from, union default graph included, so a query gives
the same answer either way, whatever the server's own union option. Where the server's endpoints are
and how its dataset differs from SPARQL's (Virtuoso's default graph) is the engine's profile
(`engines`), named in the URL (`virtuoso+http://user:password@host:8890/`) or found by probing.

This module says where a server takes what (`RemoteStore`, found by `connect`) and sends it queries
with the engine's dataset prologue (`send_query`). Pushing the graph there, graph by graph and only
what changed, is `push`'s; the HTTP under both, credentials and errors included, is `remote_http`'s;
durations as Virtuoso writes them are put right by `remote_durations`.
"""

from __future__ import annotations

import urllib.parse
import urllib.request
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from http.client import HTTPResponse

import pyoxigraph as ox

from .engines import (
    GENERIC,
    GRAPHDB,
    OXIGRAPH,
    PROBED,
    VIRTUOSO,
    Engine,
    dataset_prologue,
    default_graph_uris,
    graph_constants_bound,
    graph_references,
    names_dataset,
    parse_store_url,
)
from .errors import QueryError, QueryTimeout, RemoteUnavailable
from .guard import inspect_query
from .remote_durations import RestoredResponse
from .remote_http import call

ACCEPT = "application/sparql-results+json, application/n-triples;q=0.9"
RESULTS_JSON = "application/sparql-results+json"
N_TRIPLES = "application/n-triples"
COUNT_QUADS = "SELECT (COUNT(*) AS ?n) { { ?s ?p ?o } UNION { GRAPH ?g { ?s ?p ?o } } }"
NO_GRAPH = "urn:x-kg-service:no-graph"  # a named graph that never exists


@dataclass(frozen=True)
class RemoteStore:
    """Where a remote server takes queries (SPARQL Protocol) and graphs (Graph Store Protocol), the
    engine's profile, the graphs on it that are not ours (hidden from GRAPH ?g where the engine shows
    them), and the credentials for writing, if any (never shown)."""

    query_url: str
    store_url: str
    engine: Engine = OXIGRAPH
    excluded: tuple[str, ...] = ()
    graphs: frozenset[str] = frozenset()  # our named graphs, where the engine needs them named in a query
    admin_url: str = ""  # the engine's authenticated query endpoint, for its setup queries
    user: str | None = field(default=None, repr=False)
    password: str | None = field(default=None, repr=False)

    def __str__(self) -> str:
        return self.query_url


def connect(url: str, *, timeout_s: float = 10.0) -> RemoteStore:
    """The endpoints of the server at `url`, probed with ``ASK {}``; raises RemoteUnavailable."""
    try:
        parsed = parse_store_url(url)
    except ValueError as exc:
        raise RemoteUnavailable(str(exc)) from None
    tried = []
    for engine in (parsed.engine,) if parsed.engine else PROBED:
        candidate = _at(parsed.base, engine, parsed.user, parsed.password)
        try:
            with send_query(candidate, "ASK {}", timeout_s=timeout_s) as response:
                if response.headers.get_content_type() == RESULTS_JSON:
                    if response.headers.get("Server", "").startswith("Virtuoso/") and engine is not VIRTUOSO:
                        return _at(parsed.base, VIRTUOSO, parsed.user, parsed.password)
                    if engine is GRAPHDB and not parsed.engine and "/repositories/" not in parsed.base:
                        return _at(parsed.base, GENERIC, parsed.user, parsed.password)  # not an RDF4J repository
                    return candidate
        except (RemoteUnavailable, QueryError) as exc:
            tried.append(f"{candidate.query_url}: {exc.message}")
    raise RemoteUnavailable(f"no SPARQL endpoint found at {parsed.base}; tried " + "; ".join(tried))


def _at(base: str, engine: Engine, user: str | None, password: str | None) -> RemoteStore:
    return RemoteStore(_join(base, engine.query_path), _join(base, engine.store_for(user is not None)), engine,
                       admin_url=_join(base, engine.admin_path) if engine.admin_path else "",
                       user=user, password=password)


def all_graphs(remote: RemoteStore, *, timeout_s: float = 30.0) -> set[str]:
    """Every graph on the server, ours or not, as the server itself lists them."""
    raw = replace(remote, engine=OXIGRAPH) if remote.engine.default_graph else remote  # no pragmas
    return _graph_names(raw, timeout_s)


def remote_graphs(remote: RemoteStore, *, timeout_s: float = 30.0) -> set[str]:
    """The named graphs a query's GRAPH ?g ranges over on the remote, as we send queries."""
    return _graph_names(remote, timeout_s)


def _graph_names(remote: RemoteStore, timeout_s: float) -> set[str]:
    # Not SELECT DISTINCT: Virtuoso 7.2 answers that form with a lock wait after a GSP write ("SR171:
    # Transaction timed out"), while grouping is answered at once.
    with send_query(remote, "SELECT ?g { GRAPH ?g { ?s ?p ?o } } GROUP BY ?g", timeout_s=timeout_s) as response:
        results = ox.parse_query_results(response, ox.QueryResultsFormat.JSON)
        assert isinstance(results, ox.QuerySolutions)  # SELECT results
        return {s["g"].value for s in results}


def count_quads(remote: RemoteStore, *, timeout_s: float = 30.0) -> int:
    """Quads in the remote dataset, default graph included (each graph counted as a set)."""
    with send_query(remote, COUNT_QUADS, timeout_s=timeout_s) as response:
        results = ox.parse_query_results(response, ox.QueryResultsFormat.JSON)
        assert isinstance(results, ox.QuerySolutions)  # SELECT results
        return int(next(iter(results))["n"].value)


def send_query(remote: RemoteStore, text: str, *, timeout_s: float, default_graphs: Iterable[str] = (),
               named_graphs: Iterable[str] = ()) -> HTTPResponse | RestoredResponse:
    """POST `text` by the SPARQL Protocol, with the engine's dataset prologue; the caller reads (and
    closes) the response, SPARQL JSON for SELECT and ASK, N-Triples for CONSTRUCT and DESCRIBE.
    Raises QueryError for a query the remote refuses (4xx), QueryTimeout when the remote stopped it at
    its own time limit, RemoteUnavailable or RemoteTimeout otherwise."""
    default_graphs, named_graphs = list(default_graphs), list(named_graphs)
    own = bool(default_graphs or named_graphs) or names_dataset(text)
    if remote.engine.default_uri and not own:
        default_graphs = default_graph_uris(remote.engine, own_dataset=False)
    if remote.engine.default_graph and not own:
        named, variable = graph_references(text)
        bound = graph_constants_bound(text) if named and variable else None
        if bound is not None:
            text = bound  # GRAPH ?var ranges over our graphs; each named one is bound to a variable
        elif named:  # a graph that is not ours is named as none is, so it finds nothing, as on the embedded store
            named_graphs = sorted(remote.graphs if variable else (named & remote.graphs) or {NO_GRAPH})
    form = [("query", dataset_prologue(remote.engine, remote.excluded) + text)]
    form += [("default-graph-uri", g) for g in default_graphs] + [("named-graph-uri", g) for g in named_graphs]
    # Only N-Triples for a graph: Virtuoso would send a CONSTRUCT as SPARQL JSON bindings of ?s ?p ?o.
    accept = N_TRIPLES if inspect_query(text).is_graph else ACCEPT
    request = urllib.request.Request(remote.query_url, data=urllib.parse.urlencode(form).encode(), method="POST",
                                     headers={"Accept": accept,
                                              "Content-Type": "application/x-www-form-urlencoded"})
    response = call(remote, request, timeout_s, query=True)
    if response.headers.get("X-SQL-State") == "S1TAT":  # Virtuoso's "anytime" answer: partial results
        response.close()
        raise QueryTimeout("the remote store stopped the query at its own time limit")
    if remote.engine.numeric_durations and response.headers.get_content_type() == RESULTS_JSON:
        return RestoredResponse(response)
    return response


def _join(base: str, path: str) -> str:
    return f"{base}/{path}" if path else base
