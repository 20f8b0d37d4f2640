"""A bounded pool of worker processes that run SPARQL queries and can be stopped.

pyoxigraph cannot cancel a running query, and a thread cannot be killed, so every query runs in a
worker process: on timeout (or when the client has gone away) the parent kills that worker and the
next request starts a fresh one, while the other workers keep answering. Each worker loads a
dataset once, from N-Quads bytes the parent sends the first time it needs it (or, for a persistent
store, by opening its folder read-only, which costs neither a copy nor a load), and keeps the last
few (so one pool can serve several graphs, as the conformance tests do). Results are serialised in
the worker and come back as bytes, with the row cap applied there. A dataset held by a remote store
is not loaded at all: its queries are forwarded over HTTP from the calling thread, which can give up
on them at the time limit without killing anything.
"""

from __future__ import annotations

import logging
import multiprocessing
import threading
import time
import traceback
from collections import Counter, OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from itertools import islice
from pathlib import Path

import pyoxigraph as ox

from ..errors import CarriedError, ClientGone, KgError, QueryError, QueryTimeout, RemoteUnavailable
from ..formats import Format, find_format, written
from ..remote import N_TRIPLES, RESULTS_JSON, RemoteStore, inline_bindings, send_query, with_base
from ..store import KnowledgeGraph
from ..vocab import PREFIXES
from .cache import ResultCache
from .solutions import WRITERS

log = logging.getLogger(__name__)
KEEP_DATASETS = 4
LOAD_TIMEOUT_S = 300.0  # loading a million quads takes tens of seconds; a query's limit does not apply


@dataclass(frozen=True)
class Job:
    """One query to run: text, dataset options, format name to write and the row cap."""

    text: str
    fmt: str
    max_rows: int
    default_graphs: tuple[str, ...] = ()
    named_graphs: tuple[str, ...] = ()
    bindings: tuple[tuple[str, ox.NamedNode | ox.Literal], ...] = ()
    base_iri: str | None = None


@dataclass(frozen=True)
class Answer:
    body: bytes
    kind: str  # bindings, boolean or triples
    rows: int
    truncated: bool
    seconds: float = 0.0


def execute(store: ox.Store, job: Job) -> Answer:
    """Run `job` on `store` and serialise at most `job.max_rows` rows (triples for a graph)."""
    started = time.monotonic()
    # The parent's dump already holds the default graph as served (the union, when so set).
    kg = KnowledgeGraph(store, union_default_graph=False, version="")
    raw = kg.query(job.text, default_graphs=job.default_graphs, named_graphs=job.named_graphs,
                   bindings=dict(job.bindings) or None, base_iri=job.base_iri)
    return _serialise(raw, job, started)


def run_remote(remote: RemoteStore, job: Job, *, timeout_s: float) -> Answer:
    """Forward `job` to the remote store and write its answer as the embedded store's would be.

    The time limit bounds each wait on the remote (connecting, and every read of the answer), and the
    row cap stops reading early; a query the remote goes on running after we gave up is its to stop
    (Oxigraph's `serve --timeout-s`, Fuseki's own timeout)."""
    started = time.monotonic()
    text = inline_bindings(job.text, dict(job.bindings))
    text = with_base(text, job.base_iri)
    with send_query(remote, text, timeout_s=timeout_s, default_graphs=job.default_graphs,
                    named_graphs=job.named_graphs) as response:
        media_type = response.headers.get_content_type()
        try:
            if media_type == RESULTS_JSON:
                return _serialise(ox.parse_query_results(response, ox.QueryResultsFormat.JSON), job, started)
            if media_type == N_TRIPLES:
                triples = (q.triple for q in ox.parse(response, format=ox.RdfFormat.N_TRIPLES))
                return _serialise_triples(triples, job, started)
        except SyntaxError as exc:
            raise RemoteUnavailable(f"the remote store sent malformed results: {exc}") from None
    raise RemoteUnavailable(f"the remote store answered in {media_type}, not SPARQL JSON or N-Triples")


def _job_format(job: Job) -> Format:
    fmt = find_format(job.fmt)
    assert fmt is not None, f"unknown format {job.fmt!r}"  # the web layer negotiated it from the table
    return fmt


def _serialise(raw: ox.QuerySolutions | ox.QueryBoolean | ox.QueryTriples, job: Job, started: float) -> Answer:
    fmt = _job_format(job)
    if isinstance(raw, ox.QueryBoolean):
        if fmt.name not in WRITERS:
            raise QueryError(f"an ASK result cannot be written as {fmt.label}")
        return Answer(written(raw.serialize(format=fmt.results)), "boolean", 1, False, time.monotonic() - started)
    if isinstance(raw, ox.QueryTriples):
        return _serialise_triples(raw, job, started)
    if fmt.name not in WRITERS:
        raise QueryError(f"SELECT results cannot be written as {fmt.label}")
    variables = [v.value for v in raw.variables]
    rows = [list(s) for s in islice(raw, job.max_rows + 1)]
    body = WRITERS[fmt.name](variables, rows[:job.max_rows])
    return Answer(body, "bindings", min(len(rows), job.max_rows), len(rows) > job.max_rows,
                  time.monotonic() - started)


def _serialise_triples(raw: Iterable[ox.Triple], job: Job, started: float) -> Answer:
    fmt = _job_format(job)
    if fmt.name in WRITERS:
        raise QueryError(f"a graph result cannot be written as {fmt.label}")
    triples = list(islice(raw, job.max_rows + 1))
    body = written(ox.serialize(triples[:job.max_rows], format=fmt.rdf, prefixes=PREFIXES))
    return Answer(body, "triples", min(len(triples), job.max_rows), len(triples) > job.max_rows,
                  time.monotonic() - started)


def serve_jobs(conn: multiprocessing.connection.Connection) -> None:
    """The worker's loop: load datasets and run jobs until the parent closes the pipe."""
    stores: OrderedDict[str, ox.Store] = OrderedDict()
    while True:
        try:
            message = conn.recv()
        except (EOFError, OSError):
            return
        if message[0] in ("load", "open"):
            _, version, data = message
            if message[0] == "open":  # a persistent store's folder: nothing to copy, nothing to load
                store = ox.Store.read_only(data)
            else:
                store = ox.Store()
                store.bulk_load(data, format=ox.RdfFormat.N_QUADS)
            stores[version] = store
            while len(stores) > KEEP_DATASETS:
                stores.popitem(last=False)
            conn.send(("loaded", version))
            continue
        _, version, job = message
        try:
            stores.move_to_end(version)
            conn.send(("ok", execute(stores[version], job)))
        except KgError as exc:
            conn.send(("error", exc.http_status, exc.kind, exc.message))
        except Exception:  # our fault: the parent logs it and answers 500
            conn.send(("crash", traceback.format_exc()))


@dataclass
class _Worker:
    process: multiprocessing.process.BaseProcess
    conn: multiprocessing.connection.Connection
    loaded: list[str] = field(default_factory=list)

    def kill(self) -> None:
        self.process.kill()
        self.process.join(timeout=2)
        self.conn.close()


class WorkerPool:
    """At most `size` worker processes; a request waits for a free one within its own time limit."""

    def __init__(self, size: int = 2, *, method: str = "forkserver", cache: ResultCache | None = None):
        """`cache` keeps answers per (dataset version, job); pass ``ResultCache(0)`` to keep none."""
        self.size = size
        self.cache = cache if cache is not None else ResultCache()
        self._ctx = multiprocessing.get_context(method)
        if method == "forkserver":
            self._ctx.set_forkserver_preload([__name__])
        self._slots = threading.BoundedSemaphore(size)
        self._idle: list[_Worker] = []
        self._lock = threading.Lock()
        self._data: dict[str, bytes | Path | RemoteStore] = {}  # N-Quads, a store folder, or a remote
        self._users: Counter[str] = Counter()  # apps serving each version: its data goes with the last one
        self.stopped = 0  # workers killed on timeout or disconnect, for /metrics

    def register(self, kg: KnowledgeGraph) -> None:
        """Make `kg` available to the workers: its remote store, its folder, or its N-Quads (sent to each
        worker once). Each call counts one user of the version until `forget`."""
        self._users[kg.version] += 1
        if kg.version not in self._data:
            if kg.remote is not None:
                self._data[kg.version] = kg.remote
            elif kg.path is not None:
                self._data[kg.version] = kg.path
            else:
                self._data[kg.version] = written(kg.store.dump(format=ox.RdfFormat.N_QUADS))

    def forget(self, version: str) -> None:
        """One app no longer serves `version` (it replaced its graph): drop the data with its last user,
        so a service that takes many adds or updates does not keep every old dump."""
        self._users[version] -= 1
        if self._users[version] <= 0:
            self._data.pop(version, None)
            del self._users[version]

    def warm_up(self, version: str) -> None:
        """Start every worker and load `version`, so the first queries do not pay for it."""
        if isinstance(self._data.get(version), RemoteStore):
            return
        workers = [self._take() for _ in range(self.size - len(self._idle))]
        sent = [worker for worker in workers if self._load(worker, version)]
        for worker in sent:  # loads run in parallel in the workers; each acknowledges its own
            self._await_load(worker, version)
        with self._lock:
            self._idle.extend(workers)

    def run(self, version: str, job: Job, *, timeout_s: float,
            gone: Callable[[], bool] = lambda: False) -> Answer:
        """Run `job` on dataset `version` (or answer it from the cache); raises QueryTimeout, ClientGone or
        the query's own error."""
        try:
            cached = self.cache.get(version, job)
        except TypeError:  # a binding that cannot be hashed: run it, do not keep it
            return self._run(version, job, timeout_s=timeout_s, gone=gone)
        if cached is not None:
            return cached
        answer = self._run(version, job, timeout_s=timeout_s, gone=gone)
        self.cache.put(version, job, answer)
        return answer

    def _run(self, version: str, job: Job, *, timeout_s: float, gone: Callable[[], bool]) -> Answer:
        data = self._data.get(version)
        if isinstance(data, RemoteStore):
            return run_remote(data, job, timeout_s=timeout_s)
        if not self._slots.acquire(timeout=timeout_s):
            raise QueryTimeout(f"every query worker stayed busy for {timeout_s:g} s; try again later")
        worker = None
        try:
            worker = self._take()
            if self._load(worker, version):
                self._await_load(worker, version)
            # The time limit is the query's: loading a new version (after an add) is not counted in it.
            deadline = time.monotonic() + timeout_s
            worker.conn.send(("run", version, job))
            reply = self._wait(worker, deadline, timeout_s, gone)
            with self._lock:
                self._idle.append(worker)
            worker = None
        finally:
            if worker is not None:
                self.stopped += 1
                worker.kill()
            self._slots.release()
        return _answer(reply)

    def _wait(self, worker: _Worker, deadline: float, timeout_s: float, gone: Callable[[], bool]) -> tuple:
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise QueryTimeout(f"the query ran longer than {timeout_s:g} s and was stopped")
            if worker.conn.poll(min(0.05, remaining)):
                return worker.conn.recv()
            if gone():
                raise ClientGone("the client closed the connection; the query was stopped")
            if not worker.process.is_alive():
                raise RuntimeError(f"query worker died with exit code {worker.process.exitcode}")

    def _take(self) -> _Worker:
        with self._lock:
            while self._idle:
                worker = self._idle.pop()
                if worker.process.is_alive():
                    return worker
                worker.kill()  # died while idle (killed from outside, out of memory): start a fresh one
        parent, child = self._ctx.Pipe()
        # typeshed's BaseContext has no Process, though every context get_context() returns has one
        process = self._ctx.Process(  # type: ignore[attr-defined]
            target=serve_jobs, args=(child,), daemon=True, name="kg-query-worker")
        process.start()
        child.close()
        return _Worker(process, parent)

    def _load(self, worker: _Worker, version: str) -> bool:
        """Send `version` to the worker unless it has it; True when it was sent (an ack will follow)."""
        # Mirrors the worker's least-recently-used list: a load or a run moves `version` to the end.
        sent = version not in worker.loaded
        if not sent:
            worker.loaded.remove(version)
        elif isinstance(self._data[version], Path):
            worker.conn.send(("open", version, str(self._data[version])))
        else:
            worker.conn.send(("load", version, self._data[version]))
        worker.loaded = (worker.loaded + [version])[-KEEP_DATASETS:]
        return sent

    def _await_load(self, worker: _Worker, version: str) -> None:
        """Wait (bounded) for the worker to say it holds `version`."""
        if not worker.conn.poll(LOAD_TIMEOUT_S):
            raise QueryTimeout(f"a query worker took more than {LOAD_TIMEOUT_S:g} s to load the graph; try again")
        reply = worker.conn.recv()
        if reply != ("loaded", version):
            raise RuntimeError(f"query worker answered {reply[0]!r} to a load")

    def close(self) -> None:
        with self._lock:
            idle, self._idle = self._idle, []
        for worker in idle:
            worker.kill()


def _answer(reply: tuple) -> Answer:
    if reply[0] == "ok":
        return reply[1]
    if reply[0] == "error":
        raise CarriedError(*reply[1:])
    log.error("query worker failed:\n%s", reply[1])
    raise RuntimeError("query worker failed")
