"""Remote stores for tests and bench: a private Virtuoso 7 (Debian's `virtuoso-opensource`) and Oxigraph's
server, each on free ports of 127.0.0.1.

Oxigraph's server is the `oxigraph` binary pyoxigraph's test extra installs beside the interpreter.

Everything lives in a folder of its own: the ini written here (copied from the settings of Debian's
/etc/virtuoso-opensource-7/virtuoso.ini that matter, with both ports bound to 127.0.0.1 and every
file in the folder), the database, its log and an HTTP request log (`http<date>.log`, one line per
request: what tests count PUTs with). The instance keeps its factory account dba/dba, which only this instance
on 127.0.0.1 uses; writes go to the Graph Store endpoint that takes digest authentication.
Each server is stopped by the id of the process started here.
"""

from __future__ import annotations

import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

BINARY = "virtuoso-t"
READY_TIMEOUT_S = 60.0
INI = """\
[Database]
DatabaseFile       = {dir}/virtuoso.db
ErrorLogFile       = {dir}/virtuoso.log
LockFile           = {dir}/virtuoso.lck
TransactionFile    = {dir}/virtuoso.trx
xa_persistent_file = {dir}/virtuoso.pxa
ErrorLogLevel      = 7
FileExtend         = 200
MaxCheckpointRemap = 2000
Striping           = 0
TempStorage        = TempDatabase

[TempDatabase]
DatabaseFile       = {dir}/virtuoso-temp.db
TransactionFile    = {dir}/virtuoso-temp.trx
MaxCheckpointRemap = 2000
Striping           = 0

[Parameters]
ServerPort           = 127.0.0.1:{sql_port}
DisableUnixSocket    = 1
DisableTcpSocket     = 0
MaxClientConnections = 10
CheckpointInterval   = 60
CaseMode             = 2
DirsAllowed          = {dir}
AllowOSCalls         = 0
ThreadsPerQuery      = 2
NumberOfBuffers      = {buffers}
MaxDirtyBuffers      = {dirty_buffers}

[HTTPServer]
ServerPort           = 127.0.0.1:{http_port}
ServerRoot           = /var/lib/virtuoso-opensource-7/vsp
MaxClientConnections = 10
ServerThreads        = 10
EnabledDavVSP        = 0
HTTPProxyEnabled     = 0
Charset              = UTF-8
HTTPLogFile          = {dir}/http.log

[SPARQL]
ResultSetMaxRows           = {max_rows}
MaxQueryCostEstimationTime = 0
MaxQueryExecutionTime      = {max_seconds}
"""


@dataclass(frozen=True)
class Virtuoso:
    """A running private instance: its HTTP base URL, its folder, and the store URL kg-service takes."""

    base: str
    folder: Path
    process: subprocess.Popen

    @property
    def store_url(self) -> str:
        """``--store`` for kg-service: the engine named, dba's credentials for the authenticated GSP."""
        return "virtuoso+" + self.base.replace("://", "://dba:dba@", 1)

    def requests(self, method: str) -> list[str]:
        """The lines of the HTTP log for the `method` requests Virtuoso carried out so far (2xx; it writes each
        request as it ends). A write it lost in a deadlock (500, SQL state 40001) did nothing and is sent
        again by the pusher (`remote_http.send_write`), so it is not one of them."""
        lines = []
        for log in sorted(self.folder.glob("http*.log")):  # Virtuoso puts the date in the name: http06122026.log
            lines += [line for line in log.read_text(encoding="utf-8", errors="replace").splitlines()
                      if f'"{method} ' in line and re.search(r'HTTP/1\.[01]" 2\d\d ', line)]
        return lines


def binary() -> str | None:
    return shutil.which(BINARY)


def oxigraph_binary() -> str | None:
    beside = Path(sys.executable).parent / "oxigraph"
    return str(beside) if beside.exists() else shutil.which("oxigraph")


@contextmanager
def running_oxigraph(folder: Path) -> Iterator[str]:
    """A real ``oxigraph serve`` on a free port of 127.0.0.1, ready within READY_TIMEOUT_S, always stopped;
    yields its base URL."""
    exe = oxigraph_binary()
    if exe is None:
        raise FileNotFoundError("the oxigraph server binary is not installed (pip install '.[test]')")
    folder.mkdir(parents=True, exist_ok=True)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    with (folder / "server.log").open("wb") as out:
        process = subprocess.Popen([exe, "serve", "--location", str(folder / "db"), "--bind", f"127.0.0.1:{port}"],
                                   stdout=out, stderr=subprocess.STDOUT)
    try:
        _wait_ready(url + "/query", process, folder / "server.log")
        yield url
    finally:
        _stop(process)


def _stop(process: subprocess.Popen) -> None:
    process.terminate()  # Virtuoso checkpoints and exits on SIGTERM
    try:
        process.wait(timeout=60)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=10)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def running_virtuoso(folder: Path, *, max_rows: int = 100_001, max_seconds: int = 30,
                     buffers: int = 10_000) -> Iterator[Virtuoso]:
    """A fresh instance in `folder` (its database created there), ready within READY_TIMEOUT_S, always
    stopped. `max_rows`/`max_seconds` are the engine's own limits (ResultSetMaxRows,
    MaxQueryExecutionTime); `buffers` its page cache (8 KB pages; Debian's ini suggests 85,000 per
    GB of memory to give it)."""
    exe = binary()
    if exe is None:
        raise FileNotFoundError("virtuoso-t is not installed (apt-get install virtuoso-opensource)")
    folder.mkdir(parents=True, exist_ok=True)
    http_port, sql_port = free_port(), free_port()
    (folder / "virtuoso.ini").write_text(INI.format(dir=folder, sql_port=sql_port, http_port=http_port,
                                                    max_rows=max_rows, max_seconds=max_seconds, buffers=buffers,
                                                    dirty_buffers=buffers * 3 // 4), encoding="utf-8")
    base = f"http://127.0.0.1:{http_port}"
    with (folder / "stdout.log").open("wb") as out:
        # -f: stay in the foreground, so the process started here is the server and stopping it stops it
        process = subprocess.Popen([exe, "-f", "-c", "virtuoso.ini"], cwd=folder, stdout=out,
                                   stderr=subprocess.STDOUT)
    try:
        _wait_ready(base + "/sparql", process, folder / "virtuoso.log")
        yield Virtuoso(base, folder, process)
    finally:
        _stop(process)


def _wait_ready(query_url: str, process: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + READY_TIMEOUT_S
    url = query_url + "?" + urllib.parse.urlencode({"query": "ASK {}"})
    while True:
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                tail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
                raise RuntimeError(f"{process.args[0]} did not start: {tail}") from None
            time.sleep(0.2)
