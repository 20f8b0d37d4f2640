"""The servers under test: kg-service, Oxigraph's server and rdflib-endpoint, started the way users start them.

Each runs as its own process tree on a free port of 127.0.0.1, from the same N-Quads data; start-up
is timed until the server answers a query, and a sampler thread records the peak resident memory of
the whole tree (kg-service's query workers included) until the server is stopped. Servers are always
stopped, even when the run fails, by the ids of the processes this module started.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import psutil

BIN = Path(sys.executable).parent
READY_TIMEOUT_S = 900.0  # rdflib parsing a large file is slow; a bound still


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Server:
    """One running server: its query URL, the process tree, timings and peak memory."""

    name: str
    query_url: str
    process: subprocess.Popen
    log: Path
    load_s: float = 0.0  # from nothing to answering: parse/load the data and start
    start_s: float = 0.0  # from a stored database to answering (the load itself when nothing is stored)
    first_query_s: float | None = None  # from the (re)start to the first answer of a named query
    peak_rss: int = 0
    peak_pss: int = 0  # proportional: a page shared copy-on-write by n processes counts 1/n in each
    _stop: threading.Event = field(default_factory=threading.Event)
    _sampler: threading.Thread | None = None

    def _tree(self) -> list[psutil.Process]:
        """The server's process and all its descendants (none once it has ended)."""
        try:
            root = psutil.Process(self.process.pid)
            return [root, *root.children(recursive=True)]
        except psutil.NoSuchProcess:
            return []

    def rss(self) -> tuple[int, int]:
        """Resident memory of the process and all its descendants, in bytes: summed RSS (a page shared by
        forked processes counts in each) and summed PSS (it counts once in all)."""
        rss = pss = 0
        for proc in self._tree():
            try:
                full = proc.memory_full_info()
            except (psutil.NoSuchProcess, psutil.AccessDenied):
                continue
            rss += full.rss
            pss += getattr(full, "pss", full.rss)
        return rss, pss

    def cpu_seconds(self) -> float:
        """CPU time (user and system) of the process and all its descendants so far, including descendants
        that ended and were waited for (a replaced front), in seconds. A descendant that ends between two
        readings brings its whole life into the second one: a difference over a round that replaced a front
        overstates that round."""
        total = 0.0
        for proc in self._tree():
            try:
                times = proc.cpu_times()
            except (psutil.NoSuchProcess, psutil.AccessDenied):
                continue
            total += times.user + times.system + times.children_user + times.children_system
        return total

    def sample(self) -> None:
        """Sample memory every 100 ms in a thread until `stop()`."""
        def take() -> None:
            rss, pss = self.rss()
            self.peak_rss, self.peak_pss = max(self.peak_rss, rss), max(self.peak_pss, pss)

        def loop() -> None:
            while not self._stop.wait(0.1):
                take()
        take()
        self._sampler = threading.Thread(target=loop, daemon=True, name=f"rss-{self.name}")
        self._sampler.start()

    def stop(self) -> None:
        self._stop.set()
        if self._sampler is not None:
            self._sampler.join(timeout=2)
        stop_tree(self.process)


def stop_tree(process: subprocess.Popen) -> None:
    """Terminate a process this module started and its children; kill what is left after 10 s."""
    try:
        children = psutil.Process(process.pid).children(recursive=True)
    except psutil.NoSuchProcess:
        children = []
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
    for child in children:
        try:
            child.terminate()
        except psutil.NoSuchProcess:
            pass
    _, alive = psutil.wait_procs([*children], timeout=10)
    for child in alive:
        child.kill()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=10)


def wait_ready(name: str, query_url: str, process: subprocess.Popen, log: Path, started: float) -> float:
    """Seconds from `started` until the server answers ``ASK {}``; raises if it dies or takes too long."""
    url = query_url + "?" + urllib.parse.urlencode({"query": "ASK {}"})
    request = urllib.request.Request(url, headers={"Accept": "application/sparql-results+json"})
    while True:
        try:
            with urllib.request.urlopen(request, timeout=5) as response:
                if response.status == 200:
                    response.read()
                    return time.monotonic() - started
        except OSError:
            pass
        if process.poll() is not None:
            raise RuntimeError(f"{name} exited with {process.returncode}: {_tail(log)}")
        if time.monotonic() - started > READY_TIMEOUT_S:
            raise RuntimeError(f"{name} did not answer within {READY_TIMEOUT_S:g} s: {_tail(log)}")
        time.sleep(0.05)


def _tail(log: Path) -> str:
    try:
        return log.read_text(errors="replace")[-1500:]
    except OSError:
        return ""


def _spawn(name: str, argv: list[str], workdir: Path, env: dict[str, str] | None = None) -> tuple:
    log = workdir / f"{name}.log"
    with log.open("ab") as out:
        process = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, env={**os.environ, **(env or {})},
                                   start_new_session=True)
    return process, log


def start_kg_service(data: Path, workdir: Path, *, store: Path | None = None, workers: int = 2,
                     env: dict[str, str] | None = None, first_query: str | None = None) -> Server:
    """`kg-service serve --data FILE --union-default-graph`, in memory or on a persistent `store`.

    With a store, the first start builds it (timed as the load) and a second start reopens it (timed
    as the start); the server kept is the second one. With `first_query` (a named query's text), the
    kept server is also timed from its process start to the first answer of that query (`first_query_s`):
    it is sent as soon as the server answers ``ASK {}``, so the figure is at most one 50 ms poll late.
    """
    argv = [str(BIN / "kg-service"), "serve", "--host", "127.0.0.1", "--data", str(data), "--union-default-graph"]
    if store is not None:
        argv += ["--store", str(store)]
    env = {"KG_QUERY_WORKERS": str(workers), "KG_QUERY_TIMEOUT_S": "120", "KG_MAX_ROWS": "1000000",
           "KG_MAX_RESULT_BYTES": str(1 << 30), **(env or {})}
    load_s = None
    if store is not None:
        shutil.rmtree(store, ignore_errors=True)
        server = _start_kg(argv, workdir, env, "kg-service-build")
        load_s = server.start_s
        server.stop()
    server = _start_kg(argv, workdir, env, "kg-service", first_query)
    server.load_s = load_s if load_s is not None else server.start_s
    return server


def _start_kg(argv: list[str], workdir: Path, env: dict[str, str], name: str,
              first_query: str | None = None) -> Server:
    port = free_port()
    started = time.monotonic()
    process, log = _spawn(name, [*argv, "--port", str(port)], workdir, env)
    server = Server("kg-service", f"http://127.0.0.1:{port}/sparql", process, log)
    server.sample()
    try:
        server.start_s = wait_ready(name, server.query_url, process, log, started)
        if first_query is not None:
            server.first_query_s = first_answer(server.query_url, first_query, process, log, started)
    except BaseException:
        server.stop()
        raise
    return server


def first_answer(query_url: str, text: str, process: subprocess.Popen, log: Path, started: float) -> float:
    """Seconds from `started` until `text` (POSTed, with a comment no cache has seen) is answered with 200;
    sent at once, then every 50 ms while the server answers otherwise; bounded by READY_TIMEOUT_S."""
    body = urllib.parse.urlencode({"query": f"{text}\n# first query after start {time.time_ns()}"}).encode()
    request = urllib.request.Request(query_url, data=body, method="POST",
                                     headers={"Accept": "application/sparql-results+json",
                                              "Content-Type": "application/x-www-form-urlencoded"})
    last = ""
    while True:
        try:
            with urllib.request.urlopen(request, timeout=READY_TIMEOUT_S) as response:
                response.read()
                if response.status == 200:
                    return time.monotonic() - started
                last = f"status {response.status}"
        except OSError as exc:
            last = str(exc)
        if process.poll() is not None:
            raise RuntimeError(f"kg-service exited with {process.returncode}: {_tail(log)}")
        if time.monotonic() - started > READY_TIMEOUT_S:
            raise RuntimeError(f"kg-service did not answer the first query within {READY_TIMEOUT_S:g} s: {last}")
        time.sleep(0.05)


def start_oxigraph(data: Path, workdir: Path) -> Server:
    """`oxigraph load` into a fresh folder, then `oxigraph serve` on it."""
    location = workdir / "oxigraph-db"
    shutil.rmtree(location, ignore_errors=True)
    binary = str(BIN / "oxigraph") if (BIN / "oxigraph").exists() else shutil.which("oxigraph") or "oxigraph"
    started = time.monotonic()
    subprocess.run([binary, "load", "--location", str(location), "--file", str(data)], check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=READY_TIMEOUT_S)
    loaded = time.monotonic() - started
    port = free_port()
    began = time.monotonic()
    process, log = _spawn("oxigraph", [binary, "serve", "--location", str(location), "--bind", f"127.0.0.1:{port}"],
                          workdir)
    server = Server("oxigraph", f"http://127.0.0.1:{port}/query", process, log)
    server.sample()
    try:
        server.start_s = wait_ready("oxigraph", server.query_url, process, log, began)
    except BaseException:
        server.stop()
        raise
    server.load_s = loaded + server.start_s
    return server


def start_oxigraph_memory(data: Path, workdir: Path) -> Server:
    """`oxigraph serve` with its in-memory store, the data POSTed to its Graph Store endpoint; the load time
    is from start to the end of that POST (the store answers once it is in)."""
    binary = str(BIN / "oxigraph") if (BIN / "oxigraph").exists() else shutil.which("oxigraph") or "oxigraph"
    port = free_port()
    began = time.monotonic()
    process, log = _spawn("oxigraph", [binary, "serve", "--bind", f"127.0.0.1:{port}"], workdir)
    server = Server("oxigraph", f"http://127.0.0.1:{port}/query", process, log)
    server.sample()
    try:
        wait_ready("oxigraph", server.query_url, process, log, began)
        with data.open("rb") as body:
            request = urllib.request.Request(f"http://127.0.0.1:{port}/store", data=body, method="POST",
                                             headers={"Content-Type": "application/n-quads",
                                                      "Content-Length": str(data.stat().st_size)})
            urllib.request.urlopen(request, timeout=READY_TIMEOUT_S).close()
    except BaseException:
        server.stop()
        raise
    server.load_s = server.start_s = time.monotonic() - began
    return server


def start_rdflib_endpoint(data: Path, workdir: Path) -> Server:
    """`rdflib-endpoint serve FILE`: rdflib parses the file into a union-default Dataset, uvicorn serves it."""
    port = free_port()
    started = time.monotonic()
    process, log = _spawn("rdflib-endpoint", [str(BIN / "rdflib-endpoint"), "serve", "--host", "127.0.0.1",
                                              "--port", str(port), str(data)], workdir)
    server = Server("rdflib-endpoint", f"http://127.0.0.1:{port}/", process, log)  # its CLI serves at /
    server.sample()
    try:
        server.start_s = server.load_s = wait_ready("rdflib-endpoint", server.query_url, process, log, started)
    except BaseException:
        server.stop()
        raise
    return server
