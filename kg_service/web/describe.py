"""The service describes itself: SPARQL Service Description at ``/sparql``, VoID at ``/.well-known/void``.

Both list exactly the formats of the one table (`formats.FORMATS`) and the counts of the served
graph, computed once per graph version. A browser asking ``/sparql`` gets a minimal query form.
"""

from __future__ import annotations

import pyoxigraph as ox
from flask import Blueprint, Response, redirect, request, url_for
from werkzeug.wrappers import Response as BaseResponse

from ..formats import DATASET, FORMATS, GRAPH, RESULTS, written
from ..negotiation import choose_format, prefers_html
from ..store import has_resolved_layer
from ..vocab import PREFIXES, SD, VOID
from .state import service

bp = Blueprint("describe", __name__)

RDF_TYPE = ox.NamedNode("http://www.w3.org/1999/02/22-rdf-syntax-ns#type")
PREFIXES_OUT = {**PREFIXES, "sd": str(SD), "void": str(VOID)}


def _n(iri: str) -> ox.NamedNode:
    return ox.NamedNode(iri)


def _select(store: ox.Store, text: str) -> ox.QuerySolutions:
    result = store.query(text)
    assert isinstance(result, ox.QuerySolutions)  # `text` is one of our SELECT queries
    return result


def graph_counts() -> dict[str, int]:
    """Triples per named graph, once per graph version."""
    svc = service()

    def count() -> dict[str, int]:
        rows = _select(svc.kg.store, "SELECT ?g (COUNT(*) AS ?n) { GRAPH ?g { ?s ?p ?o } } GROUP BY ?g")
        return {r["g"].value: int(r["n"].value) for r in rows if isinstance(r["g"], ox.NamedNode)}
    return svc.cached(("graph-counts", svc.kg.version), count)


def service_description(endpoint: str) -> list[ox.Triple]:
    svc = service()
    me, triples = _n(endpoint), []
    triples += [ox.Triple(me, RDF_TYPE, _n(SD["Service"])), ox.Triple(me, _n(SD["endpoint"]), me),
                ox.Triple(me, _n(SD["supportedLanguage"]), _n(SD["SPARQL11Query"]))]
    triples += [ox.Triple(me, _n(SD["resultFormat"]), _n(f.iri)) for f in FORMATS]
    if svc.settings.allow_updates and not svc.kg.union_default_graph:
        triples.append(ox.Triple(me, _n(SD["supportedLanguage"]), _n(SD["SPARQL11Update"])))
    if svc.kg.union_default_graph and not has_resolved_layer(svc.kg.store):  # else: what is known, not the union
        triples.append(ox.Triple(me, _n(SD["feature"]), _n(SD["UnionDefaultGraph"])))
    dataset, default = ox.BlankNode("dataset"), ox.BlankNode("default")
    triples += [ox.Triple(me, _n(SD["defaultDataset"]), dataset), ox.Triple(dataset, RDF_TYPE, _n(SD["Dataset"])),
                ox.Triple(dataset, _n(SD["defaultGraph"]), default), ox.Triple(default, RDF_TYPE, _n(SD["Graph"])),
                ox.Triple(default, _n(VOID["triples"]), ox.Literal(str(_default_size()), datatype=_XSD_INTEGER))]
    for i, (name, size) in enumerate(sorted(graph_counts().items())):
        named, graph = ox.BlankNode(f"named{i}"), ox.BlankNode(f"graph{i}")
        triples += [ox.Triple(dataset, _n(SD["namedGraph"]), named), ox.Triple(named, _n(SD["name"]), _n(name)),
                    ox.Triple(named, _n(SD["graph"]), graph),
                    ox.Triple(graph, _n(VOID["triples"]), ox.Literal(str(size), datatype=_XSD_INTEGER))]
    return triples


_XSD_INTEGER = ox.NamedNode("http://www.w3.org/2001/XMLSchema#integer")


def _default_size() -> int:
    svc = service()
    if svc.kg.union_default_graph:
        return _void_counts()["triples"]
    return sum(1 for _ in svc.kg.store.quads_for_pattern(None, None, None, ox.DefaultGraph()))


def _void_counts() -> dict[str, int]:
    svc = service()

    def count() -> dict[str, int]:
        query = ("SELECT (COUNT(*) AS ?triples) (COUNT(DISTINCT ?s) AS ?subjects) (COUNT(DISTINCT ?p) AS ?properties) "
                 "(COUNT(DISTINCT ?o) AS ?objects) { SELECT DISTINCT ?s ?p ?o { { ?s ?p ?o } UNION "
                 "{ GRAPH ?g { ?s ?p ?o } } } }")
        row = next(iter(_select(svc.kg.store, query)))
        counts = {k: int(row[k].value) for k in ("triples", "subjects", "properties", "objects")}
        counts["classes"] = int(next(iter(_select(svc.kg.store,
            "SELECT (COUNT(DISTINCT ?c) AS ?n) { { ?x a ?c } UNION { GRAPH ?g { ?x a ?c } } }")))["n"].value)
        return counts
    return svc.cached(("void-counts", svc.kg.version), count)


def service_description_response() -> BaseResponse:
    if prefers_html(request.headers.get("Accept")):  # a person at the endpoint gets the query page
        return redirect(url_for("query_page.query"), code=303)
    fmt = choose_format(request.headers.get("Accept"), [GRAPH, DATASET], request.args.getlist("format"))
    body = written(ox.serialize(service_description(request.base_url), format=fmt.rdf, prefixes=PREFIXES_OUT))
    return Response(body, content_type=fmt.media_type, headers={"Vary": "Accept"})


@bp.route("/.well-known/void")
def void() -> Response:
    """VoID: the dataset, its size, its named graphs as subsets, its endpoint and its dumps."""
    me = _n(request.base_url)
    triples = [ox.Triple(me, RDF_TYPE, _n(VOID["Dataset"])),
               ox.Triple(me, _n(VOID["sparqlEndpoint"]), _n(url_for("sparql.sparql", _external=True)))]
    for key, value in _void_counts().items():
        prop = {"subjects": "distinctSubjects", "objects": "distinctObjects"}.get(key, key)
        triples.append(ox.Triple(me, _n(VOID[prop]), ox.Literal(str(value), datatype=_XSD_INTEGER)))
    for fmt in FORMATS:
        if fmt.kind != RESULTS:
            triples.append(ox.Triple(me, _n(VOID["dataDump"]), _n(request.url_root + f"dump.{fmt.name}")))
    for name, size in sorted(graph_counts().items()):
        subset = _n(name)
        triples += [ox.Triple(me, _n(VOID["subset"]), subset), ox.Triple(subset, RDF_TYPE, _n(VOID["Dataset"])),
                    ox.Triple(subset, _n(VOID["triples"]), ox.Literal(str(size), datatype=_XSD_INTEGER))]
    fmt = choose_format(request.headers.get("Accept"), [GRAPH, DATASET], request.args.getlist("format"))
    body = written(ox.serialize(triples, format=fmt.rdf, prefixes=PREFIXES_OUT))
    return Response(body, content_type=fmt.media_type, headers={"Vary": "Accept"})


