"""Front processes: a read-only graph is served by several processes forked from the one that loaded it.

Against real `kg-service serve` processes (2 fronts): both fronts answer and count into the same
/metrics; a runaway query is answered 503 at its limit and the front that ran it is replaced by a
fresh one while the service goes on answering; a front killed with SIGKILL is replaced; a front whose
queries gather more than their memory allowance answers 503 with Retry-After and is replaced; SIGTERM
ends the supervisor and every front; a writable service keeps one process with query workers.
Waits are bounded polls, never sleeps that assume a speed.
"""

from __future__ import annotations

import contextlib
import hashlib
import http.client
import json
import os
import re
import signal
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from email.message import Message

import psutil
import pytest
from conftest import ServiceProcess, start_service

RUNAWAY = "SELECT (COUNT(*) AS ?n) { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i }"
HOG = "SELECT * { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i } ORDER BY DESC(STR(?c)) ?f ?i LIMIT 1"  # memory grows fast
LIGHT = "ASK { ?s ?p ?o }"


def fetch(url: str, *, timeout: float = 60) -> tuple[int, Message, bytes]:
    """Status, headers (names case-insensitive, as HTTP has them) and body."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return response.status, response.headers, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.headers, exc.read()


def ask(service: ServiceProcess, query: str, **params: str) -> tuple[int, Message, bytes]:
    return fetch(service.sparql + "?" + urllib.parse.urlencode({"query": query, **params}))


def fronts(service: ServiceProcess) -> set[int]:
    """The pids of the supervisor's children that are running (not yet reaped zombies)."""
    out = set()
    for child in psutil.Process(service.process.pid).children():
        try:
            if child.status() != psutil.STATUS_ZOMBIE:
                out.add(child.pid)
        except psutil.NoSuchProcess:
            pass
    return out


def eventually(check: Callable[[], bool], what: str, timeout_s: float = 30) -> None:
    deadline = time.monotonic() + timeout_s
    while not check():
        assert time.monotonic() < deadline, f"not within {timeout_s:g} s: {what}"
        time.sleep(0.05)


def metric(service: ServiceProcess, line_start: str) -> float:
    _, _, body = fetch(service.url + "/metrics")
    match = re.search("^" + re.escape(line_start) + r" (\S+)$", body.decode(), re.MULTILINE)
    return float(match.group(1)) if match else 0.0


@pytest.fixture(scope="module")
def two(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServiceProcess]:
    service = start_service(tmp_path_factory.mktemp("fronts"),
                            env={"KG_WEB_PROCESSES": "2", "KG_QUERY_TIMEOUT_S": "2"})
    yield service
    service.stop()


def test_two_fronts_answer_and_count_into_one_metrics(two: ServiceProcess) -> None:
    eventually(lambda: len(fronts(two)) == 2, "two fronts running")
    assert "from 2 processes" in two.log_text()
    before = metric(two, 'kg_http_requests_total{method="GET",status="200"}')
    written = {pid: psutil.Process(pid).io_counters().write_chars for pid in fronts(two)}

    def answered_by() -> set[int]:  # an idle front writes nothing; one that answered wrote responses and log lines
        return {pid for pid, chars in written.items() if psutil.Process(pid).io_counters().write_chars > chars}

    sent = 0
    while sent < 600 and (sent < 60 or len(answered_by()) < 2):  # a connection each: the kernel hands them round
        conn = http.client.HTTPConnection(two.url.removeprefix("http://"), timeout=30)
        conn.request("GET", "/sparql?" + urllib.parse.urlencode({"query": f"{LIGHT} # {sent}"}),
                     headers={"Accept": "application/sparql-results+json"})
        response = conn.getresponse()
        assert response.status == 200 and json.loads(response.read())["boolean"] is True
        conn.close()
        sent += 1
    assert len(answered_by()) == 2
    after = metric(two, 'kg_http_requests_total{method="GET",status="200"}')
    assert after - before >= sent, "each front counts into the same numbers, whichever answers /metrics"


def test_a_front_logs_each_plain_query_once_with_its_hash(two: ServiceProcess) -> None:
    """The lean path logs after it has sent the answer (not in the client's time), one line a request."""
    texts = {"GET": f"{LIGHT} # logged by GET {time.time()}", "POST": f"{LIGHT} # logged by POST {time.time()}"}
    for method, text in texts.items():
        form = urllib.parse.urlencode({"query": text})
        request = urllib.request.Request(f"{two.url}/sparql" + ("?" + form if method == "GET" else ""),
                                         data=form.encode() if method == "POST" else None, method=method,
                                         headers={"Accept": "application/sparql-results+json"})
        with urllib.request.urlopen(request, timeout=30) as response:
            assert response.status == 200
    for method, text in texts.items():
        digest = hashlib.sha256(text.encode()).hexdigest()[:12]
        line = re.compile(rf"{method} /sparql 200 [0-9.]+ms q={digest}")
        eventually(lambda line=line: len(line.findall(two.log_text())) == 1, f"one log line for the {method}")


def test_a_runaway_is_answered_at_its_limit_and_its_front_replaced(two: ServiceProcess) -> None:
    eventually(lambda: len(fronts(two)) == 2, "two fronts running")
    before = fronts(two)
    stopped = metric(two, "kg_query_workers_stopped_total")
    answers: list[int] = []
    stop = threading.Event()

    def chorus() -> None:
        while not stop.is_set():
            answers.append(ask(two, LIGHT)[0])

    thread = threading.Thread(target=chorus, daemon=True)
    thread.start()
    started = time.monotonic()
    status, headers, body = ask(two, RUNAWAY)
    elapsed = time.monotonic() - started
    eventually(lambda: len(fronts(two) - before) >= 1 and len(fronts(two)) == 2, "the front replaced")
    stop.set()
    thread.join(timeout=60)
    assert status == 503 and json.loads(body)["error"] == "query-timeout", body[:300]
    assert elapsed < 30
    assert answers and set(answers) == {200}, "light queries kept being answered, by the other front"
    assert metric(two, "kg_query_workers_stopped_total") >= stopped + 1
    assert ask(two, LIGHT)[0] == 200


def test_a_front_killed_with_sigkill_is_replaced(two: ServiceProcess) -> None:
    eventually(lambda: len(fronts(two)) == 2, "two fronts running")
    answered = 'kg_http_requests_total{method="GET",status="200"}'
    for i in range(20):  # some for each front, very likely: the count must survive the one killed
        assert ask(two, f"{LIGHT} # before kill {i}")[0] == 200
    before = metric(two, answered)
    victim = min(fronts(two))
    os.kill(victim, signal.SIGKILL)
    eventually(lambda: victim not in fronts(two) and len(fronts(two)) == 2, "the killed front replaced")
    assert all(ask(two, f"{LIGHT} # after kill {i}")[0] == 200 for i in range(10))
    assert metric(two, answered) >= before + 10  # what the killed front counted is kept, and nothing hangs
    assert "ended unexpectedly (signal SIGKILL)" in two.log_text()


def test_a_front_over_its_memory_allowance_answers_503_and_is_replaced(tmp_path) -> None:  # noqa: ANN001
    """The memory watch ends the front long before the 30 s limit: the hog grows by about 140 MB/s here."""
    service = start_service(tmp_path, env={"KG_WEB_PROCESSES": "2", "KG_QUERY_TIMEOUT_S": "30",
                                           "KG_QUERY_MEMORY_MB": "200"})
    try:
        eventually(lambda: len(fronts(service)) == 2, "two fronts running")
        before = fronts(service)
        started = time.monotonic()
        status, headers, body = ask(service, HOG)
        error = json.loads(body)
        assert status == 503 and error["error"] == "worker-lost", body[:300]
        assert time.monotonic() - started < 25
        assert headers.get("Retry-After") == "1" and "200 MiB" in error["message"]
        eventually(lambda: len(fronts(service) - before) >= 1 and len(fronts(service)) == 2, "the front replaced")
        assert ask(service, LIGHT)[0] == 200
        assert "private memory passed 200 MiB beyond the" in service.log_text()
    finally:
        service.stop()


def test_sigterm_ends_the_supervisor_and_every_front(tmp_path) -> None:  # noqa: ANN001
    service = start_service(tmp_path, env={"KG_WEB_PROCESSES": "2"})
    try:
        eventually(lambda: len(fronts(service)) == 2, "two fronts running")
        family = fronts(service)
        started = time.monotonic()
        service.process.send_signal(signal.SIGTERM)
        service.process.wait(timeout=10)
        assert time.monotonic() - started < 1.5
        eventually(lambda: not any(psutil.pid_exists(p) and psutil.Process(p).status() != psutil.STATUS_ZOMBIE
                                   for p in family), "every front gone", timeout_s=5)
    finally:
        service.stop()


def test_a_writable_service_keeps_one_process_with_query_workers(tmp_path) -> None:  # noqa: ANN001
    service = start_service(tmp_path, env={"KG_WEB_PROCESSES": "2", "KG_WRITE_TOKEN": "s3cret"})
    try:
        assert ask(service, LIGHT)[0] == 200
        assert "processes" not in service.log_text().split("serving", 1)[1].split("\n", 1)[0]
    finally:
        service.stop()


def test_fronts_that_keep_dying_stop_the_service_with_status_1(tmp_path) -> None:  # noqa: ANN001
    """Over 20 unexpected deaths in 10 s is a fault to report, not a reason to fork forever."""
    service = start_service(tmp_path, env={"KG_WEB_PROCESSES": "2"})
    try:
        deadline = time.monotonic() + 30
        while service.process.poll() is None and time.monotonic() < deadline:
            for pid in fronts(service):
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
            time.sleep(0.02)
        assert service.process.wait(timeout=10) == 1
        assert "front processes keep ending" in service.log_text()
    finally:
        service.stop()


@contextlib.contextmanager
def native_front(settings, sockets):  # noqa: ANN001, ANN201
    """A front's server (granian and the bridge, `web.native`) on `sockets` in a thread of this process, serving
    a fresh app; stopped, and checked stopped, on the way out."""
    from kg_service.web import create_app, native

    stop = native.Stop()
    bridge = native.Bridge(create_app(settings), threads=2, max_body=settings.max_upload_bytes)
    server = threading.Thread(target=native.serve, args=(bridge, sockets),
                              kwargs={"worker_id": 1, "stop": stop, "backpressure": 8, "drain_s": 1}, daemon=True)
    server.start()
    try:
        yield
    finally:
        stop.set()
        server.join(timeout=10)
    assert not server.is_alive()


def test_a_name_with_two_addresses_gets_one_port_and_both_are_served(monkeypatch, settings) -> None:  # noqa: ANN001
    """A host name may resolve to two addresses (localhost: 127.0.0.1 and ::1); with port 0 both get the
    same port, and a front's server answers on each. Here two loopback IPv4 addresses stand for the two."""
    import socket

    from waitress.adjustments import Adjustments

    from kg_service.web import fronts

    two = [(socket.AF_INET, socket.SOCK_STREAM, 6, ("127.0.0.1", 0)),
           (socket.AF_INET, socket.SOCK_STREAM, 6, ("127.0.0.2", 0))]
    monkeypatch.setattr(fronts, "Adjustments", lambda **kw: type("A", (), {"listen": two,
                                                                             "backlog": Adjustments().backlog})())
    sockets = fronts.bind("localhost", 0)
    try:
        port = sockets[0].getsockname()[1]
        assert {s.getsockname()[1] for s in sockets} == {port}
        with native_front(settings, sockets):
            for address in ("127.0.0.1", "127.0.0.2"):
                status, _, body = eventually_fetched(f"http://{address}:{port}/sparql?query=ASK%7B%7D")
                assert status == 200 and b"boolean" in body
    finally:
        for sock in sockets:
            sock.close()


def eventually_fetched(url: str) -> tuple[int, Message, bytes]:
    """`fetch`, retried while the server is starting (for 10 s)."""
    deadline = time.monotonic() + 10
    while True:
        try:
            return fetch(url, timeout=10)
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def test_a_slot_held_by_a_killed_process_is_free_again() -> None:
    """The bounds the fronts share (validations, large reads) are kernel locks: a front killed while it held
    one does not keep it."""
    from kg_service.web.slots import Slots

    slots = Slots(1)
    child = os.fork()
    if child == 0:  # takes the one slot and waits to be killed
        try:
            slots.take()
            time.sleep(60)
        finally:
            os._exit(0)
    try:
        eventually(lambda: (token := slots.take()) is None or slots.give_back(token) is True, "the child's slot")
        os.kill(child, signal.SIGKILL)
        os.waitpid(child, 0)
        token = slots.take()
        assert token is not None
        slots.give_back(token)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.kill(child, signal.SIGKILL)


def test_a_body_that_stops_arriving_is_408_and_the_front_goes_on(monkeypatch, settings) -> None:  # noqa: ANN001
    """A client that sends part of its body and then nothing must not hold a request of the front forever; the
    408 is the app's error body, and the front answers the next request."""
    import socket

    from kg_service.web import native

    monkeypatch.setattr(native, "BODY_IDLE_S", 0.5)
    listener = socket.create_server(("127.0.0.1", 0))
    listener.setblocking(False)
    port = listener.getsockname()[1]
    try:
        with native_front(settings, [listener]):
            assert eventually_fetched(f"http://127.0.0.1:{port}/sparql?query=ASK%7B%7D")[0] == 200
            with socket.create_connection(("127.0.0.1", port), timeout=10) as conn:
                conn.sendall(b"POST /sparql HTTP/1.1\r\nHost: x\r\nContent-Type: application/sparql-query\r\n"
                             b"Content-Length: 100\r\n\r\nASK {")
                answer = b""
                while b"}" not in answer.partition(b"\r\n\r\n")[2] and (chunk := conn.recv(65536)):
                    answer += chunk
            head, _, body = answer.partition(b"\r\n\r\n")
            assert head.startswith(b"HTTP/1.1 408"), answer[:200]
            assert b"x-content-type-options: nosniff" in head.lower()
            assert json.loads(body)["error"] == "request-timeout"
            assert fetch(f"http://127.0.0.1:{port}/sparql?query=ASK%7B%7D")[0] == 200
    finally:
        listener.close()
