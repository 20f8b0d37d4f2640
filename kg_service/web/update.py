"""The SPARQL 1.1 Protocol update operation on ``/sparql``, refused unless updates are allowed.

With ``KG_ALLOW_UPDATES`` on (a backend that allows updates, without the union default graph), an
update runs in a fresh query worker, on that worker's own copy of the served store, within the query
time limit, under one lock, so updates are serialised and each sees the previous one. An update that
fails changes nothing; one that crashes the engine (no guard is complete) or runs too long costs that
worker, never the web process. The worker hands back the result as N-Quads, which becomes the next
version: every query after a 204 sees the update.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TypeVar

import pyoxigraph as ox
from flask import Response, g, request

from ..bounds import check_structure
from ..errors import Location, ReadOnly, UsageError
from ..formats import written
from ..limits import check_length
from ..store import KnowledgeGraph, content_version
from ..update import check_update, with_dataset
from .auth import require_token
from .run import check_iris
from .state import service

UPDATE = "application/sparql-update"
_lock = threading.Lock()
T = TypeVar("T")


@dataclass(frozen=True)
class UpdateRequest:
    text: str
    using: tuple[str, ...] = ()
    using_named: tuple[str, ...] = ()


def read_update(params: Mapping[str, Sequence[str]], body: str | None) -> UpdateRequest | None:
    """The update of this request, or None when it asks for none; raises ReadOnly when updates are off."""
    texts = list(params.get("update", ()))
    if body is not None:
        texts.append(body)
    if not texts:
        return None
    settings = service().settings
    if not settings.allow_updates:
        raise ReadOnly("SPARQL Update is not allowed: this endpoint is read-only", Location(field="update"))
    if request.method != "POST":
        raise UsageError("send an update with POST, never GET (SPARQL 1.1 Protocol 2.2)", Location(field="update"))
    if len(texts) > 1:
        raise UsageError("more than one update: send one update= parameter or one body", Location(field="update"))
    return UpdateRequest(texts[0], tuple(params.get("using-graph-uri", ())),
                         tuple(params.get("using-named-graph-uri", ())))


def check_writable(action: str, field: str) -> None:
    """Raise unless this request may change the served data: the token (when one is set) and a dataset
    file served from memory without the union default graph. Shared by updates and Graph Store writes."""
    svc = service()
    require_token(svc.settings.write_token, action, open_without_token=True)
    kg = svc.kg
    if not kg.backend.allows.updates:
        raise ReadOnly(f"updates are for a dataset file served from memory (serve --data FILE --allow-updates), "
                       f"not {kg.backend.serves}; the seeds change only by adding articles",
                       Location(field=field))
    if kg.union_default_graph:
        raise ReadOnly("updates need a dataset served without the union default graph "
                       "(serve --data FILE --no-union-default-graph)", Location(field=field))


def change_copy(change: Callable[[ox.Store], T]) -> T:
    """Run `change` on a copy of the served dataset, then serve the copy as a new version.

    The served store is never changed in place: requests running meanwhile keep a consistent snapshot
    under the old version, and a change that raises leaves nothing behind. Changes are serialised, so
    each sees the previous one."""
    svc = service()
    with _lock:
        kg = svc.kg
        store = ox.Store()
        store.bulk_extend(kg.store)  # quad by quad: a third faster than writing and parsing N-Quads
        result = change(store)
        # The changed copy is served as it is (no second load): its dump only names the new version.
        version = content_version(written(store.dump(format=ox.RdfFormat.N_QUADS)))
        updated = KnowledgeGraph(store, union_default_graph=False, version=version, backend=kg.backend)
        svc.replace_graph(updated)
    return result


def perform_update(update: UpdateRequest) -> Response:
    """Apply `update` to a copy of the served dataset and serve the copy as a new version; 204 on success."""
    svc = service()
    check_writable("a SPARQL update", "update")
    g.query_text = update.text
    check_length(update.text, svc.settings, "update")
    for field, iris in (("using-graph-uri", update.using), ("using-named-graph-uri", update.using_named)):
        check_iris(field, iris)  # pasted into the text below: an IRI must not be able to close its brackets
    text = with_dataset(update.text, update.using, update.using_named)
    check_structure(text, "update")  # located 400s for what the engine cannot bear; the worker is the backstop
    check_update(text)
    with _lock:
        kg = svc.kg
        data = svc.pool.update(kg.version, text, base_iri=request.base_url,
                               timeout_s=svc.settings.query_timeout_s)
        store = ox.Store()
        store.bulk_load(data, format=ox.RdfFormat.N_QUADS)
        svc.replace_graph(KnowledgeGraph(store, union_default_graph=False, version=content_version(data),
                                         backend=kg.backend))
    return Response(status=204)
