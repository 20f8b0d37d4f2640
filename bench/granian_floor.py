"""What granian and Python cost a request before kg-service does anything: the floor under a front.

Starts granian (the HTTP server of kg-service's fronts) with `--workers` processes on a trivial RSGI app,
this module's `app`, which reads the request body and answers a fixed one-row SPARQL result, then sends
it lookups with `run.py`'s client (8 connections over `--client-processes`) and prints the rate and the
server's CPU time per request (its whole process tree). Against `run.py`'s CPU row it says how much of a
lookup's cost is the server framework and how much is kg-service's own path (`front_path.py`).

    .venv/bin/python bench/granian_floor.py
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

ANSWER = b'{"head":{"vars":["x"]},"results":{"bindings":[{"x":{"type":"literal","value":"1"}}]}}'
LOOKUP = "SELECT ?x WHERE { <http://example.org/a> ?p ?x } LIMIT 1"


async def app(scope: Any, proto: Any) -> None:
    """The RSGI app: read the body, answer the fixed result."""
    if scope.proto != "http":
        return
    await proto()
    proto.response_bytes(200, [("content-type", "application/sparql-results+json")], ANSWER)


def main() -> None:
    from measure import cycle, throughput
    from peers import BIN, Server, _spawn, free_port, wait_ready
    from run import CLIENT_PROCESSES, CLIENTS

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workers", type=int, default=2, help="granian worker processes (kg-service: a front a core)")
    parser.add_argument("--duration", type=float, default=4.0, help="seconds per round")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--client-processes", type=int, default=CLIENT_PROCESSES)
    args = parser.parse_args()
    port = free_port()
    with tempfile.TemporaryDirectory() as work:
        process, log = _spawn("granian", [str(BIN / "granian"), "--interface", "rsgi", "--workers", str(args.workers),
                                          "--host", "127.0.0.1", "--port", str(port), "--loop", "uvloop",
                                          "--working-dir", str(Path(__file__).resolve().parent), "granian_floor:app"],
                              Path(work))
        server = Server("granian", f"http://127.0.0.1:{port}/sparql", process, log)
        try:
            wait_ready("granian", server.query_url, process, log, time.monotonic())
            requests = cycle([LOOKUP])
            throughput(server.query_url, requests, clients=CLIENTS, duration_s=1.0, vary=True,
                       processes=args.client_processes)  # warm up
            for _ in range(args.rounds):
                cpu = server.cpu_seconds()
                figures = throughput(server.query_url, requests, clients=CLIENTS, duration_s=args.duration,
                                     vary=True, processes=args.client_processes)
                cpu = server.cpu_seconds() - cpu
                print(f"granian, trivial app, {args.workers} workers: {figures['requests_per_s']:,.0f} req/s, "
                      f"{cpu * 1000 / figures['requests']:.3f} ms of server CPU a request", flush=True)
        finally:
            server.stop()


if __name__ == "__main__":
    main()
