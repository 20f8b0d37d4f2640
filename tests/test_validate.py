"""Validating new articles: the three test articles conform, and each broken variant produces its
precise finding (severity, line of the offending entry, message), through the library, the CLI and
``POST /validate``; validation leaves the served graph as it was."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import ARTICLES_DIR
from rdflib import Graph, Literal, URIRef
from rdflib.namespace import RDF, SH, SKOS

from kg_service.cli import cli
from kg_service.intake import parse_rdf, rdf_format
from kg_service.validate import Context, validate_mapping, validate_rdf

ARTICLES = sorted(ARTICLES_DIR.glob("t*.yaml"))
T01, T02, T03, T04 = ARTICLES


def variant(path: Path, old: str, new: str) -> tuple[str, int]:
    """The mapping with `old` replaced by `new`, and the line where `new` begins (the offending entry)."""
    source = path.read_text(encoding="utf-8")
    assert source.count(old) == 1, f"{old!r} must occur once in {path.name}"
    return source.replace(old, new), source[:source.index(old)].count("\n") + 1


# (mapping, old text, new text, severity, message fragment, line offset from the first line of `new`)
BROKEN = {
    "unknown-field": (T02, "    place: seoul\n", "    venue: seoul\n", "Violation",
                      "events[0].venue: unknown field", 0),
    "missing-field": (T03, "    status: held\n    date: 2015-12-28\n    date_phrase: on Monday\n    parties",
                      "    date: 2015-12-28\n    date_phrase: on Monday\n    parties", "Violation",
                      "events[1].status: required field is missing", -3),
    "wrong-type-list": (T01, "products: [fluorinated polyimide, photoresists, hydrogen fluoride]",
                        "products: fluorinated polyimide", "Violation",
                        "events[0].products: expected a list, got str", 0),
    "wrong-type-count": (T02, "plaintiff_count: 4", "plaintiff_count: four", "Violation",
                         "events[0].plaintiff_count: 'four' is not a whole number >= 0", 0),
    "quote-not-in-text": (T01, "      - quote: fluorinated polyimide, photoresists and hydrogen fluoride",
                          "      - quote: fluorinated polymide, photoresist and hydrogen fluoride", "Violation",
                          "quote not found in the text; closest passage: 'fluorinated polyimide, photoresists", 0),
    "offset-mismatch": (T03, "        start: 469", "        start: 470", "Violation",
                        "evidence.start: offset 470 does not match the quote: the text there reads "
                        "'apan will contribute", -1),
    "unknown-key": (T03, "    participants: [yun-byung-se, fumio-kishida]\n    parties",
                    "    participants: [yun-byung-se, fumio-kishda]\n    parties", "Violation",
                    "unknown key 'fumio-kishda'; did you mean fumio-kishida (Fumio Kishida", 0),
    "unknown-court": (T02, "    court: supreme-court-of-korea", "    court: supreme-court-korea", "Violation",
                      "did you mean supreme-court-of-korea (Supreme Court of Korea; South Korean Supreme Court)", 0),
    "malformed-date": (T01, "    date: 2019-07-04\n", "    date: 2019-02-30\n", "Violation",
                       "events[0].date: '2019-02-30' is not a date", 0),
    "held-after-article": (T02, "    date: 2018-10-30\n", "    date: 2018-11-30\n", "Violation",
                           "A held event cannot be dated after the article that reports it: dated 2018-11-30", 0),
    "date-phrase-arithmetic": (T03, "    date_phrase: on Monday\n    level", "    date_phrase: on Sunday\n    level",
                               "Warning", "'on Sunday' read against the publication date 2015-12-28 is 2015-12-27", 0),
    "agreement-one-party": (T03, "    parties: [south-korea, japan]\n    participants",
                            "    parties: [south-korea, south-korea]\n    participants", "Violation",
                            "An agreement needs at least two distinct parties", 0),
    "trade-measure-self": (T01, "    targets: [south-korea]", "    targets: [japan]", "Violation",
                           "A state cannot impose a trade measure on itself", -1),
    "duplicate-event": (T01, "  - id: 2019-07-japan-export-controls\n    class: TradeMeasure\n"
                        "    label: Japan's 2019 export restrictions on South Korea\n    status: held\n"
                        "    date: 2019-07-04", "  - id: 2019-07-export-curbs\n    class: TradeMeasure\n"
                        "    label: Japan's 2019 export restrictions on South Korea\n    status: held\n"
                        "    date: 2019-07", "Violation", "probably the same event as "
                        "'2019-07-japan-export-controls'", 0),
    # t04 declares two officials and their ministries the register does not know (its `entities:` section).
    "declared-key-taken": (T04, "    - key: lee-ho-hyeon\n", "    - key: fumio-kishida\n      name: Fumio Kishida\n"
                           "    - key: lee-ho-hyeon\n", "Violation", "'fumio-kishida' is already defined in", 0),
    "declared-unknown-country": (T04, "      country: south-korea\n      description: Director-General for",
                                 "      country: south-koreaa\n      description: Director-General for", "Violation",
                                 "unknown register key 'south-koreaa'", 0),
    "declared-unknown-field": (T04, "      description: Director-General of the Trade",
                               "      descripton: Director-General of the Trade", "Violation",
                               "entities.people[0].descripton: unknown field", 0),
    "declared-not-an-agent": (T04, "  people:\n    - key: yoichi-iida", "  issues:\n    - key: yoichi-iida",
                              "Violation",
                              "A dkg:participant of an event is an agent", 26),  # at the event's participants
    "label-differs-from-seeds": (T03, "    label: 2015 South Korea - Japan agreement on comfort women",
                                 "    label: The comfort women deal", "Warning",
                                 "events.2015-12-28-comfort-women-agreement.label: 'The comfort women deal' here but "
                                 "'2015 South Korea - Japan agreement on comfort women' in ", 0),
}


def findings_at(context: Context, path: Path, source: str) -> list:
    text = path.with_suffix(".txt").read_text(encoding="utf-8")
    report, _mapping = validate_mapping(context, source, path, text)
    return report.findings


@pytest.mark.parametrize("path", ARTICLES, ids=lambda p: p.stem)
def test_test_article_conforms_with_no_warning_but_its_publisher(validation_context: Context, path: Path) -> None:
    report, mapping = validate_mapping(validation_context, path.read_text(encoding="utf-8"), path,
                                       path.with_suffix(".txt").read_text(encoding="utf-8"))
    assert mapping is not None and report.conforms, report.as_text()
    assert [f.message for f in report.findings if f.severity != "Info"] == [
        "The article has no dkg:publisher: name the news organisation that published it."]


def test_test_articles_cover_the_four_event_classes() -> None:
    classes = {line.split(":", 1)[1].strip() for path in ARTICLES
               for line in path.read_text(encoding="utf-8").splitlines() if line.strip().startswith("class:")}
    assert {"Meeting", "Ruling", "TradeMeasure", "Agreement"} <= classes


@pytest.mark.parametrize("name", BROKEN)
def test_broken_variant_gives_its_precise_finding(validation_context: Context, name: str) -> None:
    path, old, new, severity, fragment, offset = BROKEN[name]
    source, line = variant(path, old, new)
    findings = findings_at(validation_context, path, source)
    matching = [f for f in findings if fragment in f.message]
    assert matching, f"no finding with {fragment!r} in:\n" + "\n".join(f"{f.line} {f.message}" for f in findings)
    finding = matching[0]
    assert (finding.severity, finding.file, finding.line) == (severity, str(path), line + offset)
    if severity == "Violation":
        assert not any(f.severity == "Violation" for f in findings_at(
            validation_context, path, path.read_text(encoding="utf-8")))


def test_schema_errors_are_all_reported_at_once(validation_context: Context) -> None:
    source, _ = variant(T02, "    place: seoul\n    topics: [forced-labour]\n",
                       "    venue: seoul\n    topics: forced-labour\n")
    messages = [(f.line, f.message) for f in findings_at(validation_context, T02, source)]
    assert (27, "events[0].venue: unknown field; known fields: " + messages[0][1].split("known fields: ")[1]) \
        in messages
    assert (28, "events[0].topics: expected a list, got str 'forced-labour'") in messages


def test_shacl_result_carries_focus_node_and_path(validation_context: Context) -> None:
    source, line = variant(T01, "    targets: [south-korea]", "    targets: [japan]")
    finding = next(f for f in findings_at(validation_context, T01, source) if "impose a trade measure" in f.message)
    assert finding.focus == "https://w3id.org/kg-service/id/event/2019-07-japan-export-controls"
    assert finding.path == "https://w3id.org/kg-service/ontology#imposedBy"
    assert finding.source.endswith("#TradeMeasure-notSelf")


# --- CLI ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ARTICLES, ids=lambda p: p.stem)
def test_cli_validate_new_article_exits_0_and_shows_warnings(path: Path) -> None:
    result = CliRunner().invoke(cli, ["validate", str(path)])
    assert result.exit_code == 0, result.output
    assert f"{path}:" in result.output and "Warning: The article has no dkg:publisher" in result.output
    assert result.output.strip().splitlines()[-1].startswith("Conforms: 0 violations, 1 warning")


def test_cli_validate_broken_exits_1_with_file_and_line(tmp_path: Path) -> None:
    source, line = variant(T03, "    participants: [yun-byung-se, fumio-kishida]\n    parties",
                           "    participants: [yun-byung-se, fumio-kishda]\n    parties")
    mapping = tmp_path / T03.name
    mapping.write_text(source, encoding="utf-8")
    result = CliRunner().invoke(cli, ["validate", str(mapping), "--text", str(T03.with_suffix(".txt"))])
    assert result.exit_code == 1
    assert f"{mapping}:{line}: Violation: events.2015-12-28-yun-kishida-talks-seoul.participants: unknown key " \
           "'fumio-kishda'" in result.output
    assert "Does not conform: 1 violation" in result.output


def test_cli_validate_json_lists_results_with_lines() -> None:
    result = CliRunner().invoke(cli, ["validate", str(T02), "--format", "json"])
    body = json.loads(result.output)
    assert result.exit_code == 0 and body["conforms"] is True
    assert body["results"][0]["file"] == str(T02) and body["results"][0]["line"] == 3


def test_cli_validate_turtle_is_a_shacl_validation_report(tmp_path: Path) -> None:
    source, _ = variant(T01, "    targets: [south-korea]", "    targets: [japan]")
    mapping = tmp_path / T01.name
    mapping.write_text(source, encoding="utf-8")
    result = CliRunner().invoke(cli, ["validate", str(mapping), "--text", str(T01.with_suffix(".txt")),
                                      "--format", "turtle"])
    assert result.exit_code == 1
    graph = Graph().parse(data=result.output, format="turtle")
    report = next(graph.subjects(RDF.type, SH.ValidationReport))
    assert graph.value(report, SH.conforms) == Literal(False)
    messages = [str(graph.value(r, SH.resultMessage)) for r in graph.objects(report, SH.result)
                if graph.value(r, SH.resultSeverity) == SH.Violation]
    assert any(m.startswith(f"{mapping}:") and "impose a trade measure on itself" in m for m in messages)


# --- RDF from other tools ----------------------------------------------------------------------------------


def compiled_turtle(context: Context, path: Path) -> bytes:
    """The article as another tool would write it: its graph and metadata, in Turtle."""
    from kg_service.build import catalogue_for
    from kg_service.compiler import compile_article
    from kg_service.mapping import load_mapping

    mapping = load_mapping(path)
    compiled = compile_article(mapping, path.with_suffix(".txt").read_text(encoding="utf-8"),
                               catalogue_for(context.build.register, context.build.mappings + [mapping]))
    graph = compiled.graph + compiled.meta
    return graph.serialize(format="turtle").encode()


def test_rdf_of_a_valid_article_conforms(validation_context: Context) -> None:
    data = compiled_turtle(validation_context, T03)
    report = validate_rdf(validation_context, parse_rdf(data, rdf_format("a.ttl"), "a.ttl"), "a.ttl",
                          T03.with_suffix(".txt").read_text(encoding="utf-8"))
    assert report.conforms, report.as_text()


def test_rdf_with_offsets_that_do_not_match_their_quote_is_a_violation(validation_context: Context) -> None:
    data = compiled_turtle(validation_context, T03).replace(b'"469"^^xsd:nonNegativeInteger',
                                                            b'"471"^^xsd:nonNegativeInteger')
    report = validate_rdf(validation_context, parse_rdf(data, rdf_format("a.ttl"), "a.ttl"), "a.ttl",
                          T03.with_suffix(".txt").read_text(encoding="utf-8"))
    assert not report.conforms
    assert any("offsets 471-510 do not match the quote 'Japan will contribute about 1 billion yen'" in f.message
               for f in report.findings), report.as_text()


def test_rdf_naming_an_unknown_person_gets_a_suggestion(validation_context: Context) -> None:
    data = compiled_turtle(validation_context, T03).replace(b"person/fumio-kishida", b"person/fumio-kisida")
    report = validate_rdf(validation_context, parse_rdf(data, rdf_format("a.ttl"), "a.ttl"), "a.ttl")
    assert any(f.severity == "Violation" and "unknown person <https://w3id.org/kg-service/id/person/fumio-kisida>; "
               "did you mean fumio-kishida" in f.message for f in report.findings), report.as_text()


def test_cli_validate_rdf_file(tmp_path: Path, validation_context: Context) -> None:
    rdf = tmp_path / "article.ttl"
    rdf.write_bytes(compiled_turtle(validation_context, T02))
    result = CliRunner().invoke(cli, ["validate", str(rdf), "--text", str(T02.with_suffix(".txt"))])
    assert result.exit_code == 0, result.output


# --- HTTP --------------------------------------------------------------------------------------------------


def post_article(client, mapping: bytes, text: bytes, name: str = "new.yaml", **kwargs):  # noqa: ANN001, ANN201
    import io

    data = {"mapping": (io.BytesIO(mapping), name), "text": (io.BytesIO(text), "new.txt")}
    return client.post("/validate", data=data, content_type="multipart/form-data", **kwargs)


def test_post_validate_conforming_article_is_200_json(client) -> None:  # noqa: ANN001
    response = post_article(client, T02.read_bytes(), T02.with_suffix(".txt").read_bytes(), T02.name)
    assert response.status_code == 200 and response.mimetype == "application/json"
    assert response.json["conforms"] is True and response.json["counts"]["Violation"] == 0


def test_post_validate_broken_article_is_200_with_conforms_false(client) -> None:  # noqa: ANN001
    source, line = variant(T02, "    court: supreme-court-of-korea", "    court: supreme-court-korea")
    response = post_article(client, source.encode(), T02.with_suffix(".txt").read_bytes(), "mine.yaml")
    assert response.status_code == 200 and response.json["conforms"] is False
    violation = next(r for r in response.json["results"] if r["severity"] == "Violation")
    assert (violation["file"], violation["line"]) == ("mine.yaml", line)
    assert "unknown key 'supreme-court-korea'" in violation["message"]


def test_post_validate_turtle_by_negotiation(client) -> None:  # noqa: ANN001
    response = post_article(client, T01.read_bytes(), T01.with_suffix(".txt").read_bytes(),
                            headers={"Accept": "text/turtle"})
    assert response.status_code == 200 and response.mimetype == "text/turtle"
    graph = Graph().parse(data=response.data, format="turtle")
    assert graph.value(next(graph.subjects(RDF.type, SH.ValidationReport)), SH.conforms) == Literal(True)


def test_post_validate_html_escapes_the_report(client) -> None:  # noqa: ANN001
    source, _ = variant(T02, "    court: supreme-court-of-korea", "    court: supreme-court-korea")
    response = post_article(client, source.encode(), T02.with_suffix(".txt").read_bytes(),
                            "<img src=x onerror=alert(1)>.yaml", headers={"Accept": "text/html"})
    assert response.status_code == 200 and response.mimetype == "text/html"
    page = response.get_data(as_text=True)
    assert "Does not conform" in page and "supreme-court-korea" in page
    assert "<img src=x" not in page and "&lt;img src=x onerror=alert(1)&gt;.yaml" in page


def test_get_validate_is_a_form_that_works_without_javascript(client) -> None:  # noqa: ANN001
    page = client.get("/validate").get_data(as_text=True)
    assert 'enctype="multipart/form-data"' in page and 'name="mapping"' in page and 'name="text"' in page
    assert "<script" not in page


def test_post_validate_raw_turtle_body(client, validation_context: Context) -> None:  # noqa: ANN001
    response = client.post("/validate", data=compiled_turtle(validation_context, T01),
                           content_type="text/turtle")
    assert response.status_code == 200 and response.json["conforms"] is True, response.json


def test_validation_leaves_the_served_graph_untouched(client, app) -> None:  # noqa: ANN001
    from kg_service.web.state import Service

    svc: Service = app.extensions["kg_service"]
    version, size = svc.kg.version, len(svc.kg)
    assert post_article(client, T03.read_bytes(), T03.with_suffix(".txt").read_bytes()).json["conforms"]
    assert (svc.kg.version, len(svc.kg)) == (version, size)
    ask = "ASK { GRAPH <https://w3id.org/kg-service/graph/article/t03_comfort_women_agreement_2015> { ?s ?p ?o } }"
    response = client.get("/sparql", query_string={"query": ask}, headers={"Accept": "application/sparql-results+json"})
    assert response.json["boolean"] is False


@pytest.mark.parametrize("suffix,rdflib_format", [("trig", "trig"), ("nq", "nquads"), ("jsonld", "json-ld"),
                                                  ("rdf", "xml"), ("nt", "nt")])
def test_cli_validate_each_rdf_format(tmp_path: Path, validation_context: Context, suffix: str,
                                      rdflib_format: str) -> None:
    from rdflib import Dataset

    graph = Graph().parse(data=compiled_turtle(validation_context, T01), format="turtle")
    if suffix in ("trig", "nq", "jsonld"):
        dataset = Dataset()
        named = dataset.graph("https://w3id.org/kg-service/graph/article/t01_export_controls_2019")
        for triple in graph:
            named.add(triple)
        data = dataset.serialize(format=rdflib_format)
    else:
        data = graph.serialize(format=rdflib_format)
    rdf = tmp_path / f"article.{suffix}"
    rdf.write_text(data, encoding="utf-8")
    good = CliRunner().invoke(cli, ["validate", str(rdf), "--text", str(T01.with_suffix(".txt"))])
    assert good.exit_code == 0, good.output
    wrong_text = CliRunner().invoke(cli, ["validate", str(rdf), "--text", str(T02.with_suffix(".txt"))])
    assert wrong_text.exit_code == 1 and "quote not found in the text of the article" in wrong_text.output


def test_browser_form_with_pasted_text_validates_as_html(client) -> None:  # noqa: ANN001
    """A textarea arrives with CRLF line ends; they are read as the LF the text file has, so its checksum holds."""
    form = {"mapping": T02.read_text(encoding="utf-8").replace("\n", "\r\n"),
            "text": T02.with_suffix(".txt").read_text(encoding="utf-8").replace("\n", "\r\n"), "format": "html"}
    response = client.post("/validate", data=form, content_type="application/x-www-form-urlencoded")
    assert response.status_code == 200 and response.mimetype == "text/html"
    page = response.get_data(as_text=True)
    assert "Conforms: 0 violations" in " ".join(page.split())


def test_the_html_report_marks_the_offending_line_of_the_mapping(client) -> None:  # noqa: ANN001
    source, line = variant(T02, "    place: seoul\n", "    venue: seoul\n")
    response = post_article(client, source.encode(), T02.with_suffix(".txt").read_bytes(),
                            headers={"Accept": "text/html"})
    page = response.get_data(as_text=True)
    assert f'href="#line-{line}"' in page
    marked = re.search(rf'<li id="line-{line}" class="flagged sev-violation"><code>(.*?)</code>', page)
    assert marked and marked.group(1) == "    venue: seoul"
    assert f'<li id="line-{line + 1}">' in page or f'<li id="line-{line + 1}" class' in page


def test_an_added_article_brings_its_declared_entities_into_the_entity_graph(seeds_copy: Path, settings) -> None:  # noqa: ANN001
    from dataclasses import replace

    from kg_service.build import build_dataset
    from kg_service.vocab import ENTITY_GRAPH

    for suffix in (".txt", ".yaml"):
        (seeds_copy / T04.with_suffix(suffix).name).write_bytes(T04.with_suffix(suffix).read_bytes())
    build = build_dataset(replace(settings, seeds_dir=seeds_copy))
    entities = build.dataset.graph(ENTITY_GRAPH)
    person = URIRef("https://w3id.org/kg-service/id/person/lee-ho-hyeon")
    assert (person, RDF.type, URIRef("https://w3id.org/kg-service/ontology#Person")) in entities
    assert (person, SKOS.altLabel, Literal("Lee Ho-hyun", lang="en")) in entities
    assert (URIRef("https://w3id.org/kg-service/id/org/meti"), URIRef("https://w3id.org/kg-service/ontology#country"),
            URIRef("https://w3id.org/kg-service/id/state/japan")) in entities


def test_post_validate_rdf_uploaded_as_a_form_file(client, validation_context: Context) -> None:  # noqa: ANN001
    """The page's "Validate RDF" form sends the file as the multipart field `rdf`."""
    import io

    data = {"rdf": (io.BytesIO(compiled_turtle(validation_context, T01)), "article.ttl")}
    response = client.post("/validate", data=data, content_type="multipart/form-data")
    assert response.status_code == 200 and response.json["conforms"] is True, response.json


# --- RDF in the dataset's context (issue 13, item 4) -----------------------------------------------------

def test_every_graph_the_service_exports_validates_clean_with_the_cli(client, built, tmp_path: Path) -> None:  # noqa: ANN001
    """What the service itself exports (each article graph from the Graph Store, the TriG and N-Quads
    dumps) validates with `kg-service validate`, and the report says which context it used."""
    from kg_service.vocab import article_graph

    exports = {"dump.trig": ("/dump.trig", {}), "dump.nq": ("/dump.nq", {})}
    for compiled in built.articles:
        exports[f"{compiled.article_id}.ttl"] = ("/data", {"graph": str(article_graph(compiled.article_id))})
    for name, (route, query) in exports.items():
        response = client.get(route, query_string=query, headers={"Accept": "text/turtle"})
        assert response.status_code == 200, name
        path = tmp_path / name
        path.write_bytes(response.get_data())
        response.close()  # a large read holds a slot until it is closed
        result = CliRunner().invoke(cli, ["validate", str(path)])
        assert result.exit_code == 0, f"{name}: {result.output}"
        assert "Validated in the context of the served dataset's graph:meta" in result.output


def test_an_exported_article_graph_posted_to_validate_conforms_and_names_its_context(client, built) -> None:  # noqa: ANN001
    from kg_service.vocab import article_graph

    iri = str(article_graph(built.articles[0].article_id))
    turtle = client.get("/data", query_string={"graph": iri}, headers={"Accept": "text/turtle"}).get_data()
    response = client.post("/validate", data=turtle, content_type="text/turtle")
    assert response.status_code == 200 and response.json["conforms"] is True, response.json
    assert "graph:meta" in response.json["context"] and "graph:entities" in response.json["context"]


def test_an_article_graph_without_the_served_context_would_not_conform(validation_context: Context, built) -> None:  # noqa: ANN001
    """The context is what makes it conform: the same graph against an empty metadata graph does not."""
    from dataclasses import replace as dc_replace

    from rdflib import Dataset

    from kg_service.build import Build
    from kg_service.vocab import article_graph

    turtle = built.dataset.graph(article_graph(built.articles[0].article_id)).serialize(format="turtle").encode()
    bare = Build(Dataset(), built.register, built.ontology, built.mappings, built.articles)
    report = validate_rdf(dc_replace(validation_context, build=bare), parse_rdf(turtle, rdf_format("a.ttl"), "a.ttl"),
                          "a.ttl")
    assert not report.conforms
