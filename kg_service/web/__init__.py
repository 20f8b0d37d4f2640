"""The web face of kg-service: a Flask app factory, one blueprint per feature.

`create_app(settings, kg)` builds nothing at import time. Every error leaves as a JSON body
(`KgError.as_dict()`) or plain text, with the status its cause decides; anything unexpected is a
500 with a generic message and the traceback in the log only. Every response allows any origin
(CORS, see `cors`): the service is a public endpoint, and the write token is a header, not a cookie.
One log line per request carries method, path, status, milliseconds and a short hash of the query,
so slow queries can be found without logging their text.
"""

from __future__ import annotations

import atexit
import logging
import time
from collections.abc import Iterable
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from flask import Flask, Response, g, jsonify, request
from flask.json.provider import DefaultJSONProvider
from werkzeug.exceptions import HTTPException

from ..errors import KgError, Location, UsageError
from ..settings import Settings
from ..store import KnowledgeGraph
from .cors import add_cors
from .lean import ERROR_KEY, LeanSparql, log_request
from .reads import ReadFiles
from .security import security_headers
from .state import Service, service
from .workers import WorkerPool

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

log = logging.getLogger("kg_service.web")


def create_app(settings: Settings | None = None, kg: KnowledgeGraph | None = None, *,
               pool: WorkerPool | None = None) -> Flask:
    """The app serving `kg` (the built seeds when None). `pool` lets tests share one worker pool
    between many apps; otherwise the app starts its own (`Settings.query_workers`, default 2)."""
    from . import (
        aliases,
        article_page,
        describe,
        draft,
        entity,
        graph_store,
        graphs,
        home,
        named,
        ops,
        pages,
        query_page,
        search,
        sparql,
        timeline,
        validation,
    )

    settings = settings or Settings.from_env()
    if kg is None:
        from ..backends import open_graph

        kg = open_graph(settings)
    pool = pool or WorkerPool.from_settings(settings)
    pool.register(kg)
    app = Flask(__name__)
    assert isinstance(app.json, DefaultJSONProvider)  # Flask's own, not replaced here
    app.json.sort_keys = False
    # Werkzeug answers 413 for a larger body before a view reads it (form, query or upload).
    app.config["MAX_CONTENT_LENGTH"] = settings.max_upload_bytes
    app.extensions["kg_service"] = Service(settings, kg, pool)
    reads = ReadFiles()
    atexit.register(reads.close)
    app.extensions["kg_service.reads"] = reads  # large reads: files written once per version, then streamed
    app.extensions["kg_service.first_version"] = kg.version  # Last-Modified: from the inputs until a change
    app.before_request(_start_clock)  # first, so a blueprint's own before-request hook is timed too
    app.before_request(_lean_error)
    for module in (sparql, describe, graphs, named, ops, pages, validation, home, entity, article_page, query_page,
                   timeline, search, draft, graph_store, aliases):
        app.register_blueprint(module.bp)
    app.register_error_handler(KgError, _kg_error)
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(Exception, _internal_error)
    app.after_request(_finish)
    lean = LeanSparql(app.wsgi_app, app.extensions["kg_service"])
    app.extensions["kg_service.lean"] = lean  # a front's server runs plain queries on its event loop (`native`)
    public = PublicHost(lean, settings.public_url)
    app.extensions["kg_service.public_host"] = public  # a front's server fixes the host before the lean path
    app.wsgi_app = public  # type: ignore[method-assign]
    return app


class PublicHost:
    """WSGI middleware: every URL the app generates (service description, VoID, links, base IRIs) names
    the configured public URL, or else the address the server listens on; never the client's ``Host``
    or ``X-Forwarded-*`` headers, which anyone can forge to plant their own host in our pages."""

    def __init__(self, app: WSGIApplication, public_url: str):
        self.app = app
        parts = urlsplit(public_url.rstrip("/")) if public_url else None
        if parts is not None and (parts.scheme not in ("http", "https") or not parts.netloc):
            raise UsageError(f"not an http(s) URL: {public_url!r}", Location(field="KG_PUBLIC_URL"))
        self.public = parts

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        self.fix(environ)
        return self.app(environ, start_response)

    def fix(self, environ: WSGIEnvironment) -> None:
        """Set the host and scheme of `environ` as the URLs must name them; drop the forwarding headers.
        Once per request: a front's server (`native`) calls it before the app does."""
        if environ.get("kg_service.public_host"):
            return
        environ["kg_service.public_host"] = True
        if self.public is not None:
            environ["wsgi.url_scheme"] = self.public.scheme
            environ["HTTP_HOST"] = self.public.netloc
            environ["SCRIPT_NAME"] = self.public.path + environ.get("SCRIPT_NAME", "")
        else:  # the server's own name and port (waitress takes them from its socket), never the request's
            name = environ.get("SERVER_NAME") or "localhost"
            name = "localhost" if name.endswith(".invalid") else name  # waitress's placeholder for a bare IP
            environ["HTTP_HOST"] = f"{name}:{environ.get('SERVER_PORT', '80')}"
        for name in ("HTTP_X_FORWARDED_HOST", "HTTP_X_FORWARDED_PROTO", "HTTP_FORWARDED"):
            environ.pop(name, None)


def error_response(body: dict[str, object], status: int) -> Response:
    """JSON unless the client prefers plain text (``Accept: text/plain``)."""
    accept = request.accept_mimetypes
    if accept and accept["text/plain"] > accept["application/json"]:
        return Response(f"{status} {body.get('error')}: {body.get('message')}\n", status,
                        content_type="text/plain; charset=utf-8")
    response = jsonify(body)
    response.status_code = status
    return response


def _kg_error(exc: KgError) -> Response:
    response = error_response(exc.as_dict(), exc.http_status)
    if exc.http_status == 401:  # RFC 9110: a 401 names the scheme to use
        response.headers["WWW-Authenticate"] = 'Bearer realm="kg-service"'
    if getattr(exc, "retry_after", None):  # errors.Busy: all slots taken, try again shortly
        response.headers["Retry-After"] = str(exc.retry_after)  # type: ignore[attr-defined]
    return response


def _http_error(exc: HTTPException) -> Response:
    kind = (exc.name or "error").lower().replace(" ", "-")
    message = exc.description
    if exc.code == 413:  # werkzeug's text does not say what the limit is
        kind = "too-large"
        message = f"the request body is larger than the {service().settings.max_upload_bytes} bytes accepted here"
    response = error_response({"error": kind, "message": message, "status": exc.code}, exc.code or 500)
    if exc.code == 405 and exc.response is None:
        response.headers["Allow"] = ", ".join(getattr(exc, "valid_methods", None) or [])
    return response


def _internal_error(exc: Exception) -> Response:
    log.exception("internal error on %s %s", request.method, request.path)
    return error_response({"error": "internal-error", "message": "internal error; it has been logged",
                           "status": 500}, 500)


def _start_clock() -> None:
    g.started = time.monotonic()


def _lean_error() -> None:
    """A query the lean path (`lean`) ran and that failed: answered here, by the one error handler."""
    failed = request.environ.get(ERROR_KEY)
    if failed is not None:
        g.query_text = failed[1]
        raise failed[0]


def _finish(response: Response) -> Response:
    """Security and CORS headers, metrics and the request log line."""
    for name, value in security_headers(response.mimetype or ""):
        response.headers.setdefault(name, value)
    add_cors(request, response)
    service().metrics.count_request(request.method, response.status_code)
    log_request(request.method, request.path, response.status_code, g.get("started", time.monotonic()),
                g.get("query_text"))
    return response
