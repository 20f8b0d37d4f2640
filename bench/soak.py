"""`make soak`: a bounded soak run of the real service under a mixed load, with its memory watched.

Starts `kg-service serve` on a free port of 127.0.0.1, then N client threads (default 8) send for a
bounded time (default 60 s) a mix of what a public endpoint gets: named queries, SELECT / ASK /
CONSTRUCT on /sparql in several formats, dumps (plain and gzip), Graph Store reads, HTML pages,
validations (POST /validate), runaway queries (stopped at the time limit: 503), queries the guard
refuses (400), and a light ASK whose latency is what a user feels under that load. The server's
process tree (web process, query workers) is sampled every second for RSS. It prints requests,
errors by status, p50/p95/max latency per kind, and RSS at start, peak and end; it exits 1 on any
crash (a 500, a dropped connection, the server gone), on any other unexpected 4xx/5xx, or when memory
keeps growing after warm-up. Deliberate refusals are not errors: 503 for a runaway or for a large read
beyond the concurrency bound, 400 for a guarded shape. A 503 anywhere else (a query that waited too
long for a worker behind runaways, a validation turned away while all slots were taken) is not a crash
either: it is counted under ``busy_503`` and reported, as is the light query's latency.

    python bench/soak.py                       # 60 s, 8 clients
    python bench/soak.py --duration 20 --clients 4 --json bench/results/soak.json
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parents[1]
ARTICLE = ROOT / "tests" / "articles" / "t01_export_controls_2019"
SELECTS = [
    "SELECT (COUNT(*) AS ?n) { ?s ?p ?o }",
    "SELECT ?s ?label { ?s <http://www.w3.org/2004/02/skos/core#prefLabel> ?label } ORDER BY ?label LIMIT 100",
    "SELECT ?g (COUNT(*) AS ?n) { GRAPH ?g { ?s ?p ?o } } GROUP BY ?g ORDER BY DESC(?n)",
    "ASK { ?s a ?c }",
    "CONSTRUCT WHERE { ?s a ?c } LIMIT 200",
    "SELECT DISTINCT ?c { ?s a ?c }",
]
ACCEPTS = ["application/sparql-results+json", "application/sparql-results+xml", "text/csv", "*/*"]
# (kind, weight): what each request of a client is, drawn at random with these weights
MIX = [("named", 30), ("sparql", 20), ("dump", 8), ("data", 10), ("page", 10), ("validate", 4), ("ops", 4),
       ("runaway", 4), ("guarded", 4), ("light", 10)]
RUNAWAYS = ["SELECT (COUNT(*) AS ?n) { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i }",
            "SELECT * { ?a ?b ?c . ?d ?e ?f } ORDER BY ?c ?f"]
GUARDED = ["SELECT * { ?s <urn:p> " + ", ".join(["?o"] * 5000) + " }",
           "SELECT * { BIND(1 AS ?v0) " + " ".join(f"BIND(?v{i} AS ?v{i + 1})" for i in range(3000)) + " }",
           "SELECT * { " + "{ " * 3000 + "?s ?p ?o" + " }" * 3000 + " }"]
LIGHT = "ASK { ?s a ?c }"
# statuses that are the service doing its job for that kind of request, not a failure
EXPECTED = {"runaway": {503}, "guarded": {400}, "dump": {503}, "data": {503}}
# warm-up share of the run: memory is compared between the end of warm-up and the end of the run
WARM_UP = 0.25
GROWTH_LIMIT = 0.20  # more than 20 % (and 30 MB) growth after warm-up is a leak, not a cache filling


@dataclass
class Tally:
    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    statuses: Counter = field(default_factory=Counter)
    errors: Counter = field(default_factory=Counter)  # (kind, status or exception) -> n: crashes and our bugs
    busy: Counter = field(default_factory=Counter)  # kind -> 503s where no refusal was expected (starved work)
    samples: list[tuple[float, int, int]] = field(default_factory=list)  # (t, tree RSS, web process RSS)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def record(self, kind: str, status: int | str, seconds: float) -> None:
        with self.lock:
            self.latencies[kind].append(seconds)
            self.statuses[status] += 1
            if status == 503 and kind not in EXPECTED:  # turned away while busy: not a crash, but counted
                self.busy[kind] += 1
            elif not (isinstance(status, int) and (status < 400 or status in EXPECTED.get(kind, ()))):
                self.errors[(kind, status)] += 1


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start_server(workdir: Path, env: dict[str, str], args: list[str] | None = None, timeout_s: float = 120,
                 ) -> tuple[subprocess.Popen, str, Path]:
    port = free_port()
    log = workdir / "serve.log"
    with log.open("wb") as out:
        process = subprocess.Popen([sys.executable, "-m", "kg_service.cli", "serve", "--port", str(port),
                                    *(args or [])],
                                   stdout=out, stderr=subprocess.STDOUT, cwd=workdir,
                                   env={**os.environ, **env})
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + timeout_s
    while True:
        if process.poll() is not None:
            raise SystemExit(f"kg-service serve exited with {process.returncode}:\n{log.read_text()}")
        try:
            with urllib.request.urlopen(url + "/healthz", timeout=2):
                return process, url, log
        except OSError:
            if time.monotonic() > deadline:
                process.kill()
                raise SystemExit(f"kg-service serve did not answer /healthz within {timeout_s} s") from None
            time.sleep(0.2)


def stop_server(process: subprocess.Popen) -> None:
    try:
        family = psutil.Process(process.pid).children(recursive=True)
    except psutil.NoSuchProcess:
        family = []
    process.send_signal(signal.SIGINT)
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=15)
    for child in family:
        try:
            child.kill()
        except psutil.NoSuchProcess:
            pass


def get(url: str, headers: dict[str, str] | None = None, data: bytes | None = None) -> int:
    request = urllib.request.Request(url, data=data, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            response.read()
            return response.status
    except urllib.error.HTTPError as exc:
        exc.read()
        return exc.code


def multipart(fields: dict[str, tuple[str, bytes]]) -> tuple[bytes, str]:
    boundary = uuid.uuid4().hex
    parts = []
    for name, (filename, content) in fields.items():
        parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; filename="{filename}"\r\n'
                     f"Content-Type: application/octet-stream\r\n\r\n".encode() + content + b"\r\n")
    return b"".join(parts) + f"--{boundary}--\r\n".encode(), f"multipart/form-data; boundary={boundary}"


class Workload:
    """What the clients ask: read once from the running server so every request should answer 200."""

    def __init__(self, url: str):
        self.url = url
        with urllib.request.urlopen(url + "/queries/", timeout=30) as response:
            queries = json.load(response)["queries"]
        self.named = [q["name"] for q in queries if all(p["default"] is not None for p in q["params"])]
        graphs_query = "SELECT DISTINCT ?g { GRAPH ?g { ?s ?p ?o } }"
        with urllib.request.urlopen(self.sparql_url(graphs_query), timeout=30) as response:
            self.graphs = [b["g"]["value"] for b in json.load(response)["results"]["bindings"]]
        ids_query = ("SELECT DISTINCT ?s { ?s ?p ?o FILTER(STRSTARTS(STR(?s), 'https://w3id.org/kg-service/id/')) } "
                     "LIMIT 200")
        with urllib.request.urlopen(self.sparql_url(ids_query), timeout=30) as response:
            self.ids = [b["s"]["value"].removeprefix("https://w3id.org/kg-service/") for b in
                        json.load(response)["results"]["bindings"]]
        self.article = multipart({"mapping": (ARTICLE.name + ".yaml", ARTICLE.with_suffix(".yaml").read_bytes()),
                                  "text": (ARTICLE.name + ".txt", ARTICLE.with_suffix(".txt").read_bytes())})

    def sparql_url(self, query: str, **params: str) -> str:
        return self.url + "/sparql?" + urllib.parse.urlencode({"query": query, **params})

    def request(self, kind: str, rng: random.Random) -> int:
        if kind == "named":
            return get(f"{self.url}/queries/{rng.choice(self.named)}",
                       {"Accept": rng.choice(ACCEPTS)})
        if kind == "sparql":
            query = rng.choice(SELECTS)
            accept = "text/turtle" if query.startswith("CONSTRUCT") else rng.choice(ACCEPTS)
            if rng.random() < 0.5:
                return get(self.sparql_url(query), {"Accept": accept})
            return get(self.url + "/sparql", {"Accept": accept, "Content-Type": "application/sparql-query"},
                       query.encode())
        if kind == "dump":
            return get(f"{self.url}/dump.{rng.choice(['trig', 'nq'])}",
                       {"Accept-Encoding": rng.choice(["gzip", "identity"])})
        if kind == "data":
            if rng.random() < 0.3:
                return get(self.url + "/data?default", {"Accept": "application/n-triples"})
            graph = urllib.parse.quote(rng.choice(self.graphs), safe="")
            return get(f"{self.url}/data?graph={graph}", {"Accept": rng.choice(["text/turtle", "application/ld+json"])})
        if kind == "page":
            path = rng.choice(["/", "/timeline", "/articles/", "/query", f"/{rng.choice(self.ids)}"])
            return get(self.url + path, {"Accept": "text/html"})
        if kind == "validate":
            body, content_type = self.article
            return get(self.url + "/validate", {"Content-Type": content_type, "Accept": "application/json"}, body)
        if kind == "runaway":  # a unique text, so no cache answers it
            return get(self.sparql_url(rng.choice(RUNAWAYS) + f" # {rng.random()}"))
        if kind == "guarded":
            return get(self.url + "/sparql", {"Content-Type": "application/sparql-query"}, rng.choice(GUARDED).encode())
        if kind == "light":
            return get(self.sparql_url(LIGHT + f" # {rng.random()}"), {"Accept": "application/sparql-results+json"})
        return get(self.url + rng.choice(["/healthz", "/metrics", "/.well-known/void"]))


def client(workload: Workload, tally: Tally, seed: int, until: float) -> None:
    rng = random.Random(seed)
    kinds, weights = zip(*MIX, strict=True)
    while time.monotonic() < until:
        kind = rng.choices(kinds, weights)[0]
        started = time.monotonic()
        try:
            status: int | str = workload.request(kind, rng)
        except (OSError, ValueError) as exc:
            status = type(exc).__name__
        tally.record(kind, status, time.monotonic() - started)


def sample_memory(pid: int, tally: Tally, stop: threading.Event, started: float) -> None:
    """PSS of the server's process tree once a second: its processes are forked from the one that loaded the
    graph and share its pages, which summed RSS would count once per process."""
    main = psutil.Process(pid)
    while not stop.is_set():
        try:
            web = _pss(main)
            tree = web + sum(_pss(child) for child in main.children(recursive=True))
        except psutil.NoSuchProcess:
            return
        tally.samples.append((time.monotonic() - started, tree, web))
        stop.wait(1.0)


def _pss(process: psutil.Process) -> int:
    try:
        return process.memory_full_info().pss
    except psutil.NoSuchProcess:
        return 0


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else 0.0


def summary(tally: Tally, seconds: float, clients: int) -> dict[str, object]:
    total = sum(tally.statuses.values())
    samples = tally.samples
    warm = [s for s in samples if s[0] >= seconds * WARM_UP] or samples
    mb = 1024 * 1024
    first_warm, last = warm[: max(1, len(warm) // 10)], samples[-max(1, len(samples) // 10):]
    after_warm = statistics.median(s[1] for s in first_warm) / mb
    end = statistics.median(s[1] for s in last) / mb
    return {
        "seconds": round(seconds, 1), "clients": clients, "requests": total,
        "requests_per_s": round(total / seconds, 1),
        "statuses": {str(k): v for k, v in sorted(tally.statuses.items(), key=str)},
        "errors": {f"{kind} {status}": n for (kind, status), n in sorted(tally.errors.items(), key=str)},
        "busy_503": dict(sorted(tally.busy.items())),
        "latency_ms": {kind: {"n": len(v), "p50": round(percentile(v, 0.5) * 1000, 1),
                              "p95": round(percentile(v, 0.95) * 1000, 1), "max": round(max(v) * 1000, 1)}
                       for kind, v in sorted(tally.latencies.items())},
        "pss_mb": {"start": round(samples[0][1] / mb, 1), "after_warm_up": round(after_warm, 1),
                   "peak": round(max(s[1] for s in samples) / mb, 1), "end": round(end, 1),
                   "web_process_start": round(samples[0][2] / mb, 1),
                   "web_process_peak": round(max(s[2] for s in samples) / mb, 1),
                   "web_process_end": round(samples[-1][2] / mb, 1)},
        "growth_after_warm_up": round((end - after_warm) / after_warm, 3),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=float, default=60.0, help="seconds of load (default 60)")
    parser.add_argument("--clients", type=int, default=8, help="concurrent client threads (default 8)")
    parser.add_argument("--workers", type=int, default=2, help="query worker processes of the server (default 2)")
    parser.add_argument("--query-timeout", type=float, default=2.0, help="the server's query time limit (default 2 s)")
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    args = parser.parse_args()
    tally = Tally()
    with tempfile.TemporaryDirectory(prefix="kg-soak-") as tmp:
        process, url, log = start_server(Path(tmp), {"KG_QUERY_WORKERS": str(args.workers),
                                                     "KG_QUERY_TIMEOUT_S": str(args.query_timeout)})
        try:
            workload = Workload(url)
            stop = threading.Event()
            started = time.monotonic()
            sampler = threading.Thread(target=sample_memory, args=(process.pid, tally, stop, started), daemon=True)
            sampler.start()
            until = started + args.duration
            threads = [threading.Thread(target=client, args=(workload, tally, seed, until))
                       for seed in range(args.clients)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            seconds = time.monotonic() - started
            stop.set()
            sampler.join()
            alive = process.poll() is None
        finally:
            stop_server(process)
        figures = summary(tally, seconds, args.clients)
        figures["server_alive_at_end"] = alive
        if tally.errors:
            figures["server_log_errors"] = [line for line in log.read_text(errors="replace").splitlines()
                                            if " ERROR " in line][:20]
    print(json.dumps(figures, indent=2))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(figures, indent=2) + "\n", encoding="utf-8")
    rss = figures["pss_mb"]
    leaking = figures["growth_after_warm_up"] > GROWTH_LIMIT and rss["end"] - rss["after_warm_up"] > 30
    if tally.errors or leaking or not alive:
        print("soak FAILED: " + ", ".join(
            reason for reason, bad in (("errors", tally.errors), ("memory kept growing", leaking),
                                       ("the server died", not alive)) if bad), file=sys.stderr)
        return 1
    light = figures["latency_ms"].get("light", {})
    print(f"soak passed: {figures['requests']} requests in {figures['seconds']} s, 0 crashes, "
          f"PSS {rss['start']} -> peak {rss['peak']} -> end {rss['end']} MB; light query p50 {light.get('p50')} ms, "
          f"p95 {light.get('p95')} ms, max {light.get('max')} ms", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
