"""The counters behind /metrics, in memory shared by every process that answers requests.

A read-only service answers from several front processes (`fronts`), and a front that must end is
replaced by a fresh one: counters kept per process would each show part of the traffic and go back to
zero with every replacement. So the numbers live in one small anonymous shared mapping made before the
fronts are forked (`multiprocessing.RawArray`), one row per process: each front adds to its own row only
(under a lock of its own), and /metrics, whichever front answers it, sums the rows. No lock is shared
between processes, so a front killed in the middle of counting (kill -9, an abort) cannot leave one held
for the others. When a front has ended, its row keeps what it counted and goes to the next front, which
adds to it: every number is a running total, so nothing is ever moved between rows, and a /metrics read,
which copies the rows while fronts write, can never see a count in neither place (moving a count between
rows would allow that). Requests are counted per (method, status) in a fixed table: the methods HTTP
defines and one slot for any other.
"""

from __future__ import annotations

import bisect
import ctypes
import itertools
import multiprocessing
import threading
from array import array
from typing import Any

BUCKETS = (0.01, 0.05, 0.1, 0.5, 1.0, 5.0, 10.0, 30.0)
METHODS = ("GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS", "PATCH", "OTHER")
STATUSES = range(100, 600)
COUNTERS = ("errors", "timeouts", "truncated", "stopped", "query_count", "query_seconds")
_REQUESTS = len(COUNTERS) + len(BUCKETS)  # where the (method, status) table starts
_SIZE = _REQUESTS + len(METHODS) * len(STATUSES)
ROWS = 65  # one row for each process that may count at once (row 1: a service run by one process)
_ZEROS = array("d", bytes(8 * _SIZE))
_QUERY_COUNT, _QUERY_SECONDS = COUNTERS.index("query_count"), COUNTERS.index("query_seconds")


class Metrics:
    """Counters for /metrics, shared by the processes forked after it was made; see the module docstring.

    >>> m = Metrics()
    >>> m.count_request("GET", 200); m.count_request("BREW", 418); m.observe_query(0.02); m.add("timeouts")
    >>> m.use_row(2); m.add("timeouts")
    >>> s = m.snapshot()
    >>> s["requests"], s["timeouts"], s["query_count"], s["query_buckets"][0.05], s["query_buckets"][0.01]
    ({('GET', 200): 1, ('OTHER', 418): 1}, 2, 1, 1, 0)
    >>> m.observe_query(0.01); m.observe_query(99.0); s = m.snapshot()
    >>> s["query_count"], [s["query_buckets"][b] for b in (0.01, 0.05, 30.0)]
    (3, [1, 2, 2])
    >>> m.use_row(2); m.add("timeouts"); m.snapshot()["timeouts"]  # a later front on row 2 adds to its counts
    3
    """

    def __init__(self) -> None:
        self._values = multiprocessing.RawArray(ctypes.c_double, ROWS * _SIZE)  # zeroed
        self._lock = threading.Lock()  # this process's: its own row is written by its threads only
        self._base = _SIZE  # row 1: the only row of a service run by one process

    def use_row(self, row: int) -> None:
        """Count into `row` (0 .. ROWS - 1) from now on: the supervisor gives each front a row of its own, which
        may hold the counts of a front that ended before (they stay, and this one's are added to them)."""
        assert 0 <= row < ROWS
        self._base = row * _SIZE

    def add(self, counter: str, amount: float = 1) -> None:
        """Add to one of `COUNTERS`."""
        with self._lock:
            self._values[self._base + COUNTERS.index(counter)] += amount

    def count_request(self, method: str, status: int) -> None:
        """One request answered; a 5xx status is also an error."""
        row = METHODS.index(method) if method in METHODS else len(METHODS) - 1
        column = min(max(status, STATUSES.start), STATUSES.stop - 1) - STATUSES.start
        with self._lock:
            self._values[self._base + _REQUESTS + row * len(STATUSES) + column] += 1
            if status >= 500:
                self._values[self._base + COUNTERS.index("errors")] += 1

    def observe_query(self, seconds: float) -> None:
        """One query run, for the histogram of query times: counted in the first bucket it fits (none past
        the last: the count is its +Inf), and the buckets summed up to each bound when read."""
        first = bisect.bisect_left(BUCKETS, seconds)
        with self._lock:
            base = self._base
            self._values[base + _QUERY_COUNT] += 1
            self._values[base + _QUERY_SECONDS] += seconds
            if first < len(BUCKETS):
                self._values[base + len(COUNTERS) + first] += 1

    def snapshot(self) -> dict[str, Any]:
        """Every counter summed over the rows: the plain ones by name (whole numbers but the seconds), the
        histogram buckets by bound, and the requests by (method, status) where not zero."""
        flat = array("d", bytes(memoryview(self._values)))  # one copy, at memcpy speed
        values = [0.0] * _SIZE
        for start in range(0, ROWS * _SIZE, _SIZE):
            counts = flat[start:start + _SIZE]
            if counts != _ZEROS:  # most rows are unused
                values = [a + b for a, b in zip(values, counts, strict=True)]
        out: dict[str, Any] = {name: values[i] if name == "query_seconds" else int(values[i])
                               for i, name in enumerate(COUNTERS)}
        below = itertools.accumulate(int(values[len(COUNTERS) + i]) for i in range(len(BUCKETS)))
        out["query_buckets"] = dict(zip(BUCKETS, below, strict=True))  # cumulative, as Prometheus reads them
        requests = {}
        for i, value in enumerate(values[_REQUESTS:]):
            if value:
                row, column = divmod(i, len(STATUSES))
                requests[(METHODS[row], STATUSES.start + column)] = int(value)
        out["requests"] = requests
        return out
