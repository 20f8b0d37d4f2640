"""What the web layer shares between requests: the graph, the worker pool, settings, caches, metrics.

One `Service` per app, kept in ``app.extensions["kg_service"]``; views reach it through `service()`.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from dataclasses import dataclass, field

from flask import current_app

from ..settings import Settings
from ..store import KnowledgeGraph
from .workers import WorkerPool

BUCKETS = (0.01, 0.05, 0.1, 0.5, 1.0, 5.0, 10.0, 30.0)


@dataclass
class Metrics:
    """Counters for /metrics; a lock keeps them right under waitress's threads."""

    requests: Counter = field(default_factory=Counter)  # by (method, status)
    errors: int = 0
    timeouts: int = 0
    truncated: int = 0
    query_count: int = 0
    query_seconds: float = 0.0
    query_buckets: Counter = field(default_factory=Counter)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def observe_query(self, seconds: float) -> None:
        with self.lock:
            self.query_count += 1
            self.query_seconds += seconds
            for bound in BUCKETS:
                if seconds <= bound:
                    self.query_buckets[bound] += 1


@dataclass
class Service:
    """One app's graph, worker pool, settings, page caches and metrics."""

    settings: Settings
    kg: KnowledgeGraph
    pool: WorkerPool
    loaded_at: float = field(default_factory=time.time)
    metrics: Metrics = field(default_factory=Metrics)
    cache: dict = field(default_factory=dict)  # (what, version, ...) -> bytes or data, computed once
    cache_lock: threading.Lock = field(default_factory=threading.Lock)

    def replace_graph(self, kg: KnowledgeGraph) -> None:
        """Serve `kg` from now on (after an add or update): workers get it first, so no request sees a
        version they cannot load; caches key on `kg.version`, and what was kept for the old version
        is dropped, so memory does not grow with every change. A view reads `service().kg` once and
        uses that object throughout, so one request never mixes two versions."""
        old = self.kg.version
        self.pool.register(kg)
        self.kg = kg
        self.loaded_at = time.time()
        if old != kg.version:
            self.pool.forget(old)
            with self.cache_lock:
                self.cache = {key: value for key, value in self.cache.items() if old not in key}

    def cached(self, key: tuple, compute):  # noqa: ANN001, ANN201 - any value
        """`compute()` once per key (keys include kg.version, so new content gets new entries)."""
        with self.cache_lock:
            if key not in self.cache:
                self.cache[key] = compute()
            return self.cache[key]


def service() -> Service:
    """The `Service` of the app handling this request."""
    return current_app.extensions["kg_service"]
