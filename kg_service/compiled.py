"""What compiling one article yields, and the stable IRIs of the nodes the compiler mints.

A `CompiledArticle` carries the article's named graph, its metadata, its corrections and the events
those corrections add, the findings met on the way, and the mapping line of every node it made, so
a SHACL result about a node can be reported at the line its author wrote. The build, the resolver
and the validator read it; only the compiler (compiler.py, evidence.py) writes it. Events, statements
and corrections get IRIs minted from the mapping's readable keys, never from counters or content.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from rdflib import Graph, URIRef

from .fields import PREDICATES
from .report import Finding
from .vocab import mint


@dataclass
class CompiledArticle:
    """The RDF of one article plus what went wrong and where each node came from."""

    article_id: str
    graph_iri: URIRef
    graph: Graph
    meta: Graph
    corrections: Graph
    findings: list[Finding]
    lines: dict[URIRef, tuple[int, dict[str, int]]]  # node -> (line, field -> line), to map SHACL back
    added: Graph = field(default_factory=Graph)  # events the corrections add: the corrections' claims

    def line_for(self, focus: str, path: str | None) -> int | None:
        """The mapping line of a node, or of its field whose predicate is `path`."""
        node = self.lines.get(URIRef(focus))
        if node is None:
            return None
        line, fields = node
        for name, predicate in PREDICATES.items():
            if path and str(predicate) == path and name in fields:
                return fields[name]
        return line


def event_iri(key: str) -> URIRef:
    return mint("event", key)


def statement_iri(article_id: str, key: str) -> URIRef:
    return mint("statement", article_id, key)


def correction_iri(article_id: str, subject: str, field_name: str) -> URIRef:
    """The IRI of a correction: one per article, subject and field.

    >>> str(correction_iri("004_fe33916f0645b2f3", "abe-park-summit", "end_date")).rsplit("/", 3)[1:]
    ['004_fe33916f0645b2f3', 'abe-park-summit', 'end-date']
    """
    return mint("correction", article_id, subject, _slug(field_name))


def _slug(text: str) -> str:
    return "-".join("".join(c if c.isalnum() else " " for c in text.lower()).split()) or "value"
