"""``/query``: the SPARQL editor page, and the named queries to pick from.

The page works without JavaScript: its forms are plain GETs to ``/query`` (``?query=`` or
``?named=NAME&param-X=...``), so every result has a URL to share, and the table is rendered here.
With JavaScript (``static/query.js``) the editor highlights SPARQL and runs queries through
``/sparql`` without reloading. Queries run exactly as on ``/sparql``: in the worker pool, within
the service's time limit, so the page is no back door around the limits.
"""

from __future__ import annotations

import json
import re
import time
from dataclasses import dataclass, field
from typing import Any

import pyoxigraph as ox
from flask import Blueprint, Response, render_template, request, url_for

from ..errors import KgError
from ..formats import FORMATS, GRAPH, RESULTS
from ..guard import inspect_query
from ..pagedata import Value
from ..queries import NamedQuery
from ..results import short
from ..vocab import BASE, PREFIXES
from .named import named_queries
from .pages import HTML
from .run import QueryRequest, run_on_pool

bp = Blueprint("query_page", __name__)
PAGE_ROWS = 1000  # rows shown on the page; the downloads have the service's own cap
PAGE_ACCEPT = "application/sparql-results+json, text/turtle"  # what the page reads back into a table
EDITOR_PREFIXES = ("dkg", "id", "skos", "rdfs", "xsd", "dcterms", "oa")
EXAMPLE = """SELECT ?date ?meeting ?label WHERE {
  ?meeting a dkg:Meeting ; dkg:status dkg:Held ; dkg:date ?date ; rdfs:label ?label .
}
ORDER BY DESC(?date)
LIMIT 20"""
_POSITION = re.compile(r"\bat (\d+):(\d+)")


@dataclass
class Outcome:
    """What running one query gave: a table, a boolean, a graph as Turtle, or an error."""

    columns: list[str] = field(default_factory=list)
    rows: list[list[Value | None]] = field(default_factory=list)
    boolean: bool | None = None
    turtle: str | None = None
    count: int = 0
    truncated: bool = False
    ms: float = 0.0
    error: str | None = None
    status: int = 200
    error_line: int | None = None
    error_column: int | None = None
    error_text: str | None = None  # the offending line of the query


def default_query() -> str:
    return "".join(f"PREFIX {p}: <{PREFIXES[p]}>\n" for p in EDITOR_PREFIXES) + "\n" + EXAMPLE


@bp.get("/query")
def query() -> Response:
    named = named_queries().get(request.args.get("named", ""))
    text = request.args.get("query")
    values: dict[str, str] = {}
    outcome = None
    if named is not None:
        values = {p.name: request.args.get("param-" + p.name, p.default or "") for p in named.params}
        outcome = run(named.text, named=named, values=values)
        text = named.text
    elif text:
        outcome = run(text)
    status = outcome.status if outcome is not None else 200
    html = render_template(
        "query.html", text=text or default_query(), named=named, values=values, outcome=outcome,
        queries=list(named_queries().values()), downloads=downloads(text, named, values) if outcome else [],
        prefixes={p: PREFIXES[p] for p in PREFIXES}, base=BASE, endpoint=url_for("sparql.sparql"))
    return Response(html, status, content_type=HTML)


def run(text: str, *, named: NamedQuery | None = None, values: dict[str, str] | None = None) -> Outcome:
    """Run `text` in the worker pool as ``/sparql`` would, and read its answer into rows to show."""
    started = time.monotonic()
    try:
        bindings = tuple(named.bindings({k: v for k, v in (values or {}).items() if v}).items()) if named else ()
        query = QueryRequest(text, bindings=bindings, params={"limit": [str(PAGE_ROWS)]}, accept=PAGE_ACCEPT,
                             base_iri=request.url_root + "sparql")
        planned, result = run_on_pool(query)
        assert result is not None  # not cacheable: always run
        answer = result.answer
    except KgError as exc:
        return _error(text, exc)
    graph = planned.shape.is_graph
    outcome = Outcome(count=answer.rows, truncated=answer.truncated, ms=(time.monotonic() - started) * 1000)
    if graph:
        outcome.turtle = answer.body.decode("utf-8")
        return outcome
    data = json.loads(answer.body)
    if "boolean" in data:
        outcome.boolean = bool(data["boolean"])
        return outcome
    outcome.columns = list(data["head"]["vars"])
    outcome.rows = [[_value(b.get(c)) for c in outcome.columns] for b in data["results"]["bindings"]]
    return outcome


def _error(text: str, exc: KgError) -> Outcome:
    """The error with its position, when the parser gives one (``error at LINE:COLUMN``)."""
    outcome = Outcome(error=exc.message, status=exc.http_status)
    match = _POSITION.search(exc.message)
    line, column = (exc.location.line, exc.location.column) if match is None else (int(match[1]), int(match[2]))
    if line is not None and column is not None:
        lines = text.splitlines()
        if 1 <= line <= len(lines):  # the parser may point just past a line's end: mark its last character
            column = max(1, min(column, len(lines[line - 1])))
            outcome.error_line, outcome.error_column, outcome.error_text = line, column, lines[line - 1]
    return outcome


def _value(binding: dict | None) -> Value | None:
    """One SPARQL JSON binding as a display value: IRIs short and linked, literals as written."""
    if binding is None:
        return None
    if binding["type"] == "uri":
        return Value(short(ox.NamedNode(binding["value"])), binding["value"])
    if binding["type"] == "bnode":
        return Value("_:" + binding["value"])
    datatype = binding.get("datatype")
    typed = datatype if datatype and datatype != PREFIXES["xsd"] + "string" else None
    return Value(binding["value"], None, short(ox.NamedNode(typed)) if typed else None)


def downloads(text: str | None, named: NamedQuery | None, values: dict[str, str]) -> list[tuple[str, str]]:
    """(label, URL) for the result in every format that fits the query's form."""
    try:
        graph = inspect_query(named.text if named else text or "").is_graph
    except KgError:
        return []
    formats = [f for f in FORMATS if f.kind == (GRAPH if graph else RESULTS)]
    links = []
    for fmt in formats:
        if named is not None:
            given: dict[str, Any] = {k: v for k, v in values.items() if v}  # url_for(**values: Any)
            url = url_for("named.run", name=named.name, **given, format=fmt.name)
        else:
            url = url_for("sparql.sparql", query=text, format=fmt.name)
        links.append((fmt.label, url))
    return links
