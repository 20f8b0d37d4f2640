"""Named queries (``sparql/*.rq``): listed at ``/queries/``, run at ``/queries/NAME`` with parameters.

Parameter values are bound to the query's variables as terms (`NamedQuery.bindings`), never spliced
into its text, and the query runs exactly like one sent to ``/sparql``: same limits, same formats.
"""

from __future__ import annotations

from flask import Blueprint, Response, jsonify, request, url_for

from ..errors import NotFound
from ..limits import ROW_PARAMS, TIMEOUT_PARAMS
from ..queries import NamedQuery, load_queries
from .run import FORMAT_PARAMS, answer, web_request
from .state import service

bp = Blueprint("named", __name__, url_prefix="/queries")
RESERVED = {*FORMAT_PARAMS, *TIMEOUT_PARAMS, *ROW_PARAMS, "strict"}


def named_queries() -> dict[str, NamedQuery]:
    """The queries of the configured folder, read once per app."""
    svc = service()
    return svc.cached(("named-queries", str(svc.settings.queries_dir)), lambda: load_queries(svc.settings.queries_dir))


def describe(query: NamedQuery) -> dict[str, object]:
    return {"name": query.name, "title": query.title, "description": query.description,
            "url": url_for("named.run", name=query.name, _external=True),
            "params": [{"name": p.name, "type": p.type, "default": p.default, "description": p.description}
                       for p in query.params]}


@bp.route("/")
def index() -> Response:
    return jsonify({"queries": [describe(q) for q in named_queries().values()]})


@bp.route("/<name>")
def run(name: str) -> Response:
    query = named_queries().get(name)
    if query is None:
        raise NotFound(f"no named query {name!r}; see /queries/")
    values = {k: v for k, v in request.args.items() if k not in RESERVED}
    bindings = tuple(query.bindings(values).items())
    params = {k: request.args.getlist(k) for k in request.args if k in RESERVED}
    return answer(web_request(query.text, params, bindings=bindings))
