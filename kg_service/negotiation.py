"""Content negotiation: pick one format of the table (`formats.FORMATS`) for a response.

A client says what it wants with an ``Accept`` header (media ranges with q-values) or, overriding
it, with a ``format=`` parameter (SPARQLWrapper also sends ``output=`` and ``results=``, and for
some formats a media type as a second value). Which formats are possible depends on what the
response carries: solutions and booleans (`RESULTS`) or a graph (`GRAPH`, `DATASET`). The candidates
are in table order, which is also the server's preference when the client likes several equally.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Sequence

from werkzeug.datastructures import MIMEAccept
from werkzeug.http import parse_accept_header

from .errors import NotAcceptable
from .formats import DATASET, FORMATS, GRAPH, RESULTS, Format, find_format  # noqa: F401 - RESULTS: doctests

# Names clients use for a format whose meaning depends on what the response carries:
# SPARQLWrapper asks `format=xml` for RDF/XML of a CONSTRUCT and `format=json` for JSON-LD.
_GRAPH_NAMES = {"xml": "rdfxml", "rdf+xml": "rdfxml", "json": "jsonld", "n3": "ttl"}


def parse_accept(header: str | None) -> MIMEAccept:
    """An Accept header, parsed by werkzeug (the parser Flask's ``request.accept_mimetypes`` uses).
    An entry with a malformed q-value is dropped; no usable entry means no preference.

    >>> list(parse_accept("text/turtle;q=0.5, application/*"))
    [('text/turtle', 0.5), ('application/*', 1)]
    >>> list(parse_accept("text/csv;q=nan, text/tsv;q=junk, */*;q=7"))
    []
    """
    return parse_accept_header(header or "", MIMEAccept)


def quality(media_type: str, accept: MIMEAccept) -> float:
    """The q-value the client gives `media_type`: that of the most specific range that matches it;
    everything is acceptable to a client that states no preference.

    >>> quality("text/csv", parse_accept("text/*;q=0.3, text/csv;q=0.8"))
    0.8
    >>> quality("text/csv", parse_accept("text/csv;q=0.3, text/*;q=0.8"))
    0.3
    >>> quality("text/csv", parse_accept("application/json")), quality("text/csv", parse_accept(None))
    (0, 1.0)
    """
    return accept[media_type] if accept else 1.0


def candidates(*kinds: str) -> list[Format]:
    """The formats that carry `kinds`, in the order of `kinds` and then of the table.

    >>> [f.name for f in candidates(GRAPH, DATASET)][:2]
    ['ttl', 'nt']
    """
    return [f for kind in kinds for f in FORMATS if f.kind == kind]


def resolve_name(name: str, kinds: Iterable[str]) -> Format | None:
    """A `format=` value as a format that can carry `kinds`, or None.

    >>> resolve_name("xml", [GRAPH, DATASET]).name
    'rdfxml'
    >>> resolve_name("xml", [RESULTS]).name
    'xml'
    >>> resolve_name("text/tab-separated-values", [RESULTS]).name
    'tsv'
    """
    kinds = set(kinds)
    key = name.strip().lower()
    if kinds & {GRAPH, DATASET} and key in _GRAPH_NAMES:
        key = _GRAPH_NAMES[key]
    fmt = find_format(key)
    return fmt if fmt is not None and fmt.kind in kinds else None


def choose_format(accept: str | None, kinds: Sequence[str], overrides: Sequence[str] = ()) -> Format:
    """The format to answer with, for a response carrying `kinds`.

    `overrides` are the values of ``format=``-like parameters: the first one that names a fitting
    format wins; when all name something else the client gets 406 rather than a surprise.
    Otherwise the Accept header decides, ties going to table order. Raises NotAcceptable.

    >>> choose_format("application/sparql-results+xml, application/json;q=0.9", [RESULTS]).name
    'xml'
    >>> choose_format("*/*", [GRAPH, DATASET]).name
    'ttl'
    >>> choose_format("text/html", [RESULTS], ["csv"]).name
    'csv'
    >>> choose_format("text/html", [RESULTS])
    Traceback (most recent call last):
    kg_service.errors.NotAcceptable: no acceptable format: this response can be one of application/sparql-results+json, application/sparql-results+xml, text/csv, text/tab-separated-values
    """  # noqa: E501
    values = [v for v in overrides if v and v.strip()]
    for value in values:
        fmt = resolve_name(value, kinds)
        if fmt is not None:
            return fmt
    if values:
        offered = ", ".join(f.media_type for f in candidates(*kinds))
        raise NotAcceptable(f"unknown or unfitting format {values[0]!r}: this response can be one of {offered}")
    return _by_accept(accept, tuple(kinds))


@functools.lru_cache(maxsize=512)
def _by_accept(accept: str | None, kinds: tuple[str, ...]) -> Format:
    """The Accept header's choice among `kinds`: kept per header text, as clients send the same one each
    time and weighing it is most of what negotiating costs (measured: ~50 us a request)."""
    possible = candidates(*kinds)
    offered = ", ".join(f.media_type for f in possible)
    accept_ = parse_accept(accept)
    # application/json is what many clients send for SPARQL JSON results; and JSON-LD for graphs.
    scored = [(max(quality(f.media_type, accept_), _json_quality(f, accept_)), -i, f) for i, f in enumerate(possible)]
    best_q, _, best = max(scored, key=lambda s: (s[0], s[1]))
    if best_q <= 0:
        raise NotAcceptable(f"no acceptable format: this response can be one of {offered}")
    return best


def _json_quality(fmt: Format, accept: MIMEAccept) -> float:
    if fmt.name in ("json", "jsonld"):
        return max((q for value, q in accept if value.lower() == "application/json"), default=0.0)
    return 0.0


def prefers_html(accept: str | None) -> bool:
    """Whether a client ranks HTML above every RDF format it names: a browser, not an RDF client.

    Wildcards do not count for RDF (``*/*`` alone, as curl and RDF libraries send, gets RDF) and a tie
    goes to RDF, so a script never receives a page it cannot parse. One rule for every URL that
    serves both (the endpoint without a query, resource pages).

    >>> prefers_html("text/html,application/xhtml+xml,*/*;q=0.8")
    True
    >>> prefers_html("*/*"), prefers_html("text/html, text/turtle"), prefers_html("text/turtle;q=0.5, text/html")
    (False, False, True)
    """
    accept_ = parse_accept(accept)
    named = [(value.lower(), q) for value, q in accept_ if "*" not in value]  # wildcards do not count
    html = max((q for value, q in named if value in ("text/html", "application/xhtml+xml")), default=0.0)
    rdf_types = {f.media_type for f in FORMATS if f.kind in (GRAPH, DATASET)}
    rdf = max((q for value, q in named if value in rdf_types), default=0.0)
    return html > 0 and html > rdf
