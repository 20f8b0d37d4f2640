"""What the web layer shares between requests: the graph, the worker pool, settings, caches, metrics.

One `Service` per app, kept in ``app.extensions["kg_service"]``; views reach it through `service()`.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field

from flask import current_app

from ..settings import Settings
from ..store import KnowledgeGraph
from .metrics import Metrics
from .workers import WorkerPool


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
