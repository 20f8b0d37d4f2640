"""`kg-service serve`: load the graph, then serve it from front processes (a read-only graph in memory,
see `fronts`: granian's HTTP server in each) or from this one process with waitress and query workers.

Where the graph lives is chosen once, by `backends.open_graph`: in memory (the default), in a
persistent folder (`--store PATH`, reopened without a rebuild while the inputs are unchanged), or on
a remote SPARQL server (`--store URL`, pushed at start and queried through). The app sees one
`KnowledgeGraph` in every case. The query workers' zygote is forked before waitress starts its
threads, so it shares the loaded store with this process.

In the one-process case waitress is pure Python (no build step) and robust; its threads answer requests
while the heavy work runs in the worker processes. ``channel_request_lookahead`` lets waitress notice a client that
has gone away, so its query is stopped at once instead of at the time limit.
"""

from __future__ import annotations

import logging
import os
import signal
import threading
import time
from pathlib import Path
from types import FrameType
from typing import TextIO

from waitress.server import MultiSocketServer

from ..backends import GraphSpec, open_graph
from ..errors import KgError
from ..settings import Settings
from ..store import KnowledgeGraph
from .fronts import front_processes

log = logging.getLogger("kg_service.web")


def load_kg(settings: Settings, *, data: Path | None, union_default_graph: bool | None,
            store_url: str | None = None) -> KnowledgeGraph:
    """`backends.open_graph` for `serve`'s options: the seeds (union default graph on unless told
    otherwise) or the dataset file `data` (off), in memory, in the folder or on the remote `store_url`."""
    return open_graph(settings, GraphSpec(data=data, store=store_url, union_default_graph=union_default_graph))


def make_server(settings: Settings, kg: KnowledgeGraph, *, host: str = "127.0.0.1", port: int = 8000):  # noqa: ANN201
    """A waitress server for the app, bound but not yet serving (``port=0`` picks a free port)."""
    from waitress.server import create_server

    from . import create_app
    from .server_errors import use_json_errors
    from .wire import BoundedChannel

    app = create_app(settings, kg)
    app.extensions["kg_service"].pool.warm_up(kg.version)  # forks the zygote before waitress starts threads
    # waitress would otherwise buffer up to 1 GB of body (to disk) before the app could answer 413.
    # A thread per query that can run, and as many again for requests that run none (pages, dumps, cached
    # answers) or wait: with fewer, runaway queries would hold every thread and a light request wait in
    # waitress's queue, before it even reached the worker pool's light lane.
    pool = app.extensions["kg_service"].pool
    server = create_server(app, host=host, port=port, threads=2 * pool.capacity, channel_request_lookahead=5,
                           ident="kg-service", max_request_body_size=settings.max_upload_bytes,
                           server_name=host)  # waitress's default, waitress.invalid, would name generated URLs
    use_json_errors(server)  # a body over the limit is waitress's 413: in the JSON error body too
    server.channel_class = BoundedChannel  # and refuse at once a body or chunk over the limit (web/wire.py)
    return app, server


def serve_fronts(settings: Settings, kg: KnowledgeGraph, stopper: _Stopper, *, host: str, port: int,
                 processes: int) -> None:
    """Serve a read-only graph from `processes` front processes (`fronts`) until SIGINT or SIGTERM."""
    from . import create_app
    from .fronts import bind
    from .supervisor import Supervisor

    app = create_app(settings, kg)  # no query workers: each front runs its queries itself
    sockets = bind(host, port)
    address = sockets[0].getsockname()
    log.info("serving %d quads (%s) at http://%s:%s/sparql from %d process%s", len(kg), kg.backend, address[0],
             address[1], processes, "" if processes == 1 else "es")
    stopper.serving = True
    try:  # the supervisor's stop is bounded (SIGTERM, then SIGKILL): no backstop timer needed
        supervisor = Supervisor(app, sockets, host=host, processes=processes,
                                threads=2 * app.extensions["kg_service"].pool.capacity)
        if not supervisor.run(lambda: stopper.signal is not None):
            raise SystemExit(1)  # logged: the fronts kept dying
        log.info("%s: stopped", stopper.signal)
    finally:
        for sock in sockets:
            sock.close()


class Stop(BaseException):
    """SIGINT or SIGTERM arrived. Not a KeyboardInterrupt: waitress catches that and then waits up to
    5 s for busy threads, where a stop must take well under a second."""


STOP_BACKSTOP_S = 3.0


def _exit_now() -> None:
    log.error("stopping took over %.0f s: exiting without waiting further", STOP_BACKSTOP_S)
    logging.shutdown()
    os._exit(1)


class _Stopper:
    """The SIGINT/SIGTERM handler. While loading it raises `Stop` (the load is ours to interrupt); while
    serving it only sets a flag that the serving loop checks: raised inside waitress, the exception would
    land in a channel's read handler, whose bare ``except`` logs it and closes that channel — the signal
    would be lost and the server run on."""

    def __init__(self) -> None:
        self.serving = False
        self.signal: str | None = None

    def __call__(self, signum: int, _frame: FrameType | None) -> None:
        self.signal = signal.Signals(signum).name
        if not self.serving:
            raise Stop(self.signal)


LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"  # serve's log lines (one per request)


class _LogFormatter(logging.Formatter):
    """LOG_FORMAT's lines, the date and time formatted once a second: a line a request is written at
    thousands a second, and ``time.strftime`` was a sixth of what writing one cost."""

    _last: tuple[int, str] = (-1, "")  # one attribute, replaced whole: threads may format at once

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:  # noqa: N802 - logging's name
        second, stamp = self._last
        if int(record.created) != second:
            stamp = time.strftime(self.default_time_format, self.converter(record.created))
            self._last = (int(record.created), stamp)
        return "%s,%03d" % (stamp, record.msecs)  # noqa: UP031 - logging.Formatter's default_msec_format


def configure_logging(stream: TextIO | None = None) -> None:
    """serve's logging: INFO and up, one LOG_FORMAT line each, to `stream` (standard error by default)."""
    handler = logging.StreamHandler(stream)
    handler.setFormatter(_LogFormatter(LOG_FORMAT))
    logging.basicConfig(level=logging.INFO, handlers=[handler])
POLL_S = 0.2  # how often the serving loop looks at the flag: a stop takes at most this long to begin


def run_server(settings: Settings, *, host: str = "127.0.0.1", port: int = 8000, data: Path | None = None,
               store_url: str | None = None, union_default_graph: bool | None = None) -> None:
    """Serve until SIGINT or SIGTERM; the worker processes are stopped on the way out.

    Both signals get a handler of their own, also when SIGINT was ignored on the way in (a shell
    starts background jobs that way), so `kill -INT` and Ctrl-C stop the server alike."""
    configure_logging()
    stopper = _Stopper()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, stopper)
    try:
        kg = load_kg(settings, data=data, union_default_graph=union_default_graph, store_url=store_url)
        processes = front_processes(settings, kg)
        if processes:
            serve_fronts(settings, kg, stopper, host=host, port=port, processes=processes)
            return
        app, server = make_server(settings, kg, host=host, port=port)
    except Stop as stop:
        log.info("%s while loading: stopped", stop)
        return
    log.info("serving %d quads (%s) at http://%s:%s/sparql", len(kg), kg.backend, server.effective_host,
             server.effective_port)
    stopper.serving = True
    # The sockets of the server: one listening socket's server keeps them in `_map`, several sockets' in `map`.
    sockets = server.map if isinstance(server, MultiSocketServer) else server._map
    try:
        while stopper.signal is None:  # waitress's own loop, one poll at a time, so the flag is seen
            server.asyncore.loop(timeout=POLL_S, map=sockets, use_poll=server.adj.asyncore_use_poll, count=1)
        log.info("%s: stopping", stopper.signal)
    finally:
        # A backstop, not the way out: if stopping the workers ever hangs, the process still ends
        # within seconds instead of ignoring the signal.
        backstop = threading.Timer(STOP_BACKSTOP_S, _exit_now)
        backstop.daemon = True
        backstop.start()
        server.close()  # no new connections from here on
        # Then the workers: a thread waiting on one is released at once, and nothing outlives the server.
        app.extensions["kg_service"].pool.close()
        server.task_dispatcher.shutdown(timeout=0.1)  # its threads are daemons: none can hold the exit
        log.info("stopped")


__all__ = ["KgError", "load_kg", "make_server", "run_server"]
