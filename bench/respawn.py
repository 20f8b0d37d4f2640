"""How long a killed front takes to be replaced and to answer again ("a killed worker back well under a second").

Starts kg-service as the benchmark does (`peers.start_kg_service`: `serve --data FILE --union-default-graph`, a
read-only graph, so front processes), then `--tries` times kills one front with SIGKILL and measures from the
kill to the first `ASK` answered while a front other than the killed one runs. Every wait is bounded.

    python bench/respawn.py --data bench/results/data/20000.nq     # made by `bench/run.py --size 20000`
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import time
import urllib.parse
import urllib.request
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))

from peers import start_kg_service  # noqa: E402

WORK = ROOT / "bench" / "results" / "work"


def answers(query_url: str) -> bool:
    try:
        with urllib.request.urlopen(query_url + "?" + urllib.parse.urlencode({"query": "ASK { ?s ?p ?o }"}),
                                    timeout=5) as response:
            return response.status == 200
    except OSError:
        return False


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=ROOT / "bench" / "results" / "data" / "seeds.nq")
    parser.add_argument("--tries", type=int, default=3)
    args = parser.parse_args()
    WORK.mkdir(parents=True, exist_ok=True)
    server = start_kg_service(args.data, WORK)
    try:
        for _ in range(args.tries):
            supervisor = psutil.Process(server.process.pid)
            victim = min(child.pid for child in supervisor.children())
            started = time.perf_counter()
            os.kill(victim, signal.SIGKILL)
            deadline = time.monotonic() + 60
            while not ([c for c in supervisor.children() if c.pid != victim and c.status() != psutil.STATUS_ZOMBIE]
                       and answers(server.query_url)):
                if time.monotonic() > deadline:
                    raise SystemExit("no front answered within 60 s of the kill")
                time.sleep(0.005)
            print(f"front {victim} killed: answered again after {(time.perf_counter() - started) * 1000:.0f} ms")
    finally:
        server.stop()


if __name__ == "__main__":
    main()
