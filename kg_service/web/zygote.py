"""The zygote: one process that holds the served stores and forks query workers from itself.

Forked from the web process once the graph is loaded (before the server's threads start), it shares
the in-memory store with it page for page (copy-on-write), and every worker it forks shares it too:
one copy in memory however many workers run, and a worker killed after a runaway query is back in
the time of a fork, with nothing to reload. A store kept in a folder is opened read-only by each
worker instead (a RocksDB handle must not cross a fork). For a version made after the fork (an update,
an add) the pool forks a new zygote, which shares that version too; the old one's workers run on.

The web process talks to the zygote over a Unix socket: ``("spawn",)`` plus one end of a fresh socket
pair (passed as a file descriptor), answered with the worker's pid; ``("load", version, data)`` and
``("forget", version)``. The zygote ignores SIGCHLD, so the kernel reaps its workers, and it ends when
the web process does (its socket closes). A worker reads its jobs from its own socket, answers on it
and ends when it closes; its address space is capped (`RLIMIT_AS`) a fixed budget above what it
inherited, so a query that needs more memory ends its own worker, never the machine. After a job that
took a while, a worker that holds much memory of its own (a big query's leftovers, or shared pages the
engine wrote to) asks to be retired, and a fresh fork takes its place: memory goes back to one copy.
"""

from __future__ import annotations

import contextlib
import gc
import os
import resource
import signal
import socket
import time
import traceback
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from multiprocessing.connection import Connection
from multiprocessing.reduction import recv_handle, send_handle

import pyoxigraph as ox

from ..errors import ClientGone, KgError, QueryMemory, QueryTimeout, WorkerLost

RETIRE_CHECK_S = 0.5  # a job shorter than this cannot have grown a worker much: its memory is not looked at
RETIRE = ("retire",)  # a worker's note after a reply: replace me
KEEP_DATASETS = 4  # versions the zygote keeps: one pool can serve several graphs (the conformance tests do)

# What a worker holds per version: a loaded store, or the folder of a persistent one (opened on first use).
Stores = OrderedDict[str, "ox.Store | str"]


def start(stores: Stores, handle: Callable[[ox.Store, tuple], object], memory_mb: int,
          retire_mb: int) -> tuple[int, Connection]:
    """Fork the zygote holding `stores`; returns its pid and the control connection.

    `handle(store, message)` runs a worker's job (a query or an update) and returns what to send back.
    """
    ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    pid = os.fork()
    if pid == 0:  # the zygote: never returns into the caller's stack
        code = 0
        try:
            # What the web process left behind is never collected here: a socket object collected late
            # would close a descriptor number since reused, and the collector's writes would copy pages.
            gc.freeze()
            ours.close()
            _close_other_fds(theirs.fileno())
            _zygote(Connection(theirs.detach()), stores, handle, memory_mb, retire_mb)
        except BaseException:  # noqa: BLE001 - a forked child must end here, whatever happened
            traceback.print_exc()
            code = 1
        finally:
            os._exit(code)
    theirs.close()
    return pid, Connection(ours.detach())


def _close_other_fds(keep: int) -> None:
    """Close what the web process had open (listening sockets, client connections, files) but `keep`
    and the standard streams: a port must close when the web process closes it."""
    os.closerange(3, keep)
    os.closerange(keep + 1, os.sysconf("SC_OPEN_MAX"))


def spawn(control: Connection, zygote_pid: int) -> tuple[int, Connection]:
    """Ask the zygote for a new worker; returns its pid and the connection to it (caller holds the lock)."""
    ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        control.send(("spawn",))
        send_handle(control, theirs.fileno(), zygote_pid)
        reply = control.recv()
    finally:
        theirs.close()
    return reply[1], Connection(ours.detach())


def _zygote(control: Connection, stores: Stores, handle: Callable[[ox.Store, tuple], object],
            memory_mb: int, retire_mb: int) -> None:
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # the kernel reaps the workers
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the whole group; the web process decides
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    while True:
        try:
            message = control.recv()
        except (EOFError, OSError):
            return  # the web process is gone
        if message[0] == "spawn":
            fd = recv_handle(control)
            pid = os.fork()
            if pid == 0:
                code = 0
                try:
                    control.close()
                    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
                    _limit_memory(memory_mb)
                    _work(Connection(fd), stores, handle, retire_mb)
                except BaseException:  # noqa: BLE001 - a forked child must end here, whatever happened
                    traceback.print_exc()
                    code = 1
                finally:
                    os._exit(code)
            os.close(fd)
            control.send(("spawned", pid))
        elif message[0] == "load":
            _, version, data = message
            if isinstance(data, bytes):
                store = ox.Store()
                store.bulk_load(data, format=ox.RdfFormat.N_QUADS)
                stores[version] = store
            else:
                stores[version] = data
            while len(stores) > KEEP_DATASETS:
                stores.popitem(last=False)
            control.send(("loaded", version, list(stores)))
        elif message[0] == "forget":
            stores.pop(message[1], None)


def _limit_memory(memory_mb: int) -> None:
    """Cap the address space at what the worker inherited plus `memory_mb` (0: no cap)."""
    if memory_mb <= 0:
        return
    with open("/proc/self/statm") as statm:
        pages = int(statm.read().split()[0])
    limit = pages * os.sysconf("SC_PAGE_SIZE") + (memory_mb << 20)
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))


def _work(conn: Connection, stores: Stores, handle: Callable[[ox.Store, tuple], object], retire_mb: int) -> None:
    """A worker's loop: ``(kind, version, ...)`` in, a reply out (``("ok", value)`` or an error), until EOF.
    After a reply may come `RETIRE`: the worker holds more than `retire_mb` of its own memory (a big
    query's leftovers, shared pages it wrote to) and should be replaced by a fresh fork."""
    while True:
        try:
            message = conn.recv()
        except (EOFError, OSError):
            return
        started = time.monotonic()
        conn.send(_reply(stores, handle, message))
        # Looked at after the reply is sent (reading the memory map of a large process takes a while),
        # and only after a long job; the web process reads the note before it gives this worker more.
        if time.monotonic() - started > RETIRE_CHECK_S and private_mb() > retire_mb:
            conn.send(RETIRE)


def _reply(stores: Stores, handle: Callable[[ox.Store, tuple], object], message: tuple) -> tuple:
    version = message[1]
    try:
        store = stores.get(version)
        if store is None:
            return ("missing", version)
        if isinstance(store, str):
            store = stores[version] = ox.Store.read_only(store)
        return ("ok", handle(store, message))
    except KgError as exc:
        return ("error", exc.http_status, exc.kind, exc.message)
    except MemoryError:
        error = QueryMemory("the query needs more memory than one query may use here; narrow it")
        return ("error", error.http_status, error.kind, error.message)
    except Exception:  # noqa: BLE001 - our fault: the web process logs it and answers 500
        return ("crash", traceback.format_exc())


def resident_mb() -> int:
    """This process's resident memory in MiB, shared pages included (right after a fork: what it shares with
    its parent). Read in microseconds, where `private_mb` takes milliseconds for a large process."""
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") >> 20


def private_mb() -> int:
    """This process's private memory in MiB: pages it allocated or copied on write (Linux)."""
    try:
        with open("/proc/self/smaps_rollup") as rollup:
            fields = dict(line.split(":", 1) for line in rollup if ":" in line)
    except OSError:
        return 0
    return sum(int(fields.get(name, "0 kB").split()[0]) for name in ("Private_Dirty", "Private_Clean")) >> 10


@dataclass(eq=False)
class Worker:
    """A worker as the web process sees it. It is the zygote's child, not ours, so it is signalled
    through a pidfd (opened while it surely runs: it waits for its first message), which can never
    reach another process that took its pid after it ended."""

    pid: int
    conn: Connection
    versions: frozenset[str]
    pidfd: int = -1
    retire: bool = False  # it asked to be replaced (it holds too much memory of its own)

    def __post_init__(self) -> None:
        self.pidfd = os.pidfd_open(self.pid)

    def kill(self) -> None:
        if self.pidfd >= 0:
            with contextlib.suppress(ProcessLookupError):
                signal.pidfd_send_signal(self.pidfd, signal.SIGKILL)
            os.close(self.pidfd)
            self.pidfd = -1
        self.conn.close()

    def spent(self) -> bool:
        """Whether an idle worker must not be reused: it ended (EOF), or left a note asking to be retired."""
        if self.conn.closed or self.retire:
            return True
        if not self.conn.poll(0):
            return False
        try:
            self.retire = self.conn.recv() == RETIRE
        except (EOFError, OSError):
            return True
        return True

    def wait(self, deadline: float, timeout_s: float, gone: Callable[[], bool], what: str, memory_mb: int) -> tuple:
        """The reply to the job just sent, by `deadline`; raises QueryTimeout, ClientGone (`gone()`) or
        WorkerLost (it ended: over its `memory_mb`, or the engine crashed)."""
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise QueryTimeout(f"the {what} ran longer than {timeout_s:g} s and was stopped")
            if self.conn.poll(min(0.05, remaining)):
                try:
                    reply = self.conn.recv()
                    if reply == RETIRE:  # a note left after its previous job: this one is its last
                        self.retire = True
                        continue
                    return reply
                except (EOFError, OSError):
                    raise WorkerLost(f"the {what} ended its worker process (it needed more than the "
                                     f"{memory_mb} MiB one {what} may use, or crashed the engine); "
                                     "nothing else was affected") from None
            if gone():
                raise ClientGone("the client closed the connection; the query was stopped")
