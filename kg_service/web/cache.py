"""Query results kept per dataset version: the same query on the same data is answered once.

The graph changes only when an article is added, and then its version changes, so a result keyed by
(dataset version, query job) is never stale: the new version simply misses and the old entries age
out. Named queries and the pages built on them repeat the same few texts, and answering one from
here costs a dictionary lookup instead of a worker round trip. Queries whose answer may change
between runs (NOW, RAND, UUID, STRUUID) are never kept. Memory is bounded by the bytes kept, least
recently used first out.
"""

from __future__ import annotations

import threading
from collections import OrderedDict

from ..guard import VOLATILE
from ..tokens import keywords
from .jobs import Answer, Job


class ResultCache:
    """At most `max_bytes` of answers; one answer may take an eighth of that at most."""

    def __init__(self, max_bytes: int = 64 << 20):
        self.max_bytes = max_bytes
        self._entries: OrderedDict[tuple[str, Job], Answer] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()
        self.hits = self.misses = 0

    def get(self, version: str, job: Job) -> Answer | None:
        with self._lock:
            answer = self._entries.get((version, job))
            if answer is None:
                self.misses += 1
                return None
            self._entries.move_to_end((version, job))
            self.hits += 1
        return answer  # kept with no time (`put`): no query runs, the metrics must not count its time again

    def put(self, version: str, job: Job, answer: Answer) -> None:
        volatile = not cacheable(job.text) if job.volatile is None else job.volatile  # the guard may have told
        if len(answer.body) > self.max_bytes // 8 or volatile:
            return
        with self._lock:
            if (version, job) in self._entries:
                return
            self._entries[(version, job)] = Answer(answer.body, answer.kind, answer.rows, answer.truncated)  # no time
            self._bytes += len(answer.body)
            while self._bytes > self.max_bytes:
                _, old = self._entries.popitem(last=False)
                self._bytes -= len(old.body)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self._bytes = 0


def cacheable(text: str) -> bool:
    """Whether the query's answer depends only on the data.

    >>> cacheable("SELECT * { ?s ?p ?o }"), cacheable("SELECT (NOW() AS ?t) {}"), cacheable('ASK { ?s ?p "rand" }')
    (True, False, True)
    """
    return VOLATILE.isdisjoint(keywords(text))
