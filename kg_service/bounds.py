"""How large a query may be before it runs: brackets, operators, joined patterns, clauses and terms.

Oxigraph's parser, optimiser and evaluator recurse, and its join ordering is super-linear: a text past
these bounds could crash the process or stall it before its first row, so it is refused (400, located
at the token that crosses a bound) before the engine sees it. `check_structure` counts on the tokens of
`tokens.TOKEN`; most texts are far within every bound, and `_quick_words` tells that from character
counts first, which costs a fraction of the token loop on a named query (README "Query guard").
"""

from __future__ import annotations

import re
from typing import NoReturn

from .errors import Location, QueryError
from .tokens import TERM_PATTERNS, TOKEN, position

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
    quick = _quick_words(text)
    return quick if quick is not None else _count_tokens(text, field)


def _count_tokens(text: str, field: str) -> list[str]:
    """`check_structure` by counting each token: exact, raising at the token that crosses a bound."""
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


_MARK = "\x01"
# TOKEN's term and comment patterns in its order (no term can start inside a word).
_TERMS_AND_COMMENTS = re.compile("|".join(f"(?:{pattern})" for pattern in TERM_PATTERNS.values()))
# A ( or [ may open a collection (its items count as patterns) after a term, a brace, a separator or the word
# `a`, looking back past what does not change the loop's `previous` (digits, brackets, other characters):
# looked for in the reversed text, each bracket on its own (a lookahead consumes nothing).
_COLLECTION_OPEN = re.compile(r"[(\[](?=[^A-Za-z_|/^!+\-*&=<>.,;{}\x01]*?(?:[\x01{}.,;]|[aA](?![A-Za-z_])))")
_NESTED = r"[^()\[\]]"
for _ in range(3):  # what a bracket holds, up to its close, with up to three levels of brackets inside
    _NESTED = rf"(?:[^()\[\]]++|[(\[]{_NESTED}*+[)\]])"  # possessive: there is one way to match, never retried
_BRACKETED = re.compile(rf"{_NESTED}*+[)\]]")
QUICK_CHARS = 16384  # longer texts go straight to the loop: the quick look is for the common ones
_WORD = re.compile(r"[A-Za-z_]\w*")
_COUNTED_OPERATORS = tuple(_OPERATORS)
_STEPS_AND_SEPARATORS = (".", ",", ";", "/", "|", "{")
_DIGITS = tuple("0123456789")


def _quick_words(text: str) -> list[str] | None:
    """`check_structure`'s keywords when counting characters shows `text` within every bound, a few times
    faster than its loop; None when only the loop can tell (a count near a bound, deep brackets after a
    term). Terms and comments are cut to one mark each by TOKEN's own patterns in its order, so the words and
    single characters left are the loop's tokens, and each count here is at least the loop's: within these
    counts, within its bounds (`tests/test_guard.py` checks that on generated texts)."""
    if len(text) > QUICK_CHARS:
        return None
    marked = _TERMS_AND_COMMENTS.sub(_MARK, text)
    patterns = sum(map(marked.count, _STEPS_AND_SEPARATORS))
    for index, opened in enumerate(_COLLECTION_OPEN.finditer(marked[::-1])):  # a collection's items count twice
        inside = _BRACKETED.match(marked, len(marked) - opened.start())
        if inside is None or index > MAX_PATTERNS:  # unclosed, too deep, or too many to be quick
            return None
        patterns += 2 * (inside.group().count(_MARK) + sum(map(inside.group().count, _DIGITS)))
        if patterns > MAX_PATTERNS:
            return None
    opens = marked.count("{")
    if (patterns > MAX_PATTERNS or opens + marked.count("(") + marked.count("[") > MAX_DEPTH
            or sum(map(marked.count, _COUNTED_OPERATORS)) > MAX_OPERATORS
            or marked.count(_MARK) + sum(map(marked.count, _DIGITS)) > MAX_TERMS):
        return None
    words = [word.upper() for word in _WORD.findall(marked)]
    if opens + sum(word in _CLAUSES for word in words) > MAX_CLAUSES:
        return None
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
