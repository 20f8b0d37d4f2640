"""A front's HTTP server: granian's (Rust, hyper) on the inherited sockets, calling the WSGI app.

waitress parses HTTP and moves bytes in Python: measured on the seeds, a trivial query cost a front
~1.4 ms of CPU under waitress against ~0.45 ms here, and Oxigraph's server ~0.1 ms. granian's WSGI mode
would run the app as well, but it cannot tell the app that a client hung up, and a hung-up client's
runaway query must be stopped (`local`). So the front speaks granian's RSGI (an async interface that
can await a disconnect) and bridges each request to the WSGI app itself, here: the body is read first
(up to the upload limit: a larger declared body is left unread for the app's 413), the app runs on a
thread of a bounded pool (`wsgi_call`), and a disconnect while it runs is set in its environ (`run.GONE_KEY`,
read beside waitress's own key). A body that cannot be read, or not within BODY_IDLE_S, is the app's to
answer too (408 or 400, through its one error handler). Responses of one piece are sent whole; others
(dumps, streamed from files) chunk by chunk.

The event loop is uvloop's where it is installed (a dependency off Windows): measured on a one-row query
with 8 clients, 1,944 against 1,692 requests a second and 0.78-0.94 against 1.07 ms for one client.

granian's worker is started on our own sockets (`serve`) through its internal worker class, as its own
process manager does, so the supervisor keeps forking fronts from the process that holds the graph:
granian's manager would start workers that load the graph again. The version is pinned in
pyproject.toml for that reason.
"""

from __future__ import annotations

import asyncio
import io
import logging
import os
import socket
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

from ..errors import BodyTimeout, UsageError
from .lean import ERROR_KEY, LeanSparql, log_request, plain_query
from .run import GONE_KEY
from .wsgi_call import call_app, environ_of

if TYPE_CHECKING:
    from flask import Flask

    from . import PublicHost

log = logging.getLogger("kg_service.web")

BODY_IDLE_S = 30.0  # a request body not read within this long is answered 408 (headers: granian's own limit)


class Bridge:
    """An RSGI application that runs the WSGI `app` for each request on a pool of `threads`."""

    def __init__(self, app: Flask, *, threads: int, max_body: int):
        self.app, self.max_body = app, max_body
        self.public: PublicHost = app.extensions["kg_service.public_host"]
        self.lean: LeanSparql = app.extensions["kg_service.lean"]
        self.active = 0  # requests being answered (the event loop's thread only)
        self.reading: dict[asyncio.Task, float] = {}  # requests reading their body: since when
        self.stalled: set[asyncio.Task] = set()  # ... given up by `sweep`
        self.pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="request")

    async def __rsgi__(self, scope: Any, proto: Any) -> None:
        if scope.proto != "http":  # websockets are not served
            return
        self.active += 1
        try:
            await self._answer(scope, proto)
        finally:
            self.active -= 1

    async def _answer(self, scope: Any, proto: Any) -> None:
        environ = environ_of(scope)
        length = environ.get("CONTENT_LENGTH", "")
        declared = int(length) if length.isdigit() else None
        if environ["REQUEST_METHOD"] in ("GET", "HEAD", "OPTIONS", "DELETE") and not declared and \
                "HTTP_TRANSFER_ENCODING" not in environ:
            body = b""
        elif declared is not None and declared > self.max_body:
            body = b""  # not read: the app answers 413 from the declared length, and no 100 Continue is sent
        else:
            task = asyncio.current_task()  # granian runs each request as a task: `sweep` can cancel it
            if task is not None:
                self.reading[task] = asyncio.get_running_loop().time()
            try:
                body = await _read(proto, declared, self.max_body)
            except asyncio.CancelledError:
                if task not in self.stalled:
                    raise
                self.stalled.discard(task)
                body, environ[ERROR_KEY] = b"", (BodyTimeout(
                    f"the request body did not arrive within {BODY_IDLE_S:g} s"), None)
            except Exception:  # noqa: BLE001 - a broken body (a reset, a framing error)
                body, environ[ERROR_KEY] = b"", (UsageError("the request body could not be read"), None)
            finally:
                if task is not None:
                    self.reading.pop(task, None)
        environ["wsgi.input"] = io.BytesIO(body)
        if ERROR_KEY not in environ and self.lean.asynchronous() and await self._lean(environ, proto):
            return
        gone = threading.Event()
        environ[GONE_KEY] = gone.is_set  # read by `run.client_gone`
        loop = asyncio.get_running_loop()
        call = loop.run_in_executor(self.pool, call_app, self.app, environ)
        watch = asyncio.ensure_future(proto.client_disconnect())
        done, _ = await asyncio.wait((call, watch), return_when=asyncio.FIRST_COMPLETED)
        if call not in done:
            gone.set()
            try:
                await call
            except Exception:  # noqa: BLE001, S110 - nobody is left to answer
                pass
            return
        watch.cancel()
        status, headers, chunks = call.result()
        if isinstance(chunks, list):
            proto.response_bytes(status, headers, b"".join(chunks))
            return
        await self._stream(proto, status, headers, chunks, loop)

    async def sweep(self) -> None:
        """Give up the requests whose body has not been read within BODY_IDLE_S (a client trickling it, or
        sending none): one timer for all, not one per request (measured: 0.15 ms a request)."""
        loop = asyncio.get_running_loop()
        while True:
            await asyncio.sleep(min(1.0, BODY_IDLE_S / 2))
            cutoff = loop.time() - BODY_IDLE_S
            for task, since in list(self.reading.items()):
                if since < cutoff:
                    self.stalled.add(task)
                    task.cancel()

    async def _lean(self, environ: dict, proto: Any) -> bool:
        """Answer a plain query on this loop (`lean`), with no thread but the query's; False when the app
        must answer (another kind of request, or an error for the app's error handler)."""
        started = time.monotonic()
        self.public.fix(environ)
        request = plain_query(environ, self.max_body)
        if request is None:
            return False
        hangup = _Hangup(proto)
        try:
            answered = await self.lean.answer(environ, request, hangup)
        finally:
            hangup.close()
        if answered is None:
            return False
        headers, body = answered
        proto.response_bytes(200, headers, body)
        log_request(environ["REQUEST_METHOD"], "/sparql", 200, started, request.text)  # after: not in its time
        return True

    async def _stream(self, proto: Any, status: int, headers: list[tuple[str, str]], chunks: Iterable[bytes],
                      loop: asyncio.AbstractEventLoop) -> None:
        """Send a response of many pieces, each read on the pool (a dump is read from a file)."""
        pieces: Iterator[bytes] = iter(chunks)
        try:
            transport = proto.response_stream(status, headers)
            while True:
                piece = await loop.run_in_executor(self.pool, next, pieces, None)
                if piece is None:
                    break
                if piece:
                    await transport.send_bytes(piece)
        except Exception:  # noqa: BLE001 - the client went away mid-stream: stop reading
            log.debug("a streamed response was cut short", exc_info=True)
        finally:
            close = getattr(chunks, "close", None)
            if close is not None:
                await loop.run_in_executor(self.pool, close)


class _Hangup:
    """Has the client hung up? Watched from the first time it is asked (a query still running at its first
    poll), not for every request: most are answered before, and a watch costs each one."""

    __slots__ = ("proto", "task")

    def __init__(self, proto: Any):
        self.proto, self.task = proto, None

    def __call__(self) -> bool:
        if self.task is None:
            self.task = asyncio.ensure_future(self.proto.client_disconnect())
            return False
        return self.task.done()

    def close(self) -> None:
        if self.task is not None:
            self.task.cancel()


async def _read(proto: Any, declared: int | None, limit: int) -> bytes:
    """The body, or its first `limit` + 1 bytes (the app refuses it as too large): at once when its length
    is declared (and within the limit), else piece by piece."""
    if declared is not None:
        return await proto()
    parts, size = [], 0
    async for part in proto:
        parts.append(part)
        size += len(part)
        if size > limit:
            break
    return b"".join(parts)


class Stop:
    """Tells a front's server to stop: every granian worker (each needs a signal of its own) and the loop
    waiting for them. Safe to set from any thread or a signal handler, more than once."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._listeners: list[Callable[[], object]] = []
        self.is_set = False

    def listen(self, callback: Callable[[], object]) -> None:
        with self._lock:
            self._listeners.append(callback)
            now = self.is_set
        if now:
            callback()

    def set(self) -> None:
        with self._lock:
            if self.is_set:
                return
            self.is_set = True
            listeners = list(self._listeners)
        for callback in listeners:
            callback()


def serve(bridge: Bridge, sockets: list[socket.socket], *, worker_id: int, stop: Stop, backpressure: int,
          drain_s: float) -> None:
    """Serve `bridge` on `sockets` with granian's worker until `stop` is set, then answer the requests in
    hand for up to `drain_s`. One worker per socket (a name may give an IPv4 and an IPv6 address)."""
    from granian import _granian
    from granian._futures import _future_watcher_wrapper, _new_cbscheduler
    from granian._loops import loops
    from granian.http import HTTP1Settings

    loop = loops.get("auto")  # uvloop where installed, else asyncio's own
    asyncio.set_event_loop(loop)
    no_tls: tuple = (False, None, None, None, "tls1.3", None, [], False)
    http1 = HTTP1Settings(header_read_timeout=30_000, keep_alive=True)
    callback = _future_watcher_wrapper(bridge.__rsgi__)
    stopped = asyncio.Event()
    worker_class: Any = _granian.RSGIWorker  # its stub lags the class: the arguments are those of granian's own
    holder_class: Any = _granian.SocketHolder  # process manager (granian/server/mp.py, 2.8.9)
    for sock in sockets:
        holder = holder_class(os.dup(sock.fileno()), False, 1024)  # granian owns (and closes) its copy
        worker = worker_class(worker_id, (None, holder), None, 1, 512, 1, 30, backpressure, "1", http1, None,
                              False, None, *no_tls, (None, None))
        signal = _granian.WorkerSignal()
        stop.listen(signal.set)
        worker.serve_str(_new_cbscheduler(loop, callback, impl_asyncio=True), loop, signal)
    stop.listen(lambda: loop.call_soon_threadsafe(stopped.set))
    try:
        loop.run_until_complete(_until(stopped, bridge, drain_s))
    finally:
        loop.close()
        bridge.pool.shutdown(wait=False)


async def _until(stopped: asyncio.Event, bridge: Bridge, drain_s: float) -> None:
    """Sweep stalled bodies until the stop, then wait for the requests in hand (at most `drain_s`)."""
    sweeper = asyncio.create_task(bridge.sweep())
    await stopped.wait()
    loop = asyncio.get_running_loop()
    deadline = loop.time() + drain_s
    while bridge.active and loop.time() < deadline:
        await asyncio.sleep(0.02)
    await asyncio.sleep(0.05)  # the last answers leave the server's buffers
    sweeper.cancel()
    await asyncio.gather(sweeper, return_exceptions=True)
