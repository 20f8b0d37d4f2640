"""Whole graphs: Graph Store Protocol reads (``/data``) and dumps of the dataset (``/dump.*``).

Dumps are computed once per graph version and format, gzipped once too, and served with an ETag
and Last-Modified so a client that has them gets 304. Reading one graph is a scan, not a query:
it cannot run away, so it is answered in the web process.
"""

from __future__ import annotations

import datetime as dt
import gzip

import pyoxigraph as ox
from flask import Blueprint, Response, request

from ..errors import Location, NotFound, UsageError
from ..formats import DATASET, GRAPH, Format, find_format, written
from ..negotiation import choose_format
from ..vocab import PREFIXES
from .state import service

bp = Blueprint("graphs", __name__)


@bp.route("/data")
def data() -> Response:
    """Graph Store Protocol, read: ``?default`` or ``?graph=IRI``, exactly one of them."""
    has_default, names = "default" in request.args, request.args.getlist("graph")
    if has_default == bool(names) or len(names) > 1:
        raise UsageError("ask for exactly one graph: ?default or ?graph=IRI", Location(field="graph"))
    fmt = choose_format(request.headers.get("Accept"), [GRAPH, DATASET], request.args.getlist("format"))
    try:
        triples = service().kg.triples(names[0] if names else None)
    except ValueError as exc:  # pyoxigraph refuses a malformed IRI
        raise UsageError(f"not an IRI: {exc}", Location(field="graph")) from None
    body = written(ox.serialize(triples, format=fmt.rdf, prefixes=PREFIXES))
    return Response(body, content_type=fmt.media_type, headers={"Vary": "Accept"})


def dump_bytes(fmt: Format, compressed: bool) -> bytes:
    svc = service()
    plain = svc.cached(("dump", svc.kg.version, fmt.name), lambda: svc.kg.dump(fmt))
    if not compressed:
        return plain
    return svc.cached(("dump.gz", svc.kg.version, fmt.name), lambda: gzip.compress(plain, mtime=0))


@bp.route("/dump.<ext>")
def dump(ext: str) -> Response:
    """The whole dataset in the format named by the extension, with caching headers and gzip."""
    fmt = find_format(ext)
    if fmt is None or fmt.kind not in (GRAPH, DATASET) or ext not in (fmt.name, fmt.extension):
        raise NotFound(f"no dump /dump.{ext}")
    svc = service()
    compressed = _gzip_ok()
    response = Response(dump_bytes(fmt, compressed), content_type=fmt.media_type)
    response.headers["Content-Disposition"] = f'attachment; filename="kg-service.{fmt.extension}"'
    response.headers["Vary"] = "Accept-Encoding"
    if compressed:
        response.headers["Content-Encoding"] = "gzip"
    response.set_etag(f"{svc.kg.version}-{fmt.name}{'-gz' if compressed else ''}")
    response.last_modified = dt.datetime.fromtimestamp(svc.loaded_at, dt.UTC)  # the same header as the timestamp
    response.cache_control.public = True
    response.cache_control.max_age = 300
    response.make_conditional(request)  # changes the response in place
    return response


def _gzip_ok() -> bool:
    """Whether Accept-Encoding allows gzip (``gzip`` or ``*`` with q > 0); werkzeug parses the q-values."""
    return bool(request.headers.get("Accept-Encoding")) and request.accept_encodings["gzip"] > 0
