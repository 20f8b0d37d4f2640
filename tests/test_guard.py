"""The query and update guard, shape by shape (the shapes of ``tests/guard_fuzz.py``, which found where the
engine crashes or stalls): at the largest size the guard accepts the engine answers and no process dies;
one step above, the endpoint answers a located 400 (or 413 past the length limit) without running it."""

from __future__ import annotations

import re

import pytest
from flask.testing import FlaskClient
from guard_fuzz import BODIES, QUERIES, UPDATES, probe, query_text, update_text
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kg_service import bounds, tokens
from kg_service.bounds import check_structure
from kg_service.errors import QueryError
from kg_service.settings import Settings
from kg_service.tokens import position

MAX_CHARS = Settings().max_query_chars
QUERY_SHAPES = [*BODIES, *QUERIES]
UPDATE_SHAPES = [*BODIES, *UPDATES]


def accepted(text: str, field: str = "query") -> bool:
    if len(text) > MAX_CHARS:
        return False
    try:
        check_structure(text, field)
    except QueryError:
        return False
    return True


def largest_accepted(make, field: str = "query") -> int:  # noqa: ANN001 - a shape generator
    """The largest size of a shape that the guard and the length limit let through (by bisection)."""
    good, bad = 1, 2
    while accepted(make(bad), field):
        good, bad = bad, bad * 2
    while bad - good > 1:
        mid = (good + bad) // 2
        good, bad = (mid, bad) if accepted(make(mid), field) else (good, mid)
    return good


@pytest.mark.parametrize("shape", QUERY_SHAPES)
def test_a_query_shape_at_its_limit_runs_and_above_it_is_refused(client: FlaskClient, shape: str) -> None:
    n = largest_accepted(lambda k: query_text(shape, k))
    assert probe(query_text(shape, n), "query", thread=False, timeout_s=120) != "crash"
    at_limit = client.post("/sparql", data={"query": query_text(shape, n)},
                           headers={"Accept": "application/sparql-results+json, text/turtle"})
    # Accepted: answered, or stopped by the engine's own checks or the time limit (nested closures over the seeds
    # are the evaluator's work, which the limit bounds); never a worker lost (500).
    assert at_limit.status_code in (200, 400, 503), at_limit.get_data(as_text=True)
    if at_limit.status_code != 200:
        assert at_limit.get_json()["error"] in ("bad-query", "query-timeout")
        assert "SPARQL" in at_limit.get_json()["message"] or at_limit.status_code == 503
    above = client.post("/sparql", data={"query": query_text(shape, n + 1)})
    assert above.status_code in (400, 413), above.get_data(as_text=True)
    body = above.get_json()
    if above.status_code == 400:
        assert body["error"] == "bad-query"
        assert {"line", "column", "field"} <= body["location"].keys()
        assert "more than" in body["message"] or "the most" in body["message"]  # what, and the limit
    assert client.get("/sparql", query_string={"query": "ASK {}"},
                      headers={"Accept": "application/sparql-results+json"}).get_json() == {"head": {},
                                                                                             "boolean": True}


@pytest.mark.parametrize("shape", UPDATE_SHAPES)
def test_an_update_shape_at_its_limit_does_not_crash_the_engine(shape: str) -> None:
    n = largest_accepted(lambda k: update_text(shape, k), "update")
    assert probe(update_text(shape, n), "update", thread=True, timeout_s=120) != "crash"
    assert not accepted(update_text(shape, n + 1), "update")


def test_an_update_above_a_limit_is_a_located_400_and_the_server_lives(pool) -> None:  # noqa: ANN001
    from test_web_update import ask, make_client

    client = make_client(pool)
    text = update_text("bind-chain", 3000)  # crashed the web process (SIGSEGV) before the guard counted clauses
    response = client.post("/sparql", data={"update": text})
    assert response.status_code == 400
    body = response.get_json()
    assert body["location"]["field"] == "update" and body["location"]["line"] == 1
    assert "more than" in body["message"]
    assert ask(client, "ASK { GRAPH <http://ex/g1> { ?s ?p ?o } }")


def test_the_refusal_points_at_the_token_that_crosses_the_bound() -> None:
    text = "PREFIX p: <http://example.org/>\nSELECT * {\n" + "\n".join(["?s p:p ?o ."] * 60) + "\n}"
    with pytest.raises(QueryError) as caught:
        check_structure(text)
    location = caught.value.location
    assert (location.line, location.column) == (3 + 48, len("?s p:p ?o ."))
    assert text.splitlines()[location.line - 1][location.column - 1] == "."


def test_templates_and_data_blocks_are_not_counted_as_patterns() -> None:
    triples = " . ".join(f"<http://e/s> <http://e/p> {i}" for i in range(500))
    check_structure("INSERT DATA { " + triples + " }", "update")
    check_structure("CONSTRUCT { " + triples + " } WHERE { ?s ?p ?o }")
    check_structure("SELECT * { ?s ?p 1.5, 2.5, 3.5 }")
    check_structure("SELECT * { VALUES (?a ?b) { " + "(1 2) " * 1000 + "} }")
    check_structure("SELECT * { { SELECT ?a " + "(COUNT(?b) AS ?c) " * 60 + "{ ?a ?p ?b } GROUP BY ?a } }")
    with pytest.raises(QueryError):
        check_structure("DELETE { ?s ?p ?o } WHERE { " + triples + " }", "update")


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(alphabet="{}()[]?.,;|/!+ \n\"'<>#aSELCTBINDOPAUNx0123456789", max_size=400))
def test_the_guard_never_fails_other_than_with_a_located_query_error(text: str) -> None:
    try:
        check_structure(text)
    except QueryError as exc:
        assert exc.location.line is not None and exc.location.column is not None
        line, column = exc.location.line, exc.location.column
        assert (line, column) == position(text, _offset(text, line, column))


def _offset(text: str, line: int, column: int) -> int:
    return sum(len(x) + 1 for x in text.split("\n")[:line - 1]) + column - 1


# The tokenizer in its plain order (each kind tried in turn, a word after a prefixed name): `tokens.TOKEN` tries
# the commonest kinds first and must cut every text into the same tokens.
_PLAIN_ORDER = re.compile(r'''
    (?P<string>"""(?:[^"\\]|\\.|"(?!""))*"""|\'\'\'(?:[^'\\]|\\.|'(?!''))*\'\'\'
              |"(?:[^"\\\n]|\\.)*"|'(?:[^'\\\n]|\\.)*')
  | (?P<iri><[^<>"{}|^`\\\x00-\x20]*>)
  | (?P<comment>\#[^\n]*)
  | (?P<var>[?$]\w+)
  | (?P<pname>(?:[A-Za-z_][\w.-]*)?:[\w.:%\\-]*)
  | (?P<word>[A-Za-z_]\w*)
  | (?P<other>\S)
''', re.VERBOSE)
_SPARQL_BITS = st.sampled_from(["a", "Zq", "_", "é", "7", ".", "-", ":", "%", "\\", "?", "$", "<", ">", '"', "'",
                                '"""', "'''", "#", "\n", " ", "{", "}", "(", ")", "SELECT", "ex:x", "x.y", "x-y:",
                                "<http://x/>", "ASK"])


@given(st.lists(_SPARQL_BITS, max_size=40).map("".join))
@settings(max_examples=1500, deadline=None)
def test_the_tokenizer_cuts_texts_as_its_plain_order_does(text):
    def cut(pattern):
        return [(m.lastgroup, m.start(), m.end()) for m in pattern.finditer(text)]

    assert cut(tokens.TOKEN) == cut(_PLAIN_ORDER)


# Bits that push the counts toward their bounds: triples and separators, collections (whose items count
# twice), VALUES blocks, projections, brackets after terms and the word `a`, digits, comments, look-alikes.
_BOUND_BITS = ["?x ", "?s ?p ?o . ", "( ", ") ", "[ ", "] ", "{ ", "} ", "a ", "A(", "2 ", "2.5 ", ", ", "; ", "/ ",
               "| ", "|| ", "SELECT ", "WHERE ", "VALUES ", "DATA ", "INSERT ", "FILTER(", "BIND(", "AS ", "#c\n",
               "<http://x/a.b> ", '"s(" ', "ex:a.b ", ":x ", "é ", "@", "x2 ", "2a ", "( ?a ?b ?c ) ",
               "?x ) ( ?y ) ", "CONSTRUCT ", "COUNT(", "\x01 ", "_:b ", "{ ?s ?p ( ", "?a ?b ?c ?d ?e ?f ",
               "1 2 3 4 5 6 7 8 "]


_BITS_TEXT = st.lists(st.sampled_from(_BOUND_BITS), max_size=60).map("".join)
# A collection, a blank node or a bracketed path of up to 40 terms between random bits: near the pattern
# bound from its items alone, which only the brackets' context tells apart from an expression's terms.
_BRACKETED_TEXT = st.builds(lambda before, opening, items, close, after: f"{before}{opening}{items}{close}{after}",
                            _BITS_TEXT,
                            st.sampled_from(["{ ?s ?p (", "{ ?s a [", "SELECT ?s (", "{ ?s ?p ( ( ", "FILTER("]),
                            st.integers(0, 40).map(lambda n: " ?o 1" * (n // 2) + " ?o" * (n % 2)),
                            st.sampled_from([") }", "] }", ")", " ) ) }", ""]), _BITS_TEXT)


@given(st.one_of(st.lists(st.sampled_from(_BOUND_BITS), min_size=5, max_size=140).map("".join), _BRACKETED_TEXT))
@settings(max_examples=3000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_the_quick_look_accepts_only_what_the_token_loop_accepts_with_the_same_words(text: str) -> None:
    quick = bounds._quick_words(text)
    try:
        counted = bounds._count_tokens(text, "query")
    except QueryError:
        assert quick is None, "the quick look accepted a text the token loop refuses"
        return
    assert quick is None or quick == counted


@pytest.mark.parametrize(("items", "accepted"), [(24, True), (25, False)])
def test_the_quick_look_counts_a_collection_s_items_as_the_loop_does(items: int, accepted: bool) -> None:
    for text in (f"SELECT * {{ ?s ?p ({' ?o' * items}) }}", f"SELECT * {{ ?s a [{' ?o' * items} ] }}",
                 f"SELECT * {{ ?s ?p ( ?o ) ({' 1' * (items - 1)}) }}"):
        quick = bounds._quick_words(text)
        if accepted:
            assert quick in (None, check_structure(text))
        else:
            assert quick is None
            with pytest.raises(QueryError):
                check_structure(text)


def test_the_quick_look_leaves_long_and_bracket_heavy_texts_to_the_loop() -> None:
    """Its regular expressions scan a collection's brackets once per opening: the loop, which scans once in
    all, takes texts where that could add up (long ones, or more openings than patterns may join)."""
    long = "SELECT * { ?s ?p ?o }" + " " * bounds.QUICK_CHARS
    assert bounds._quick_words(long) is None and check_structure(long) == ["SELECT"]
    openings = "SELECT * { ?s ?p " + "(a) " * (bounds.MAX_PATTERNS + 2) + "}"
    assert bounds._quick_words(openings) is None


def test_the_quick_look_answers_for_every_named_query() -> None:
    from kg_service.queries import load_queries

    texts = [query.text for query in load_queries(Settings().queries_dir).values()]
    assert texts and all(bounds._quick_words(text) == bounds._count_tokens(text, "query") for text in texts)
