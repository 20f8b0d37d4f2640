"""Shared fixtures: settings, the built seeds, the app and its test client, and a live server.

The seeds are built once per session; every app of the session shares one worker pool, so the
query workers start once. `live_server` runs waitress in a thread on a free port of 127.0.0.1 and
waits (bounded) until ``/healthz`` answers, for tests that need real HTTP and real clients.
"""

from __future__ import annotations

import atexit
import contextlib
import http.client
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psutil
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

    def send(self, method: str, path: str, body: bytes | None = None,
             headers: dict[str, str] | None = None) -> tuple[int, http.client.HTTPMessage, bytes]:
        """One request by http.client, as curl would send it: (status, headers (any case), body)."""
        host, port = urllib.parse.urlsplit(self.url).netloc.split(":")
        connection = http.client.HTTPConnection(host, int(port), timeout=30)
        try:
            connection.request(method, path, body=body, headers=headers or {})
            response = connection.getresponse()
            return response.status, response.headers, response.read()
        finally:
            connection.close()


def start_server(app: Flask) -> tuple[LiveServer, object, threading.Thread]:
    """Start waitress for `app` on a free port and wait until it answers /healthz (at most 20 s)."""
    from waitress.server import create_server

    server = create_server(app, host="127.0.0.1", port=0, threads=8, channel_request_lookahead=5,
                           server_name="127.0.0.1")  # as `serve` names its address (generated URLs)
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


def stop_server(server: object, thread: threading.Thread) -> None:
    """Stop a `start_server` server cleanly: its threads finish their responses, then its sockets are closed
    by its own loop (closed from another thread, the loop may poll a closed socket: EBADF in the thread)."""
    from waitress import wasyncore

    server.task_dispatcher.shutdown(timeout=5)
    server.trigger.pull_trigger(lambda: wasyncore.close_all(server._map))
    thread.join(timeout=10)


@pytest.fixture(scope="session")
def live_server(app: Flask) -> Iterator[LiveServer]:
    live, server, thread = start_server(app)
    yield live
    server.close()
    thread.join(timeout=5)


ARTICLES_DIR = Path(__file__).parent / "articles"


@pytest.fixture()
def seeds_copy(tmp_path: Path, settings: Settings) -> Path:
    """A private copy of the seeds folder, for tests that add articles (never the real seeds)."""
    folder = tmp_path / "seeds"
    shutil.copytree(settings.seeds_dir, folder)
    return folder


@pytest.fixture(scope="session")
def validation_context(settings: Settings, built: Build):  # noqa: ANN201 - a validate.Context
    from kg_service.validate import load_context

    return load_context(settings, built)


@dataclass
class ServiceProcess:
    """A `kg-service serve` in its own process: what kill -9, floods and runaway queries are tried on."""

    url: str
    process: subprocess.Popen
    log: Path

    @property
    def sparql(self) -> str:
        return self.url + "/sparql"

    def log_text(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")

    def stop(self) -> None:
        """Interrupt (the server's own shutdown), then kill what is left of its process tree."""
        try:
            family = [self.process.pid] + [c.pid for c in psutil.Process(self.process.pid).children(recursive=True)]
        except psutil.NoSuchProcess:
            family = []
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        for pid in family:
            with contextlib.suppress(psutil.NoSuchProcess):
                psutil.Process(pid).kill()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start_service(folder: Path, *args: str, env: dict[str, str] | None = None, wait: bool = True,
                  timeout_s: float = 90) -> ServiceProcess:
    """Start `kg-service serve` on a free port with `KG_*` settings `env`; wait until /healthz answers."""
    port = free_port()
    log = folder / f"serve-{port}.log"
    environ = {k: v for k, v in os.environ.items() if not k.startswith("KG_")} | (env or {})
    with log.open("wb") as out:
        process = subprocess.Popen([sys.executable, "-m", "kg_service.cli", "serve", "--port", str(port), *args],
                                   stdout=out, stderr=subprocess.STDOUT, env=environ, cwd=folder)
    served = ServiceProcess(f"http://127.0.0.1:{port}", process, log)
    deadline = time.monotonic() + timeout_s
    while wait:
        if process.poll() is not None:
            raise RuntimeError(f"kg-service serve exited with {process.returncode}:\n{served.log_text()}")
        try:
            with urllib.request.urlopen(served.url + "/healthz", timeout=2) as response:
                if response.status == 200:
                    break
        except OSError:
            if time.monotonic() > deadline:
                served.stop()
                raise
            time.sleep(0.1)
    return served


@pytest.fixture(scope="session")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServiceProcess]:
    """The real service in its own process (3 query workers, a 2 s time limit), shared by the session."""
    service = start_service(tmp_path_factory.mktemp("served"),
                            env={"KG_QUERY_TIMEOUT_S": str(TEST_TIMEOUT_S), "KG_QUERY_WORKERS": "3"})
    yield service
    service.stop()


def served_file(data: bytes, name: str = "data.nq") -> Path:
    """`data` written to a file that stays for the whole test session: a graph served from a file
    (`serve --data`) reads it again for dumps, so the file must outlive the app, as it does in `serve`."""
    folder = Path(tempfile.mkdtemp(prefix="kg-served-file-"))
    atexit.register(shutil.rmtree, folder, True)
    path = folder / name
    path.write_bytes(data)
    return path


@contextlib.contextmanager
def fresh_pool() -> Iterator[WorkerPool]:
    """A worker pool of its own, closed after: pools key their data and result cache by dataset version, so
    tests that serve the same version from different backends must not share one."""
    workers = WorkerPool(1)
    try:
        yield workers
    finally:
        workers.close()
