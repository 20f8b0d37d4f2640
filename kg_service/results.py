"""Query results: run a query, then read its rows once or serialise them in any format of the table.

pyoxigraph results are iterators: a `QueryResult` can be consumed once, by `rows()`, `serialize()`
or `render_table()`. That keeps large results streaming instead of held twice in memory.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import pyoxigraph as ox

from .errors import QueryError
from .formats import RESULTS, Format, written
from .store import KnowledgeGraph
from .vocab import PREFIXES

BINDINGS, BOOLEAN, TRIPLES = "bindings", "boolean", "triples"


@dataclass
class QueryResult:
    kind: str
    raw: ox.QuerySolutions | ox.QueryBoolean | ox.QueryTriples  # of the type `kind` names

    def _solutions(self) -> ox.QuerySolutions:
        assert isinstance(self.raw, ox.QuerySolutions), f"a {self.kind} result has no solutions"
        return self.raw

    @property
    def variables(self) -> list[str]:
        return [v.value for v in self._solutions().variables] if self.kind == BINDINGS else []

    def rows(self) -> list[dict[str, ox.NamedNode | ox.BlankNode | ox.Literal | ox.Triple]]:
        """Every solution as a dict from variable name to term (unbound variables left out)."""
        if self.kind != BINDINGS:
            raise QueryError("not a SELECT query: it has no rows")
        names = self.variables
        return [{n: t for n in names if (t := s[n]) is not None} for s in self._solutions()]

    def serialize(self, fmt: Format) -> bytes:
        if self.kind == TRIPLES:
            if fmt.kind == RESULTS or fmt.oxigraph is None:
                raise QueryError(f"a graph result cannot be written as {fmt.label}")
            assert isinstance(self.raw, ox.QueryTriples)
            return written(ox.serialize(self.raw, format=fmt.rdf, prefixes=PREFIXES))
        if fmt.kind != RESULTS:
            raise QueryError(f"SELECT and ASK results cannot be written as {fmt.label}")
        assert not isinstance(self.raw, ox.QueryTriples)
        return written(self.raw.serialize(format=fmt.results))


def run_query(kg: KnowledgeGraph, text: str, *, bindings: Mapping[str, ox.NamedNode | ox.Literal] | None = None,
              default_graphs: tuple[str, ...] = (), named_graphs: tuple[str, ...] = ()) -> QueryResult:
    """Run `text` on `kg` with variables bound to terms (see `queries.NamedQuery.bindings`)."""
    raw = kg.query(text, bindings=bindings, default_graphs=default_graphs, named_graphs=named_graphs)
    if isinstance(raw, ox.QueryBoolean):
        return QueryResult(BOOLEAN, raw)
    if isinstance(raw, ox.QueryTriples):
        return QueryResult(TRIPLES, raw)
    return QueryResult(BINDINGS, raw)


def term_from_text(value: str) -> ox.NamedNode | ox.Literal:
    """A parameter value as a term: ``<iri>`` or a prefixed name is an IRI, anything else a string.

    >>> term_from_text("<https://example.org/a>")
    <NamedNode value=https://example.org/a>
    >>> term_from_text("dkg:Meeting").value
    'https://w3id.org/kg-service/ontology#Meeting'
    >>> term_from_text("Park Jin")
    <Literal value=Park Jin datatype=<NamedNode value=http://www.w3.org/2001/XMLSchema#string>>
    """
    if value.startswith("<") and value.endswith(">"):
        return ox.NamedNode(value[1:-1])
    prefix, sep, local = value.partition(":")
    if sep and prefix in PREFIXES and " " not in local:
        return ox.NamedNode(PREFIXES[prefix] + local)
    return ox.Literal(value)


def short(term: object) -> str:
    """A term as a person reads it: prefixed IRIs, plain literal values.

    >>> short(ox.NamedNode("https://w3id.org/kg-service/id/person/park-jin"))
    'id:person/park-jin'
    """
    if isinstance(term, ox.NamedNode):
        for prefix, ns in PREFIXES.items():
            if term.value.startswith(ns):
                return f"{prefix}:{term.value[len(ns):]}"
        return f"<{term.value}>"
    if isinstance(term, ox.Literal):
        return term.value
    if isinstance(term, ox.BlankNode):
        return f"_:{term.value}"
    return str(term)


def render_table(result: QueryResult) -> str:
    if result.kind == BOOLEAN:
        return "true" if bool(result.raw) else "false"
    if result.kind == TRIPLES:
        assert isinstance(result.raw, ox.QueryTriples)
        return "\n".join(f"{short(t.subject)} {short(t.predicate)} {short(t.object)}" for t in result.raw)
    names = result.variables
    rows = [[short(row.get(n, "")) if n in row else "" for n in names] for row in result.rows()]
    widths = [min(60, max([len(n)] + [len(r[i]) for r in rows])) for i, n in enumerate(names)]
    lines = [" | ".join(n.ljust(w) for n, w in zip(names, widths, strict=True)),
             "-+-".join("-" * w for w in widths)]
    lines += [" | ".join(c[:w].ljust(w) for c, w in zip(r, widths, strict=True)) for r in rows]
    lines.append(f"({len(rows)} row{'s' if len(rows) != 1 else ''})")
    return "\n".join(lines)
