"""A bounded pool of worker processes that run SPARQL queries and updates and can be stopped.

pyoxigraph cannot cancel a running query, and a thread cannot be killed, so every query runs in a
worker process: on timeout (or when the client has gone away) the web process kills that worker,
while the other workers keep answering. Workers are forked by the zygote (`zygote`), which shares the
loaded store with them, so a new worker costs a fork, not a load. Results are serialised in the
worker and come back as bytes, with the row cap and the byte cap applied there. A dataset held by a
remote store has no workers at all: its queries are forwarded over HTTP from the calling thread,
which can give up on them at the time limit without killing anything.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import threading
import time
from collections import Counter, OrderedDict
from collections.abc import Callable
from multiprocessing.connection import Connection
from typing import TYPE_CHECKING, Any

import pyoxigraph as ox

from ..errors import CarriedError, ClientGone, QueryTimeout
from ..remote import RemoteStore
from ..settings import Settings
from ..store import KnowledgeGraph
from . import zygote
from .cache import ResultCache
from .jobs import Answer, Job, execute, handle, run_remote
from .zygote import Worker

if TYPE_CHECKING:
    from .local import LocalQueries

__all__ = ["Answer", "Job", "WorkerPool", "execute"]  # Job, Answer and execute are imported from here too

log = logging.getLogger(__name__)
LIGHT_S = 0.5  # what a query may take on the light lane, which it uses only when every regular slot is busy
WAIT_POLL_S = 0.01  # how often a waiting query looks for a free regular slot or light lane
LOAD_TIMEOUT_S = 300.0  # loading a million quads takes tens of seconds; a query's limit does not apply


class WorkerPool:
    """Query workers forked from one zygote: `size` forked at start, up to `burst` running (and kept) at once.

    A request takes an idle worker or has a new one forked (a fork, nothing to load), so a light query
    is not queued behind runaway ones while fewer than `burst` run. Past that, `light` more workers
    form a light lane where a query may run `LIGHT_S`: a light query is still answered at once, and
    one that is not light goes on waiting for a regular worker within its own time limit. A worker
    that overran its limit is killed and simply not reused.
    """

    def __init__(self, size: int = 2, *, burst: int | None = None, light: int = 2, cache: ResultCache | None = None,
                 memory_mb: int = 2048, max_result_bytes: int = 64 << 20, retire_mb: int = 256):
        """`cache` keeps answers per (dataset version, job); pass ``ResultCache(0)`` to keep none."""
        self.size = size
        self.burst = max(burst or 4 * size, size)
        self.cache = cache if cache is not None else ResultCache()
        self.memory_mb, self.max_result_bytes, self.retire_mb = memory_mb, max_result_bytes, retire_mb
        self._slots = threading.BoundedSemaphore(self.burst)
        self._light = threading.BoundedSemaphore(light)  # the light lane: see `_on_worker`
        self.capacity = self.burst + light  # queries that can run at once
        self._idle: list[Worker] = []
        self._busy: set[Worker] = set()
        self._lock = threading.Lock()
        self._sources: dict[str, ox.Store | str | RemoteStore] = {}  # a loaded store, a folder, or a remote
        self._users: Counter[str] = Counter()  # apps serving each version: its data goes with the last one
        self._zygote: tuple[int, Connection] | None = None
        self._held: set[str] = set()  # versions the zygote holds
        self._zygote_lock = threading.Lock()
        self.stopped = 0  # workers killed on timeout or disconnect, for /metrics
        # In a front process (`fronts`): queries on a loaded store run here, not in workers (`local`).
        self.local: LocalQueries | None = None

    @classmethod
    def from_settings(cls, settings: Settings) -> WorkerPool:
        return cls(settings.query_workers, burst=settings.query_burst, memory_mb=settings.query_memory_mb,
                   max_result_bytes=settings.max_result_bytes)

    def register(self, kg: KnowledgeGraph) -> None:
        """Make `kg` available to the workers. Each call counts one user of the version until `forget`."""
        self._users[kg.version] += 1
        if kg.version not in self._sources:
            self._sources[kg.version] = kg.backend.worker_source(kg)

    def forget(self, version: str) -> None:
        """One app no longer serves `version` (it replaced its graph): drop it with its last user, and the
        idle workers that hold it, so a service that takes many adds or updates does not keep every copy."""
        self._users[version] -= 1
        if self._users[version] > 0:
            return
        del self._users[version]
        self._sources.pop(version, None)
        with self._zygote_lock:
            if self._zygote is not None and version in self._held:
                self._held.discard(version)
                self._zygote[1].send(("forget", version))
        with self._lock:
            stale = [w for w in self._idle if version in w.versions]
            self._idle = [w for w in self._idle if version not in w.versions]
        for worker in stale:
            worker.kill()

    def warm_up(self, version: str) -> None:
        """Fork the zygote and `size` workers now (before the server's threads start), not on the first query."""
        if isinstance(self._sources.get(version), RemoteStore):
            return
        workers = [self._spawn(version) for _ in range(self.size - len(self._idle))]
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

    def runs_async(self, version: str) -> bool:
        """Whether `arun` can run queries on `version`: in a front, on its in-memory store."""
        return self.local is not None and isinstance(self._sources.get(version), ox.Store)

    async def arun(self, version: str, job: Job, *, timeout_s: float, gone: Callable[[], bool]) -> Answer:
        """`run` for a front's event loop (see `runs_async`); the same cache, the same local queries."""
        cached = self.cache.get(version, job)  # a lean request has no bindings: always hashable
        if cached is not None:
            return cached
        source = self._sources[version]
        assert self.local is not None and isinstance(source, ox.Store)
        answer = await self.local.arun(source, job, timeout_s=timeout_s, gone=gone)
        self.cache.put(version, job, answer)
        return answer

    def _run(self, version: str, job: Job, *, timeout_s: float, gone: Callable[[], bool]) -> Answer:
        source = self._sources.get(version)
        if isinstance(source, RemoteStore):
            return run_remote(source, job, timeout_s=timeout_s)
        if self.local is not None and isinstance(source, ox.Store):
            return self.local.run(source, job, timeout_s=timeout_s, gone=gone)
        deadline = time.monotonic() + timeout_s
        reply = self._on_worker(version, ("run", version, job, self.max_result_bytes), deadline, timeout_s,
                                gone, keep=True, what="query")
        return _answer(reply)

    def update(self, version: str, text: str, *, base_iri: str | None, timeout_s: float) -> bytes:
        """Apply an update to a copy of dataset `version` in a fresh worker, within `timeout_s`; returns the
        updated dataset as N-Quads. An update that crashes the engine costs that worker only."""
        deadline = time.monotonic() + timeout_s
        reply = self._on_worker(version, ("update", version, text, base_iri), deadline, timeout_s,
                                lambda: False, keep=False, what="update")
        return _answer(reply)

    def _on_worker(self, version: str, message: tuple, deadline: float, timeout_s: float,
                   gone: Callable[[], bool], *, keep: bool, what: str) -> tuple:
        """Send `message` to a worker holding `version` and wait for its reply until `deadline`.

        When every regular slot is taken (by runaway queries, say), a query tries a light lane first:
        there it may run `LIGHT_S` at most, which a light query needs; one that runs longer is stopped
        and waits for a regular slot like any other, within what is left of its own limit."""
        tried_light = not keep  # updates never take the light lane
        while not self._slots.acquire(blocking=False):
            if not tried_light and self._light.acquire(blocking=False):
                tried_light = True
                try:
                    light_deadline = min(deadline, time.monotonic() + LIGHT_S)
                    return self._attempt(version, message, light_deadline, timeout_s, gone, keep=keep, what=what)
                except QueryTimeout:
                    if time.monotonic() >= deadline:
                        raise
                finally:
                    self._light.release()
            if time.monotonic() >= deadline:
                raise QueryTimeout(f"every query worker stayed busy for {timeout_s:g} s; try again later")
            if gone():
                raise ClientGone("the client closed the connection while its query waited")
            time.sleep(WAIT_POLL_S)
        try:
            return self._attempt(version, message, deadline, timeout_s, gone, keep=keep, what=what)
        finally:
            self._slots.release()

    def _attempt(self, version: str, message: tuple, deadline: float, timeout_s: float,
                 gone: Callable[[], bool], *, keep: bool, what: str) -> tuple:
        """Run `message` on a worker (the caller holds a slot); the worker is kept for the next job or retired."""
        worker = None
        try:
            for _attempt in range(2):  # a worker whose version the zygote dropped since: fork a new one
                worker = self._take(version) if keep else self._spawn(version)
                worker.conn.send(message)
                reply = worker.wait(deadline, timeout_s, gone, what, self.memory_mb)
                if reply[0] != "missing":
                    break
                self._retire(worker)
                worker = None
                with self._zygote_lock:
                    self._held.discard(version)
            evicted = None
            with self._lock:
                if worker is not None and keep and not worker.retire:  # the most recently used stay ready
                    self._busy.discard(worker)
                    self._idle.append(worker)
                    worker = None
                    if len(self._idle) > self.burst:  # idle workers share the graph: keeping them is cheap,
                        evicted = self._idle.pop(0)        # forking one for every request under load is not
            if evicted is not None:
                evicted.kill()
        except BaseException:
            if worker is not None:
                self.stopped += 1
            raise
        finally:
            if worker is not None:
                self._retire(worker)
        return reply

    def _retire(self, worker: Worker) -> None:
        with self._lock:
            self._busy.discard(worker)
        worker.kill()

    def _take(self, version: str) -> Worker:
        """An idle worker holding `version` (the most recently used), or a new one."""
        with self._lock:
            for i in range(len(self._idle) - 1, -1, -1):
                worker = self._idle[i]
                if version in worker.versions:
                    del self._idle[i]
                    if worker.spent():  # ended while idle, or asked to be retired: look further
                        worker.kill()
                        continue
                    self._busy.add(worker)
                    return worker
        return self._spawn(version)

    def _spawn(self, version: str) -> Worker:
        with self._zygote_lock:
            source = self._sources[version]
            if self._zygote is None or (version not in self._held and isinstance(source, ox.Store)):
                # A version made in this process after the zygote was forked (an update, an add): a new
                # zygote forked now shares it too, and builds nothing. Workers of the old one run on.
                self._stop_zygote()
                local = {v: s for v, s in self._sources.items() if not isinstance(s, RemoteStore)}
                self._zygote = zygote.start(OrderedDict(local), handle, self.memory_mb, self.retire_mb)
                self._held = set(local)
            pid, control = self._zygote
            if version not in self._held:
                self._load(control, version)
            worker_pid, conn = zygote.spawn(control, pid)
            worker = Worker(worker_pid, conn, frozenset(self._held))
        with self._lock:
            self._busy.add(worker)
        return worker

    def _load(self, control: Connection, version: str) -> None:
        """Have the zygote hold `version`, a store folder registered after it was forked; caller holds the lock."""
        control.send(("load", version, self._sources[version]))
        if not control.poll(LOAD_TIMEOUT_S):
            raise QueryTimeout(f"the query workers took more than {LOAD_TIMEOUT_S:g} s to open the graph")
        _, _version, held = control.recv()
        self._held = set(held)

    def _stop_zygote(self) -> None:
        """End the zygote (caller holds the lock); its workers are not its to stop."""
        if self._zygote is None:
            return
        pid, control = self._zygote
        self._zygote, self._held = None, set()
        control.close()
        with contextlib.suppress(ChildProcessError, ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
            for _ in range(20):  # reaped when the kernel has freed it; a stop does not wait longer
                if os.waitpid(pid, os.WNOHANG)[0]:
                    break
                time.sleep(0.01)

    def close(self) -> None:
        """Stop every worker, busy or idle, and the zygote."""
        with self._lock:
            workers = self._idle + list(self._busy)
            self._idle, self._busy = [], set()
        for worker in workers:
            worker.kill()
        with self._zygote_lock:
            self._stop_zygote()


def _answer(reply: tuple) -> Any:  # noqa: ANN401 - an Answer for a query, N-Quads bytes for an update
    if reply[0] == "ok":
        return reply[1]
    if reply[0] == "error":
        raise CarriedError(*reply[1:])
    log.error("query worker failed:\n%s", reply[1])
    raise RuntimeError("query worker failed")
