"""The home page: what the graph holds, the answer to the question most visitors bring, links to everything."""

from __future__ import annotations

from flask import Blueprint, render_template, request

from ..articletext import article_ids
from ..formats import DATASET, FORMATS, GRAPH
from ..overview import class_counts, foreign_minister_meetings, latest_events
from .named import named_queries
from .state import service

bp = Blueprint("home", __name__)


@bp.get("/")
def home() -> str:
    svc = service()
    data = svc.cached(("home", svc.kg.version), lambda: {
        "counts": class_counts(svc.kg), "articles": article_ids(svc.kg), "latest": latest_events(svc.kg),
        "ministers": foreign_minister_meetings(svc.kg)})
    dumps = [f for f in FORMATS if f.kind in (GRAPH, DATASET)]
    return render_template("home.html", **data, endpoint=request.url_root + "sparql", dumps=dumps,
                           queries=list(named_queries().values()), triples=len(svc.kg))
