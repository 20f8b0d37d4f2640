"""Front processes: several processes answer HTTP over one copy of a read-only graph.

One Python process answers requests one GIL at a time, and handing every query to a worker process
costs more than most queries do. For a graph that cannot change while served (no write token, no
updates: what analysts query), `serve` instead loads the graph once, binds the listening sockets,
builds the app, and forks `processes` fronts from that one process. Each front shares the loaded
store copy-on-write, runs its own waitress on the inherited sockets (the kernel spreads connections
among them) and runs queries itself (`local`), so every core answers requests and a query costs
no hop. A writable graph keeps one process with query workers: a change made in one front would
not be seen by the others.

The supervisor (the process that loaded the graph, which answers no requests) keeps `processes`
fronts alive. A front that must end (a query overran its limit or lost its client, or it holds too
much memory of its own) writes its pid on a pipe: the supervisor forks its replacement at once,
while the old front stops accepting, answers what it holds and exits. A front that dies unexpectedly
(kill -9, an abort) is replaced as soon as it is reaped. SIGINT or SIGTERM to the supervisor ends
the fronts (SIGTERM, then SIGKILL after `STOP_GRACE_S`) and then the supervisor.
"""

from __future__ import annotations

import contextlib
import gc
import logging
import os
import resource
import select
import signal
import socket
import struct
import threading
import time
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING

from waitress import wasyncore
from waitress.adjustments import Adjustments
from waitress.channel import HTTPChannel
from waitress.server import BaseWSGIServer, MultiSocketServer, create_server
from waitress.task import WSGITask

from ..settings import Settings
from ..store import KnowledgeGraph
from .local import DRAIN_S, LocalQueries, limit_arenas
from .wire import BoundedChannel
from .zygote import resident_mb

if TYPE_CHECKING:
    from _typeshed.wsgi import WSGIApplication
    from flask import Flask

log = logging.getLogger("kg_service.web")

POLL_S = 0.1  # how often the supervisor and each front look at their flags
STOP_GRACE_S = 0.5  # what a front gets to finish after SIGTERM before SIGKILL
CRASHES_ALLOWED = 20  # unexpected front deaths within CRASH_WINDOW_S before the service gives up
CRASH_WINDOW_S = 10.0
_PID = struct.Struct("i")


# The engine writes to the pages of its in-memory store as it reads them (measured at 1.24 M quads: a round
# of the named queries leaves a front with 391 of the 444 MiB of the store's heap copied), so every front
# that queries ends up holding a copy of most of the graph, beside the supervisor's. Up to this many quads
# (about 110 MiB a copy) a front per core is cheap; above it one front runs, its queries on threads that
# still use every core (the engine releases the GIL), and memory stays near two copies instead of 1 + cores.
MANY_FRONTS_QUADS = 250_000


def front_processes(settings: Settings, kg: KnowledgeGraph) -> int:
    """How many fronts `serve` runs for `kg`: 0 (one process with query workers) for a graph that can
    change while served, or one held in a folder (its handle must not cross a fork); else
    `settings.web_processes`, or by default one per core for a small graph and one for a large one."""
    writable = bool(settings.write_token) or settings.allow_updates
    if writable or kg.backend.name == "folder":
        return 0
    if settings.web_processes:
        return settings.web_processes
    return (os.cpu_count() or 2) if len(kg) <= MANY_FRONTS_QUADS else 1


def bind(host: str, port: int) -> list[socket.socket]:
    """Listening sockets for `host`/`port` (waitress resolves them as it would: a name may give an IPv4 and
    an IPv6 address), bound before any front is forked, so all fronts accept on the same ones."""
    sockets = []
    adjustments = Adjustments(host=host, port=port)
    try:
        for family, kind, proto, address in adjustments.listen:
            sock = socket.socket(family, kind, proto)
            sockets.append(sock)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind((address[0], port, *address[2:]))  # port 0: the one the first address was given, for all
            sock.listen(adjustments.backlog)
            sock.setblocking(False)
            port = sock.getsockname()[1]
    except OSError:
        for sock in sockets:
            sock.close()
        raise
    return sockets


class Supervisor:
    """Keeps `processes` fronts running; see the module docstring."""

    def __init__(self, app: Flask, sockets: list[socket.socket], *, host: str, processes: int, threads: int):
        self.app, self.sockets, self.host, self.processes, self.threads = app, sockets, host, processes, threads
        self.fronts: dict[int, bool] = {}  # pid -> it is ending (its replacement was forked)
        self.crashes: list[float] = []
        self._notices, self._notify = os.pipe()

    def run(self, stopped: Callable[[], bool]) -> bool:
        """Fork the fronts and keep them running until `stopped()`, then end them; False when they kept dying."""
        try:
            for _ in range(self.processes):
                self._fork()
            while not stopped():
                ready, _, _ = select.select([self._notices], [], [], POLL_S)
                if ready:
                    self._read_notices()
                if not self._reap():
                    return False
            return True
        finally:
            self._stop_all()

    def _fork(self) -> None:
        pid = os.fork()
        if pid == 0:
            code = 0
            try:
                os.close(self._notices)
                _front(self.app, self.sockets, self.host, self.threads, self._notify)
            except BaseException:  # noqa: BLE001 - a forked child must end here, whatever happened
                log.exception("front process failed")
                code = 1
            finally:
                logging.shutdown()
                os._exit(code)
        self.fronts[pid] = False

    def _read_notices(self) -> None:
        data = os.read(self._notices, _PID.size * 64)
        for (pid,) in _PID.iter_unpack(data[:len(data) - len(data) % _PID.size]):
            if self.fronts.get(pid) is False:  # ending: its replacement starts now, not when it has gone
                self.fronts[pid] = True
                self._fork()

    def _reap(self) -> bool:
        """Collect ended fronts and replace those that were not already; False when they keep crashing."""
        while True:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return True
            if pid == 0:
                return True
            if self.fronts.pop(pid, True):
                continue  # an ending front (already replaced), or a child not ours
            log.warning("front process %d ended unexpectedly (%s): replacing it", pid, _status(status))
            now = time.monotonic()
            self.crashes = [t for t in self.crashes if now - t < CRASH_WINDOW_S] + [now]
            if len(self.crashes) > CRASHES_ALLOWED:
                log.error("front processes keep ending (%d in %.0f s): stopping", len(self.crashes), CRASH_WINDOW_S)
                return False
            self._fork()

    def _stop_all(self) -> None:
        """SIGTERM to every front, then SIGKILL to those still there after `STOP_GRACE_S`."""
        for sig in (signal.SIGTERM, signal.SIGKILL):
            for pid in self.fronts:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, sig)
            deadline = time.monotonic() + STOP_GRACE_S
            while self.fronts and time.monotonic() < deadline:
                self._collect()
                time.sleep(0.01)

    def _collect(self) -> None:
        for pid in list(self.fronts):
            try:
                ended = os.waitpid(pid, os.WNOHANG)[0] != 0
            except ChildProcessError:
                ended = True
            if ended:
                del self.fronts[pid]


def _status(status: int) -> str:
    if os.WIFSIGNALED(status):
        return f"signal {signal.Signals(os.WTERMSIG(status)).name}"
    return f"exit status {os.waitstatus_to_exitcode(status)}"


def _front(app: Flask, sockets: list[socket.socket], host: str, threads: int, notify: int) -> None:
    """A front's life: serve on `sockets` until SIGTERM, or until it must end and has answered what it holds."""
    gc.freeze()  # what the supervisor built stays shared: the collector would otherwise write to its pages
    limit_arenas()
    stop = threading.Event()
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the whole group: the supervisor decides
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    svc = app.extensions["kg_service"]
    settings: Settings = svc.settings
    ending = threading.Event()

    def on_end(reason: str) -> None:
        log.info("front process %d: %s; a new one takes its place", os.getpid(), reason)
        os.write(notify, _PID.pack(os.getpid()))
        ending.set()

    svc.pool.local = LocalQueries(max_result_bytes=svc.pool.max_result_bytes, memory_mb=settings.query_memory_mb,
                                  shared_mb=resident_mb(), metrics=svc.metrics, on_end=on_end)
    _ClosingTask.ending = ending
    server = make_front_server(app, settings, sockets, host=host, threads=threads)
    _cap_memory(settings.query_memory_mb)  # after waitress started its threads: their stacks count too
    sockets_map, listeners = dispatchers(server)
    drain_until = None
    while not stop.is_set():
        server.asyncore.loop(timeout=POLL_S, map=sockets_map, use_poll=server.adj.asyncore_use_poll, count=1)
        if ending.is_set() and drain_until is None:
            for listener in listeners:  # this process's copy: the other fronts go on accepting
                wasyncore.dispatcher.close(listener)  # not the server's own close(), which ends its trigger too
            # A query still running after DRAIN_S is answered 503 (`local`); other work (a validation, a
            # dump being sent) may take up to a query's time limit, then the connection is closed anyway.
            drain_until = time.monotonic() + max(DRAIN_S, settings.query_timeout_s) + 1
        if drain_until is not None:
            _close_idle(sockets_map.values())
            if _drained(server.task_dispatcher, sockets_map.values()) or time.monotonic() > drain_until:
                break
    server.task_dispatcher.shutdown(timeout=0.1)


def make_front_server(app: WSGIApplication, settings: Settings, sockets: list[socket.socket], *,  # noqa: ANN201
                      host: str, threads: int):
    """waitress on already bound `sockets`, with the same hardening as the one-process server."""
    from .server_errors import use_json_errors

    server = create_server(app, sockets=sockets, threads=threads, channel_request_lookahead=5, ident="kg-service",
                           max_request_body_size=settings.max_upload_bytes,
                           server_name=host)  # waitress's default, waitress.invalid, would name URLs
    use_json_errors(server)
    server.channel_class = _FrontChannel
    return server


def _drained(dispatcher: object, dispatchers: Iterable[object]) -> bool:
    """Nothing left to answer or to send: no task queued or running, and no connection left open (an idle one
    is closed by `_close_idle`; one accepted a moment ago may have a request on the way, and exiting would
    reset it)."""
    if getattr(dispatcher, "active_count", 0) or getattr(dispatcher, "queue", None):
        return False
    return not any(isinstance(d, HTTPChannel) for d in dispatchers)


THREAD_SPACE_MB = 4096  # room in the address-space cap for query threads' stacks and malloc arenas
IDLE_CLOSE_S = 1.0  # a connection of an ending front that has sent nothing for this long is closed


def dispatchers(server: object) -> tuple[dict, list[BaseWSGIServer]]:
    """waitress's map of a server's dispatchers (one listening socket's server keeps it in `_map`, several
    sockets' in `map`), and the listening ones among them (a trigger and connections are the others)."""
    sockets_map = server.map if isinstance(server, MultiSocketServer) else server._map  # type: ignore[attr-defined]
    return sockets_map, [d for d in list(sockets_map.values()) if isinstance(d, BaseWSGIServer)]


def _close_idle(dispatchers: Iterable[object]) -> None:
    """Close the connections that have held no request for `IDLE_CLOSE_S` (a client that kept one alive
    connects again, to a front that stays). Not at once: a connection accepted a moment ago has its
    request on the way, and closing it with unread bytes would reset it."""
    cutoff = time.time() - IDLE_CLOSE_S
    for channel in list(dispatchers):
        if (isinstance(channel, HTTPChannel) and not channel.requests and channel.request is None
                and channel.last_activity < cutoff):
            channel.will_close = True


class _ClosingTask(WSGITask):
    """waitress's WSGI task, answering `Connection: close` once its front is ending (waitress does not let
    the app set that header: it is waitress's to send, and then it closes the connection itself)."""

    ending = threading.Event()  # this process's: set in `_front`

    def build_response_header(self) -> bytes:
        if self.ending.is_set():
            self.set_close_on_finish()
        return super().build_response_header()


class _FrontChannel(BoundedChannel):
    task_class = _ClosingTask


def _cap_memory(memory_mb: int) -> None:
    """An address-space cap well above the memory watch of `local` (which ends the front gracefully first),
    so a query that allocates faster than the watch looks ends its own front, never the machine."""
    if memory_mb <= 0:
        return
    with open("/proc/self/statm") as statm:
        pages = int(statm.read().split()[0])
    # Address space, not memory: each new query thread reserves a stack and may reserve a malloc arena.
    limit = pages * os.sysconf("SC_PAGE_SIZE") + (4 * memory_mb << 20) + (THREAD_SPACE_MB << 20)
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
