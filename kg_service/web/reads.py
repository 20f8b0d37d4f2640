"""Large reads (Graph Store reads, dumps) from files written once per dataset version, in a canonical order.

A whole graph or dataset is never held in the web process as bytes: the first request for a (version,
graph, format) writes it to a file in the app's read folder and every later one streams that file
(``wsgi.file_wrapper``), so memory stays flat however many clients read at once. The file is written
in a canonical order: N-Quads/N-Triples lines sorted bytewise (with GNU ``sort``, in bounded memory),
and every other format serialised from those sorted statements; two servers on the same data therefore
send the same bytes, and the ETag is the hash of those bytes (the same bytes, the same ETag).
``Last-Modified`` is when the data last changed: the newest input file, or the last add or update.

How many large reads run at once is bounded overall and per client address; beyond that a client gets
503 ``busy`` with ``Retry-After`` (`errors.Busy`) instead of a queue that grows without limit.
"""

from __future__ import annotations

import gzip
import hashlib
import os
import shutil
import subprocess
import tempfile
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import pyoxigraph as ox

from ..errors import Busy, Location, NotFound
from ..formats import DATASET, Format, find_format
from ..store import KnowledgeGraph
from ..vocab import PREFIXES
from .slots import Slots

MAX_READS = 4  # large reads streaming at once, from all clients
MAX_READS_PER_CLIENT = 2
RETRY_AFTER_S = 5
SORT_MEMORY = "64M"  # GNU sort's buffer: the canonical order is found in bounded memory


@dataclass(frozen=True)
class ReadFile:
    path: Path
    etag: str  # the hash of the file's bytes
    size: int


class ReadFiles:
    """The read files of one app: written once per key, then only streamed; old versions dropped."""

    def __init__(self, folder: Path | None = None):
        self.folder = folder or Path(tempfile.mkdtemp(prefix="kg-service-reads-"))
        self._files: dict[tuple[str, ...], ReadFile] = {}
        self._locks: dict[tuple[str, ...], threading.Lock] = {}
        self._lock = threading.Lock()
        self._active: Counter[str] = Counter()  # per client, in this process
        self._slots = Slots(MAX_READS)  # in all: shared by the front processes

    def file(self, kg: KnowledgeGraph, graph: str | None, fmt: Format, *, gzipped: bool = False) -> ReadFile:
        """The file of `graph` (None: the default graph as served; "*": the whole dataset) in `fmt`."""
        key = (kg.version, graph or "", fmt.name, "gz" if gzipped else "")
        with self._lock:
            known = self._files.get(key)
            if known is not None:
                return known
            lock = self._locks.setdefault(key, threading.Lock())
        with lock:  # one writer per key; the others wait for its file
            if key in self._files:
                return self._files[key]
            if gzipped:
                source = self.file(kg, graph, fmt).path
                written = self._write(key, lambda out: _gzip(source, out))
            else:
                lines = self.file(kg, graph, _LINE_FORMAT[fmt.kind == DATASET]).path if fmt not in _LINES \
                    else None
                written = self._write(key, lambda out: _serialise(kg, graph, fmt, lines, out))
            with self._lock:
                self._drop_other_versions(kg.version)
                self._files[key] = written
            return written

    def _write(self, key: tuple[str, ...], write) -> ReadFile:  # noqa: ANN001 - Callable[[Path], None]
        digest = hashlib.sha256(repr(key).encode()).hexdigest()[:24]
        final = self.folder / digest
        partial = self.folder / f"{digest}.{os.getpid()}.part"  # front processes may write the same file at once
        write(partial)
        sha, size = hashlib.sha256(), 0
        with partial.open("rb") as data:
            while chunk := data.read(1 << 20):
                sha.update(chunk)
                size += len(chunk)
        partial.replace(final)
        return ReadFile(final, sha.hexdigest()[:32], size)

    def _drop_other_versions(self, version: str) -> None:
        for key in [k for k in self._files if k[0] != version]:
            self._files.pop(key).path.unlink(missing_ok=True)
            self._locks.pop(key, None)

    def admit(self, client: str) -> int:
        """Count one more large read from `client`, or raise errors.Busy (503); returns the token to give
        `release` when the read is done."""
        with self._lock:
            token = self._slots.take() if self._active[client] < MAX_READS_PER_CLIENT else None
            if token is None:
                raise Busy(f"too many large reads at once (at most {MAX_READS}, {MAX_READS_PER_CLIENT} per "
                           f"client); try again in {RETRY_AFTER_S} s", retry_after=RETRY_AFTER_S)
            self._active[client] += 1
            return token

    def release(self, client: str, token: int) -> None:
        with self._lock:
            self._active[client] -= 1
            if self._active[client] <= 0:
                del self._active[client]
            self._slots.give_back(token)

    def close(self) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)


class stream:  # noqa: N801 - used as a function returning a WSGI iterable
    """A file as a WSGI iterable in chunks; `done` runs once when the server closes it (a finished, failed
    or dropped response, or a HEAD that never reads it) or when it is garbage-collected unclosed."""

    def __init__(self, data: BinaryIO, done: Callable[[], None], chunk: int = 1 << 16):
        # Opened by the caller before the response leaves the view: a newer version may delete the file
        # meanwhile (`_drop_other_versions`), and an open file stays readable after its name is gone.
        self.data, self.chunk, self._done = data, chunk, done
        self._finished = False

    def __iter__(self) -> Iterator[bytes]:
        try:
            while block := self.data.read(self.chunk):
                yield block
        finally:
            self.close()

    def close(self) -> None:
        if not self._finished:
            self._finished = True
            self.data.close()
            self._done()

    def __del__(self) -> None:
        self.close()


_NQ = ox.RdfFormat.N_QUADS


def _statements(kg: KnowledgeGraph, graph: str | None) -> Iterator[ox.Quad] | Iterator[ox.Triple]:
    """The statements of a read, unordered: quads of the dataset ("*"), or triples of one graph."""
    if graph == "*":
        return iter(kg.quads)
    if graph is not None:
        name = ox.NamedNode(graph)
        if not any(True for _ in kg.quads.quads_for_graph_name(name)):
            raise NotFound(f"no graph named <{graph}>", Location(field="graph"))
        return (q.triple for q in kg.quads.quads_for_graph_name(name))
    if not kg.union_default_graph:
        return (q.triple for q in kg.quads.quads_for_graph_name(ox.DefaultGraph()))
    return (q.triple for q in kg.quads)  # the union: duplicates go in the sort


def _serialise(kg: KnowledgeGraph, graph: str | None, fmt: Format, lines: Path | None, out: Path) -> None:
    """Write the canonical file: sorted, unique lines for N-Quads/N-Triples; any other format from those."""
    if lines is not None:
        with out.open("wb") as output:
            ox.serialize(ox.parse(path=lines, format=_LINES_OX[fmt.kind == DATASET]), output, format=fmt.rdf,
                         prefixes=PREFIXES)
        return
    unsorted = out.with_suffix(".unsorted")
    with unsorted.open("wb") as output:
        ox.serialize(_statements(kg, graph), output, format=fmt.rdf)
    try:
        subprocess.run(["sort", "-u", "-S", SORT_MEMORY, "-T", str(out.parent), "-o", str(out), str(unsorted)],
                       check=True, env={**os.environ, "LC_ALL": "C"}, capture_output=True)
    finally:
        unsorted.unlink(missing_ok=True)


def _gzip(source: Path, out: Path) -> None:
    with source.open("rb") as data, out.open("wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", mtime=0) as zipped:
        shutil.copyfileobj(data, zipped, 1 << 20)


def _table_format(name: str) -> Format:
    fmt = find_format(name)
    assert fmt is not None, name
    return fmt


_LINE_FORMAT = {True: _table_format("nq"), False: _table_format("nt")}  # for a dataset, for a graph
_LINES = set(_LINE_FORMAT.values())
_LINES_OX = {True: _NQ, False: ox.RdfFormat.N_TRIPLES}


def input_mtime(kg: KnowledgeGraph, seeds_dir: Path) -> float | None:
    """When the inputs of the served data last changed: the data file, or the newest seed file."""
    if kg.data_file is not None:
        return _mtime(kg.data_file)
    if kg.remote is not None:
        return None
    times = [t for p in seeds_dir.glob("*") if p.suffix in (".yaml", ".txt") and (t := _mtime(p)) is not None]
    return max(times, default=None)


def _mtime(path: Path) -> float | None:
    try:
        return path.stat().st_mtime
    except OSError:
        return None
