"""Find, by running the engine itself, the size at which each query shape crashes pyoxigraph.

Oxigraph's parser, optimiser and evaluator recurse; some shapes a bracket counter never sees (object
lists, predicate lists, BIND chains, long paths) overflow the stack and kill the process with SIGSEGV.
Each shape below is a generator ``size -> text``; `probe` runs one text in a fresh subprocess (so a crash
costs nothing here) as a query and, wrapped in an update's WHERE, as an update, in the main thread and in
a thread of the default stack size (a WSGI server's request threads). `find_limit` doubles the size
until the engine crashes or the size cap is reached, then bisects. The guard's limits
(`kg_service.bounds`) are set well below the crash sizes this finds; ``tests/test_guard.py`` checks each
shape at and above its limit through the guard and the real endpoint.

Run: ``.venv/bin/python tests/guard_fuzz.py [SHAPE ...] [--cap 200000]`` (bounded: at most ~20 probes
of at most 5 s per shape and mode).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from collections.abc import Callable

PREFIX = "PREFIX p: <http://example.org/> "

# Each shape: a WHERE-body (group graph pattern contents) of the given size, or a full query text.
BODIES: dict[str, Callable[[int], str]] = {
    "object-list": lambda n: "?s p:p " + ", ".join(["?o"] * n),
    "predicate-list": lambda n: "?s " + " ; ".join(["p:p ?o"] * n),
    "triple-patterns": lambda n: " . ".join(["?s p:p ?o"] * n),
    "bind-chain": lambda n: "BIND(1 AS ?v0) " + " ".join(f"BIND(?v{i} AS ?v{i + 1})" for i in range(n)),
    "optional-sequence": lambda n: "?s p:p ?o " + " ".join(["OPTIONAL { ?s p:p ?o }"] * n),
    "union-chain": lambda n: " UNION ".join(["{ ?s p:p ?o }"] * n),
    "minus-sequence": lambda n: "?s p:p ?o " + " ".join(["MINUS { ?s p:q ?o }"] * n),
    "filter-sequence": lambda n: "?s p:p ?o " + " ".join(["FILTER(?o)"] * n),
    "group-sequence": lambda n: " ".join(["{ ?s p:p ?o }"] * n),
    "nested-optional": lambda n: "?s p:p ?o " + "OPTIONAL { ?s p:p ?o " * n + "}" * n,
    "nested-group": lambda n: "{ " * n + "?s p:p ?o" + " }" * n,
    "nested-subselect": lambda n: "{ SELECT * WHERE " * n + "{ ?s p:p ?o }" + " }" * n,
    "path-sequence": lambda n: "?s " + "/".join(["p:p"] * n) + " ?o",
    "path-alternative": lambda n: "?s " + "|".join(["p:p"] * n) + " ?o",
    "path-inverse": lambda n: "?s " + "^" * n + "p:p ?o",
    "path-nested": lambda n: "?s " + "(" * n + "p:p" + ")*" * n + " ?o",
    "in-list": lambda n: "?s p:p ?o FILTER(?o IN (" + ", ".join(str(i) for i in range(n)) + "))",
    "values-rows": lambda n: "VALUES ?o { " + " ".join(str(i) for i in range(n)) + " }",
    "long-literal": lambda n: '?s p:p "' + "a" * n + '"',
    "function-nesting": lambda n: "BIND(" + "STR(" * n + "1" + ")" * n + " AS ?x)",
    "concat-args": lambda n: "BIND(CONCAT(" + ", ".join(['"a"'] * n) + ") AS ?x)",
    "or-chain": lambda n: "FILTER(" + " || ".join(["?o"] * n) + ")",
    "plus-chain": lambda n: "BIND(" + " + ".join(["1"] * n) + " AS ?x)",
    "not-chain": lambda n: "FILTER(" + "!" * n + "?o)",
    "unary-minus-chain": lambda n: "BIND(" + "- " * n + "1 AS ?x)",
    "collection": lambda n: "?s p:p (" + " ".join(["?o"] * n) + ")",
    "nested-collection": lambda n: "?s p:p " + "(" * n + "?o" + ")" * n,
    "blank-node-nesting": lambda n: "?s p:p " + "[ p:p " * n + "?o" + " ]" * n,
    "exists-nesting": lambda n: "FILTER EXISTS { " * n + "?s p:p ?o" + " }" * n,
    "graph-nesting": lambda n: "GRAPH ?g { " * n + "?s p:p ?o" + " }" * n,
}

QUERIES: dict[str, Callable[[int], str]] = {
    "select-variables": lambda n: PREFIX + "SELECT " + " ".join(f"?v{i}" for i in range(n)) + " { ?s p:p ?o }",
    "order-by-keys": lambda n: PREFIX + "SELECT * { ?s p:p ?o } ORDER BY " + " ".join(["?o"] * n),
    "group-by-keys": lambda n: PREFIX + "SELECT ?o { ?s p:p ?o } GROUP BY " + " ".join(["?o"] * n),
    "prefix-declarations": lambda n: "".join(f"PREFIX p{i}: <http://e/{i}> " for i in range(n))
    + "ASK {}",
    "construct-template": lambda n: PREFIX + "CONSTRUCT { " + " . ".join(["?s p:p ?o"] * n) + " } WHERE { ?s p:p ?o }",
    "aggregate-count": lambda n: PREFIX + "SELECT " + " ".join(f"(COUNT(?o) AS ?c{i})" for i in range(n))
    + " { ?s p:p ?o }",
}

UPDATES: dict[str, Callable[[int], str]] = {
    "update-operations": lambda n: PREFIX + " ; ".join(["INSERT DATA { p:s p:p p:o }"] * n),
    "insert-data-triples": lambda n: PREFIX + "INSERT DATA { " + " . ".join(
        f"p:s p:p {i}" for i in range(n)) + " }",
}


def query_text(shape: str, n: int) -> str:
    if shape in QUERIES:
        return QUERIES[shape](n)
    return PREFIX + "SELECT * WHERE { " + BODIES[shape](n) + " }"


def update_text(shape: str, n: int) -> str:
    if shape in UPDATES:
        return UPDATES[shape](n)
    return PREFIX + "DELETE { ?s p:p ?o } WHERE { " + BODIES[shape](n) + " }"


# The child: one text from stdin, one engine call, in the main thread or a default-sized thread.
CHILD = r"""
import sys, threading
import pyoxigraph as ox
mode, thread = sys.argv[1], sys.argv[2] == "thread"
text = sys.stdin.read()
store = ox.Store()
ex = "http://example.org/"
store.add(ox.Quad(ox.NamedNode(ex + "s"), ox.NamedNode(ex + "p"), ox.Literal("1"), ox.DefaultGraph()))
def run():
    try:
        if mode == "update":
            store.update(text)
        else:
            result = store.query(text)
            if not isinstance(result, bool):
                for _ in zip(range(100), result):
                    pass
    except (SyntaxError, ValueError, OSError, RuntimeError):
        pass  # an engine error is an answer, not a crash
if thread:
    t = threading.Thread(target=run); t.start(); t.join()
else:
    run()
"""


def probe(text: str, mode: str, thread: bool, timeout_s: float = 5.0) -> str:
    """'ok', 'crash' (killed by a signal) or 'slow' (over `timeout_s`) for one text in a fresh process."""
    try:
        done = subprocess.run([sys.executable, "-c", CHILD, mode, "thread" if thread else "main"],
                              input=text.encode(), capture_output=True, timeout=timeout_s, check=False)
    except subprocess.TimeoutExpired:
        return "slow"
    return "crash" if done.returncode < 0 else "ok"


def find_limit(make: Callable[[int], str], mode: str, thread: bool, cap: int) -> tuple[int | None, str]:
    """The smallest size found to crash or stall (None if none up to `cap`), with what happened."""
    good, n = 0, 16
    while n <= cap:
        outcome = probe(make(n), mode, thread)
        if outcome != "ok":
            bad, what = n, outcome
            break
        good, n = n, n * 2
    else:
        return None, "ok"
    for _ in range(6):  # bisect to within a few percent of the range
        if bad - good <= max(1, good // 64):
            break
        mid = (good + bad) // 2
        outcome = probe(make(mid), mode, thread)
        if outcome == "ok":
            good = mid
        else:
            bad, what = mid, outcome
    return bad, what


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("shapes", nargs="*", help="shapes to probe (all by default)")
    parser.add_argument("--cap", type=int, default=200_000, help="largest size tried")
    parser.add_argument("--modes", default="query,update")
    parser.add_argument("--thread", action="store_true", help="run in a default-sized thread, not the main one")
    args = parser.parse_args()
    names = args.shapes or [*BODIES, *QUERIES, *UPDATES]
    for name in names:
        for mode in args.modes.split(","):
            if (mode == "query" and name in UPDATES) or (mode == "update" and name in QUERIES):
                continue
            make = (lambda n, s=name: query_text(s, n)) if mode == "query" else (lambda n, s=name: update_text(s, n))
            start = time.monotonic()
            size, what = find_limit(make, mode, args.thread, args.cap)
            print(f"{name:22} {mode:6} {'thread' if args.thread else 'main':6} "
                  f"{'-' if size is None else size:>8} {what:5} {time.monotonic() - start:6.1f}s", flush=True)


if __name__ == "__main__":
    main()
