"""Whole graphs: Graph Store Protocol reads (``/data``) and dumps of the dataset (``/dump.*``).

Both are streamed from files written once per graph version and format (`reads`), gzipped once too,
with an ETag from their bytes and the data's Last-Modified, so a client that has them gets 304.
Reading a graph is a scan, not a query: it cannot run away; how many run at once is bounded.
"""

from __future__ import annotations

import datetime as dt

import pyoxigraph as ox
from flask import Blueprint, Response, current_app, request

from ..errors import Busy, Location, NotFound, UsageError
from ..formats import DATASET, GRAPH, Format, find_format
from ..negotiation import choose_format
from .reads import ReadFiles, input_mtime, stream
from .state import Service, service

bp = Blueprint("graphs", __name__)


@bp.route("/data")
def data() -> Response:
    """Graph Store Protocol, read: ``?default`` or ``?graph=IRI``, exactly one of them."""
    has_default, names = "default" in request.args, request.args.getlist("graph")
    if has_default == bool(names) or len(names) > 1:
        raise UsageError("ask for exactly one graph: ?default or ?graph=IRI", Location(field="graph"))
    fmt = choose_format(request.headers.get("Accept"), [GRAPH, DATASET], request.args.getlist("format"))
    if names:
        try:
            ox.NamedNode(names[0])
        except ValueError as exc:  # pyoxigraph refuses a malformed IRI
            raise UsageError(f"not an IRI: {exc}", Location(field="graph")) from None
    response = send_read(names[0] if names else None, fmt)
    response.headers["Vary"] = "Accept, Accept-Encoding"
    return response


@bp.route("/dump.<ext>")
def dump(ext: str) -> Response:
    """The whole dataset in the format named by the extension, with caching headers and gzip."""
    fmt = find_format(ext)
    if fmt is None or fmt.kind not in (GRAPH, DATASET) or ext not in (fmt.name, fmt.extension):
        raise NotFound(f"no dump /dump.{ext}")
    response = send_read("*" if fmt.kind == DATASET else None, fmt)
    response.headers["Content-Disposition"] = f'attachment; filename="kg-service.{fmt.extension}"'
    response.headers["Vary"] = "Accept-Encoding"
    return response


def send_read(graph: str | None, fmt: Format) -> Response:
    """Stream the read file of `graph` in `fmt` (gzipped when the client takes it), with a content ETag and
    the data's Last-Modified; 304 when the client's copy is current; 503 when too many reads run."""
    svc = service()
    reads: ReadFiles = current_app.extensions["kg_service.reads"]
    compressed = _gzip_ok()
    for attempt in range(2):  # a newer version may drop this file between finding and opening it: once more
        read = reads.file(svc.kg, graph, fmt, gzipped=compressed)
        try:
            data = read.path.open("rb")
            break
        except FileNotFoundError:
            if attempt:
                raise
    response = Response(content_type=fmt.media_type + ("; charset=utf-8" if fmt.media_type.startswith("text/") else ""))
    if compressed:
        response.headers["Content-Encoding"] = "gzip"
    response.set_etag(read.etag)
    changed = last_change(svc)
    if changed is not None:
        response.last_modified = dt.datetime.fromtimestamp(int(changed), dt.UTC)
    response.cache_control.public = True
    response.cache_control.max_age = 60
    if _not_modified(read.etag, changed):
        data.close()
        response.status_code = 304
        return response
    response.content_length = read.size
    client = request.remote_addr or "-"
    try:
        token = reads.admit(client)
    except Busy:
        data.close()
        raise
    response.response = stream(data, lambda: reads.release(client, token))
    return response


def last_change(svc: Service) -> float | None:
    """When the served data last changed: the last add or update, else its newest input file."""
    if svc.kg.version != current_app.extensions["kg_service.first_version"]:
        return svc.loaded_at
    return input_mtime(svc.kg, svc.settings.seeds_dir)


def _not_modified(etag: str, changed: float | None) -> bool:
    """RFC 9110 13.2.2: If-None-Match decides when present; otherwise If-Modified-Since."""
    if request.if_none_match:
        return request.if_none_match.contains_weak(etag)
    since = request.if_modified_since
    return since is not None and changed is not None and int(changed) <= since.timestamp()


def _gzip_ok() -> bool:
    """Whether Accept-Encoding allows gzip (``gzip`` or ``*`` with q > 0); werkzeug parses the q-values."""
    return bool(request.headers.get("Accept-Encoding")) and request.accept_encodings["gzip"] > 0
