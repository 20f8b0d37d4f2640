"""Look at a query before it runs: what it is (SELECT, CONSTRUCT, ... or an update) and what it may not do.

A tokenizer that skips strings, comments and IRIs finds the keywords, so ``"SERVICE"`` in a literal
or ``<http://x/service>`` do not trip it, while ``service <http://evil/>`` in any case does. It runs
in microseconds, unlike rdflib's pure-Python parser (rdflib #618); Oxigraph's parser still has the
last word on syntax. The endpoint is read-only and never fetches anything: SPARQL Update, ``LOAD``
and ``SERVICE`` are refused before the query reaches the engine.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from typing import NoReturn

from .errors import Location, QueryError, ReadOnly

QUERY_FORMS = ("SELECT", "CONSTRUCT", "ASK", "DESCRIBE")
VOLATILE = frozenset(("NOW", "RAND", "UUID", "STRUUID"))
UPDATE_WORDS = ("INSERT", "DELETE", "LOAD", "CLEAR", "CREATE", "DROP", "COPY", "MOVE", "ADD", "WITH")

# The one SPARQL tokenizer of the project (the guard, updates, the remote store's VALUES, tests): each
# match's `lastgroup` is its kind: string, iri, comment, var, pname, word or other (one character). The
# commonest kinds are tried first (a third faster on the named queries); a word is a name not followed by
# what would make it a prefixed name, so the tokens are those of the plain order (string, iri, comment,
# var, pname, word, other), which `tests/test_guard.py` checks on generated texts.
TOKEN = re.compile(r'''
    (?P<var>[?$]\w+)
  | (?P<word>[A-Za-z_]\w*(?![\w.-]*:))
  | (?P<pname>(?:[A-Za-z_][\w.-]*)?:[\w.:%\\-]*)
  | (?P<iri><[^<>"{}|^`\\\x00-\x20]*>)
  | (?P<string>"""(?:[^"\\]|\\.|"(?!""))*"""|\'\'\'(?:[^'\\]|\\.|'(?!''))*\'\'\'
              |"(?:[^"\\\n]|\\.)*"|'(?:[^'\\\n]|\\.)*')
  | (?P<comment>\#[^\n]*)
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


# Found by running the engine on generated shapes (``tests/guard_fuzz.py``; README's "Query guard" has the
# sizes it found). Oxigraph's parser, optimiser and evaluator recurse: a few thousand nested brackets, chained
# operators, clauses or projected expressions overflow the stack and kill the process (SIGSEGV), and its join
# ordering is super-linear in the patterns it joins (a star of 100 triple patterns takes 2 s, of 200 over 30 s
# before the first row). Each bound is far below where the engine fails or stalls and far above what real
# queries use (the named queries: at most 14 patterns, 66 terms, 6 levels of brackets).
MAX_DEPTH = 64  # nested brackets of any kind: ( { [
MAX_OPERATORS = 1000  # | / ^ ! + - * & = < > in expressions and paths
# Operands of joins in the WHERE parts: triple patterns (by their separators . , ;), inner groups, path steps
# (/ |) and collection items. Templates, DATA and VALUES blocks are not counted.
MAX_PATTERNS = 48
MAX_CLAUSES = 128  # groups and OPTIONAL, UNION, MINUS, FILTER, BIND, GRAPH, EXISTS, SELECT, VALUES, SERVICE
MAX_TERMS = 2000  # variables, IRIs, names, literals and numbers outside DATA and VALUES blocks
_OPERATORS = frozenset("|/^!+-*&=<>")
_OPEN, _CLOSE = frozenset("({["), frozenset(")}]")
_SEPARATORS = frozenset(".,;")
_TERMS = frozenset(("string", "iri", "pname", "var"))
_CLAUSES = frozenset(("OPTIONAL", "UNION", "MINUS", "FILTER", "BIND", "GRAPH", "EXISTS", "SELECT", "VALUES",
                      "SERVICE"))
_PATTERN, _TEMPLATE, _DATA = "pattern", "template", "data"  # what a { } block holds
_EXPRESSION, _COLLECTION = "expression", "collection"  # what a ( ) holds


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


def check_structure(text: str, field: str = "query") -> list[str]:
    """Raise QueryError, located at the token that crosses it, when `text` exceeds one of the bounds above;
    else return its `keywords` (found on the way: one pass over the text serves both).

    One pass over the tokens: strings, IRIs and comments are single tokens, so their brackets do not count.

    >>> check_structure("SELECT * { ?s ?p ?o FILTER((1 + 2.5) > 2) }")
    ['SELECT', 'FILTER']
    >>> check_structure("SELECT * { BIND(" + "(" * 100 + "1" + ")" * 100 + " AS ?x) }")
    Traceback (most recent call last):
    kg_service.errors.QueryError: 1:79: query: the query nests brackets more than 64 deep; write it flatter
    >>> check_structure("ASK { ?s <p:p> " + ", ".join(["?o"] * 60) + " }")
    Traceback (most recent call last):
    kg_service.errors.QueryError: 1:210: query: the query joins more than 48 triple patterns, groups and path steps; split it into smaller queries
    """  # noqa: E501
    # The counts are plain locals, checked where they grow (this loop is most of what the guard costs).
    depth = operators = patterns = clauses = terms = 0
    blocks: list[str] = []  # what each open { } holds
    parens: list[str] = []  # what each open ( [ holds
    previous = ""  # the last word, or an operator: tells a template, DATA or an expression from a pattern
    values = projection = False  # after VALUES until its block; after SELECT until its WHERE
    words: list[str] = []
    for match in TOKEN.finditer(text):
        kind = match.lastgroup
        if kind == "comment":
            continue
        if kind == "word":
            previous = match.group().upper()
            words.append(previous)
            if previous in _CLAUSES:
                clauses += 1
                if clauses > MAX_CLAUSES:
                    _refuse(text, field, match.start(), "clauses")
            values = values or previous == "VALUES"
            projection = previous == "SELECT" or (projection and previous != "WHERE")
            continue
        token, at = match.group(), match.start()
        in_pattern = bool(blocks) and blocks[-1] == _PATTERN
        if kind in _TERMS or (kind == "other" and token.isdigit() and not text[at - 1:at].isdigit()):
            if not blocks or blocks[-1] != _DATA:
                terms += 1
                if terms > MAX_TERMS:
                    _refuse(text, field, at, "terms")
            if in_pattern and parens and parens[-1] == _COLLECTION:  # an item: rdf:first and rdf:rest
                patterns += 2
                if patterns > MAX_PATTERNS:
                    _refuse(text, field, at, "patterns")
            if kind in _TERMS:
                previous = kind
            continue
        if token in _OPEN:
            depth += 1
            if depth > MAX_DEPTH:
                _refuse(text, field, at, "depth")
            if token == "{":
                clauses += 1
                if clauses > MAX_CLAUSES:
                    _refuse(text, field, at, "clauses")
                blocks.append(_DATA if values else _block_kind(previous, blocks[-1] if blocks else None))
                values = projection = False
                if len(blocks) > 1 and blocks[-1] == _PATTERN:
                    patterns += 1
                    if patterns > MAX_PATTERNS:
                        _refuse(text, field, at, "patterns")
                previous = "{"
            else:
                parens.append(_EXPRESSION if projection else _paren_kind(previous, parens[-1] if parens else None))
        elif token in _CLOSE:
            depth = max(0, depth - 1)
            if token == "}" and blocks:
                blocks.pop()
                previous = "}"
            elif token != "}" and parens:
                parens.pop()
        elif token in _OPERATORS:
            operators += 1
            if operators > MAX_OPERATORS:
                _refuse(text, field, at, "operators")
            if in_pattern and _path_step(text, at):
                patterns += 1
                if patterns > MAX_PATTERNS:
                    _refuse(text, field, at, "patterns")
            previous = token
        elif token in _SEPARATORS and in_pattern and not parens and not _in_number(text, at):
            patterns += 1
            if patterns > MAX_PATTERNS:
                _refuse(text, field, at, "patterns")
            previous = token
    return words


_BOUNDS = {
    "depth": (MAX_DEPTH, "nests brackets more than {} deep; write it flatter"),
    "operators": (MAX_OPERATORS, "has more than {} operators; split it into smaller queries"),
    "patterns": (MAX_PATTERNS, "joins more than {} triple patterns, groups and path steps; split it into "
                               "smaller queries"),
    "clauses": (MAX_CLAUSES, "has more than {} groups and clauses (OPTIONAL, UNION, MINUS, FILTER, BIND, "
                             "...); split it into smaller queries"),
    "terms": (MAX_TERMS, "has more than {} variables, IRIs and literals outside DATA and VALUES blocks; "
                         "split it into smaller queries"),
}


def _refuse(text: str, field: str, at: int, bound: str) -> NoReturn:
    """Refuse `text` at offset `at`, where it crosses `bound` (a key of _BOUNDS)."""
    limit, what = _BOUNDS[bound]
    line, column = position(text, at)
    raise QueryError(f"the {field} {what.format(limit)}", Location(line=line, column=column, field=field))


def _block_kind(previous: str, outer: str | None) -> str:
    """What a { } holds, from the word before it: INSERT DATA { data }, CONSTRUCT { template }, VALUES."""
    if previous == "DATA" or outer == _DATA:
        return _DATA
    if outer is not None:
        return outer
    return _TEMPLATE if previous in ("INSERT", "DELETE", "CONSTRUCT") else _PATTERN


def _paren_kind(previous: str, outer: str | None) -> str:
    """Whether a ( or [ holds an expression (after a function name, keyword or operator) or, after a term
    or a separator in a pattern, a collection, blank node or path group whose items are patterns to join."""
    if outer is not None:
        return outer
    if previous in _TERMS or previous in ("{", "}", ".", ",", ";", "A"):
        return _COLLECTION
    return _EXPRESSION


def _path_step(text: str, at: int) -> bool:
    """Whether the operator at `at` is a path's ``/`` or ``|`` (a division or ``||`` in a FILTER counts too:
    the bound is loose enough for that)."""
    if text[at] == "/":
        return True
    return text[at] == "|" and text[at - 1:at] != "|" and text[at + 1:at + 2] != "|"


def _in_number(text: str, at: int) -> bool:
    """Whether the `.` at `at` is the point of a decimal (``2.5``), not a pattern separator."""
    return 0 < at < len(text) - 1 and text[at - 1].isdigit() and text[at + 1].isdigit()


def position(text: str, at: int) -> tuple[int, int]:
    r"""The 1-based line and column of offset `at` in `text`.

    >>> position("ab\ncd", 4)
    (2, 2)
    """
    line = text.count("\n", 0, at) + 1
    return line, at - (text.rfind("\n", 0, at) + 1) + 1


def refuse_update(text: str) -> None:
    """Raise ReadOnly for text Oxigraph could not parse as a query because it is an update (`LOAD ...`)."""
    words = keywords(text)
    if words and words[0] in UPDATE_WORDS:
        raise ReadOnly("SPARQL Update is not allowed: this endpoint is read-only", Location(field="query"))
