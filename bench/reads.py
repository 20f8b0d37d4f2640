"""Memory under concurrent large reads: N clients GET /data?default (or a dump) at once from a real server.

Starts ``kg-service serve --data FILE --union-default-graph`` on a free port of 127.0.0.1, waits until it
answers, makes one first read (which writes the read file: a one-time cost per dataset version), then runs
rounds of N concurrent reads of the whole default graph, each read to the end and thrown away, each client
from its own loopback address (the server bounds reads per address). The RSS of the server's process tree
is sampled every 100 ms. Prints the RSS after start and after the first read, the peak during each round,
bytes and seconds per read, and the statuses (503 beyond the concurrency bound).

    python bench/corpus.py --articles 20000 -o bench/results/corpus-20000.nq
    python bench/reads.py bench/results/corpus-20000.nq --clients 4 --rounds 2
"""

from __future__ import annotations

import argparse
import http.client
import json
import sys
import threading
import time
import urllib.parse
from pathlib import Path

import psutil
from soak import start_server, stop_server


def tree_rss(process: psutil.Process) -> int:
    total = 0
    for proc in [process, *process.children(recursive=True)]:
        try:
            total += proc.memory_info().rss
        except psutil.NoSuchProcess:
            pass
    return total


def read(url: str, headers: dict[str, str], out: list[tuple[int | str, int, float]], source: str = "127.0.0.1") -> None:
    """One whole read, from its own loopback address (127.0.0.N): the server bounds reads per client address."""
    parts = urllib.parse.urlsplit(url)
    started, size = time.monotonic(), 0
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=600, source_address=(source, 0))
    try:
        conn.request("GET", parts.path + ("?" + parts.query if parts.query else ""), headers=headers)
        response = conn.getresponse()
        while chunk := response.read(1 << 20):
            size += len(chunk)
        status: int | str = response.status
    except OSError as exc:
        status = type(exc).__name__
    finally:
        conn.close()
    out.append((status, size, time.monotonic() - started))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("data", type=Path, help="N-Quads file to serve")
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--path", default="/data?default")
    parser.add_argument("--accept", default="application/n-triples")
    args = parser.parse_args()
    workdir = Path(__file__).resolve().parent / "results"
    workdir.mkdir(exist_ok=True)
    started = time.monotonic()
    process, url, _log = start_server(workdir, {}, args=["--data", str(args.data.resolve()), "--union-default-graph"],
                                      timeout_s=900)
    figures: dict[str, object] = {"load_s": round(time.monotonic() - started, 1)}
    try:
        server = psutil.Process(process.pid)
        mb = 1024 * 1024
        figures["rss_after_start_mb"] = round(tree_rss(server) / mb, 1)
        first: list[tuple[int | str, int, float]] = []
        read(url + args.path, {"Accept": args.accept}, first)  # writes the read file: a one-time cost per version
        figures["first_read"] = {"status": first[0][0], "bytes": first[0][1], "seconds": round(first[0][2], 1),
                                 "rss_after_mb": round(tree_rss(server) / mb, 1)}
        rounds = []
        for _ in range(args.rounds):
            results: list[tuple[int | str, int, float]] = []
            threads = [threading.Thread(target=read, args=(url + args.path, {"Accept": args.accept}, results,
                                                           f"127.0.0.{2 + i}")) for i in range(args.clients)]
            peak, t0 = 0, time.monotonic()
            for thread in threads:
                thread.start()
            while any(t.is_alive() for t in threads):
                peak = max(peak, tree_rss(server))
                time.sleep(0.1)
            rounds.append({"seconds": round(time.monotonic() - t0, 1), "peak_rss_mb": round(peak / mb, 1),
                           "statuses": sorted(str(r[0]) for r in results),
                           "bytes_per_read": sorted({r[1] for r in results})})
        figures["rounds"] = rounds
        figures["rss_end_mb"] = round(tree_rss(server) / mb, 1)
    finally:
        stop_server(process)
    print(json.dumps(figures, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
