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
  ``--thread`` a second floor joins the same rounds, `threaded_engine_app`: each query on a thread within a
  time limit, the least a front needs to keep a runaway off its event loop; with ``--kg-service``,
  kg-service joins them too. With
  ``--latency`` it gives one client's p50 instead, on the floor, Oxigraph and kg-service, for ``ASK {}`` and a
  few cheap named queries: what each adds to a request at one client.

    .venv/bin/python bench/granian_floor.py
    .venv/bin/python bench/granian_floor.py --engine
    .venv/bin/python bench/granian_floor.py --engine --thread --kg-service --mix all
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


def _store() -> Any:
    """The engine's store, loaded on first use from the file `main` names."""
    import pyoxigraph as ox

    global _STORE
    if _STORE is None:
        _STORE = ox.Store()
        _STORE.bulk_load(path=os.environ[DATA_VARIABLE], format=ox.RdfFormat.N_QUADS)
    return _STORE


async def engine_app(scope: Any, proto: Any) -> None:
    """The RSGI app: run the form's query on the engine, answer what it writes (SPARQL JSON, or N-Triples for
    a graph)."""
    if scope.proto != "http":
        return
    body = await proto()
    kind, out = _run(parse_qs(body.decode() if scope.method == "POST" else scope.query_string)["query"][0])
    proto.response_bytes(200, [("content-type", kind)], out)


_JOBS: Any = None  # a queue of (query text, future, loop) for the query threads
LIMIT_S = 10.0  # `threaded_engine_app`'s time limit (kg-service's default)


def _run(text: str) -> tuple[str, bytes]:
    """One query on the engine, written as `engine_app` writes it."""
    import pyoxigraph as ox

    result = _store().query(text)
    if isinstance(result, ox.QueryTriples):
        return "application/n-triples", ox.serialize(result, format=ox.RdfFormat.N_TRIPLES) or b""
    return "application/sparql-results+json", result.serialize(format=ox.QueryResultsFormat.JSON) or b""


def _query_thread(jobs: Any) -> None:
    """Run queries from `jobs`, handing each answer (or error) back to the waiting request's loop."""
    while True:
        text, future, loop = jobs.get()
        try:
            outcome: Any = _run(text)
        except Exception as exc:  # noqa: BLE001 - handed to the request
            outcome = exc
        try:
            loop.call_soon_threadsafe(_settle, future, outcome)
        except RuntimeError:  # the loop has closed (the server stopped): nobody waits for it
            pass


def _settle(future: Any, outcome: Any) -> None:
    if future.done():
        return
    if isinstance(outcome, Exception):
        future.set_exception(outcome)
    else:
        future.set_result(outcome)


async def threaded_engine_app(scope: Any, proto: Any) -> None:
    """`engine_app` with the query on a thread, awaited within a time limit: the least a front needs so that
    a runaway query neither blocks its other requests nor goes unanswered at its limit. The lightest
    hand-over (as kg-service's `local`): a queue to started threads, the answer set on a future by
    `call_soon_threadsafe`, one timer for the limit. Four threads, enough for the benchmark's cheap queries
    (`local` starts another whenever none is idle, so that runaways cannot hold them all)."""
    import asyncio
    import threading
    from queue import SimpleQueue

    global _JOBS
    if scope.proto != "http":
        return
    if _JOBS is None:
        _store()
        _JOBS = SimpleQueue()
        for _ in range(4):
            threading.Thread(target=_query_thread, args=(_JOBS,), daemon=True).start()
    body = await proto()
    text = parse_qs(body.decode() if scope.method == "POST" else scope.query_string)["query"][0]
    loop = asyncio.get_running_loop()
    future = loop.create_future()
    timer = loop.call_later(LIMIT_S, _settle, future, TimeoutError())
    _JOBS.put((text, future, loop))
    try:
        kind, out = await future
    except TimeoutError:
        proto.response_bytes(503, [("content-type", "text/plain")], b"the query ran past its limit")
        return
    finally:
        timer.cancel()
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
    parser.add_argument("--thread", action="store_true",
                        help="with --engine: a second floor, each query on a thread within a time limit, in the run")
    parser.add_argument("--kg-service", action="store_true",
                        help="with --engine: kg-service too, in the same interleaved rounds")
    parser.add_argument("--latency", action="store_true",
                        help="with --engine: one client's p50 on the floor, Oxigraph and kg-service, not throughput")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as work:
        served = prepare_data("seeds", RESULTS / "data")[1] if args.engine else None
        env = {DATA_VARIABLE: str(served)} if served else None

        def floor(name: str, app_name: str) -> Server:
            """granian serving `app_name` of this module."""
            port = free_port()
            process, log = _spawn(name, [str(BIN / "granian"), "--interface", "rsgi", "--workers", str(args.workers),
                                         "--host", "127.0.0.1", "--port", str(port), "--loop", "uvloop",
                                         "--working-dir", str(Path(__file__).resolve().parent),
                                         f"granian_floor:{app_name}"], Path(work), env)
            server = Server("granian", f"http://127.0.0.1:{port}/sparql", process, log)
            wait_ready(name, server.query_url, process, log, time.monotonic())
            return server

        servers: dict[str, Server] = {}
        try:
            servers["floor"] = floor("floor", "engine_app" if args.engine else "app")
            if args.engine and args.thread:
                servers["floor-thread"] = floor("floor-thread", "threaded_engine_app")
            if served is not None:
                servers["oxigraph"] = start_oxigraph_memory(served, Path(work))
            if (args.latency or args.kg_service) and served is not None:
                servers["kg-service"] = start_kg_service(prepare_data("seeds", RESULTS / "data")[0], Path(work))
            if args.latency and served is not None:
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
            what = {"floor": f"pyoxigraph inline, '{args.mix}' mix" if served else "trivial app",
                    "floor-thread": f"pyoxigraph on a thread, '{args.mix}' mix", "oxigraph": "in memory",
                    "kg-service": "in memory, fronts"}
            for name, figure in figures.items():
                print(f"{name} ({what[name]}): {figure['requests_per_s']:,.0f} req/s (rounds {figure['rounds']}), "
                      f"{figure['cpu_ms_per_request']:.3f} ms of server CPU a request", flush=True)
            if served is not None:
                rates = {name: figure["requests_per_s"] for name, figure in figures.items()}
                for name in sorted(rates.keys() - {"oxigraph"}):
                    print(f"{name} / oxigraph: {rates[name] / rates['oxigraph']:.2f} x")
        finally:
            for server in servers.values():
                server.stop()


if __name__ == "__main__":
    main()
