"""The lean path: a plain SPARQL query answered without Flask.

Most requests an analyst's tools send are the same shape: a query to ``/sparql`` by GET or POST, one
``query``, maybe a dataset and a format. For a cheap query Flask's request, routing, hooks and response
objects cost more than the engine does (measured at seed scale: ~1 ms of CPU against ~0.3 ms for the
query), so this WSGI middleware answers that shape itself, with the same orchestration (`run.plan`,
`run.run_planned`), the same headers, metrics and log line as the Flask view. Everything else, and
every request that is not plainly that shape (an update, no query, a conditional request, HEAD, an
odd charset, a body without a length), goes to the app unchanged. A query that fails is handed to the
app's one error handler (`ERROR_KEY`), so its error response is the app's, byte for byte.
"""

from __future__ import annotations

import functools
import hashlib
import io
import logging
import time
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING
from urllib.parse import parse_qs

from werkzeug.sansio.utils import get_current_url, get_host

from ..errors import KgError
from .cors import CORS_HEADERS
from .run import QueryRequest, Result, arun_planned, client_gone, plan, run_planned
from .security import security_headers
from .state import Service

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

log = logging.getLogger("kg_service.web")

ERROR_KEY = "kg_service.lean_error"  # the error a lean query raised, for the app to answer
FORM = "application/x-www-form-urlencoded"
DIRECT = "application/sparql-query"
UTF8 = ("", "charset=utf-8", "charset=utf8")


class LeanSparql:
    """WSGI middleware in front of the app: answers plain ``/sparql`` queries, passes on the rest."""

    def __init__(self, app: WSGIApplication, svc: Service):
        self.app, self.svc = app, svc

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        started = time.monotonic()
        request = None if ERROR_KEY in environ else plain_query(environ, self.svc.settings.max_upload_bytes)
        if request is None:
            return self.app(environ, start_response)
        svc = self.svc
        version = svc.kg.version  # read once: an add or update meanwhile must not mix two versions
        try:
            result = run_planned(svc, version, plan(request, svc.settings, version), client_gone(environ))
        except KgError as exc:
            environ[ERROR_KEY] = (exc, request.text)
            return self.app(environ, start_response)
        headers = self.answered(environ, result)
        log_request(environ["REQUEST_METHOD"], "/sparql", 200, started, request.text)
        start_response("200 OK", headers)
        return [result.body]

    async def answer(self, environ: WSGIEnvironment, request: QueryRequest,
                     gone: Callable[[], bool]) -> tuple[list[tuple[str, str]], bytes] | None:
        """The headers and body of a plain query, answered on a front's event loop (`native`, which logs it
        once sent); None when it failed: then the error is in ``environ[ERROR_KEY]`` for the app to answer."""
        svc = self.svc
        version = svc.kg.version
        try:
            result = await arun_planned(svc, version, plan(request, svc.settings, version), gone)
        except KgError as exc:
            environ[ERROR_KEY] = (exc, request.text)
            return None
        return self.answered(environ, result), result.body

    def asynchronous(self) -> bool:
        """Whether `answer` can run the current version (in a front, on its in-memory store)."""
        return self.svc.pool.runs_async(self.svc.kg.version)

    def answered(self, environ: WSGIEnvironment, result: Result) -> list[tuple[str, str]]:
        """Count a 200 answer; its headers."""
        self.svc.metrics.count_request(environ["REQUEST_METHOD"], 200)
        media_type = result.headers["Content-Type"].partition(";")[0]
        return [*result.headers.items(), *security_headers(media_type), *CORS_HEADERS,  # as the app's `_finish`
                ("Content-Length", str(len(result.body)))]


def log_request(method: str, path: str, status: int, started: float, text: str | None) -> None:
    """The one log line per request: method, path, status, milliseconds and a short hash of the query."""
    if log.isEnabledFor(logging.INFO):
        digest = hashlib.sha256(text.encode()).hexdigest()[:12] if text else "-"
        milliseconds = (time.monotonic() - started) * 1000
        # Made here, not by `log.info`, which looks up the stack for the caller's file and line on every call.
        log.handle(log.makeRecord(log.name, logging.INFO, __file__, 0, "%s %s %s %.1fms q=%s",
                                  (method, path, status, milliseconds, digest), None))


def plain_query(environ: WSGIEnvironment, max_body: int) -> QueryRequest | None:
    """The query of a plain ``/sparql`` query request, or None when the app should answer it. A body read
    here is put back, so the app reads it as sent."""
    method = environ.get("REQUEST_METHOD")
    if (environ.get("PATH_INFO") != "/sparql" or method not in ("GET", "POST")
            or "HTTP_IF_NONE_MATCH" in environ):
        return None
    params = _params(environ.get("QUERY_STRING", ""))
    if params is None:
        return None
    if method == "POST":
        kind, _, options = environ.get("CONTENT_TYPE", "").partition(";")
        kind, options = kind.strip().lower(), options.strip().lower().replace(" ", "")
        length = environ.get("CONTENT_LENGTH") or ""
        if (kind not in (FORM, DIRECT) or options not in UTF8 or not length.isdigit()
                or int(length) > max_body or environ.get("HTTP_TRANSFER_ENCODING")):
            return None
        body = environ["wsgi.input"].read(int(length))
        environ["wsgi.input"] = io.BytesIO(body)
        if len(body) != int(length):
            return None
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError:
            return None
        if kind == DIRECT:
            if "query" in params:
                return None
            params["query"] = [text]
        else:
            form = _params(text)
            if form is None or set(form) & set(params) & {"query", "update"}:
                return None
            params.update(form)
    queries = params.get("query", ())
    if len(queries) != 1 or "update" in params:
        return None
    base = _root_url(environ.get("wsgi.url_scheme", "http"), environ.get("HTTP_HOST"), environ.get("SCRIPT_NAME", ""))
    return QueryRequest(queries[0], tuple(params.get("default-graph-uri", ())),
                        tuple(params.get("named-graph-uri", ())), (), params, environ.get("HTTP_ACCEPT"),
                        base_iri=base + "sparql", cacheable=method == "GET")


@functools.lru_cache(maxsize=64)
def _root_url(scheme: str, host: str | None, script_name: str) -> str:
    """Flask's ``request.url_root`` for these (the base IRI must be the one the app's view gives)."""
    return get_current_url(scheme, get_host(scheme, host), script_name.encode("latin-1").decode("utf-8", "replace"))


def _params(text: str) -> dict[str, list[str]] | None:
    """URL-encoded parameters as the app reads them (`urllib.parse.parse_qs`), or None for a text the app
    should judge (bytes that are not UTF-8 once decoded).

    A query in a form is mostly escapes (``%7B``, ``%3F``, ...), which the standard library decodes one by
    one in Python (~50 us for a named query's text); `_unquote` has Python's codecs decode them all at
    once (~12 us), and any text it is not sure of goes to `parse_qs`, so the result is parse_qs's always
    (``tests/test_web_sparql.py`` checks that on generated texts)."""
    try:
        return _fast_params(text)
    except (UnicodeError, ValueError):
        pass
    try:
        return parse_qs(text, keep_blank_values=True, errors="strict")
    except (UnicodeDecodeError, ValueError):
        return None


def _fast_params(text: str) -> dict[str, list[str]]:
    """`parse_qs` (keeping blank values) for the texts `_unquote` can decode; raises for the others."""
    params: dict[str, list[str]] = {}
    for pair in text.split("&"):
        if pair:
            name, _, value = pair.partition("=")
            params.setdefault(_unquote(name), []).append(_unquote(value))
    return params


def _unquote(part: str) -> str:
    r"""`urllib.parse.unquote_plus` of `part` in strict UTF-8, by the ``unicode_escape`` codec: each ``%XX``
    becomes ``\xXX`` (backslashes doubled first, so no other escape exists). A ``%`` not followed by two
    hex digits, which unquote keeps as it is, makes the codec raise: the caller then asks parse_qs.

    >>> _unquote("SELECT+%3Fs+%7B%7D+caf%C3%A9+%5C+%25")
    'SELECT ?s {} café \\ %'
    """
    part = part.replace("+", " ")
    if "%" not in part:
        return part
    escaped = part.replace("\\", "\\\\").replace("%", "\\x").encode("utf-8")
    return escaped.decode("unicode_escape").encode("latin-1").decode("utf-8")
