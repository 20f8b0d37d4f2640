"""Other servers' URLs for the same handlers, so clients set up for Oxigraph or Fuseki work unchanged.

Oxigraph's server answers queries at ``/query``, updates at ``/update`` and the Graph Store at
``/store``; Fuseki at ``/ds/sparql``, ``/ds/query``, ``/ds/update``, ``/ds/data``, ``/ds/get`` and
``/$/ping``, where ``ds`` is the dataset name its users chose (``KG_DATASET_NAME``, default ``ds``;
only that name is answered). Every alias calls the view of the URL it stands for (`sparql`,
`graphs`, `graph_store`), so limits, errors and tokens are the same.

``/query`` is also the query page. Who gets what is decided by content negotiation (`wants_page`):
a client that ranks HTML above every SPARQL results and RDF type it names (a browser) gets the page,
any other client (``*/*``, SPARQL results, RDF) gets the protocol, and a POST is always the protocol.
"""

from __future__ import annotations

import datetime as dt

from flask import Blueprint, Response, request
from werkzeug.wrappers import Response as BaseResponse

from ..errors import Location, NotFound, UsageError
from ..formats import DATASET, FORMATS, GRAPH, RESULTS
from ..negotiation import choose_format, parse_accept
from . import graph_store, graphs, sparql
from .state import service

bp = Blueprint("aliases", __name__)
STORE_METHODS = ["GET", "HEAD", *graph_store.WRITES]
_HTML = (("text", "html"), ("application", "xhtml+xml"))


def wants_page(accept: str | None) -> bool:
    """Whether a GET of ``/query`` is from a person (the editor page) rather than a SPARQL client.

    Only media types named outright count for the protocol: ``*/*`` alone, as curl sends, gets results.

    >>> wants_page("text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8")
    True
    >>> wants_page("*/*"), wants_page("application/sparql-results+json"), wants_page(None)
    (False, False, False)
    >>> wants_page("text/html;q=0.5, application/sparql-results+xml")
    False
    """
    named = [(value.lower(), q) for value, q in parse_accept(accept) if "*" not in value]  # wildcards do not count
    html = max((q for value, q in named if tuple(value.split("/", 1)) in _HTML), default=0.0)
    protocol_types = {f.media_type for f in FORMATS if f.kind in (RESULTS, GRAPH, DATASET)}
    protocol = max((q for value, q in named if value in protocol_types), default=0.0)
    return html > 0 and html > protocol


@bp.before_app_request
def _query_protocol() -> BaseResponse | None:
    """``/query`` for a SPARQL client: the query operation instead of the editor page."""
    if request.path != "/query" or request.method not in ("GET", "HEAD"):
        return None
    return None if wants_page(request.headers.get("Accept")) else sparql.sparql()


@bp.after_app_request
def _vary(response: BaseResponse) -> BaseResponse:
    """``/query`` answers by Accept: caches must keep the page and the results apart."""
    if request.path == "/query":
        response.vary.add("Accept")
    return response


@bp.post("/query")
@bp.post("/update")
def oxigraph_operation() -> BaseResponse:
    """Oxigraph's query and update URLs: the SPARQL endpoint's own view."""
    return sparql.sparql()


@bp.route("/store", methods=STORE_METHODS)
def oxigraph_store() -> BaseResponse:
    """Oxigraph's Graph Store: one graph with ?graph= or ?default; without either, GET is the whole
    dataset and POST adds a dataset (N-Quads, TriG)."""
    if "default" in request.args or "graph" in request.args:
        return _graph_store()
    if request.method in ("GET", "HEAD"):
        fmt = choose_format(request.headers.get("Accept"), [DATASET], request.args.getlist("format"))
        response = graphs.send_read("*", fmt)  # streamed from the version's file, like /dump.EXT
        response.vary.add("Accept")
        return response
    if request.method == "POST":
        return graph_store.write_dataset()
    raise UsageError(f"{request.method} /store needs ?graph=IRI or ?default", Location(field="graph"))


@bp.route("/<dataset>/sparql", methods=["GET", "POST"])
@bp.route("/<dataset>/query", methods=["GET", "POST"])
@bp.route("/<dataset>/update", methods=["POST"])
def fuseki_operation(dataset: str) -> BaseResponse:
    """Fuseki's query and update services of the configured dataset."""
    _check_dataset(dataset)
    return sparql.sparql()


@bp.route("/<dataset>/data", methods=STORE_METHODS)
@bp.route("/<dataset>/get", methods=["GET", "HEAD"])
def fuseki_store(dataset: str) -> BaseResponse:
    """Fuseki's Graph Store services (read-write ``data``, read-only ``get``) of the configured dataset."""
    _check_dataset(dataset)
    return _graph_store()


@bp.route("/$/ping", methods=["GET", "POST", "HEAD"])
def fuseki_ping() -> Response:
    """Fuseki's liveness check: the server's time, as text."""
    now = dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds")
    return Response(now + "\n", content_type="text/plain; charset=utf-8", headers={"Cache-Control": "no-cache"})


def _graph_store() -> BaseResponse:
    if request.method in ("GET", "HEAD"):
        return graphs.data()
    return graph_store.write_graph(graph_store.target_graph())


def _check_dataset(name: str) -> None:
    expected = service().settings.dataset_name
    if name != expected:
        raise NotFound(f"no dataset /{name}: this service's dataset is /{expected} (KG_DATASET_NAME)")

