"""The remote Virtuoso backend beside the folder backend, on a synthetic corpus: load, p50 per named query, restart.

    python bench/remote.py --articles 5000                 # ~310,000 quads; a few minutes
    python bench/remote.py --articles 100000 --budget 1500 # ~6 million quads, if it fits in the budget

Both run `kg-service serve --data corpus.nq --union-default-graph` as users run it, on free ports of
127.0.0.1: once with `--store DIR` (the folder backend) and once with `--store virtuoso+http://...`
against a private Virtuoso 7 started here (`tests/servers.py`), which then answers every query.

- load: from starting kg-service with nothing stored to its first answer (the folder is built; the
  graph is built here and every graph pushed to Virtuoso);
- restart: the same command again, from start to first answer (the folder is reopened; the graphs are
  hashed, compared with what was pushed, and nothing is sent);
- p50 per named query over `--rounds` rounds through kg-service's /sparql, each text made unique so
  no result cache answers (interleaved between the two backends), and whether both gave the same rows.

Timings are reported, never asserted; `uptime`'s load is printed with them, since the machine is shared.
Results go to bench/results/remote-ARTICLES-TIME.json (git-ignored).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(ROOT / "tests"))

import peers  # noqa: E402
from corpus import write_corpus  # noqa: E402
from measure import Client, latency_rounds, normalise  # noqa: E402
from peers import BIN, Server, _start_kg  # noqa: E402
from servers import running_virtuoso  # noqa: E402

from kg_service.queries import load_queries  # noqa: E402
from kg_service.query_text import inline_bindings  # noqa: E402

RESULTS = ROOT / "bench" / "results"
ENV = {"KG_QUERY_WORKERS": "2", "KG_QUERY_TIMEOUT_S": "120", "KG_MAX_ROWS": "1000000"}


def named_query_texts() -> dict[str, str]:
    return {name: inline_bindings(q.text, q.bindings({})) for name, q in load_queries(ROOT / "sparql").items()}


def serve_twice(name: str, data: Path, store: str, workdir: Path, env: dict[str, str]) -> tuple[Server, float, float]:
    """Start kg-service on `store` from nothing (the load), stop it, start it again (the restart)."""
    argv = [str(BIN / "kg-service"), "serve", "--host", "127.0.0.1", "--data", str(data), "--union-default-graph",
            "--store", store]
    first = _start_kg(argv, workdir, {**ENV, **env}, f"{name}-load")
    load_s = first.start_s
    first.stop()
    second = _start_kg(argv, workdir, {**ENV, **env}, name)
    return second, load_s, second.start_s


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--articles", type=int, default=5000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--budget", type=float, default=600.0, help="seconds for the latency rounds at most")
    parser.add_argument("--buffers", type=int, default=170_000, help="Virtuoso's NumberOfBuffers (8 KB pages)")
    parser.add_argument("--ready-timeout", type=float, default=peers.READY_TIMEOUT_S,
                        help="seconds a start (with its push) may take before the run gives up")
    args = parser.parse_args()
    peers.READY_TIMEOUT_S = args.ready_timeout  # read by peers.wait_ready

    stamp = time.strftime("%Y%m%d-%H%M%S")
    workdir = RESULTS / f"remote-{args.articles}-{stamp}"
    workdir.mkdir(parents=True, exist_ok=True)
    data = RESULTS / f"corpus-{args.articles}.nq"
    started = time.monotonic()
    if not data.exists():
        partial = data.with_suffix(".partial")
        quads = write_corpus(args.articles, partial)
        partial.rename(data)
        print(f"corpus: {args.articles} articles, {quads} quads in {time.monotonic() - started:.0f} s", flush=True)
    quads = sum(1 for _ in data.open("rb"))
    result: dict = {"articles": args.articles, "quads": quads, "uptime_before": _uptime()}
    queries = named_query_texts()
    servers: dict[str, Server] = {}
    try:
        servers["folder"], load_s, restart_s = serve_twice("folder", data, str(workdir / "folder"), workdir, {})
        result["folder"] = {"load_s": load_s, "restart_s": restart_s}
        print(f"folder: load {load_s:.1f} s, restart {restart_s:.1f} s", flush=True)
        with running_virtuoso(workdir / "virtuoso", max_rows=1_000_001, max_seconds=120,
                              buffers=args.buffers) as virtuoso:
            servers["virtuoso"], load_s, restart_s = serve_twice(
                "virtuoso", data, virtuoso.store_url, workdir, {"KG_REMOTE_STATE_DIR": str(workdir / "state")})
            result["virtuoso"] = {"load_s": load_s, "restart_s": restart_s,
                                  "puts_on_load": len(virtuoso.requests("PUT"))}
            print(f"virtuoso: load {load_s:.1f} s, restart {restart_s:.1f} s, "
                  f"{result['virtuoso']['puts_on_load']} PUTs in all", flush=True)
            result["same_rows"] = same_rows(servers, queries)
            clients = {name: Client(server.query_url, vary=True) for name, server in servers.items()}
            timings = latency_rounds(clients, queries, rounds=args.rounds, budget_s=args.budget, slow_s=60.0)
            result["p50_s"] = {name: {q: t.percentile(50) for q, t in per.items()} for name, per in timings.items()}
            result["errors"] = {name: {q: t.errors for q, t in per.items() if t.errors}
                                for name, per in timings.items()}
    finally:
        for server in servers.values():
            server.stop()
    result["uptime_after"] = _uptime()
    (workdir.parent / f"remote-{args.articles}-{stamp}.json").write_text(json.dumps(result, indent=1))
    print(report(result))


def same_rows(servers: dict[str, Server], queries: dict[str, str]) -> dict[str, bool]:
    """Whether both backends answer each named query with the same bag of rows."""
    same = {}
    for name, text in queries.items():
        bodies = []
        for server in servers.values():
            client = Client(server.query_url)
            status, body = client.query(text)
            client.close()
            bodies.append(normalise(body) if status == 200 else None)
        same[name] = bodies[0] is not None and bodies[0] == bodies[1]
    return same


def report(result: dict) -> str:
    lines = [f"{result['articles']:,} articles, {result['quads']:,} quads; load average before "
             f"{result['uptime_before']}, after {result['uptime_after']}",
             f"{'':32} {'folder':>10} {'virtuoso':>10}",
             f"{'load (s)':32} {result['folder']['load_s']:10.1f} {result['virtuoso']['load_s']:10.1f}",
             f"{'restart to first answer (s)':32} {result['folder']['restart_s']:10.1f} "
             f"{result['virtuoso']['restart_s']:10.1f}"]
    for query in sorted(result.get("p50_s", {}).get("folder", {})):
        cells = [result["p50_s"][b][query] for b in ("folder", "virtuoso")]
        same = "" if result["same_rows"].get(query) else "  (rows differ)"
        lines.append(f"{query + ' p50 (ms)':32} " + " ".join(
            f"{c * 1000:10.1f}" if c is not None else f"{'-':>10}" for c in cells) + same)
    return "\n".join(lines)


def _uptime() -> str:
    return " ".join(f"{v:.2f}" for v in os.getloadavg())


if __name__ == "__main__":
    main()
