"""The supervisor of the front processes (`fronts`): it forks them, replaces them, and ends them.

It is the process that loaded the graph, and it answers no request itself, so it stays single-threaded
and every fork of it is clean. A front that must end (`local`: a query overran its limit or lost its
client, or it holds too much memory of its own) writes its pid on a pipe, and its replacement is forked
at once while the old one finishes what it holds; a front that dies unexpectedly (kill -9, an abort) is
replaced when it is reaped, and too many such deaths stop the service instead of a fork loop. Each front
counts into its own row of the shared /metrics counters (`metrics`); a row goes back to the pool, its
numbers kept, when its front has ended. SIGINT or SIGTERM to the service end the fronts (SIGTERM, then
SIGKILL after `STOP_GRACE_S`).
"""

from __future__ import annotations

import contextlib
import logging
import os
import select
import signal
import socket
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from .fronts import NOTICE, POLL_S, front_main
from .metrics import ROWS

if TYPE_CHECKING:
    from flask import Flask

log = logging.getLogger("kg_service.web")

STOP_GRACE_S = 0.5  # what a front gets to finish after SIGTERM before SIGKILL
CRASHES_ALLOWED = 20  # unexpected front deaths within CRASH_WINDOW_S before the service gives up
CRASH_WINDOW_S = 10.0


class Supervisor:
    """Keeps `processes` fronts running; see the module docstring."""

    def __init__(self, app: Flask, sockets: list[socket.socket], *, host: str, processes: int, threads: int):
        self.app, self.sockets, self.host, self.processes, self.threads = app, sockets, host, processes, threads
        self.metrics = app.extensions["kg_service"].metrics
        self.fronts: dict[int, bool] = {}  # pid -> it is ending (its replacement was forked)
        self.rows: dict[int, int] = {}  # pid -> its row of the /metrics counters
        # Rows for fronts; row 1 is this process's (it counts nothing).
        self.free_rows = [r for r in range(ROWS - 1, -1, -1) if r != 1]
        self.crashes: list[float] = []
        self._notices, self._notify = os.pipe()

    def run(self, stopped: Callable[[], bool]) -> bool:
        """Fork the fronts and keep them running until `stopped()`, then end them; False when they kept dying."""
        try:
            while not stopped():
                self._fill()
                ready, _, _ = select.select([self._notices], [], [], POLL_S)
                if ready:
                    self._read_notices()
                if not self._reap():
                    return False
            return True
        finally:
            self._stop_all()

    def _fill(self) -> None:
        """Fork fronts until `processes` run that are not ending (a front ending is replaced at once: its
        replacement is forked before it has gone). Each needs a row of counters: if every row is held by
        ending fronts (many runaways at once), the next fork waits for one to end."""
        while list(self.fronts.values()).count(False) < self.processes and self.free_rows:
            self._fork(self.free_rows.pop())

    def _fork(self, row: int) -> None:
        pid = os.fork()
        if pid == 0:
            code = 0
            try:
                os.close(self._notices)
                self.metrics.use_row(row)
                front_main(self.app, self.sockets, self.host, self.threads, self._notify)
            except BaseException:  # noqa: BLE001 - a forked child must end here, whatever happened
                log.exception("front process failed")
                code = 1
            finally:
                logging.shutdown()
                os._exit(code)
        self.fronts[pid] = False
        self.rows[pid] = row

    def _read_notices(self) -> None:
        data = os.read(self._notices, NOTICE.size * 64)
        for (pid,) in NOTICE.iter_unpack(data[:len(data) - len(data) % NOTICE.size]):
            if self.fronts.get(pid) is False:  # ending: `_fill` forks its replacement now, not when it has gone
                self.fronts[pid] = True

    def _reap(self) -> bool:
        """Collect ended fronts (their counts kept, their rows freed); False when they keep dying."""
        while True:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return True
            if pid == 0:
                return True
            if pid not in self.fronts:
                continue  # not a front
            self._forget(pid)
            if self.fronts.pop(pid):
                continue  # it was ending, and was replaced already
            log.warning("front process %d ended unexpectedly (%s): replacing it", pid, _status(status))
            now = time.monotonic()
            self.crashes = [t for t in self.crashes if now - t < CRASH_WINDOW_S] + [now]
            if len(self.crashes) > CRASHES_ALLOWED:
                log.error("front processes keep ending (%d in %.0f s): stopping", len(self.crashes), CRASH_WINDOW_S)
                return False

    def _forget(self, pid: int) -> None:
        """A front has ended: its row, with what it counted, goes to a later front (`metrics`)."""
        self.free_rows.append(self.rows.pop(pid))

    def _stop_all(self) -> None:
        """SIGTERM to every front, then SIGKILL to those still there after `STOP_GRACE_S`."""
        for sig in (signal.SIGTERM, signal.SIGKILL):
            for pid in self.fronts:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, sig)
            deadline = time.monotonic() + STOP_GRACE_S
            while self.fronts and time.monotonic() < deadline:
                for pid in list(self.fronts):
                    try:
                        ended = os.waitpid(pid, os.WNOHANG)[0] != 0
                    except ChildProcessError:
                        ended = True
                    if ended:
                        del self.fronts[pid]
                        self._forget(pid)
                time.sleep(0.01)


def _status(status: int) -> str:
    if os.WIFSIGNALED(status):
        return f"signal {signal.Signals(os.WTERMSIG(status)).name}"
    return f"exit status {os.waitstatus_to_exitcode(status)}"
