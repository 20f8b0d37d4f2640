"""``/articles/`` and ``/articles/ID``: the articles, each read verbatim with its evidence quotes marked.

Each mark is a link to a note beside the text naming the facts the quote supports, each a link to
its page; the note links back to the mark. GET only: ``POST /articles`` (adding an article) belongs
to the validation blueprint.
"""

from __future__ import annotations

from flask import Blueprint, Response, render_template, url_for

from ..articletext import article_ids, load_article
from .pages import HTML, not_found_page
from .state import service

bp = Blueprint("article_page", __name__)


@bp.get("/articles/")
def articles() -> str:
    svc = service()
    listing = svc.cached(("articles", svc.kg.version), lambda: article_ids(svc.kg))
    return render_template("articles.html", articles=listing)


@bp.get("/articles")
def articles_without_slash() -> Response:
    """``/articles`` as a GET reads the list; the same path by POST adds an article (another blueprint)."""
    return Response(status=308, headers={"Location": url_for("article_page.articles")})


@bp.get("/articles/<article_id>")
def article(article_id: str) -> Response:
    svc = service()
    data = load_article(svc.kg, article_id, svc.settings.seeds_dir)
    if data is None:
        return not_found_page(f"There is no article {article_id!r} in the graph.")
    graph_url = url_for("graphs.data", graph=data.graph, format="ttl")
    return Response(render_template("article.html", a=data, graph_url=graph_url), content_type=HTML)
