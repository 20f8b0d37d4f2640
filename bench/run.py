"""`make bench`: kg-service side by side with Oxigraph's server and rdflib-endpoint, on the same data and queries.

One run: write the dataset (the seeds, or a synthetic corpus of 1,000 or 20,000 articles), start the
three servers on it, check that they give the same results for the named queries and a sample of the
interactive mix, then measure, interleaved, per-query latency (p50, p95), throughput with 8 concurrent
clients for a bounded time for each mix, in rounds the servers take in turn ('all': the named queries;
'interactive': cheap lookups filled from the data, see mixes.py), start-up, load and first-query time,
and peak memory of each server's process tree. It prints ratios kg-service / peer and writes the numbers
to bench/results/*.json.
Nothing here asserts a timing: the issue's targets are reported as held, not held or n/a.

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

import mixes  # noqa: E402
from corpus import write_corpus  # noqa: E402
from measure import (  # noqa: E402
    ACCEPT,
    Client,
    Requests,
    cycle,
    differences,
    latency_rounds,
    normalise_answer,
    throughput,
)
from peers import (  # noqa: E402
    BIN,
    Server,
    start_kg_service,
    start_oxigraph,
    start_oxigraph_memory,
    start_rdflib_endpoint,
)

from kg_service.queries import load_queries  # noqa: E402
from kg_service.query_text import inline_bindings  # noqa: E402
from kg_service.settings import Settings  # noqa: E402
from kg_service.store import dataset_nquads, default_graph_update, has_resolved_layer  # noqa: E402

RESULTS = ROOT / "bench" / "results"
SIZES = {"seeds": 0, "1000": 1000, "20000": 20000}
PEERS = ("oxigraph", "rdflib-endpoint")
MIXES = ("all", "interactive")
CLIENTS = 8
CLIENT_PROCESSES = min(4, os.cpu_count() or 1)  # one Python process alone cannot keep Oxigraph busy (`measure`)
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


def prepare_data(size: str, folder: Path) -> tuple[Path, Path, int, bool]:
    """The dataset as N-Quads (what kg-service is given), the dataset kg-service serves from it written
    out for the peers (see `write_peer_data`), the quads count of the first, and whether it has a
    resolved layer (then the default graph is vocab.DEFAULT_GRAPHS, not the union).

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
    return data, served, marker["quads"], bool(marker.get("resolved_layer"))


def named_query_texts() -> dict[str, str]:
    """Each named query with its default parameters bound by VALUES: one text every server understands."""
    return {name: inline_bindings(q.text, q.bindings({})) for name, q in load_queries(ROOT / "sparql").items()}


def check_results(servers: dict[str, Server], starters: dict, queries: dict[str, tuple[str, str]], *,
                  timeout_s: float) -> tuple[dict[str, dict[str, str]], dict[str, set[str]]]:
    """For each peer, the queries (name -> (text, accept)) whose results differ from kg-service's (with
    how), and the queries each server did not answer within `timeout_s`. A server that timed out is
    restarted: it would otherwise go on computing the abandoned query and slow everything measured after."""
    mismatches: dict[str, dict[str, str]] = {name: {} for name in servers if name != "kg-service"}
    too_slow: dict[str, set[str]] = {name: set() for name in servers}
    for query_name, (text, accept) in queries.items():
        results = {}
        for name in servers:
            client = Client(servers[name].query_url, timeout_s=timeout_s)
            try:
                status, body = client.query(text, accept)
                results[name] = (status, body, client.content_type)
            except TimeoutError:
                results[name] = (0, b"", "")
                too_slow[name].add(query_name)
                peak, pss = servers[name].peak_rss, servers[name].peak_pss
                first = servers[name].first_query_s
                servers[name].stop()
                servers[name] = starters[name]()
                servers[name].peak_rss = max(peak, servers[name].peak_rss)
                servers[name].peak_pss = max(pss, servers[name].peak_pss)
                servers[name].first_query_s = first
            finally:
                client.close()
        status, body, media_type = results["kg-service"]
        for name in mismatches:
            peer_status, peer_body, peer_type = results[name]
            if query_name in too_slow[name] or query_name in too_slow["kg-service"]:
                mismatches[name][query_name] = f"not answered within {timeout_s:g} s"
            elif status != 200 or peer_status != 200:
                mismatches[name][query_name] = f"status kg-service {status}, {name} {peer_status}"
            else:
                try:
                    how = differences(normalise_answer(body, media_type), normalise_answer(peer_body, peer_type))
                except (ValueError, SyntaxError, KeyError) as exc:
                    how = f"unreadable answer ({media_type} vs {peer_type}): {exc}"
                if how:
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


LABEL = 44  # width of the first column


def row(label: str, values: dict[str, float | None], names: list[str], peers: list[str], *, scale: float = 1,
        digits: int = 1) -> str:
    """One line of the ratio table: each server's figure, then kg-service / each peer."""
    shown = {n: None if values.get(n) is None else values[n] * scale for n in names}
    return (f"{label[:LABEL]:<{LABEL}}" + "".join(f"{fmt(shown[n], '', digits):>11}" for n in names)
            + "".join(f"{fmt(ratio(shown['kg-service'], shown[p]), 'x'):>11}" for p in peers))


def report(result: dict) -> str:
    """The ratio table: kg-service / peer for every measure (latency: lower is better for kg-service)."""
    names = [n for n in ("kg-service", *PEERS) if n in result["servers"]]
    peers = [n for n in names if n != "kg-service"]
    lines = [f"kg-service benchmark: size {result['size']} ({result['quads']:,} quads), {result['machine']}, "
             f"kg-service store: {result['kg_store']}, oxigraph store: "
             f"{'memory' if result.get('oxigraph_memory') else 'RocksDB'}, default graph: "
             f"{result.get('default_graph', '?')}, "
             + ("identical query texts (kg-service's result cache answers)" if result["cached"] else
                "every query text made unique (no result cache helps)"), ""]
    head = f"{'query (p50 ms)':<{LABEL}}" + "".join(f"{n[:10]:>11}" for n in names) + "".join(
        f"{'kg/' + p[:6]:>11}" for p in peers)
    lines += [head, "-" * len(head)]
    lat = result["latency"]
    for query in result["queries"]:
        lines.append(row(query, {n: lat[n][query]["p50"] for n in names}, names, peers, scale=1000))
    lines.append("")
    for label, key in (("p50 geo-mean ms (all answered)", "p50"), ("p95 geo-mean ms (all answered)", "p95")):
        lines.append(row(label, {n: result["geomean"][n][key] for n in names}, names, peers, scale=1000))
    for mix, per in result["throughput"].items():
        processes = result["settings"].get("client_processes", 1)
        lines.append(row(f"req/s '{mix}' ({result['settings']['clients']} clients, {processes} processes)",
                         {n: per.get(n, {}).get("requests_per_s") for n in names}, names, peers))
    for mix, per in result["throughput"].items():  # what each request cost the server, all its processes
        lines.append(row(f"server CPU ms per request '{mix}'",
                         {n: per.get(n, {}).get("cpu_ms_per_request") for n in names}, names, peers, digits=2))
    for label, key, scale in (("load s (data -> answering)", "load_s", 1),
                              ("start s (stored -> answering)", "start_s", 1),
                              ("first named query answered s (after start)", "first_query_s", 1),
                              ("peak RSS MB (summed)", "peak_rss", 1 / MB),
                              ("peak PSS MB (shared once)", "peak_pss", 1 / MB)):
        lines.append(row(label, {n: result["servers"][n].get(key) for n in names}, names, peers, scale=scale))
    if result.get("build_s") is not None:
        lines.append(f"{'kg-service build (seeds) s':<{LABEL}}{fmt(result['build_s']):>11}")
    lines.append("")
    for mix, per in result["throughput"].items():
        kg_rounds = per.get("kg-service", {}).get("rounds") or []
        for peer in peers:
            pairs = [a / b for a, b in zip(kg_rounds, per.get(peer, {}).get("rounds") or [], strict=False) if b]
            if len(pairs) > 1:
                lines.append(f"throughput '{mix}' kg/{peer} per round: " + ", ".join(f"{r:.2f}" for r in pairs))
        for name, figures in per.items():
            if figures.get("errors"):
                lines.append(f"throughput '{mix}': {name} answered {figures['errors']} requests with an error "
                             "(not counted)")
    for name, slow in result["timed_out"].items():
        if slow:
            lines.append(f"{name} did not answer within the time limit: {', '.join(slow)} (left out of the "
                         "geo-means and the throughput mix for every server)")
    if "rdflib-endpoint" in peers and result.get("default_graph", "").startswith("vocab"):
        lines.append("note: rdflib-endpoint's default graph is the union of every graph (its only mode), not the "
                     "served one (this data has a resolved layer), and it keeps xsd:nonNegativeInteger: its "
                     "differences below are expected")
    for peer, found in result["mismatches"].items():
        lines.append(f"results vs {peer}: " + ("all named queries agree" if not found else
                                                f"{len(found)} differ: " + "; ".join(
                                                    f"{q}: {how}" for q, how in sorted(found.items()))))
    interactive = result.get("interactive")
    if interactive:
        checked = interactive["checked"]
        for peer, found in interactive["mismatches"].items():
            lines.append(f"interactive results vs {peer}: " + (
                f"all {checked} sampled requests agree ({len(interactive['templates'])} templates)" if not found
                else f"{len(found)} of {checked} sampled requests differ: "
                + "; ".join(f"{q}: {how}" for q, how in sorted(found.items()))))
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
    """The issue's Done-means, each held (True), not held (False) or not measured by this run (None),
    with the figure whenever the run has one."""
    out: list[tuple[str, bool | None]] = []
    seeds, cached = result["size"] == "seeds", result["cached"]
    big_memory = (result["size"] == "20000" and result["kg_store"] == "memory"
                  and bool(result.get("oxigraph_memory")))
    where = (f"size {result['size']}, kg-service store {result['kg_store']}, oxigraph "
             f"{'memory' if result.get('oxigraph_memory') else 'RocksDB'}")

    def throughput_ratio(mix: str) -> float | None:
        per = result["throughput"].get(mix, {})
        return ratio(per.get("kg-service", {}).get("requests_per_s"), per.get("oxigraph", {}).get("requests_per_s"))

    def judged(text: str, value: float | None, applies: bool, why: str, *, at_least: float | None = None,
               at_most: float | None = None) -> None:
        figure = "not measured" if value is None else f"{value:.2f} x"
        if value is not None and not applies:
            figure += f"; n/a: {why}"
        held = None
        if value is not None and applies:
            held = value >= at_least if at_least is not None else value <= at_most
        out.append((f"{text} ({figure})", held))

    texts = ", repeated texts" if cached else ", unique texts"
    judged("seeds: 'all' mix throughput >= 0.8 x oxigraph, unique texts", throughput_ratio("all"),
           seeds and not cached, f"this run: {where}{texts}", at_least=0.8)
    judged("seeds: 'interactive' mix throughput >= 0.5 x oxigraph, unique texts", throughput_ratio("interactive"),
           seeds and not cached, f"this run: {where}{texts}", at_least=0.5)
    judged("seeds, --cached: 'all' mix throughput >= 1.5 x oxigraph", throughput_ratio("all"),
           seeds and cached, f"this run: {where}{texts}", at_least=1.5)
    # 20,000 articles in memory.
    servers = result["servers"]
    ours, theirs = servers.get("kg-service", {}), servers.get("oxigraph")
    big_why = f"the target is for size 20000, both in memory; this run: {where}"
    judged("20000 articles in memory: peak PSS <= 2 x oxigraph's",
           ratio(ours.get("peak_pss"), theirs["peak_pss"]) if theirs else None, big_memory, big_why, at_most=2)
    judged("20000 articles in memory: load <= 3 x oxigraph's time",
           ratio(ours.get("load_s"), theirs["load_s"]) if theirs else None, big_memory, big_why, at_most=3)
    lat = result["latency"]
    if "oxigraph" in lat:
        over = {q: ratio(lat["kg-service"][q]["p50"], lat["oxigraph"][q]["p50"]) for q in result["queries"]}
        slow = sorted((q for q, r in over.items() if r is None or r > 1.5), key=lambda q: -(over[q] or 1e9))
        worst = max((r for r in over.values() if r is not None), default=None)
        listed = slow if big_memory else slow[:3] + (["..."] if len(slow) > 3 else [])
        text = ("20000 articles in memory: every named query's p50 <= 1.5 x oxigraph's (worst "
                f"{fmt(worst, ' x')}; {len(slow)} of {len(over)} over" + (": " + ", ".join(
                    q if q == "..." else f"{q} {fmt(over[q], ' x')}" for q in listed) if slow else "") + ")")
        out.append((text + ("" if big_memory else f" [n/a: {big_why}]"), not slow if big_memory else None))
    else:
        out.append(("20000 articles in memory: every named query's p50 <= 1.5 x oxigraph's (not measured: no "
                    "oxigraph in this run)", None))
    first = ours.get("first_query_s")
    persistent = result["kg_store"] == "persistent"
    out.append(((f"persistent store: first named query ({result.get('first_query')}) answered < 2 s after a "
                 f"restart ({fmt(first, ' s')} at size {result['size']}" if first is not None else
                 "persistent store: first named query answered < 2 s after a restart (not measured")
                + ("" if persistent else "; not a restart: kg-service ran in memory") + ")",
                first < 2 if persistent and first is not None else None))
    return out


def _stop_on_sigterm(signum: int, _frame: object) -> None:
    raise SystemExit(128 + signum)  # so `finally` stops the servers


def interleaved_throughput(servers: dict[str, Server], requests: Requests, *, duration_s: float, rounds: int,
                           vary: bool, processes: int = CLIENT_PROCESSES) -> dict[str, dict]:
    """Each server's throughput over `duration_s` seconds, measured in `rounds` slices taken in turn (the
    order reversed every other round: A B, B A, ...), so a drift of the machine's speed during the run (on
    this machine, Oxigraph's own rate moved by 30 % between runs minutes apart) falls on every server alike
    instead of on whichever ran later. Requests, seconds and the server's CPU time (its whole process tree)
    are summed over the rounds; each round's rate is kept (`rounds`) to show the spread."""
    names = list(servers)
    totals = {name: {"requests": 0, "errors": 0, "seconds": 0.0, "cpu_s": 0.0, "rounds": []} for name in names}
    for index in range(rounds):
        for name in names if index % 2 == 0 else names[::-1]:
            cpu_before = servers[name].cpu_seconds()
            figures = throughput(servers[name].query_url, requests, clients=CLIENTS, duration_s=duration_s / rounds,
                                 vary=vary, processes=processes)
            total = totals[name]
            total["cpu_s"] += servers[name].cpu_seconds() - cpu_before
            total["requests"] += figures["requests"]
            total["errors"] += figures["errors"]
            total["seconds"] += figures["seconds"]
            total["rounds"].append(round(figures["requests_per_s"], 1))
    for total in totals.values():
        total["requests_per_s"] = total["requests"] / total["seconds"] if total["seconds"] else 0.0
        total["cpu_ms_per_request"] = total["cpu_s"] * 1000 / total["requests"] if total["requests"] else None
    return totals


def main() -> None:
    signal.signal(signal.SIGTERM, _stop_on_sigterm)
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", choices=list(SIZES), default="seeds")
    parser.add_argument("--duration", type=float, default=10.0, help="seconds of throughput per server")
    parser.add_argument("--rounds", type=int, default=15, help="latency rounds (each runs every query once)")
    parser.add_argument("--throughput-rounds", type=int, default=4,
                        help="slices each server's throughput time is cut into, the servers taking turns")
    parser.add_argument("--quick", action="store_true", help="3 rounds, 3 s of throughput: a smoke run")
    parser.add_argument("--client-processes", type=int, default=CLIENT_PROCESSES,
                        help="processes the throughput clients are spread over (default: one per core, at most 4)")
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
    parser.add_argument("--mix", default=",".join(MIXES),
                        help="comma-separated throughput mixes: 'all' (the named queries) and 'interactive' "
                             "(cheap lookups filled from the data); default both")
    parser.add_argument("--interactive-sample", type=int, default=8,
                        help="filled requests per interactive template checked for equal results")
    args = parser.parse_args()
    if args.quick:
        args.rounds, args.duration, args.throughput_rounds = 3, 3.0, 1
    chosen = [m for m in args.mix.split(",") if m]
    if not chosen or any(m not in MIXES for m in chosen):
        parser.error(f"--mix takes a comma-separated subset of {', '.join(MIXES)}")
    peers = args.peers.split(",") if args.peers else [p for p in PEERS if p != "rdflib-endpoint"
                                                      or SIZES[args.size] <= 1000]
    kg_store = args.kg_store or ("memory" if args.size == "seeds" else "persistent")
    work = RESULTS / "work"
    work.mkdir(parents=True, exist_ok=True)
    print(f"preparing the {args.size} dataset ...", flush=True)
    data, served_data, quads, resolved = prepare_data(args.size, RESULTS / "data")
    queries = named_query_texts()
    first_query = next(iter(queries))
    servers: dict[str, Server] = {}
    result: dict = {"size": args.size, "quads": quads, "kg_store": kg_store, "queries": list(queries),
                    "cached": args.cached, "oxigraph_memory": args.oxigraph_memory, "first_query": first_query,
                    "default_graph": "vocab.DEFAULT_GRAPHS (resolved layer)" if resolved else "union of named graphs",
                    "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}",
                    "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                    "settings": {"rounds": args.rounds, "duration_s": args.duration, "clients": CLIENTS,
                                 "client_processes": args.client_processes,
                                 "mixes": chosen}}
    try:
        starters = {"kg-service": lambda: start_kg_service(data, work, store=work / "kg-store"
                                                           if kg_store == "persistent" else None,
                                                           first_query=queries[first_query]),
                    "oxigraph": (lambda: start_oxigraph_memory(served_data, work)) if args.oxigraph_memory
                    else (lambda: start_oxigraph(served_data, work)),
                    "rdflib-endpoint": lambda: start_rdflib_endpoint(data, work)}
        for name in ("kg-service", *peers):
            print(f"starting {name} ...", flush=True)
            servers[name] = starters[name]()
        print(f"checking results (at most {args.query_timeout:g} s a query) ...", flush=True)
        result["mismatches"], too_slow = check_results(servers, starters, {q: (t, ACCEPT) for q, t in queries.items()},
                                                       timeout_s=args.query_timeout)
        result["timed_out"] = {n: sorted(q) for n, q in too_slow.items()}
        answered = {q: t for q, t in queries.items() if not any(q in slow for slow in too_slow.values())}
        result["throughput_queries"] = list(answered)
        pools = None
        if "interactive" in chosen:
            print("interactive mix: finding IRIs, checking a sample ...", flush=True)
            pools = mixes.discover(servers["kg-service"].query_url, timeout_s=args.query_timeout)
            sample = mixes.sample(pools, per_template=args.interactive_sample)
            found, _ = check_results(servers, starters, {label: (text, accept) for label, text, accept in sample},
                                     timeout_s=args.query_timeout)
            result["interactive"] = {"pools": pools.sizes(), "templates": mixes.usable(pools),
                                     "checked": len(sample), "mismatches": found}
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
        for mix in chosen:
            requests = cycle(list(answered.values())) if mix == "all" else mixes.requests(pools)
            print(f"throughput '{mix}': {', '.join(servers)}, {args.duration:g} s each in "
                  f"{args.throughput_rounds} interleaved rounds ...", flush=True)
            result["throughput"][mix] = interleaved_throughput(
                servers, requests,
                duration_s=args.duration, rounds=args.throughput_rounds, vary=not args.cached,
                processes=args.client_processes)
    finally:
        for server in servers.values():
            server.stop()
    result["servers"] = {n: {"load_s": s.load_s, "start_s": s.start_s, "first_query_s": s.first_query_s,
                             "peak_rss": s.peak_rss, "peak_pss": s.peak_pss}
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
