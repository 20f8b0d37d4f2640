"""Property-based fuzzing of what strangers control: query parameters, headers, bodies and mapping files.

Whatever comes in, the answer is a deliberate one: a status below 500, a JSON or plain-text body (or
the negotiated result), and never a traceback. The mapping reader turns any text into a `Mapping`
or a `KgError` that says where the problem is, never another exception. Examples are kept few
(`make test` stays fast) and the Flask test client does the bulk; a smaller sample goes through
the real service in its own process, so waitress's own parsing is fuzzed too.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import replace
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from ruamel.yaml import YAML

from kg_service.errors import KgError, NotAcceptable, UsageError
from kg_service.formats import DATASET, FORMATS, GRAPH, RESULTS, Format
from kg_service.limits import Limits, limits_for
from kg_service.mapping import load_mapping
from kg_service.negotiation import choose_format, parse_accept
from kg_service.settings import Settings
from kg_service.web import create_app

# Redefining an anchor is legal YAML; ruamel warns, and warnings are errors in this suite.
pytestmark = pytest.mark.filterwarnings("ignore::ruamel.yaml.error.ReusedAnchorWarning")
FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
FEW = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
SEEDS = Path(__file__).resolve().parent.parent / "seeds"

# Media types clients send, some real, some near-misses; the strategies below mangle them further.
MEDIA = [f.media_type for f in FORMATS] + ["*/*", "text/*", "application/*", "text/html", "application/json",
                                           "application/xhtml+xml", "image/png", "", "*", "/", "text/", ";;"]
PARAM_NAMES = ["query", "format", "output", "results", "timeout", "limit", "max-rows", "maxrows", "strict",
               "default-graph-uri", "named-graph-uri", "update", "graph", "default"]
QUERY_WORDS = ["SELECT", "CONSTRUCT", "ASK", "DESCRIBE", "WHERE", "{", "}", "?s", "?p", "?o", "*", ".", "FROM",
               "NAMED", "GRAPH", "<file:///etc/passwd>", "<http://127.0.0.1:9/>", "SERVICE", "LOAD", "INSERT",
               "LIMIT", "10", "ORDER", "BY", "FILTER", "(", ")", "\"x\"", "'''", "#", "PREFIX", "ex:", "a",
               "OPTIONAL", "UNION", "VALUES", "BIND", "AS", "\x00", "\ud7ff", "é", "\n", "|", "^", "/", "+"]

text = st.text(st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=80)
query_text = st.one_of(text, st.lists(st.sampled_from(QUERY_WORDS), max_size=25).map(" ".join))
# Header values: anything but control characters (werkzeug's client refuses those before sending).
header_value = st.text(st.characters(min_codepoint=0x20, max_codepoint=0xff, exclude_characters="\x7f"),
                       max_size=200)
q_value = st.one_of(st.floats(allow_nan=True, allow_infinity=True).map(repr),
                    st.sampled_from(["", "1", "0", "0.5", "-1", "1e999", "nan", "q", "0x1", "\xbd"]), header_value)
media_range = st.builds(lambda m, q, extra: f"{m};q={q}{extra}", st.sampled_from(MEDIA), q_value,
                        st.sampled_from(["", ";charset=utf-8", ";level=1", ";;", ";q"]))
accept = st.one_of(st.none(), header_value, st.lists(st.one_of(media_range, st.sampled_from(MEDIA)), max_size=6)
                   .map(", ".join))
format_value = st.one_of(st.sampled_from([name for f in FORMATS for name in (f.name, f.media_type, *f.aliases)]),
                         text, st.sampled_from(["", " ", "xml", "json", "n3", "html", "TTL", "\x00"]))
params = st.dictionaries(st.one_of(st.sampled_from(PARAM_NAMES), text), st.one_of(text, format_value, query_text),
                         max_size=6)


@pytest.fixture(scope="module")
def fuzz_app(settings, kg, pool):
    """The app with a short time limit: random queries that happen to be cartesian products end fast."""
    application = create_app(replace(settings, query_timeout_s=0.5), kg, pool=pool)
    application.config["TESTING"] = True
    return application


@pytest.fixture()
def client(fuzz_app):
    return fuzz_app.test_client()


def assert_deliberate(response, *, html_ok: bool = False) -> None:  # noqa: ANN001 - a Flask test response
    """A status the service chose, a body that is JSON, text or a result format, and no traceback. An error
    is HTML only where the client asked for an HTML page (`html_ok`)."""
    body = response.get_data(as_text=True)
    timeout = response.status_code == 503 and response.get_json()["error"] == "query-timeout"
    assert response.status_code < 500 or timeout, body[:500]  # a random cartesian product may run out of time
    assert "Traceback (most recent call last)" not in body
    if response.status_code >= 400:
        assert response.mimetype in ("application/json", "text/plain", *(("text/html",) if html_ok else ())), \
            response.mimetype
        if response.mimetype == "application/json":
            error = json.loads(body)
            assert error["status"] == response.status_code and error["message"]
    assert response.headers.get("X-Content-Type-Options") == "nosniff"


@FUZZ
@given(query=query_text, extra=params, accept_header=accept)
def test_fuzz_sparql_get_never_fails_on_our_side(client, query, extra, accept_header):
    headers = {} if accept_header is None else {"Accept": accept_header}
    response = client.get("/sparql", query_string={"query": query, **extra}, headers=headers)
    assert_deliberate(response)


@FUZZ
@given(body=st.one_of(query_text.map(str.encode), st.binary(max_size=200)),
       content_type=st.one_of(st.sampled_from(["application/sparql-query", "application/x-www-form-urlencoded",
                                               "application/sparql-update", "multipart/form-data", "text/plain",
                                               "application/sparql-query; charset=latin-1", ""]), header_value),
       accept_header=accept)
def test_fuzz_sparql_post_bodies_never_fail_on_our_side(client, body, content_type, accept_header):
    headers = {"Content-Type": content_type} if content_type else {}
    if accept_header is not None:
        headers["Accept"] = accept_header
    assert_deliberate(client.post("/sparql", data=body, headers=headers))


@FUZZ
@given(name=st.one_of(st.sampled_from(["last-foreign-ministers-meeting", "meetings-between-people",
                                       "post-holder-on-date", "evidence-for-event", "statements-by-speaker"]), text),
       extra=st.dictionaries(st.one_of(st.sampled_from(["a", "b", "date", "event", "person", "speaker", "n",
                                                        "format", "limit", "timeout"]), text),
                             st.one_of(text, format_value, st.sampled_from(["<https://w3id.org/kg-service/id/x>",
                                                                            "2021-02-30", "2021", "-1"])),
                             max_size=4),
       accept_header=accept)
def test_fuzz_named_queries_never_fail_on_our_side(client, name, extra, accept_header):
    headers = {} if accept_header is None else {"Accept": accept_header}
    path = "/queries/" + urllib.parse.quote(name, safe="")
    assert_deliberate(client.get(path, query_string=extra, headers=headers))


@FUZZ
@given(path=st.sampled_from(["/data", "/dump.trig", "/dump.nq", "/dump.ttl", "/.well-known/void", "/healthz",
                             "/metrics", "/queries/", "/sparql"]),
       ext=st.one_of(st.none(), text), extra=params, accept_header=accept,
       encoding=st.one_of(st.none(), header_value, st.sampled_from(["gzip;q=nan", "gzip;q=0", "*;q=1e9", "br"])),
       conditional=st.one_of(st.none(), header_value))
def test_fuzz_read_routes_and_headers_never_fail_on_our_side(client, path, ext, extra, accept_header, encoding,
                                                            conditional):
    if ext is not None:
        path = "/dump." + urllib.parse.quote(ext, safe="")
    headers = {name: value for name, value in (("Accept", accept_header), ("Accept-Encoding", encoding),
                                               ("If-None-Match", conditional), ("If-Modified-Since", conditional))
               if value is not None}
    assert_deliberate(client.get(path, query_string=extra, headers=headers))


@FUZZ
@given(accept_header=accept, kinds=st.sampled_from([[RESULTS], [GRAPH, DATASET], [GRAPH], [DATASET]]),
       overrides=st.lists(format_value, max_size=3))
def test_fuzz_negotiation_returns_a_fitting_format_or_406(accept_header, kinds, overrides):
    ranges = parse_accept(accept_header)
    assert all(0.0 <= q <= 1.0 for _, q in ranges)
    try:
        fmt = choose_format(accept_header, kinds, overrides)
    except NotAcceptable as exc:
        assert exc.http_status == 406 and exc.message
        return
    assert isinstance(fmt, Format) and fmt.kind in kinds


@FUZZ
@given(values=st.dictionaries(st.sampled_from(["timeout", "limit", "max-rows", "maxrows", "strict"]),
                              st.one_of(text, st.floats().map(repr), st.integers().map(str)), max_size=5))
def test_fuzz_limits_are_never_raised_by_the_client(values):
    ceiling = Settings(query_timeout_s=10.0, max_rows=100)
    try:
        limits = limits_for(ceiling, values)
    except UsageError as exc:
        assert exc.http_status == 400 and exc.location.field in values
        return
    assert isinstance(limits, Limits)
    assert 0 < limits.timeout_s <= 10.0 and 0 < limits.max_rows <= 100


# The mapping reader: YAML-ish text and structures, plus mutations of a real mapping.
yaml_scalar = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), text,
                        st.sampled_from(["2021-02-30", "2021-13", "PT", "P1Y2M", "held", "Meeting", "japan",
                                         "Not A Key", "-1", "1e3", "~", "&a", "*a", "!!python/object:os.system"]))
yaml_tree = st.recursive(yaml_scalar, lambda children: st.one_of(
    st.lists(children, max_size=4),
    st.dictionaries(st.one_of(st.sampled_from(["article", "mentions", "events", "statements", "corrections", "id",
                                               "class", "label", "status", "date", "evidence", "quote", "text",
                                               "sha256", "title", "occurrence", "supports", "claim", "relation",
                                               "subject", "object", "participants", "duration"]), text),
                    children, max_size=5)), max_leaves=20)


def dump_yaml(tree: object) -> str:
    import io

    out = io.StringIO()
    YAML(typ="safe", pure=True).dump(tree, out)
    return out.getvalue()


def seed_mapping() -> str:
    return sorted(SEEDS.glob("*.yaml"))[0].read_text(encoding="utf-8")


def check_mapping_reader(source: str) -> None:
    path = Path("fuzz.yaml")
    try:
        load_mapping(path, text=source)
    except KgError as exc:  # anything else escaping the reader is a bug
        assert exc.http_status < 500 and exc.message
        assert exc.location.file == str(path), f"no file in the error's location: {exc!r}"
        assert "Traceback" not in str(exc)


@FUZZ
@given(source=st.one_of(text, yaml_tree.map(dump_yaml),
                        st.lists(st.sampled_from(["article:", "  text: a.txt", "events:", "- id: x", "  class: [",
                                                  "  - {quote: ", "\t", ": :", "&a [*a]", "? x", "---", "...",
                                                  "%YAML 1.1", "!!binary x", "'", "\"\\x", "- - -", "key: |",
                                                  "  evidence: []", "statements: {}", "mentions: [1]"]),
                                 max_size=12).map("\n".join)))
def test_fuzz_mapping_reader_raises_only_located_kg_errors(source):
    check_mapping_reader(source)


@FUZZ
@given(data=st.data())
def test_fuzz_mutated_seed_mappings_raise_only_located_kg_errors(data):
    lines = seed_mapping().splitlines()
    for _ in range(data.draw(st.integers(1, 4))):
        i = data.draw(st.integers(0, len(lines) - 1))
        action = data.draw(st.sampled_from(["drop", "dup", "indent", "dedent", "replace", "truncate"]))
        if action == "drop":
            del lines[i]
        elif action == "dup":
            lines.insert(i, lines[i])
        elif action == "indent":
            lines[i] = "  " + lines[i]
        elif action == "dedent":
            lines[i] = lines[i].lstrip()
        elif action == "replace":
            head, _, _ = lines[i].partition(":")
            lines[i] = head + ": " + data.draw(st.one_of(yaml_scalar.map(str), text))
        else:
            lines[i] = lines[i][:data.draw(st.integers(0, max(0, len(lines[i]) - 1)))]
        if not lines:
            break
    check_mapping_reader("\n".join(lines))


@pytest.mark.parametrize("source", [
    "a: &x [*x]",  # a recursive alias
    "article: !!python/object/apply:os.system ['true']",  # the round-trip loader builds no Python objects
    "article:\n  text: a.txt\n  text: b.txt",  # a duplicate key
    "\ufeffarticle: {}",
    "article:\n  published: 2021-02-30\n",  # ruamel would build a date and raise a bare ValueError
    "x: " + "y" * 200_000,
    # Found by the fuzzers below, fixed in mapping.py: each escaped the reader as another exception.
    "article: \x08",  # ruamel's ReaderError is not a MarkedYAMLError
    "[" * 1200,  # RecursionError in ruamel's recursive composer
    "events: !!python/object:os.system\n  - id: x\n",  # TypeError: a tagged sequence has no line info
])
def test_mapping_reader_hostile_yaml_is_a_located_error(source):
    check_mapping_reader(source)


@FEW
@given(query=query_text, extra=params, accept_header=st.one_of(st.none(), header_value),
       junk_header=header_value)
def test_fuzz_real_server_never_fails_on_our_side(served, query, extra, accept_header, junk_header):
    url = served.sparql + "?" + urllib.parse.urlencode({"query": query, **extra})
    request = urllib.request.Request(url, headers={"X-Junk": junk_header})
    if accept_header is not None:
        request.add_header("Accept", accept_header)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            status, body = response.status, response.read()
    except urllib.error.HTTPError as exc:
        status, body = exc.code, exc.read()
        assert exc.headers.get_content_type() in ("application/json", "text/plain")
    timeout = status == 503 and json.loads(body)["error"] == "query-timeout"  # a random cartesian product
    assert status < 500 or timeout, body[:300]
    assert b"Traceback" not in body


def test_huge_headers_are_refused_by_the_server_not_crashing_it(served):
    import http.client

    host, port = served.url.removeprefix("http://").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=30)
    connection.putrequest("GET", "/sparql?query=ASK%7B%7D")
    connection.putheader("Accept", "text/csv;q=0.1, " * 40_000)  # ~640 kB, beyond waitress's header limit
    connection.endheaders()
    response = connection.getresponse()
    assert 400 <= response.status < 500 and b"Traceback" not in response.read()
    connection.close()
    with urllib.request.urlopen(served.url + "/healthz", timeout=10) as health:
        assert health.status == 200


def test_deep_flow_nesting_is_refused_in_bounded_time():
    """ruamel.yaml's scanner re-checks every open flow level at each token (stale_possible_simple_keys),
    so ``[[[[...`` costs seconds before the composer's recursion gives up; it must give up, whatever the
    upload's size. Run apart, so a regression costs a bounded wait, not the suite."""
    import subprocess
    import sys

    code = ("import sys; from pathlib import Path; from kg_service.mapping import load_mapping\n"
            "from kg_service.errors import KgError\n"
            "try:\n    load_mapping(Path('deep.yaml'), text=sys.stdin.read())\n"
            "except KgError as exc:\n    print(type(exc).__name__, exc.location.file)\n")
    done = subprocess.run([sys.executable, "-c", code], input="[" * 500_000, capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 0, done.stderr[-500:]
    assert done.stdout.split() == ["InputError", "deep.yaml"]


ARTICLE = Path(__file__).resolve().parent / "articles" / "t01_export_controls_2019"
VALIDATE = settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@VALIDATE
@given(data=st.data(), report=st.sampled_from([None, "json", "turtle", "html", "xml", ""]),
       accept_header=accept)
def test_fuzz_validator_answers_every_mangled_article(client, data, report, accept_header):
    lines = ARTICLE.with_suffix(".yaml").read_text(encoding="utf-8").splitlines()
    for _ in range(data.draw(st.integers(1, 3))):
        i = data.draw(st.integers(0, len(lines) - 1))
        head, _, _ = lines[i].partition(":")
        lines[i] = head + ": " + data.draw(st.one_of(yaml_scalar.map(str), text))
    article_text = ARTICLE.with_suffix(".txt").read_text(encoding="utf-8")
    if data.draw(st.booleans()):
        cut = data.draw(st.integers(0, len(article_text)))
        article_text = article_text[:cut] + data.draw(text) + article_text[cut:]
    form = {"mapping": "\n".join(lines), "text": article_text}
    if report is not None:
        form["format"] = report
    headers = {} if accept_header is None else {"Accept": accept_header}
    assert_deliberate(client.post("/validate", data=form, headers=headers),
                      # an empty format= is no format: the Accept header decides, as without one
                      html_ok=report == "html" or not report and accept_header is not None)


@FUZZ
@given(body=st.one_of(st.binary(max_size=300), text.map(str.encode),
                      st.sampled_from([b"<urn:a> <urn:b> ", b"{\"@id\": 1}", b"<rdf:RDF", b"@prefix : <",
                                       b"\xef\xbb\xbf", b"[", b"{\"@context\": [1, {\"@import\": null}]}",
                                       b"<a:b> <a:c> <a:d> ."])),
       content_type=st.one_of(st.sampled_from(["text/turtle", "application/ld+json", "application/rdf+xml",
                                               "application/n-triples", "application/trig", "application/n-quads",
                                               "text/html", "application/json", "multipart/form-data", ""]),
                              header_value))
def test_fuzz_validator_answers_every_rdf_body(client, body, content_type):
    headers = {"Content-Type": content_type} if content_type else {}
    assert_deliberate(client.post("/validate", data=body, headers=headers))


raw_method = st.sampled_from(["GET", "POST", "PUT", "DELETE", "HEAD", "OPTIONS", "PATCH", "POST"])
raw_path = st.one_of(st.sampled_from(["/sparql", "/sparql?query=ASK%7B%7D", "/query", "/store", "/dump.nq", "/",
                                      "/queries/agreements", "/validate", "/sparql?update=x", "/%FF%FE", "/sparql/"]),
                     st.text(st.characters(min_codepoint=0x21, max_codepoint=0x7e), max_size=40).map(lambda p: "/" + p))
raw_content_type = st.one_of(st.none(), st.sampled_from(["application/x-www-form-urlencoded",
                                                         "application/sparql-query", "application/sparql-update",
                                                         "application/sparql-query; charset=latin-1",
                                                         "multipart/form-data; boundary=x", "text/turtle"]),
                             header_value)


@FEW
@given(method=raw_method, path=raw_path, content_type=raw_content_type, body=st.binary(max_size=300),
       length=st.one_of(st.none(), st.sampled_from(["0", "5", "-1", "99999999999", "abc"])),
       chunked=st.booleans(), accept_header=st.one_of(st.none(), header_value))
def test_fuzz_raw_requests_to_the_fronts_server(served, method, path, content_type, body, length, chunked,
                                                accept_header):
    """Raw HTTP to the real front (granian, the RSGI bridge, the lean path, the app): whatever the method,
    path, type, declared length (wrong, negative, huge) or framing, the answer is a status below 500 or the
    connection closed, never a traceback; the service answers afterwards."""
    import socket

    host, port = served.url.removeprefix("http://").split(":")
    head = [f"{method} {path} HTTP/1.1", f"Host: {host}", "Connection: close"]
    if content_type is not None:
        head.append(f"Content-Type: {content_type}")
    if accept_header is not None:
        head.append(f"Accept: {accept_header}")
    if chunked:
        head.append("Transfer-Encoding: chunked")
        payload = (f"{len(body):x}\r\n".encode() + body + b"\r\n0\r\n\r\n") if body else b"0\r\n\r\n"
    else:
        head.append(f"Content-Length: {length if length is not None else len(body)}")
        payload = body
    data = b""
    with socket.create_connection((host, int(port)), timeout=30) as conn:
        conn.sendall("\r\n".join(head).encode("latin-1") + b"\r\n\r\n" + payload)
        conn.shutdown(socket.SHUT_WR)  # a short body ends here instead of leaving the server waiting for more
        try:
            while chunk := conn.recv(65536):
                data += chunk
        except (ConnectionResetError, TimeoutError):
            pass
    if data:
        status = int(data.split(b" ", 2)[1])
        timeout = status == 503 and b"query-timeout" in data  # a random query may run to its limit
        assert status < 500 or timeout, data[:300]
        assert b"Traceback" not in data
    with urllib.request.urlopen(served.url + "/healthz", timeout=10) as health:
        assert health.status == 200
