"""What granian and Python cost a request before kg-service does anything: the floor under a front.

Starts granian (the HTTP server of kg-service's fronts) with `--workers` processes on a bare RSGI app of this
module and sends it requests with `run.py`'s client (8 connections over `--client-processes`), then prints
the rate and the server's CPU time per request (its whole process tree). Two apps:

- `app` reads the request body and answers a fixed one-row SPARQL result: the framework alone. Against
  `run.py`'s CPU row it says how much of a lookup's cost is the server and how much kg-service's own path
  (`front_path.py`).
- `engine_app` (``--engine``) answers each query with pyoxigraph, the engine kg-service runs, on the data
  Oxigraph's server is given, inline on the event loop and written by the engine: a form parsed, a query run,
  nothing else (no guard, limits, cache, metrics or log line). It is measured side by side with Oxigraph's
  server in memory on the 'interactive' mix (or ``--mix all``, the named queries), as `run.py` measures
  kg-service, so the ratio it prints is about the most a Python front on this engine could reach. With
  ``--latency`` it gives one client's p50 instead, on the floor, Oxigraph and kg-service, for ``ASK {}`` and a
  few cheap named queries: what each adds to a request at one client.

    .venv/bin/python bench/granian_floor.py
    .venv/bin/python bench/granian_floor.py --engine
    .venv/bin/python bench/granian_floor.py --engine --latency
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

sys.path.insert(0, str(Path(__file__).resolve().parent))

ANSWER = b'{"head":{"vars":["x"]},"results":{"bindings":[{"x":{"type":"literal","value":"1"}}]}}'
LOOKUP = "SELECT ?x WHERE { <http://example.org/a> ?p ?x } LIMIT 1"
DATA_VARIABLE = "KG_FLOOR_DATA"  # the N-Quads file `engine_app` loads


async def app(scope: Any, proto: Any) -> None:
    """The RSGI app: read the body, answer the fixed result."""
    if scope.proto != "http":
        return
    await proto()
    proto.response_bytes(200, [("content-type", "application/sparql-results+json")], ANSWER)


_STORE: Any = None


async def engine_app(scope: Any, proto: Any) -> None:
    """The RSGI app: run the form's query on the engine, answer what it writes (SPARQL JSON, or N-Triples for
    a graph)."""
    import pyoxigraph as ox

    global _STORE
    if scope.proto != "http":
        return
    if _STORE is None:
        _STORE = ox.Store()
        _STORE.bulk_load(path=os.environ[DATA_VARIABLE], format=ox.RdfFormat.N_QUADS)
    body = await proto()
    text = parse_qs(body.decode() if scope.method == "POST" else scope.query_string)["query"][0]
    result = _STORE.query(text)
    if isinstance(result, ox.QueryTriples):
        kind, out = "application/n-triples", ox.serialize(result, format=ox.RdfFormat.N_TRIPLES)
    else:
        kind, out = "application/sparql-results+json", result.serialize(format=ox.QueryResultsFormat.JSON)
    proto.response_bytes(200, [("content-type", kind)], out)


LATENCY_QUERIES = ("agreements", "person-spellings", "trade-measures")  # cheap named queries: a fixed cost shows


def main() -> None:
    import mixes
    from measure import Client, cycle, latency_rounds, throughput
    from peers import BIN, Server, _spawn, free_port, start_kg_service, start_oxigraph_memory, wait_ready
    from run import CLIENT_PROCESSES, CLIENTS, RESULTS, interleaved_throughput, named_query_texts, prepare_data

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workers", type=int, default=2, help="granian worker processes (kg-service: a front a core)")
    parser.add_argument("--duration", type=float, default=4.0, help="seconds per round")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--client-processes", type=int, default=CLIENT_PROCESSES)
    parser.add_argument("--engine", action="store_true", help="answer with pyoxigraph, beside Oxigraph's server")
    parser.add_argument("--mix", choices=("interactive", "all"), default="interactive", help="with --engine")
    parser.add_argument("--latency", action="store_true",
                        help="with --engine: one client's p50 on the floor, Oxigraph and kg-service, not throughput")
    args = parser.parse_args()
    port = free_port()
    with tempfile.TemporaryDirectory() as work:
        served = prepare_data("seeds", RESULTS / "data")[1] if args.engine else None
        env = {DATA_VARIABLE: str(served)} if served else None
        process, log = _spawn("granian", [str(BIN / "granian"), "--interface", "rsgi", "--workers", str(args.workers),
                                          "--host", "127.0.0.1", "--port", str(port), "--loop", "uvloop",
                                          "--working-dir", str(Path(__file__).resolve().parent),
                                          "granian_floor:engine_app" if args.engine else "granian_floor:app"],
                              Path(work), env)
        servers = {"floor": Server("granian", f"http://127.0.0.1:{port}/sparql", process, log)}
        try:
            wait_ready("granian", servers["floor"].query_url, process, log, time.monotonic())
            if served is not None:
                servers["oxigraph"] = start_oxigraph_memory(served, Path(work))
            if args.latency and served is not None:
                servers["kg-service"] = start_kg_service(prepare_data("seeds", RESULTS / "data")[0], Path(work))
                texts = {"ASK {}": "ASK {}", **{name: text for name, text in named_query_texts().items()
                                                if name in LATENCY_QUERIES}}
                clients = {name: Client(server.query_url, vary=True) for name, server in servers.items()}
                latency_rounds(clients, texts, rounds=10, budget_s=60)  # warm up
                timings = latency_rounds(clients, texts, rounds=200, budget_s=300)  # as run.py's, interleaved
                for label in texts:
                    p50 = {name: (timings[name][label].percentile(50) or float("nan")) * 1000 for name in servers}
                    print(f"{label}: " + ", ".join(f"{name} {ms:.2f} ms" for name, ms in p50.items()), flush=True)
                return
            if served is None:
                requests = cycle([LOOKUP])
            else:
                requests = (cycle(list(named_query_texts().values())) if args.mix == "all"
                            else mixes.requests(mixes.discover(servers["oxigraph"].query_url, timeout_s=60)))
            for server in servers.values():  # warm up
                throughput(server.query_url, requests, clients=CLIENTS, duration_s=1.0, vary=True,
                           processes=args.client_processes)
            figures = interleaved_throughput(servers, requests, duration_s=args.duration * args.rounds,
                                             rounds=args.rounds, vary=True, processes=args.client_processes)
            what = f"pyoxigraph inline, '{args.mix}' mix" if served else "trivial app"
            for name, figure in figures.items():
                print(f"{name} ({what if name == 'floor' else 'in memory'}): {figure['requests_per_s']:,.0f} req/s "
                      f"(rounds {figure['rounds']}), {figure['cpu_ms_per_request']:.3f} ms of server CPU a request",
                      flush=True)
            if served is not None:
                rates = {name: figure["requests_per_s"] for name, figure in figures.items()}
                print(f"floor / oxigraph: {rates['floor'] / rates['oxigraph']:.2f} x")
        finally:
            for server in servers.values():
                server.stop()


if __name__ == "__main__":
    main()
