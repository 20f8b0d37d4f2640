"""Real clients against a live waitress server: SPARQLWrapper, rdflib's SPARQLStore, raw urllib.

Also the runaway query: it is stopped within its time limit (+1 s) with 503 while another client
keeps being answered.
"""

from __future__ import annotations

import json
import threading
import time
import urllib.error
import urllib.parse
import urllib.request

import pytest
from rdflib import Graph
from rdflib.plugins.stores.sparqlstore import SPARQLStore
from SPARQLWrapper import CSV, JSON, JSONLD, N3, RDFXML, TSV, TURTLE, XML, SPARQLWrapper

SELECT = "SELECT ?s ?label WHERE { ?s <http://www.w3.org/2000/01/rdf-schema#label> ?label } LIMIT 5"
CONSTRUCT = "CONSTRUCT { ?s ?p ?o } WHERE { ?s ?p ?o } LIMIT 5"
RUNAWAY = "SELECT (COUNT(*) AS ?n) { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i }"


@pytest.mark.parametrize("fmt", [JSON, XML, CSV, TSV])
def test_sparqlwrapper_select_in_every_format(live_server, fmt):
    client = SPARQLWrapper(live_server.sparql)
    client.setQuery(SELECT)
    client.setReturnFormat(fmt)
    result = client.query()
    assert result.response.status == 200
    converted = result.convert()
    if fmt == JSON:
        assert len(converted["results"]["bindings"]) == 5
    elif fmt == XML:
        assert len(converted.getElementsByTagName("result")) == 5
    else:
        assert len(converted.decode().strip().splitlines()) == 6


@pytest.mark.parametrize("fmt", [TURTLE, N3, JSONLD, RDFXML])
def test_sparqlwrapper_construct_in_every_format(live_server, fmt):
    client = SPARQLWrapper(live_server.sparql)
    client.setQuery(CONSTRUCT)
    client.setReturnFormat(fmt)
    converted = client.queryAndConvert()
    graph = converted if isinstance(converted, Graph) else Graph().parse(
        data=converted, format={TURTLE: "turtle", N3: "turtle", JSONLD: "json-ld"}[fmt])
    assert len(graph) == 5


def test_sparqlwrapper_post_and_ask(live_server):
    client = SPARQLWrapper(live_server.sparql)
    client.setMethod("POST")
    client.setQuery("ASK { ?s ?p ?o }")
    client.setReturnFormat(JSON)
    assert client.queryAndConvert()["boolean"] is True


def test_rdflib_sparqlstore(live_server, kg):
    store = SPARQLStore(live_server.sparql)
    graph = Graph(store=store)
    rows = list(graph.query("SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }"))
    assert int(rows[0][0]) == len(kg.triples(None))  # the union is a set of triples
    assert len(graph.query(CONSTRUCT).graph) == 5


def test_raw_http_get_with_accept(live_server):
    url = live_server.sparql + "?" + urllib.parse.urlencode({"query": SELECT})
    request = urllib.request.Request(url, headers={"Accept": "text/csv"})
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.headers.get_content_type() == "text/csv"
        assert response.read().decode().startswith("s,label")


def test_live_dump_is_gzipped_and_conditional(live_server):
    request = urllib.request.Request(live_server.url + "/dump.nq", headers={"Accept-Encoding": "gzip"})
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.headers["Content-Encoding"] == "gzip"
        etag = response.headers["ETag"]
    again = urllib.request.Request(live_server.url + "/dump.nq", headers={"Accept-Encoding": "gzip",
                                                                           "If-None-Match": etag})
    with pytest.raises(urllib.error.HTTPError) as info:
        urllib.request.urlopen(again, timeout=10)
    info.value.close()
    assert info.value.code == 304


def test_runaway_query_is_stopped_while_others_are_answered(live_server, settings):
    outcome = {}

    def runaway() -> None:
        started = time.monotonic()
        url = live_server.sparql + "?" + urllib.parse.urlencode({"query": RUNAWAY})
        try:
            with urllib.request.urlopen(url, timeout=30):
                outcome["status"] = 200
        except urllib.error.HTTPError as exc:
            with exc:
                outcome["status"], outcome["body"] = exc.code, json.loads(exc.read())
        outcome["seconds"] = time.monotonic() - started

    thread = threading.Thread(target=runaway)
    thread.start()
    answered = 0
    while thread.is_alive():
        url = live_server.sparql + "?" + urllib.parse.urlencode({"query": "ASK { ?s ?p ?o }"})
        with urllib.request.urlopen(url, timeout=10) as response:
            answered += response.status == 200
        time.sleep(0.1)
    thread.join()
    assert outcome["status"] == 503 and outcome["body"]["error"] == "query-timeout"
    assert outcome["seconds"] <= settings.query_timeout_s + 1
    assert answered >= 3
