"""The pages in a real browser: Debian's Chromium driven by Playwright, against the live server.

Every page must load without a console error (a script error, a refused resource, a CSP violation);
the query editor, a named query, an evidence highlight, the timeline and the validation form are used
the way a person would. Each test saves a screenshot (``KG_SCREENSHOTS``, default
``build/screenshots/``) for a human to look at. Without Chromium these tests skip, except under
``CI=true``, where a missing browser is a failure: CI installs it (``.ci/run``).
"""

from __future__ import annotations

import http.server
import json
import os
import re
import shutil
import tempfile
import threading
import urllib.parse
from collections.abc import Iterator
from pathlib import Path

import pytest

from kg_service.store import KnowledgeGraph
from kg_service.vocab import EVENT_CLASSES

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parent.parent
SHOTS = Path(os.environ.get("KG_SCREENSHOTS") or ROOT / "build" / "screenshots")
MUNICH = "/id/event/2023-02-18-park-hayashi-talks-munich"
ARTICLE = "/articles/002_0de9fc94b8e59320"
PAGES = {
    "home": "/",
    "query": "/query",
    "articles": "/articles/",
    "article": ARTICLE,
    "event": MUNICH,
    "person": "/id/person/chung-eui-yong",
    "issue": "/id/issue/forced-labour",
    "timeline": "/timeline",
    "timeline-filtered": "/timeline?issue=https%3A%2F%2Fw3id.org%2Fkg-service%2Fid%2Fissue%2Fcomfort-women",
    "validate": "/validate",
    "not-found": "/id/nothing/here",
}


def _unavailable(reason: str) -> None:
    if os.environ.get("CI") == "true":
        pytest.fail(f"{reason}; CI must run the browser tests (.ci/run installs chromium)")
    pytest.skip(f"{reason}: the browser tests need Debian's chromium (apt-get install chromium)")


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    executable = shutil.which("chromium") or shutil.which("chromium-browser")
    if executable is None:
        _unavailable("no chromium on PATH")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("Playwright for Python is not installed")
    args = ["--no-sandbox"] if hasattr(os, "geteuid") and os.geteuid() == 0 else []
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=executable, headless=True, args=args)
        yield chromium
        chromium.close()


class Console:
    """Console errors and uncaught exceptions of one page, so a test can assert there were none."""

    def __init__(self, page: object):
        self.errors: list[str] = []
        page.on("console", lambda message: message.type == "error" and self.errors.append(message.text))
        page.on("pageerror", lambda error: self.errors.append(f"uncaught: {error}"))


@pytest.fixture()
def page(browser: object) -> Iterator[object]:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    tab = context.new_page()
    tab.set_default_timeout(15000)
    tab.console = Console(tab)
    yield tab
    context.close()


def shoot(page: object, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


@pytest.mark.parametrize("name", list(PAGES))
def test_every_page_loads_without_console_errors(page: object, live_server: object, name: str) -> None:
    response = page.goto(live_server.url + PAGES[name])
    expected = 404 if name == "not-found" else 200
    assert response.status == expected
    assert page.locator("h1").first.inner_text().strip()
    errors = [e for e in page.console.errors if not (expected == 404 and "404" in e)]
    shoot(page, name)
    assert errors == []


def test_a_query_typed_in_the_editor_shows_its_table(page: object, live_server: object) -> None:
    page.goto(live_server.url + "/query")
    editor = page.locator("#query")
    editor.fill("")
    editor.press_sequentially("SELECT ?person ?name WHERE { ?person a dkg:Person ; skos:prefLabel ?name } "
                              "ORDER BY ?name LIMIT 5")
    page.locator("#add-prefixes").click()
    assert "PREFIX dkg:" in editor.input_value()
    page.locator("#run").click()
    table = page.locator("#results-table")
    table.wait_for()
    assert table.locator("tbody tr").count() == 5
    link = table.locator("tbody a").first
    assert link.get_attribute("href").startswith("/id/person/")
    assert re.match(r"5 rows in \d+ ms", page.locator("#stats").inner_text())
    assert "query=" in page.url and "format=csv" in page.locator("#downloads a", has_text="CSV").get_attribute("href")
    assert page.locator("#highlight .tok-keyword", has_text="SELECT").count() >= 1
    shoot(page, "query-typed")
    assert page.console.errors == []
    link.click()
    page.wait_for_url(re.compile(r"/id/person/"))
    assert page.locator("h1").inner_text()


def test_a_query_error_shows_its_position(page: object, live_server: object) -> None:
    page.goto(live_server.url + "/query")
    page.locator("#query").fill("SELECT * WHERE {\n  ?s ?p\n}")
    page.locator("#run").click()
    error = page.locator("#query-error")
    error.wait_for()
    assert "Line 3" in error.inner_text() or "Line 2" in error.inner_text()
    assert page.locator("#highlight .tok-error").count() == 1
    shoot(page, "query-error")


def test_a_named_query_runs(page: object, live_server: object) -> None:
    page.goto(live_server.url + "/query")
    page.locator("#named").select_option("last-foreign-ministers-meeting")
    page.locator("#named-run").click()
    table = page.locator("#results-table")
    table.wait_for()
    assert table.locator("tbody tr").count() == 1
    assert table.locator(f'a[href="{MUNICH}"]').count() == 1
    assert "named=last-foreign-ministers-meeting" in page.url
    shoot(page, "query-named")
    assert page.console.errors == []


def test_a_named_query_with_a_parameter_runs(page: object, live_server: object) -> None:
    page.goto(live_server.url + "/query?named=person-spellings")
    page.locator("#param-person").fill("id:person/yoshimasa-hayashi")
    page.locator("#named-run").click()
    page.locator("#results-table").wait_for()
    assert "Lin Fangzheng" in page.locator("#results-table").inner_text()
    assert page.console.errors == []


def test_an_evidence_highlight_leads_to_its_event(page: object, live_server: object) -> None:
    page.goto(live_server.url + ARTICLE)
    highlight = page.locator("mark.ev a", has_text="Munich Security Conference").first
    highlight.click()
    assert re.search(r"#note-\d+-\d+$", page.url)
    note = page.locator(page.url[page.url.index("#"):])
    shoot(page, "article-note")
    fact = note.locator("a.fact-link", has_text="Munich").first
    fact.focus()  # by keyboard: every highlight and fact is a link
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(re.escape(MUNICH) + "$"))
    assert "Munich" in page.locator("h1").inner_text()
    assert page.console.errors == []


def test_the_home_page_answers_when_the_foreign_ministers_last_met(page: object, live_server: object) -> None:
    page.goto(live_server.url + "/")
    answer = page.locator(".answer")
    assert "2023-02-18" in answer.inner_text()
    answer.locator("#last-ministers-meeting").click()
    page.wait_for_url(re.compile(re.escape(MUNICH) + "$"))
    body = page.locator("main").inner_text()
    assert "outcome" in body and "political decision" in body
    assert "Statements made on this occasion" in body


def test_the_timeline_shows_every_event(page: object, live_server: object, kg: KnowledgeGraph) -> None:
    classes = " ".join(f"<{iri}>" for iri in EVENT_CLASSES.values())
    rows = kg.query(f"SELECT (COUNT(DISTINCT ?e) AS ?n) WHERE {{ ?e a ?c VALUES ?c {{ {classes} }} }}")
    expected = int(next(iter(rows))["n"].value)
    page.goto(live_server.url + "/timeline")
    assert page.locator("li.tl-event").count() == expected
    assert page.locator("svg.chart rect[class^='cls-']").count() >= 1
    page.locator("select[name=kind]").select_option("Ruling")
    page.locator("form.filters button").click()
    page.wait_for_url(re.compile(r"kind=Ruling"))
    assert page.locator("li.tl-event").count() == page.locator("li.tl-event.cls-row-Ruling").count() >= 1
    assert page.console.errors == []


def test_the_validation_form_shows_a_violation_for_a_broken_mapping(page: object, live_server: object) -> None:
    seeds = ROOT / "seeds"
    mapping = (seeds / "003_11110d5589b8cc2d.yaml").read_text(encoding="utf-8")
    broken = mapping.replace("participants: [takehiro-funakoshi, lee-sang-ryeol]",
                             "participants: [takehiro-funakosi, lee-sang-ryeol]")
    assert broken != mapping
    response = page.goto(live_server.url + "/validate")
    if response.status == 404:
        pytest.skip("no /validate form in this build")
    page.locator("details summary", has_text="paste").click()
    page.locator("#mapping-area").fill(broken)
    page.locator("#text-area").fill((seeds / "003_11110d5589b8cc2d.txt").read_text(encoding="utf-8"))
    page.locator("#text-area").locator("xpath=ancestor::form").locator("button[type=submit]").click()
    report = page.locator(".report")
    report.wait_for()
    assert "takehiro-funakosi" in report.inner_text()
    assert page.locator("tr.sev-violation").count() >= 1
    shoot(page, "validate-report")


def test_reading_pages_work_without_javascript(browser: object, live_server: object) -> None:
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    try:
        page.goto(live_server.url + "/query")
        page.locator("#query").fill("SELECT ?s WHERE { ?s a <https://w3id.org/kg-service/ontology#Article> }")
        page.locator("#run").click()
        page.wait_for_url(re.compile(r"/query\?query="))
        assert page.locator("#results-table tbody tr").count() == 5
        page.goto(live_server.url + "/timeline")
        page.locator("select[name=actor]").select_option(label="Park Jin")
        page.locator("form.filters button").click()
        page.wait_for_url(re.compile(r"actor="))
        assert page.locator("li.tl-event").count() == 1
        page.goto(live_server.url + ARTICLE)
        page.locator("mark.ev a").first.click()
        assert page.locator("ol.notes-list li:target").count() == 1
        shoot(page, "no-javascript-article")
    finally:
        context.close()


def test_the_skip_link_moves_keyboard_focus_to_the_content(page: object, live_server: object) -> None:
    page.goto(live_server.url + "/")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Skip to content"
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "main"


# --- small screens -------------------------------------------------------------------------------------------

PHONE = {"width": 390, "height": 844}
LONG_IRIS = ("SELECT ?s ?p ?o WHERE { ?s ?p ?o FILTER(STRLEN(STR(?s)) > 60 && isIRI(?o)) } LIMIT 40")
# /queries/ and /queries/NAME answer JSON and SPARQL results, not pages (a phone shows them at the browser's
# own 980-px layout width, which no page of ours can change): their page is /query?named=NAME.
NARROW_PAGES = {**PAGES,
                "query-results": "/query?query=" + urllib.parse.quote(LONG_IRIS),
                "query-named": "/query?named=last-foreign-ministers-meeting",
                "article-resource": "/id/article/002_0de9fc94b8e59320",
                "search": "/search",
                "search-results": "/search?q=hayashi",
                "draft": "/draft"}


def page_width(page: object) -> int:
    return page.evaluate("document.documentElement.scrollWidth")


def wider_than_screen(page: object) -> list[str]:
    """The elements reaching past the screen's right edge, to name in a failure."""
    return page.evaluate("""() => [...document.querySelectorAll('body *')]
        .filter(e => e.getBoundingClientRect().right > document.documentElement.clientWidth + 0.5).slice(0, 5)
        .map(e => `${e.tagName.toLowerCase()}.${e.className} ${Math.round(e.getBoundingClientRect().right)}px`)""")


@pytest.fixture()
def phone(browser: object) -> Iterator[object]:
    context = browser.new_context(viewport=PHONE, device_scale_factor=1, is_mobile=True, has_touch=True)
    tab = context.new_page()
    tab.set_default_timeout(15000)
    yield tab
    context.close()


@pytest.mark.parametrize("name", list(NARROW_PAGES))
def test_every_page_fits_a_390_px_screen(phone: object, live_server: object, name: str) -> None:
    response = phone.goto(live_server.url + NARROW_PAGES[name])
    assert response.status in (200, 404)
    shoot(phone, f"390-{name}")
    assert page_width(phone) <= PHONE["width"], wider_than_screen(phone)


def test_the_query_results_with_long_iris_scroll_inside_their_box(phone: object, live_server: object) -> None:
    phone.goto(live_server.url + NARROW_PAGES["query-results"])
    assert phone.locator("#results-table tbody tr").count() >= 1
    assert max(len(t) for t in phone.locator("#results-table tbody td").all_inner_texts()) > 40  # long IRIs
    overflow = phone.locator("#results-table").evaluate(
        "t => [getComputedStyle(t).overflowX, getComputedStyle(t.parentElement).overflowX]")
    assert {"auto", "scroll"} & set(overflow), overflow  # the table (or its box) scrolls, not the page
    assert page_width(phone) <= PHONE["width"], wider_than_screen(phone)


def test_the_validation_report_fits_a_390_px_screen(phone: object, live_server: object) -> None:
    seeds = ROOT / "seeds"
    mapping = (seeds / "003_11110d5589b8cc2d.yaml").read_text(encoding="utf-8")
    broken = mapping.replace("participants: [takehiro-funakoshi, lee-sang-ryeol]",
                             "participants: [takehiro-funakosi, lee-sang-ryeol]")
    phone.goto(live_server.url + "/validate")
    phone.locator("details summary", has_text="paste").click()
    phone.locator("#mapping-area").fill(broken)
    phone.locator("#text-area").fill((seeds / "003_11110d5589b8cc2d.txt").read_text(encoding="utf-8"))
    phone.locator("#text-area").locator("xpath=ancestor::form").locator("button[type=submit]").click()
    phone.locator(".report").wait_for()
    shoot(phone, "390-validate-report")
    assert page_width(phone) <= PHONE["width"], wider_than_screen(phone)


# --- another origin ------------------------------------------------------------------------------------------

TOKEN = "browser-token-9d"
TOOL_PAGE = b"<!doctype html><html><head><title>a SPARQL tool</title></head><body><h1>tool</h1></body></html>"


class _ToolPage(http.server.BaseHTTPRequestHandler):
    """A page of a browser tool (YASGUI, a notebook) served from an origin of its own."""

    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.end_headers()
        self.wfile.write(TOOL_PAGE)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def other_origin() -> Iterator[str]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _ToolPage)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://localhost:{server.server_address[1]}"  # localhost, not 127.0.0.1: another origin
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)


@pytest.fixture(scope="module")
def with_token(kg: KnowledgeGraph, pool: object) -> Iterator[object]:
    """The seeds served with a write token configured, and a dataset file that takes writes behind it."""
    from dataclasses import replace

    from conftest import start_server, stop_server

    from kg_service.settings import Settings
    from kg_service.web import create_app

    settings = Settings.from_env({}, write_token=TOKEN)
    seeds = start_server(create_app(settings, kg, pool=pool))
    folder = tempfile.mkdtemp()
    data = Path(folder) / "data.nq"
    data.write_bytes(b'<http://ex/a> <http://ex/p> "one" <http://ex/g1> .\n')
    writable = start_server(create_app(replace(settings, allow_updates=True),
                                       KnowledgeGraph.from_file(data, union_default_graph=False), pool=pool))
    yield seeds[0], writable[0]
    for _live, server, thread in (seeds, writable):
        stop_server(server, thread)
    shutil.rmtree(folder, ignore_errors=True)


CROSS_ORIGIN_FETCH = """async ([url, options]) => {
  try {
    const response = await fetch(url, options);
    return {status: response.status, type: response.type, body: await response.text(),
            etag: response.headers.get('ETag') !== null};
  } catch (error) {
    return {status: 0, error: String(error)};
  }
}"""


def cross_fetch(page: object, url: str, **options: object) -> dict:
    return page.evaluate(CROSS_ORIGIN_FETCH, [url, options])


def test_a_page_on_another_origin_queries_with_and_without_the_token(page: object, other_origin: str,
                                                                    with_token: tuple) -> None:
    seeds, _writable = with_token
    page.goto(other_origin)
    query = urllib.parse.quote("SELECT ?s WHERE { ?s a <https://w3id.org/kg-service/ontology#Article> }")
    accept = {"Accept": "application/sparql-results+json"}
    for headers in (accept, accept | {"Authorization": f"Bearer {TOKEN}"}):
        answer = cross_fetch(page, f"{seeds.url}/sparql?query={query}", headers=headers)
        assert answer["status"] == 200 and answer["type"] == "cors", answer
        assert len(json.loads(answer["body"])["results"]["bindings"]) == 5
    # YASGUI's own request: a form POST, no credentials, an Authorization header when one is configured
    answer = cross_fetch(page, f"{seeds.url}/sparql", method="POST", credentials="omit",
                         headers=accept | {"Content-Type": "application/x-www-form-urlencoded",
                                           "Authorization": f"Bearer {TOKEN}"},
                         body="query=" + query)
    assert answer["status"] == 200, answer
    # an error stays readable across origins: a wrong token is a 401 the tool can show
    answer = cross_fetch(page, f"{seeds.url}/articles", method="POST",
                         headers={"Authorization": "Bearer wrong", "Content-Type": "text/turtle"}, body="")
    assert answer["status"] == 401 and "Authorization" in json.loads(answer["body"])["message"]
    shoot(page, "cross-origin-tool")


def test_a_page_on_another_origin_writes_a_graph_with_the_token(page: object, other_origin: str,
                                                               with_token: tuple) -> None:
    _seeds, writable = with_token
    page.goto(other_origin)
    url = f"{writable.url}/store?graph=" + urllib.parse.quote("http://ex/from-browser", safe="")
    turtle = {"Content-Type": "text/turtle"}
    refused = cross_fetch(page, url, method="PUT", headers=turtle, body="<http://ex/s> <http://ex/p> 1 .")
    assert refused["status"] == 401, refused
    written = cross_fetch(page, url, method="PUT", headers=turtle | {"Authorization": f"Bearer {TOKEN}"},
                          body="<http://ex/s> <http://ex/p> 1 .")
    assert written["status"] == 201, written  # the preflight allowed PUT with Authorization
    read = cross_fetch(page, url, headers={"Accept": "application/n-triples"})
    assert read["status"] == 200 and "<http://ex/s> <http://ex/p>" in read["body"]
    deleted = cross_fetch(page, url, method="DELETE", headers={"Authorization": f"Bearer {TOKEN}"})
    assert deleted["status"] == 204, deleted


def test_a_drafted_mapping_fits_a_390_px_screen(phone: object, live_server: object) -> None:
    response = phone.goto(live_server.url + "/draft")
    if response.status == 404:
        pytest.skip("no /draft page in this build")
    phone.locator("#draft-area").fill((ROOT / "seeds" / "003_11110d5589b8cc2d.txt").read_text(encoding="utf-8"))
    phone.locator("#draft-area").locator("xpath=ancestor::form").locator("button[type=submit]").click()
    phone.locator("#draft-mapping").wait_for()
    shoot(phone, "390-draft-result")
    assert page_width(phone) <= PHONE["width"], wider_than_screen(phone)
