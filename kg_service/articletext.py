"""An article as its page shows it: metadata, the verbatim text, and the evidence quotes marked in it.

The quotes' code-point offsets (``oa:TextPositionSelector``) index the verbatim text, so the text is
cut into segments at every quote boundary; each segment knows which quotes cover it. Templates then
escape each segment and wrap the covered ones in ``<mark>``: the markup is never built from the
article's characters, so an article containing ``<script>`` shows it as text. Quotes may overlap
(a statement's quote inside an event's), which is why segments carry sets, not one quote each.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pyoxigraph as ox

from .pagedata import PAGE_LIMIT, Value, labels, local_name, select
from .store import KnowledgeGraph
from .vocab import article_graph, article_iri, is_key
from .wellformed import is_text_name


@dataclass(frozen=True)
class Segment:
    text: str
    spans: tuple[str, ...] = ()  # keys of the quotes covering this segment, shortest quote first
    starts: tuple[str, ...] = ()  # keys of the quotes that begin here (their anchors go on this segment)


@dataclass
class Highlight:
    """One evidence quote in the text and the facts it supports."""

    key: str  # "S-E": unique within the article, used for the anchors ev-S-E and note-S-E
    start: int
    end: int
    exact: str
    facts: list[tuple[Value, str, tuple[str, ...]]] = field(default_factory=list)  # (resource, class, supports)


@dataclass
class Article:
    id: str
    iri: str
    graph: str
    title: str
    metadata: list[tuple[str, Value]]
    text: str | None
    highlights: list[Highlight]
    segments: list[Segment]


def segment(text: str, spans: dict[str, tuple[int, int]]) -> list[Segment]:
    """Cut `text` at every span boundary; each piece lists the spans covering it, shortest first.

    >>> [(s.text, s.spans, s.starts) for s in segment("Japan and Korea met.", {"a": (0, 5), "b": (0, 15)})]
    [('Japan', ('a', 'b'), ('a', 'b')), (' and Korea', ('b',), ()), (' met.', (), ())]
    """
    bounds = sorted({0, len(text), *(min(max(p, 0), len(text)) for span in spans.values() for p in span)})
    order = sorted(spans, key=lambda k: (spans[k][1] - spans[k][0], spans[k][0]))
    pieces: list[Segment] = []
    started: set[str] = set()
    for left, right in zip(bounds, bounds[1:], strict=False):
        covering = tuple(k for k in order if spans[k][0] <= left and right <= spans[k][1])
        starts = tuple(k for k in covering if k not in started)
        started.update(starts)
        pieces.append(Segment(text[left:right], covering, starts))
    return pieces


def article_ids(kg: KnowledgeGraph) -> list[dict[str, str | Value | None]]:
    """Every article with its title, publisher and date, latest added (highest file number) first."""
    rows = select(kg, f"""SELECT ?a ?title ?date ?publisher ?file WHERE {{
        ?a a dkg:Article . OPTIONAL {{ ?a dcterms:title ?title }} OPTIONAL {{ ?a dkg:publicationDate ?date }}
        OPTIONAL {{ ?a dkg:publisher ?publisher }} OPTIONAL {{ ?a dkg:sourceFile ?file }} }}
        ORDER BY DESC(?file) DESC(?a) LIMIT {PAGE_LIMIT}""")
    names = labels(kg, [r["publisher"].value for r in rows if "publisher" in r])
    seen: set[str] = set()
    articles: list[dict[str, str | Value | None]] = []
    for row in rows:
        iri = row["a"].value
        key = iri.rsplit("/", 1)[-1]
        if iri in seen or not is_key(key):
            continue
        seen.add(iri)
        publisher = row.get("publisher")
        articles.append({"id": key, "iri": iri, "title": row["title"].value if "title" in row else key,
                         "date": row["date"].value if "date" in row else None,
                         "publisher": Value(names.get(publisher.value, local_name(publisher.value)), publisher.value)
                         if publisher is not None else None})
    return articles


def load_article(kg: KnowledgeGraph, article_id: str, seeds_dir: Path) -> Article | None:
    """The article page's data, or None for an unknown article. The text is read from `seeds_dir` by the
    file name the metadata records; a name that is not a plain file name there is not followed."""
    if not is_key(article_id):
        return None
    iri, graph = str(article_iri(article_id)), str(article_graph(article_id))
    me = ox.NamedNode(iri)
    rows = select(kg, f"SELECT ?me ?p ?o WHERE {{ ?me ?p ?o }} LIMIT {PAGE_LIMIT}", me=me)
    if not any(r["p"].value.endswith("#type") and r["o"].value.endswith("#Article") for r in rows):
        return None
    names = labels(kg, [r["o"].value for r in rows if isinstance(r["o"], ox.NamedNode)] + [r["p"].value for r in rows])
    by_prop = {local_name(r["p"].value): r["o"] for r in rows}
    title = by_prop["title"].value if "title" in by_prop else article_id
    metadata = []
    for r in rows:
        if local_name(r["p"].value) in ("type", "label", "title"):
            continue
        term = r["o"]
        value = Value(names.get(term.value, term.value), term.value) if isinstance(term, ox.NamedNode) \
            else Value(term.value)
        metadata.append((names.get(r["p"].value, local_name(r["p"].value)), value))
    metadata.sort(key=lambda m: m[0].lower())
    text = _read_text(seeds_dir, by_prop.get("sourceFile"))
    highlights = _highlights(kg, me)
    if text is not None:
        highlights = [h for h in highlights if 0 <= h.start < h.end <= len(text)]
    segments = segment(text, {h.key: (h.start, h.end) for h in highlights}) if text is not None else []
    return Article(article_id, iri, graph, title, metadata, text, highlights, segments)


def _read_text(seeds_dir: Path, name: object) -> str | None:
    if not isinstance(name, ox.Literal) or not is_text_name(name.value):  # a bare ID.txt, matched in full
        return None
    try:
        return (seeds_dir / name.value).read_text(encoding="utf-8")
    except OSError:
        return None


def _highlights(kg: KnowledgeGraph, me: ox.NamedNode) -> list[Highlight]:
    rows = select(kg, f"""SELECT ?me ?start ?end ?exact ?body ?cls
            (GROUP_CONCAT(DISTINCT ?supLabel; separator="|") AS ?sup)
        WHERE {{ GRAPH ?g {{ ?ev oa:hasTarget ?t ; oa:hasBody ?body . ?t oa:hasSource ?me ;
                              oa:hasSelector ?ps, ?qs . ?ps oa:start ?start ; oa:end ?end . ?qs oa:exact ?exact .
                              OPTIONAL {{ ?body a ?cls }} }}
                 OPTIONAL {{ ?ev dkg:supports ?sp . ?sp rdfs:label ?supLabel }} }}
        GROUP BY ?me ?start ?end ?exact ?body ?cls ORDER BY ?start ?end LIMIT {PAGE_LIMIT}""", me=me)
    names = labels(kg, [r["body"].value for r in rows])
    found: dict[str, Highlight] = {}
    for row in rows:
        start, end = int(row["start"].value), int(row["end"].value)
        key = f"{start}-{end}"
        light = found.setdefault(key, Highlight(key, start, end, row["exact"].value))
        body = row["body"].value
        if any(f[0].iri == body for f in light.facts):
            continue
        supports = tuple(sorted(s for s in row["sup"].value.split("|") if s)) if "sup" in row else ()
        light.facts.append((Value(names.get(body, local_name(body)), body),
                            local_name(row["cls"].value) if "cls" in row else "", supports))
    return list(found.values())
