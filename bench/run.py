"""`make bench`: kg-service side by side with Oxigraph's server and rdflib-endpoint, on the same data and queries.

One run: write the dataset (the seeds, or a synthetic corpus of 1,000 or 20,000 articles), start the
three servers on it, check that they give the same results for the 23 named queries, then measure,
interleaved, per-query latency (p50, p95), throughput with 8 concurrent clients for a bounded time,
start-up and load time, and peak memory of each server's process tree. It prints ratios kg-service /
peer and writes the numbers to bench/results/*.json. Nothing here asserts a timing: the targets are
reported as held or not.

Oxigraph is given the dataset kg-service serves, written out by kg-service's own choice of default
graph (`write_peer_data`): with a resolved layer (the seeds) the default graph is what is known, else
the union of the named graphs, so both hold the same quads. rdflib-endpoint serves the plain file as a
union-default Dataset, its only mode (equal to kg-service's only for data without a resolved layer).

    python bench/run.py --size seeds            # or 1000, 20000; --quick for a short run
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import signal
import subprocess
import sys
import time
from pathlib import Path

import pyoxigraph as ox

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from corpus import write_corpus  # noqa: E402
from measure import Client, differences, latency_rounds, normalise, throughput  # noqa: E402
from peers import (  # noqa: E402
    BIN,
    Server,
    start_kg_service,
    start_oxigraph,
    start_oxigraph_memory,
    start_rdflib_endpoint,
)

from kg_service.queries import load_queries  # noqa: E402
from kg_service.remote import inline_bindings  # noqa: E402
from kg_service.settings import Settings  # noqa: E402
from kg_service.store import dataset_nquads, default_graph_update, has_resolved_layer  # noqa: E402

RESULTS = ROOT / "bench" / "results"
SIZES = {"seeds": 0, "1000": 1000, "20000": 20000}
PEERS = ("oxigraph", "rdflib-endpoint")
MB = 1 << 20


PEER_DATA_FORMAT = 2  # bump when the way the peers' file is made changes, so old files are rebuilt


def peer_data_marker() -> dict:
    """What the peers' file depends on besides the data: how it is made, and kg-service's own choice of
    default graph (its update texts), so a change on either side rebuilds it."""
    rule = default_graph_update(resolved=True) + "\n" + default_graph_update(resolved=False)
    return {"format": PEER_DATA_FORMAT, "default_graph_rule": hashlib.sha256(rule.encode()).hexdigest()[:16]}


def write_peer_data(data: Path, out: Path) -> bool:
    """The dataset kg-service serves, as N-Quads: `data` loaded into a pyoxigraph store, the default graph
    written by kg-service's own `default_graph_update` (with a resolved layer: vocab.DEFAULT_GRAPHS; else
    the union of the named graphs), and the store dumped. Oxigraph's server loads this file, so both
    servers hold the same quads. Returns whether the dataset has a resolved layer."""
    store = ox.Store()
    store.bulk_load(path=data, format=ox.RdfFormat.N_QUADS)
    resolved = has_resolved_layer(store)
    store.update(default_graph_update(resolved=resolved))
    tmp = out.with_name(out.name + ".tmp")
    store.dump(tmp, format=ox.RdfFormat.N_QUADS)
    tmp.replace(out)
    return resolved


def prepare_data(size: str, folder: Path) -> tuple[Path, Path, int]:
    """The dataset as N-Quads (what kg-service is given), the dataset kg-service serves from it written
    out for the peers (see `write_peer_data`), and the quads count of the first.

    The peers' file is remade when the data is newer or its marker (`peer_data_marker`) differs."""
    folder.mkdir(parents=True, exist_ok=True)
    data, served = folder / f"{size}.nq", folder / f"{size}.served.nq"
    marker_file = served.with_name(served.name + ".json")
    if not data.exists():
        if size == "seeds":
            from kg_service.build import build_dataset

            data.write_bytes(dataset_nquads(build_dataset(Settings.from_env()).dataset))
        else:
            write_corpus(SIZES[size], data)
    try:
        marker = json.loads(marker_file.read_text())
    except (OSError, ValueError):
        marker = {}
    expected = peer_data_marker()
    fresh = (served.exists() and served.stat().st_mtime >= data.stat().st_mtime
             and {k: marker.get(k) for k in expected} == expected and isinstance(marker.get("quads"), int))
    if not fresh:
        (folder / f"{size}.union.nq").unlink(missing_ok=True)  # the old, hand-made union file
        resolved = write_peer_data(data, served)
        count = sum(1 for line in data.open("rb") if line.strip())
        marker = {**expected, "quads": count, "resolved_layer": resolved}
        marker_file.write_text(json.dumps(marker, indent=2))
    return data, served, marker["quads"]


def named_query_texts() -> dict[str, str]:
    """Each named query with its default parameters bound by VALUES: one text every server understands."""
    return {name: inline_bindings(q.text, q.bindings({})) for name, q in load_queries(ROOT / "sparql").items()}


def check_results(servers: dict[str, Server], starters: dict, queries: dict[str, str], *,
                  timeout_s: float) -> tuple[dict[str, dict[str, str]], dict[str, set[str]]]:
    """For each peer, the named queries whose results differ from kg-service's (with how), and the
    queries each server did not answer within `timeout_s`. A server that timed out is restarted:
    it would otherwise go on computing the abandoned query and slow everything measured after."""
    mismatches: dict[str, dict[str, str]] = {name: {} for name in servers if name != "kg-service"}
    too_slow: dict[str, set[str]] = {name: set() for name in servers}
    for query_name, text in queries.items():
        results = {}
        for name in servers:
            client = Client(servers[name].query_url, timeout_s=timeout_s)
            try:
                results[name] = client.query(text)
            except TimeoutError:
                results[name] = (0, b"")
                too_slow[name].add(query_name)
                peak, pss = servers[name].peak_rss, servers[name].peak_pss
                servers[name].stop()
                servers[name] = starters[name]()
                servers[name].peak_rss = max(peak, servers[name].peak_rss)
                servers[name].peak_pss = max(pss, servers[name].peak_pss)
            finally:
                client.close()
        status, body = results["kg-service"]
        for name in mismatches:
            peer_status, peer_body = results[name]
            if query_name in too_slow[name] or query_name in too_slow["kg-service"]:
                mismatches[name][query_name] = f"not answered within {timeout_s:g} s"
            elif status != 200 or peer_status != 200:
                mismatches[name][query_name] = f"status kg-service {status}, {name} {peer_status}"
            elif how := differences(normalise(body), normalise(peer_body)):
                mismatches[name][query_name] = how
    return mismatches, too_slow


def time_build() -> float | None:
    """Wall time of `kg-service build` on the seeds (a fresh process, as a user runs it)."""
    started = time.monotonic()
    done = subprocess.run([str(BIN / "kg-service"), "build"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                          timeout=300, check=False)
    return time.monotonic() - started if done.returncode in (0, 1) else None


def ratio(a: float | None, b: float | None) -> float | None:
    return a / b if a is not None and b else None


def fmt(value: float | None, unit: str = "", digits: int = 2) -> str:
    return "-" if value is None else f"{value:.{digits}f}{unit}"


def report(result: dict) -> str:
    """The ratio table: kg-service / peer for every measure (latency: lower is better for kg-service)."""
    names = [n for n in ("kg-service", *PEERS) if n in result["servers"]]
    peers = [n for n in names if n != "kg-service"]
    lines = [f"kg-service benchmark: size {result['size']} ({result['quads']:,} quads), {result['machine']}, "
             f"kg-service store: {result['kg_store']}, oxigraph store: "
             f"{'memory' if result.get('oxigraph_memory') else 'RocksDB'}, "
             + ("identical query texts (kg-service's result cache answers)" if result["cached"] else
                "every query text made unique (no result cache helps)"), ""]
    head = f"{'query (p50 ms)':<30}" + "".join(f"{n[:10]:>11}" for n in names) + "".join(
        f"{'kg/' + p[:6]:>11}" for p in peers)
    lines += [head, "-" * len(head)]
    lat = result["latency"]
    for query in result["queries"]:
        p50 = {n: lat[n][query]["p50"] for n in names}
        cells = "".join(f"{fmt(p50[n] * 1000 if p50[n] is not None else None, '', 1):>11}" for n in names)
        cells += "".join(f"{fmt(ratio(p50['kg-service'], p50[p]), 'x'):>11}" for p in peers)
        lines.append(f"{query[:30]:<30}{cells}")
    lines.append("")
    rows = [("p50 geo-mean ms (all answered)", "p50"), ("p95 geo-mean ms (all answered)", "p95")]
    for label, key in rows:
        values = {n: result["geomean"][n][key] for n in names}
        lines.append(f"{label:<30}" + "".join(f"{fmt(values[n] * 1000 if values[n] else None, '', 1):>11}"
                                               for n in names)
                     + "".join(f"{fmt(ratio(values['kg-service'], values[p]), 'x'):>11}" for p in peers))
    tput = {n: result["throughput"].get(n, {}).get("requests_per_s") for n in names}
    lines.append(f"{'throughput req/s (8 clients)':<30}" + "".join(f"{fmt(tput[n], '', 1):>11}" for n in names)
                 + "".join(f"{fmt(ratio(tput['kg-service'], tput[p]), 'x'):>11}" for p in peers))
    for label, key, scale in (("load s (data -> answering)", "load_s", 1), ("start s (stored -> answering)",
                              "start_s", 1), ("peak RSS MB (summed)", "peak_rss", MB),
                              ("peak PSS MB (shared once)", "peak_pss", MB)):
        values = {n: result["servers"][n][key] / scale for n in names}
        lines.append(f"{label:<30}" + "".join(f"{fmt(values[n], '', 1):>11}" for n in names)
                     + "".join(f"{fmt(ratio(values['kg-service'], values[p]), 'x'):>11}" for p in peers))
    if result.get("build_s") is not None:
        lines.append(f"{'kg-service build (seeds) s':<30}{fmt(result['build_s']):>11}")
    lines.append("")
    for name, slow in result["timed_out"].items():
        if slow:
            lines.append(f"{name} did not answer within the time limit: {', '.join(slow)} (left out of the "
                         "geo-means and the throughput mix for every server)")
    for peer, found in result["mismatches"].items():
        lines.append(f"results vs {peer}: " + ("all named queries agree" if not found else
                                                f"{len(found)} differ: " + "; ".join(
                                                    f"{q}: {how}" for q, how in sorted(found.items()))))
    lines += ["", "targets:"] + [f"  [{'held' if ok else 'NOT held' if ok is not None else 'n/a'}] {text}"
                                 for text, ok in result["targets"]]
    return "\n".join(lines)


def geomean(values: list[float]) -> float | None:
    values = [v for v in values if v]
    if not values:
        return None
    product = 1.0
    for v in values:
        product *= v ** (1 / len(values))
    return product


def targets(result: dict) -> list[tuple[str, bool | None]]:
    """The issue's targets, each held, not held, or not measured in this run (None)."""
    tput = {n: v.get("requests_per_s") for n, v in result["throughput"].items()}
    out: list[tuple[str, bool | None]] = []
    kg = tput.get("kg-service")
    if result["size"] == "seeds":
        out.append(("throughput >= 0.5 x oxigraph", kg >= 0.5 * tput["oxigraph"] if kg and "oxigraph" in tput
                    else None))
        out.append(("throughput >= 10 x rdflib-endpoint", kg >= 10 * tput["rdflib-endpoint"]
                    if kg and "rdflib-endpoint" in tput else None))
    if "oxigraph" in result["servers"]:
        ours, theirs = result["servers"]["kg-service"], result["servers"]["oxigraph"]
        out.append((f"peak memory <= 2 x oxigraph (PSS {ratio(ours['peak_pss'], theirs['peak_pss']) or 0:.2f} x, "
                    f"summed RSS {ratio(ours['peak_rss'], theirs['peak_rss']) or 0:.2f} x)",
                    ours["peak_pss"] <= 2 * theirs["peak_pss"]))
        if result["kg_store"] == "memory":
            out.append((f"load <= 3 x oxigraph ({ratio(ours['load_s'], theirs['load_s']) or 0:.2f} x)",
                        ours["load_s"] <= 3 * theirs["load_s"]))
    if kg and "oxigraph" in tput:
        texts = "repeated texts" if result.get("cached") else "unique texts"
        out.append((f"throughput >= 0.8 x oxigraph ({kg / tput['oxigraph']:.2f} x, {texts})",
                    kg >= 0.8 * tput["oxigraph"]))
    if result["size"] != "seeds":
        lat = result["latency"]
        if "oxigraph" in lat:
            slow = [q for q in result["queries"] if lat["kg-service"][q]["p50"] is not None
                    and lat["oxigraph"][q]["p50"] and lat["kg-service"][q]["p50"] > 1.5 * lat["oxigraph"][q]["p50"]]
            out.append((f"every named query p50 <= 1.5 x oxigraph ({result['quads']:,} quads)"
                        + (f"; over: {', '.join(slow)}" if slow else ""), not slow))
        server = result["servers"]["kg-service"]
        out.append((f"start from the persistent store < 5 s ({server['start_s']:.2f} s)",
                    server["start_s"] < 5 if result["kg_store"] == "persistent" else None))
        out.append((f"peak RSS < 2 GB ({server['peak_rss'] / MB:.0f} MB)", server["peak_rss"] < 2 * 1024 * MB))
    if result.get("build_s") is not None:
        out.append((f"kg-service build of the seeds < 2 s ({result['build_s']:.2f} s)", result["build_s"] < 2))
    return out


def _stop_on_sigterm(signum: int, _frame: object) -> None:
    raise SystemExit(128 + signum)  # so `finally` stops the servers


def main() -> None:
    signal.signal(signal.SIGTERM, _stop_on_sigterm)
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", choices=list(SIZES), default="seeds")
    parser.add_argument("--duration", type=float, default=10.0, help="seconds of throughput per server")
    parser.add_argument("--rounds", type=int, default=15, help="latency rounds (each runs every query once)")
    parser.add_argument("--quick", action="store_true", help="3 rounds, 3 s of throughput: a smoke run")
    parser.add_argument("--oxigraph-memory", action="store_true",
                        help="run Oxigraph's server on its in-memory store (the data POSTed to it), not on RocksDB")
    parser.add_argument("--peers", default=None,
                        help="comma-separated peers (default: both; rdflib-endpoint only up to 1000 articles)")
    parser.add_argument("--kg-store", choices=("memory", "persistent"), default=None,
                        help="kg-service's store (default: memory for the seeds, persistent above)")
    parser.add_argument("--query-timeout", type=float, default=60.0,
                        help="seconds a server may take for one query before it counts as not answered")
    parser.add_argument("--cached", action="store_true",
                        help="repeat identical query texts, so kg-service's result cache answers (default: every "
                             "request's text differs by a comment, so the engines are measured)")
    parser.add_argument("--no-build-timing", action="store_true", help="skip timing `kg-service build`")
    args = parser.parse_args()
    if args.quick:
        args.rounds, args.duration = 3, 3.0
    peers = args.peers.split(",") if args.peers else [p for p in PEERS if p != "rdflib-endpoint"
                                                      or SIZES[args.size] <= 1000]
    kg_store = args.kg_store or ("memory" if args.size == "seeds" else "persistent")
    work = RESULTS / "work"
    work.mkdir(parents=True, exist_ok=True)
    print(f"preparing the {args.size} dataset ...", flush=True)
    data, served_data, quads = prepare_data(args.size, RESULTS / "data")
    queries = named_query_texts()
    servers: dict[str, Server] = {}
    result: dict = {"size": args.size, "quads": quads, "kg_store": kg_store, "queries": list(queries),
                    "cached": args.cached, "oxigraph_memory": args.oxigraph_memory,
                    "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}",
                    "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                    "settings": {"rounds": args.rounds, "duration_s": args.duration, "clients": 8}}
    try:
        starters = {"kg-service": lambda: start_kg_service(data, work, store=work / "kg-store"
                                                           if kg_store == "persistent" else None),
                    "oxigraph": (lambda: start_oxigraph_memory(served_data, work)) if args.oxigraph_memory
                    else (lambda: start_oxigraph(served_data, work)),
                    "rdflib-endpoint": lambda: start_rdflib_endpoint(data, work)}
        for name in ("kg-service", *peers):
            print(f"starting {name} ...", flush=True)
            servers[name] = starters[name]()
        print(f"checking results (at most {args.query_timeout:g} s a query) ...", flush=True)
        result["mismatches"], too_slow = check_results(servers, starters, queries, timeout_s=args.query_timeout)
        result["timed_out"] = {n: sorted(q) for n, q in too_slow.items()}
        answered = {q: t for q, t in queries.items() if not any(q in slow for slow in too_slow.values())}
        result["throughput_queries"] = list(answered)
        clients = {name: Client(s.query_url, timeout_s=args.query_timeout, vary=not args.cached)
                   for name, s in servers.items()}
        print(f"latency: {args.rounds} rounds ...", flush=True)
        timings = latency_rounds(clients, queries, rounds=args.rounds, budget_s=max(60.0, args.rounds * 40.0),
                                 skip=too_slow)
        result["latency"] = {n: {q: t.summary() for q, t in per.items()} for n, per in timings.items()}
        result["geomean"] = {n: {k: geomean([per[q][k] for q in answered if per[q][k] is not None])
                                 for k in ("p50", "p95")} for n, per in result["latency"].items()}
        for client in clients.values():
            client.close()
        result["throughput"] = {}
        for name, server in servers.items():
            print(f"throughput: {name}, {args.duration:g} s ...", flush=True)
            result["throughput"][name] = throughput(server.query_url, list(answered.values()), clients=8,
                                                    duration_s=args.duration, vary=not args.cached)
    finally:
        for server in servers.values():
            server.stop()
    result["servers"] = {n: {"load_s": s.load_s, "start_s": s.start_s, "peak_rss": s.peak_rss,
                             "peak_pss": s.peak_pss}
                         for n, s in servers.items()}
    result["build_s"] = None if args.no_build_timing else time_build()
    result["targets"] = targets(result)
    text = report(result)
    print("\n" + text)
    out = RESULTS / f"bench-{args.size}-{time.strftime('%Y%m%dT%H%M%S', time.gmtime())}.json"
    out.write_text(json.dumps(result, indent=2))
    (RESULTS / f"bench-{args.size}-latest.txt").write_text(text + "\n")
    print(f"\nwrote {out}")


if __name__ == "__main__":
    main()
