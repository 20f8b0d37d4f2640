"""A remote store: any SPARQL 1.1 server with the Graph Store Protocol holds the graph and answers queries.

For graphs that outgrow one machine, `serve --store URL` builds the graph here as usual, pushes it to
the server (Oxigraph server, Fuseki, Virtuoso, GraphDB) and forwards every query there. What is pushed
is exactly what the embedded store would answer from, union default graph included, so a query gives
the same answer either way, whatever the server's own union option. Where the server's endpoints are
and how its dataset differs from SPARQL's (Virtuoso's default graph) is the engine's profile
(`engines`), named in the URL (`virtuoso+http://user:password@host:8890/`) or found by probing.

Pushing the graph there, graph by graph and only what changed, is `push`'s; this module is the
protocol side both use: endpoints, credentials (a Digest or Basic challenge answered before a body is
sent), queries with the engine's dataset prologue, and errors.

The outcome of a remote call is the remote's fault or the user's: a query the server refuses is a
400 with its message, a server that cannot be reached or fails is a 502, one that does not answer in
time a 504, one that stops the query at its own time limit a 503; never a traceback.
"""

from __future__ import annotations

import base64
import io
import re
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from http.client import HTTPMessage, HTTPResponse

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
from .errors import Location, QueryError, QueryTimeout, RemoteTimeout, RemoteUnavailable
from .guard import TOKEN, inspect_query

ACCEPT = "application/sparql-results+json, application/n-triples;q=0.9"
RESULTS_JSON = "application/sparql-results+json"
N_TRIPLES = "application/n-triples"
COUNT_QUADS = "SELECT (COUNT(*) AS ?n) { { ?s ?p ?o } UNION { GRAPH ?g { ?s ?p ?o } } }"
NO_GRAPH = "urn:x-kg-service:no-graph"  # a named graph that never exists
# A duration as Virtuoso 7.2 writes it in SPARQL JSON: its number of seconds, as a double ("2100.0" for PT35M).
VIRTUOSO_DURATION = re.compile(rb'("datatype": "http://www\.w3\.org/2001/XMLSchema#duration", "value": ")'
                               rb'(-?[0-9]+\.[0-9]*(?:[eE][-+]?[0-9]+)?)(")')


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


def duration_text(seconds: str) -> str | None:
    """The canonical xsd:duration (as Oxigraph writes it) for a number of seconds; None if it is no number.

    >>> duration_text("2100.0"), duration_text("90061.0"), duration_text("-1.5"), duration_text("0.0")
    ('PT35M', 'P1DT1H1M1S', '-PT1.5S', 'PT0S')
    """
    try:
        value = Decimal(seconds)
    except InvalidOperation:
        return None
    if not value.is_finite():
        return None
    sign, value = ("-" if value < 0 else ""), abs(value)
    days, rest = divmod(value, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, rest = divmod(rest, 60)
    time = "".join(f"{int(n)}{unit}" for n, unit in ((hours, "H"), (minutes, "M")) if n)
    if rest:
        text = format(rest.normalize(), "f")
        time += f"{text}S"
    text = ("P" + (f"{int(days)}D" if days else "") + (f"T{time}" if time else "")) if days or time else "PT0S"
    return sign + text if text != "PT0S" else text


def _restore_durations(data: bytes) -> bytes:
    def restored(match: re.Match[bytes]) -> bytes:
        text = duration_text(match.group(2).decode("ascii"))
        return match.group(1) + text.encode("ascii") + match.group(3) if text else match.group(0)
    return VIRTUOSO_DURATION.sub(restored, data)


class _DurationsRestored(io.RawIOBase):
    """A SPARQL JSON answer from an engine that sends durations as seconds, with each written back as
    the ISO 8601 duration the embedded store answers (Virtuoso 7.2 keeps no lexical form of an
    xsd:duration: openlink/virtuoso-opensource issues 224 and 936). Rewritten line by line as it is
    read (Virtuoso writes one binding a line), so the answer still streams."""

    def __init__(self, response: HTTPResponse):
        super().__init__()
        self.response = response
        self._pending = b""
        self._out = b""

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        while not self._out:
            chunk = self.response.read(65536)
            if not chunk:
                self._out, self._pending = _restore_durations(self._pending), b""
                if not self._out:
                    return 0
                break
            data = self._pending + chunk
            cut = data.rfind(b"\n") + 1
            self._out, self._pending = _restore_durations(data[:cut]), data[cut:]
        size = min(len(buffer), len(self._out))
        buffer[:size] = self._out[:size]
        self._out = self._out[size:]
        return size

    def close(self) -> None:
        self.response.close()
        super().close()


class RestoredResponse(io.BufferedReader):
    """A remote's answer rewritten as it is read, with the response's headers."""

    def __init__(self, response: HTTPResponse):
        super().__init__(_DurationsRestored(response))
        self.headers: HTTPMessage = response.headers


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


def call(remote: RemoteStore, request: urllib.request.Request, timeout_s: float, *,
          query: bool = False) -> HTTPResponse:
    try:
        return _opener(remote.user, remote.password, remote.query_url).open(request, timeout=timeout_s)
    except urllib.error.HTTPError as exc:
        message = exc.read(2000).decode("utf-8", "replace").strip()
        exc.close()
        if query and "estimated execution time" in message:  # Virtuoso's MaxQueryCostEstimationTime
            raise QueryTimeout(f"the remote store refused a query it estimates too long: {message[:300]}") from None
        if query and message.startswith("Virtuoso S1T00"):  # its MaxQueryExecutionTime, when nothing is partial
            raise QueryTimeout("the remote store stopped the query at its own time limit") from None
        if query and 400 <= exc.code < 500 and exc.code not in (401, 403, 407):
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


@lru_cache(maxsize=16)
def _opener(user: str | None, password: str | None, url: str) -> urllib.request.OpenerDirector:
    """An opener answering the server's Basic or Digest challenge with the URL's credentials."""
    if user is None:
        return urllib.request.build_opener()
    passwords = urllib.request.HTTPPasswordMgrWithDefaultRealm()
    parts = urllib.parse.urlsplit(url)
    passwords.add_password(None, f"{parts.scheme}://{parts.netloc}/", user, password or "")
    return urllib.request.build_opener(urllib.request.HTTPBasicAuthHandler(passwords),
                                       urllib.request.HTTPDigestAuthHandler(passwords))


# (store URL, user) -> the digest handler (it counts the uses of a nonce) and the server's last challenge
_CHALLENGES: dict[tuple[str, str], tuple[urllib.request.HTTPDigestAuthHandler | None, dict[str, str]]] = {}


def send_write(remote: RemoteStore, request: urllib.request.Request, timeout_s: float) -> None:
    """Send a PUT, DELETE or setup query with its credentials; a refused challenge is fetched anew once."""
    try:
        call(remote, _authorized(remote, request, timeout_s), timeout_s).close()
    except RemoteUnavailable:
        if remote.user is None or (remote.store_url, remote.user) not in _CHALLENGES:
            raise
        _CHALLENGES.pop((remote.store_url, remote.user), None)  # a stale nonce: ask for a new one
        call(remote, _authorized(remote, request, timeout_s), timeout_s).close()


def _authorized(remote: RemoteStore, request: urllib.request.Request, timeout_s: float) -> urllib.request.Request:
    """`request` with its Authorization header computed before it is sent.

    Answering the challenge after sending, as urllib does, sends a large body twice, and Virtuoso
    closes the connection on its 401 before reading the body, so the client gets a broken pipe, not
    the challenge. The challenge is fetched by a HEAD of the same URL instead, which carries no body,
    and reused (the nonce counted up) until the server refuses it.
    """
    if remote.user is None:
        return request
    key = (remote.store_url, remote.user)
    if key not in _CHALLENGES:
        try:
            urllib.request.urlopen(urllib.request.Request(request.full_url, method="HEAD"),  # noqa: S310 - ours
                                   timeout=timeout_s).close()
            return request  # no credentials asked for
        except urllib.error.HTTPError as exc:
            challenge = exc.headers.get("WWW-Authenticate", "")
            exc.close()
        except (urllib.error.URLError, OSError):
            return request  # the write itself reports why the server cannot be reached
        scheme, _, params = challenge.partition(" ")
        handler = None
        if scheme.lower() == "digest":
            passwords = urllib.request.HTTPPasswordMgrWithDefaultRealm()
            passwords.add_password(None, remote.store_url, remote.user, remote.password or "")
            handler = urllib.request.HTTPDigestAuthHandler(passwords)
        elif scheme.lower() != "basic":
            return request
        _CHALLENGES[key] = (handler, urllib.request.parse_keqv_list(urllib.request.parse_http_list(params)))
    handler, fields = _CHALLENGES[key]
    if handler is None:
        token = base64.b64encode(f"{remote.user}:{remote.password or ''}".encode()).decode("ascii")
        request.add_unredirected_header("Authorization", "Basic " + token)
    else:
        value = handler.get_authorization(request, fields)
        if value:
            request.add_unredirected_header("Authorization", "Digest " + value)
    return request


def put_graph(remote: RemoteStore, url: str, body: bytes, media_type: str, timeout_s: float, *,
         required: bool = False) -> bool:
    """PUT `body`; False when the server does not take this kind of PUT (and it is not `required`)."""
    request = urllib.request.Request(url, data=body, method="PUT", headers={"Content-Type": media_type})
    try:
        send_write(remote, request, timeout_s)
    except RemoteUnavailable:
        if required:
            raise
        return False
    return True


def _join(base: str, path: str) -> str:
    return f"{base}/{path}" if path else base


def with_base(text: str, base_iri: str | None) -> str:
    r"""`text` with `base_iri` as its BASE, unless it declares its own (Virtuoso refuses a second BASE).

    >>> with_base("SELECT * {}", "http://h/"), with_base("BASE <http://q/> SELECT * {}", "http://h/")
    ('BASE <http://h/>\nSELECT * {}', 'BASE <http://q/> SELECT * {}')
    """
    if not base_iri or any(m.lastgroup == "word" and m.group().upper() == "BASE" for m in TOKEN.finditer(text)):
        return text
    return f"BASE <{base_iri}>\n{text}"


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
