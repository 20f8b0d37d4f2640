"""The HTML pages' shared parts: templates, the project's own static files (no CDN), links and headers.

Resource IRIs live under `vocab.BASE` (``https://w3id.org/kg-service/``); a page links each to its
page on *this* host (`local_url`), so the service browses the same offline or behind another name.
The app's Content-Security-Policy (``web/security.py``) allows only the service's own scripts and
styles, so the templates use no inline script, style attribute or event handler.
"""

from __future__ import annotations

from urllib.parse import quote, urlencode

from flask import Blueprint, Response, render_template, request

from ..negotiation import prefers_html
from ..pagedata import Value, article_id_of
from ..vocab import BASE

bp = Blueprint("pages", __name__, static_folder="static", static_url_path="/static", template_folder="templates")

HTML = "text/html; charset=utf-8"
CLASS_SHAPES = {"Meeting": "circle", "Ruling": "square", "TradeMeasure": "triangle", "Agreement": "diamond",
                "Visit": "hexagon", "Ceremony": "star", "Dispute": "square", "Announcement": "circle"}


def local_url(iri: str | None) -> str | None:
    """Where a link to `iri` goes: our resources to their pages here, article graphs to their Turtle,
    other http(s) IRIs to themselves, anything else (ontology terms, ``javascript:``) nowhere.

    >>> local_url(BASE + "id/person/park-jin"), local_url(BASE + "id/article/003_11110d5589b8cc2d")
    ('/id/person/park-jin', '/articles/003_11110d5589b8cc2d')
    >>> local_url(BASE + "graph/meta"), local_url("javascript:alert(1)")
    ('/data?graph=https%3A%2F%2Fw3id.org%2Fkg-service%2Fgraph%2Fmeta&format=ttl', None)
    """
    if not iri:
        return None
    root = _script_root()
    if iri.startswith(BASE + "id/article/") and article_id_of(iri):
        return f"{root}/articles/{article_id_of(iri)}"
    if iri.startswith(BASE + "id/"):
        path, _, fragment = iri[len(BASE):].partition("#")
        return root + "/" + quote(path, safe="/-_.~") + (f"#{quote(fragment, safe='-_.~')}" if fragment else "")
    if iri.startswith(BASE + "graph/"):
        return f"{root}/data?" + urlencode({"graph": iri, "format": "ttl"})
    if iri.startswith(BASE):  # ontology terms: no page of their own here, and w3id.org may be out of reach
        return None
    if iri.startswith(("http://", "https://")):
        return iri
    return None


def _script_root() -> str:
    try:
        return request.script_root
    except RuntimeError:  # outside a request (doctests)
        return ""


@bp.app_template_global()
def is_local(iri: str | None) -> bool:
    return iri is not None and iri.startswith(BASE)


def browser_wants_html() -> bool:
    """HTML for a browser (`negotiation.prefers_html`), unless ``format=`` asks for RDF."""
    return not request.args.get("format") and prefers_html(request.headers.get("Accept"))


def not_found_page(message: str) -> Response:
    return Response(render_template("404.html", message=message), 404, content_type=HTML)


@bp.app_template_filter("href")
def _href(value: Value | str | None) -> str | None:
    return local_url(value.iri if isinstance(value, Value) else value)


@bp.app_template_global()
def class_shape(kind: str) -> str:
    """The marker shape of an event class, so classes differ by shape as well as colour."""
    return CLASS_SHAPES.get(kind, "circle")
