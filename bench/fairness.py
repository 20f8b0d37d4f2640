"""Light queries under runaway load: how long a cheap query waits while runaway queries run (issue 16.4).

Starts `kg-service serve` on the seeds (or `--data FILE`), then for `--duration` seconds `--runaways`
client threads each send a runaway query (a cartesian product the time limit stops) again and again,
while one probe thread sends a light lookup every 200 ms. Reports the probe's latency (p50, p95, max),
its non-200 answers, the runaways' statuses, and the peak memory of the server's process tree (RSS
summed, and PSS, which counts pages shared copy-on-write once). Bounded: threads stop at the deadline,
each request has a client timeout, and the server is stopped by its process id.

    .venv/bin/python bench/fairness.py --runaways 4 --duration 20
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from measure import Client  # noqa: E402
from peers import start_kg_service  # noqa: E402

RUNAWAY = "SELECT (COUNT(*) AS ?n) { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i . ?j ?k ?l }"
LIGHT = "SELECT ?label { <http://example.org/kg/entity/yoon-suk-yeol> ?p ?label } LIMIT 5"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runaways", type=int, default=4, help="client threads sending runaway queries")
    parser.add_argument("--duration", type=float, default=20.0, help="seconds of load")
    parser.add_argument("--timeout", type=float, default=5.0, help="the server's query time limit (KG_QUERY_TIMEOUT_S)")
    parser.add_argument("--data", type=Path, default=None, help="an N-Quads file (default: the built seeds)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as work:
        data = args.data or _seeds(Path(work))
        server = start_kg_service(data, Path(work), env={"KG_QUERY_TIMEOUT_S": str(args.timeout)})
        try:
            result = _load(server.query_url, args)
        finally:
            server.stop()
        result["peak_rss_mb"] = server.peak_rss / 2**20
        result["peak_pss_mb"] = server.peak_pss / 2**20
    for key, value in result.items():
        print(f"{key:>24}: {value:.3f}" if isinstance(value, float) else f"{key:>24}: {value}")


def _seeds(work: Path) -> Path:
    from kg_service.backends import built_seeds
    from kg_service.settings import Settings

    data = work / "seeds.nq"
    data.write_bytes(built_seeds(Settings.from_env()))
    return data


def _load(url: str, args: argparse.Namespace) -> dict[str, object]:
    deadline = time.monotonic() + args.duration
    runaway_statuses: Counter[int] = Counter()
    probe_ms: list[float] = []
    probe_failures: Counter[int] = Counter()

    def runaway(i: int) -> None:
        client = Client(url, timeout_s=args.timeout + 30, vary=True)
        while time.monotonic() < deadline:
            status, _ = client.query(RUNAWAY)
            runaway_statuses[status] += 1
        client.close()

    def probe() -> None:
        client = Client(url, timeout_s=30, vary=True)
        while time.monotonic() < deadline:
            started = time.monotonic()
            status, _ = client.query(LIGHT)
            probe_ms.append((time.monotonic() - started) * 1000)
            if status != 200:
                probe_failures[status] += 1
            time.sleep(0.2)
        client.close()

    threads = [threading.Thread(target=runaway, args=(i,), daemon=True) for i in range(args.runaways)]
    threads.append(threading.Thread(target=probe, daemon=True))
    for thread in threads:
        thread.start()
        time.sleep(0.05)
    for thread in threads:
        thread.join(args.duration + args.timeout + 60)
    probe_ms.sort()
    return {"runaway clients": args.runaways, "runaway statuses": dict(runaway_statuses),
            "probes": len(probe_ms), "probe non-200": dict(probe_failures),
            "probe p50 ms": statistics.median(probe_ms), "probe p95 ms": probe_ms[int(len(probe_ms) * 0.95)],
            "probe max ms": probe_ms[-1], "probes over 1 s": sum(ms > 1000 for ms in probe_ms)}


if __name__ == "__main__":
    main()
