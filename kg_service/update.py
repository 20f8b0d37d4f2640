"""SPARQL Update, for a dataset served with updates allowed (``KG_ALLOW_UPDATES``, ``--data`` only).

The seeds are never updated this way: the articles are their source of truth, and an update would
be lost at the next build. For a published dump served as-is, the SPARQL 1.1 Protocol's update
operation is supported, except what would make the server fetch something (``LOAD``, ``SERVICE``).

pyoxigraph runs an update without protocol dataset options, so ``using-graph-uri`` and
``using-named-graph-uri`` become ``USING`` / ``USING NAMED`` clauses in front of the ``WHERE`` of
every DELETE/INSERT operation, which is exactly what the protocol says they mean.
"""

from __future__ import annotations

from collections.abc import Sequence

import pyoxigraph as ox

from .errors import Location, QueryError, UsageError
from .formats import written
from .tokens import TOKEN

REFUSED = {"LOAD": "LOAD is disabled: this endpoint never fetches documents",
           "SERVICE": "SERVICE is disabled: this endpoint does not query other endpoints"}


def check_update(text: str) -> None:
    """Refuse what an update may not do here: fetch a document or query another endpoint.

    >>> check_update("INSERT DATA { <a:s> <a:p> 'LOAD' }")
    >>> check_update("load <file:///etc/passwd>")
    Traceback (most recent call last):
    kg_service.errors.QueryError: update: LOAD is disabled: this endpoint never fetches documents
    """
    for match in TOKEN.finditer(text):
        if match.lastgroup == "word" and match.group().upper() in REFUSED:
            raise QueryError(REFUSED[match.group().upper()], Location(field="update"))


def with_dataset(text: str, using: Sequence[str] = (), using_named: Sequence[str] = ()) -> str:
    """`text` with the protocol's dataset as USING clauses before each operation's top-level WHERE.

    A request that names its dataset both ways is refused (SPARQL 1.1 Protocol, 2.2.3).

    >>> with_dataset("DELETE { ?s ?p ?o } WHERE { ?s ?p ?o }", ["http://g/1"])
    'DELETE { ?s ?p ?o } USING <http://g/1> WHERE { ?s ?p ?o }'
    >>> with_dataset("DELETE WHERE { ?s ?p ?o }", ["http://g/1"])
    'DELETE WHERE { ?s ?p ?o }'
    """
    if not using and not using_named:
        return text
    clauses = "".join(f"USING <{iri}> " for iri in using) + "".join(f"USING NAMED <{iri}> " for iri in using_named)
    pieces, depth, cut, previous = [], 0, 0, ""
    for match in TOKEN.finditer(text):
        token, kind = match.group(), match.lastgroup
        if kind == "other":
            depth += {"{": 1, "}": -1}.get(token, 0)
        elif kind == "word":
            word = token.upper()
            if word in ("USING", "WITH") and depth == 0:
                raise UsageError("the update names its dataset (USING or WITH) and the request does too "
                                 "(using-graph-uri / using-named-graph-uri): use one", Location(field="update"))
            if word == "WHERE" and depth == 0 and previous != "DELETE":
                pieces.append(text[cut:match.start()] + clauses)
                cut = match.start()
            previous = word
        elif kind != "comment":
            previous = ""
    return "".join(pieces) + text[cut:]


def apply_update(store: ox.Store, text: str, *, base_iri: str | None) -> bytes:
    """Apply `text` to `store` in place and return the result as N-Quads (the new version's data).

    Runs in a worker process, on that worker's own copy of the store: a failing update leaves the
    served data as it was, and one that crashes the engine ends the worker, not the service."""
    try:
        store.update(text, base_iri=base_iri)
    except SyntaxError as exc:
        raise QueryError(f"SPARQL Update syntax error: {exc}", Location(field="update")) from None
    except (RuntimeError, OSError) as exc:
        raise QueryError(f"the update cannot be applied: {exc}", Location(field="update")) from None
    return written(store.dump(format=ox.RdfFormat.N_QUADS))
