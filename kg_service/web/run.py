"""Answer one SPARQL query over HTTP: check it, pick the format, run it in a worker, build the response.

Shared by the protocol endpoint (`sparql`) and the named queries (`named`), so both have the same
limits, formats, truncation signal and metrics.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pyoxigraph as ox
from flask import Response, g, request

from ..errors import Location, NotAcceptable, QueryTimeout, TooManyRows, UsageError
from ..formats import DATASET, GRAPH, RESULTS
from ..guard import inspect_query
from ..limits import check_length, limits_for
from ..negotiation import choose_format
from .state import service
from .workers import Job

FORMAT_PARAMS = ("format", "output", "results")


@dataclass(frozen=True)
class QueryRequest:
    """A query and its protocol options, however they came (GET, form POST or direct POST)."""

    text: str
    default_graphs: tuple[str, ...] = ()
    named_graphs: tuple[str, ...] = ()
    bindings: tuple[tuple[str, ox.NamedNode | ox.Literal], ...] = ()


def format_overrides(params: Mapping[str, Sequence[str]]) -> list[str]:
    """Every ``format=``/``output=``/``results=`` value, in order (SPARQLWrapper sends several)."""
    return [v for name in FORMAT_PARAMS for v in params.get(name, ())]


def answer(query: QueryRequest, params: Mapping[str, Sequence[str]]) -> Response:
    """Run `query` within the limits `params` allow and return the negotiated response."""
    svc = service()
    g.query_text = query.text
    check_length(query.text, svc.settings)
    check_iris("default-graph-uri", query.default_graphs)
    check_iris("named-graph-uri", query.named_graphs)
    shape = inspect_query(query.text)
    kinds = [GRAPH, DATASET] if shape.is_graph else [RESULTS]
    try:
        fmt = choose_format(request.headers.get("Accept"), kinds, format_overrides(params))
    except NotAcceptable:
        if shape.form is not None:
            raise
        fmt = choose_format(None, kinds)  # not a query at all: let the parser's 400 speak
    limits = limits_for(svc.settings, {k: v[0] for k, v in params.items() if v})
    job = Job(query.text, fmt.name, limits.max_rows, query.default_graphs, query.named_graphs, query.bindings,
              base_iri=request.base_url)
    version = svc.kg.version  # read once: an add or update meanwhile must not mix two versions
    etag = _etag(version, job, limits.strict, shape.volatile)
    if etag is not None and request.if_none_match.contains(etag):
        return _not_modified(etag)  # same query, same data: nothing is run
    gone = request.environ.get("waitress.client_disconnected") or (lambda: False)
    try:
        result = svc.pool.run(version, job, timeout_s=limits.timeout_s, gone=gone)
    except QueryTimeout:
        with svc.metrics.lock:
            svc.metrics.timeouts += 1
        raise
    svc.metrics.observe_query(result.seconds)
    if result.truncated and limits.strict:
        raise TooManyRows(f"the result has more than {limits.max_rows} rows; ask for fewer (LIMIT) or drop strict")
    response = Response(result.body, content_type=_content_type(fmt.media_type))
    response.headers["Vary"] = "Accept"
    response.headers["X-KG-Rows"] = str(result.rows)
    if result.truncated:
        with svc.metrics.lock:
            svc.metrics.truncated += 1
        response.headers["X-KG-Truncated"] = "true"
        response.headers["Warning"] = f'199 kg-service "result truncated to the first {limits.max_rows} rows"'
    if etag is not None:
        response.set_etag(etag)
        response.headers["Cache-Control"] = "public, max-age=0, must-revalidate"
    return response


def _etag(version: str, job: Job, strict: bool, volatile: bool) -> str | None:
    """A validator for a GET result: the dataset version and everything that shapes the answer. None for
    POST (not cacheable) and for queries whose answer changes between runs (NOW, RAND, UUID, STRUUID).
    A client revalidating after an article was added gets the new result, as the version differs."""
    if request.method not in ("GET", "HEAD") or volatile:
        return None
    return hashlib.sha256(repr((version, job, strict)).encode()).hexdigest()[:32]


def _not_modified(etag: str) -> Response:
    response = Response(status=304)
    response.set_etag(etag)
    response.headers["Vary"] = "Accept"
    response.headers["Cache-Control"] = "public, max-age=0, must-revalidate"
    return response


def check_iris(field: str, iris: Sequence[str]) -> None:
    """Refuse a malformed dataset IRI here: in the worker it would be our crash, not the client's 400.
    The IRIs only name graphs of the store; nothing is ever fetched from them."""
    for iri in iris:
        try:
            ox.NamedNode(iri)
        except ValueError as exc:
            raise UsageError(f"not an absolute IRI: {iri!r} ({exc})", Location(field=field)) from None


def _content_type(media_type: str) -> str:
    return media_type + "; charset=utf-8" if media_type.startswith("text/") else media_type
