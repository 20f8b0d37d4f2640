"""One query job and how it is run and written: the same in a worker process, in a front process and in
the CLI.

`execute` runs a `Job` on a loaded store and serialises its result (SELECT results written by the
engine itself, with the row and byte caps applied); `run_remote` forwards one to a remote store and
writes its answer as the embedded store's would be; `handle` is a worker's whole job (a query, or an
update applied to its own copy of the store). Kept apart from the pool that decides *where* a job
runs (`workers`, `local`), so each runner calls the one implementation.
"""

from __future__ import annotations

import functools
import io
import time
from collections.abc import Iterable
from dataclasses import dataclass
from itertools import islice

import pyoxigraph as ox

from ..errors import QueryError, RemoteUnavailable, ResultTooLarge
from ..formats import Format, find_format, written
from ..query_text import inline_bindings, with_base
from ..remote import N_TRIPLES, RESULTS_JSON, RemoteStore, send_query
from ..store import KnowledgeGraph
from ..update import apply_update
from ..vocab import PREFIXES
from .solutions import WRITERS, count_rows


@dataclass(frozen=True)
class Job:
    """One query to run: text, dataset options, format name to write and the row cap; whether two runs may
    differ (NOW, RAND, ...) when the guard has told already (None: not known, the result cache looks)."""

    text: str
    fmt: str
    max_rows: int
    default_graphs: tuple[str, ...] = ()
    named_graphs: tuple[str, ...] = ()
    bindings: tuple[tuple[str, ox.NamedNode | ox.Literal], ...] = ()
    base_iri: str | None = None
    volatile: bool | None = None


@dataclass(frozen=True)
class Answer:
    body: bytes
    kind: str  # bindings, boolean or triples
    rows: int
    truncated: bool
    seconds: float = 0.0


def execute(store: ox.Store, job: Job, max_bytes: int = 0) -> Answer:
    """Run `job` on `store` and serialise at most `job.max_rows` rows (triples for a graph).

    SELECT results are written by the engine (bounded by `max_bytes`, 0: unbounded) and their rows
    counted; only a result over either cap runs again, to be read row by row up to the cap."""
    started = time.monotonic()
    kg = _graph_of(store)

    def run() -> ox.QuerySolutions | ox.QueryBoolean | ox.QueryTriples:
        return kg.query(job.text, default_graphs=job.default_graphs, named_graphs=job.named_graphs,
                        bindings=dict(job.bindings) or None, base_iri=job.base_iri)

    raw = run()
    fmt = _job_format(job)
    if isinstance(raw, ox.QuerySolutions) and fmt.name in WRITERS:
        body = _engine_written(raw, fmt, max_bytes)
        if body is not None:
            rows = count_rows(body, fmt.name)
            if rows <= job.max_rows:
                return Answer(body, "bindings", rows, False, time.monotonic() - started)
        raw = run()
    return _serialise(raw, job, started)


@functools.lru_cache(maxsize=1)
def _graph_of(store: ox.Store) -> KnowledgeGraph:
    """The store as a `KnowledgeGraph`, made once per store (~25 us a query otherwise): a front or worker
    queries one store for its life, and one entry keeps no replaced store alive for long. The store
    already holds the default graph as served (the union, when so set)."""
    return KnowledgeGraph(store, union_default_graph=False, version="")


class _Full(Exception):
    """The engine's output passed the byte cap."""


class _CappedOutput(io.BytesIO):
    """A binary output that refuses to grow past `cap` bytes (0: no cap)."""

    def __init__(self, cap: int):
        super().__init__()
        self.cap = cap

    def write(self, data: bytes) -> int:  # type: ignore[override]  # the engine writes bytes only
        if self.cap and self.tell() + len(data) > self.cap:
            raise _Full
        return super().write(data)


def _engine_written(raw: ox.QuerySolutions, fmt: Format, max_bytes: int) -> bytes | None:
    """The whole result as the engine writes it, or None when it is larger than `max_bytes`."""
    output = _CappedOutput(max_bytes)
    try:
        raw.serialize(output, format=fmt.results)
    except _Full:
        return None
    return output.getvalue()


def run_remote(remote: RemoteStore, job: Job, *, timeout_s: float) -> Answer:
    """Forward `job` to the remote store and write its answer as the embedded store's would be.

    The time limit bounds each wait on the remote (connecting, and every read of the answer), and the
    row cap stops reading early; a query the remote goes on running after we gave up is its to stop
    (Oxigraph's `serve --timeout-s`, Fuseki's own timeout)."""
    started = time.monotonic()
    text = inline_bindings(job.text, dict(job.bindings))
    text = with_base(text, job.base_iri)
    with send_query(remote, text, timeout_s=timeout_s, default_graphs=job.default_graphs,
                    named_graphs=job.named_graphs) as response:
        media_type = response.headers.get_content_type()
        try:
            if media_type == RESULTS_JSON:
                return _serialise(ox.parse_query_results(response, ox.QueryResultsFormat.JSON), job, started)
            if media_type == N_TRIPLES:
                triples = (q.triple for q in ox.parse(response, format=ox.RdfFormat.N_TRIPLES))
                return _serialise_triples(triples, job, started)
        except SyntaxError as exc:
            raise RemoteUnavailable(f"the remote store sent malformed results: {exc}") from None
    raise RemoteUnavailable(f"the remote store answered in {media_type}, not SPARQL JSON or N-Triples")


def _job_format(job: Job) -> Format:
    fmt = find_format(job.fmt)
    assert fmt is not None, f"unknown format {job.fmt!r}"  # the web layer negotiated it from the table
    return fmt


def _serialise(raw: ox.QuerySolutions | ox.QueryBoolean | ox.QueryTriples, job: Job, started: float) -> Answer:
    fmt = _job_format(job)
    if isinstance(raw, ox.QueryBoolean):
        if fmt.name not in WRITERS:
            raise QueryError(f"an ASK result cannot be written as {fmt.label}")
        return Answer(written(raw.serialize(format=fmt.results)), "boolean", 1, False, time.monotonic() - started)
    if isinstance(raw, ox.QueryTriples):
        return _serialise_triples(raw, job, started)
    if fmt.name not in WRITERS:
        raise QueryError(f"SELECT results cannot be written as {fmt.label}")
    variables = [v.value for v in raw.variables]
    rows = [list(s) for s in islice(raw, job.max_rows + 1)]
    body = WRITERS[fmt.name](variables, rows[:job.max_rows])
    return Answer(body, "bindings", min(len(rows), job.max_rows), len(rows) > job.max_rows,
                  time.monotonic() - started)


def _serialise_triples(raw: Iterable[ox.Triple], job: Job, started: float) -> Answer:
    fmt = _job_format(job)
    if fmt.name in WRITERS:
        raise QueryError(f"a graph result cannot be written as {fmt.label}")
    triples = list(islice(raw, job.max_rows + 1))
    body = written(ox.serialize(triples[:job.max_rows], format=fmt.rdf, prefixes=PREFIXES))
    return Answer(body, "triples", min(len(triples), job.max_rows), len(triples) > job.max_rows,
                  time.monotonic() - started)


def execute_capped(store: ox.Store, job: Job, max_bytes: int) -> Answer:
    """`execute`, refusing a result over `max_bytes` (0: no cap) with `ResultTooLarge`."""
    answer = execute(store, job, max_bytes)
    if max_bytes and len(answer.body) > max_bytes:
        raise ResultTooLarge(f"the result is {len(answer.body)} bytes, more than the {max_bytes} a result may "
                             "have here; ask for fewer rows (LIMIT) or smaller values")
    return answer


def handle(store: ox.Store, message: tuple) -> object:
    """What a worker does with one message: run a query (``run``) or apply an update to its own copy
    of the store and hand back the result as N-Quads (``update``; the worker is not used again)."""
    if message[0] == "run":
        _, _version, job, max_bytes = message
        return execute_capped(store, job, max_bytes)
    _, _version, text, base_iri = message
    return apply_update(store, text, base_iri=base_iri)
