"""CPU per request of a front's own path, without HTTP: what kg-service's Python costs a query.

`run.py` measures the servers as clients see them; its CPU row says a lookup costs a front ~0.8 ms against
Oxigraph's ~0.16, and granian alone, with a trivial Python app, ~0.13. This isolates the rest: it builds the
app and a front's query runner on the seeds in this process, as a front does, and sends requests straight
to the front's RSGI handler (`native.Bridge`) with stand-ins for granian's request objects (the attributes the
bridge reads, a body that is already there, a client that never hangs up). The figure is process CPU time
per request, so a change to the front's path shows up here without the network's and the machine's noise.
Every text is made unique (a comment), so the result cache never answers; `--concurrency` runs that many
requests at once on the event loop, as a front holding several connections does.

With `--steps` it also prints the CPU time of the current thread spent in each of a few steps, per call:
the guard's quick look, the form, the query on its thread (run and written by the engine) and the log line,
measured where they run (wrapped for the run, nothing else changed). `--queries-on-loop` is an experiment:
it runs each query on the event loop instead of a query thread (what `local` must not do in a front: a
runaway would stop the loop), to show what the thread costs.

    .venv/bin/python bench/front_path.py --mix interactive --concurrency 4
    .venv/bin/python bench/front_path.py --mix all --concurrency 4 --steps
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import threading
import time
import urllib.parse
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import mixes  # noqa: E402
from measure import ACCEPT  # noqa: E402
from run import RESULTS, named_query_texts, prepare_data  # noqa: E402

from kg_service.backends import GraphSpec, open_graph  # noqa: E402
from kg_service.settings import Settings  # noqa: E402
from kg_service.web import create_app  # noqa: E402
from kg_service.web.fronts import front_bridge  # noqa: E402
from kg_service.web.serve import configure_logging  # noqa: E402


class _Scope:
    """What `native.Bridge` reads of granian's RSGI scope for a form POST to /sparql."""

    proto, method, path, query_string = "http", "POST", "/sparql", ""
    server, client, scheme, http_version = "127.0.0.1:8000", "127.0.0.1:40000", "http", "1.1"

    def __init__(self, body: bytes, accept: str):
        self.headers = {"host": "127.0.0.1:8000", "content-type": "application/x-www-form-urlencoded",
                        "content-length": str(len(body)), "accept": accept, "user-agent": "front_path"}


class _Proto:
    """granian's request protocol object: the body at once, the response kept, no hang-up ever."""

    def __init__(self, body: bytes):
        self.body, self.status = body, 0

    async def __call__(self) -> bytes:
        return self.body

    def response_bytes(self, status: int, _headers: list, _body: bytes) -> None:
        self.status = status

    async def client_disconnect(self) -> None:
        await asyncio.sleep(3600)


def requests_for(mix: str, app: Any, count: int) -> list[tuple[str, str]]:
    """`count` (text, accept) pairs of the mix; the interactive one filled from the seeds, as `run.py` does."""
    if mix == "all":
        texts = list(named_query_texts().values())
        return [(texts[i % len(texts)], ACCEPT) for i in range(count)]
    from werkzeug.serving import make_server

    server = make_server("127.0.0.1", 0, app, threaded=True)  # the discovery queries go over HTTP, once
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        pools = mixes.discover(f"http://127.0.0.1:{server.server_port}/sparql", timeout_s=60)
    finally:
        server.shutdown()
    generator = mixes.requests(pools)(0)
    return [next(generator) for _ in range(count)]


def time_steps() -> dict[str, list[int]]:
    """Wrap the steps in their modules (and where a module imported them by name): each call's thread CPU
    time in ns is summed, with the count, under the step's name."""
    from kg_service import bounds
    from kg_service.web import jobs, lean, local, native

    totals: dict[str, list[int]] = {}

    def timed(name: str, function: Any) -> Any:
        total = totals.setdefault(name, [0, 0])

        def wrapper(*args: Any, **kwargs: Any) -> Any:
            started = time.thread_time_ns()
            try:
                return function(*args, **kwargs)
            finally:
                total[0] += time.thread_time_ns() - started
                total[1] += 1
        return wrapper

    bounds._quick_words = timed("guard's quick look", bounds._quick_words)
    native.plain_query = timed("form (plain_query)", lean.plain_query)
    native.log_request = timed("log line", lean.log_request)
    local.execute_capped = timed("query, run and written", jobs.execute_capped)
    return totals


def run_queries_on_loop() -> None:
    """The experiment: `LocalQueries.arun` runs the job on the event loop's thread."""
    from kg_service.web import local

    async def arun(self: Any, store: Any, job: Any, *, timeout_s: float, gone: Any) -> Any:
        return local.execute_capped(store, job, self.max_result_bytes)  # looked up here: `--steps` may wrap it

    local.LocalQueries.arun = arun  # type: ignore[method-assign]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mix", choices=("interactive", "all"), default="interactive")
    parser.add_argument("--requests", type=int, default=3000, help="requests per round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--concurrency", type=int, default=1, help="requests at once on the event loop")
    parser.add_argument("--steps", action="store_true", help="CPU time per call of a few steps, where they run")
    parser.add_argument("--queries-on-loop", action="store_true", help="experiment: no query thread")
    args = parser.parse_args()
    steps = time_steps() if args.steps else {}
    if args.queries_on_loop:
        run_queries_on_loop()
    devnull = open(os.devnull, "w")  # noqa: SIM115 - open for the run: the log line is written, as in serve
    configure_logging(devnull)
    settings = Settings.from_env()
    data, _, _, _ = prepare_data("seeds", RESULTS / "data")
    kg = open_graph(settings, GraphSpec(data=data, union_default_graph=True))
    app = create_app(settings, kg)
    bridge = front_bridge(app, 2 * app.extensions["kg_service"].pool.capacity, memory_mb=0, shared_mb=0,
                          on_end=lambda _reason: None)  # as `serve` makes a front's, with no memory watch
    texts = requests_for(args.mix, app, args.requests)

    async def send(batch: list[tuple[bytes, str]]) -> None:
        for body, accept in batch:
            proto = _Proto(body)
            await bridge.__rsgi__(_Scope(body, accept), proto)
            if proto.status != 200:
                raise SystemExit(f"a request was answered {proto.status}")

    async def round_(tag: str) -> None:
        bodies = [(urllib.parse.urlencode({"query": f"{text}\n# {tag}-{i}"}).encode(), accept)
                  for i, (text, accept) in enumerate(texts)]
        await asyncio.gather(*(send(bodies[j::args.concurrency]) for j in range(args.concurrency)))

    try:  # the loop a front runs (`native.serve`: uvloop where installed)
        import uvloop

        loop = uvloop.new_event_loop()
    except ImportError:
        loop = asyncio.new_event_loop()
    try:
        loop.run_until_complete(round_("warm"))
        for index in range(args.rounds):
            cpu, wall = time.process_time(), time.perf_counter()
            loop.run_until_complete(round_(f"round{index}"))
            cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
            print(f"{args.mix}, {args.concurrency} at once: {cpu / len(texts) * 1e6:.0f} us of CPU a request "
                  f"({wall / len(texts) * 1e6:.0f} us wall)", flush=True)
        for name, (nanoseconds, calls) in steps.items():  # warm-up round included
            print(f"  {name}: {nanoseconds / max(calls, 1) / 1000:.0f} us of thread CPU a call ({calls} calls)")
    finally:
        loop.close()
        bridge.pool.shutdown(wait=False)


if __name__ == "__main__":
    main()
