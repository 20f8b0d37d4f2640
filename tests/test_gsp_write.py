"""Graph Store Protocol writes (PUT, POST, DELETE on /data, /store, /ds/data): only where updates are
allowed, behind the write token, never on an article's graph, with the protocol's statuses, and a
refused write changes nothing. Real HTTP (http.client, as curl sends it) against a live server; the
fuzz runs through the test client."""

from __future__ import annotations

import json
import urllib.parse
from collections.abc import Iterator

import pytest
from conftest import LiveServer, served_file, start_server, stop_server
from flask import Flask
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kg_service.settings import Settings
from kg_service.store import KnowledgeGraph
from kg_service.web import create_app

TOKEN = "gsp-token-5c1"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
DATA = b'<http://ex/a> <http://ex/p> "one" <http://ex/g1> .\n<http://ex/d> <http://ex/p> "default" .\n'
TURTLE = {"Content-Type": "text/turtle"}
PATHS = ["/data", "/store", "/ds/data"]
ARTICLE = "https://w3id.org/kg-service/graph/article/002_0de9fc94b8e59320"


def make_app(pool, *, allow: bool = True, token: str = TOKEN, max_upload_bytes: int = 2_000_000) -> Flask:  # noqa: ANN001
    settings = Settings.from_env({}, allow_updates=allow, write_token=token, query_timeout_s=5.0,
                                 max_upload_bytes=max_upload_bytes)
    kg = KnowledgeGraph.from_file(served_file(DATA), union_default_graph=False)
    app = create_app(settings, kg, pool=pool)
    app.config["TESTING"] = True
    return app


@pytest.fixture(scope="module")
def writable(pool) -> Iterator[LiveServer]:  # noqa: ANN001
    """A live server of DATA with updates behind a token; each test writes graphs of its own."""
    live, server, thread = start_server(make_app(pool))
    yield live
    stop_server(server, thread)


def graph_of(server: LiveServer, graph: str | None) -> set[bytes]:
    """The N-Triples lines of one graph (None: the default graph); empty when there is no such graph."""
    where = "default" if graph is None else "graph=" + urllib.parse.quote(graph, safe="")
    status, _headers, body = server.send("GET", f"/data?{where}", headers={"Accept": "application/n-triples"})
    assert status in (200, 404), body
    return set(body.splitlines()) if status == 200 else set()


def dump(server: LiveServer) -> bytes:
    return server.send("GET", "/dump.nq")[2]


@pytest.mark.parametrize("path", PATHS)
def test_put_creates_201_then_replaces_204(writable: LiveServer, path: str) -> None:
    name = f"http://ex/new{path.replace('/', '-')}"
    target = f"{path}?graph={urllib.parse.quote(name, safe='')}"
    status, headers, _ = writable.send("PUT", target, b"<http://ex/s> <http://ex/p> 1 .", TURTLE | AUTH)
    assert status == 201 and urllib.parse.unquote(headers["Location"]).endswith(urllib.parse.unquote(target))
    assert graph_of(writable, name) == {
        b'<http://ex/s> <http://ex/p> "1"^^<http://www.w3.org/2001/XMLSchema#integer> .'}
    status, _, _ = writable.send("PUT", target, b"<http://ex/s> <http://ex/q> <http://ex/o> .", TURTLE | AUTH)
    assert status == 204
    assert graph_of(writable, name) == {b"<http://ex/s> <http://ex/q> <http://ex/o> ."}


def test_post_adds_to_a_graph_and_to_the_default_graph(writable: LiveServer) -> None:
    writable.send("PUT", "/data?graph=http%3A%2F%2Fex%2Fpost", b'<http://ex/a> <http://ex/p> "one" .',
         TURTLE | AUTH)
    body = b'<http://ex/a> <http://ex/p> "two" .'
    assert writable.send("POST", "/data?graph=http%3A%2F%2Fex%2Fpost", body, TURTLE | AUTH)[0] == 204
    assert graph_of(writable, "http://ex/post") == {b'<http://ex/a> <http://ex/p> "one" .',
                                                    b'<http://ex/a> <http://ex/p> "two" .'}
    before = graph_of(writable, None)
    assert writable.send("POST", "/ds/data?default", b"<http://ex/x> <http://ex/p> <http://ex/y> .",
                {"Content-Type": "application/n-triples"} | AUTH)[0] == 204
    assert graph_of(writable, None) == before | {b"<http://ex/x> <http://ex/p> <http://ex/y> ."}
    assert writable.send("POST", "/store?graph=http%3A%2F%2Fex%2Ffresh", body, TURTLE | AUTH)[0] == 201


def test_writes_are_seen_by_sparql_queries_at_once(writable: LiveServer) -> None:
    writable.send("PUT", "/store?graph=http%3A%2F%2Fex%2Fq", b"<http://ex/s> <http://ex/p> 1 .", TURTLE | AUTH)
    ask = urllib.parse.urlencode({"query": "ASK { GRAPH <http://ex/q> { <http://ex/s> ?p 1 } }"})
    status, _, body = writable.send("GET", f"/sparql?{ask}", headers={"Accept": "application/sparql-results+json"})
    assert status == 200 and json.loads(body)["boolean"] is True


def test_delete_is_204_then_404(writable: LiveServer) -> None:
    writable.send("PUT", "/data?graph=http%3A%2F%2Fex%2Fdel", b"<http://ex/s> <http://ex/p> 1 .", TURTLE | AUTH)
    assert writable.send("DELETE", "/ds/data?graph=http%3A%2F%2Fex%2Fdel", headers=AUTH)[0] == 204
    assert graph_of(writable, "http://ex/del") == set()
    status, _, body = writable.send("DELETE", "/ds/data?graph=http%3A%2F%2Fex%2Fdel", headers=AUTH)
    assert status == 404 and json.loads(body)["error"] == "not-found"


def test_delete_of_the_default_graph_empties_it(pool) -> None:  # noqa: ANN001
    client = make_app(pool).test_client()
    assert client.delete("/store?default", headers=AUTH).status_code == 204
    assert client.get("/data?default", headers={"Accept": "application/n-triples"}).data == b""
    assert client.get("/data?graph=http://ex/g1", headers={"Accept": "application/n-triples"}).status_code == 200


def test_writes_without_the_token_are_401_and_change_nothing(writable: LiveServer) -> None:
    before = dump(writable)
    for method, body in (("PUT", b"<http://ex/s> <http://ex/p> 1 ."), ("POST", b"<http://ex/s> <http://ex/p> 1 ."),
                         ("DELETE", None)):
        for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": TOKEN}):
            status, response_headers, _ = writable.send(method, "/data?graph=http%3A%2F%2Fex%2Fg1", body,
                                               TURTLE | headers)
            assert status == 401 and response_headers["WWW-Authenticate"].startswith("Bearer")
    assert dump(writable) == before


def test_bad_rdf_is_400_with_its_line_and_changes_nothing(writable: LiveServer) -> None:
    before = dump(writable)
    body = b"<http://ex/s> <http://ex/p> 1 .\n<http://ex/s> <http://ex/p> .\n"
    status, _, answer = writable.send("PUT", "/data?graph=http%3A%2F%2Fex%2Fg1", body, TURTLE | AUTH)
    error = json.loads(answer)
    assert status == 400 and error["location"]["line"] == 2 and "Turtle" in error["message"]
    assert dump(writable) == before


@pytest.mark.parametrize("content_type", ["text/plain", "application/json", "application/sparql-update", ""])
def test_an_unsupported_type_is_415(writable: LiveServer, content_type: str) -> None:
    headers = AUTH | ({"Content-Type": content_type} if content_type else {})
    status, _, answer = writable.send("PUT", "/data?graph=http%3A%2F%2Fex%2Fg1", b"<a> <b> <c> .", headers)
    assert status == 415 and "text/turtle" in json.loads(answer)["message"]


def test_a_body_above_the_upload_limit_is_413(pool) -> None:  # noqa: ANN001
    live, server, thread = start_server(make_app(pool, max_upload_bytes=1000))
    try:
        body = b"".join(b"<http://ex/s> <http://ex/p> %d .\n" % i for i in range(200))
        status, _, answer = live.send("PUT", "/store?graph=http%3A%2F%2Fex%2Fbig", body, TURTLE | AUTH)
        assert status == 413 and json.loads(answer)["error"] == "too-large"
        assert graph_of(live, "http://ex/big") == set()
    finally:
        stop_server(server, thread)


def test_naming_no_graph_or_two_is_400(writable: LiveServer) -> None:
    for query in ("", "?default&graph=http%3A%2F%2Fex%2Fg1", "?graph=a&graph=b", "?graph=not%20an%20iri"):
        status, _, answer = writable.send("PUT", "/data" + query, b"<http://ex/s> <http://ex/p> 1 .", TURTLE | AUTH)
        assert status == 400, (query, answer)


def test_an_article_graph_is_refused_with_403_and_advice(writable: LiveServer) -> None:
    target = "/data?graph=" + urllib.parse.quote(ARTICLE, safe="")
    status, _, answer = writable.send("PUT", target, b"<http://ex/s> <http://ex/p> 1 .", TURTLE | AUTH)
    assert status == 403 and "POST /articles" in json.loads(answer)["message"]
    status, _, answer = writable.send("POST", "/store", f'<http://ex/s> <http://ex/p> "1" <{ARTICLE}> .'.encode(),
                             {"Content-Type": "application/n-quads"} | AUTH)
    assert status == 403 and "article" in json.loads(answer)["message"]


def test_oxigraph_store_post_adds_a_dataset(writable: LiveServer) -> None:
    body = b'<http://ex/s> <http://ex/p> "1" <http://ex/n1> .\n<http://ex/s> <http://ex/p> "2" .\n'
    assert writable.send("POST", "/store", body, {"Content-Type": "application/n-quads"} | AUTH)[0] == 204
    assert len(graph_of(writable, "http://ex/n1")) == 1
    assert b'<http://ex/s> <http://ex/p> "2" .' in graph_of(writable, None)


def test_the_seeds_refuse_writes_with_403(live_server: LiveServer) -> None:
    """The seed graph is read-only: no write token, no --allow-updates; articles change by adding them."""
    for method in ("PUT", "POST", "DELETE"):
        for path in ("/data?graph=http%3A%2F%2Fex%2Fg", "/data?graph=" + urllib.parse.quote(ARTICLE, safe="")):
            status, _, answer = live_server.send(method, path, b"<http://ex/s> <http://ex/p> 1 .", TURTLE | AUTH)
            assert status == 403 and json.loads(answer)["error"] == "read-only"


def test_a_dataset_served_without_a_token_on_localhost_is_a_sandbox(pool) -> None:  # noqa: ANN001
    client = make_app(pool, token="").test_client()
    response = client.put("/data?graph=http://ex/g9", data=b"<http://ex/s> <http://ex/p> 1 .",
                          content_type="text/turtle")
    assert response.status_code == 201


@pytest.fixture(scope="module")
def fuzz_app(pool) -> Flask:  # noqa: ANN001
    return make_app(pool)


# too_slow: on 2 cores shared by many test runs, generating 60 bodies can take longer than Hypothesis expects
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                 HealthCheck.too_slow])
@given(body=st.one_of(st.binary(max_size=300), st.text(max_size=300).map(str.encode)),
       content_type=st.sampled_from(["text/turtle", "application/n-triples", "application/rdf+xml",
                                     "application/ld+json", "application/n-quads", "text/plain"]),
       method=st.sampled_from(["PUT", "POST"]), path=st.sampled_from(PATHS))
def test_fuzzed_bodies_never_crash_and_a_refused_one_changes_nothing(fuzz_app: Flask, body: bytes, content_type: str,
                                                                     method: str, path: str) -> None:
    client = fuzz_app.test_client()
    before = client.get("/dump.nq").data
    response = client.open(f"{path}?graph=http://ex/fuzz", method=method, data=body, content_type=content_type,
                           headers=AUTH)
    assert response.status_code in (201, 204, 400, 415), response.get_data(as_text=True)
    if response.status_code >= 400:
        assert response.get_json()["message"]
        assert client.get("/dump.nq").data == before
