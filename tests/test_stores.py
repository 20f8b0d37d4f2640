"""The three places the graph can live answer alike: in memory, in a persistent folder, on a remote server.

The persistent store is reopened without a rebuild while its inputs are unchanged and rebuilt when
they change or when a load never finished. The remote mode runs against a real ``oxigraph serve``
started here on a free port (skipped with a message when the binary is missing; failing under
``CI=true``), and every named query must answer through it as it does on the embedded store.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import urllib.parse
import urllib.request
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
import servers
from conftest import fresh_pool
from flask import Flask
from flask.testing import FlaskClient
from rdflib import Dataset

from kg_service import stores
from kg_service.backends import Remote
from kg_service.errors import RemoteUnavailable
from kg_service.formats import find_format
from kg_service.push import push
from kg_service.queries import load_queries
from kg_service.remote import RemoteStore, connect, count_quads, remote_graphs
from kg_service.settings import Settings
from kg_service.store import KnowledgeGraph
from kg_service.web import create_app
from kg_service.web.serve import load_kg
from kg_service.web.workers import WorkerPool

ROOT = Path(__file__).resolve().parents[1]
QUERY_NAMES = sorted(load_queries(ROOT / "sparql"))
# parameters other than the defaults, so values bound by VALUES are tested beside the defaults
WITH_PARAMS = [("meetings-between-states", {"from": "2021-01-01", "to": "2021-12-31"}),
               ("post-holder-on-date", {"on": "2023-02-18"}),
               ("meetings-between-people", {"a": "id:person/park-jin", "b": "id:person/yoshimasa-hayashi"})]


def rows_of(client: FlaskClient, name: str, params: dict[str, str] | None = None) -> list[tuple]:
    """A named query's rows, in the order given (the queries sort), blank nodes renamed by position."""
    response = client.get(f"/queries/{name}", query_string={**(params or {}), "format": "json"})
    assert response.status_code == 200, response.get_data(as_text=True)
    body = response.get_json()
    names: dict[str, str] = {}
    rows = []
    for binding in body["results"]["bindings"]:
        row = []
        for var in body["head"]["vars"]:
            term = binding.get(var)
            if term and term["type"] == "bnode":
                term = {**term, "value": names.setdefault(term["value"], f"b{len(names)}")}
            elif term and ", " in term["value"]:  # GROUP_CONCAT's order is up to the engine (and its storage)
                term = {**term, "value": ", ".join(sorted(term["value"].split(", ")))}
            row.append(json.dumps(term, sort_keys=True))
        rows.append(tuple(row))
    return sorted(rows)


def lines(data: bytes) -> set[bytes]:
    """N-Quads as a set of lines: the dump's order is up to the parser's dataset, not part of its meaning."""
    return set(data.splitlines())


def app_for(settings: Settings, kg: KnowledgeGraph, pool: WorkerPool) -> Flask:
    app = create_app(settings, kg, pool=pool)
    app.config["TESTING"] = True
    return app




@pytest.fixture(scope="module")
def own_pool() -> Iterator[WorkerPool]:
    """A pool of its own: the session pool already knows the seeds' version as in-memory data."""
    workers = WorkerPool(1)
    yield workers
    workers.close()


# --- persistent ---------------------------------------------------------------------------------------------------

def test_persistent_store_reopens_without_rebuilding(settings: Settings, tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch, kg: KnowledgeGraph) -> None:
    first = load_kg(settings, data=None, union_default_graph=None, store_url=str(tmp_path))
    assert (len(first), first.version) == (len(kg), kg.version)
    del first

    def no_build(*_args: object) -> None:
        raise AssertionError("the store was rebuilt although the seeds did not change")

    monkeypatch.setattr("kg_service.build.build_dataset", no_build)
    again = load_kg(settings, data=None, union_default_graph=None, store_url=str(tmp_path))
    assert (len(again), again.version) == (len(kg), kg.version)
    assert again.backend.allows.persistent and again.backend.worker_source(again) == str(tmp_path / stores.STORE_DIR)
    count = "SELECT (COUNT(*) AS ?n) { ?s ?p ?o }"
    assert next(iter(again.query(count)))["n"] == next(iter(kg.query(count)))["n"]
    assert set(again.quads) == set(kg.quads)  # the exact copy, datatypes as validated


def test_persistent_store_answers_named_queries_as_in_memory(settings: Settings, tmp_path: Path,
                                                             client: FlaskClient, own_pool: WorkerPool) -> None:
    persistent = load_kg(settings, data=None, union_default_graph=None, store_url=str(tmp_path))
    other = app_for(settings, persistent, own_pool).test_client()
    for name in QUERY_NAMES:
        assert rows_of(other, name) == rows_of(client, name), name
    assert lines(other.get("/dump.nq").get_data()) == lines(client.get("/dump.nq").get_data())


def test_persistent_store_is_rebuilt_when_the_seeds_change(settings: Settings, tmp_path: Path) -> None:
    seeds = tmp_path / "seeds"
    shutil.copytree(settings.seeds_dir, seeds)
    changed = Settings.from_env({}, seeds_dir=seeds)
    before = load_kg(changed, data=None, union_default_graph=None, store_url=str(tmp_path / "store"))
    size, version = len(before), before.version
    del before
    for dropped in sorted(seeds.glob("004_*")):
        dropped.unlink()
    after = load_kg(changed, data=None, union_default_graph=None, store_url=str(tmp_path / "store"))
    assert after.version != version and len(after) < size
    assert not any("004_" in name for name in after.graph_names())


def test_a_store_without_its_marker_is_rebuilt(tmp_path: Path) -> None:
    """A load that crashed leaves no marker; the folder is then never taken as complete."""
    data = tmp_path / "d.nq"
    data.write_bytes(b'<http://a/s> <http://a/p> "1" <http://a/g> .\n')
    calls = []

    def build() -> tuple[bytes, str]:
        calls.append(1)
        return data.read_bytes(), "v1"

    folder = tmp_path / "store"
    stores.open_or_build(folder, source="k", union_default_graph=False, build=build)
    stores.open_or_build(folder, source="k", union_default_graph=False, build=build)
    assert len(calls) == 1
    (folder / stores.MARKER).unlink()
    kg = stores.open_or_build(folder, source="k", union_default_graph=False, build=build)
    assert len(calls) == 2 and len(kg) == 1


DATA_LINES = b"".join(f'<http://a/s{i}> <http://a/p> "{i}" <http://a/g> .\n'.encode() for i in range(50))


def _damaged_store(tmp_path: Path, damage: str) -> tuple[Path, list[int], object]:
    calls: list[int] = []

    def build() -> tuple[bytes, str]:
        calls.append(1)
        return DATA_LINES, "v1"

    folder = tmp_path / "store"
    stores.open_or_build(folder, source="k", union_default_graph=False, build=build)
    exact = folder / stores.EXACT
    ssts = sorted((folder / stores.STORE_DIR).glob("*.sst"), key=lambda p: p.stat().st_size)
    if damage == "cut-dataset":
        exact.write_bytes(exact.read_bytes()[:-200])
    elif damage == "flipped-sst":
        raw = bytearray(ssts[-1].read_bytes())
        raw[len(raw) // 2] ^= 0xFF
        ssts[-1].write_bytes(bytes(raw))
    elif damage == "missing-sst":
        ssts[-1].unlink()
    elif damage == "truncated-manifest":
        manifest = next((folder / stores.STORE_DIR).glob("MANIFEST-*"))
        manifest.write_bytes(manifest.read_bytes()[:10])
    return folder, calls, build


@pytest.mark.parametrize("damage", ["cut-dataset", "flipped-sst", "missing-sst", "truncated-manifest"])
def test_a_damaged_store_is_rebuilt_not_served_as_whole(tmp_path: Path, damage: str,
                                                        caplog: pytest.LogCaptureFixture) -> None:
    folder, calls, build = _damaged_store(tmp_path, damage)
    kg = stores.open_or_build(folder, source="k", union_default_graph=False, build=build)
    assert len(calls) == 2, "the damaged folder was rebuilt"
    assert "damaged" in caplog.text
    nq = find_format("nq")
    assert kg.dump(nq).count(b"\n") == 50 and len(kg) == 50
    assert len(list(kg.query("SELECT * { GRAPH ?g { ?s ?p ?o } }"))) == 50
    assert stores.damage(folder, stores.read_marker(folder)) is None


def test_an_intact_store_passes_its_check(tmp_path: Path) -> None:
    folder, calls, build = _damaged_store(tmp_path, "none")
    marker = stores.read_marker(folder)
    assert marker is not None and stores.EXACT in marker.checksums
    assert any(name.endswith(".sst") for name in marker.checksums)
    assert stores.damage(folder, marker) is None
    stores.open_or_build(folder, source="k", union_default_graph=False, build=build)
    assert len(calls) == 1


def test_persistent_store_from_a_data_file(settings: Settings, tmp_path: Path, kg: KnowledgeGraph) -> None:
    data = tmp_path / "graph.nq"
    data.write_bytes(kg.dump(find_format("nq")))
    memory = load_kg(settings, data=data, union_default_graph=None)
    folder = load_kg(settings, data=data, union_default_graph=None, store_url=str(tmp_path / "store"))
    assert (len(folder), folder.version, folder.union_default_graph) == (len(memory), memory.version, False)


# --- remote -------------------------------------------------------------------------------------------------------

def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def oxigraph_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real ``oxigraph serve`` on a free port of 127.0.0.1 (`servers.running_oxigraph`), always stopped."""
    if servers.oxigraph_binary() is None:
        if os.environ.get("CI"):
            pytest.fail("the oxigraph server binary is not installed (pip install '.[test]')")
        pytest.skip("the oxigraph server binary is not installed (pip install '.[test]')")
    with servers.running_oxigraph(tmp_path_factory.mktemp("oxigraph")) as url:
        yield url


@pytest.fixture(scope="module")
def remote_kg(settings: Settings, oxigraph_server: str, tmp_path_factory: pytest.TempPathFactory) -> KnowledgeGraph:
    state = replace(settings, remote_state_dir=tmp_path_factory.mktemp("push-state"))
    return load_kg(state, data=None, union_default_graph=None, store_url=oxigraph_server)


@pytest.fixture(scope="module")
def remote_client(settings: Settings, remote_kg: KnowledgeGraph, own_pool: WorkerPool) -> FlaskClient:
    return app_for(settings, remote_kg, own_pool).test_client()


def test_remote_store_holds_the_pushed_graph(remote_kg: KnowledgeGraph, kg: KnowledgeGraph,
                                             oxigraph_server: str) -> None:
    """Asked directly, the server holds every named graph and every quad the embedded store holds."""
    assert remote_kg.backend.remote.query_url == oxigraph_server + "/query"
    assert remote_graphs(remote_kg.backend.remote) == set(kg.graph_names())
    query = urllib.parse.urlencode({"query": "SELECT (COUNT(*) AS ?n) { GRAPH ?g { ?s ?p ?o } }"})
    request = urllib.request.Request(f"{oxigraph_server}/query?{query}",
                                     headers={"Accept": "application/sparql-results+json"})
    with urllib.request.urlopen(request, timeout=10) as response:
        held = int(json.load(response)["results"]["bindings"][0]["n"]["value"])
    assert held == len(kg)


@pytest.mark.parametrize("name", QUERY_NAMES)
def test_remote_store_answers_named_queries_as_embedded(name: str, remote_client: FlaskClient,
                                                        client: FlaskClient) -> None:
    assert rows_of(remote_client, name) == rows_of(client, name)


@pytest.mark.parametrize(("name", "params"), WITH_PARAMS)
def test_remote_store_binds_parameters_as_embedded(name: str, params: dict[str, str], remote_client: FlaskClient,
                                                   client: FlaskClient) -> None:
    rows = rows_of(remote_client, name, params)
    assert rows and rows == rows_of(client, name, params)


def test_remote_store_keeps_limits_formats_and_dumps(remote_client: FlaskClient, client: FlaskClient) -> None:
    response = remote_client.get("/sparql", query_string={"query": "SELECT * { ?s ?p ?o }", "limit": "3",
                                                          "format": "csv"})
    assert response.status_code == 200 and response.headers["X-KG-Truncated"] == "true"
    assert len(response.get_data(as_text=True).strip().splitlines()) == 4
    graph = remote_client.get("/sparql", query_string={"query": "CONSTRUCT WHERE { ?s a ?c } LIMIT 5"},
                              headers={"Accept": "application/n-triples"})
    assert graph.status_code == 200 and len(graph.get_data().strip().splitlines()) == 5
    ask = remote_client.get("/sparql", query_string={"query": "ASK { ?s ?p ?o }", "format": "json"})
    assert ask.get_json()["boolean"] is True
    assert lines(remote_client.get("/dump.nq").get_data()) == lines(client.get("/dump.nq").get_data())
    assert remote_client.get("/data?default").status_code == 200


def test_remote_store_answers_a_malformed_query_with_400(remote_client: FlaskClient) -> None:
    response = remote_client.get("/sparql", query_string={"query": "SELECT * { ?s ?p"})
    assert response.status_code == 400
    assert response.get_json()["error"] == "bad-query"


def test_push_graph_by_graph_replaces_the_remote_dataset(remote_kg: KnowledgeGraph, kg: KnowledgeGraph) -> None:
    """The Graph Store Protocol route for servers that take no whole-dataset PUT; stale graphs go."""
    stale = RemoteStore(remote_kg.backend.remote.query_url, remote_kg.backend.remote.store_url)
    request = urllib.request.Request(stale.store_url + "?graph=http%3A%2F%2Fexample.org%2Fstale", method="PUT",
                                     data=b"<http://a/s> <http://a/p> <http://a/o> .\n",
                                     headers={"Content-Type": "application/n-triples"})
    urllib.request.urlopen(request, timeout=10).close()
    assert "http://example.org/stale" in remote_graphs(stale)
    push(stale, remote_kg.store, whole=False)
    assert remote_graphs(stale) == set(kg.graph_names())
    assert count_quads(stale) == count_quads(remote_kg.backend.remote)


def test_an_unreachable_remote_store_is_502_not_a_trace(settings: Settings, kg: KnowledgeGraph) -> None:
    port = _free_port()  # nothing listens there
    down = KnowledgeGraph.from_dataset(Dataset(), backend=Remote(remote=RemoteStore(
        f"http://127.0.0.1:{port}/query", f"http://127.0.0.1:{port}/store")))
    with fresh_pool() as pool:
        response = app_for(settings, down, pool).test_client().get("/sparql", query_string={"query": "ASK {}"})
    assert response.status_code == 502
    assert "cannot reach the remote store" in response.get_json()["message"]


def test_a_silent_remote_store_is_504_at_the_time_limit(settings: Settings) -> None:
    with socket.socket() as silent:  # accepts connections (the backlog) and never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen(4)
        port = silent.getsockname()[1]
        slow = KnowledgeGraph.from_dataset(Dataset(), backend=Remote(remote=RemoteStore(
            f"http://127.0.0.1:{port}/query", f"http://127.0.0.1:{port}/store")))
        with fresh_pool() as pool:
            response = app_for(settings, slow, pool).test_client().get(
                "/sparql", query_string={"query": "ASK {}", "timeout": "0.5"})
    assert response.status_code == 504
    assert response.get_json()["error"] == "gateway-timeout"


def test_connect_names_what_it_tried_when_nothing_answers() -> None:
    with pytest.raises(RemoteUnavailable, match="no SPARQL endpoint found"):
        connect(f"http://127.0.0.1:{_free_port()}", timeout_s=2)


def test_the_remote_store_refusing_a_query_is_the_query_s_fault(remote_kg: KnowledgeGraph) -> None:
    from kg_service.errors import QueryError
    from kg_service.remote import send_query

    with pytest.raises(QueryError, match="remote store refused the query"):
        send_query(remote_kg.backend.remote, "SELECT * { ?s ?p", timeout_s=10)


# --- result cache -------------------------------------------------------------------------------------------------

def test_results_are_kept_per_dataset_version(settings: Settings, kg: KnowledgeGraph) -> None:
    """The same query on the same version is answered once; another version is another answer."""
    from kg_service.web.workers import Job

    with fresh_pool() as pool:
        pool.register(kg)
        job = Job("SELECT (COUNT(*) AS ?n) { ?s ?p ?o }", "json", 10)
        first = pool.run(kg.version, job, timeout_s=10)
        again = pool.run(kg.version, job, timeout_s=10)
        assert again.body == first.body and again.seconds == 0.0 and pool.cache.hits == 1
        smaller = KnowledgeGraph.from_nquads(b'<http://a/s> <http://a/p> "1" <http://a/g> .\n')
        pool.register(smaller)
        other = pool.run(smaller.version, job, timeout_s=10)
        assert other.body != first.body and pool.cache.hits == 1
        clock = Job("SELECT (NOW() AS ?t) {}", "json", 10)
        pool.run(kg.version, clock, timeout_s=10)
        pool.run(kg.version, clock, timeout_s=10)
        assert pool.cache.hits == 1  # NOW() is never answered from the cache


# --- what a worker writes -----------------------------------------------------------------------------------------

@pytest.mark.parametrize("fmt", ["json", "xml", "csv", "tsv"])
def test_rows_written_by_the_engine_are_counted_and_capped(fmt: str) -> None:
    """The engine writes the result; at the row cap it is read again and cut; over the byte cap it is a 413."""
    from kg_service.errors import CarriedError
    from kg_service.web.workers import Job

    lines = [f'<http://a/s{i}> <http://a/p> "line\\n{i}, \\"q\\" {{}}<result>" <http://a/g> .\n' for i in range(30)]
    kg = KnowledgeGraph.from_nquads("".join(lines).encode(), union_default_graph=False)
    text = "SELECT ?s ?o { GRAPH ?g { ?s ?p ?o } } ORDER BY ?s"
    with fresh_pool() as pool:
        pool.register(kg)
        whole = pool.run(kg.version, Job(text, fmt, 30), timeout_s=10)
        cut = pool.run(kg.version, Job(text, fmt, 29), timeout_s=10)
        assert (whole.rows, whole.truncated) == (30, False)
        assert (cut.rows, cut.truncated) == (29, True) and len(cut.body) < len(whole.body)
        small = WorkerPool(1, max_result_bytes=len(whole.body) // 2)
        try:
            small.register(kg)
            with pytest.raises(CarriedError) as refused:
                small.run(kg.version, Job(text, fmt, 30), timeout_s=10)
            assert (refused.value.http_status, refused.value.kind) == (413, "result-too-large")
            assert small.run(kg.version, Job(text, fmt, 3), timeout_s=10).rows == 3
        finally:
            small.close()
