"""Runaway queries are stopped at the time limit while everyone else keeps being answered.

Against the real service in its own process (`served`: 3 query workers, a 2 s limit), a runaway
query (a cartesian product, unbounded property paths, a huge ORDER BY) ends with the 503 of
`QueryTimeout` while client threads sending the named queries get 200 after 200. More runaways
than workers get a clear 503 each, and the service is whole afterwards; a client that hangs up
frees its worker at once. Timings are asserted only as generous "it ended" bounds.
"""

from __future__ import annotations

import http.client
import json
import re
import socket
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field

import pytest
from conftest import TEST_TIMEOUT_S

PATH = "(<urn:p>|!<urn:p>)*"
RUNAWAYS = {
    "cartesian-product": "SELECT (COUNT(*) AS ?n) { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i }",
    "unbounded-property-path": f"SELECT (COUNT(*) AS ?n) {{ ?a {PATH} ?b . ?b {PATH} ?c . ?c {PATH} ?d . "
                               f"?d {PATH} ?e }}",
    "huge-order-by": "SELECT * { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i } ORDER BY DESC(STR(?c)) ?f ?i LIMIT 1",
}
ENDED_WITHIN_S = TEST_TIMEOUT_S + 20  # "it ended": generous on a shared 2-core machine


def fetch(url: str, *, timeout: float = 60) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def sparql_url(base: str, query: str, **params: str) -> str:
    return base + "/sparql?" + urllib.parse.urlencode({"query": query, **params})


def metric(base: str, line_start: str) -> float:
    _, body = fetch(base + "/metrics")
    match = re.search("^" + re.escape(line_start) + r" (\S+)$", body.decode(), re.MULTILINE)
    return float(match.group(1)) if match else 0.0


@dataclass
class Chorus:
    """Client threads sending the named queries round-robin until told to stop; every status is kept."""

    base: str
    names: list[str]
    statuses: list[int] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    closed: list[str] = field(default_factory=list)  # closed unanswered as a front ended: asked again once
    stop: threading.Event = field(default_factory=threading.Event)
    threads: list[threading.Thread] = field(default_factory=list)

    def start(self, clients: int) -> None:
        for i in range(clients):
            thread = threading.Thread(target=self._run, args=(i,), daemon=True)
            thread.start()
            self.threads.append(thread)

    def _run(self, offset: int) -> None:
        i = offset
        while not self.stop.is_set():
            name = self.names[i % len(self.names)]
            try:
                status, body = fetch(f"{self.base}/queries/{name}")
            except (http.client.RemoteDisconnected, ConnectionResetError):
                # A front that ends (to stop the runaway) closes a connection it had accepted but not yet
                # read (granian's graceful stop); RFC 9110 lets a client repeat an idempotent request.
                self.closed.append(name)
                status, body = fetch(f"{self.base}/queries/{name}")
            self.statuses.append(status)
            if status != 200:
                self.failures.append(f"{name}: {status} {body[:200]!r}")
            i += 1

    def finish(self) -> None:
        self.stop.set()
        for thread in self.threads:
            thread.join(timeout=60)


@pytest.fixture(scope="module")
def named(served) -> list[str]:
    _, body = fetch(served.url + "/queries/")
    names = [q["name"] for q in json.loads(body)["queries"] if not q["params"] or all(
        p["default"] is not None for p in q["params"])]
    assert len(names) >= 5
    return names


@pytest.mark.parametrize("query", RUNAWAYS.values(), ids=RUNAWAYS.keys())
def test_runaway_query_is_stopped_while_named_queries_are_answered(served, named, query):
    timeouts_before = metric(served.url, "kg_query_timeouts_total")
    chorus = Chorus(served.url, named)
    chorus.start(6)
    started = time.monotonic()
    status, body = fetch(sparql_url(served.url, query))
    elapsed = time.monotonic() - started
    time.sleep(0.2)  # the chorus keeps going a moment after the runaway ended, too
    chorus.finish()
    assert status == 503, body[:300]
    assert json.loads(body)["error"] == "query-timeout"
    assert elapsed < ENDED_WITHIN_S
    assert chorus.failures == []
    assert len(chorus.closed) <= 2, chorus.closed  # only what the ending front had just accepted
    assert len(chorus.statuses) >= 6  # every client was answered at least once while the runaway ran
    assert metric(served.url, "kg_query_timeouts_total") >= timeouts_before + 1


def test_more_runaways_than_workers_each_get_a_clear_503_and_the_service_recovers(served, named):
    results: list[tuple[int, bytes]] = []
    def heavy(query: str) -> None:
        results.append(fetch(sparql_url(served.url, query)))

    threads = [threading.Thread(target=heavy, args=(q,)) for q in list(RUNAWAYS.values()) * 2]  # 6 > 3 workers
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=ENDED_WITHIN_S * 2)
    assert time.monotonic() - started < ENDED_WITHIN_S * 2
    assert len(results) == 6
    for status, body in results:
        assert status == 503
        error = json.loads(body)
        assert error["error"] == "query-timeout" and error["message"]
    for name in named[:5]:
        assert fetch(f"{served.url}/queries/{name}")[0] == 200


def test_client_that_hangs_up_frees_its_worker(served, named):
    gone_before = metric(served.url, 'kg_http_requests_total{method="GET",status="499"}')
    stopped_before = metric(served.url, "kg_query_workers_stopped_total")
    path = "/sparql?" + urllib.parse.urlencode({"query": RUNAWAYS["cartesian-product"]})
    host, port = served.url.removeprefix("http://").split(":")
    for _ in range(3):  # as many as there are workers: were they not freed, the next queries would wait
        with socket.create_connection((host, int(port)), timeout=10) as raw:
            raw.sendall(f"GET {path} HTTP/1.1\r\nHost: {host}\r\nAccept: */*\r\n\r\n".encode())
            time.sleep(0.3)  # the query is running now
    deadline = time.monotonic() + ENDED_WITHIN_S
    while metric(served.url, 'kg_http_requests_total{method="GET",status="499"}') < gone_before + 3:
        assert time.monotonic() < deadline, "the server never noticed the clients had gone"
        time.sleep(0.1)
    assert metric(served.url, "kg_query_workers_stopped_total") >= stopped_before + 3
    for name in named[:3]:
        assert fetch(f"{served.url}/queries/{name}")[0] == 200


def test_flood_of_small_requests_is_answered_without_errors(served, named):
    errors_before = metric(served.url, "kg_http_errors_total")
    chorus = Chorus(served.url, named + ["../sparql", "no-such-query"])
    chorus.start(8)
    time.sleep(3)
    chorus.finish()
    assert len(chorus.statuses) > 20
    assert set(chorus.statuses) <= {200, 404}
    assert metric(served.url, "kg_http_errors_total") == errors_before


def test_a_worker_killed_while_idle_is_replaced_not_a_500(settings) -> None:  # noqa: ANN001
    """A worker that dies between queries (OOM killer, kill -9) is found dead and replaced."""
    import os
    import signal

    from kg_service.web import create_app
    from kg_service.web.workers import WorkerPool

    pool = WorkerPool(1)
    try:
        client = create_app(settings, pool=pool).test_client()
        query = {"query": "ASK { ?s ?p ?o }", "format": "json"}
        assert client.get("/sparql", query_string=query).status_code == 200
        idle = pool._idle[0]
        os.kill(idle.pid, signal.SIGKILL)
        assert idle.conn.poll(10)  # its end of the socket reads EOF once it is gone
        response = client.get("/sparql", query_string={**query, "query": "ASK { ?s a ?o }"})
        assert response.status_code == 200, response.get_data(as_text=True)
    finally:
        pool.close()


def test_a_light_query_passes_runaways_that_hold_every_regular_worker(kg) -> None:  # noqa: ANN001
    """With every regular slot held by a runaway, a light query runs on the light lane and is answered
    while the runaway still runs; a heavy query there is stopped at the lane's limit and waits for a
    regular slot within its own time limit (here: 503, the runaway keeps it)."""
    from kg_service.errors import QueryTimeout
    from kg_service.web.cache import ResultCache
    from kg_service.web.workers import Job, WorkerPool

    pool = WorkerPool(1, burst=1, light=1, cache=ResultCache(0))
    try:
        pool.register(kg)
        pool.warm_up(kg.version)
        outcome: list[object] = []

        def runaway() -> None:
            try:
                pool.run(kg.version, Job(RUNAWAYS["cartesian-product"], "json", 10), timeout_s=60)
            except QueryTimeout as exc:  # stopped by pool.close() at the end at the latest
                outcome.append(exc)
            except Exception as exc:  # noqa: BLE001 - the worker killed by close(): reported below
                outcome.append(exc)

        thread = threading.Thread(target=runaway, daemon=True)
        thread.start()
        while not pool._busy:  # the runaway holds the one regular worker
            time.sleep(0.01)
        light = pool.run(kg.version, Job("ASK { ?s ?p ?o }", "json", 10), timeout_s=30)
        assert light.body and thread.is_alive() and not outcome
        with pytest.raises(QueryTimeout):
            pool.run(kg.version, Job(RUNAWAYS["huge-order-by"], "json", 10), timeout_s=2)
        assert thread.is_alive()
    finally:
        pool.close()


def test_a_worker_holding_too_much_memory_of_its_own_is_replaced(kg, monkeypatch) -> None:  # noqa: ANN001
    """After a job, a worker over its private-memory allowance leaves a note and is not given another job (a
    fresh fork takes its place); one under it is kept (the allowance and the check are set so that every
    job is looked at)."""
    from kg_service.web import zygote
    from kg_service.web.cache import ResultCache
    from kg_service.web.workers import Job, WorkerPool

    assert 0 < zygote.private_mb() < 10_000
    monkeypatch.setattr(zygote, "RETIRE_CHECK_S", -1.0)  # workers are forked after this: they inherit it
    for retire_mb, kept in ((0, False), (1 << 20, True)):
        pool = WorkerPool(1, cache=ResultCache(0), retire_mb=retire_mb)
        try:
            pool.register(kg)
            pool.run(kg.version, Job("ASK { ?s ?p ?o }", "json", 10), timeout_s=30)
            first = [w.pid for w in pool._idle]
            pool.run(kg.version, Job("ASK { ?s ?p ?o . }", "json", 10), timeout_s=30)
            second = [w.pid for w in pool._idle]
            assert len(first) == 1 and (first == second if kept else first[0] not in second)
        finally:
            pool.close()
