"""``/id/...``: every resource IRI dereferences, as a page for a browser and as RDF for an RDF client.

The IRI ``https://w3id.org/kg-service/id/X`` is served at ``/id/X`` here. The RDF is the resource's
own description: its triples, and those of its hash IRIs (an evidence's ``#target``, ``#quote``)
and blank nodes, exactly as loaded; a dataset format (TriG, N-Quads, JSON-LD) keeps the named graph
of each triple, so it still tells which article said what. Both answers carry ``Link`` headers to
every other representation, and ``Vary: Accept``.
"""

from __future__ import annotations

import pyoxigraph as ox
from flask import Blueprint, Response, render_template, request

from ..entitypage import entity
from ..errors import NotFound
from ..formats import DATASET, FORMATS, GRAPH, written
from ..negotiation import choose_format
from ..store import KnowledgeGraph
from ..vocab import BASE, PREFIXES
from .pages import HTML, browser_wants_html, not_found_page
from .state import service

bp = Blueprint("entity", __name__)
RDF_FORMATS = [f for f in FORMATS if f.kind in (GRAPH, DATASET)]
MAX_QUADS = 20000


@bp.get("/id/<path:key>")
def resource(key: str) -> Response:
    name = BASE + "id/" + key
    iri: str | None = name
    kg = service().kg
    try:
        ox.NamedNode(name)
    except ValueError:  # a space or a bracket in the path: no resource of ours has such a name
        iri = None
    if browser_wants_html():
        if iri is None:
            return not_found_page("No resource has that name: it is not a valid IRI.")
        data = entity(kg, iri)
        if data is None:
            return not_found_page(f"The graph knows nothing about <{iri}>.")
        response = Response(render_template("entity.html", e=data, formats=RDF_FORMATS), content_type=HTML)
        return _with_links(response)
    fmt = choose_format(request.headers.get("Accept"), [GRAPH, DATASET], request.args.getlist("format"))
    if iri is None:
        raise NotFound("no resource has that name: it is not a valid IRI")
    quads = description(kg, iri)
    if not quads:
        raise NotFound(f"the graph knows nothing about <{iri}>")
    if fmt.kind == DATASET:
        body = written(ox.serialize(quads, format=fmt.rdf, prefixes=PREFIXES))
    else:
        body = written(ox.serialize(list(dict.fromkeys(q.triple for q in quads)), format=fmt.rdf, prefixes=PREFIXES))
    return _with_links(Response(body, content_type=fmt.media_type))


def description(kg: KnowledgeGraph, iri: str) -> list[ox.Quad]:
    """The quads about `iri`, its hash IRIs and the blank nodes they lead to (bounded)."""
    quads = kg.quads
    found: list[ox.Quad] = []
    todo: list[ox.NamedNode | ox.BlankNode] = [ox.NamedNode(iri)]
    seen: set[ox.NamedNode | ox.BlankNode] = set()
    while todo and len(found) < MAX_QUADS:
        node = todo.pop()
        if node in seen:
            continue
        seen.add(node)
        for quad in quads.quads_for_subject(node):
            found.append(quad)
            obj = quad.object
            if isinstance(obj, ox.BlankNode) or (isinstance(obj, ox.NamedNode) and obj.value.startswith(iri + "#")):
                todo.append(obj)
    return found


def _with_links(response: Response) -> Response:
    links = [f'<{request.base_url}?format={f.name}>; rel="alternate"; type="{f.media_type}"' for f in RDF_FORMATS]
    links.append(f'<{request.base_url}>; rel="alternate"; type="text/html"')
    response.headers["Link"] = ", ".join(links)
    response.headers["Vary"] = "Accept"
    return response
