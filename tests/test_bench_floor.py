"""The floor apps of ``bench/granian_floor.py`` answer what the engine writes, and the threaded one answers a
runaway at its limit: the floor figures in the README are only worth what these apps do."""

from __future__ import annotations

import asyncio
import sys
import threading
import urllib.parse
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "bench"))

import granian_floor  # noqa: E402

DATA = "<http://example.org/a> <http://example.org/p> \"1\" .\n<http://example.org/b> <http://example.org/p> \"2\" .\n"


class _Scope:
    proto, method, query_string = "http", "POST", ""


class _Proto:
    """granian's request object as the apps use it: the body at once, the response kept."""

    def __init__(self, query: str):
        self.body = urllib.parse.urlencode({"query": query}).encode()
        self.status, self.headers, self.answer = 0, list[tuple[str, str]](), b""

    async def __call__(self) -> bytes:
        return self.body

    def response_bytes(self, status: int, headers: list, body: bytes) -> None:
        self.status, self.headers, self.answer = status, headers, body


@pytest.fixture
def floor(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    data = tmp_path / "data.nq"
    data.write_text(DATA)
    monkeypatch.setenv(granian_floor.DATA_VARIABLE, str(data))
    monkeypatch.setattr(granian_floor, "_STORE", None)
    monkeypatch.setattr(granian_floor, "_JOBS", None)  # a queue and threads of its own (the old ones idle on theirs)
    return granian_floor


def _ask(app: Any, query: str) -> _Proto:
    proto = _Proto(query)
    asyncio.run(app(_Scope(), proto))
    return proto


@pytest.mark.parametrize(("query", "written"), [
    ("SELECT ?s WHERE { ?s ?p \"2\" }", b'"bindings":[{"s":{"type":"uri","value":"http://example.org/b"}}]'),
    ("CONSTRUCT WHERE { ?s ?p ?o }", b'<http://example.org/a> <http://example.org/p> "1" .\n'),
    ("ASK { ?s ?p 3 }", b'"boolean":false'),
])
def test_threaded_and_inline_apps_answer_what_the_engine_writes(floor: Any, query: str, written: bytes) -> None:
    inline = _ask(floor.engine_app, query)
    threaded = _ask(floor.threaded_engine_app, query)  # its threads answer through the loop that asked
    assert inline.status == threaded.status == 200
    assert inline.answer == threaded.answer and inline.headers == threaded.headers
    assert written in threaded.answer


def test_the_threaded_app_answers_a_runaway_at_its_limit(floor: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    release = threading.Event()  # the query runs until the test has its answer: past any limit, on any machine

    def runaway(text: str) -> tuple[str, bytes]:
        release.wait(60)
        return "application/sparql-results+json", b"{}"

    monkeypatch.setattr(floor, "_run", runaway)
    monkeypatch.setattr(floor, "LIMIT_S", 0.05)
    try:
        proto = _ask(floor.threaded_engine_app, "SELECT * WHERE { ?s ?p ?o }")
    finally:
        release.set()
    assert proto.status == 503 and b"limit" in proto.answer
