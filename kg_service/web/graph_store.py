"""Graph Store Protocol writes: PUT, POST and DELETE of one graph (``?graph=IRI`` or ``?default``).

They exist where SPARQL updates do (``serve --data FILE --allow-updates``), behind the same checks
(`update.check_writable`: the write token when one is set, a dataset file served from memory) and
applied the same way (`update.change_copy`: on a copy, serialised, served as a new version). An
article's graph is never written this way: it holds what the article says, and changes only by
adding the article, which validates it (``POST /articles``); such a write is 403 with that advice.

Statuses (W3C Graph Store Protocol, section 5): 201 when a PUT or POST creates the graph, 204 when it
replaces or adds to one, 204 for a DELETE, 404 for a DELETE of a graph that is not there, 400 for a
body that does not parse (with line and column), 415 for a type that is not an RDF graph format,
413 above the upload limit. A graph with no triples is no graph: it is not kept.
The reads (GET ``/data``) are in `graphs`; `aliases` serves both under Oxigraph's and Fuseki's URLs.
"""

from __future__ import annotations

import pyoxigraph as ox
from flask import Blueprint, Response, request

from ..errors import Location, NotFound, ReadOnly, UnsupportedType, UsageError
from ..formats import DATASET, FORMATS, GRAPH, Format, find_format
from ..intake import parse_quads
from ..vocab import GRAPH as GRAPHS
from .run import check_iris
from .state import service
from .update import change_copy, check_writable

bp = Blueprint("graph_store", __name__)
ARTICLE_GRAPHS = str(GRAPHS["article/"])
WRITES = ["PUT", "POST", "DELETE"]

Target = ox.NamedNode | ox.DefaultGraph


@bp.route("/data", methods=WRITES)
def write() -> Response:
    """One view for the three writes; `write_graph` does the work, for every URL that takes them."""
    return write_graph(target_graph())


def target_graph() -> Target:
    """The graph a request names: ``?default`` or ``?graph=IRI``, exactly one."""
    has_default, names = "default" in request.args, request.args.getlist("graph")
    if has_default == bool(names) or len(names) > 1:
        raise UsageError("name exactly one graph: ?default or ?graph=IRI", Location(field="graph"))
    if has_default:
        return ox.DefaultGraph()
    check_iris("graph", names)  # a malformed IRI is the client's 400
    return ox.NamedNode(names[0])


def write_graph(target: Target) -> Response:
    """PUT (replace), POST (add) or DELETE `target` on a copy of the served dataset."""
    check_open(target)
    method = request.method
    triples = [] if method == "DELETE" else read_triples()  # parsed before the lock: a 400 costs no copy

    def apply(store: ox.Store) -> int:  # under the write lock; raising leaves the served data as it was
        existed = _exists(store, target)
        if method == "DELETE":
            if not existed:
                name = target.value if isinstance(target, ox.NamedNode) else "default"
                raise NotFound(f"no graph named <{name}> to delete", Location(field="graph"))
            _clear(store, target)
            return 204
        if method == "PUT":
            _clear(store, target)
        store.extend(ox.Quad(t.subject, t.predicate, t.object, target) for t in triples)
        return 204 if existed or isinstance(target, ox.DefaultGraph) else 201

    status = change_copy(apply)
    response = Response(status=status)
    if status == 201:
        response.headers["Location"] = request.url
    return response


def check_open(target: Target | ox.BlankNode | None) -> None:
    """Raise unless this request may write `target` (None: the dataset): updates allowed, not an
    article's graph, the token when one is set, a dataset file served from memory."""
    action = f"a Graph Store {request.method}"
    if not service().settings.allow_updates:
        raise ReadOnly(f"{action} is not allowed: this endpoint is read-only (writes need serve --data FILE "
                       "--allow-updates)", Location(field="graph"))
    if isinstance(target, ox.NamedNode) and target.value.startswith(ARTICLE_GRAPHS):
        raise ReadOnly(f"<{target.value}> is an article's graph: it holds what the article says and changes only "
                       "by adding the article, which validates it (POST /articles)", Location(field="graph"))
    check_writable(action, "graph")


def write_dataset() -> Response:
    """POST of a whole dataset (N-Quads, TriG; a graph format goes to the default graph): its quads are
    added, as Oxigraph's ``POST /store`` does. 204; 403 when it touches an article's graph."""
    check_open(None)
    fmt = body_format(DATASET, GRAPH)
    data = request.get_data()
    quads = parse_quads(data, fmt, "request body") if data.strip() else []
    for graph in {quad.graph_name for quad in quads}:
        check_open(graph)
    change_copy(lambda store: store.extend(quads))
    return Response(status=204)


def read_triples() -> list[ox.Triple]:
    """The request body as triples, parsed like an upload to /validate (nothing it names is loaded)."""
    fmt = body_format(GRAPH)
    data = request.get_data()
    if not data.strip():
        return []  # an empty body is an empty graph (a PUT of nothing empties the graph)
    quads = parse_quads(data, fmt, "request body")
    return [q.triple for q in quads]


def body_format(*kinds: str) -> Format:
    """The RDF format named by the Content-Type; 415 for another type or none."""
    fmt = find_format(request.mimetype) if request.mimetype else None
    if fmt is None or fmt.media_type != request.mimetype or fmt.kind not in kinds:
        accepted = ", ".join(f.media_type for f in FORMATS if f.kind in kinds)
        raise UnsupportedType(f"send the graph as one of {accepted}, not as "
                              f"{request.mimetype or 'a body without Content-Type'}")
    return fmt


def _exists(store: ox.Store, target: Target) -> bool:
    return any(True for _ in store.quads_for_pattern(None, None, None, target))


def _clear(store: ox.Store, target: Target) -> None:
    if isinstance(target, ox.DefaultGraph):
        store.clear_graph(target)
    elif store.contains_named_graph(target):
        store.remove_graph(target)
