"""The benchmark's throughput client (`bench/measure.py`): what it counts is what a server answered.

A throughput run spreads its connections over client processes (one Python process cannot keep
Oxigraph's server busy on cheap lookups). Forked clients could make the same "unique" text (the
comment was made from an object's address, which a fork repeats), which would let a result cache
answer what is meant to reach the engine; these tests hold a plain HTTP server that records every
text it was sent.
"""

from __future__ import annotations

import sys
import threading
import urllib.parse
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))

from measure import cycle, throughput  # noqa: E402


class _Recorder(BaseHTTPRequestHandler):
    texts: list[str] = []
    lock = threading.Lock()

    def do_POST(self) -> None:  # noqa: N802 - the name http.server calls
        body = self.rfile.read(int(self.headers["Content-Length"])).decode()
        with self.lock:
            self.texts.append(urllib.parse.parse_qs(body)["query"][0])
        answer = b'{"head":{"vars":[]},"boolean":true}'
        self.send_response(200)
        self.send_header("Content-Type", "application/sparql-results+json")
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def recorder() -> Iterator[str]:
    _Recorder.texts = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Recorder)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/sparql"
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.parametrize("processes", [1, 2])
def test_throughput_counts_every_answer_and_sends_unique_texts(recorder: str, processes: int) -> None:
    figures = throughput(recorder, cycle(["ASK {}"]), clients=4, duration_s=0.5, vary=True, processes=processes)
    sent = list(_Recorder.texts)
    assert figures["errors"] == 0
    assert figures["requests"] > 0
    assert figures["requests"] <= len(sent) <= figures["requests"] + 4  # a request in flight at the end
    assert len(set(sent)) == len(sent), "two clients sent the same 'unique' text"
    assert figures["requests_per_s"] == pytest.approx(figures["requests"] / figures["seconds"])


def test_repeated_texts_stay_identical_across_processes(recorder: str) -> None:
    throughput(recorder, cycle(["ASK {}"]), clients=2, duration_s=0.3, vary=False, processes=2)
    assert set(_Recorder.texts) == {"ASK {}"}
