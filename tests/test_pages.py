"""The HTML pages without a browser: what they show, escaping, content negotiation on /id, headers, 404s.

Most tests read the seed graph through the shared app; the escaping tests build a small graph whose
labels, titles and article text are HTML, and check it comes out as text on every page.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pyoxigraph as ox
import pytest
from flask import Flask
from flask.testing import FlaskClient

from kg_service.settings import Settings
from kg_service.store import KnowledgeGraph
from kg_service.vocab import BASE, EVENT_CLASSES
from kg_service.web import create_app
from kg_service.web.timeline import PAGE_SIZE
from kg_service.web.workers import WorkerPool

HTML = {"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}
MUNICH = "/id/event/2023-02-18-park-hayashi-talks-munich"
ARTICLE = "003_11110d5589b8cc2d"
DKG, RDFS, XSD = BASE + "ontology#", "http://www.w3.org/2000/01/rdf-schema#", "http://www.w3.org/2001/XMLSchema#"
OA, RDF = "http://www.w3.org/ns/oa#", "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
PAGES = ["/", "/query", "/articles/", f"/articles/{ARTICLE}", MUNICH, "/id/person/chung-eui-yong", "/timeline",
         "/query?named=last-foreign-ministers-meeting", "/query?query=ASK%20%7B%7D"]


def html(client: FlaskClient, path: str, status: int = 200) -> str:
    response = client.get(path, headers=HTML)
    assert response.status_code == status, response.get_data(as_text=True)[:500]
    assert response.mimetype == "text/html"
    return response.get_data(as_text=True)


@pytest.mark.parametrize("path", PAGES)
def test_every_page_is_html_with_a_content_security_policy(client: FlaskClient, path: str) -> None:
    response = client.get(path, headers=HTML)
    assert response.status_code == 200
    policy = response.headers["Content-Security-Policy"]
    assert "default-src 'self'" in policy and "'unsafe-inline'" not in policy
    body = response.get_data(as_text=True)
    assert "<script>" not in body and " style=" not in body and " onclick=" not in body
    assert "https://cdn" not in body and "//fonts." not in body


def test_home_answers_when_the_foreign_ministers_last_met(client: FlaskClient) -> None:
    body = html(client, "/")
    answer = body[body.index('class="answer"'):]
    assert "2023-02-18" in answer[:2000] and f'href="{MUNICH}"' in answer[:2000]
    assert "political decision" in answer[:2000]


def test_home_explains_the_resolved_default_graph_and_the_article_graphs(client: FlaskClient,
                                                                         kg: KnowledgeGraph) -> None:
    body = html(client, "/")
    section = body[body.index('id="resolved-default-graph"'):]
    section = section[:section.index("</section>")]
    assert "2017-09-22" in section and "2021-09-22" in section and "graph:union" in section
    assert 'href="/queries/source-claims-and-known"' in section
    # the two examples the page shows answer as it says
    event = "<https://w3id.org/kg-service/id/event/2017-09-22-san-francisco-statue-unveiling>"
    known = [r["d"].value for r in kg.query(f"SELECT ?d {{ {event} <{DKG}date> ?d }}")]
    said = [r["d"].value for r in kg.query(f"SELECT ?d {{ GRAPH ?g {{ {event} <{DKG}date> ?d }} }}")]
    assert known == ["2017-09-22"] and "2021-09-22" in said


def test_home_shows_counts_articles_and_the_endpoint(client: FlaskClient, kg: KnowledgeGraph) -> None:
    body = html(client, "/")
    meetings = next(iter(kg.query(f"SELECT (COUNT(DISTINCT ?m) AS ?n) {{ ?m a <{DKG}Meeting> }}")))["n"].value
    assert re.search(rf"Meeting</th>\s*<td class=\"num\">{meetings}</td>", body)
    assert f'href="/articles/{ARTICLE}"' in body and "2021-04-02" in body and "China News Service" in body
    assert "http://localhost/sparql" in body
    assert 'href="/dump.trig"' in body and 'href="/timeline"' in body and 'href="/query"' in body


def test_a_resource_page_shows_label_aliases_events_and_evidence(client: FlaskClient) -> None:
    body = html(client, "/id/person/chung-eui-yong")
    assert "<h1>Chung Eui-yong</h1>" in body
    assert "Zheng Yirong" in body and "Jeong Yiyong" in body
    new_york = body.index("foreign ministers&#39; talks in New York")
    assert new_york < body.index("undated")  # dated events first, in date order
    assert "Minister of Foreign Affairs" in body  # the post held, named rather than an IRI
    event = html(client, MUNICH)
    assert "According to the article" in event and "Munich Security Conference" in event
    assert 'href="/articles/002_0de9fc94b8e59320#ev-527-717"' in event
    assert "Statements made on this occasion" in event


def test_a_state_page_links_to_wikidata(client: FlaskClient) -> None:
    assert 'href="http://www.wikidata.org/entity/Q17"' in html(client, "/id/state/japan")


def test_resource_pages_link_their_rdf_alternates(client: FlaskClient) -> None:
    response = client.get(MUNICH, headers=HTML)
    links = response.headers["Link"]
    assert f'<http://localhost{MUNICH}?format=ttl>; rel="alternate"; type="text/turtle"' in links
    assert 'type="application/ld+json"' in links and 'type="application/n-quads"' in links
    assert response.headers["Vary"] == "Accept"


@pytest.mark.parametrize("accept, media_type", [("text/turtle", "text/turtle"), ("*/*", "text/turtle"),
                                                 ("application/n-triples", "application/n-triples"),
                                                 ("application/ld+json", "application/ld+json"),
                                                 ("application/rdf+xml", "application/rdf+xml"),
                                                 ("text/turtle, text/html", "text/turtle")])
def test_resources_negotiate_rdf(client: FlaskClient, accept: str, media_type: str) -> None:
    response = client.get(MUNICH, headers={"Accept": accept})
    assert response.status_code == 200 and response.mimetype == media_type
    assert 'rel="alternate"' in response.headers["Link"]
    if media_type != "application/ld+json":
        fmt = {f: f for f in ox.RdfFormat.__dict__.values() if isinstance(f, ox.RdfFormat)}
        parsed = list(ox.parse(response.data, format=next(f for f in fmt if f.media_type == media_type)))
        subjects = {q.subject.value for q in parsed}
        # the event and its hash nodes: the resolved values (dkg:resolution) with their provenance
        assert BASE + MUNICH[1:] in subjects
        assert all(s == BASE + MUNICH[1:] or s.startswith(BASE + MUNICH[1:] + "#") for s in subjects), subjects


def test_rdf_of_a_resource_keeps_its_sources_and_hash_nodes(client: FlaskClient) -> None:
    quads = list(ox.parse(client.get(MUNICH + "?format=nq").data, format=ox.RdfFormat.N_QUADS))
    assert {q.graph_name.value for q in quads} == {BASE + "graph/article/002_0de9fc94b8e59320",
                                                   BASE + "graph/resolved"}
    evidence = BASE + "id/evidence/002_0de9fc94b8e59320/527-717"
    triples = list(ox.parse(client.get("/id/evidence/002_0de9fc94b8e59320/527-717",
                                       headers={"Accept": "text/turtle"}).data, format=ox.RdfFormat.TURTLE))
    assert {t.subject.value for t in triples} == {evidence, evidence + "#target", evidence + "#quote",
                                                  evidence + "#position"}


def test_every_resource_iri_dereferences_as_a_page_and_as_turtle(client: FlaskClient, kg: KnowledgeGraph) -> None:
    rows = kg.query(f"SELECT DISTINCT ?s {{ ?s ?p ?o FILTER(STRSTARTS(STR(?s), '{BASE}id/')) }}")
    paths = sorted({"/" + r["s"].value[len(BASE):].split("#")[0] for r in rows})
    assert len(paths) > 100
    failures = [(p, status) for p in paths
                for status in (client.get(p, headers=HTML).status_code, client.get(p + "?format=ttl").status_code)
                if status != 200]
    assert failures == []


def test_an_unknown_resource_is_404_as_a_page_and_as_data(client: FlaskClient) -> None:
    assert "knows nothing about" in html(client, "/id/person/nobody", 404)
    response = client.get("/id/person/nobody", headers={"Accept": "text/turtle"})
    assert response.status_code == 404 and response.get_json()["error"] == "not-found"


def test_an_article_page_marks_every_quote_and_links_its_facts(client: FlaskClient, kg: KnowledgeGraph) -> None:
    body = html(client, f"/articles/{ARTICLE}")
    rows = kg.query(f"""SELECT DISTINCT ?start ?end {{ GRAPH <{BASE}graph/article/{ARTICLE}> {{
        ?t <{OA}hasSource> <{BASE}id/article/{ARTICLE}> ; <{OA}hasSelector> ?p .
        ?p <{OA}start> ?start ; <{OA}end> ?end }} }}""")
    keys = {f"{r['start'].value}-{r['end'].value}" for r in rows}
    assert keys and all(f'id="ev-{k}"' in body and f'id="note-{k}"' in body for k in keys)
    assert body.count('<mark class="ev') >= len(keys)
    text = (Path(__file__).parent.parent / "seeds" / f"{ARTICLE}.txt").read_text(encoding="utf-8")
    for key in keys:  # the marked words are exactly the quote at its offsets
        start, end = map(int, key.split("-"))
        mark = re.search(rf'<mark class="ev[^"]*" id="ev-{key}"[^>]*><a href="#note-[\d-]+">([^<]*)</a>', body)
        assert mark and text[start:end].startswith(mark[1].replace("&#34;", '"').replace("&#39;", "'"))
    assert 'href="/id/event/2021-04-01-funakoshi-lee-talks-tokyo"' in body
    assert f'href="/data?graph={BASE}graph/article/{ARTICLE}&amp;format=ttl"' in body
    assert "publication date" in body and "China News Service" in body


def test_articles_are_listed_and_unknown_ones_are_404(client: FlaskClient) -> None:
    body = html(client, "/articles/")
    assert body.count('href="/articles/0') == 5
    assert client.get("/articles").status_code == 308
    html(client, "/articles/999_missing", 404)
    assert client.get("/articles/..%2Fsettings.py", headers=HTML).status_code == 404


def test_the_timeline_lists_every_event_and_filters(client: FlaskClient, kg: KnowledgeGraph) -> None:
    classes = " ".join(f"<{iri}>" for iri in EVENT_CLASSES.values())
    total = int(next(iter(kg.query(f"SELECT (COUNT(DISTINCT ?e) AS ?n) {{ ?e a ?c VALUES ?c {{ {classes} }} }}")))[
        "n"].value)
    body = html(client, "/timeline")
    assert body.count('<li class="tl-event ') == total
    assert "hollow" in body and "status-planned" in body and "<svg" in body
    issue = html(client, "/timeline?issue=" + BASE + "id/issue/forced-labour")
    assert 0 < issue.count('<li class="tl-event ') < total
    assert "Seoul Central District Court orders" not in issue  # a comfort-women ruling
    actor = html(client, "/timeline?actor=" + BASE + "id/person/park-jin")
    assert actor.count('<li class="tl-event ') == 1 and "Munich" in actor
    assert html(client, "/timeline?kind=Nonsense").count('<li class="tl-event ') == total


def test_the_query_page_without_javascript_shows_the_table(client: FlaskClient) -> None:
    body = html(client, "/query?query=" + "SELECT%20%3Fp%20WHERE%20%7B%20%3Fp%20a%20%3Chttps%3A%2F%2Fw3id.org"
                "%2Fkg-service%2Fontology%23Person%3E%20%7D%20LIMIT%203")
    assert body.count("<tr><td>") == 3 and 'href="/id/person/' in body
    assert re.search(r"3 rows in \d+ ms", body)
    assert "format=csv" in body and "format=tsv" in body and "format=json" in body
    assert "PREFIX dkg: &lt;https://w3id.org/kg-service/ontology#&gt;" in html(client, "/query")


def test_the_query_page_runs_named_queries_with_parameters(client: FlaskClient) -> None:
    body = html(client, "/query?named=person-spellings&param-person=id:person/yoshimasa-hayashi")
    assert "Lin Fangzheng" in body and 'value="id:person/yoshimasa-hayashi"' in body
    assert "/queries/person-spellings?person=id:person/yoshimasa-hayashi&amp;format=csv" in body


def test_the_query_page_shows_errors_with_their_position(client: FlaskClient) -> None:
    body = html(client, "/query?query=SELECT%20*%20WHERE%20%7B%0A%20%20%3Fs%20%3Fp%0A%7D", 400)
    assert "The query failed" in body and re.search(r"Line \d+, column \d+", body)
    assert "not allowed" in html(client, "/query?query=DROP%20ALL", 403)


# ---- escaping: a graph whose labels and article text are markup ------------------------------------------------

EVIL = "<script>alert(1)</script>"
EVIL_TEXT = '<img src=x onerror="alert(2)"> said & done'


def _lit(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _evil_nquads() -> bytes:
    event, article = f"<{BASE}id/event/evil>", f"<{BASE}id/article/999_evil>"
    graph, meta = f"<{BASE}graph/article/999_evil>", f"<{BASE}graph/meta>"
    ev = f"<{BASE}id/evidence/999_evil/0-30>"
    target, position, quote = (f"<{BASE}id/evidence/999_evil/0-30#{n}>" for n in ("target", "position", "quote"))
    lines = [
        f"{event} <{RDF}type> <{DKG}Meeting> {graph} .",
        f"{event} <{RDFS}label> {_lit(EVIL)} {graph} .",
        f'{event} <{DKG}date> "2020-01-01"^^<{XSD}date> {graph} .',
        f"{event} <{DKG}status> <{DKG}Held> {graph} .",
        f"{event} <{DKG}participant> <{BASE}id/person/evil> {graph} .",
        f"<{BASE}id/person/evil> <http://www.w3.org/2004/02/skos/core#prefLabel> {_lit(EVIL)} {graph} .",
        f"{article} <{RDF}type> <{DKG}Article> {meta} .",
        f"{article} <http://purl.org/dc/terms/title> {_lit(EVIL)} {meta} .",
        f'{article} <{DKG}sourceFile> "999_evil.txt" {meta} .',
        f"{ev} <{OA}hasBody> {event} {graph} .",
        f"{ev} <{OA}hasTarget> {target} {graph} .",
        f"{target} <{OA}hasSource> {article} {graph} .",
        f"{target} <{OA}hasSelector> {position} {graph} .",
        f"{target} <{OA}hasSelector> {quote} {graph} .",
        f'{position} <{OA}start> "0"^^<{XSD}nonNegativeInteger> {graph} .',
        f'{position} <{OA}end> "30"^^<{XSD}nonNegativeInteger> {graph} .',
        f"{quote} <{OA}exact> {_lit(EVIL_TEXT[:30])} {graph} .",
    ]
    return ("\n".join(lines) + "\n").encode()


@pytest.fixture(scope="module")
def evil_client(tmp_path_factory: pytest.TempPathFactory, pool: WorkerPool) -> Iterator[FlaskClient]:
    seeds = tmp_path_factory.mktemp("evil-seeds")
    (seeds / "999_evil.txt").write_text(EVIL_TEXT, encoding="utf-8")
    settings = Settings.from_env({}, seeds_dir=seeds, query_timeout_s=2.0)
    kg = KnowledgeGraph.from_nquads(_evil_nquads())
    app: Flask = create_app(settings, kg, pool=pool)
    yield app.test_client()


@pytest.mark.parametrize("path", ["/", "/id/event/evil", "/id/person/evil", "/timeline", "/articles/",
                                  "/articles/999_evil", "/query?query=SELECT%20%3Fl%20%7B%20%3Fs%20%3Chttp%3A%2F%2F"
                                  "www.w3.org%2F2000%2F01%2Frdf-schema%23label%3E%20%3Fl%20%7D"])
def test_markup_in_the_data_is_shown_as_text(evil_client: FlaskClient, path: str) -> None:
    body = html(evil_client, path)
    assert EVIL not in body and "<img src=x" not in body
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in body or "&lt;img src=x" in body


def test_an_article_text_with_markup_is_highlighted_as_text(evil_client: FlaskClient) -> None:
    body = html(evil_client, "/articles/999_evil")
    assert ('<mark class="ev" id="ev-0-30"><a href="#note-0-30">&lt;img src=x onerror=&#34;alert(2)&#34;&gt;</a></mark>'
            " said &amp; done") in body


def test_the_timeline_stays_usable_with_thousands_of_events(pool: WorkerPool, settings: Settings) -> None:
    lines = []
    for i in range(3000):
        event = f"<{BASE}id/event/generated-{i}>"
        graph = f"<{BASE}graph/article/gen>"
        lines += [f"{event} <{RDF}type> <{DKG}{list(EVENT_CLASSES)[i % 4]}> {graph} .",
                  f'{event} <{RDFS}label> "Event {i}" {graph} .',
                  f'{event} <{DKG}date> "{1950 + i % 70}-0{1 + i % 9}"^^<{XSD}gYearMonth> {graph} .',
                  f"{event} <{DKG}status> <{DKG}{'Held' if i % 3 else 'Planned'}> {graph} ."]
    kg = KnowledgeGraph.from_nquads(("\n".join(lines) + "\n").encode())
    client = create_app(settings, kg, pool=pool).test_client()
    body = html(client, "/timeline")
    assert body.count('<li class="tl-event ') == PAGE_SIZE and "Page 1 of 10" in body and 'rel="next"' in body
    assert body.count("<rect class=\"bar-bg") == 70  # one bar per year, not per event
    year = html(client, "/timeline?year=1960&page=1")
    assert 0 < year.count('<li class="tl-event ') < PAGE_SIZE and "Page 1 of" not in year
    last = html(client, "/timeline?page=10")
    assert last.count('<li class="tl-event ') == 3000 - 9 * PAGE_SIZE and 'rel="prev"' in last


@pytest.mark.parametrize("path", ["/id/a%20b", "/id/x%3Ey", "/id/%7B"])
@pytest.mark.parametrize("accept", ["text/html", "text/turtle"])
def test_an_id_that_is_no_iri_is_a_404(client, path: str, accept: str) -> None:  # noqa: ANN001
    response = client.get(path, headers={"Accept": accept})
    assert response.status_code == 404
