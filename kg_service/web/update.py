"""The SPARQL 1.1 Protocol update operation on ``/sparql``, refused unless updates are allowed.

With ``KG_ALLOW_UPDATES`` on (a ``--data`` dataset without the union default graph), an update runs
in-process under one lock, so updates are serialised and each sees the previous one; Oxigraph applies
it in a transaction, so a failing update changes nothing. The result is re-read as a new graph version,
which the query workers load on their next query: every query after a 204 sees the update.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pyoxigraph as ox
from flask import Response, g, request

from ..errors import Location, QueryError, ReadOnly, UsageError
from ..formats import written
from ..guard import check_structure
from ..limits import check_length
from ..store import KnowledgeGraph, content_version
from ..update import check_update, with_dataset
from .auth import require_token
from .run import check_iris
from .state import service

UPDATE = "application/sparql-update"
_lock = threading.Lock()


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


def perform_update(update: UpdateRequest) -> Response:
    """Apply `update` to a copy of the served dataset and serve the copy as a new version; 204 on success.

    The served store is never changed in place: requests running meanwhile keep a consistent snapshot
    under the old version, and a failing update leaves nothing behind."""
    svc = service()
    require_token(svc.settings.write_token, "a SPARQL update", open_without_token=True)
    kg = svc.kg
    if kg.data_file is None or kg.path is not None or kg.remote is not None:
        raise ReadOnly("updates are for a dataset file served from memory (serve --data FILE --allow-updates); "
                       "the seeds change only by adding articles", Location(field="update"))
    if kg.union_default_graph:
        raise ReadOnly("updates need a dataset served without the union default graph "
                       "(serve --data FILE --no-union-default-graph)", Location(field="update"))
    g.query_text = update.text
    check_length(update.text, svc.settings, "update")
    for field, iris in (("using-graph-uri", update.using), ("using-named-graph-uri", update.using_named)):
        check_iris(field, iris)  # pasted into the text below: an IRI must not be able to close its brackets
    text = with_dataset(update.text, update.using, update.using_named)
    check_structure(text, "update")  # the update runs in this process: a parser stack overflow would end it
    check_update(text)
    with _lock:
        kg = svc.kg
        store = ox.Store()
        store.bulk_load(kg.store.dump(format=ox.RdfFormat.N_QUADS), format=ox.RdfFormat.N_QUADS)
        try:
            store.update(text, base_iri=request.base_url)
        except SyntaxError as exc:
            raise QueryError(f"SPARQL Update syntax error: {exc}", Location(field="update")) from None
        except (RuntimeError, OSError) as exc:
            raise QueryError(f"the update cannot be applied: {exc}", Location(field="update")) from None
        # The updated copy is served as it is (no second load): its dump only names the new version.
        version = content_version(written(store.dump(format=ox.RdfFormat.N_QUADS)))
        updated = KnowledgeGraph(store, union_default_graph=False, version=version)
        updated.data_file = kg.data_file
        svc.replace_graph(updated)
    return Response(status=204)
