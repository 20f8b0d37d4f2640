"""Hostile input: the limits hold with clear errors, and nothing makes the server read a file or reach the network.

Every "never fetched" test points the IRI at a socket this test listens on: had the server (or a
query worker process) tried to fetch it, the socket would have seen a connection. Every path
traversal is sent byte for byte over a raw socket to the real service, so no client library tidies
the ``..`` away first. Written against the routes that exist; see the module's last section.
"""

from __future__ import annotations

import csv
import io
import json
import shutil
import socket
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from stepstop import stopping_env, wait_stopped

from kg_service.store import KnowledgeGraph
from kg_service.web import create_app

PASSWD_MARK = "root:x:0:0"  # what /etc/passwd starts with
PROJECT_MARK = "[build-system]"  # what pyproject.toml holds
COUNT = "SELECT (COUNT(*) AS ?n) { ?s ?p ?o }"


@dataclass
class Listener:
    """A TCP socket that counts who connects: a fetch attempt by the server shows up here."""

    sock: socket.socket
    connections: list[bytes] = field(default_factory=list)
    done: threading.Event = field(default_factory=threading.Event)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.sock.getsockname()[1]}/"

    def serve(self) -> None:
        self.sock.settimeout(0.1)  # closing a socket does not wake a blocked accept(): poll instead
        while not self.done.is_set():
            try:
                conn, _ = self.sock.accept()
            except TimeoutError:
                continue
            with conn:
                conn.settimeout(1)
                try:
                    self.connections.append(conn.recv(1024))
                except OSError:
                    self.connections.append(b"")


@pytest.fixture()
def listener() -> Iterator[Listener]:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(16)
    spy = Listener(sock)
    thread = threading.Thread(target=spy.serve, daemon=True)
    thread.start()
    yield spy
    spy.done.set()
    thread.join(timeout=5)
    sock.close()


@pytest.fixture(scope="module")
def small_app(settings, kg, pool) -> Flask:
    """Ceilings low enough to reach: 50 rows, 2,000-character queries, 64 kB bodies."""
    application = create_app(replace(settings, max_rows=50, max_query_chars=2000, max_upload_bytes=65536), kg,
                             pool=pool)
    application.config["TESTING"] = True
    return application


@pytest.fixture()
def small(small_app: Flask) -> FlaskClient:
    return small_app.test_client()


@pytest.fixture(scope="module")
def one_process(tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    """The real service as one process with waitress (a write token makes it writable), beside `served`'s
    front processes with granian: the HTTP-level bounds must hold on both servers."""
    from conftest import start_service

    service = start_service(tmp_path_factory.mktemp("one-process"), env={"KG_WRITE_TOKEN": "s3cret"})
    yield service
    service.stop()


@pytest.fixture(params=["served", "one_process"])
def either(request: pytest.FixtureRequest) -> object:
    """`served` (fronts, granian) and `one_process` (waitress), in turn."""
    return request.getfixturevalue(request.param)


def no_leak(body: bytes) -> None:
    text = body.decode("utf-8", errors="replace")
    assert PASSWD_MARK not in text and PROJECT_MARK not in text and "Traceback (most recent" not in text


# --- limits, each with a clear error --------------------------------------------------------------------


def test_body_over_the_limit_is_413_json_naming_the_limit(small):
    for path, request in [("/sparql", dict(data=b"SELECT * {} #" + b"x" * 200_000,
                                           content_type="application/sparql-query")),
                          ("/sparql", dict(data={"query": "SELECT * {} #" + "x" * 200_000})),
                          ("/validate", dict(data={"mapping": "x" * 200_000, "text": "y"}))]:
        response = small.post(path, **request)
        assert response.status_code == 413
        body = response.get_json()
        assert body["error"] == "too-large" and "65536" in body["message"]


def test_server_refuses_a_huge_body_before_receiving_it(either):
    host, port = either.url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=5) as conn:
        conn.sendall(f"POST /sparql HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/sparql-query\r\n"
                     "Content-Length: 1000000000\r\n\r\nSELECT".encode())
        try:
            head = conn.recv(200)
        except TimeoutError:
            head = b"(no answer: the server is waiting for the gigabyte)"
    assert head.startswith(b"HTTP/1.1 413"), head


def exchange(url: str, request: bytes) -> bytes:
    """Send raw bytes to the real server and read until it closes (or 10 s pass with nothing more)."""
    host, port = url.removeprefix("http://").split(":")
    data = b""
    with socket.create_connection((host, int(port)), timeout=10) as conn:
        conn.sendall(request)
        try:
            while chunk := conn.recv(65536):
                data += chunk
        except TimeoutError:
            data += b"<still open>"
    return data


def test_expect_continue_with_a_huge_body_is_413_before_any_byte_of_it(either):
    data = exchange(either.url, b"POST /sparql HTTP/1.1\r\nHost: x\r\nContent-Type: application/sparql-query\r\n"
                                b"Content-Length: 999999999\r\nExpect: 100-continue\r\n\r\n")
    assert data.startswith(b"HTTP/1.1 413"), data[:200]  # not "100 Continue": the body is never invited
    assert data.rstrip().endswith(b"}")  # and the connection closed after the answer


def test_a_giant_chunk_size_is_400_and_closes_the_connection_at_once(either):
    data = exchange(either.url, b"POST /sparql HTTP/1.1\r\nHost: x\r\nContent-Type: application/sparql-query\r\n"
                                b"Transfer-Encoding: chunked\r\n\r\nffffffffffffffffffff\r\nSELECT")
    assert data.startswith(b"HTTP/1.1 400") and not data.endswith(b"<still open>"), data[:300]
    # The front's server (granian) ends the body at the bad chunk size; the app then finds no query in it.
    assert json.loads(data.partition(b"\r\n\r\n")[2])["error"] in ("bad-request", "bad-query")


def test_the_servers_own_error_pages_are_empty_or_json_with_the_security_headers(served, one_process):
    """A request the HTTP server refuses before the app sees it: the front's server (granian) answers 400 with
    no body at all, nothing a browser could run; waitress (the one-process server) the JSON error body
    with the security headers."""
    bad = b"GET /sparql HTTP/1.1\r\nHost: x\r\nBad Header\r\n\r\n"
    head, _, body = exchange(served.url, bad).partition(b"\r\n\r\n")
    assert head.split()[1] == b"400" and body == b"" and b"content-length: 0" in head.lower()
    head, _, body = exchange(one_process.url, bad).partition(b"\r\n\r\n")
    assert head.split()[1] == b"400"
    headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(b":") for line in head.split(b"\r\n")[1:])}
    assert headers[b"x-content-type-options"] == b"nosniff" and b"default-src" in headers[b"content-security-policy"]
    error = json.loads(body)
    assert error["error"] == "bad-request" and error["status"] == 400 and "Invalid header" in error["message"]


@pytest.mark.parametrize("path", ["/sparql", "/.well-known/void", "/queries/"])
def test_a_forged_host_never_appears_in_generated_urls(served, path):
    data = exchange(served.url, f"GET {path} HTTP/1.1\r\nHost: evil.example:666\r\nX-Forwarded-Host: evil2.example\r\n"
                                "Accept: text/turtle, application/json\r\nConnection: close\r\n\r\n".encode())
    head, _, body = data.partition(b"\r\n\r\n")
    assert head.split()[1] == b"200", head
    assert b"evil" not in data
    assert served.url.encode() in body or b"http://localhost:" in body  # the address it listens on


def test_the_public_url_setting_names_every_generated_url(pool):
    from kg_service.settings import Settings

    settings = Settings.from_env({}, public_url="https://kg.example.org/base")
    client = create_app(settings, KnowledgeGraph.from_nquads(b"<urn:a> <urn:b> <urn:c> <urn:g> .\n"),
                        pool=pool).test_client()
    body = client.get("/sparql", headers={"Accept": "text/turtle", "Host": "evil.example"}).get_data()
    assert b"https://kg.example.org/base/sparql" in body and b"evil" not in body


def test_query_over_the_length_limit_is_413_naming_the_limit(small):
    query = "SELECT * { ?s ?p ?o } # " + "x" * 3000
    for response in (small.get("/sparql", query_string={"query": query}),
                     small.post("/sparql", data=query, content_type="application/sparql-query")):
        assert response.status_code == 413
        body = response.get_json()
        assert body["error"] == "too-large" and "2000" in body["message"] and body["location"]["field"] == "query"


def test_query_just_under_the_length_limit_runs(small):
    query = COUNT + " #" + "x" * (2000 - len(COUNT) - 2)
    assert len(query) == 2000
    assert small.get("/sparql", query_string={"query": query}).status_code == 200


@pytest.mark.parametrize("fmt,count_rows", [
    ("json", lambda body: len(json.loads(body)["results"]["bindings"])),
    ("csv", lambda body: len(list(csv.reader(io.StringIO(body.decode())))) - 1),
    ("tsv", lambda body: len(body.decode().splitlines()) - 1),
    ("xml", lambda body: body.count(b"<result>")),
])
def test_row_cap_is_a_header_and_a_whole_body_never_an_error_inside_a_200(small, fmt, count_rows):
    response = small.get("/sparql", query_string={"query": "SELECT * { ?s ?p ?o }", "format": fmt})
    assert response.status_code == 200
    assert response.headers["X-KG-Truncated"] == "true" and response.headers["X-KG-Rows"] == "50"
    assert count_rows(response.data) == 50
    assert b"error" not in response.data.lower()


def test_row_cap_applies_to_graphs_too(small):
    response = small.get("/sparql", query_string={"query": "CONSTRUCT WHERE { ?s ?p ?o }", "format": "nt"})
    assert response.status_code == 200 and response.headers["X-KG-Truncated"] == "true"
    assert len(response.data.decode().strip().splitlines()) == 50


def test_result_under_the_cap_has_no_truncation_signal(small):
    response = small.get("/sparql", query_string={"query": "SELECT * { ?s ?p ?o } LIMIT 50"})
    assert response.status_code == 200 and "X-KG-Truncated" not in response.headers


@pytest.mark.parametrize("name", ["limit", "max-rows", "maxrows"])
def test_client_may_lower_but_not_raise_the_row_cap(small, name):
    lower = small.get("/sparql", query_string={"query": "SELECT * { ?s ?p ?o }", name: "5"})
    assert lower.headers["X-KG-Rows"] == "5"
    higher = small.get("/sparql", query_string={"query": "SELECT * { ?s ?p ?o }", name: str(10**12)})
    assert higher.status_code == 200 and higher.headers["X-KG-Rows"] == "50"


def test_strict_row_cap_is_413_with_a_clear_error(small):
    response = small.get("/sparql", query_string={"query": "SELECT * { ?s ?p ?o }", "strict": "true"})
    assert response.status_code == 413 and response.get_json()["error"] == "too-many-rows"


@pytest.mark.parametrize("value", ["nan", "-1", "0", "inf", "1e999", "soon", ""])
def test_odd_time_limits_are_400_or_the_ceiling(small, value):
    response = small.get("/sparql", query_string={"query": COUNT, "timeout": value})
    assert response.status_code in (200, 400)
    if response.status_code == 400:
        assert response.get_json()["location"]["field"] == "timeout"


# Shapes that overflowed a query worker's stack (SIGSEGV, then a 500) before the guard bounded them.
DEEP_QUERIES = {
    "nested-groups": "SELECT * { " + "{ " * 5000 + "?s ?p ?o" + " }" * 5000 + " }",
    "nested-parentheses": "SELECT * { BIND(" + "(" * 5000 + "1" + ")" * 5000 + " AS ?x) }",
    "nested-calls": "SELECT * { BIND(" + "CONCAT(" * 5000 + "'a'" + ")" * 5000 + " AS ?x) }",
    "nested-blank-nodes": "SELECT * { ?s ?p " + "[ ?p " * 5000 + "?o" + " ]" * 5000 + " }",
    "minus-chain": "SELECT * { ?s ?p ?o " + "MINUS { ?s ?p ?o } " * 5000 + "}",
    "sum-chain": "SELECT * { BIND(" + "+".join(["1"] * 45000) + " AS ?x) }",
    "or-chain": "ASK { BIND(1 AS ?a) FILTER(" + " || ".join(["?a"] * 15000) + ") }",
    "path-alternatives": "SELECT * { ?s " + "|".join(["<urn:p>"] * 12000) + " ?o }",
    "negations": "SELECT * { BIND(" + "!" * 90000 + "true AS ?x) }",
    # Shapes a bracket and operator count does not see (issue 16): a segfault, or minutes in the optimiser.
    "object-list": "SELECT * { ?s <urn:p> " + ", ".join(["?o"] * 12000) + " }",
    "predicate-list": "SELECT * { ?s " + " ; ".join(["<urn:p> ?o"] * 6000) + " }",
    "bind-chain": "SELECT * { BIND(1 AS ?v0) " + " ".join(f"BIND(?v{i} AS ?v{i + 1})" for i in range(3000)) + " }",
    "collection": "SELECT * { ?s <urn:p> (" + " ".join(["?o"] * 1000) + ") }",
    "projection": "SELECT " + " ".join(f"(1 AS ?v{i})" for i in range(5000)) + " {}",
}


@pytest.mark.parametrize("query", DEEP_QUERIES.values(), ids=DEEP_QUERIES.keys())
def test_deeply_nested_or_chained_query_is_400_not_a_crashed_worker(client, query):
    response = client.get("/sparql", query_string={"query": query})
    assert response.status_code == 400, response.data[:300]
    body = response.get_json()
    assert body["error"] == "bad-query" and "more than" in body["message"]
    assert body["location"]["line"] == 1 and body["location"]["column"] > 1


def test_queries_within_the_structure_bounds_still_run(client):
    for query in ("SELECT * { BIND(" + "(" * 60 + "1" + ")" * 60 + " AS ?x) }",
                  "SELECT * { BIND(" + "+".join(["1"] * 990) + " AS ?x) }",
                  "SELECT ?x { VALUES (?x ?y) { " + "(1 2) " * 3000 + "} } LIMIT 1"):
        assert client.get("/sparql", query_string={"query": query}).status_code == 200


def test_deeply_nested_rdf_uploads_are_refused_and_the_server_lives(served):
    """Parsed in the web process itself: a stack overflow there would take the whole service down."""
    bodies = {
        "application/ld+json": '{"@id":"urn:a","urn:p":' + '{"urn:p":' * 10000 + '"x"' + "}" * 10000 + "}",
        "text/turtle": "<urn:a> <urn:p> " + "[ <urn:p> " * 10000 + "<urn:o>" + " ]" * 10000 + " .",
        "application/rdf+xml": '<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns:e="urn:e#">'
                               '<rdf:Description rdf:about="urn:a">' + '<e:p rdf:parseType="Resource">' * 3000
                               + "</e:p>" * 3000 + "</rdf:Description></rdf:RDF>",
    }
    for media_type, body in bodies.items():
        request = urllib.request.Request(served.url + "/validate", data=body.encode(),
                                         headers={"Content-Type": media_type, "Accept": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=120) as response:
                status = response.status
        except urllib.error.HTTPError as exc:
            status = exc.code
        assert status in (200, 400, 413), media_type  # 413: more resources than a validation checks
        assert raw_get(served.url, "/healthz")[0] == 200, f"the service died on a deep {media_type} upload"


# --- nothing is read from files or fetched from the network ---------------------------------------------


def queries_aimed_at(url: str) -> dict[str, dict[str, str]]:
    return {
        "service": {"query": f"SELECT * {{ SERVICE <{url}> {{ ?s ?p ?o }} }}"},
        "service-silent": {"query": f"SELECT * {{ SERVICE SILENT <{url}> {{ ?s ?p ?o }} }}"},
        "service-variable": {"query": f"SELECT * {{ BIND(<{url}> AS ?e) SERVICE ?e {{ ?s ?p ?o }} }}"},
        "load-http": {"query": f"LOAD <{url}>"},
        "load-file": {"query": "LOAD <file:///etc/passwd>"},
        "load-into": {"query": f"LOAD SILENT <{url}> INTO GRAPH <urn:g>"},
        "from-http": {"query": f"SELECT * FROM <{url}> {{ ?s ?p ?o }}"},
        "from-file": {"query": "SELECT * FROM <file:///etc/passwd> { ?s ?p ?o }"},
        "from-named-http": {"query": f"SELECT * FROM NAMED <{url}> {{ GRAPH ?g {{ ?s ?p ?o }} }}"},
        "from-relative": {"query": "BASE <file:///etc/> SELECT * FROM <passwd> { ?s ?p ?o }"},
        "graph-http": {"query": f"SELECT * {{ GRAPH <{url}> {{ ?s ?p ?o }} }}"},
        "describe-http": {"query": f"DESCRIBE <{url}>"},
        "default-graph-uri-file": {"query": COUNT, "default-graph-uri": "file:///etc/passwd"},
        "default-graph-uri-http": {"query": COUNT, "default-graph-uri": url},
        "named-graph-uri-http": {"query": "SELECT * { GRAPH ?g { ?s ?p ?o } }", "named-graph-uri": url},
        "named-graph-uri-file": {"query": "SELECT * { GRAPH ?g { ?s ?p ?o } }",
                                 "named-graph-uri": "file:///etc/passwd"},
    }


@pytest.mark.parametrize("case", list(queries_aimed_at("http://x/")))
def test_sparql_never_reads_files_nor_fetches(client, listener, case):
    params = queries_aimed_at(listener.url)[case]
    for response in (client.get("/sparql", query_string=params), client.post("/sparql", data=params)):
        assert response.status_code in (200, 400, 403), response.data[:300]
        no_leak(response.data)
        if response.status_code == 200 and response.mimetype == "application/sparql-results+json":
            rows = response.get_json()["results"]["bindings"]
            assert rows == [] or rows == [{"n": {"type": "literal", "value": "0",
                                                 "datatype": "http://www.w3.org/2001/XMLSchema#integer"}}]
    assert listener.connections == []


@pytest.mark.parametrize("graph", ["file:///etc/passwd", "http://127.0.0.1:{port}/", "file:../../pyproject.toml"])
def test_graph_store_read_never_reads_files_nor_fetches(client, listener, graph):
    port = listener.sock.getsockname()[1]
    response = client.get("/data", query_string={"graph": graph.format(port=port)})
    assert response.status_code in (400, 404)
    no_leak(response.data)
    assert listener.connections == []


def test_validate_never_fetches_what_rdf_names(client, listener):
    """RDF/XML entities, JSON-LD contexts and owl:imports aimed at our socket: refused or left as data."""
    url = listener.url
    bodies = {
        "application/rdf+xml": f'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY e SYSTEM "{url}">]>'
                               '<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
                               '<rdf:Description rdf:about="urn:a"><rdf:value>&e;</rdf:value></rdf:Description>'
                               '</rdf:RDF>',
        "application/ld+json": json.dumps({"@context": url, "@id": "urn:a", "name": "x"}),
        "text/turtle": f"<urn:a> <http://www.w3.org/2002/07/owl#imports> <{url}> .",
    }
    for media_type, body in bodies.items():
        response = client.post("/validate", data=body.encode(), content_type=media_type)
        assert response.status_code in (200, 400), response.data[:300]
        no_leak(response.data)
    file_entity = ('<?xml version="1.0"?><!DOCTYPE r [<!ENTITY e SYSTEM "file:///etc/passwd">]>'
                   '<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"><rdf:Description '
                   'rdf:about="urn:a"><rdf:value>&e;</rdf:value></rdf:Description></rdf:RDF>')
    response = client.post("/validate", data=file_entity.encode(), content_type="application/rdf+xml")
    assert response.status_code == 400
    no_leak(response.data)
    assert listener.connections == []


def test_served_data_file_expands_no_external_entity(tmp_path: Path, listener):
    """`serve --data FILE` parses with Oxigraph: an entity naming a file or a URL is not followed."""
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET-VALUE", encoding="utf-8")
    data = tmp_path / "data.rdf"
    data.write_text(f'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY f SYSTEM "{secret.as_uri()}">'
                    f'<!ENTITY u SYSTEM "{listener.url}">]>'
                    '<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"><rdf:Description '
                    'rdf:about="urn:a"><rdf:value>&f;&u;</rdf:value></rdf:Description></rdf:RDF>', encoding="utf-8")
    try:
        kg = KnowledgeGraph.from_file(data)
    except Exception as exc:  # refusing the file is as good as not expanding it
        assert "TOP-SECRET" not in str(exc)
    else:
        assert all("TOP-SECRET" not in str(q) for q in kg.store)
    assert listener.connections == []


# Sent verbatim: a client library would normalise the dots away before the server saw them.
TRAVERSALS = [
    "/queries/..%2f..%2fetc%2fpasswd", "/queries/../../etc/passwd", "/queries/%2e%2e/%2e%2e/etc/passwd",
    "/queries/..%5c..%5cpyproject.toml", "/queries/....//....//etc/passwd",
    "/static/../../pyproject.toml", "/static/..%2f..%2f..%2fpyproject.toml", "/static/%2e%2e/%2e%2e/pyproject.toml",
    "/static/../../../../../../etc/passwd", "/static//etc/passwd", "/static/%2fetc%2fpasswd",
    "/static/..%00/pyproject.toml", "/static/..\\..\\pyproject.toml",
    "/data?graph=file:///etc/passwd", "/data?graph=file:../pyproject.toml", "/data?graph=..%2f..%2fetc%2fpasswd",
    "/articles/../../etc/passwd", "/articles/..%2f..%2fetc%2fpasswd", "/articles/%2e%2e%2f%2e%2e%2fpyproject.toml",
    "/id/../../etc/passwd", "/id/..%2f..%2fetc%2fpasswd", "/id/person/..%2f..%2f..%2fetc%2fpasswd",
    "/dump.%2e%2e%2fpyproject.toml", "/dump.../../etc/passwd", "/../../../etc/passwd", "/..%2f..%2fetc%2fpasswd",
    "//etc/passwd", "/%2e%2e/%2e%2e/etc/passwd",
]


def raw_get(url: str, path: str) -> tuple[int, bytes]:
    host, port = url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=30) as conn:
        conn.sendall(f"GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n".encode("latin-1"))
        data = b""
        while chunk := conn.recv(65536):
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    return int(head.split()[1]), body


def location(url: str, path: str) -> str:
    host, port = url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=30) as conn:
        conn.sendall(f"GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n".encode("latin-1"))
        head = conn.recv(65536).partition(b"\r\n\r\n")[0].decode("latin-1")
    return next(line.split(":", 1)[1].strip() for line in head.splitlines() if line.lower().startswith("location:"))


@pytest.mark.parametrize("path", TRAVERSALS)
def test_path_traversal_never_reads_a_file(served, path):
    status, body = raw_get(served.url, path)
    no_leak(body)
    if status == 308:  # werkzeug merges doubled slashes by redirecting; where it sends the client is checked too
        status, body = raw_get(served.url, urllib.parse.urlsplit(location(served.url, path)).path)
        no_leak(body)
    assert status in (400, 404), (status, body[:300])


def test_static_files_are_still_served(served):
    status, body = raw_get(served.url, "/static/site.css")
    assert status == 200 and body


# --- writes: the token, and a flood that cannot corrupt the seeds ----------------------------------------


ARTICLES = Path(__file__).parent / "articles"
TOKEN = "hostile-test-token-0123456789"


@pytest.fixture()
def writable(settings, kg, pool, seeds_copy) -> Flask:
    application = create_app(replace(settings, seeds_dir=seeds_copy, write_token=TOKEN), kg, pool=pool)
    application.config["TESTING"] = True
    return application


def article_form(name: str = "t01_export_controls_2019", *, mapping_name: str | None = None,
                 text_name: str | None = None) -> dict[str, tuple[io.BytesIO, str]]:
    mapping, text = ARTICLES / f"{name}.yaml", ARTICLES / f"{name}.txt"
    return {"mapping": (io.BytesIO(mapping.read_bytes()), mapping_name or mapping.name),
            "text": (io.BytesIO(text.read_bytes()), text_name or text.name)}


def folder_state(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.mark.parametrize("authorization", [None, "", "Bearer", "Bearer ", f"Basic {TOKEN}", f"Bearer {TOKEN}x",
                                           f"Bearer {TOKEN[:-1]}", "Bearer " + "x" * 10_000, f"bearer{TOKEN}"])
def test_writes_need_exactly_the_token_and_never_echo_it(writable, seeds_copy, authorization):
    before = folder_state(seeds_copy)
    headers = {} if authorization is None else {"Authorization": authorization}
    response = writable.test_client().post("/articles", data=article_form(), headers=headers,
                                           content_type="multipart/form-data")
    assert response.status_code == 401
    assert TOKEN not in response.get_data(as_text=True) and "x" * 100 not in response.get_data(as_text=True)
    assert folder_state(seeds_copy) == before


def test_token_is_compared_in_constant_time():
    """Timing cannot be asserted reliably here; the comparison the code uses can."""
    import inspect

    from kg_service.web import auth, update, validation

    source = inspect.getsource(auth)
    assert "compare_digest" in source and "== token" not in source and "token ==" not in source
    for module in (update, validation):  # every write goes through the one check
        assert "require_token(" in inspect.getsource(module) and "compare_digest" not in inspect.getsource(module)


def test_flood_of_the_same_article_adds_it_once_and_leaves_no_partial_file(writable, seeds_copy, caplog):
    before = set(folder_state(seeds_copy))
    statuses: list[int] = []

    def post() -> None:
        response = writable.test_client().post("/articles", data=article_form(), content_type="multipart/form-data",
                                               headers={"Authorization": f"Bearer {TOKEN}"})
        statuses.append(response.status_code)

    with caplog.at_level("DEBUG"):
        threads = [threading.Thread(target=post) for _ in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
    assert sorted(statuses) == [201] + [409] * 7
    after = folder_state(seeds_copy)
    assert set(after) - before == {"t01_export_controls_2019.yaml", "t01_export_controls_2019.txt"}
    assert after["t01_export_controls_2019.yaml"] == (ARTICLES / "t01_export_controls_2019.yaml").read_bytes()
    assert TOKEN not in caplog.text


@pytest.mark.parametrize("mapping_name,text_name", [
    ("../../evil.yaml", "/tmp/evil.txt"), ("..\\..\\evil.yaml", "../../evil.txt"), (".hidden.yaml", None),
])
def test_upload_file_names_cannot_escape_the_seeds(writable, seeds_copy, tmp_path, mapping_name, text_name):
    response = writable.test_client().post(
        "/articles", data=article_form(mapping_name=mapping_name, text_name=text_name),
        content_type="multipart/form-data", headers={"Authorization": f"Bearer {TOKEN}"})
    assert response.status_code < 500
    # only the files an escaped upload would write (other tests make folders such as "evil-seeds0")
    outside = [p for p in seeds_copy.parent.parent.rglob("evil.*") if p.is_file()] + list(Path("/tmp").glob("evil.*"))
    assert outside == []
    assert all("/" not in name and "\\" not in name for name in folder_state(seeds_copy))


def test_mapping_naming_a_text_outside_the_seeds_is_refused(writable, seeds_copy):
    source = (ARTICLES / "t01_export_controls_2019.yaml").read_text(encoding="utf-8").replace(
        "text: t01_export_controls_2019.txt", "text: ../../../../etc/passwd")
    response = writable.test_client().post(
        "/articles", data={"mapping": (io.BytesIO(source.encode()), "t01_export_controls_2019.yaml"),
                           "text": (io.BytesIO(b"x"), "t01_export_controls_2019.txt")},
        content_type="multipart/form-data", headers={"Authorization": f"Bearer {TOKEN}"})
    assert 400 <= response.status_code < 500
    no_leak(response.data)


# --- HTML: escaped literals, a Content-Security-Policy, nosniff everywhere -------------------------------


SCRIPT = '<script>alert("kg")</script>'


def test_validation_report_page_shows_script_as_text(client):
    source = (ARTICLES / "t01_export_controls_2019.yaml").read_text(encoding="utf-8")
    source = source.replace("title: ", f"title: {SCRIPT} ", 1) + f"\n# {SCRIPT}\nbogus_{SCRIPT}: 1\n"
    response = client.post("/validate", data={"mapping": source, "format": "html",
                                              "text": (ARTICLES / "t01_export_controls_2019.txt").read_text()})
    assert response.status_code in (200, 400)
    if response.mimetype == "text/html":
        assert SCRIPT not in response.get_data(as_text=True)
        assert "Content-Security-Policy" in response.headers


def test_query_results_cannot_inject_script(client):
    query = f'SELECT ?x {{ BIND("{SCRIPT}" AS ?x) }}'
    for accept in ("text/html", "text/html, */*;q=0.1", "*/*"):
        response = client.get("/sparql", query_string={"query": query}, headers={"Accept": accept})
        assert response.mimetype != "text/html"
        assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_errors_echoing_input_are_never_html(client):
    for response in (client.get("/sparql", query_string={"query": SCRIPT}, headers={"Accept": "text/html"}),
                     client.get(f"/queries/{urllib.parse.quote(SCRIPT)}", headers={"Accept": "text/html"}),
                     client.get("/sparql", query_string={"query": COUNT, "format": SCRIPT})):
        assert response.status_code in (400, 404, 406)
        assert response.mimetype in ("application/json", "text/plain")
        assert response.headers["X-Content-Type-Options"] == "nosniff"


@pytest.mark.parametrize("path", ["/sparql", "/validate", "/", "/query", "/timeline", "/articles/", "/nope"])
def test_every_page_has_a_content_security_policy(client, path):
    """Pages (and anything else a browser could run script from) carry the policy; a JSON answer, such as
    the 404 of a path that names nothing, is shown as text and carries ``nosniff`` alone."""
    response = client.get(path, headers={"Accept": "text/html"})
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    if response.mimetype == "text/html":
        assert response.headers["Content-Security-Policy"]
    else:
        assert response.mimetype == "application/json" and "Content-Security-Policy" not in response.headers


def test_query_form_escapes_a_hostile_host(client):
    response = client.get("/sparql", headers={"Accept": "text/html", "Host": 'x"><script>a()</script>'})
    assert "<script>a()" not in response.get_data(as_text=True)


LABELS = ("prefLabel", "altLabel", "label", "title", "name", "description", "comment", "outcome", "content",
          "dateline", "note")


@pytest.fixture(scope="module")
def hostile_site(settings, kg, pool, tmp_path_factory) -> tuple[Flask, dict[str, str]]:
    """The seeds graph with a script in every label, title and note, and an article text that holds one; one
    article's recorded file name points outside the seeds. Returns the app and what to visit."""
    import shutil

    import pyoxigraph as ox

    seeds = tmp_path_factory.mktemp("hostile") / "seeds"
    shutil.copytree(settings.seeds_dir, seeds)
    texts = sorted(seeds.glob("*.txt"))
    texts[0].write_text(SCRIPT + texts[0].read_text(encoding="utf-8"), encoding="utf-8")
    quads, pages = [], {}
    for quad in kg.quads:
        term, local = quad.object, quad.predicate.value.rsplit("/", 1)[-1].rsplit("#", 1)[-1]
        if isinstance(term, ox.Literal) and local in LABELS:
            term = ox.Literal(SCRIPT + term.value, language=term.language) if term.language else ox.Literal(
                SCRIPT + term.value, datatype=term.datatype)
        elif isinstance(term, ox.Literal) and local == "sourceFile" and term.value != texts[0].name:
            pages.setdefault("escaping-article", term.value.removesuffix(".txt"))
            term = ox.Literal("../../../../pyproject.toml")
        elif isinstance(term, ox.Literal) and local == "sourceFile":
            pages["scripted-article"] = term.value.removesuffix(".txt")
        quads.append(ox.Quad(quad.subject, quad.predicate, term, quad.graph_name))
    hostile = KnowledgeGraph.from_nquads(ox.serialize(quads, format=ox.RdfFormat.N_QUADS))
    subjects = {q.subject.value for q in hostile.quads if isinstance(q.subject, ox.NamedNode)}
    base = "https://w3id.org/kg-service/id/"
    for kind in ("person", "state", "event", "place"):
        pages[kind] = next(s for s in sorted(subjects) if s.startswith(base + kind + "/")).removeprefix(base)
    application = create_app(replace(settings, seeds_dir=seeds), hostile, pool=pool)
    application.config["TESTING"] = True
    return application, pages


def hostile_paths(pages: dict[str, str]) -> list[str]:
    return ["/", "/timeline", "/articles/", "/query", "/validate",
            f"/articles/{pages['scripted-article']}", f"/articles/{pages['escaping-article']}",
            *(f"/id/{pages[kind]}" for kind in ("person", "state", "event", "place"))]


def test_every_literal_on_every_page_is_escaped(hostile_site):
    app, pages = hostile_site
    client = app.test_client()
    shown = 0
    for path in hostile_paths(pages):
        response = client.get(path, headers={"Accept": "text/html"})
        assert response.status_code == 200, path
        assert response.mimetype == "text/html", path
        page = response.get_data(as_text=True)
        assert SCRIPT not in page, path
        no_leak(response.data)
        shown += "&lt;script&gt;" in page
        assert "Content-Security-Policy" in response.headers, path
    assert shown >= 6  # the hostile labels were on the pages, as text


def test_page_csp_allows_no_inline_script(hostile_site):
    app, pages = hostile_site
    client = app.test_client()
    for path in hostile_paths(pages):
        response = client.get(path, headers={"Accept": "text/html"})
        policy = dict(p.strip().split(" ", 1) for p in response.headers["Content-Security-Policy"].split(";")
                      if " " in p.strip())
        script = policy.get("script-src", policy.get("default-src", ""))
        assert "'unsafe-inline'" not in script and "*" not in script.split(), (path, script)
        page = response.get_data(as_text=True)
        assert " onclick=" not in page.lower() and "javascript:" not in page.lower(), path


# --- crash safety: kill -9 during an add and during start-up ---------------------------------------------


def kill_tree(process) -> None:  # noqa: ANN001 - a subprocess.Popen
    """kill -9 the process and everything it started (its query workers), as a crash would."""
    import psutil

    try:
        family = [process.pid] + [c.pid for c in psutil.Process(process.pid).children(recursive=True)]
    except psutil.NoSuchProcess:
        family = [process.pid]
    for pid in family:
        try:
            psutil.Process(pid).kill()
        except psutil.NoSuchProcess:
            pass
    process.wait(timeout=30)


def post_multipart(url: str, fields: dict[str, tuple[str, bytes]], token: str) -> socket.socket:
    """Send a multipart POST without waiting for the answer (the server is killed meanwhile)."""
    import uuid

    boundary = uuid.uuid4().hex
    body = b"".join(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; filename="{filename}"\r\n\r\n'
                    .encode() + content + b"\r\n" for name, (filename, content) in fields.items())
    body += f"--{boundary}--\r\n".encode()
    host, port = url.removeprefix("http://").split(":")
    conn = socket.create_connection((host, int(port)), timeout=30)
    conn.sendall(f"POST /articles HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {token}\r\n"
                 f"Content-Type: multipart/form-data; boundary={boundary}\r\nContent-Length: {len(body)}\r\n\r\n"
                 .encode() + body)
    return conn


def ask_article(url: str, article_id: str) -> bool:
    query = f"ASK {{ GRAPH <https://w3id.org/kg-service/graph/article/{article_id}> {{ ?s ?p ?o }} }}"
    status, body = raw_get(url, "/sparql?" + urllib.parse.urlencode({"query": query}))
    assert status == 200
    return json.loads(body)["boolean"]


def seed_files(folder: Path) -> set[str]:
    """What the builder reads: every file but dotfiles (an interrupted add's temporaries and journal)."""
    return {p.name for p in folder.iterdir() if not p.name.startswith(".")}


def test_kill_9_during_an_http_add_then_restart_serves_a_whole_graph(seeds_copy, tmp_path):
    from conftest import start_service

    article = "t01_export_controls_2019"
    before = seed_files(seeds_copy)
    # Stopped (tests/step_hook) where the text is in place and its mapping not yet, then killed.
    marker = tmp_path / "stopped-text"
    env = {"KG_SEEDS_DIR": str(seeds_copy), "KG_WRITE_TOKEN": TOKEN, "KG_QUERY_WORKERS": "1",
           **stopping_env("text", marker)}
    first = start_service(tmp_path, env=env)
    try:
        fields = {"mapping": (f"{article}.yaml", (ARTICLES / f"{article}.yaml").read_bytes()),
                  "text": (f"{article}.txt", (ARTICLES / f"{article}.txt").read_bytes())}
        conn = post_multipart(first.url, fields, TOKEN)
        wait_stopped(marker, lambda: first.process.poll() is None)
        kill_tree(first.process)
        conn.close()
    finally:
        first.stop()
    after_kill = seed_files(seeds_copy)
    assert after_kill - before == {f"{article}.txt"}  # a whole text, and no mapping: not an article
    assert not any(p.suffix == ".tmp" and not p.name.startswith(".") for p in seeds_copy.iterdir())
    second = start_service(tmp_path, env={"KG_SEEDS_DIR": str(seeds_copy), "KG_QUERY_WORKERS": "1"})
    try:
        added = ask_article(second.url, article)
        assert added == (f"{article}.yaml" in after_kill)  # the mapping is what makes an article exist
        status, body = raw_get(second.url, "/healthz")
        assert status == 200 and json.loads(body)["status"] == "ok"
    finally:
        second.stop()


def test_kill_9_during_start_up_of_a_persistent_store_then_restart_serves_the_whole_graph(kg, tmp_path):
    from conftest import start_service

    from kg_service.stores import MARKER, STORE_DIR

    folder = tmp_path / "store"
    # Killed at states seen on disk, not after guessed delays: in the build (nothing written yet), in the store
    # write (its folder there, no marker), and once the marker is written (around start-up's end).
    for reached in (lambda: True, lambda: (folder / STORE_DIR).exists() and not (folder / MARKER).exists(),
                    lambda: (folder / MARKER).exists()):
        (folder / MARKER).unlink(missing_ok=True)  # each start rebuilds, so every state comes round again
        shutil.rmtree(folder / STORE_DIR, ignore_errors=True)
        half = start_service(tmp_path, "--store", str(folder), env={"KG_QUERY_WORKERS": "1"}, wait=False)
        deadline = time.monotonic() + 120  # a bound on the wait, not a timing the test depends on
        while not reached() and half.process.poll() is None and time.monotonic() < deadline:
            time.sleep(0.01)
        kill_tree(half.process)
        half.stop()
    whole = start_service(tmp_path, "--store", str(folder), env={"KG_QUERY_WORKERS": "1"})
    try:
        status, body = raw_get(whole.url, "/healthz")
        assert status == 200 and json.loads(body)["triples"] == len(kg)
        status, body = raw_get(whole.url, "/sparql?" + urllib.parse.urlencode({"query": COUNT}))
        assert status == 200
        count = int(json.loads(body)["results"]["bindings"][0]["n"]["value"])
        assert count == len(kg.triples(None))
    finally:
        whole.stop()
    assert [p.name for p in folder.rglob("*.tmp")] == []
