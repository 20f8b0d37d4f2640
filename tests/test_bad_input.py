"""The bad-input battery: what cannot be read is refused with where it broke (CLI exit 2, HTTP 400),
too much is 413, an unknown type 415, and nothing handed in makes the service read a file or open
a connection."""

from __future__ import annotations

import io
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import ARTICLES_DIR
from flask.testing import FlaskClient

from kg_service.cli import cli
from kg_service.errors import InputError
from kg_service.intake import parse_rdf, rdf_format

T02 = ARTICLES_DIR / "t02_forced_labour_ruling_2018.yaml"
TEXT = T02.with_suffix(".txt")

BAD_YAML = b"article:\n  text: a.txt\n  title: [unclosed\nevents: []\n"
BAD_TURTLE = b"@prefix ex: <http://example.org/> .\nex:a ex:b ex:c .\nex:d ex:e \n  ex:f ex:g .\n"
XXE = b"""<?xml version="1.0"?>
<!DOCTYPE rdf:RDF [<!ENTITY secret SYSTEM "file:///etc/passwd">]>
<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns:ex="http://example.org/">
  <rdf:Description rdf:about="http://example.org/a"><ex:p>&secret;</ex:p></rdf:Description>
</rdf:RDF>
"""
REMOTE_CONTEXT = b'{"@context": "https://schema.org/", "@id": "http://example.org/a", "name": "x"}'
SCOPED_REMOTE_CONTEXT = (b'{"@context": {"knows": {"@id": "http://example.org/knows", "@context": '
                         b'"http://example.org/ctx.jsonld"}}, "@id": "http://example.org/a"}')


@pytest.fixture()
def no_network(monkeypatch: pytest.MonkeyPatch) -> list[object]:
    """Fail the test's connections instead of making them, and record each attempt."""
    attempts: list[object] = []

    def refuse(self: socket.socket, address: object) -> None:
        attempts.append(address)
        raise OSError("network access in a test")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    return attempts


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, list(args))
    return result.exit_code, result.output


def post_files(client: FlaskClient, mapping: bytes | None, text: bytes | None, name: str = "new.yaml"):  # noqa: ANN201
    data = {}
    if mapping is not None:
        data["mapping"] = (io.BytesIO(mapping), name)
    if text is not None:
        data["text"] = (io.BytesIO(text), "new.txt")
    return client.post("/validate", data=data, content_type="multipart/form-data")


# --- CLI ---------------------------------------------------------------------------------------------------


@pytest.fixture()
def listener() -> Iterator[tuple[str, socket.socket]]:
    """A real socket listening on 127.0.0.1 that a test's code must never connect to."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(8)
    sock.setblocking(False)
    yield f"http://127.0.0.1:{sock.getsockname()[1]}/", sock
    sock.close()


def connections(sock: socket.socket) -> int:
    count = 0
    while True:
        try:
            conn, _ = sock.accept()
        except BlockingIOError:
            return count
        conn.close()
        count += 1


@pytest.mark.parametrize("template", ["SELECT * {{ SERVICE <{url}> {{ ?s ?p ?o }} }}",
                                      "SELECT * {{ service silent <{url}> {{ ?s ?p ?o }} }}",
                                      "LOAD <{url}>", "SELECT * FROM <{url}> {{ ?s ?p ?o }}"])
def test_cli_query_refuses_service_and_load_like_the_endpoint(client: FlaskClient, listener, template: str) -> None:
    url, sock = listener
    text = template.format(url=url)
    code, output = run("query", text)
    endpoint = client.post("/sparql", data={"query": text})
    assert connections(sock) == 0  # nothing reached the network, from either face
    if "FROM" in text:  # names a graph of the store; never fetched
        assert code == 0 and endpoint.status_code == 200
        return
    assert code == 2 and endpoint.status_code in (400, 403)
    assert output.count("\n") == 1 and endpoint.get_json()["message"] in output


def test_cli_query_reads_stdin_and_any_query_file(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["query", "-", "--format", "csv"], input="SELECT (1 AS ?one) {}")
    assert result.exit_code == 0 and result.stdout.split() == ["one", "1"]
    plain = tmp_path / "plain.rq"
    plain.write_text("# no title here\nASK { ?s ?p ?o }\n", encoding="utf-8")
    code, output = run("query", str(plain), "--format", "json")
    assert code == 0 and '"boolean":true' in output


def test_cli_query_with_a_mistyped_file_is_one_line_and_exit_2(tmp_path: Path) -> None:
    missing = tmp_path / "agreemnts.rq"
    code, output = run("query", str(missing))
    assert code == 2
    assert output == f"error: {missing}: cannot read the query file: No such file or directory\n"


def test_cli_query_refuses_what_the_guard_bounds_with_its_location() -> None:
    code, output = run("query", "SELECT * { ?s <urn:p> " + ", ".join(["?o"] * 5000) + " }")
    assert code == 2 and output.startswith("error: 1:") and "more than" in output and output.count("\n") == 1


def test_malformed_yaml_names_line_and_column(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_bytes(BAD_YAML)
    code, output = run("validate", str(bad), "--text", str(TEXT))
    assert code == 2
    assert f"{bad}:4:7: YAML syntax error" in output


def test_malformed_turtle_names_line_and_column(tmp_path: Path) -> None:
    bad = tmp_path / "bad.ttl"
    bad.write_bytes(BAD_TURTLE)
    code, output = run("validate", str(bad))
    assert code == 2
    assert f"{bad}:4:8: not valid Turtle: A dot is expected at the end of statements" in output


def test_wrong_encoding_names_line_and_column(tmp_path: Path) -> None:
    text = tmp_path / "latin1.txt"
    text.write_bytes("Seoul, October 30\nCaf\u00e9 talks".encode("latin-1"))
    code, output = run("validate", str(T02), "--text", str(text))
    assert code == 2
    assert f"{text}:2:4: not UTF-8: byte 0xe9" in output


@pytest.mark.parametrize("content", [b"", b"  \n\n"], ids=["empty", "blank"])
def test_empty_mapping_is_unreadable(tmp_path: Path, content: bytes) -> None:
    empty = tmp_path / "empty.yaml"
    empty.write_bytes(content)
    code, output = run("validate", str(empty), "--text", str(TEXT))
    assert (code, output.strip()) == (2, f"error: {empty}:1:1: the file is empty")


def test_empty_rdf_file_is_unreadable(tmp_path: Path) -> None:
    empty = tmp_path / "empty.ttl"
    empty.write_bytes(b"")
    assert run("validate", str(empty)) == (2, f"error: {empty}:1:1: the file is empty\n")


def test_mapping_whose_text_is_missing(tmp_path: Path) -> None:
    mapping = tmp_path / T02.name
    mapping.write_bytes(T02.read_bytes())
    code, output = run("validate", str(mapping))
    assert code == 2
    assert (f"{mapping}:3: article.text: the article text 't02_forced_labour_ruling_2018.txt' is missing"
            in output)


def test_unknown_file_type_is_refused(tmp_path: Path) -> None:
    doc = tmp_path / "notes.docx"
    doc.write_bytes(b"PK\x03\x04")
    code, output = run("validate", str(doc))
    assert code == 2 and "cannot validate 'notes.docx'" in output


def test_rdfxml_external_entity_is_refused_and_never_read(tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET-CONTENT", encoding="utf-8")
    xxe = tmp_path / "xxe.rdf"
    xxe.write_bytes(XXE.replace(b"file:///etc/passwd", secret.as_uri().encode()))
    code, output = run("validate", str(xxe), "--format", "json")
    assert code == 2
    assert f"{xxe}:2:1: RDF/XML with a DOCTYPE or entity declaration is refused" in output
    assert "TOP-SECRET-CONTENT" not in output and "root:" not in output


def test_rdfxml_parser_itself_expands_no_external_entity() -> None:
    """Beneath the DOCTYPE check, the parser (Oxigraph) refuses external entities too."""
    import pyoxigraph as ox

    with pytest.raises(SyntaxError):
        list(ox.parse(XXE, format=ox.RdfFormat.RDF_XML))


@pytest.mark.parametrize("document", [REMOTE_CONTEXT, SCOPED_REMOTE_CONTEXT], ids=["top", "scoped"])
def test_jsonld_remote_context_is_refused_without_network(no_network: list[object], tmp_path: Path,
                                                          document: bytes) -> None:
    doc = tmp_path / "remote.jsonld"
    doc.write_bytes(document)
    code, output = run("validate", str(doc))
    assert code == 2 and "JSON-LD with a remote @context is refused" in output
    assert no_network == []


def test_jsonld_inline_context_is_read() -> None:
    data = b'{"@context": {"name": "http://example.org/name"}, "@id": "http://example.org/a", "name": "x"}'
    assert len(parse_rdf(data, rdf_format("a.jsonld"), "a.jsonld")) == 1


def test_malformed_jsonld_names_line_and_column() -> None:
    with pytest.raises(InputError) as caught:
        parse_rdf(b'{\n  "@id": "http://example.org/a",\n  "name" "x"\n}', rdf_format("a.jsonld"), "a.jsonld")
    assert (caught.value.location.line, caught.value.location.column) == (3, 10)


def test_owl_imports_is_not_followed(no_network: list[object], tmp_path: Path) -> None:
    doc = tmp_path / "imports.ttl"
    doc.write_bytes(b"<http://example.org/o> <http://www.w3.org/2002/07/owl#imports> <http://example.org/x.ttl> .\n")
    code, _output = run("validate", str(doc))
    assert code == 0 and no_network == []


# --- HTTP --------------------------------------------------------------------------------------------------


def test_http_malformed_yaml_is_400_with_line_and_column(client: FlaskClient) -> None:
    response = post_files(client, BAD_YAML, TEXT.read_bytes(), "bad.yaml")
    assert response.status_code == 400
    assert response.json["location"] == {"file": "bad.yaml", "line": 4, "column": 7}
    assert response.json["message"].startswith("YAML syntax error")


def test_http_malformed_turtle_is_400_with_line_and_column(client: FlaskClient) -> None:
    response = client.post("/validate", data=BAD_TURTLE, content_type="text/turtle")
    assert response.status_code == 400
    assert response.json["location"] == {"file": "body", "line": 4, "column": 8}


def test_http_wrong_encoding_is_400(client: FlaskClient) -> None:
    response = post_files(client, T02.read_bytes(), b"Seoul\n\xff\xfe")
    assert response.status_code == 400
    assert response.json["location"] == {"file": "new.txt", "line": 2, "column": 1}


def test_http_empty_mapping_is_400(client: FlaskClient) -> None:
    response = post_files(client, b"", TEXT.read_bytes())
    assert response.status_code == 400
    assert response.json["message"] == "the file is empty"
    assert response.json["location"] == {"file": "new.yaml", "line": 1, "column": 1}


def test_http_mapping_without_text_is_400(client: FlaskClient) -> None:
    response = post_files(client, T02.read_bytes(), None, "t02.yaml")
    assert response.status_code == 400
    assert response.json["location"] == {"file": "t02.yaml", "field": "text"}
    assert "article text is missing" in response.json["message"]


def test_http_oversized_upload_is_413(client: FlaskClient, app) -> None:  # noqa: ANN001
    limit = app.extensions["kg_service"].settings.max_upload_bytes
    response = client.post("/validate", data=b"#" * (limit + 1), content_type="text/turtle")
    assert response.status_code == 413 and response.is_json
    assert response.json["status"] == 413


def test_http_unsupported_type_is_415(client: FlaskClient) -> None:
    response = client.post("/validate", data=b"hello", content_type="application/msword")
    assert response.status_code == 415 and response.json["error"] == "unsupported-media-type"


def test_http_xxe_is_refused_and_never_read(client: FlaskClient) -> None:
    response = client.post("/validate", data=XXE, content_type="application/rdf+xml")
    assert response.status_code == 400
    assert "DOCTYPE" in response.json["message"] and "root:" not in response.get_data(as_text=True)


def test_http_jsonld_remote_context_is_refused(client: FlaskClient, no_network: list[object]) -> None:
    response = client.post("/validate", data=REMOTE_CONTEXT, content_type="application/ld+json")
    assert response.status_code == 400 and "remote @context" in response.json["message"]
    assert no_network == []


def test_http_errors_carry_no_traceback(client: FlaskClient) -> None:
    response = post_files(client, BAD_YAML, TEXT.read_bytes())
    assert "Traceback" not in response.get_data(as_text=True)


def test_http_oversized_multipart_upload_is_413(settings, kg, pool) -> None:  # noqa: ANN001
    """With a small limit (werkzeug's test client spools a large body to a file it never closes)."""
    from dataclasses import replace

    from kg_service.web import create_app

    small = create_app(replace(settings, max_upload_bytes=4000), kg, pool=pool).test_client()
    response = post_files(small, T02.read_bytes(), b"x" * 4000)
    assert response.status_code == 413 and response.json["status"] == 413
    assert "4000" in response.json["message"]


@pytest.mark.parametrize("source,where,fragment", [
    ("article: \x08", (1, 10), "the character U+0008 is not allowed in YAML"),
    ("[" * 5000, (1, 65), "nested more than 64 deep"),
], ids=["control-character", "deep-nesting"])
def test_hostile_yaml_is_a_located_input_error(source: str, where: tuple, fragment: str) -> None:
    from kg_service.mapping import load_mapping

    with pytest.raises(InputError) as caught:
        load_mapping(Path("hostile.yaml"), source)
    assert (caught.value.location.line, caught.value.location.column) == where
    assert fragment in caught.value.message


def test_tagged_yaml_nodes_are_schema_findings_not_crashes(client: FlaskClient) -> None:
    response = post_files(client, b"events: !!python/object:os.system\n  - id: x\n", TEXT.read_bytes(), "t.yaml")
    assert response.status_code == 200 and response.json["conforms"] is False
    assert {"file": "t.yaml", "line": 1}.items() <= response.json["results"][0].items()


def test_browser_gets_the_form_back_with_the_error(client: FlaskClient) -> None:
    form = {"mapping": "article:\n  text: a.txt\n  title: [unclosed\nevents: []\n", "text": "x", "format": "html"}
    response = client.post("/validate", data=form, content_type="application/x-www-form-urlencoded")
    assert response.status_code == 400 and response.mimetype == "text/html"
    page = " ".join(response.get_data(as_text=True).split())
    assert 'role="alert">Cannot validate: mapping:4:7: YAML syntax error' in page
    assert 'name="mapping"' in page


def test_deeply_nested_rdfxml_is_refused_before_parsing(client: FlaskClient) -> None:
    body = ('<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns:ex="http://example.org/">\n'
            + "<rdf:Description><ex:p>" * 5000 + "x")
    response = client.post("/validate", data=body.encode(), content_type="application/rdf+xml")
    assert response.status_code == 400
    assert "256 deep" in response.json["message"] and response.json["location"]["line"] == 2
