"""The SPARQL 1.1 Protocol query operation at ``/sparql`` (and the update operation, see `update`).

A query comes as ``query=`` by GET or form POST, or as an ``application/sparql-query`` body, with
``default-graph-uri``/``named-graph-uri`` in the URL or the form. Updates, in any of their shapes,
are refused unless updates are allowed. Without a query the endpoint describes itself (SPARQL
Service Description) for an RDF client and shows a query form to a browser.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from flask import Blueprint, request
from werkzeug.wrappers import Response as BaseResponse

from ..errors import Location, UnsupportedType, UsageError
from .describe import service_description_response
from .run import QueryRequest, answer, web_request
from .update import UPDATE, perform_update, read_update

bp = Blueprint("sparql", __name__)

FORM = "application/x-www-form-urlencoded"
DIRECT = "application/sparql-query"


@bp.route("/sparql", methods=["GET", "POST"])
def sparql() -> BaseResponse:
    """One view for every shape of the query operation; `read_query` tells them apart."""
    params = {k: request.args.getlist(k) for k in request.args}
    if request.method == "POST" and request.mimetype == FORM:
        for name in sorted({"query", "update"} & set(request.args) & set(request.form)):
            raise UsageError(f"{name}= is given both in the URL and in the form body: send it once",
                             Location(field=name))
        params.update({k: request.form.getlist(k) for k in request.form})
    update = read_update(params, _body_text() if request.method == "POST" and request.mimetype == UPDATE else None)
    if update is not None:
        return perform_update(update)
    query = read_query(params)
    if query is None:
        if request.method == "POST":
            raise UsageError("no query: send query= (form) or an application/sparql-query body",
                             Location(field="query"))
        return service_description_response()
    return answer(query)


def read_query(params: Mapping[str, Sequence[str]]) -> QueryRequest | None:
    """The query of this request, or None for a plain GET; raises for malformed requests."""
    texts = list(params.get("query", ()))
    if request.method == "POST":
        if request.mimetype == DIRECT:
            if texts:
                raise UsageError("send the query either in the body or as query=, not both", Location(field="query"))
            texts = [_body_text()]
        elif request.mimetype != FORM:
            raise UnsupportedType(f"POST a query as {FORM} (query=...) or as {DIRECT}, not as "
                                       f"{request.mimetype or 'a body without Content-Type'}")
    if not texts:
        return None
    if len(texts) > 1:
        raise UsageError("more than one query= parameter: send one query per request", Location(field="query"))
    return web_request(texts[0], params, default_graphs=params.get("default-graph-uri", ()),
                       named_graphs=params.get("named-graph-uri", ()))


def _body_text() -> str:
    """The body as UTF-8, which the SPARQL Protocol requires; another charset is refused with 415."""
    charset = request.mimetype_params.get("charset", "utf-8").lower()
    if charset not in ("utf-8", "utf8"):
        raise UnsupportedType(f"send the query in UTF-8, not {charset}")
    try:
        return request.get_data().decode("utf-8")
    except UnicodeDecodeError:
        raise UsageError("the query body is not valid UTF-8", Location(field="query")) from None
