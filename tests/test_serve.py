"""`kg-service serve` as a real process: SIGINT and SIGTERM stop it and its query processes promptly, also
while a runaway query runs; the seeds it serves are built and validated once."""

from __future__ import annotations

import http.client
import re
import signal
import subprocess
import sys
import threading
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

ROOT = Path(__file__).resolve().parent.parent
RUNAWAY = "SELECT (COUNT(*) AS ?n) { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i . ?j ?k ?l }"
STOPPED_WITHIN_S = 5.0  # "it ended" bound on a shared machine; the time it takes is measured in bench/


def _start(tmp_path: Path, *args: str) -> tuple[subprocess.Popen[str], str]:
    with (tmp_path / "serve.log").open("w") as log:  # the child keeps its own copy of the descriptor
        proc = subprocess.Popen([sys.executable, "-m", "kg_service.cli", "serve", "--port", "0", *args], cwd=ROOT,
                                stdout=log, stderr=subprocess.STDOUT, text=True,
                                env={"PATH": "/usr/bin:/bin", "KG_QUERY_TIMEOUT_S": "30"})
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None:
        found = re.search(r"serving \d+ quads \(.*\) at (http://\S+)/sparql", (tmp_path / "serve.log").read_text())
        if found:
            return proc, found.group(1)
        time.sleep(0.2)
    proc.kill()
    raise AssertionError("serve did not start:\n" + (tmp_path / "serve.log").read_text())


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[subprocess.Popen[str], str]]:
    proc, url = _start(tmp_path)
    yield proc, url
    if proc.poll() is None:
        proc.kill()
        proc.wait(10)


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_a_signal_stops_serve_and_its_workers_even_during_a_runaway_query(served, sig: signal.Signals) -> None:  # noqa: ANN001
    proc, url = served
    with urllib.request.urlopen(url + "/healthz", timeout=30) as response:
        assert response.status == 200
    statuses: list[object] = []

    def runaway() -> None:
        connection = http.client.HTTPConnection(urllib.parse.urlsplit(url).netloc, timeout=60)
        try:
            connection.request("GET", "/sparql?" + urllib.parse.urlencode({"query": RUNAWAY}))
            statuses.append(connection.getresponse().status)
        except (OSError, http.client.HTTPException) as exc:
            statuses.append(exc)
        finally:
            connection.close()

    thread = threading.Thread(target=runaway, daemon=True)
    thread.start()
    family = psutil.Process(proc.pid).children(recursive=True)
    deadline = time.monotonic() + 30  # the runaway is on a worker: a forked worker appears
    while len(family) < 2 and time.monotonic() < deadline:
        time.sleep(0.1)
        family = psutil.Process(proc.pid).children(recursive=True)
    assert family, "serve runs its queries in worker processes"
    proc.send_signal(sig)
    assert proc.wait(STOPPED_WITHIN_S) == 0
    gone, alive = psutil.wait_procs(family, timeout=STOPPED_WITHIN_S)
    assert not alive, f"left running: {alive}"
    thread.join(30)
    assert statuses and statuses[0] != 200


def test_serve_refuses_seeds_that_do_not_conform(tmp_path: Path) -> None:
    """serve runs the pipeline of `kg-service build`: a build with a SHACL violation is not served."""
    import shutil

    seeds = tmp_path / "seeds"
    shutil.copytree(ROOT / "seeds", seeds)
    mapping = sorted(seeds.glob("*.yaml"))[0]
    text = mapping.read_text(encoding="utf-8")
    broken = re.sub(r"^(\s*)date:.*$", r"\1date: not-a-date", text, count=1, flags=re.MULTILINE)
    assert broken != text
    mapping.write_text(broken, encoding="utf-8")
    result = subprocess.run([sys.executable, "-m", "kg_service.cli", "serve", "--port", "0"], cwd=ROOT,
                            capture_output=True, text=True, timeout=120,
                            env={"PATH": "/usr/bin:/bin", "KG_SEEDS_DIR": str(seeds)})
    assert result.returncode != 0
    assert mapping.name in result.stdout + result.stderr, result.stdout + result.stderr
