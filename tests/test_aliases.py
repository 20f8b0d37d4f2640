"""Clients set up for Oxigraph's or Fuseki's URLs work unchanged: real clients (SPARQLWrapper, rdflib's
SPARQLStore and SPARQLUpdateStore, raw http.client) against a live server, and ``/query`` chosen by
content negotiation between the SPARQL protocol and the editor page."""

from __future__ import annotations

import json
import urllib.parse
from collections.abc import Iterator

import pytest
from conftest import LiveServer, served_file, start_server, stop_server
from flask.testing import FlaskClient
from rdflib import Graph, Literal, URIRef
from rdflib.plugins.stores.sparqlstore import SPARQLStore, SPARQLUpdateStore
from SPARQLWrapper import JSON, POST, TURTLE, SPARQLWrapper

from kg_service.settings import Settings
from kg_service.store import KnowledgeGraph
from kg_service.web import create_app

COUNT = "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }"
BROWSER = "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8"
OXIGRAPH_QUERY, FUSEKI_QUERY = ["/query", "/ds/sparql", "/ds/query"], ["/ds/sparql", "/ds/query"]
TOKEN = "alias-token-31"
DATA = b'<http://ex/a> <http://ex/p> "one" <http://ex/g1> .\n'


def make_app(pool, *, allow: bool, token: str = "", dataset_name: str = "ds"):  # noqa: ANN001, ANN201
    settings = Settings.from_env({}, allow_updates=allow, write_token=token, query_timeout_s=5.0,
                                 dataset_name=dataset_name)
    kg = KnowledgeGraph.from_file(served_file(DATA), union_default_graph=False)
    return create_app(settings, kg, pool=pool)


@pytest.fixture(scope="module")
def writable(pool) -> Iterator[LiveServer]:  # noqa: ANN001
    """A live server of a dataset file with updates allowed behind a token."""
    live, server, thread = start_server(make_app(pool, allow=True, token=TOKEN))
    yield live
    stop_server(server, thread)


# --- queries -------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("path", OXIGRAPH_QUERY)
@pytest.mark.parametrize("method", ["GET", POST])
def test_sparqlwrapper_set_up_for_oxigraph_or_fuseki_gets_results(live_server: LiveServer, kg: KnowledgeGraph,
                                                                   path: str, method: str) -> None:
    client = SPARQLWrapper(live_server.url + path)
    client.setMethod(method)
    client.setQuery(COUNT)
    client.setReturnFormat(JSON)
    rows = client.queryAndConvert()["results"]["bindings"]
    assert int(rows[0]["n"]["value"]) == len(kg.triples(None))


@pytest.mark.parametrize("path", OXIGRAPH_QUERY)
def test_sparqlwrapper_construct_through_the_aliases(live_server: LiveServer, path: str) -> None:
    client = SPARQLWrapper(live_server.url + path)
    client.setQuery("CONSTRUCT { ?s ?p ?o } WHERE { ?s ?p ?o } LIMIT 7")
    client.setReturnFormat(TURTLE)
    assert len(Graph().parse(data=client.queryAndConvert(), format="turtle")) == 7


@pytest.mark.parametrize("path", OXIGRAPH_QUERY)
def test_rdflib_sparqlstore_set_up_for_oxigraph_or_fuseki(live_server: LiveServer, kg: KnowledgeGraph,
                                                          path: str) -> None:
    graph = Graph(store=SPARQLStore(live_server.url + path))
    assert int(next(iter(graph.query(COUNT)))[0]) == len(kg.triples(None))


def test_a_direct_post_to_query_gets_results(live_server: LiveServer) -> None:
    status, headers, body = live_server.send("POST", "/query", b"ASK { ?s ?p ?o }",
                                    {"Content-Type": "application/sparql-query",
                                     "Accept": "application/sparql-results+json"})
    assert status == 200 and json.loads(body)["boolean"] is True


@pytest.mark.parametrize("accept", ["application/sparql-results+json", "*/*", "text/csv", None])
def test_get_query_with_a_query_from_a_client_gets_results_not_the_page(live_server: LiveServer,
                                                                         accept: str | None) -> None:
    path = "/query?" + urllib.parse.urlencode({"query": "SELECT ?x WHERE { VALUES ?x { 1 2 } }"})
    status, headers, body = live_server.send("GET", path, headers={"Accept": accept} if accept else {})
    assert status == 200
    assert not headers["Content-Type"].startswith("text/html"), headers["Content-Type"]
    assert b"<html" not in body.lower()


def test_a_browser_at_query_still_gets_the_editor(live_server: LiveServer) -> None:
    status, headers, body = live_server.send("GET", "/query", headers={"Accept": BROWSER})
    assert status == 200 and headers["Content-Type"].startswith("text/html") and b"<textarea" in body
    path = "/query?" + urllib.parse.urlencode({"query": "SELECT ?x WHERE { VALUES ?x { 1 2 } }"})
    status, headers, body = live_server.send("GET", path, headers={"Accept": BROWSER})
    assert status == 200 and headers["Content-Type"].startswith("text/html") and b"results-table" in body


def test_errors_through_an_alias_are_the_endpoints_own(live_server: LiveServer) -> None:
    status, headers, body = live_server.send("GET", "/ds/query?query=SELEKT", headers={"Accept": "*/*"})
    assert status == 400 and json.loads(body)["error"]
    status, _headers, body = live_server.send("GET", "/other/sparql?query=ASK%7B%7D")
    assert status == 404 and "/ds" in json.loads(body)["message"]


def test_the_fuseki_dataset_name_is_configurable(pool) -> None:  # noqa: ANN001
    client: FlaskClient = make_app(pool, allow=False, dataset_name="kg").test_client()
    accept = {"Accept": "application/sparql-results+json"}
    assert client.get("/kg/sparql?query=ASK%7B%7D", headers=accept).get_json()["boolean"] is True
    assert client.get("/ds/sparql?query=ASK%7B%7D", headers=accept).status_code == 404


def test_fuseki_ping_and_graph_store_reads(live_server: LiveServer, kg: KnowledgeGraph) -> None:
    status, headers, body = live_server.send("GET", "/$/ping")
    assert status == 200 and headers["Content-Type"].startswith("text/plain") and body.decode().startswith("20")
    name = urllib.parse.quote(kg.graph_names()[0], safe="")
    for path in ("/ds/data", "/ds/get", "/store"):
        status, headers, body = live_server.send("GET", f"{path}?graph={name}",
                                        headers={"Accept": "application/n-triples"})
        assert status == 200 and headers["Content-Type"] == "application/n-triples"
        assert len(body.splitlines()) == len(kg.triples(kg.graph_names()[0]))


def test_oxigraph_store_without_a_graph_is_the_whole_dataset(live_server: LiveServer, kg: KnowledgeGraph) -> None:
    status, headers, body = live_server.send("GET", "/store", headers={"Accept": "application/n-quads"})
    assert status == 200 and headers["Content-Type"] == "application/n-quads"
    assert len(body.splitlines()) == len(kg)


# --- updates through the aliases -----------------------------------------------------------------------------

@pytest.mark.parametrize("query, update", [("/query", "/update"), ("/ds/query", "/ds/update"),
                                           ("/ds/sparql", "/ds/sparql")])
def test_rdflib_sparqlupdatestore_set_up_for_oxigraph_or_fuseki(writable: LiveServer, query: str,
                                                                update: str) -> None:
    store = SPARQLUpdateStore(writable.url + query, writable.url + update, auth=None,
                              headers={"Authorization": f"Bearer {TOKEN}"})
    graph_name = URIRef(f"http://ex/via{update.replace('/', '-')}")
    graph = Graph(store=store, identifier=graph_name)
    graph.add((URIRef("http://ex/s"), URIRef("http://ex/p"), Literal("v")))
    assert (URIRef("http://ex/s"), URIRef("http://ex/p"), Literal("v")) in graph
    assert len(graph) == 1
    store.close()


def test_an_update_through_an_alias_needs_the_token(writable: LiveServer) -> None:
    body = b"INSERT DATA { <http://ex/x> <http://ex/p> 1 }"
    for path in ("/update", "/ds/update"):
        status, headers, _ = writable.send("POST", path, body, {"Content-Type": "application/sparql-update"})
        assert status == 401 and headers["WWW-Authenticate"].startswith("Bearer")


def test_sparqlwrapper_update_through_the_oxigraph_url(writable: LiveServer) -> None:
    client = SPARQLWrapper(writable.url + "/query", updateEndpoint=writable.url + "/update")
    client.addCustomHttpHeader("Authorization", f"Bearer {TOKEN}")
    client.setMethod(POST)
    client.setQuery("INSERT DATA { GRAPH <http://ex/wrapper> { <http://ex/w> <http://ex/p> 2 } }")
    assert client.query().response.status in (200, 204)
    check = SPARQLWrapper(writable.url + "/ds/query")
    check.setQuery("ASK { GRAPH <http://ex/wrapper> { <http://ex/w> <http://ex/p> 2 } }")
    check.setReturnFormat(JSON)
    assert check.queryAndConvert()["boolean"] is True
