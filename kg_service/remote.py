"""A remote store: any SPARQL 1.1 server with the Graph Store Protocol holds the graph and answers queries.

For graphs that outgrow one machine, `serve --store URL` builds the graph here as usual, pushes it to
the server (Oxigraph server, Fuseki, Virtuoso, GraphDB) and forwards every query there. What is pushed
is exactly what the embedded store would answer from, union default graph included, so a query gives
the same answer either way, whatever the server's own union option. The server's layout (where its
query and Graph Store endpoints live) is found by probing the few layouts these servers use.

The outcome of a remote call is the remote's fault or the user's: a query the server refuses is a
400 with its message, a server that cannot be reached or fails is a 502, one that does not answer in
time a 504; never a traceback.
"""

from __future__ import annotations

import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from http.client import HTTPResponse

import pyoxigraph as ox

from .errors import Location, QueryError, RemoteTimeout, RemoteUnavailable
from .formats import written
from .guard import TOKEN

# (query endpoint, Graph Store endpoint) relative to the URL given: Oxigraph, Fuseki, Virtuoso, GraphDB/RDF4J
LAYOUTS = (("query", "store"), ("sparql", "data"), ("sparql", "sparql-graph-crud"), ("", "rdf-graphs/service"))
ACCEPT = "application/sparql-results+json, application/n-triples;q=0.9"
RESULTS_JSON = "application/sparql-results+json"
N_TRIPLES = "application/n-triples"
COUNT_QUADS = "SELECT (COUNT(*) AS ?n) { { ?s ?p ?o } UNION { GRAPH ?g { ?s ?p ?o } } }"


@dataclass(frozen=True)
class RemoteStore:
    """Where a remote server takes queries (SPARQL Protocol) and graphs (Graph Store Protocol)."""

    query_url: str
    store_url: str

    def __str__(self) -> str:
        return self.query_url


def connect(url: str, *, timeout_s: float = 10.0) -> RemoteStore:
    """The endpoints of the server at `url`, probed with ``ASK {}``; raises RemoteUnavailable."""
    base = url.rstrip("/")
    for query_path, _ in LAYOUTS:  # a URL given as the query endpoint itself is understood too
        if query_path and base.endswith("/" + query_path):
            base = base[: -len(query_path) - 1]
            break
    tried = []
    for query_path, store_path in LAYOUTS:
        candidate = RemoteStore(_join(base, query_path), _join(base, store_path))
        try:
            with send_query(candidate, "ASK {}", timeout_s=timeout_s) as response:
                if response.headers.get_content_type() == RESULTS_JSON:
                    return candidate
        except RemoteUnavailable as exc:
            tried.append(f"{candidate.query_url}: {exc.message}")
        except QueryError as exc:
            tried.append(f"{candidate.query_url}: {exc.message}")
    raise RemoteUnavailable(f"no SPARQL endpoint found at {url}; tried " + "; ".join(tried))


def push(remote: RemoteStore, kg_store: ox.Store, *, timeout_s: float = 600.0, whole: bool = True) -> int:
    """Replace the remote dataset with the content of `kg_store`; returns the quads the remote then holds.

    One PUT of N-Quads to the dataset when the server takes it (Oxigraph does), else one PUT per graph
    and a DELETE for every remote graph we do not have. Raises RemoteUnavailable on any refusal, and
    when the remote does not end up holding as many quads as were sent (counted by the same query on
    both sides, so a remote whose own union-default-graph option is on shows up here).
    """
    counted = kg_store.query(COUNT_QUADS)
    assert isinstance(counted, ox.QuerySolutions)  # COUNT_QUADS is a SELECT
    sent = int(next(iter(counted))["n"].value)
    if not (whole and _put(remote.store_url, written(kg_store.dump(format=ox.RdfFormat.N_QUADS)),
                           "application/n-quads", timeout_s)):
        ours = {g.value for g in kg_store.named_graphs() if isinstance(g, ox.NamedNode)}
        for name in sorted(ours):
            body = written(kg_store.dump(format=ox.RdfFormat.N_TRIPLES, from_graph=ox.NamedNode(name)))
            _put(remote.store_url + "?" + urllib.parse.urlencode({"graph": name}), body, N_TRIPLES, timeout_s,
                 required=True)
        body = written(kg_store.dump(format=ox.RdfFormat.N_TRIPLES, from_graph=ox.DefaultGraph()))
        _put(remote.store_url + "?default", body, N_TRIPLES, timeout_s, required=True)
        for name in sorted(remote_graphs(remote, timeout_s=timeout_s) - ours):
            _call(urllib.request.Request(remote.store_url + "?" + urllib.parse.urlencode({"graph": name}),
                                         method="DELETE"), timeout_s).close()
    held = count_quads(remote, timeout_s=timeout_s)
    if held != sent:
        raise RemoteUnavailable(f"the remote store holds {held} quads after the push, not the {sent} sent")
    return held


def remote_graphs(remote: RemoteStore, *, timeout_s: float = 30.0) -> set[str]:
    with send_query(remote, "SELECT DISTINCT ?g { GRAPH ?g { } }", timeout_s=timeout_s) as response:
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
               named_graphs: Iterable[str] = ()) -> HTTPResponse:
    """POST `text` by the SPARQL Protocol; the caller reads (and closes) the response, SPARQL JSON for
    SELECT and ASK, N-Triples for CONSTRUCT and DESCRIBE. Raises QueryError for a query the remote
    refuses (4xx), RemoteUnavailable or RemoteTimeout otherwise."""
    form = [("query", text)] + [("default-graph-uri", g) for g in default_graphs]
    form += [("named-graph-uri", g) for g in named_graphs]
    request = urllib.request.Request(remote.query_url, data=urllib.parse.urlencode(form).encode(), method="POST",
                                     headers={"Accept": ACCEPT,
                                              "Content-Type": "application/x-www-form-urlencoded"})
    return _call(request, timeout_s, query=True)


def _call(request: urllib.request.Request, timeout_s: float, *, query: bool = False) -> HTTPResponse:
    try:
        return urllib.request.urlopen(request, timeout=timeout_s)  # noqa: S310 - the operator's own URL
    except urllib.error.HTTPError as exc:
        message = exc.read(2000).decode("utf-8", "replace").strip()
        exc.close()
        if query and 400 <= exc.code < 500:
            raise QueryError(f"the remote store refused the query: {message}", Location(field="query")) from None
        raise RemoteUnavailable(f"the remote store answered {exc.code} to {request.get_method()} "
                                f"{request.full_url}: {message[:300]}") from None
    except TimeoutError:
        raise RemoteTimeout(f"the remote store did not answer within {timeout_s:g} s") from None
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        if isinstance(reason, TimeoutError):
            raise RemoteTimeout(f"the remote store did not answer within {timeout_s:g} s") from None
        raise RemoteUnavailable(f"cannot reach the remote store at {request.full_url}: {reason}") from None


def _put(url: str, body: bytes, media_type: str, timeout_s: float, *, required: bool = False) -> bool:
    """PUT `body`; False when the server does not take this kind of PUT (and it is not `required`)."""
    request = urllib.request.Request(url, data=body, method="PUT", headers={"Content-Type": media_type})
    try:
        _call(request, timeout_s).close()
    except RemoteUnavailable:
        if required:
            raise
        return False
    return True


def _join(base: str, path: str) -> str:
    return f"{base}/{path}" if path else base




def inline_bindings(text: str, bindings: Mapping[str, ox.NamedNode | ox.Literal] | None) -> str:
    """`text` with its variables bound by a VALUES block at the start of the query's WHERE group.

    A remote server has no substitution (SEP-0007), so the values travel as data, still never as
    text spliced into the query: each term is written in N-Triples syntax, which escapes it. Bound
    at the top of the WHERE group, a value is seen by the group's filters and is projected, as a
    substituted one is; only a filter inside a nested group or subquery would not see it.

    >>> inline_bindings("SELECT ?a { ?a ?p ?b }", {"b": ox.Literal("x")})
    'SELECT ?a { VALUES (?b) { ("x") } ?a ?p ?b }'
    >>> inline_bindings('CONSTRUCT { ?s ?p "}" } WHERE { ?s ?p ?o }', {"o": ox.NamedNode("http://x")})
    'CONSTRUCT { ?s ?p "}" } WHERE { VALUES (?o) { (<http://x>) } ?s ?p ?o }'
    """
    if not bindings:
        return text
    block = (f"VALUES ({' '.join('?' + name for name in bindings)}) "
             f"{{ ({' '.join(str(term) for term in bindings.values())}) }}")
    depth, form, previous, template_seen = 0, "", "", False
    for match in TOKEN.finditer(text):  # strings, IRIs and comments are single tokens: their braces do not count
        token, kind = match.group(), match.lastgroup
        if kind == "comment":
            continue
        if token == "{" and depth == 0:
            if previous == "CONSTRUCT":
                template_seen = True
            elif form == "CONSTRUCT" and not template_seen:
                break  # CONSTRUCT WHERE { triples }: the short form takes no VALUES inside
            else:
                return f"{text[:match.end()]} {block}{text[match.end():]}"
        if kind == "other":
            depth += (token == "{") - (token == "}")
        if kind == "word":
            previous = token.upper()
            form = form or (previous if previous in ("SELECT", "CONSTRUCT", "ASK", "DESCRIBE") else "")
        else:
            previous = token
    return f"{text}\n{block}"  # the trailing VALUES clause: joined after the pattern is evaluated
