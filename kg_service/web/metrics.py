"""The counters behind /metrics, in memory shared by every process that answers requests.

A read-only service answers from several front processes (`fronts`), and a front that must end is
replaced by a fresh one: counters kept per process would each show part of the traffic and go back
to zero with every replacement. So the numbers live in one small anonymous shared mapping made
before the fronts are forked (`multiprocessing.RawArray`), under one cross-process lock; each front
adds to them and /metrics, whichever front answers it, reads them all. Requests are counted per
(method, status) in a fixed table: the methods HTTP defines and one slot for any other.
"""

from __future__ import annotations

import ctypes
import multiprocessing
from typing import Any

BUCKETS = (0.01, 0.05, 0.1, 0.5, 1.0, 5.0, 10.0, 30.0)
METHODS = ("GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS", "PATCH", "OTHER")
STATUSES = range(100, 600)
COUNTERS = ("errors", "timeouts", "truncated", "stopped", "query_count", "query_seconds")
_REQUESTS = len(COUNTERS) + len(BUCKETS)  # where the (method, status) table starts
_SIZE = _REQUESTS + len(METHODS) * len(STATUSES)


class Metrics:
    """Counters for /metrics, shared by the processes forked after it was made.

    >>> m = Metrics()
    >>> m.count_request("GET", 200); m.count_request("BREW", 418); m.observe_query(0.02); m.add("timeouts")
    >>> s = m.snapshot()
    >>> s["requests"], s["timeouts"], s["query_count"], s["query_buckets"][0.05], s["query_buckets"][0.01]
    ({('GET', 200): 1, ('OTHER', 418): 1}, 1, 1, 1, 0)
    """

    def __init__(self) -> None:
        self._values = multiprocessing.RawArray(ctypes.c_double, _SIZE)  # zeroed
        self._lock = multiprocessing.Lock()

    def add(self, counter: str, amount: float = 1) -> None:
        """Add to one of `COUNTERS`."""
        with self._lock:
            self._values[COUNTERS.index(counter)] += amount

    def count_request(self, method: str, status: int) -> None:
        """One request answered; a 5xx status is also an error."""
        row = METHODS.index(method) if method in METHODS else len(METHODS) - 1
        column = min(max(status, STATUSES.start), STATUSES.stop - 1) - STATUSES.start
        with self._lock:
            self._values[_REQUESTS + row * len(STATUSES) + column] += 1
            if status >= 500:
                self._values[COUNTERS.index("errors")] += 1

    def observe_query(self, seconds: float) -> None:
        """One query run, for the histogram of query times."""
        with self._lock:
            self._values[COUNTERS.index("query_count")] += 1
            self._values[COUNTERS.index("query_seconds")] += seconds
            for i, bound in enumerate(BUCKETS):
                if seconds <= bound:
                    self._values[len(COUNTERS) + i] += 1

    def snapshot(self) -> dict[str, Any]:
        """Every counter at one moment: the plain ones by name (whole numbers but the seconds), the
        histogram buckets by bound, and the requests by (method, status) where not zero."""
        with self._lock:
            values = list(self._values)
        out: dict[str, Any] = {name: values[i] if name == "query_seconds" else int(values[i])
                               for i, name in enumerate(COUNTERS)}
        out["query_buckets"] = {bound: int(values[len(COUNTERS) + i]) for i, bound in enumerate(BUCKETS)}
        requests = {}
        for i, value in enumerate(values[_REQUESTS:]):
            if value:
                row, column = divmod(i, len(STATUSES))
                requests[(METHODS[row], STATUSES.start + column)] = int(value)
        out["requests"] = requests
        return out
