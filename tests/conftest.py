"""Shared fixtures: settings, the built seeds, the app and its test client, and a live server.

The seeds are built once per session; every app of the session shares one worker pool, so the
query workers start once. `live_server` runs waitress in a thread on a free port of 127.0.0.1 and
waits (bounded) until ``/healthz`` answers, for tests that need real HTTP and real clients.
"""

from __future__ import annotations

import threading
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from flask import Flask
from flask.testing import FlaskClient

from kg_service.build import Build, build_dataset
from kg_service.settings import Settings
from kg_service.store import KnowledgeGraph
from kg_service.web import create_app
from kg_service.web.workers import WorkerPool

TEST_TIMEOUT_S = 2.0


@pytest.fixture(scope="session")
def settings() -> Settings:
    """Settings.from_env() defaults, with a short query time limit so runaway tests end quickly."""
    return Settings.from_env({}, query_timeout_s=TEST_TIMEOUT_S)


@pytest.fixture(scope="session")
def built(settings: Settings) -> Build:
    return build_dataset(settings)


@pytest.fixture(scope="session")
def kg(built: Build) -> KnowledgeGraph:
    return KnowledgeGraph.from_dataset(built.dataset)


@pytest.fixture(scope="session")
def pool() -> Iterator[WorkerPool]:
    workers = WorkerPool(3)
    yield workers
    workers.close()


@pytest.fixture(scope="session")
def app(settings: Settings, kg: KnowledgeGraph, pool: WorkerPool) -> Flask:
    application = create_app(settings, kg, pool=pool)
    application.config["TESTING"] = True
    return application


@pytest.fixture()
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@dataclass(frozen=True)
class LiveServer:
    url: str  # base URL, without a trailing slash

    @property
    def sparql(self) -> str:
        return self.url + "/sparql"


def start_server(app: Flask) -> tuple[LiveServer, object, threading.Thread]:
    """Start waitress for `app` on a free port and wait until it answers /healthz (at most 20 s)."""
    from waitress.server import create_server

    server = create_server(app, host="127.0.0.1", port=0, threads=8, channel_request_lookahead=5)
    thread = threading.Thread(target=server.run, daemon=True, name="live-server")
    thread.start()
    live = LiveServer(f"http://127.0.0.1:{server.effective_port}")
    deadline = time.monotonic() + 20
    while True:
        try:
            with urllib.request.urlopen(live.url + "/healthz", timeout=2) as response:
                if response.status == 200:
                    return live, server, thread
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


@pytest.fixture(scope="session")
def live_server(app: Flask) -> Iterator[LiveServer]:
    live, server, thread = start_server(app)
    yield live
    server.close()
    thread.join(timeout=5)
