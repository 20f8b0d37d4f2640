"""How long a killed front takes to be replaced and to answer again ("a killed worker back well under a second").

Starts `kg-service serve --data FILE --union-default-graph` (a read-only graph: front processes), waits until it
answers, then `--tries` times kills its front(s) with SIGKILL one at a time and measures from the kill to the
first `ASK` answered by a front other than the one killed. Every wait is bounded.

    python bench/respawn.py --data bench/results/data/20000.nq     # made by `bench/run.py --size 20000`
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
ASK = "/sparql?" + urllib.parse.urlencode({"query": "ASK { ?s ?p ?o }"})


def answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url + ASK, timeout=5) as response:
            return response.status == 200
    except OSError:
        return False


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=ROOT / "bench" / "results" / "data" / "seeds.nq")
    parser.add_argument("--tries", type=int, default=3)
    parser.add_argument("--port", type=int, default=18795)
    args = parser.parse_args()
    url = f"http://127.0.0.1:{args.port}"
    log = ROOT / "bench" / "results" / "respawn-serve.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("wb") as out:
        server = subprocess.Popen([str(BIN / "kg-service"), "serve", "--port", str(args.port), "--data", str(args.data),
                                   "--union-default-graph"], stdout=out, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 300
        while not answers(url):
            if server.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"kg-service serve did not start: see {log}")
            time.sleep(0.1)
        for _ in range(args.tries):
            victim = min(child.pid for child in psutil.Process(server.pid).children())
            started = time.perf_counter()
            os.kill(victim, signal.SIGKILL)
            deadline = time.monotonic() + 60
            while not ([c for c in psutil.Process(server.pid).children()
                        if c.pid != victim and c.status() != psutil.STATUS_ZOMBIE] and answers(url)):
                if time.monotonic() > deadline:
                    raise SystemExit("no front answered within 60 s of the kill")
                time.sleep(0.005)
            print(f"front {victim} killed: answered again after {(time.perf_counter() - started) * 1000:.0f} ms")
    finally:
        server.terminate()
        server.wait(timeout=30)


if __name__ == "__main__":
    main()
