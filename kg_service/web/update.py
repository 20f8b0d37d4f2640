"""The SPARQL 1.1 Protocol update operation on ``/sparql``, refused unless updates are allowed.

With ``KG_ALLOW_UPDATES`` on (a ``--data`` dataset without the union default graph), an update runs
in-process under one lock, so updates are serialised and each sees the previous one; Oxigraph applies
it in a transaction, so a failing update changes nothing. The result is re-read as a new graph version,
which the query workers load on their next query: every query after a 204 sees the update.
"""

from __future__ import annotations

import hmac
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pyoxigraph as ox
from flask import Response, g, request

from ..errors import Location, QueryError, ReadOnly, TooLarge, Unauthorized, UsageError
from ..guard import check_structure
from ..store import KnowledgeGraph
from ..update import check_update, with_dataset
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
    """Apply `update` and serve the result as a new graph version; 204 on success."""
    svc = service()
    _check_token(svc.settings.write_token)
    if svc.kg.path is not None or svc.kg.remote is not None:
        raise ReadOnly("updates need the dataset served from memory, not from a persistent or remote store",
                       Location(field="update"))
    if svc.kg.union_default_graph:
        raise ReadOnly("updates need a dataset served without the union default graph "
                       "(serve --data FILE --no-union-default-graph)", Location(field="update"))
    g.query_text = update.text
    if len(update.text) > svc.settings.max_query_chars:
        raise TooLarge(f"the update has {len(update.text)} characters; the most this endpoint accepts is "
                       f"{svc.settings.max_query_chars}", Location(field="update"))
    check_structure(update.text)  # the update runs in this process: a parser stack overflow would end it
    check_update(update.text)
    text = with_dataset(update.text, update.using, update.using_named)
    with _lock:
        store = svc.kg.store
        try:
            store.update(text, base_iri=request.base_url)
        except SyntaxError as exc:
            raise QueryError(f"SPARQL Update syntax error: {exc}", Location(field="update")) from None
        except (RuntimeError, OSError) as exc:
            raise QueryError(f"the update cannot be applied: {exc}", Location(field="update")) from None
        updated = KnowledgeGraph.from_nquads(store.dump(format=ox.RdfFormat.N_QUADS), union_default_graph=False)
        svc.replace_graph(updated)
    return Response(status=204)


def _check_token(token: str) -> None:
    """With a write token configured, an update needs it (compared in constant time)."""
    if not token:
        return
    sent = request.headers.get("Authorization", "")
    scheme, _, value = sent.partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(value.strip().encode(), token.encode()):
        raise Unauthorized("an update needs the write token: send Authorization: Bearer <token>")
