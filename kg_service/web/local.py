"""Queries run in the front process itself, on its copy-on-write share of the loaded store.

A front (`fronts`) is a process the supervisor can replace in the time of a fork, so it may run
queries itself instead of handing each one to a worker process: no pickling, no second hop, the
engine's bytes written straight into the response. pyoxigraph releases the GIL while it evaluates
and serialises, so each query runs on a thread of its own while the request's thread waits for it
with the time limit, and the other requests of the front go on being answered meanwhile.

pyoxigraph cannot cancel a query, and a thread cannot be killed: a query that overruns its limit,
or whose client hangs up, is answered at once (503 `query-timeout`, or 499), and the front *ends*
(`on_end`): it stops accepting, the supervisor forks its replacement at once, and it exits when its
other requests are answered, taking the runaway with it. A watch thread does the same when the
process's private memory passes `memory_mb` beyond what it shares with the supervisor (the engine copies
pages of the shared graph as it reads them; those are not the queries' doing): then it cannot know which
query is to blame, so the queries in flight are answered 503 `worker-lost` with Retry-After and the front
ends, before the address-space cap (set a margin above, `fronts`) would abort it without answering anyone.
"""

from __future__ import annotations

import asyncio
import ctypes
import sys
import threading
import time
from collections.abc import Callable
from queue import SimpleQueue

import pyoxigraph as ox

from ..errors import ClientGone, QueryTimeout, WorkerLost
from .jobs import Answer, Job, execute_capped
from .metrics import Metrics
from .zygote import private_mb, resident_mb

POLL_S = 0.05  # how often a waiting request looks at its deadline, its client and the front's state
MEMORY_CHECK_S = 0.25  # how often the watch thread reads the process's private memory
RETRY_AFTER_S = 1  # a replacement front is forked at once: asking again a second later finds it
DRAIN_S = 1.0  # how long an ending front still waits for its queries: a light one is answered by then
TRIM_AFTER_S = 0.05  # a query that ran longer may have left much freed memory in malloc's hands
_LIBC = ctypes.CDLL(None) if sys.platform == "linux" else None


def limit_arenas(arenas: int = 2) -> None:
    """Have glibc's malloc keep at most `arenas` arenas: each query thread would otherwise get one of its
    own and keep what its biggest query freed (glibc allows eight per core)."""
    if _LIBC is not None:
        _LIBC.mallopt(-8, arenas)  # M_ARENA_MAX


def _give_back_memory() -> None:
    """Return freed memory to the system (glibc keeps it for reuse): after a heavy query its working memory
    would otherwise count against the process, as if it still held it."""
    if _LIBC is not None:
        _LIBC.malloc_trim(0)


class LocalQueries:
    """Runs jobs on threads of this process, each within its time limit; see the module docstring."""

    def __init__(self, *, max_result_bytes: int, memory_mb: int, metrics: Metrics,
                 on_end: Callable[[str], None], shared_mb: int = 0):
        """`on_end(reason)` is called once, when this process must be replaced. It may hold `memory_mb` (0: no
        watch) of its own beyond `shared_mb`, the memory it shares with the supervisor: the engine copies
        pages of the shared graph as it reads them, which is not the queries' doing."""
        self.max_result_bytes, self.memory_mb, self.metrics = max_result_bytes, memory_mb, metrics
        self.shared_mb = shared_mb
        self._on_end = on_end
        self._lock = threading.Lock()
        self.ending: str | None = None  # why this process is being replaced, once it is
        self.drained_at = float("inf")  # when the queries still running here are given up
        self.out_of_memory = False
        self._threads = _QueryThreads()
        if memory_mb > 0:
            threading.Thread(target=self._watch_memory, name="memory-watch", daemon=True).start()

    def run(self, store: ox.Store, job: Job, *, timeout_s: float, gone: Callable[[], bool]) -> Answer:
        """Run `job` on `store` within `timeout_s`; raises QueryTimeout, ClientGone, WorkerLost (this
        process ran out of memory) or the query's own error."""
        if self.out_of_memory:
            raise self._lost()
        deadline = time.monotonic() + timeout_s
        pending = self._threads.submit(_Pending((store, job, self.max_result_bytes)))
        while not pending.done.acquire(timeout=max(0.0, min(POLL_S, deadline - time.monotonic()))):
            self._check(deadline, timeout_s, gone)
        return pending.result()

    async def arun(self, store: ox.Store, job: Job, *, timeout_s: float, gone: Callable[[], bool]) -> Answer:
        """`run` for an event loop (a front's HTTP server, `native`): the loop is woken when the query is
        done, or every POLL_S to look at the same deadline, client and process state."""
        if self.out_of_memory:
            raise self._lost()
        loop = asyncio.get_running_loop()
        deadline = time.monotonic() + timeout_s
        pending, submitted = _Pending((store, job, self.max_result_bytes)), False
        while True:
            wake = loop.create_future()
            pending.on_done = lambda wake=wake: loop.call_soon_threadsafe(_settle, wake)
            if not submitted:
                self._threads.submit(pending)
                submitted = True
            elif pending.finished():  # done before its new wake-up was set
                return pending.result()
            timer = loop.call_later(max(0.0, min(POLL_S, deadline - time.monotonic())), _settle, wake)
            await wake
            timer.cancel()
            if pending.finished():
                return pending.result()
            self._check(deadline, timeout_s, gone)

    def _check(self, deadline: float, timeout_s: float, gone: Callable[[], bool]) -> None:
        """Raise what a waiting request must answer now, if anything: its limit passed, its client gone,
        or this process lost."""
        if time.monotonic() >= deadline:
            self._stop("a query ran past its time limit")
            raise QueryTimeout(f"the query ran longer than {timeout_s:g} s and was stopped")
        if gone():
            self._stop("a client hung up while its query ran")
            raise ClientGone("the client closed the connection; the query was stopped")
        if self.out_of_memory or time.monotonic() > self.drained_at:
            raise self._lost()

    def _stop(self, reason: str) -> None:
        """A query must be stopped: count it, and end this process (which is how it stops)."""
        self.metrics.add("stopped")
        self.end(reason)

    def end(self, reason: str) -> None:
        """Have this process replaced (once): the caller answers its own request as it sees fit."""
        with self._lock:
            if self.ending is not None:
                return
            self.ending = reason
            self.drained_at = time.monotonic() + DRAIN_S
        self._on_end(reason)

    def _lost(self) -> WorkerLost:
        if self.out_of_memory:
            why = f"its queries needed more than the {self.memory_mb} MiB they may use"
        else:
            why = "another query on it ran past its limit, and the only way to stop that one is to end the process"
        error = WorkerLost(f"the process answering this request had to be replaced ({why}); try again")
        error.retry_after = RETRY_AFTER_S  # type: ignore[attr-defined]  # read by the error handler
        return error

    def _watch_memory(self) -> None:
        while self.ending is None:
            time.sleep(MEMORY_CHECK_S)
            limit = self.memory_mb + self.shared_mb
            # Private memory is at most the resident: the costly count (10 ms at a million quads) only past it.
            if resident_mb() > limit and private_mb() > limit:
                self.out_of_memory = True
                self.end(f"its private memory passed {self.memory_mb} MiB beyond the {self.shared_mb} MiB of the "
                         "shared graph")
                return


def _settle(wake: asyncio.Future) -> None:
    if not wake.done():
        wake.set_result(None)


class _Pending:
    """One job handed to a query thread: `done` is released when `answer` or `error` is set, then
    `on_done` is called (from the query thread)."""

    __slots__ = ("answer", "args", "done", "error", "on_done")

    def __init__(self, args: tuple[ox.Store, Job, int]):
        self.args = args
        self.answer: Answer | None = None
        self.error: BaseException | None = None
        self.on_done: Callable[[], object] | None = None
        self.done = threading.Lock()
        self.done.acquire()

    def finished(self) -> bool:
        return self.answer is not None or self.error is not None

    def result(self) -> Answer:
        if self.error is not None:
            raise self.error
        assert self.answer is not None
        return self.answer


class _QueryThreads:
    """Threads that run jobs, started as needed and then reused: a runaway keeps its thread until the
    process ends, so a new one starts whenever none is idle. Lighter than concurrent.futures (a queue
    and a lock per job, no condition variables): the hand-over is most of what a small query costs."""

    def __init__(self) -> None:
        self._jobs: SimpleQueue[_Pending] = SimpleQueue()
        self._idle = 0
        self._lock = threading.Lock()

    def submit(self, pending: _Pending) -> _Pending:
        with self._lock:
            start = self._idle == 0
            self._idle -= not start  # the idle thread that will take it
        if start:
            threading.Thread(target=self._serve, args=(pending,), name="query", daemon=True).start()
        else:
            self._jobs.put(pending)
        return pending

    def _serve(self, pending: _Pending) -> None:
        while True:
            started = time.monotonic()
            try:
                pending.answer = execute_capped(*pending.args)
            except BaseException as exc:  # noqa: BLE001 - handed to the waiting request, which raises it
                pending.error = exc
            pending.done.release()
            on_done = pending.on_done
            if on_done is not None:
                try:
                    on_done()
                except RuntimeError:  # the loop has closed: the front is exiting
                    pass
            if time.monotonic() - started > TRIM_AFTER_S:
                _give_back_memory()
            with self._lock:
                self._idle += 1
            pending = self._jobs.get()
