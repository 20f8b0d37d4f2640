"""Graph Store Protocol reads, dumps with caching headers, and the named queries."""

from __future__ import annotations

import gzip
from dataclasses import replace

import pyoxigraph as ox
import pytest
from rdflib import Dataset, Graph

from kg_service.web import create_app

pytestmark = pytest.mark.filterwarnings("ignore:ConjunctiveGraph is deprecated:DeprecationWarning")
META = "https://w3id.org/kg-service/graph/meta"


def test_data_named_graph_in_negotiated_format(client, kg):
    response = client.get("/data", query_string={"graph": META}, headers={"Accept": "application/n-triples"})
    assert response.status_code == 200 and response.mimetype == "application/n-triples"
    expected = sum(1 for _ in kg.store.quads_for_pattern(None, None, None, ox.NamedNode(META)))
    assert len(Graph().parse(data=response.data, format="nt")) == expected


def test_data_default_graph_is_the_union(client):
    response = client.get("/data?default", headers={"Accept": "text/turtle"})
    assert response.status_code == 200 and len(Graph().parse(data=response.data, format="turtle")) > 0


@pytest.mark.parametrize("query", ["", "?default&graph=" + META])
def test_data_needs_exactly_one_graph(client, query):
    assert client.get("/data" + query).status_code == 400


def test_data_unknown_graph_is_404(client):
    assert client.get("/data", query_string={"graph": "https://example.org/none"}).status_code == 404


@pytest.mark.parametrize("ext,rdflib_format", [("trig", "trig"), ("nq", "nquads"), ("jsonld", "json-ld")])
def test_dataset_dumps_keep_the_named_graphs(client, kg, ext, rdflib_format):
    response = client.get(f"/dump.{ext}")
    assert response.status_code == 200 and "attachment" in response.headers["Content-Disposition"]
    dataset = Dataset()
    dataset.parse(data=response.data, format=rdflib_format)
    assert len(list(dataset.quads())) == len(kg)


def test_dump_gzip_etag_and_304(client):
    first = client.get("/dump.ttl", headers={"Accept-Encoding": "gzip, deflate"})
    assert first.headers["Content-Encoding"] == "gzip"
    assert len(Graph().parse(data=gzip.decompress(first.data), format="turtle")) > 0
    assert first.headers["ETag"] and first.headers["Last-Modified"]
    again = client.get("/dump.ttl", headers={"Accept-Encoding": "gzip", "If-None-Match": first.headers["ETag"]})
    assert again.status_code == 304
    since = client.get("/dump.ttl", headers={"If-Modified-Since": first.headers["Last-Modified"]})
    assert since.status_code == 304
    plain = client.get("/dump.ttl")
    assert "Content-Encoding" not in plain.headers and plain.headers["ETag"] != first.headers["ETag"]


def test_unknown_dump_is_404(client):
    assert client.get("/dump.docx").status_code == 404


def test_named_queries_are_listed_with_titles(client):
    queries = client.get("/queries/").get_json()["queries"]
    assert queries and all(q["title"] for q in queries)


@pytest.mark.parametrize("fmt", ["json", "xml", "csv", "tsv"])
def test_every_named_query_runs_in_every_result_format(client, fmt):
    for query in client.get("/queries/").get_json()["queries"]:
        response = client.get(f"/queries/{query['name']}", query_string={"format": fmt})
        if response.status_code == 406:  # a CONSTRUCT query: graph formats only
            continue
        assert response.status_code == 200, (query["name"], response.get_data(as_text=True))


def test_named_query_parameter_is_bound_not_spliced(settings, kg, pool, tmp_path):
    (tmp_path / "by-name.rq").write_text(
        "# title: A person by name\n# param: name (string) the exact preferred name\n"
        "SELECT ?name ?person WHERE { ?person a <https://w3id.org/kg-service/ontology#Person> ;\n"
        "  <http://www.w3.org/2004/02/skos/core#prefLabel> ?label . FILTER(STR(?label) = ?name) }\n",
        encoding="utf-8")
    app = create_app(replace(settings, queries_dir=tmp_path), kg, pool=pool)
    client = app.test_client()

    def people(value: str) -> list[str]:
        response = client.get("/queries/by-name", query_string={"name": value, "format": "json"})
        assert response.status_code == 200, response.get_data(as_text=True)
        return [b["person"]["value"] for b in response.get_json()["results"]["bindings"]]

    assert people("Park Jin") == ["https://w3id.org/kg-service/id/person/park-jin"]
    # Spliced into the text this would close the string and match every person; bound, it is just a name.
    assert people('" || true) } #') == []


def test_named_query_unknown_parameter_or_name(client):
    name = client.get("/queries/").get_json()["queries"][0]["name"]
    assert client.get(f"/queries/{name}", query_string={"nope": "1"}).status_code == 400
    assert client.get("/queries/no-such-query").status_code == 404


@pytest.mark.parametrize("fmt", ["nq", "ttl", "trig"])
def test_the_cli_dump_and_the_http_dump_are_the_same_bytes(client, fmt):
    from click.testing import CliRunner

    from kg_service.cli import cli

    result = CliRunner().invoke(cli, ["dump", "--format", fmt])
    assert result.exit_code == 0, result.output
    assert result.stdout_bytes == client.get(f"/dump.{fmt}").get_data()
