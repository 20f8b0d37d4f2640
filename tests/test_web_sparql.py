"""The SPARQL 1.1 Protocol query operation at /sparql: shapes of requests, formats, refusals, limits."""

from __future__ import annotations

from urllib.parse import parse_qs, urlencode

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from rdflib import Graph, URIRef

from kg_service.formats import FORMATS

COUNT = "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }"
CONSTRUCT = "CONSTRUCT WHERE { ?s a ?c } LIMIT 5"
# rdflib's JSON-LD parser still builds a ConjunctiveGraph internally (rdflib 7.x).
pytestmark = pytest.mark.filterwarnings("ignore:ConjunctiveGraph is deprecated:DeprecationWarning")
RUNAWAY = "SELECT (COUNT(*) AS ?n) { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i }"


def count_of(response) -> int:
    return int(response.get_json()["results"]["bindings"][0]["n"]["value"])


def test_sparql_get_answers_select_as_json_by_default(client, kg):
    response = client.get("/sparql", query_string={"query": COUNT})
    assert response.status_code == 200
    assert response.mimetype == "application/sparql-results+json"
    assert count_of(response) == len(kg.triples(None))  # the union is a set of triples
    assert response.headers["Access-Control-Allow-Origin"] == "*"


def test_sparql_post_form_and_direct_body_give_the_same_answer(client):
    form = client.post("/sparql", data={"query": COUNT})
    direct = client.post("/sparql", data=COUNT, content_type="application/sparql-query")
    assert form.status_code == direct.status_code == 200
    assert count_of(form) == count_of(direct)


@pytest.mark.parametrize("accept,media_type", [
    ("application/sparql-results+xml", "application/sparql-results+xml"),
    ("text/csv", "text/csv"), ("text/tab-separated-values", "text/tab-separated-values"),
    ("application/json", "application/sparql-results+json"),
    ("text/csv;q=0.5, application/sparql-results+xml;q=0.9", "application/sparql-results+xml"),
])
def test_sparql_select_format_follows_accept(client, accept, media_type):
    response = client.get("/sparql", query_string={"query": COUNT}, headers={"Accept": accept})
    assert response.status_code == 200
    assert response.mimetype == media_type


@pytest.mark.parametrize("name,media_type,rdflib_format", [
    ("ttl", "text/turtle", "turtle"), ("nt", "application/n-triples", "nt"),
    ("jsonld", "application/ld+json", "json-ld"), ("rdfxml", "application/rdf+xml", "xml"),
])
def test_sparql_construct_in_every_graph_format_parses(client, name, media_type, rdflib_format):
    response = client.get("/sparql", query_string={"query": CONSTRUCT, "format": name})
    assert response.status_code == 200 and response.mimetype == media_type
    assert len(Graph().parse(data=response.data, format=rdflib_format)) == 5


def test_sparql_format_parameter_overrides_accept(client):
    response = client.get("/sparql", query_string={"query": COUNT, "format": "csv"}, headers={"Accept": "text/html"})
    assert response.mimetype == "text/csv"


def test_sparql_unacceptable_format_is_406(client):
    response = client.get("/sparql", query_string={"query": COUNT}, headers={"Accept": "image/png"})
    assert response.status_code == 406
    assert response.get_json()["error"] == "not-acceptable"


def test_sparql_malformed_query_is_400_with_the_parser_message(client):
    response = client.get("/sparql", query_string={"query": "SELECT * WHERE { ?s ?p }"})
    assert response.status_code == 400
    body = response.get_json()
    assert body["error"] == "bad-query" and "syntax" in body["message"]
    assert "Traceback" not in response.get_data(as_text=True)


def test_sparql_post_with_unknown_content_type_is_415(client):
    response = client.post("/sparql", data=COUNT, content_type="text/plain")
    assert response.status_code == 415


@pytest.mark.parametrize("request_kwargs", [
    {"method": "GET", "query_string": {"query": "INSERT DATA { <urn:a> <urn:b> <urn:c> }"}},
    {"method": "GET", "query_string": {"query": "LOAD <http://example.org/data.ttl>"}},
    {"method": "POST", "data": {"update": "CLEAR ALL"}},
    {"method": "POST", "data": "DROP ALL", "content_type": "application/sparql-update"},
])
def test_sparql_updates_are_refused(client, request_kwargs):
    response = client.open("/sparql", **request_kwargs)
    assert response.status_code == 403
    assert "read-only" in response.get_json()["message"]


@pytest.mark.parametrize("query", [
    "SELECT * { SERVICE <http://example.org/sparql> { ?s ?p ?o } }",
    "select * { service silent <http://example.org/sparql> { ?s ?p ?o } }",
])
def test_sparql_service_is_refused(client, query):
    response = client.get("/sparql", query_string={"query": query})
    assert response.status_code == 400
    assert "SERVICE is disabled" in response.get_json()["message"]


def test_sparql_service_in_strings_comments_and_iris_is_allowed(client):
    query = 'SELECT ?service { BIND("SERVICE" AS ?service) FILTER(?service != <http://x/SERVICE>) } # SERVICE'
    assert client.get("/sparql", query_string={"query": query}).status_code == 200


def test_sparql_from_iri_is_never_dereferenced(client):
    response = client.get("/sparql", query_string={"query": "SELECT * FROM <file:///etc/passwd> { ?s ?p ?o }"})
    assert response.status_code == 200
    assert response.get_json()["results"]["bindings"] == []


def test_sparql_default_graph_uri_selects_the_dataset(client, kg):
    graph = "https://w3id.org/kg-service/graph/meta"
    one = client.get("/sparql", query_string={"query": COUNT, "default-graph-uri": graph})
    assert 0 < count_of(one) < len(kg)
    named = client.get("/sparql", query_string={"query": "SELECT DISTINCT ?g { GRAPH ?g { ?s ?p ?o } }",
                                                "named-graph-uri": graph})
    assert [b["g"]["value"] for b in named.get_json()["results"]["bindings"]] == [graph]


def test_sparql_row_cap_truncates_with_a_header_not_an_error(client):
    response = client.get("/sparql", query_string={"query": "SELECT * { ?s ?p ?o }", "limit": "7"})
    assert response.status_code == 200
    assert response.headers["X-KG-Truncated"] == "true" and "Warning" in response.headers
    assert len(response.get_json()["results"]["bindings"]) == 7


def test_sparql_row_cap_with_strict_is_413(client):
    response = client.get("/sparql", query_string={"query": "SELECT * { ?s ?p ?o }", "limit": "7", "strict": "1"})
    assert response.status_code == 413


def test_sparql_client_cannot_raise_the_limits(client, settings):
    response = client.get("/sparql", query_string={"query": RUNAWAY, "timeout": "1000"})
    assert response.status_code == 503
    assert f"{settings.query_timeout_s:g} s" in response.get_json()["message"]


def test_sparql_bad_limit_value_is_400(client):
    assert client.get("/sparql", query_string={"query": COUNT, "timeout": "soon"}).status_code == 400


def test_sparql_head_and_options(client):
    head = client.head("/sparql", query_string={"query": COUNT})
    assert head.status_code == 200 and head.data == b""
    options = client.options("/sparql", headers={"Origin": "http://example.org"})
    assert options.status_code == 200
    assert "POST" in options.headers["Allow"] and options.headers["Access-Control-Allow-Origin"] == "*"


def test_sparql_errors_can_be_plain_text(client):
    response = client.get("/sparql", query_string={"query": "nonsense"}, headers={"Accept": "text/plain"})
    assert response.status_code == 400 and response.mimetype == "text/plain"


def test_sparql_without_query_describes_the_service_in_rdf(client):
    response = client.get("/sparql", headers={"Accept": "text/turtle"})
    graph = Graph().parse(data=response.data, format="turtle")
    sd = "http://www.w3.org/ns/sparql-service-description#"
    served = {str(o) for _, p, o in graph if str(p) == sd + "resultFormat"}
    assert served == {f.iri for f in FORMATS}
    assert any(str(p) == sd + "endpoint" and str(o) == "http://localhost/sparql" for s, p, o in graph)


def test_sparql_without_query_sends_a_browser_to_the_query_page(client):
    response = client.get("/sparql", headers={"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"},
                          follow_redirects=True)
    assert response.request.path == "/query"
    assert response.mimetype == "text/html" and b"<form" in response.data


def test_unknown_route_is_a_json_404(client):
    response = client.get("/nope")
    assert response.status_code == 404 and response.get_json()["status"] == 404


def test_void_has_counts(client, kg):
    response = client.get("/.well-known/void", headers={"Accept": "application/n-triples"})
    graph = Graph().parse(data=response.data, format="nt")
    dataset = URIRef("http://localhost/.well-known/void")
    triples = graph.value(dataset, URIRef("http://rdfs.org/ns/void#triples"))
    assert 0 < int(triples) <= len(kg)  # distinct triples of the union; kg counts quads
    assert len(list(graph.objects(dataset, URIRef("http://rdfs.org/ns/void#subset")))) == len(kg.graph_names())


def test_healthz_and_metrics(client, kg):
    health = client.get("/healthz").get_json()
    assert health == {"status": "ok", "triples": len(kg), "version": kg.version}
    client.get("/sparql", query_string={"query": COUNT})
    text = client.get("/metrics").get_data(as_text=True)
    assert 'kg_http_requests_total{method="GET",status="200"}' in text
    assert "kg_query_seconds_count" in text and "kg_query_timeouts_total" in text


def test_a_get_result_revalidates_with_its_etag_without_running_again(client):
    query = {"query": "SELECT (COUNT(*) AS ?n) { ?s ?p ?o }", "format": "csv"}
    first = client.get("/sparql", query_string=query)
    etag = first.headers["ETag"]
    assert first.status_code == 200 and "must-revalidate" in first.headers["Cache-Control"]
    again = client.get("/sparql", query_string=query, headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.data == b"" and again.headers["ETag"] == etag
    other = client.get("/sparql", query_string={**query, "format": "tsv"}, headers={"If-None-Match": etag})
    assert other.status_code == 200  # another format is another representation


def test_volatile_and_posted_queries_carry_no_etag(client):
    volatile = client.get("/sparql", query_string={"query": "SELECT (RAND() AS ?r) {}", "format": "json"})
    posted = client.post("/sparql", data={"query": "SELECT * { ?s ?p ?o } LIMIT 1", "format": "json"})
    assert volatile.status_code == posted.status_code == 200
    assert "ETag" not in volatile.headers and "ETag" not in posted.headers


def test_query_in_both_the_url_and_the_form_body_is_an_ambiguous_400(client):
    response = client.post("/sparql?query=" + "ASK%20%7B%7D", data={"query": COUNT})
    assert response.status_code == 400
    body = response.get_json()
    assert body["location"]["field"] == "query" and "both" in body["message"]


def test_a_syntax_error_keeps_its_line_and_column_across_the_worker(client):
    response = client.post("/sparql", data={"query": "SELECT * {\n  ?s ?p }"})
    assert response.status_code == 400
    body = response.get_json()
    assert body["location"]["line"] == 2 and body["location"]["field"] == "query"
    assert f"error at 2:{body['location']['column']}:" in body["message"]  # the engine's own position


@pytest.mark.parametrize("fmt", ["json", "xml", "csv", "tsv"])
def test_the_cli_the_endpoint_and_a_named_query_give_the_same_bytes(client, fmt):
    """One orchestration: `kg-service query`, /sparql and /queries/NAME run a request the same way."""
    from click.testing import CliRunner

    from kg_service.cli import cli
    from kg_service.settings import Settings

    path = Settings().queries_dir / "agreements.rq"
    text = path.read_text(encoding="utf-8")
    endpoint = client.get("/sparql", query_string={"query": text, "format": fmt})
    named = client.get("/queries/agreements", query_string={"format": fmt})
    result = CliRunner().invoke(cli, ["query", str(path), "--format", fmt])
    assert endpoint.status_code == named.status_code == 200 and result.exit_code == 0, result.output
    assert endpoint.get_data() == named.get_data() == result.stdout_bytes
    assert int(endpoint.headers["X-KG-Rows"]) > 0


def test_the_guard_holds_on_the_query_page_with_its_location(client):
    text = "SELECT * {\n  ?s <urn:p> " + ", ".join(["?o"] * 200) + "\n}"
    response = client.get("/query", query_string={"query": text}, headers={"Accept": "text/html"})
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert "more than 48" in page and "?s &lt;urn:p&gt; ?o" in page  # the message and the offending line


_SAME_REQUESTS = [
    ("GET", {"query": "SELECT (COUNT(*) AS ?n) { ?s ?p ?o }", "format": "csv"}, None, {}),
    ("POST", {"query": "SELECT ?s { ?s a <Meeting> } LIMIT 3"}, None, {"Accept": "application/sparql-results+json"}),
    ("POST", None, "ASK { <x> ?p ?o }",
     {"Content-Type": "application/sparql-query", "Accept": "text/tab-separated-values"}),
    ("GET", {"query": "SELECT * { ?s ?p ?o } LIMIT 2", "default-graph-uri": "https://w3id.org/kg-service/graph/resolved"},
     None, {"Accept": "application/sparql-results+xml"}),
    ("GET", {"query": "CONSTRUCT { ?s ?p ?o } WHERE { ?s ?p ?o } LIMIT 2"}, None, {"Accept": "text/turtle"}),
    ("POST", {"query": "SELECT ?x { ?x ?y }"}, None, {}),  # a syntax error: the app's error handler answers
    ("GET", {"query": "SELECT * { ?s ?p ?o }", "limit": "2", "strict": "1"}, None, {}),  # 413, strict row cap
    ("GET", {"query": "ASK {}"}, None, {"Accept": "image/png"}),  # 406
]


@pytest.mark.parametrize(("method", "params", "body", "headers"), _SAME_REQUESTS)
def test_the_lean_path_answers_byte_for_byte_as_the_flask_view(app, method, params, body, headers):
    """A plain query is answered without Flask (`web.lean`): status, headers and body must be the view's."""
    from werkzeug.test import Client

    public = app.wsgi_app
    lean = public.app

    def flask_only(environ, start_response):  # the app without the lean path in front
        public.fix(environ)
        return lean.app(environ, start_response)

    def send(wsgi):
        client = Client(wsgi)
        kwargs = {"query_string": params} if method == "GET" else ({"data": params} if params else {"data": body})
        response = client.open("/sparql", method=method, headers=headers, **kwargs)
        return response.status_code, sorted((k.lower(), v) for k, v in response.headers.items()), response.data

    inner, passed_on = lean.app, []
    lean.app = lambda environ, start_response: passed_on.append(1) or inner(environ, start_response)
    try:
        via_lean = send(public)
    finally:
        lean.app = inner
    via_flask = send(flask_only)
    assert via_lean == via_flask
    assert passed_on == ([] if via_lean[0] == 200 else [1])  # answered by the lean path unless it failed


_FORM_ALPHABET = "aZ09 +&=%;?#{}<>\\\"'xé中\n" + "0123456789abcdefABCDEF"


@given(st.text(alphabet=_FORM_ALPHABET, max_size=60) | st.text(max_size=40)
       | st.lists(st.tuples(st.text(max_size=12), st.text(max_size=30))).map(urlencode))
@settings(max_examples=600, deadline=None)
def test_the_lean_path_reads_a_form_exactly_as_parse_qs(text):
    """`lean._params` decodes forms its own (faster) way: whatever the text, the result is parse_qs's, or
    None exactly where parse_qs refuses it (bytes that are not UTF-8 once decoded)."""
    from kg_service.web.lean import _params

    try:
        expected = parse_qs(text, keep_blank_values=True, errors="strict")
    except (UnicodeDecodeError, ValueError):
        expected = None
    assert _params(text) == expected


@pytest.mark.parametrize("accept", ["application/sparql-results+json", "application/sparql-results+xml", "text/csv",
                                    "text/tab-separated-values", "text/turtle", "application/rdf+xml"])
def test_the_lean_path_answers_with_the_app_s_headers(client, accept):
    """A plain query is answered by the lean path (`web/lean.py`); a conditional one by the Flask view: the
    same headers either way, and the Content-Security-Policy only where a browser could run script (XML)."""
    text = COUNT if "rdf" not in accept and "turtle" not in accept else CONSTRUCT
    lean = client.post("/sparql", data={"query": text}, headers={"Accept": accept})
    app = client.post("/sparql", data={"query": text}, headers={"Accept": accept, "If-None-Match": '"other"'})
    assert lean.status_code == app.status_code == 200
    assert sorted(lean.headers.items()) == sorted(app.headers.items())
    assert lean.headers["X-Content-Type-Options"] == "nosniff"
    assert ("Content-Security-Policy" in lean.headers) is accept.endswith("xml")
