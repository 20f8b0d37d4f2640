"""The SPARQL 1.1 Protocol update operation: off by default, and when allowed, serialised, visible at once,
dataset options as USING clauses, nothing fetched, and a write token honoured when one is set."""

from __future__ import annotations

from pathlib import Path

import pyoxigraph as ox
import pytest
from conftest import served_file
from flask.testing import FlaskClient

from kg_service.settings import Settings
from kg_service.store import KnowledgeGraph
from kg_service.web import create_app

DATA = b"""<http://ex/a> <http://ex/p> "one" <http://ex/g1> .
<http://ex/b> <http://ex/p> "two" <http://ex/g2> .
"""
ASK_NEW = "ASK { GRAPH <http://ex/new> { <http://ex/a> a <http://ex/Thing> } }"


def make_client(pool, *, allow: bool = True, token: str = "", union: bool = False) -> FlaskClient:  # noqa: ANN001
    """An app serving a dataset file (as `serve --data` does), with updates allowed or not."""
    settings = Settings.from_env({}, allow_updates=allow, write_token=token, query_timeout_s=5.0)
    kg = KnowledgeGraph.from_file(served_file(DATA), union_default_graph=union)
    return create_app(settings, kg, pool=pool).test_client()


def ask(client: FlaskClient, text: str) -> bool:
    response = client.post("/sparql", data={"query": text}, headers={"Accept": "application/sparql-results+json"})
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()["boolean"]


def test_updates_are_refused_by_default(pool) -> None:  # noqa: ANN001
    client = make_client(pool, allow=False)
    response = client.post("/sparql", data={"update": "INSERT DATA { <http://ex/x> <http://ex/p> 1 }"})
    assert response.status_code == 403
    assert response.get_json()["error"] == "read-only"
    direct = client.post("/sparql", data=b"CLEAR ALL", content_type="application/sparql-update")
    assert direct.status_code == 403
    assert ask(client, "ASK { GRAPH <http://ex/g1> { ?s ?p ?o } }")


@pytest.mark.parametrize("how", ["form", "direct"])
def test_an_allowed_update_is_seen_by_the_next_query(pool, how: str) -> None:  # noqa: ANN001
    client = make_client(pool)
    text = "INSERT DATA { GRAPH <http://ex/new> { <http://ex/a> a <http://ex/Thing> } }"
    assert not ask(client, ASK_NEW)
    if how == "form":
        response = client.post("/sparql", data={"update": text})
    else:
        response = client.post("/sparql", data=text.encode(), content_type="application/sparql-update")
    assert response.status_code == 204, response.get_data(as_text=True)
    assert ask(client, ASK_NEW)
    assert client.get("/data?graph=http://ex/new", headers={"Accept": "application/n-triples"}).status_code == 200


def test_using_graph_uri_becomes_the_update_dataset(pool) -> None:  # noqa: ANN001
    client = make_client(pool)
    text = "INSERT { GRAPH <http://ex/new> { ?s a <http://ex/Thing> } } WHERE { ?s <http://ex/p> ?o }"
    response = client.post("/sparql?using-graph-uri=http://ex/g1", data=text.encode(),
                           content_type="application/sparql-update")
    assert response.status_code == 204, response.get_data(as_text=True)
    assert ask(client, ASK_NEW)  # <a> is in g1
    assert not ask(client, "ASK { GRAPH <http://ex/new> { <http://ex/b> ?p ?o } }")  # <b> is only in g2


def test_using_graph_uri_and_using_in_the_text_is_a_400(pool) -> None:  # noqa: ANN001
    client = make_client(pool)
    text = "INSERT { ?s a <http://ex/T> } USING <http://ex/g2> WHERE { ?s ?p ?o }"
    response = client.post("/sparql?using-graph-uri=http://ex/g1", data=text.encode(),
                           content_type="application/sparql-update")
    assert response.status_code == 400
    assert "USING" in response.get_json()["message"]


@pytest.mark.parametrize("text", ["LOAD <file:///etc/passwd>",
                                  "INSERT { ?s ?p ?o } WHERE { SERVICE <http://127.0.0.1:9/> { ?s ?p ?o } }"])
def test_an_update_never_fetches(pool, text: str) -> None:  # noqa: ANN001
    response = make_client(pool).post("/sparql", data={"update": text})
    assert response.status_code == 400
    assert "disabled" in response.get_json()["message"]


def test_a_deeply_nested_update_is_refused_before_it_runs(pool) -> None:  # noqa: ANN001
    client = make_client(pool)
    text = "INSERT { ?s ?p ?o } WHERE { " + "{ " * 5000 + "?s ?p ?o" + " }" * 5000 + " }"
    response = client.post("/sparql", data={"update": text})
    message = response.get_json()["message"]
    assert response.status_code == 400 and ("deep" in message or "more than" in message), message
    assert ask(client, "ASK { GRAPH <http://ex/g1> { ?s ?p ?o } }")  # the service is still here


def test_a_malformed_update_is_a_400_and_changes_nothing(pool) -> None:  # noqa: ANN001
    client = make_client(pool)
    response = client.post("/sparql", data={"update": "INSERT DATA { <http://ex/a> <http://ex/p> ; DROP ALL"})
    assert response.status_code == 400
    assert "syntax" in response.get_json()["message"]
    assert ask(client, "ASK { GRAPH <http://ex/g1> { ?s ?p ?o } }")


def test_a_configured_token_is_required(pool) -> None:  # noqa: ANN001
    client = make_client(pool, token="s3cret")
    text = "DROP ALL"
    missing = client.post("/sparql", data={"update": text})
    assert missing.status_code == 401 and missing.headers["WWW-Authenticate"].startswith("Bearer")
    wrong = client.post("/sparql", data={"update": text}, headers={"Authorization": "Bearer nope"})
    assert wrong.status_code == 401 and "nope" not in wrong.get_data(as_text=True)
    assert ask(client, "ASK { GRAPH <http://ex/g1> { ?s ?p ?o } }")
    right = client.post("/sparql", data={"update": text}, headers={"Authorization": "Bearer s3cret"})
    assert right.status_code == 204
    assert not ask(client, "ASK { GRAPH ?g { ?s ?p ?o } }")


def test_updates_are_refused_on_a_union_default_graph(pool) -> None:  # noqa: ANN001
    response = make_client(pool, union=True).post("/sparql", data={"update": "DROP ALL"})
    assert response.status_code == 403
    assert "union" in response.get_json()["message"]


def test_an_update_by_get_is_refused(pool) -> None:  # noqa: ANN001
    response = make_client(pool).get("/sparql?update=DROP%20ALL")
    assert response.status_code == 400


@pytest.mark.parametrize("allow", [True, False])
def test_the_service_description_says_whether_updates_are_accepted(pool, allow: bool) -> None:  # noqa: ANN001
    from rdflib import Graph, URIRef

    response = make_client(pool, allow=allow).get("/sparql", headers={"Accept": "text/turtle"})
    description = Graph().parse(data=response.data, format="turtle")
    update = URIRef("http://www.w3.org/ns/sparql-service-description#SPARQL11Update")
    assert (None, None, update) in description if allow else (None, None, update) not in description


def test_serve_data_with_allow_updates_accepts_an_update(tmp_path) -> None:  # noqa: ANN001
    """The real command line: `kg-service serve --data FILE --allow-updates`, then an update and a query."""
    import socket
    import subprocess
    import sys
    import time
    import urllib.request

    data = tmp_path / "data.nq"
    data.write_bytes(DATA)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = subprocess.Popen([sys.executable, "-m", "kg_service.cli", "serve", "--data", str(data), "--allow-updates",
                               "--port", str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                urllib.request.urlopen(base + "/healthz", timeout=2).close()
                break
            except OSError:
                assert server.poll() is None and time.monotonic() < deadline, server.stderr.read().decode()
                time.sleep(0.1)
        update = urllib.request.Request(base + "/sparql", method="POST", data=b"DROP GRAPH <http://ex/g1>",
                                        headers={"Content-Type": "application/sparql-update"})
        with urllib.request.urlopen(update, timeout=10) as response:
            assert response.status == 204
        ask_g1 = b"ASK { GRAPH <http://ex/g1> { ?s ?p ?o } }"
        query = urllib.request.Request(base + "/sparql", method="POST", data=ask_g1,
                                       headers={"Content-Type": "application/sparql-query",
                                                "Accept": "application/sparql-results+json"})
        with urllib.request.urlopen(query, timeout=10) as response:
            assert b"false" in response.read()
    finally:
        server.terminate()
        server.wait(timeout=10)
        server.stderr.close()


def test_serve_refuses_allow_updates_on_the_seeds() -> None:
    from click.testing import CliRunner

    from kg_service.cli import cli

    result = CliRunner().invoke(cli, ["serve", "--allow-updates"])
    assert result.exit_code == 2 and "--data" in result.output


def test_a_using_graph_uri_cannot_smuggle_a_load(pool) -> None:  # noqa: ANN001
    """The protocol's dataset IRIs are pasted into the update as USING <...>: one that closes its
    brackets must be refused, not run (it would LOAD from any URL)."""
    import socket

    client = make_client(pool)
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        listener.settimeout(0.5)
        port = listener.getsockname()[1]
        evil = f"http://x> WHERE {{}} ; LOAD <http://127.0.0.1:{port}/evil.ttl> ; DELETE {{ ?s ?p ?o }} USING <http://y"
        response = client.post("/sparql", query_string={"using-graph-uri": evil},
                               data=b"DELETE { ?s ?p ?o } WHERE { ?s ?p ?o }", content_type="application/sparql-update")
        assert response.status_code == 400 and response.get_json()["location"]["field"] == "using-graph-uri"
        with pytest.raises(TimeoutError):
            listener.accept()
    assert ask(client, "ASK { GRAPH <http://ex/g1> { ?s ?p ?o } }")


def test_the_seeds_never_take_updates(pool, kg) -> None:  # noqa: ANN001
    """Even with updates allowed and the union off, the seeds' graph is changed only by adding articles."""
    seeds = KnowledgeGraph.from_nquads(kg.store.dump(format=ox.RdfFormat.N_QUADS), union_default_graph=False)
    settings = Settings.from_env({}, allow_updates=True, query_timeout_s=5.0)
    client = create_app(settings, seeds, pool=pool).test_client()
    response = client.post("/sparql", data={"update": "DELETE WHERE { GRAPH ?g { ?s ?p ?o } }"})
    assert response.status_code == 403 and "adding articles" in response.get_json()["message"]


def test_anonymous_updates_are_refused_on_a_public_address(tmp_path) -> None:  # noqa: ANN001
    from click.testing import CliRunner

    from kg_service.cli import cli

    data = tmp_path / "data.nq"
    data.write_bytes(DATA)
    result = CliRunner().invoke(cli, ["serve", "--data", str(data), "--allow-updates", "--host", "0.0.0.0"], env={})
    assert result.exit_code == 2 and "KG_WRITE_TOKEN" in result.output


def test_a_broken_dataset_file_for_a_persistent_store_is_a_located_error(tmp_path) -> None:  # noqa: ANN001
    from click.testing import CliRunner

    from kg_service.cli import cli

    data = tmp_path / "bad.nq"
    data.write_bytes(DATA + b"<http://ex/c> <http://ex/p> .\n")
    result = CliRunner().invoke(cli, ["serve", "--data", str(data), "--store", str(tmp_path / "store"), "--port", "0"])
    assert result.exit_code == 2 and f"{data}:3" in result.output, result.output


def test_old_versions_are_dropped_after_updates() -> None:
    """Each update makes a new version; the pool and the page caches keep only the one served (an own
    pool: in the session's, other apps still serve the same first version)."""
    from kg_service.web.workers import WorkerPool

    pool = WorkerPool(1)
    try:
        _check_versions_dropped(pool)
    finally:
        pool.close()


def _check_versions_dropped(pool) -> None:  # noqa: ANN001
    client = make_client(pool)
    service = client.application.extensions["kg_service"]
    first = service.kg.version
    client.get("/.well-known/void", headers={"Accept": "text/turtle"})  # fills a per-version page cache
    for i in range(5):
        response = client.post("/sparql", data={"update": f"INSERT DATA {{ <http://ex/n{i}> <http://ex/p> {i} }}"})
        assert response.status_code == 204
    assert first not in pool._sources and service.kg.version in pool._sources
    assert not any(first in key for key in service.cache)


# 60^4 distinct new triples: gigabytes, where the worker may use 64 MiB
CARTESIAN = ("INSERT { GRAPH <http://ex/big> { ?a ?b ?x } } WHERE { GRAPH <http://ex/g> { ?a ?b ?c . ?d ?e ?f . "
             "?g ?h ?i . ?j ?k ?l } BIND(CONCAT(?c, '-', ?f, '-', ?i, '-', ?l) AS ?x) }")


def _bigger_data(folder: Path) -> Path:
    data = folder / "data.nq"
    data.write_bytes(b"".join(f"<http://ex/s{i}> <http://ex/p> \"{i}\" <http://ex/g> .\n".encode() for i in range(60)))
    return data


def test_an_update_that_ends_its_worker_costs_that_worker_only(tmp_path: Path) -> None:
    """An update whose WHERE takes more memory than a worker may have (as one that crashes the engine
    would) ends its worker, not the web process: a JSON 503, the data unchanged, the next query answered."""
    from kg_service.web.workers import WorkerPool

    pool = WorkerPool(1, memory_mb=64)
    try:
        settings = Settings.from_env({}, allow_updates=True, query_timeout_s=60.0)
        kg = KnowledgeGraph.from_file(_bigger_data(tmp_path), union_default_graph=False)
        client = create_app(settings, kg, pool=pool).test_client()
        response = client.post("/sparql", data={"update": CARTESIAN})
        assert response.status_code == 503, response.get_data(as_text=True)
        assert response.get_json()["error"] in ("worker-lost", "query-memory")
        assert client.application.extensions["kg_service"].kg.version == kg.version
        assert not ask(client, "ASK { GRAPH <http://ex/big> { ?s ?p ?o } }")
    finally:
        pool.close()


def test_an_update_is_stopped_at_the_time_limit(tmp_path: Path) -> None:
    """A runaway update is a 503 query-timeout at the query time limit; nothing is changed."""
    from kg_service.web.workers import WorkerPool

    pool = WorkerPool(1, memory_mb=0)
    try:
        settings = Settings.from_env({}, allow_updates=True, query_timeout_s=1.0)
        kg = KnowledgeGraph.from_file(_bigger_data(tmp_path), union_default_graph=False)
        client = create_app(settings, kg, pool=pool).test_client()
        text = "INSERT { GRAPH <http://ex/big> { ?a ?b ?c } } WHERE { GRAPH ?g { " + " . ".join(
            f"?a{i} ?b{i} ?c{i}" for i in range(12)) + " . ?a ?b ?c } }"
        response = client.post("/sparql", data={"update": text})
        assert response.status_code == 503, response.get_data(as_text=True)
        assert response.get_json()["error"] == "query-timeout"
        assert "update" in response.get_json()["message"]
        assert client.application.extensions["kg_service"].kg.version == kg.version
        assert ask(client, "ASK { GRAPH <http://ex/g> { <http://ex/s1> ?p ?o } }")
    finally:
        pool.close()
