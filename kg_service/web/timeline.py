"""``/timeline``: every event on a time axis, filterable by issue, actor, class and year with plain GET
parameters (no JavaScript), grouped by year and cut into pages so thousands of events stay usable.

An overview chart (server-drawn SVG, one stacked bar per year, coloured by class) links each year
to the list filtered to it; the list marks held events with filled shapes and planned, expected or
not-held ones with hollow shapes and a word, so colour is never the only signal.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlencode

from flask import Blueprint, render_template, request, url_for

from ..timeline import by_year, filter_events, load_timeline, year_counts
from ..vocab import EVENT_CLASSES
from .state import service

bp = Blueprint("timeline", __name__)
PAGE_SIZE = 300
CHART_HEIGHT = 120


@dataclass(frozen=True)
class Bar:
    year: str
    x: float
    width: float
    total: int
    parts: tuple[tuple[str, float, float, int], ...]  # (class, y, height, count)
    href: str


@bp.get("/timeline")
def timeline() -> str:
    svc = service()
    data = svc.cached(("timeline", svc.kg.version), lambda: load_timeline(svc.kg))
    issue, actor = request.args.get("issue") or None, request.args.get("actor") or None
    kind = request.args.get("kind") if request.args.get("kind") in EVENT_CLASSES else None
    year = request.args.get("year") or None
    chosen = filter_events(data.events, issue=issue, actor=actor, kind=kind)
    shown = [e for e in chosen if not year or (e.year or "Undated") == year]
    page = max(1, request.args.get("page", 1, type=int) or 1)
    pages = max(1, -(-len(shown) // PAGE_SIZE))
    page = min(page, pages)
    filters = {k: v for k, v in (("issue", issue), ("actor", actor), ("kind", kind)) if v}
    return render_template(
        "timeline.html", groups=by_year(shown[(page - 1) * PAGE_SIZE: page * PAGE_SIZE]), total=len(data.events),
        matching=len(shown), issues=data.issues, actors=data.actors, issue=issue, actor=actor, kind=kind, year=year,
        kinds=list(EVENT_CLASSES), bars=chart(chosen, filters), page=page, pages=pages,
        page_url=lambda n: url_for("timeline.timeline") + "?" + urlencode({**filters, **({"year": year} if year
                                                                                       else {}), "page": n}),
        all_years_url=url_for("timeline.timeline") + ("?" + urlencode(filters) if filters else ""),
        chart_height=CHART_HEIGHT)


def chart(events: list, filters: dict[str, str]) -> list[Bar]:
    """One stacked bar per year, scaled to the busiest year; each links to that year's events."""
    counts = year_counts(events)
    if not counts:
        return []
    most = max(sum(c.values()) for _, c in counts) or 1
    width = 1000 / len(counts)
    bars = []
    for i, (year, counter) in enumerate(counts):
        y, parts = float(CHART_HEIGHT), []
        for kind in EVENT_CLASSES:
            if counter[kind]:
                height = counter[kind] / most * (CHART_HEIGHT - 10)
                y -= height
                parts.append((kind, round(y, 2), round(height, 2), counter[kind]))
        href = url_for("timeline.timeline") + "?" + urlencode({**filters, "year": year})
        bars.append(Bar(year, round(i * width, 2), round(width, 2), sum(counter.values()), tuple(parts), href))
    return bars
