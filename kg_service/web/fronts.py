"""Front processes: several processes answer HTTP over one copy of a read-only graph.

One Python process answers requests one GIL at a time, and handing every query to a worker process
costs more than most queries do. For a graph that cannot change while served (no write token, no
updates: what analysts query), `serve` instead loads the graph once, binds the listening sockets,
builds the app, and forks `processes` fronts from that one process. Each front shares the loaded
store copy-on-write, runs its own HTTP server (granian's, see `native`) on the inherited sockets (the
kernel spreads connections among them) and runs queries itself (`local`), so every core answers
requests and a query costs no hop. A writable graph keeps one process (waitress) with query workers:
a change made in one front would not be seen by the others.

The supervisor (`supervisor`: the process that loaded the graph, which answers no requests) keeps
`processes` fronts alive and replaces those that end. Here: how many fronts, the sockets they share, and
a front's life (`front_main`): serve, and when it must end, stop accepting, answer what it holds, exit.
"""

from __future__ import annotations

import gc
import logging
import os
import resource
import signal
import socket
import struct
from collections.abc import Callable
from typing import TYPE_CHECKING

from waitress.adjustments import Adjustments

from ..settings import Settings
from ..store import KnowledgeGraph
from . import native
from .local import DRAIN_S, LocalQueries, limit_arenas
from .zygote import resident_mb

if TYPE_CHECKING:
    from flask import Flask

log = logging.getLogger("kg_service.web")

POLL_S = 0.1  # how often the supervisor and each front look at their flags
NOTICE = struct.Struct("i")  # a front's notice on the supervisor's pipe: its pid
BACKPRESSURE = 128  # requests a front takes at once; more wait in the kernel's queue (or another front takes them)


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


def front_main(app: Flask, sockets: list[socket.socket], host: str, threads: int, notify: int) -> None:
    """A front's life: serve on `sockets` until SIGTERM, or until it must end and has answered what it holds."""
    gc.freeze()  # what the supervisor built stays shared: the collector would otherwise write to its pages
    limit_arenas()
    stop = native.Stop()
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the whole group: the supervisor decides
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    svc = app.extensions["kg_service"]
    settings: Settings = svc.settings

    def on_end(reason: str) -> None:
        log.info("front process %d: %s; a new one takes its place", os.getpid(), reason)
        os.write(notify, NOTICE.pack(os.getpid()))
        stop.set()  # granian stops accepting and closes each connection after its answer

    bridge = front_bridge(app, threads, memory_mb=settings.query_memory_mb, shared_mb=resident_mb(), on_end=on_end)
    _cap_memory(settings.query_memory_mb)
    # A query still running DRAIN_S after the end is answered 503 (`local`); other work (a validation, a dump
    # being sent) may take up to a query's time limit, then the process exits anyway.
    native.serve(bridge, sockets, worker_id=os.getpid(), stop=stop, backpressure=BACKPRESSURE,
                 drain_s=max(DRAIN_S, settings.query_timeout_s) + 1)


def front_bridge(app: Flask, threads: int, *, memory_mb: int, shared_mb: int,
                 on_end: Callable[[str], None]) -> native.Bridge:
    """What answers a front's requests: the app's queries run in this process (`local`, within `memory_mb`
    beyond the `shared_mb` it shares), the rest of its requests on `threads` threads (`native`). Also what
    `bench/front_path.py` measures, so it measures a front's own path."""
    svc = app.extensions["kg_service"]
    svc.pool.local = LocalQueries(max_result_bytes=svc.pool.max_result_bytes, memory_mb=memory_mb,
                                  shared_mb=shared_mb, metrics=svc.metrics, on_end=on_end)
    return native.Bridge(app, threads=threads, max_body=svc.settings.max_upload_bytes)


THREAD_SPACE_MB = 4096  # room in the address-space cap for query threads' stacks and malloc arenas
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
