"""How the servers are measured: one SPARQL client, result normalisers, latency rounds and a throughput run.

Every server gets the same query text (named queries with their default parameters bound by a
VALUES block, since the peers have no substitution) by the same client: a POSTed form, SPARQL JSON
asked for, the body read in full. Results are compared as multisets of rows, with blank nodes
renamed and GROUP_CONCAT lists sorted, because both orders are up to each engine. Every loop is
bounded in count and in time.
"""

from __future__ import annotations

import http.client
import itertools
import json
import multiprocessing
import os
import statistics
import threading
import time
import urllib.parse
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import pyoxigraph as ox

ACCEPT = "application/sparql-results+json"
GRAPH_ACCEPT = "application/n-triples"  # for CONSTRUCT and DESCRIBE


class Client:
    """A keep-alive HTTP/1.1 connection to one SPARQL endpoint (one per thread).

    With `vary`, every request's text ends in a new comment, so no server can answer it from a result
    cache: what is measured is the engine, not the cache."""

    def __init__(self, query_url: str, timeout_s: float = 120.0, *, vary: bool = False):
        parts = urllib.parse.urlsplit(query_url)
        self.host, self.port, self.path = parts.hostname, parts.port, parts.path
        self.timeout_s = timeout_s
        self.conn: http.client.HTTPConnection | None = None
        self.vary, self.sent = vary, 0
        self.tag = f"{os.getpid()}-{id(self)}"  # unique across the processes of a throughput run too
        self.content_type = ""  # of the last answer

    def query(self, text: str, accept: str = ACCEPT) -> tuple[int, bytes]:
        self.sent += 1
        body = urllib.parse.urlencode({"query": f"{text}\n# {self.tag}-{self.sent}" if self.vary else text})
        headers = {"Accept": accept, "Content-Type": "application/x-www-form-urlencoded"}
        for attempt in range(2):  # a kept-alive connection the server closed is reopened once
            if self.conn is None:
                self.conn = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout_s)
            try:
                self.conn.request("POST", self.path, body=body, headers=headers)
                response = self.conn.getresponse()
                self.content_type = (response.getheader("Content-Type") or "").split(";")[0].strip()
                return response.status, response.read()
            except (http.client.HTTPException, ConnectionError):
                self.close()
                if attempt:
                    raise
        raise AssertionError("unreachable")

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()
            self.conn = None


def normalise(body: bytes) -> Counter:
    """A SPARQL JSON result as a multiset of rows that engines agree on when their answers do."""
    data = json.loads(body)
    if "boolean" in data:
        return Counter([("boolean", data["boolean"])])
    variables = data["head"]["vars"]
    bnodes: dict[str, str] = {}
    rows = Counter()
    for binding in data["results"]["bindings"]:
        row = []
        for var in variables:
            term = binding.get(var)
            if term is None:
                row.append(None)
                continue
            value = term["value"]
            if term["type"] == "bnode":
                value = bnodes.setdefault(value, f"_:b{len(bnodes)}")
            elif ", " in value:
                value = ", ".join(sorted(value.split(", ")))
            kind = "literal" if term["type"] == "typed-literal" else term["type"]
            row.append((kind, value, term.get("datatype"), (term.get("xml:lang") or "").lower()))
        rows[tuple(row)] += 1
    return rows


def normalise_graph(body: bytes, media_type: str = GRAPH_ACCEPT) -> Counter:
    """A CONSTRUCT or DESCRIBE answer as a set of triples (an RDF graph has no duplicates), in the
    format the server says it sent; every blank node is written `_:b`, since their labels are the
    engine's own."""
    fmt = ox.RdfFormat.from_media_type(media_type) or ox.RdfFormat.N_TRIPLES
    triples = set()
    for triple in ox.parse(body, format=fmt):
        terms = (triple.subject, triple.predicate, triple.object)
        triples.add(tuple("_:b" if isinstance(t, ox.BlankNode) else str(t) for t in terms))
    return Counter(triples)


def normalise_answer(body: bytes, media_type: str) -> Counter:
    """`normalise` for SPARQL results, `normalise_graph` for an RDF graph."""
    if "sparql-results" in media_type or media_type == "application/json":
        return normalise(body)
    return normalise_graph(body, media_type)


def differences(expected: Counter, got: Counter) -> str:
    """A short account of how two results differ ('' when they are equal)."""
    if expected == got:
        return ""
    missing, extra = expected - got, got - expected
    head = (f"{sum(expected.values())} vs {sum(got.values())} rows, {sum(missing.values())} of them differ")
    if not (missing and extra):
        return f"{head}, e.g. {'missing' if missing else 'extra'} {next(iter(missing or extra))}"
    row = next(iter(missing))
    closest = max(extra, key=lambda other: sum(a == b for a, b in zip(row, other, strict=False)))
    changed = [f"{a} -> {b}" for a, b in zip(row, closest, strict=False) if a != b]
    return f"{head}, e.g. {'; '.join(changed)}"


@dataclass
class Timing:
    seconds: list[float]
    errors: int = 0

    def percentile(self, p: float) -> float | None:
        if not self.seconds:
            return None
        ordered = sorted(self.seconds)
        return ordered[min(len(ordered) - 1, max(0, round(p / 100 * (len(ordered) - 1))))]

    def summary(self) -> dict[str, float | int | None]:
        return {"p50": self.percentile(50), "p95": self.percentile(95), "n": len(self.seconds),
                "mean": statistics.fmean(self.seconds) if self.seconds else None, "errors": self.errors}


def latency_rounds(clients: dict[str, Client], queries: dict[str, str], *, rounds: int, budget_s: float,
                   slow_s: float = 10.0, skip: dict[str, set[str]] | None = None) -> dict[str, dict[str, Timing]]:
    """Per server and query, `rounds` timings, interleaved: each query runs on every server in turn, the
    order rotating each round, so drift on the machine touches all alike. A query slower than `slow_s`
    on a server is not repeated there, and `skip` names queries not to run at all on a server (those it
    did not answer in time); the whole stops after `budget_s`."""
    timings = {name: {q: Timing([]) for q in queries} for name in clients}
    names = list(clients)
    deadline = time.monotonic() + budget_s
    for round_number in range(rounds):
        order = names[round_number % len(names):] + names[:round_number % len(names)]
        for query_name, text in queries.items():
            for name in order:
                timing = timings[name][query_name]
                if skip and query_name in skip.get(name, ()):
                    continue
                if round_number and timing.seconds and max(timing.seconds) > slow_s:
                    continue
                started = time.perf_counter()
                try:
                    status, _ = clients[name].query(text)
                except (OSError, http.client.HTTPException):
                    status = 0
                    clients[name].close()
                if status == 200:
                    timing.seconds.append(time.perf_counter() - started)
                else:
                    timing.errors += 1
        if time.monotonic() > deadline:
            break
    return timings


Requests = Callable[[int], Iterator[tuple[str, str]]]  # client index -> endless (query text, accept)


def cycle(texts: list[str]) -> Requests:
    """The 'all' mix: client i cycles through `texts` from the i-th on, every answer as SPARQL JSON."""
    return lambda index: ((texts[(index + k) % len(texts)], ACCEPT) for k in itertools.count())


def throughput(query_url: str, requests: Requests, *, clients: int, duration_s: float, vary: bool = False,
               processes: int = 1) -> dict[str, float]:
    """Requests answered per second by `clients` connections, each sending the requests `requests(index)`
    gives it, one after the other, for `duration_s`; the connections are threads spread over `processes`
    client processes.

    One Python process cannot send more than about 2,700 small requests a second on this machine (its
    threads share one interpreter lock), which is less than Oxigraph's server answers cheap lookups: a
    single client process measured the client, not the server. Client processes are forked, so
    `requests` may be any function."""
    processes = max(1, min(processes, clients))
    if processes == 1:
        return _threads_throughput(query_url, requests, range(clients), duration_s, vary)
    context = multiprocessing.get_context("fork")
    results = context.Queue()
    workers = [context.Process(target=_throughput_process, daemon=True,
                               args=(results, query_url, requests, range(p, clients, processes), duration_s, vary))
               for p in range(processes)]
    for worker in workers:
        worker.start()
    parts = [results.get(timeout=duration_s + 240) for _ in workers]
    for worker in workers:
        worker.join(timeout=30)
    broken = [part["failure"] for part in parts if "failure" in part]
    if broken:
        raise RuntimeError(f"a client process failed: {broken[0]}")
    elapsed = max(part["seconds"] for part in parts)
    done, failed = sum(part["requests"] for part in parts), sum(part["errors"] for part in parts)
    return {"requests_per_s": done / elapsed, "requests": done, "errors": failed, "seconds": elapsed}


def _throughput_process(results: multiprocessing.Queue, query_url: str, requests: Requests, indexes: range,
                        duration_s: float, vary: bool) -> None:
    try:
        results.put(_threads_throughput(query_url, requests, indexes, duration_s, vary))
    except BaseException as exc:  # noqa: BLE001 - reported by the parent, which would otherwise wait for it
        results.put({"failure": repr(exc)})


def _threads_throughput(query_url: str, requests: Requests, indexes: range, duration_s: float,
                        vary: bool) -> dict[str, float]:
    """`throughput` with one thread per client index in this process."""
    done, failed = dict.fromkeys(indexes, 0), dict.fromkeys(indexes, 0)
    stop_at = time.monotonic() + duration_s

    def work(index: int) -> None:
        client = Client(query_url, timeout_s=max(duration_s * 2, 30), vary=vary)
        mine = requests(index)
        try:
            while time.monotonic() < stop_at:
                text, accept = next(mine)
                try:
                    status, _ = client.query(text, accept)
                except (OSError, http.client.HTTPException):
                    status = 0
                    client.close()
                if status == 200:
                    done[index] += 1
                else:
                    failed[index] += 1
        finally:
            client.close()

    started = time.monotonic()
    threads = [threading.Thread(target=work, args=(i,), daemon=True) for i in indexes]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=duration_s + 180)
    elapsed = time.monotonic() - started
    return {"requests_per_s": sum(done.values()) / elapsed, "requests": sum(done.values()),
            "errors": sum(failed.values()), "seconds": elapsed}
