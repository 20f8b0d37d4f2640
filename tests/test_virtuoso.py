"""A production engine as the remote store: Virtuoso 7, beside Oxigraph's server and the embedded store.

A private Virtuoso (Debian's `virtuoso-opensource`, started here on free ports of 127.0.0.1 by
`servers.running_virtuoso`, once for this module) and a private ``oxigraph serve`` hold the seeds
pushed by `load_kg`, exactly as `kg-service serve --store URL` does. Every named query must give
the same rows on all three, the pages must render through the remote, a second push must send only
the graphs that changed (counted in Virtuoso's own HTTP request log), and the time and row limits
must hold when the engine is the one that runs the query. Skipped with a message when Virtuoso or
Oxigraph's server is not installed; failing instead under ``CI=true``.
"""

from __future__ import annotations

import os
import re
import shutil
import threading
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path

import pytest
import servers
from flask.testing import FlaskClient
from test_stores import QUERY_NAMES, WITH_PARAMS, app_for, rows_of

from kg_service.engines import VIRTUOSO, VIRTUOSO_DEFAULT_GRAPH
from kg_service.formats import find_format
from kg_service.remote import all_graphs, count_quads, remote_graphs
from kg_service.settings import Settings
from kg_service.store import KnowledgeGraph
from kg_service.web.serve import load_kg
from kg_service.web.workers import WorkerPool

ENGINE_TIME_LIMIT_S = 4  # Virtuoso's MaxQueryExecutionTime in the test instance
BACKENDS = ("embedded", "oxigraph", "virtuoso")
# Bigger than the seeds at every join, so the engine cannot answer it within any limit used here.
ARTICLE_004 = "https://w3id.org/kg-service/graph/article/004_fe33916f0645b2f3"
RUNAWAY = "SELECT (COUNT(*) AS ?n) { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i . ?j ?k ?l }"


def _require(binary: str | None, what: str) -> None:
    if binary is None:
        if os.environ.get("CI"):
            pytest.fail(f"{what} is not installed (.ci/run installs it)")
        pytest.skip(f"{what} is not installed")


@pytest.fixture(scope="module")
def virtuoso(tmp_path_factory: pytest.TempPathFactory) -> Iterator[servers.Virtuoso]:
    _require(servers.binary(), "virtuoso-t (apt-get install virtuoso-opensource)")
    with servers.running_virtuoso(tmp_path_factory.mktemp("virtuoso"), max_seconds=ENGINE_TIME_LIMIT_S) as server:
        yield server


@pytest.fixture(scope="module")
def oxigraph(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    _require(servers.oxigraph_binary(), "the oxigraph server binary (pip install '.[test]')")
    with servers.running_oxigraph(tmp_path_factory.mktemp("oxigraph")) as url:
        yield url


@pytest.fixture(scope="module")
def scratch(tmp_path_factory: pytest.TempPathFactory) -> Iterator[servers.Virtuoso]:
    """A second instance for the tests that change what the server holds."""
    _require(servers.binary(), "virtuoso-t (apt-get install virtuoso-opensource)")
    with servers.running_virtuoso(tmp_path_factory.mktemp("scratch")) as server:
        yield server


@contextmanager
def _pool() -> Iterator[WorkerPool]:
    """A pool of its own for each backend: pools key the data and the result cache by dataset version,
    and every backend here serves the same version."""
    workers = WorkerPool(1)
    try:
        yield workers
    finally:
        workers.close()


@pytest.fixture(scope="module")
def own_pool() -> Iterator[WorkerPool]:
    with _pool() as workers:
        yield workers


@pytest.fixture(scope="module")
def oxigraph_pool() -> Iterator[WorkerPool]:
    with _pool() as workers:
        yield workers


@pytest.fixture(scope="module")
def state_settings(settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    return replace(settings, remote_state_dir=tmp_path_factory.mktemp("push-state"))


@pytest.fixture(scope="module")
def virtuoso_kg(state_settings: Settings, virtuoso: servers.Virtuoso) -> KnowledgeGraph:
    return load_kg(state_settings, data=None, union_default_graph=None, store_url=virtuoso.store_url)


@pytest.fixture(scope="module")
def oxigraph_kg(state_settings: Settings, oxigraph: str) -> KnowledgeGraph:
    return load_kg(state_settings, data=None, union_default_graph=None, store_url=oxigraph)


@pytest.fixture
def clients(state_settings: Settings, client: FlaskClient, virtuoso_kg: KnowledgeGraph, oxigraph_kg: KnowledgeGraph,
            own_pool: WorkerPool, oxigraph_pool: WorkerPool) -> dict[str, FlaskClient]:
    return {"embedded": client, "oxigraph": app_for(state_settings, oxigraph_kg, oxigraph_pool).test_client(),
            "virtuoso": app_for(state_settings, virtuoso_kg, own_pool).test_client()}


def test_virtuoso_is_recognised_and_shows_our_graphs_only(virtuoso: servers.Virtuoso,
                                                           virtuoso_kg: KnowledgeGraph, kg: KnowledgeGraph) -> None:
    """Virtuoso's own graphs (virtrdf#, ...) and our default-graph layer stay out of GRAPH ?g."""
    remote = virtuoso_kg.remote
    assert remote is not None and remote.engine is VIRTUOSO
    assert remote.query_url == virtuoso.base + "/sparql"
    assert remote.store_url == virtuoso.base + "/sparql-graph-crud-auth"
    assert "http://www.openlinksw.com/schemas/virtrdf#" in remote.excluded
    assert remote_graphs(remote) == set(kg.graph_names())
    assert all_graphs(remote) >= set(kg.graph_names()) | {VIRTUOSO_DEFAULT_GRAPH}
    counted = kg.store.query("SELECT (COUNT(*) AS ?n) { { ?s ?p ?o } UNION { GRAPH ?g { ?s ?p ?o } } }")
    assert count_quads(remote) == int(next(iter(counted))["n"].value)
    assert "dba" not in repr(remote) and "dba" not in str(remote)  # credentials never shown


@pytest.mark.parametrize("backend", BACKENDS[1:])
@pytest.mark.parametrize("name", QUERY_NAMES)
def test_named_queries_give_the_same_rows_on_every_backend(name: str, backend: str,
                                                           clients: dict[str, FlaskClient]) -> None:
    rows = rows_of(clients[backend], name)
    assert rows == rows_of(clients["embedded"], name)


@pytest.mark.parametrize("backend", BACKENDS[1:])
@pytest.mark.parametrize(("name", "params"), WITH_PARAMS)
def test_parameters_are_bound_alike_on_every_backend(name: str, params: dict[str, str], backend: str,
                                                     clients: dict[str, FlaskClient]) -> None:
    rows = rows_of(clients[backend], name, params)
    assert rows and rows == rows_of(clients["embedded"], name, params)


@pytest.mark.parametrize("query", [
    "SELECT ?g (COUNT(*) AS ?n) { GRAPH ?g { ?s ?p ?o } } GROUP BY ?g ORDER BY ?g",
    "SELECT (COUNT(*) AS ?n) { ?s ?p ?o }",
    "SELECT (COUNT(*) AS ?n) FROM <https://w3id.org/kg-service/graph/meta> { ?s ?p ?o }",
    "SELECT ?g (COUNT(*) AS ?n) FROM NAMED <https://w3id.org/kg-service/graph/meta> { GRAPH ?g { ?s ?p ?o } } "
    "GROUP BY ?g",
    "SELECT (COUNT(?s) AS ?n) { GRAPH <urn:x-kg-service:default-graph> { ?s ?p ?o } }",
])
def test_the_dataset_is_the_same_on_virtuoso(query: str, clients: dict[str, FlaskClient]) -> None:
    """Default graph, GRAPH ?g, FROM and FROM NAMED mean on Virtuoso what they mean on the embedded store."""
    answers = [clients[b].get("/sparql", query_string={"query": query, "format": "csv"}) for b in BACKENDS]
    assert {a.status_code for a in answers} == {200}
    assert answers[2].get_data(as_text=True) == answers[0].get_data(as_text=True)


@pytest.mark.parametrize("path", ["/", "/timeline", "/articles/003_11110d5589b8cc2d", "/articles/",
                                  "/id/event/2023-02-18-park-hayashi-talks-munich", "/id/person/chung-eui-yong",
                                  "/queries/last-foreign-ministers-meeting", "/queries/",
                                  "/query?named=last-foreign-ministers-meeting"])
def test_pages_render_alike_through_virtuoso(path: str, clients: dict[str, FlaskClient]) -> None:
    headers = {"Accept": "text/html, text/csv;q=0.5"}
    here, there = (clients[b].get(path, headers=headers) for b in ("embedded", "virtuoso"))
    assert (here.status_code, there.status_code) == (200, 200)
    timing = re.compile(r"in \d+ ms")  # the query page says how long the query took
    assert timing.sub("", _concat_sorted(there.get_data(as_text=True))) == \
        timing.sub("", _concat_sorted(here.get_data(as_text=True)))


def _concat_sorted(text: str) -> str:
    """GROUP_CONCAT's order is up to the engine: "B, A" in a cell or field reads as "A, B".

    >>> _concat_sorted('<td>Park Jin, Hayashi</td>,"b, a"')
    '<td>Hayashi, Park Jin</td>,"a, b"'
    """
    return re.sub(r'(?<=[>"])([^<>"\n]*?, [^<>"\n]*)(?=[<"])',
                  lambda m: ", ".join(sorted(m.group(1).split(", "))), text)


def test_rows_are_capped_when_virtuoso_runs_the_query(virtuoso_kg: KnowledgeGraph, settings: Settings,
                                                      own_pool: WorkerPool) -> None:
    """More rows than KG_MAX_ROWS: cut at the cap and marked (Virtuoso's ResultSetMaxRows is above it)."""
    capped = replace(settings, max_rows=1000, query_timeout_s=30)
    client = app_for(capped, virtuoso_kg, own_pool).test_client()
    query = "SELECT * { ?s ?p ?o }"  # the default graph: 3,604 triples
    response = client.get("/sparql", query_string={"query": query, "format": "tsv"})
    assert response.status_code == 200 and response.headers["X-KG-Truncated"] == "true"
    assert int(response.headers["X-KG-Rows"]) == capped.max_rows
    assert len(response.get_data(as_text=True).strip().splitlines()) == capped.max_rows + 1
    strict = client.get("/sparql", query_string={"query": query, "strict": "true", "limit": "5"})
    assert strict.status_code == 413 and strict.get_json()["error"] == "too-many-rows"


def test_a_runaway_query_on_virtuoso_stops_at_our_limit_and_others_are_answered(
        clients: dict[str, FlaskClient]) -> None:
    """Our own time limit (KG_QUERY_TIMEOUT_S, 2 s in tests) answers 504 while the engine still runs it."""
    answers: dict[str, object] = {}

    def runaway() -> None:
        started = time.monotonic()
        answers["runaway"] = clients["virtuoso"].get("/sparql", query_string={"query": RUNAWAY})
        answers["seconds"] = time.monotonic() - started

    thread = threading.Thread(target=runaway)
    thread.start()
    time.sleep(0.3)
    started = time.monotonic()
    other = clients["virtuoso"].get("/sparql", query_string={"query": "ASK { ?s ?p ?o }", "format": "json"})
    other_seconds = time.monotonic() - started
    thread.join(timeout=30)
    assert other.status_code == 200 and other.get_json()["boolean"] is True
    assert other_seconds < 2.0 and thread.is_alive() is False
    response = answers["runaway"]
    assert response.status_code == 504, response.get_data(as_text=True)  # type: ignore[attr-defined]
    assert response.get_json()["error"] == "gateway-timeout"  # type: ignore[attr-defined]
    assert answers["seconds"] < 4.0  # type: ignore[operator]


def test_virtuoso_s_own_time_limit_is_a_503_not_partial_results(virtuoso_kg: KnowledgeGraph, settings: Settings,
                                                                own_pool: WorkerPool) -> None:
    """With our limit above the engine's, Virtuoso stops the query and sends what it has (an "anytime"
    answer); that is a timeout, not an answer."""
    patient = app_for(replace(settings, query_timeout_s=3 * ENGINE_TIME_LIMIT_S), virtuoso_kg, own_pool)
    started = time.monotonic()
    response = patient.test_client().get("/sparql", query_string={"query": RUNAWAY, "format": "json"})
    assert response.status_code == 503, response.get_data(as_text=True)
    assert response.get_json()["error"] == "query-timeout"
    assert time.monotonic() - started < 2 * ENGINE_TIME_LIMIT_S


def test_a_push_sends_only_the_graphs_that_changed(settings: Settings, scratch: servers.Virtuoso,
                                                   tmp_path: Path) -> None:
    """An article removed, then added again: each restart PUTs the graphs whose content changed (and
    DELETEs the one that went), no other; Virtuoso's own request log counts the requests."""
    seeds = tmp_path / "seeds"
    shutil.copytree(settings.seeds_dir, seeds)
    mine = replace(settings, seeds_dir=seeds, remote_state_dir=tmp_path / "state")
    first = load_kg(mine, data=None, union_default_graph=None, store_url=scratch.store_url)
    puts, deletes = len(scratch.requests("PUT")), len(scratch.requests("DELETE"))
    again = load_kg(mine, data=None, union_default_graph=None, store_url=scratch.store_url)
    assert (len(scratch.requests("PUT")), len(scratch.requests("DELETE"))) == (puts, deletes)
    assert again.version == first.version

    moved = tmp_path / "moved"
    moved.mkdir()
    for path in seeds.glob("004_*"):
        path.rename(moved / path.name)
    fewer = load_kg(mine, data=None, union_default_graph=None, store_url=scratch.store_url)
    assert ARTICLE_004 in first.graph_names() and ARTICLE_004 not in fewer.graph_names()
    changed = _changed_graphs(first, fewer)
    assert len(scratch.requests("PUT")) - puts == len(changed) < len(first.graph_names())
    assert len(scratch.requests("DELETE")) - deletes == 1
    assert remote_graphs(fewer.remote) == set(fewer.graph_names())  # type: ignore[arg-type]

    for path in moved.iterdir():
        path.rename(seeds / path.name)
    puts = len(scratch.requests("PUT"))
    back = load_kg(mine, data=None, union_default_graph=None, store_url=scratch.store_url)
    assert len(scratch.requests("PUT")) - puts == len(_changed_graphs(fewer, back)) > 0
    nq = find_format("nq")
    assert nq is not None
    with _pool() as remote_pool, _pool() as local_pool:
        remote = app_for(mine, back, remote_pool).test_client()
        local = app_for(mine, KnowledgeGraph.from_nquads(back.dump(nq)), local_pool).test_client()
        for name in QUERY_NAMES:
            assert rows_of(remote, name) == rows_of(local, name), name


def test_a_remote_changed_behind_our_back_gets_everything_again(settings: Settings, scratch: servers.Virtuoso,
                                                                tmp_path: Path) -> None:
    """The state says all is there, the server says otherwise (a graph deleted by someone else): the
    count after the push differs, and a full push follows."""
    mine = replace(settings, remote_state_dir=tmp_path / "state")
    kg = load_kg(mine, data=None, union_default_graph=None, store_url=scratch.store_url)
    assert kg.remote is not None
    opener = urllib.request.build_opener(urllib.request.HTTPDigestAuthHandler(_passwords(scratch.base)))
    graph = urllib.parse.urlencode({"graph": "https://w3id.org/kg-service/graph/meta"})
    opener.open(urllib.request.Request(f"{kg.remote.store_url}?{graph}", method="DELETE"), timeout=30).close()
    assert "https://w3id.org/kg-service/graph/meta" not in remote_graphs(kg.remote)
    puts = len(scratch.requests("PUT"))
    again = load_kg(mine, data=None, union_default_graph=None, store_url=scratch.store_url)
    assert len(scratch.requests("PUT")) - puts == len(kg.graph_names()) + 1  # every graph and the default layer
    assert remote_graphs(again.remote) == set(kg.graph_names())  # type: ignore[arg-type]


def _passwords(base: str) -> urllib.request.HTTPPasswordMgrWithDefaultRealm:
    passwords = urllib.request.HTTPPasswordMgrWithDefaultRealm()
    passwords.add_password(None, base + "/", "dba", "dba")
    return passwords


def _changed_graphs(before: KnowledgeGraph, after: KnowledgeGraph) -> set[str]:
    """Graphs (the default graph as "") whose quads differ between two builds, computed from the local copies."""
    def by_graph(kg: KnowledgeGraph) -> dict[str, set[str]]:
        graphs: dict[str, set[str]] = {}
        for quad in kg.store:
            graphs.setdefault(getattr(quad.graph_name, "value", ""), set()).add(str(quad.triple))
        return graphs

    old, new = by_graph(before), by_graph(after)
    return {name for name in set(new) if old.get(name) != new[name]}
