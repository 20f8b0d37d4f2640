"""What a Graph Store write costs, and what the Oxigraph/Fuseki URLs cost over /sparql, on a served dataset file.

A write is applied to a copy of the whole dataset (`web/update.change_copy`: requests meanwhile keep their
snapshot, a refused write leaves nothing behind), so its time grows with the dataset; this measures how much.
It starts ``kg-service serve --data CORPUS --allow-updates`` on a free port of 127.0.0.1 with a synthetic
corpus (`corpus.py`), then times, one client after the other, ``--repeat`` PUTs (create, then replace), POSTs
and DELETEs of a graph of ``--triples`` triples, and the same SELECT through /sparql, /query and /ds/query.
Prints p50 and max per operation. Bounded: ``--repeat`` requests per operation, ``--timeout`` seconds overall.

    python bench/gsp_write.py --articles 1000 --repeat 20
"""

from __future__ import annotations

import argparse
import http.client
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))

from corpus import write_corpus  # noqa: E402

SELECT = "SELECT ?e ?d WHERE { ?e a <https://w3id.org/kg-service/ontology#Meeting> ; " \
         "<https://w3id.org/kg-service/ontology#date> ?d } ORDER BY ?d LIMIT 20"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def timed(port: int, method: str, path: str, body: bytes | None = None,
          headers: dict[str, str] | None = None) -> tuple[int, float]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    started = time.perf_counter()
    try:
        connection.request(method, path, body=body, headers=headers or {})
        response = connection.getresponse()
        response.read()
        return response.status, (time.perf_counter() - started) * 1000
    finally:
        connection.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--articles", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--triples", type=int, default=100)
    parser.add_argument("--timeout", type=float, default=600)
    args = parser.parse_args()
    deadline = time.monotonic() + args.timeout
    with tempfile.TemporaryDirectory() as folder:
        data = Path(folder) / "corpus.nq"
        quads = write_corpus(args.articles, data)
        port = free_port()
        environ = {k: v for k, v in os.environ.items() if not k.startswith("KG_")} | {"KG_QUERY_WORKERS": "1"}
        started = time.perf_counter()
        server = subprocess.Popen([sys.executable, "-m", "kg_service.cli", "serve", "--port", str(port), "--data",
                                   str(data), "--allow-updates"], cwd=folder, env=environ,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            while True:
                try:
                    if timed(port, "GET", "/healthz")[0] == 200:
                        break
                except OSError:
                    pass
                if server.poll() is not None or time.monotonic() > deadline:
                    raise SystemExit("the server did not start")
                time.sleep(0.2)
            print(f"{quads} quads ({args.articles} synthetic articles); serve ready in "
                  f"{time.perf_counter() - started:.1f} s")
            body = b"".join(b"<http://ex/s%d> <http://ex/p> %d .\n" % (i, i) for i in range(args.triples))
            turtle = {"Content-Type": "text/turtle"}
            query = urllib.parse.urlencode({"query": SELECT})
            accept = {"Accept": "application/sparql-results+json"}
            operations = {
                "PUT (create)": lambda i: timed(port, "PUT", f"/store?graph=http%3A%2F%2Fex%2Fg{i}", body, turtle),
                "PUT (replace)": lambda i: timed(port, "PUT", f"/data?graph=http%3A%2F%2Fex%2Fg{i}", body, turtle),
                "POST (add)": lambda i: timed(port, "POST", f"/ds/data?graph=http%3A%2F%2Fex%2Fg{i}", body, turtle),
                "DELETE": lambda i: timed(port, "DELETE", f"/data?graph=http%3A%2F%2Fex%2Fg{i}"),
                "GET /sparql": lambda i: timed(port, "GET", f"/sparql?{query}", headers=accept),
                "GET /query": lambda i: timed(port, "GET", f"/query?{query}", headers=accept),
                "GET /ds/query": lambda i: timed(port, "GET", f"/ds/query?{query}", headers=accept),
            }
            print(f"{'operation':<16}{'status':>8}{'p50 ms':>10}{'max ms':>10}")
            for name, operation in operations.items():
                results = []
                for i in range(args.repeat):
                    if time.monotonic() > deadline:
                        raise SystemExit("out of time")
                    results.append(operation(i))
                statuses = ",".join(sorted({str(status) for status, _ in results}))
                times = [ms for _, ms in results]
                print(f"{name:<16}{statuses:>8}{statistics.median(times):>10.1f}{max(times):>10.1f}")
        finally:
            server.terminate()
            server.wait(timeout=30)


if __name__ == "__main__":
    main()
