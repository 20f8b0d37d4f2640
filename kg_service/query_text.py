"""Query text for a server that takes no parameters: a BASE and variable bindings written into the text.

A remote SPARQL server has no substitution of bound variables (SEP-0007) and takes its base IRI
only from the query, so the query workers (web/workers.py) rewrite a query before sending it:
`with_base` adds the endpoint's BASE, `inline_bindings` binds variables by a VALUES block. Both
read the query with the guard's tokenizer (guard.TOKEN), so braces and keywords inside strings,
IRIs and comments never count.
"""

from __future__ import annotations

from collections.abc import Mapping

import pyoxigraph as ox

from .tokens import TOKEN


def with_base(text: str, base_iri: str | None) -> str:
    r"""`text` with `base_iri` as its BASE, unless it declares its own (Virtuoso refuses a second BASE).

    >>> with_base("SELECT * {}", "http://h/"), with_base("BASE <http://q/> SELECT * {}", "http://h/")
    ('BASE <http://h/>\nSELECT * {}', 'BASE <http://q/> SELECT * {}')
    """
    if not base_iri or any(m.lastgroup == "word" and m.group().upper() == "BASE" for m in TOKEN.finditer(text)):
        return text
    return f"BASE <{base_iri}>\n{text}"


def inline_bindings(text: str, bindings: Mapping[str, ox.NamedNode | ox.Literal] | None) -> str:
    """`text` with its variables bound by a VALUES block at the start of the query's WHERE group.

    A remote server has no substitution (SEP-0007), so the values travel as data, still never as
    text spliced into the query: each term is written in N-Triples syntax, which escapes it. Bound
    at the top of the WHERE group, a value is seen by the group's filters and is projected, as a
    substituted one is; only a filter inside a nested group or subquery would not see it.

    >>> inline_bindings("SELECT ?a { ?a ?p ?b }", {"b": ox.Literal("x")})
    'SELECT ?a { VALUES (?b) { ("x") } ?a ?p ?b }'
    >>> inline_bindings('CONSTRUCT { ?s ?p "}" } WHERE { ?s ?p ?o }', {"o": ox.NamedNode("http://x")})
    'CONSTRUCT { ?s ?p "}" } WHERE { VALUES (?o) { (<http://x>) } ?s ?p ?o }'
    """
    if not bindings:
        return text
    block = (f"VALUES ({' '.join('?' + name for name in bindings)}) "
             f"{{ ({' '.join(str(term) for term in bindings.values())}) }}")
    depth, form, previous, template_seen = 0, "", "", False
    for match in TOKEN.finditer(text):  # strings, IRIs and comments are single tokens: their braces do not count
        token, kind = match.group(), match.lastgroup
        if kind == "comment":
            continue
        if token == "{" and depth == 0:
            if previous == "CONSTRUCT":
                template_seen = True
            elif form == "CONSTRUCT" and not template_seen:
                break  # CONSTRUCT WHERE { triples }: the short form takes no VALUES inside
            else:
                return f"{text[:match.end()]} {block}{text[match.end():]}"
        if kind == "other":
            depth += (token == "{") - (token == "}")
        if kind == "word":
            previous = token.upper()
            form = form or (previous if previous in ("SELECT", "CONSTRUCT", "ASK", "DESCRIBE") else "")
        else:
            previous = token
    return f"{text}\n{block}"  # the trailing VALUES clause: joined after the pattern is evaluated
