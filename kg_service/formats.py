"""The one table of formats: name, media type, file extension, what it can carry, and its serialisers.

Content negotiation, dumps, the CLI's --format choices and the service description all read this
table, so a format is added or removed in one place.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import pyoxigraph as ox

DATASET, GRAPH, RESULTS = "dataset", "graph", "results"
W3C_FORMATS = "http://www.w3.org/ns/formats/"


@dataclass(frozen=True)
class Format:
    """One serialisation. `kind` is what it can carry: a dataset (quads), a graph or query results."""

    name: str
    media_type: str
    extension: str
    kind: str
    rdflib: str | None = None
    oxigraph: ox.RdfFormat | ox.QueryResultsFormat | None = None
    aliases: tuple[str, ...] = ()
    label: str = ""
    w3c: str = ""  # the format's name in https://www.w3.org/ns/formats/ (for the service description)
    suffixes: tuple[str, ...] = ()  # further file suffixes read as this format (besides .extension)

    @property
    def iri(self) -> str:
        return W3C_FORMATS + self.w3c

    @property
    def rdf(self) -> ox.RdfFormat:
        """The Oxigraph RDF format of a dataset or graph format (the caller has checked `kind`)."""
        assert isinstance(self.oxigraph, ox.RdfFormat), f"{self.name} is not an RDF format"
        return self.oxigraph

    @property
    def results(self) -> ox.QueryResultsFormat:
        """The Oxigraph results format of a results format (the caller has checked `kind`)."""
        assert isinstance(self.oxigraph, ox.QueryResultsFormat), f"{self.name} is not a results format"
        return self.oxigraph


FORMATS: tuple[Format, ...] = (
    Format("trig", "application/trig", "trig", DATASET, "trig", ox.RdfFormat.TRIG, (), "TriG", "TriG"),
    Format("nq", "application/n-quads", "nq", DATASET, "nquads", ox.RdfFormat.N_QUADS, ("nquads",), "N-Quads",
           "N-Quads"),
    Format("jsonld", "application/ld+json", "jsonld", DATASET, "json-ld", ox.RdfFormat.JSON_LD, ("json-ld",),
           "JSON-LD", "JSON-LD", (".json",)),
    Format("ttl", "text/turtle", "ttl", GRAPH, "turtle", ox.RdfFormat.TURTLE, ("turtle",), "Turtle", "Turtle"),
    Format("nt", "application/n-triples", "nt", GRAPH, "nt", ox.RdfFormat.N_TRIPLES, ("ntriples", "n-triples"),
           "N-Triples", "N-Triples"),
    Format("rdfxml", "application/rdf+xml", "rdf", GRAPH, "xml", ox.RdfFormat.RDF_XML, ("xml-rdf", "rdf"), "RDF/XML",
           "RDF_XML", (".owl", ".xml")),
    Format("json", "application/sparql-results+json", "srj", RESULTS, None, ox.QueryResultsFormat.JSON,
           ("srj",), "SPARQL JSON", "SPARQL_Results_JSON"),
    Format("xml", "application/sparql-results+xml", "srx", RESULTS, None, ox.QueryResultsFormat.XML,
           ("srx",), "SPARQL XML", "SPARQL_Results_XML"),
    Format("csv", "text/csv", "csv", RESULTS, None, ox.QueryResultsFormat.CSV, (), "CSV", "SPARQL_Results_CSV"),
    Format("tsv", "text/tab-separated-values", "tsv", RESULTS, None, ox.QueryResultsFormat.TSV, (), "TSV",
           "SPARQL_Results_TSV"),
)


@functools.lru_cache(maxsize=256)
def find_format(name: str) -> Format | None:
    """Look a format up by name, alias, extension or media type (remembered: every query asks).

    >>> find_format("turtle").media_type
    'text/turtle'
    >>> find_format("application/n-quads").name
    'nq'
    >>> find_format("docx") is None
    True
    """
    key = name.strip().lower()
    for fmt in FORMATS:
        if key in (fmt.name, fmt.media_type, fmt.extension, *fmt.aliases):
            return fmt
    return None


def format_for_file(name: str) -> Format | None:
    """The RDF format of a file, by its suffix (the one table's extensions and suffixes); None if unknown.

    >>> format_for_file("ontology/dkg.TTL").name, format_for_file("x.owl").name, format_for_file("x.json").name
    ('ttl', 'rdfxml', 'jsonld')
    >>> format_for_file("x.csv") is None
    True
    """
    suffix = name[name.rfind("."):].lower() if "." in name else ""
    for fmt in FORMATS:
        if fmt.kind != RESULTS and suffix in ("." + fmt.extension, *fmt.suffixes):
            return fmt
    return None


def rdf_suffixes() -> list[str]:
    """Every file suffix read as RDF.

    >>> rdf_suffixes()[:3]
    ['.trig', '.nq', '.jsonld']
    """
    return [s for f in FORMATS if f.kind != RESULTS for s in ("." + f.extension, *f.suffixes)]


def written(data: bytes | None) -> bytes:
    """The bytes a pyoxigraph serialiser returns when it is given no output (its stubs say `bytes | None`)."""
    assert data is not None, "pyoxigraph wrote to an output instead of returning bytes"
    return data


def names(*kinds: str) -> list[str]:
    """Format names that carry one of `kinds`, in table order.

    >>> names(DATASET)
    ['trig', 'nq', 'jsonld']
    """
    return [f.name for f in FORMATS if f.kind in kinds]
