"""The knowledge graph of the seeds: verbatim texts, evidence offsets, facts read from the articles,
cross-article identity, validation, and dumps that round-trip and parse in an independent parser."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from rdflib import Dataset, Graph, URIRef
from rdflib.compare import isomorphic

from kg_service.buildcheck import validate_build
from kg_service.formats import DATASET, GRAPH, find_format, names
from kg_service.settings import Settings
from kg_service.shacl import load_shapes
from kg_service.vocab import DEFAULT_GRAPHS, DKG, OA, article_graph, mint

ROOT = Path(__file__).resolve().parents[1]
SHARED_SEEDS = ROOT.parent / "shared" / "seeds"
EV = "https://w3id.org/kg-service/id/event/"


@pytest.fixture(scope="module")
def build(built):
    return built  # the session's build of the seeds (conftest)


def texts() -> dict[str, str]:
    return {p.stem: p.read_bytes().decode("utf-8") for p in sorted((ROOT / "seeds").glob("*.txt"))}


def test_every_article_has_a_mapping_and_a_graph(build):
    assert sorted(texts()) == sorted(c.article_id for c in build.articles)
    assert len(texts()) >= 5


@pytest.mark.skipif(not SHARED_SEEDS.is_dir(), reason="../shared/seeds is not beside this checkout")
def test_seed_texts_are_byte_for_byte_the_shared_ones():
    for path in SHARED_SEEDS.glob("*.txt"):
        assert (ROOT / "seeds" / path.name).read_bytes() == path.read_bytes(), path.name


def test_recorded_checksums_match_the_texts(build):
    meta = build.dataset.graph(URIRef("https://w3id.org/kg-service/graph/meta"))
    for article_id, text in texts().items():
        recorded = meta.value(mint("article", article_id), DKG.sha256)
        assert str(recorded) == hashlib.sha256(text.encode("utf-8")).hexdigest()


def test_every_quote_occurs_at_its_offsets(build):
    checked = 0
    for article_id, text in texts().items():
        graph = build.dataset.graph(article_graph(article_id))
        for target in graph.subjects(OA.hasSource, mint("article", article_id)):
            selectors = list(graph.objects(target, OA.hasSelector))
            exact = next(graph.value(s, OA.exact) for s in selectors if graph.value(s, OA.exact) is not None)
            start = next(graph.value(s, OA.start).toPython() for s in selectors if graph.value(s, OA.start))
            end = next(graph.value(s, OA.end).toPython() for s in selectors if graph.value(s, OA.end))
            prefix = next(str(graph.value(s, OA.prefix)) for s in selectors if graph.value(s, OA.prefix) is not None)
            assert text[start:end] == str(exact), (article_id, start)
            assert text[:start].endswith(prefix)
            checked += 1
    assert checked >= 60


def test_every_event_and_statement_has_evidence_in_each_graph_that_reports_it(build):
    for compiled in build.articles:
        for node in set(compiled.graph.subjects(predicate=None)):
            types = set(compiled.graph.objects(node, URIRef("http://www.w3.org/1999/02/22-rdf-syntax-ns#type")))
            if types & {DKG.Meeting, DKG.Ruling, DKG.TradeMeasure, DKG.Agreement, DKG.Visit, DKG.Ceremony,
                        DKG.Statement}:
                assert compiled.graph.value(node, DKG.evidence) is not None, node


def test_the_built_graph_has_no_violations(build):
    report = validate_build(build, load_shapes(Settings().ontology_dir))
    assert report.conforms, report.as_text()


def _values(build, article: str, event: str, prop) -> set:
    graph = build.dataset.graph(article_graph(article))
    return {str(o) for o in graph.objects(URIRef(EV + event), prop)}


@pytest.mark.parametrize(("article", "event", "prop", "expected"), [
    ("001_41fee706fa7e4dab", "2021-09-23-motegi-chung-talks-new-york", DKG.date, {"2021-09-23"}),
    ("001_41fee706fa7e4dab", "2021-09-23-motegi-chung-talks-new-york", DKG.participant,
     {str(mint("person", "toshimitsu-motegi")), str(mint("person", "chung-eui-yong"))}),
    ("001_41fee706fa7e4dab", "2021-09-23-motegi-chung-talks-new-york", DKG.sidelinesOf,
     {str(mint("gathering", "unga-76"))}),
    ("001_41fee706fa7e4dab", "2018-10-30-supreme-court-forced-labour-ruling", DKG.plaintiffCount, {"4"}),
    ("002_0de9fc94b8e59320", "2023-02-18-park-hayashi-talks-munich", DKG.participant,
     {str(mint("person", "park-jin")), str(mint("person", "yoshimasa-hayashi"))}),
    ("002_0de9fc94b8e59320", "2023-03-park-hayashi-talks-new-delhi", DKG.status, {str(DKG.Expected)}),
    ("002_0de9fc94b8e59320", "2023-02-13-vice-ministers-talks-washington", DKG.earliestDate, {"2023-02-13"}),
    ("003_11110d5589b8cc2d", "2021-04-01-funakoshi-lee-talks-tokyo", DKG.level, {str(DKG.DirectorGeneral)}),
    ("003_11110d5589b8cc2d", "2021-motegi-chung-phone-call", DKG.status, {str(DKG.NotHeld)}),
    ("003_11110d5589b8cc2d", "2021-04-japan-us-korea-foreign-ministers-meeting", DKG.status, {str(DKG.Planned)}),
    ("004_fe33916f0645b2f3", "2014-02-18-ihara-lee-talks-seoul", DKG.participant,
     {str(mint("person", "junichi-ihara")), str(mint("person", "lee-sang-deok"))}),
    ("004_fe33916f0645b2f3", "2014-02-18-ihara-lee-talks-seoul", DKG.date, set()),  # the article is undated
    ("000_c02e92ecd0172843", "2019-07-japan-export-controls", DKG.date, {"2019"}),
])
def test_facts_read_from_the_articles(build, article, event, prop, expected):
    assert _values(build, article, event, prop) == expected


def test_one_event_reported_by_several_articles_is_one_iri(build):
    agreement = URIRef(EV + "2015-12-28-comfort-women-agreement")
    graphs = {g.identifier for g in build.dataset.graphs() if (agreement, None, None) in g}
    assert {article_graph("000_c02e92ecd0172843"), article_graph("002_0de9fc94b8e59320")} <= graphs
    # ... and the sources' disagreement stays visible per graph
    assert _values(build, "000_c02e92ecd0172843", "2019-07-japan-export-controls", DKG.date) == {"2019"}
    assert _values(build, "001_41fee706fa7e4dab", "2019-07-japan-export-controls", DKG.date) == {"2019-07"}


def test_garbled_names_resolve_to_one_person_and_look_alikes_stay_apart(build):
    chung = mint("person", "chung-eui-yong")
    spellings = {str(o) for g in build.dataset.graphs() for o in g.objects(chung, URIRef(
        "http://www.w3.org/2004/02/skos/core#altLabel"))}
    assert {"Zheng Yirong", "Zheng Yi", "Jeong Yiyong"} <= spellings
    lee = mint("person", "lee-byung-kee")
    assert (lee, None, None) in build.dataset.graph(article_graph("002_0de9fc94b8e59320"))
    assert (lee, None, None) in build.dataset.graph(article_graph("004_fe33916f0645b2f3"))
    envoy, spokesman = mint("person", "cho-tae-yong"), mint("person", "cho-tai-young")
    assert envoy != spokesman
    graph = build.dataset.graph(article_graph("004_fe33916f0645b2f3"))
    assert (URIRef(EV + "2014-02-18-ihara-cho-talks-seoul"), DKG.participant, envoy) in graph
    speakers = set(graph.objects(None, DKG.speaker))
    assert spokesman in speakers and envoy not in speakers


def test_corrections_keep_the_article_and_the_source_apart(build):
    corrections = build.dataset.graph(URIRef("https://w3id.org/kg-service/graph/corrections"))
    statue = URIRef(EV + "2017-09-22-san-francisco-statue-unveiling")
    found = {(str(corrections.value(c, DKG.statedValue)), str(corrections.value(c, DKG.correctValue)))
             for c in corrections.subjects(DKG.correctionSubject, statue)}
    assert found == {("2021-09-22", "2017-09-22")}
    assert _values(build, "001_41fee706fa7e4dab", "2017-09-22-san-francisco-statue-unveiling", DKG.date) == {
        "2021-09-22"}


def _expected_default_graph(build) -> Graph:
    """What is known: the resolved layer, register, metadata, corrections and ontology (not the articles)."""
    known = Graph()
    for name in DEFAULT_GRAPHS:
        known += build.dataset.graph(name)
    return known


@pytest.mark.parametrize("fmt", names(DATASET))
def test_dataset_dumps_round_trip_through_rdflib(build, kg, fmt):
    parsed = Dataset()
    parsed.parse(data=kg.dump(find_format(fmt)), format=find_format(fmt).rdflib)
    expected = {g.identifier: g for g in build.dataset.graphs() if len(g)}
    got = {g.identifier: g for g in parsed.graphs() if len(g)}
    assert set(got) == set(expected)
    for name, graph in expected.items():
        assert isomorphic(got[name], graph), name


@pytest.mark.parametrize("fmt", names(GRAPH))
def test_graph_dumps_hold_the_default_graph(build, kg, fmt):
    parsed = Graph().parse(data=kg.dump(find_format(fmt)), format=find_format(fmt).rdflib)
    assert isomorphic(parsed, _expected_default_graph(build))


RAPPER_SYNTAX = {"trig": "trig", "nq": "nquads", "ttl": "turtle", "nt": "ntriples", "rdfxml": "rdfxml"}


@pytest.mark.parametrize("fmt", sorted(RAPPER_SYNTAX))
def test_dumps_parse_in_an_independent_parser(kg, tmp_path, fmt):
    rapper = shutil.which("rapper")
    if rapper is None:
        if os.environ.get("CI"):
            pytest.fail("rapper (raptor2-utils) is missing: .ci/run must install it")
        pytest.skip("rapper (raptor2-utils) is not installed")
    path = tmp_path / f"dump.{find_format(fmt).extension}"
    data = kg.dump(find_format(fmt))
    path.write_bytes(data)
    done = subprocess.run([rapper, "-c", "-i", RAPPER_SYNTAX[fmt], str(path)], capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    expected = len(Dataset().parse(data=data, format=find_format(fmt).rdflib)) if find_format(fmt).kind == GRAPH \
        else sum(len(g) for g in Dataset().parse(data=data, format=find_format(fmt).rdflib).graphs())
    assert f"returned {expected} " in done.stderr


def test_from_names_the_dataset_even_when_the_default_graph_is_the_union(build, kg):
    graph = article_graph("000_c02e92ecd0172843")
    only = next(iter(kg.query(f"SELECT (COUNT(*) AS ?n) FROM <{graph}> {{ ?s ?p ?o }}")))["n"].value
    union = next(iter(kg.query("SELECT (COUNT(*) AS ?n) { ?s ?p ?o }")))["n"].value
    assert int(only) == len(build.dataset.graph(graph)) < int(union)


def test_the_union_default_graph_is_a_set_of_triples(kg):
    # Spellings an article uses repeat register triples: in the union each triple must count once.
    rows = kg.query("SELECT (COUNT(*) AS ?n) { <https://w3id.org/kg-service/id/person/park-jin> ?p ?o }")
    register = len([t for t in kg.triples("https://w3id.org/kg-service/graph/entities")
                    if t.subject.value.endswith("/person/park-jin")])
    in_article = len([t for t in kg.triples("https://w3id.org/kg-service/graph/article/002_0de9fc94b8e59320")
                      if t.subject.value.endswith("/person/park-jin")])
    assert in_article and int(next(iter(rows))["n"].value) == register
