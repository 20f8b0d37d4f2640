"""Pushing the built dataset to a remote store, sending only the graphs that changed.

`serve --store URL` builds the graph here and pushes it (`remote` is where the server's endpoints are
and how its engine differs). The content hash of every graph pushed is kept in a state file
(`state_file`, in `KG_REMOTE_STATE_DIR`), and the next push PUTs only the graphs whose hash differs
and DELETEs the graphs we pushed that are gone. The remote is then counted by the same query as the
local copy; a count that differs (the server was emptied or changed behind our back) means a full
push, and a second miss an error. A state file is written whole and renamed, so a push killed midway
leaves the previous state or none.
"""

from __future__ import annotations

import hashlib
import json
import os
import urllib.parse
import urllib.request
from collections.abc import Iterable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, replace
from pathlib import Path

import pyoxigraph as ox

from .errors import RemoteUnavailable
from .formats import written
from .remote import COUNT_QUADS, N_TRIPLES, RESULTS_JSON, RemoteStore, all_graphs, count_quads
from .remote_http import put_graph, send_write
from .tokens import TOKEN

DEFAULT_KEY = ""  # the default graph's key among the graph digests (no graph is named by the empty IRI here)
STATE_LAYOUT = 1
PUT_THREADS = 4  # graphs sent at once: a server like Virtuoso commits each PUT on its own


@dataclass(frozen=True)
class Pushed:
    """What a push did: the remote as queries must now see it, the quads it holds, the requests sent."""

    remote: RemoteStore
    held: int
    put: int
    deleted: int


def state_file(remote: RemoteStore, folder: Path) -> Path:
    """Where the digests of what was pushed to `remote` are kept: one file per remote in `folder`."""
    key = hashlib.sha256(f"{remote.query_url} {remote.store_url}".encode()).hexdigest()[:16]
    return folder / f"remote-{key}.json"


def push(remote: RemoteStore, kg_store: ox.Store, *, state: Path | None = None, timeout_s: float = 600.0,
         whole: bool = True) -> Pushed:
    """Make the remote dataset equal to `kg_store`, sending only the graphs that changed since the push
    recorded in `state` (everything when there is none).

    With nothing recorded, one PUT of N-Quads to the dataset when the engine takes it (Oxigraph does),
    else one PUT per graph and a DELETE for every graph we do not have (on an engine whose every graph
    is ours). Raises RemoteUnavailable on any refusal, and when the remote does not end up holding as
    many quads as were sent (counted by the same query on both sides, so a remote whose own
    union-default-graph option is on shows up here).
    """
    counted = kg_store.query(COUNT_QUADS)
    assert isinstance(counted, ox.QuerySolutions)  # COUNT_QUADS is a SELECT
    sent = int(next(iter(counted))["n"].value)
    before = read_state(state, remote) if state is not None else {}
    if remote.engine.setup and remote.user is not None:
        for text in remote.engine.setup:
            request = urllib.request.Request(remote.admin_url, method="POST", headers={"Accept": RESULTS_JSON},
                                             data=urllib.parse.urlencode({"query": text}).encode())
            send_write(remote, request, timeout_s)
    try:
        return _push(remote, kg_store, before, state, sent, whole=whole, timeout_s=timeout_s)
    except _Drifted:
        if not before:
            raise
        if state is not None:
            state.unlink(missing_ok=True)
        return _push(remote, kg_store, {}, state, sent, whole=whole, timeout_s=timeout_s)  # a full push


class _Drifted(RemoteUnavailable):
    """The remote holds another number of quads than was sent."""


def _push(remote: RemoteStore, kg_store: ox.Store, before: dict[str, str], state: Path | None, sent: int, *,
          whole: bool, timeout_s: float) -> Pushed:
    digests: dict[str, str] = {}
    put = deleted = 0
    if not before and whole and remote.engine.whole_put and put_graph(
            remote, remote.store_url, written(kg_store.dump(format=ox.RdfFormat.N_QUADS)),
            "application/n-quads", timeout_s):
        put = 1
        for key, body in _graph_bodies(kg_store):
            digests[key] = _digest(body)
    else:
        with ThreadPoolExecutor(PUT_THREADS) as pool:
            pending: set[Future[bool]] = set()
            for key, body in _graph_bodies(kg_store):
                digests[key] = _digest(body)
                if before.get(key) != digests[key]:
                    if len(pending) >= 2 * PUT_THREADS:  # a bounded number of bodies held at once
                        done, pending = wait(pending, return_when=FIRST_COMPLETED)
                        for future in done:
                            future.result()  # a refused PUT ends the push
                    pending.add(pool.submit(put_graph, remote, _graph_url(remote, key), body, N_TRIPLES, timeout_s,
                                            required=True))
                    put += 1
            for future in pending:
                future.result()
        ours = set(digests) - {DEFAULT_KEY}
        gone = set(before) - ours - {DEFAULT_KEY}
        if remote.engine.owns_server:
            gone |= all_graphs(remote, timeout_s=timeout_s) - ours
        for name in sorted(gone):
            request = urllib.request.Request(_graph_url(remote, name), method="DELETE")
            send_write(remote, request, timeout_s)
            deleted += 1
    if not remote.engine.owns_server:  # what is there besides ours is hidden from GRAPH ?g
        foreign = all_graphs(remote, timeout_s=timeout_s) - set(digests) - {remote.engine.default_graph}
        for name in foreign:
            if not _plain_iri(name):
                raise RemoteUnavailable(f"the remote store holds a graph whose name cannot be written in a query: "
                                        f"{name[:200]!r}")
        remote = replace(remote, excluded=tuple(sorted(foreign)), graphs=frozenset(digests) - {DEFAULT_KEY})
    held = count_quads(remote, timeout_s=timeout_s)
    if held != sent:
        raise _Drifted(f"the remote store holds {held} quads after the push, not the {sent} sent")
    if state is not None:
        _write_state(state, remote, digests)
    return Pushed(remote, held, put, deleted)


def _graph_bodies(kg_store: ox.Store) -> Iterable[tuple[str, bytes]]:
    """Each graph's N-Triples, the default graph under DEFAULT_KEY, named graphs in name order."""
    yield DEFAULT_KEY, written(kg_store.dump(format=ox.RdfFormat.N_TRIPLES, from_graph=ox.DefaultGraph()))
    for name in sorted(g.value for g in kg_store.named_graphs() if isinstance(g, ox.NamedNode)):
        yield name, written(kg_store.dump(format=ox.RdfFormat.N_TRIPLES, from_graph=ox.NamedNode(name)))


def _digest(body: bytes) -> str:
    """A hash of a graph's content whatever order its triples were written in."""
    return hashlib.sha256(b"\n".join(sorted(body.splitlines()))).hexdigest()


def _graph_url(remote: RemoteStore, key: str) -> str:
    if key == DEFAULT_KEY and not remote.engine.default_graph:
        return remote.store_url + "?default"
    name = key if key != DEFAULT_KEY else remote.engine.default_graph
    return remote.store_url + "?" + urllib.parse.urlencode({"graph": name})


def _plain_iri(name: str) -> bool:
    match = TOKEN.fullmatch(f"<{name}>")
    return match is not None and match.lastgroup == "iri"


def read_state(state: Path, remote: RemoteStore) -> dict[str, str]:
    """The digests of the last push to `remote` recorded in `state`; empty when missing, unreadable, or
    written for another remote (then everything is pushed again)."""
    try:
        values = json.loads(state.read_text(encoding="utf-8"))
        if values["layout"] != STATE_LAYOUT or values["store"] != remote.store_url:
            return {}
        graphs = values["graphs"]
    except (OSError, ValueError, KeyError, TypeError):
        return {}
    return {str(k): str(v) for k, v in graphs.items()} if isinstance(graphs, dict) else {}


def _write_state(state: Path, remote: RemoteStore, digests: dict[str, str]) -> None:
    """Written whole and then renamed, so a push killed midway leaves the previous state or none."""
    state.parent.mkdir(parents=True, exist_ok=True)
    partial = state.with_name(state.name + ".partial")
    partial.write_text(json.dumps({"layout": STATE_LAYOUT, "store": remote.store_url, "graphs": digests}),
                       encoding="utf-8")
    os.replace(partial, state)
