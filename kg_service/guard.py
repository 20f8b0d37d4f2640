"""Look at a query before it runs: what it is (SELECT, CONSTRUCT, ... or an update) and what it may not do.

A tokenizer that skips strings, comments and IRIs finds the keywords, so ``"SERVICE"`` in a literal
or ``<http://x/service>`` do not trip it, while ``service <http://evil/>`` in any case does. It runs
in microseconds, unlike rdflib's pure-Python parser (rdflib #618); Oxigraph's parser still has the
last word on syntax. The endpoint is read-only and never fetches anything: SPARQL Update, ``LOAD``
and ``SERVICE`` are refused before the query reaches the engine.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .errors import Location, QueryError, ReadOnly

QUERY_FORMS = ("SELECT", "CONSTRUCT", "ASK", "DESCRIBE")
VOLATILE = frozenset(("NOW", "RAND", "UUID", "STRUUID"))
UPDATE_WORDS = ("INSERT", "DELETE", "LOAD", "CLEAR", "CREATE", "DROP", "COPY", "MOVE", "ADD", "WITH")

# The one SPARQL tokenizer of the project (the guard, updates, the remote store's VALUES, tests): each
# match's `lastgroup` is its kind: string, iri, comment, var, pname, word or other (one character).
TOKEN = re.compile(r'''
    (?P<string>"""(?:[^"\\]|\\.|"(?!""))*"""|\'\'\'(?:[^'\\]|\\.|'(?!''))*\'\'\'
              |"(?:[^"\\\n]|\\.)*"|'(?:[^'\\\n]|\\.)*')
  | (?P<iri><[^<>"{}|^`\\\x00-\x20]*>)
  | (?P<comment>\#[^\n]*)
  | (?P<var>[?$]\w+)
  | (?P<pname>(?:[A-Za-z_][\w.-]*)?:[\w.:%\\-]*)
  | (?P<word>[A-Za-z_]\w*)
  | (?P<other>\S)
''', re.VERBOSE)


@dataclass(frozen=True)
class QueryShape:
    form: str | None  # SELECT, CONSTRUCT, ASK, DESCRIBE, or None when it could not be told
    has_from: bool  # a FROM or FROM NAMED clause: the query names its own dataset
    volatile: bool = False  # NOW, RAND, UUID or STRUUID: two runs may answer differently (never cached)

    @property
    def is_graph(self) -> bool:
        return self.form in ("CONSTRUCT", "DESCRIBE")


# Oxigraph's parser and evaluator recurse: a few thousand nested brackets, or a few thousand chained
# operators (`1+1+...`, `?a || ?a || ...`, `MINUS {} MINUS {} ...`, `!!!...`), overflow the worker's stack
# and kill it (SIGSEGV) — a 500 for the client. Real queries stay far below these bounds.
MAX_DEPTH = 64
MAX_OPERATORS = 2000
_OPERATORS = frozenset("{|/^!+-*&=<>")
_OPEN, _CLOSE = frozenset("({["), frozenset(")}]")


def keywords(text: str) -> list[str]:
    """The bare words of a query, upper-cased, outside strings, comments, IRIs and prefixed names.

    >>> keywords('SELECT * { ?service <http://x/SERVICE> "SERVICE" } # SERVICE')
    ['SELECT']
    >>> keywords("ask { ex:service a :Service }")
    ['ASK', 'A']
    """
    return [m.group("word").upper() for m in TOKEN.finditer(text) if m.lastgroup == "word"]


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
    words = keywords(text)
    check_structure(text)
    form = next((w for w in words if w in QUERY_FORMS or w in UPDATE_WORDS), None)
    if form in UPDATE_WORDS:
        raise ReadOnly("SPARQL Update is not allowed: this endpoint is read-only", Location(field="query"))
    if "SERVICE" in words:
        raise QueryError("SERVICE is disabled: this endpoint does not query other endpoints", Location(field="query"))
    return QueryShape(form, "FROM" in words, not VOLATILE.isdisjoint(words))


def check_structure(text: str) -> None:
    """Raise QueryError for a query nested deeper than `MAX_DEPTH` or with more than `MAX_OPERATORS` operators.

    >>> check_structure("SELECT * { FILTER((1 + 2) > 2) }")
    >>> check_structure("SELECT * { BIND(" + "(" * 100 + "1" + ")" * 100 + " AS ?x) }")
    Traceback (most recent call last):
    kg_service.errors.QueryError: query: the query nests brackets more than 64 deep; write it flatter
    >>> check_structure("ASK { FILTER(" + " || ".join(["true"] * 1500) + ") }")
    Traceback (most recent call last):
    kg_service.errors.QueryError: query: the query has more than 2000 operators and groups; split it into smaller queries
    """  # noqa: E501
    depth = operators = 0
    for match in TOKEN.finditer(text):
        if match.lastgroup != "other":
            continue
        char = match.group()
        if char in _OPEN:
            depth += 1
            if depth > MAX_DEPTH:
                raise QueryError(f"the query nests brackets more than {MAX_DEPTH} deep; write it flatter",
                                 Location(field="query"))
        elif char in _CLOSE:
            depth = max(0, depth - 1)
        if char in _OPERATORS:
            operators += 1
            if operators > MAX_OPERATORS:
                raise QueryError(f"the query has more than {MAX_OPERATORS} operators and groups; split it into "
                                 "smaller queries", Location(field="query"))


def refuse_update(text: str) -> None:
    """Raise ReadOnly for text Oxigraph could not parse as a query because it is an update (`LOAD ...`)."""
    words = keywords(text)
    if words and words[0] in UPDATE_WORDS:
        raise ReadOnly("SPARQL Update is not allowed: this endpoint is read-only", Location(field="query"))
