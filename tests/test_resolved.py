"""The resolved default graph: one best-known value per field, corrections as linked data, every value
traceable to its articles or correction and source, the article graphs and their union still by name,
and no SHACL violation in an independent pySHACL run over the served default graph or in `kg-service
validate` of the service's own dumps.

Expected values come from the articles and the published sources the corrections cite (named beside
each case), never from the graph.
"""

from __future__ import annotations

import io
from pathlib import Path

import pyoxigraph as ox
import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st
from pyshacl import validate as shacl_validate
from rdflib import RDF, Graph, Literal, URIRef
from rdflib.namespace import SH

from kg_service.cli import cli
from kg_service.compiled import CompiledArticle
from kg_service.formats import find_format
from kg_service.resolve import resolve
from kg_service.shacl import load_shapes
from kg_service.vocab import DKG, UNION_GRAPH, article_graph, mint

EV = "https://w3id.org/kg-service/id/event/"
STATUE = "2017-09-22-san-francisco-statue-unveiling"
PREFIXES = "PREFIX dkg: <https://w3id.org/kg-service/ontology#>\nPREFIX prov: <http://www.w3.org/ns/prov#>\n" \
           "PREFIX rdf: <http://www.w3.org/1999/02/22-rdf-syntax-ns#>\nPREFIX dcterms: <http://purl.org/dc/terms/>\n"


def rows(kg, text: str, **options) -> list[dict[str, str]]:
    result = kg.query(PREFIXES + text, **options)
    names = [v.value for v in result.variables]
    return [{n: s[n].value for n in names if s[n] is not None} for s in result]


def values(kg, event: str, prop: str) -> set[str]:
    return {r["v"] for r in rows(kg, f"SELECT ?v {{ <{EV}{event}> dkg:{prop} ?v }}")}


# (event, property, best-known values): from the article where it is right, else from the cited source.
KNOWN = [
    # Japan Times 2017-09-23: unveiled "Friday" = 2017-09-22 (article 001 implies 2021)
    (STATUE, "date", {"2017-09-22"}),
    # chemlinked (METI notice 1 July 2019), english.nna.jp (in force 4 July), newsrebeat (lifted 23 March 2023)
    ("2019-07-japan-export-controls", "date", {"2019-07-01"}),
    ("2019-07-japan-export-controls", "effectiveDate", {"2019-07-04"}),
    ("2019-07-japan-export-controls", "endDate", {"2023-03-23"}),
    ("2019-07-japan-export-controls", "product", {"fluorinated polyimide", "resist", "hydrogen fluoride"}),
    # efe.com: Nippon Steel & Sumitomo Metal, four plaintiffs, 100 million won each, 30 October 2018
    ("2018-10-30-supreme-court-forced-labour-ruling", "defendant", {str(mint("org", "nippon-steel"))}),
    ("2018-10-30-supreme-court-forced-labour-ruling", "date", {"2018-10-30"}),
    ("2018-10-30-supreme-court-forced-labour-ruling", "plaintiffCount", {"4"}),
    # Japan Times 2018-11-29: Mitsubishi Heavy Industries ordered to pay, Thursday 29 November 2018
    ("2018-later-forced-labour-rulings", "defendant", {str(mint("org", "mitsubishi-heavy-industries"))}),
    ("2018-later-forced-labour-rulings", "date", {"2018-11-29"}),
    # nippon.com: 12 plaintiffs, 100 million won each
    ("2021-01-08-seoul-court-comfort-women-ruling", "plaintiffCount", {"12"}),
    ("2021-01-08-seoul-court-comfort-women-ruling", "awardPerPlaintiff", {"100000000"}),
    # ASIL: the 2015 agreement is about comfort women only, concluded 28 December 2015
    ("2015-12-28-comfort-women-agreement", "topic", {str(mint("issue", "comfort-women"))}),
    ("2015-12-28-comfort-women-agreement", "date", {"2015-12-28"}),
    # MOFA press conference: no "personnel exchanges"; North Korea, former civilian workers, comfort women
    ("2021-09-23-motegi-chung-talks-new-york", "topic", {str(mint("issue", k)) for k in (
        "forced-labour", "comfort-women", "north-korea-nuclear", "bilateral-relations")}),
    # Hankyoreh: Cho Hyun-dong and Takeo Mori, 13 February 2023
    ("2023-02-13-vice-ministers-talks-washington", "participant",
     {str(mint("person", "cho-hyun-dong")), str(mint("person", "takeo-mori"))}),
    ("2023-02-13-vice-ministers-talks-washington", "date", {"2023-02-13"}),
    # asiae.co.kr: Takizaki and Kim Jung-han, 29 October 2020
    ("2020-10-29-director-general-talks-seoul", "participant",
     {str(mint("person", "shigeki-takizaki")), str(mint("person", "kim-jung-han"))}),
    # Deccan Herald: Hayashi skipped the G20 meeting; the expected meeting was not held
    ("2023-03-park-hayashi-talks-new-delhi", "status", {str(DKG.NotHeld)}),
    # Korea Herald 2014-02-18: the Ihara - Lee talks on Tuesday 18 February 2014 (article 004 is undated)
    ("2014-02-18-ihara-lee-talks-seoul", "date", {"2014-02-18"}),
    # people.cn / Korea Herald: Obama's trip was held, from 23 April (Japan) to 26 April 2014 (Seoul)
    ("2014-04-obama-asia-trip", "status", {str(DKG.Held)}),
    ("2014-04-obama-asia-trip", "endDate", {"2014-04-26"}),
]


@pytest.mark.parametrize(("event", "prop", "expected"), KNOWN, ids=[f"{e}-{p}" for e, p, _ in KNOWN])
def test_a_plain_query_gets_the_best_known_value(kg, event, prop, expected):
    assert values(kg, event, prop) == expected


def test_what_the_article_said_stays_in_its_graph(kg):
    graph = str(article_graph("001_41fee706fa7e4dab"))
    said = rows(kg, f"SELECT ?v {{ GRAPH <{graph}> {{ <{EV}{STATUE}> dkg:date ?v }} }}")
    assert [r["v"] for r in said] == ["2021-09-22"]


def test_no_event_has_two_values_of_a_single_valued_field(kg):
    for prop in ("date", "status", "level", "place", "endDate", "effectiveDate", "plaintiffCount", "court"):
        doubled = rows(kg, f"SELECT ?e {{ ?e dkg:{prop} ?a, ?b FILTER(?a != ?b) }}")
        assert not doubled, (prop, doubled)


def test_a_resolved_value_traces_to_its_correction_and_published_source(kg):
    found = rows(kg, f"""SELECT ?rank ?from ?source {{
        <{EV}{STATUE}> dkg:resolution ?r .
        ?r rdf:predicate dkg:date ; rdf:object ?v ; dkg:rank ?rank ; prov:wasDerivedFrom ?from ;
           dcterms:source ?source }}""")
    assert found == [{"rank": str(DKG.Corrected),
                      "from": str(mint("correction", "001_41fee706fa7e4dab", STATUE, "date")),
                      "source": "https://www.japantimes.co.jp/news/2017/09/23/national/politics-diplomacy/"
                                "san-francisco-unveils-comfort-women-memorial/"}]


def test_an_article_claim_is_linked_to_the_correction_that_overrules_it(kg):
    found = rows(kg, f"""SELECT ?said ?known ?correction {{
        GRAPH ?g {{ <{EV}{STATUE}> dkg:date ?said }}
        ?r dkg:overrules ?g ; rdf:subject <{EV}{STATUE}> ; rdf:predicate dkg:date ; rdf:object ?known ;
           prov:wasDerivedFrom ?correction }}""")
    assert found == [{"said": "2021-09-22", "known": "2017-09-22",
                      "correction": str(mint("correction", "001_41fee706fa7e4dab", STATUE, "date"))}]
    # a less precise claim that agrees is not overruled: 2019 (000) and 2019-07 (001) against 2019-07-01
    assert rows(kg, f"SELECT ?g {{ <{EV}2019-07-japan-export-controls#date-2019-07-01> dkg:overrules ?g }}") == []
    assert rows(kg, f"SELECT ?s {{ <{EV}2019-07-japan-export-controls#date-2019-07-01> rdf:subject ?s }}") != []


def test_an_agreed_value_traces_to_every_article_that_gives_it(kg):
    found = {r["from"] for r in rows(kg, f"""SELECT ?from {{
        <{EV}2015-12-28-comfort-women-agreement> dkg:resolution ?r .
        ?r rdf:predicate dkg:party ; rdf:object <{mint("state", "japan")}> ; dkg:rank dkg:Agreed ;
           prov:wasDerivedFrom ?from }}""")}
    assert found == {str(article_graph("000_c02e92ecd0172843")), str(article_graph("002_0de9fc94b8e59320"))}


def test_a_correction_adds_an_event_the_article_leaves_out(kg):
    event = "2019-08-28-japan-white-list-removal"  # nna.jp: cabinet decision 2 August, in force 28 August 2019
    assert values(kg, event, "effectiveDate") == {"2019-08-28"}
    assert values(kg, event, "partOf") == {EV + "2019-korea-japan-trade-dispute"}
    sources = rows(kg, f"SELECT ?from {{ <{EV}{event}> prov:wasDerivedFrom ?from }}")
    assert [r["from"] for r in sources] == [str(mint("correction", "000_c02e92ecd0172843", event, "event"))]


def test_events_nobody_can_date_have_no_date_and_say_why(kg):
    for event in ("abe-park-summit", "2021-motegi-chung-phone-call", "recent-high-level-talks-in-article-000"):
        assert not values(kg, event, "date")
        assert values(kg, event, "undatedBecause"), event


def _claims(prop, *sources: tuple[str, str]) -> list[CompiledArticle]:
    articles = []
    for article_id, value in sources:
        graph = Graph()
        event = URIRef(EV + "x")
        graph.add((event, RDF.type, DKG.Meeting))
        graph.add((event, prop, Literal(value)))
        articles.append(CompiledArticle(article_id, article_graph(article_id), graph, Graph(), Graph(), [], {}))
    return articles


def test_dates_that_agree_resolve_to_the_most_precise():
    resolved = resolve(_claims(DKG.date, ("a", "2019"), ("b", "2019-07-04"), ("c", "2019-07")))
    assert set(resolved.objects(URIRef(EV + "x"), DKG.date)) == {Literal("2019-07-04")}
    assert (URIRef(EV + "x"), DKG.disputed, None) not in resolved


def test_sources_that_disagree_give_a_disputed_marker_and_no_value():
    resolved = resolve(_claims(DKG.date, ("a", "2017-09-22"), ("b", "2021-09-22")))
    event = URIRef(EV + "x")
    assert set(resolved.objects(event, DKG.date)) == set()
    assert set(resolved.objects(event, DKG.disputed)) == {DKG.date}
    competing = {(str(resolved.value(n, RDF.object)), str(resolved.value(n, URIRef("http://www.w3.org/ns/prov#"
                                                                                     "wasDerivedFrom"))))
                 for n in resolved.objects(event, DKG.resolution) if resolved.value(n, DKG.rank) == DKG.Disputed}
    assert competing == {("2017-09-22", str(article_graph("a"))), ("2021-09-22", str(article_graph("b")))}


def test_the_union_of_the_articles_is_available_by_name(kg, built):
    union = URIRef(str(UNION_GRAPH))
    # Oxigraph merges FROM graphs as a bag (a triple in two articles comes twice): count distinct triples
    count = int(rows(kg, f"SELECT (COUNT(*) AS ?n) FROM <{union}> {{ SELECT DISTINCT * {{ ?s ?p ?o }} }}")[0]["n"])
    by_option = int(rows(kg, "SELECT (COUNT(*) AS ?n) { SELECT DISTINCT * { ?s ?p ?o } }",
                         default_graphs=[str(union)])[0]["n"])
    expected = Graph()
    for compiled in built.articles:
        expected += compiled.graph
    assert count == by_option == len(expected)
    query = f"SELECT ?v FROM <{union}> {{ <{EV}2019-07-japan-export-controls> dkg:date ?v }}"
    dates = {r["v"] for r in rows(kg, query)}
    assert dates == {"2019", "2019-07"}  # what the articles say, side by side
    assert len(kg.triples(str(union))) == len(expected)


def test_an_independent_pyshacl_run_over_the_served_default_graph_finds_no_violation(kg, settings):
    data = Graph().parse(data=kg.dump(find_format("nt")), format="nt")
    ontology = Graph().parse(settings.ontology_dir / "dkg.ttl", format="turtle")
    _conforms, results, _text = shacl_validate(data, shacl_graph=load_shapes(settings.ontology_dir),
                                               ont_graph=ontology, inference="none", advanced=True)
    violations = [results.value(r, SH.resultMessage) for r in results.subjects(SH.resultSeverity, SH.Violation)]
    assert not violations
    assert len(data) > 1000


@pytest.mark.parametrize("fmt", ["trig", "nq"])
def test_kg_service_validate_of_its_own_dump_finds_no_violation(kg, tmp_path: Path, fmt):
    path = tmp_path / f"dump.{fmt}"
    path.write_bytes(kg.dump(find_format(fmt)))
    result = CliRunner().invoke(cli, ["validate", str(path)])
    assert result.exit_code == 0, result.output
    assert "0 violations" in result.output


def test_the_served_default_graph_is_not_the_union(kg):
    in_default = ox.Quad(ox.NamedNode(EV + STATUE), ox.NamedNode(str(DKG.date)),
                         ox.Literal("2021-09-22", datatype=ox.NamedNode("http://www.w3.org/2001/XMLSchema#date")),
                         ox.DefaultGraph())
    assert in_default not in kg.store


def test_articles_name_their_upstream_agency_and_dateline_place(kg):
    found = {(r["a"].rsplit("/", 1)[-1], r["p"].rsplit("#", 1)[-1], r["o"].rsplit("/", 1)[-1]) for r in rows(
        kg, "SELECT ?a ?p ?o { ?a dkg:upstreamSource|dkg:datelinePlace ?o ; ?p ?o }")}
    # 002: "According to Yonhap News Agency"; 003: "According to Kyodo News Agency"; 004: "SEOUL", "Kyodo"
    assert found == {("002_0de9fc94b8e59320", "upstreamSource", "yonhap"),
                     ("003_11110d5589b8cc2d", "upstreamSource", "kyodo"),
                     ("004_fe33916f0645b2f3", "upstreamSource", "kyodo"),
                     ("004_fe33916f0645b2f3", "datelinePlace", "seoul")}


def test_a_paraphrased_quote_is_flagged(kg):
    # Korea Herald 2014-02-13: Kerry said "put history behind them and move the relationship forward"
    found = rows(kg, "SELECT ?s { ?s dkg:paraphrase true }")
    assert [r["s"] for r in found] == [str(mint("statement", "004_fe33916f0645b2f3", "kerry-put-history-behind"))]


def test_sub_events_and_the_dispute_they_belong_to(kg):
    assert values(kg, "2023-05-07-leaders-dinner-toast", "partOf") == {EV + "leaders-meeting-in-article-000"}
    # asiatoday: Yoon and Kishida held the summit in Seoul on 7 May 2023 (article 000 names no one)
    assert values(kg, "leaders-meeting-in-article-000", "date") == {"2023-05-07"}
    assert values(kg, "leaders-meeting-in-article-000", "participant") == {
        str(mint("person", "yoon-suk-yeol")), str(mint("person", "fumio-kishida"))}
    assert rows(kg, f"SELECT ?c {{ <{EV}2019-korea-japan-trade-dispute> a ?c }}") == [{"c": str(DKG.Dispute)}]


def test_every_event_has_a_status(kg):
    missing = rows(kg, "PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#> "
                       "SELECT ?e { ?e a ?c . ?c rdfs:subClassOf dkg:Event FILTER NOT EXISTS { ?e dkg:status ?s } }")
    assert missing == []


def test_a_correction_value_of_the_wrong_type_is_reported_at_its_line(tmp_path: Path):
    from kg_service.errors import MappingErrors
    from kg_service.mapping import load_mapping

    source = (Path(__file__).resolve().parents[1] / "seeds" / "002_0de9fc94b8e59320.yaml").read_text("utf-8")
    bad = source.replace("    correct: not-held\n", "    correct: not held\n", 1)
    assert bad != source
    path = tmp_path / "002_0de9fc94b8e59320.yaml"
    path.write_text(bad, "utf-8")
    with pytest.raises(MappingErrors) as caught:
        load_mapping(path)
    line = bad.splitlines().index("    correct: not held") + 1
    assert [(e.location.line, e.location.field) for e in caught.value.errors] == [(line, "corrections[2].correct")]
    assert "not one of: held, planned, expected, not-held" in str(caught.value.errors[0])


_SCALARS = st.one_of(st.text(max_size=30), st.integers(-5, 10**9), st.booleans(), st.none(),
                     st.sampled_from(["2019-07-04", "2021-02-30", "not-held", "held", "japan", "PT35M", "[a, b]"]))
_VALUES = st.recursive(_SCALARS, lambda inner: st.one_of(st.lists(inner, max_size=3),
                                                         st.dictionaries(st.sampled_from(
                                                             ["class", "label", "status", "date", "id", "x"]),
                                                             inner, max_size=4)), max_leaves=8)


@settings(max_examples=120, deadline=None)
@given(field=st.sampled_from(["date", "participants", "status", "plaintiff_count", "products", "event", "level",
                              "award_per_plaintiff", "duration", "identity", "paraphrase", "place"]),
       value=_VALUES)
def test_any_correction_value_is_typed_or_reported_at_its_line(field: str, value: object) -> None:
    from ruamel.yaml import YAML

    from kg_service.entries import Entry
    from kg_service.errors import InputError, MappingErrors
    from kg_service.mapping import load_mapping

    source = (Path(__file__).resolve().parents[1] / "seeds" / "003_11110d5589b8cc2d.yaml").read_text("utf-8")
    stream = io.StringIO()
    YAML(typ="safe", pure=True).dump([{"subject": "2021-03-blinken-visit-seoul", "field": field, "correct": value,
                                       "source": "https://example.org/s"}], stream)
    text = source + "".join("  " + line + "\n" for line in stream.getvalue().splitlines())
    path = Path("003_11110d5589b8cc2d.yaml")
    try:
        mapping = load_mapping(path, text)
    except MappingErrors as exc:
        assert all(e.location.line and e.location.line > source.count("\n") for e in exc.errors), exc.errors
        return
    except InputError as exc:  # the dumper wrote YAML that cannot be read back (``?0`` unquoted): its line
        assert exc.location.line and exc.location.line > source.count("\n"), exc
        return
    correct = mapping.corrections[-1].values["correct"]
    if field == "event":
        assert isinstance(correct, Entry) and correct.values["id"] == "2021-03-blinken-visit-seoul"
    else:
        assert isinstance(correct, (str, tuple, int, float, bool)), correct
