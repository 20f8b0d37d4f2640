"""How the HTML pages read the graph: fixed queries, best labels, and terms as display values.

The pages are a face over the graph like the CLI, so they read it only through SPARQL and the store's
pattern scans, never through the seeds' mappings. Every query the page modules run (overview,
timeline, articletext, entitypage) goes through `select`: fixed text with values bound as terms,
bounded by a LIMIT, run in-process on the embedded store: these are the service's own queries, not
users', so they do not need the worker pool's time limits. The results travel as dataclasses of
display values (`Value`), which templates escape like any other text.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import cast

import pyoxigraph as ox

from .results import short
from .store import KnowledgeGraph
from .vocab import BASE, DKG, EVENT_CLASSES, PREFIXES

SKOS = PREFIXES["skos"]
RDFS = PREFIXES["rdfs"]
RDF_TYPE = PREFIXES["rdf"] + "type"
DCTERMS = PREFIXES["dcterms"]
# A statement has no name: its content is what a person recognises it by.
LABEL_PROPERTIES = tuple(ox.NamedNode(p) for p in (SKOS + "prefLabel", RDFS + "label", DCTERMS + "title",
                                                     str(DKG.content)))
HEADER = "\n".join(f"PREFIX {name}: <{ns}>" for name, ns in PREFIXES.items()) + "\n"
EVENT_VALUES = " ".join(f"<{iri}>" for iri in EVENT_CLASSES.values())
PAGE_LIMIT = 2000


@dataclass(frozen=True)
class Value:
    """One term as a person reads it: its text, and its IRI when it is a resource to link to."""

    text: str
    iri: str | None = None
    datatype: str | None = None  # a short name such as "xsd:date", for literals that are not plain text


Term = ox.NamedNode | ox.BlankNode | ox.Literal


def select(kg: KnowledgeGraph, text: str, **bindings: Term) -> list[dict[str, Term]]:
    """Rows of a fixed SELECT query (with the usual prefixes) as dicts of terms. Oxigraph substitutes
    only projected variables, so every bound variable must be in the SELECT clause (and GROUP BY)."""
    result = kg.query(HEADER + text, bindings=bindings or None)
    assert isinstance(result, ox.QuerySolutions)  # `text` is always a SELECT query
    names = [v.value for v in result.variables]
    # The pages read `.value` of every term: they assume RDF 1.1 data, with no RDF 1.2 triple terms.
    return [{n: cast(Term, s[n]) for n in names if s[n] is not None} for s in result]


def labels(kg: KnowledgeGraph, iris: Iterable[str]) -> dict[str, str]:
    """The best label of each IRI (prefLabel, rdfs:label, title, content), by pattern scans, not queries."""
    found: dict[str, str] = {}
    for iri in dict.fromkeys(iris):
        node = ox.NamedNode(iri)
        for prop in LABEL_PROPERTIES:
            quad = next(iter(kg.store.quads_for_pattern(node, prop, None, None)), None)
            if quad is not None:
                found[iri] = cast(Term, quad.object).value  # RDF 1.1 data: no triple terms
                break
    return found


def local_name(iri: str) -> str:
    """The part of an IRI after its namespace, for labels of terms outside the ontology.

    >>> local_name("http://www.w3.org/2004/02/skos/core#altLabel"), local_name("https://schema.org/name")
    ('altLabel', 'name')
    """
    return iri.rstrip("/#").rsplit("#", 1)[-1].rsplit("/", 1)[-1]


def humanise(name: str) -> str:
    """A camelCase local name as words, for properties without a label.

    >>> humanise("editorialNote"), humanise("source")
    ('editorial note', 'source')
    """
    return re.sub(r"(?<=[a-z])(?=[A-Z])", " ", name).lower()


def article_id_of(iri: str) -> str | None:
    """The article key of an article or article-graph IRI, else None.

    >>> article_id_of(BASE + "id/article/003_11110d5589b8cc2d"), article_id_of(BASE + "id/person/park-jin")
    ('003_11110d5589b8cc2d', None)
    """
    for prefix in (BASE + "id/article/", BASE + "graph/article/"):
        if iri.startswith(prefix) and "/" not in iri[len(prefix):]:
            return iri[len(prefix):]
    return None


def to_value(term: object, names: dict[str, str]) -> Value:
    if isinstance(term, ox.NamedNode):
        return Value(names.get(term.value) or short(term), term.value)
    if isinstance(term, ox.Literal):
        datatype = term.datatype.value if term.datatype is not None else ""
        plain = datatype in ("", PREFIXES["xsd"] + "string", PREFIXES["rdf"] + "langString")
        return Value(term.value, None, None if plain else short(term.datatype))
    return Value(short(term))


def status_name(iri: str | None) -> str | None:
    """The mapping's word for a status individual.

    >>> status_name(str(DKG.NotHeld)), status_name(None)
    ('not-held', None)
    """
    if iri is None:
        return None
    return {str(DKG.Held): "held", str(DKG.Planned): "planned", str(DKG.Expected): "expected",
            str(DKG.NotHeld): "not-held"}.get(iri, local_name(iri))


def combined_status(statuses: Iterable[str | None]) -> str | None:
    """One status for an event whose sources may differ: held wins, then not-held, planned, expected.

    >>> combined_status(["planned", "held"]), combined_status([])
    ('held', None)
    """
    found = set(statuses)
    return next((s for s in ("held", "not-held", "planned", "expected") if s in found), None)
