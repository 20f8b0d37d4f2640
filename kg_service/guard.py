"""Look at a query before it runs: what it is (SELECT, CONSTRUCT, ... or an update) and what it may not do.

The project's tokenizer (`tokens`), which skips strings, comments and IRIs, finds the keywords, so
``"SERVICE"`` in a literal or ``<http://x/service>`` do not trip it, while ``service <http://evil/>`` in
any case does. It runs in microseconds, unlike rdflib's pure-Python parser (rdflib #618); Oxigraph's
parser still has the last word on syntax. The endpoint is read-only and never fetches anything: SPARQL
Update, ``LOAD`` and ``SERVICE`` are refused before the query reaches the engine, and so is a text past
the size bounds that keep the engine alive (`bounds`).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

from .bounds import check_structure
from .errors import Location, QueryError, ReadOnly
from .tokens import keywords

QUERY_FORMS = ("SELECT", "CONSTRUCT", "ASK", "DESCRIBE")
VOLATILE = frozenset(("NOW", "RAND", "UUID", "STRUUID"))
UPDATE_WORDS = ("INSERT", "DELETE", "LOAD", "CLEAR", "CREATE", "DROP", "COPY", "MOVE", "ADD", "WITH")


@dataclass(frozen=True)
class QueryShape:
    form: str | None  # SELECT, CONSTRUCT, ASK, DESCRIBE, or None when it could not be told
    has_from: bool  # a FROM or FROM NAMED clause: the query names its own dataset
    volatile: bool = False  # NOW, RAND, UUID or STRUUID: two runs may answer differently (never cached)

    @property
    def is_graph(self) -> bool:
        return self.form in ("CONSTRUCT", "DESCRIBE")


def inspect_query(text: str) -> QueryShape:
    """What the query is; raises ReadOnly for an update and QueryError for SERVICE.

    >>> inspect_query("PREFIX s: <http://x/> CONSTRUCT WHERE { ?s ?p ?o }").form
    'CONSTRUCT'
    >>> inspect_query("INSERT DATA { <a:a> <a:b> <a:c> }")
    Traceback (most recent call last):
    kg_service.errors.ReadOnly: query: SPARQL Update is not allowed: this endpoint is read-only
    >>> inspect_query("SELECT * { Service <http://example.org/sparql> { ?s ?p ?o } }")
    Traceback (most recent call last):
    kg_service.errors.QueryError: query: SERVICE is disabled: this endpoint does not query other endpoints
    """
    words = check_structure(text)
    form = next((w for w in words if w in QUERY_FORMS or w in UPDATE_WORDS), None)
    if form in UPDATE_WORDS:
        raise ReadOnly("SPARQL Update is not allowed: this endpoint is read-only", Location(field="query"))
    if "SERVICE" in words:
        raise QueryError("SERVICE is disabled: this endpoint does not query other endpoints", Location(field="query"))
    return QueryShape(form, "FROM" in words, not VOLATILE.isdisjoint(words))


KNOWN_TEXTS = 2048  # query texts whose verdict is kept
KNOWN_TEXT_CHARS = 4096  # ... when no longer than this (at most 8 MiB kept)


@functools.lru_cache(maxsize=KNOWN_TEXTS)
def _known_shape(text: str) -> QueryShape:
    return inspect_query(text)


def query_shape(text: str) -> QueryShape:
    """`inspect_query`, remembering the verdict on short texts: named queries, pages and dashboards send the
    same texts again and again, and a text's shape never changes (a refused text is looked at each time:
    lru_cache keeps no exceptions).

    >>> query_shape("ASK {}") is query_shape("ASK {}")
    True
    """
    return _known_shape(text) if len(text) <= KNOWN_TEXT_CHARS else inspect_query(text)


def refuse_update(text: str) -> None:
    """Raise ReadOnly for text Oxigraph could not parse as a query because it is an update (`LOAD ...`)."""
    words = keywords(text)
    if words and words[0] in UPDATE_WORDS:
        raise ReadOnly("SPARQL Update is not allowed: this endpoint is read-only", Location(field="query"))
