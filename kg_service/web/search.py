"""``GET /search``: find known events and register entities, with the id to paste into a mapping.

A thin view over search.py (the code ``kg-service find`` runs): ``q`` (label or spelling, fuzzy),
``class`` (event class or entity kind), ``from``/``to`` (YYYY, YYYY-MM or YYYY-MM-DD, against the
resolved dates), ``who`` (entity key or spelling), ``limit``. A browser gets a page; anything else,
or ``format=json``, gets ``{"query": {...}, "results": [...]}``. A bad parameter is a 400 with the
JSON error body (or the page with the message). The index is read once per served graph version.
"""

from __future__ import annotations

from flask import Blueprint, Response, jsonify, render_template, request

from ..draft_names import Spellings
from ..errors import KgError, NotAcceptable
from ..search import find
from ..search_index import ENTITY_KINDS, EVENT_CLASSES, Index, load_index
from .pages import HTML
from .state import service

bp = Blueprint("search", __name__)
PARAMS = ("q", "class", "from", "to", "who")


def search_index() -> tuple[Index, Spellings]:
    """The index and compiled spellings of the graph served now (computed once per version)."""
    kg = service().kg

    def compute() -> tuple[Index, Spellings]:
        from ..draft_text import parse_absolute

        index = load_index(kg)
        parse_absolute("1 January 2000")  # dateparser loads its language data now, not in the first draft
        return index, Spellings(index)

    return service().cached(("search-index", kg.version), compute)


@bp.get("/search")
def search() -> Response:
    fmt = _format()
    values = {name: request.args.get(name, "").strip() for name in PARAMS}
    try:
        limit = min(max(int(request.args.get("limit", "50")), 1), 1000)
    except ValueError:
        limit = 50
    asked = any(values.values())
    try:
        hits = find(search_index()[0], values["q"], cls=values["class"] or None, date_from=values["from"] or None,
                    date_to=values["to"] or None, who=values["who"] or None, limit=limit) if asked or fmt == "json" \
            else []
    except KgError as exc:
        if fmt == "json":
            raise
        return Response(_page(values, [], asked, str(exc)), exc.http_status, content_type=HTML)
    if fmt == "json":
        return jsonify({"query": {**values, "limit": limit}, "results": [h.as_dict() for h in hits]})
    return Response(_page(values, hits, asked, None), content_type=HTML)


def _page(values: dict[str, str], hits: list, asked: bool, error: str | None) -> str:
    return render_template("search.html", values=values, hits=hits, asked=asked, error=error,
                           classes=EVENT_CLASSES, kinds=ENTITY_KINDS)


def _format() -> str:
    """json or html: ``format=`` first, then Accept (a browser gets the page)."""
    from .pages import browser_wants_html

    override = request.args.get("format", "").lower()
    if override:
        if override not in ("json", "html"):
            raise NotAcceptable(f"unknown format {override!r}: the search answers json or html")
        return override
    return "html" if browser_wants_html() else "json"
