"""The intake gate (issue 13, item 3): one real event stays one IRI, a text is added once, talks have two
sides, a new spelling may come with its article, and a misspelled class is one error. Each case is a real
seed event or test article reported again under a fresh id, refused with a message naming the known
event and its article; the correct test articles still conform."""

from __future__ import annotations

import hashlib
import io
import re
from dataclasses import replace
from pathlib import Path

import pytest
from conftest import ARTICLES_DIR
from rdflib import Literal
from rdflib.namespace import OWL, SKOS

from kg_service.build import build_dataset, catalogue_for
from kg_service.checks import known_events
from kg_service.compiler import compile_article
from kg_service.settings import Settings
from kg_service.store import KnowledgeGraph
from kg_service.validate import Context, validate_mapping
from kg_service.vocab import article_graph, mint
from kg_service.web import create_app

ARTICLES = sorted(ARTICLES_DIR.glob("t*.yaml"))
T01, T02, T03, T04 = ARTICLES
SEEDS = Path(__file__).resolve().parent.parent / "seeds"
TOKEN = "gate-token-1"


def validate(context: Context, source: str, path: Path, text: str):  # noqa: ANN201 - a Report
    report, _mapping = validate_mapping(context, source, path, text)
    return report


def renamed(path: Path, old_id: str, new_id: str, article_id: str) -> tuple[str, str, Path]:
    """The article at `path` reported again: its event `old_id` under `new_id` (everywhere in the mapping,
    corrections included), as article `article_id`, its text with one line added (so it is not the same
    text). Returns (mapping, text, the mapping's path)."""
    text = path.with_suffix(".txt").read_text(encoding="utf-8") + "\n(Reported again for the kg-service tests.)\n"
    source = path.read_text(encoding="utf-8")
    assert f"id: {old_id}\n" in source, old_id
    source = re.sub(rf"\b{re.escape(old_id)}\b", new_id, source)
    source = source.replace(f"text: {path.stem}.txt", f"text: {article_id}.txt")
    source = re.sub(r"sha256: [0-9a-f]{64}", f"sha256: {hashlib.sha256(text.encode()).hexdigest()}", source, count=1)
    return source, text, path.with_name(f"{article_id}.yaml")


# class -> (article, event id in it that the seeds already know, the article of the seeds reporting it)
FRESH_IDS = {
    "TradeMeasure": (T01, "2019-07-japan-export-controls", "000_c02e92ecd0172843"),
    "Ruling": (T02, "2018-10-30-supreme-court-forced-labour-ruling", "001_41fee706fa7e4dab"),
    "Agreement": (T03, "2015-12-28-comfort-women-agreement", "002_0de9fc94b8e59320"),
    "Meeting": (SEEDS / "002_0de9fc94b8e59320.yaml", "2023-02-18-park-hayashi-talks-munich", "002_0de9fc94b8e59320"),
}


@pytest.mark.parametrize("cls", FRESH_IDS)
def test_the_same_real_event_under_a_fresh_id_is_a_violation_naming_it(validation_context: Context,
                                                                        cls: str) -> None:
    path, known, seed = FRESH_IDS[cls]
    source, text, where = renamed(path, known, "fresh-id-for-a-known-event", "t90_again")
    report = validate(validation_context, source, where, text)
    found = [f for f in report.findings if f.source == "duplicate"]
    assert not report.conforms
    assert len(found) == 1 and found[0].severity == "Violation", report.as_text()
    assert f"probably the same event as {known!r} (a {cls}" in found[0].message
    assert seed in found[0].message  # names an article that reports it
    assert found[0].line == source[:source.index("id: fresh-id-for-a-known-event")].count("\n") + 1


def test_a_known_event_dated_only_by_a_correction_is_found(validation_context: Context) -> None:
    """004's article gives no date for the Lee - Saiki talks; only its correction does (2014-02-17)."""
    seed = SEEDS / "004_fe33916f0645b2f3.yaml"
    known = validation_context.known[mint("event", "2014-02-17-lee-saiki-talks-tokyo")]
    assert [(s.earliest.isoformat(), s.latest.isoformat()) for s in known.spans] == [("2014-02-17", "2014-02-17")]
    source, text, where = renamed(seed, "2014-02-17-lee-saiki-talks-tokyo", "lee-saiki-again", "t91_again")
    report = validate(validation_context, source, where, text)
    assert any("probably the same event as '2014-02-17-lee-saiki-talks-tokyo'" in f.message
               for f in report.findings), report.as_text()


def test_a_year_overlaps_a_day_and_a_range_overlaps_its_days(validation_context: Context) -> None:
    source, text, where = renamed(T01, "2019-07-japan-export-controls", "export-curbs", "t92_again")
    report = validate(validation_context, source.replace("    date: 2019-07-04\n", "    date: 2019\n"), where, text)
    assert any("'2019-07-japan-export-controls'" in f.message for f in report.findings)
    ranged = source.replace("    date: 2019-07-04\n", "    earliest_date: 2019-06-28\n    latest_date: 2019-07-02\n")
    report = validate(validation_context, ranged, where, text)
    assert any("'2019-07-japan-export-controls'" in f.message for f in report.findings), report.as_text()
    elsewhen = source.replace("    date: 2019-07-04\n", "    date: 2020-03-04\n")
    report = validate(validation_context, elsewhen, where, text)
    assert not any(f.source == "duplicate" for f in report.findings), report.as_text()


def test_another_court_or_defendant_or_place_is_another_event(validation_context: Context) -> None:
    source, text, where = renamed(T02, "2018-10-30-supreme-court-forced-labour-ruling", "other-ruling", "t93")
    other_court = source.replace("    court: supreme-court-of-korea", "    court: seoul-central-district-court")
    assert not any(f.source == "duplicate" for f in validate(validation_context, other_court, where, text).findings)
    munich, text2, where2 = renamed(*FRESH_IDS["Meeting"][:2], "other-talks", "t94")
    elsewhere = munich.replace("    place: munich\n", "    place: tokyo\n", 1)
    assert not any(f.source == "duplicate" for f in validate(validation_context, elsewhere, where2, text2).findings)


def test_distinct_from_with_a_reason_lets_a_lookalike_event_in(validation_context: Context) -> None:
    source, text, where = renamed(T01, "2019-07-japan-export-controls", "second-export-curbs", "t95_again")
    declared = source.replace("    imposed_by: japan\n", "    imposed_by: japan\n    distinct_from:\n"
                              "      - id: 2019-07-japan-export-controls\n"
                              "        reason: a second measure announced the same month\n", 1)
    report, mapping = validate_mapping(validation_context, declared, where, text)
    assert not any(f.source == "duplicate" for f in report.findings), report.as_text()
    assert report.conforms, report.as_text()
    assert mapping is not None and [d.reason for d in mapping.events[0].values["distinct_from"]] == [
        "a second measure announced the same month"]
    build = validation_context.build
    compiled = compile_article(mapping, text, catalogue_for(build.register, [*build.mappings, mapping]))
    assert (mint("event", "second-export-curbs"), OWL.differentFrom,
            mint("event", "2019-07-japan-export-controls")) in compiled.graph
    no_reason = declared.replace("        reason: a second measure announced the same month\n", "")
    assert any("distinct_from[0]" in f.message for f in validate(validation_context, no_reason, where, text).findings)
    unknown = declared.replace("      - id: 2019-07-japan-export-controls\n", "      - id: 2019-07-nothing\n")
    report = validate(validation_context, unknown, where, text)
    assert any("'2019-07-nothing' is not another known event" in f.message for f in report.findings)
    assert any(f.source == "duplicate" for f in report.findings)  # the lookalike is still caught


def test_the_test_articles_still_conform(validation_context: Context) -> None:
    for path in ARTICLES:
        text = path.with_suffix(".txt").read_text("utf-8")
        report = validate(validation_context, path.read_text("utf-8"), path, text)
        assert report.conforms and not any(f.source == "duplicate" for f in report.findings), report.as_text()


def test_the_same_text_under_another_article_id_is_a_violation_naming_it(validation_context: Context) -> None:
    seed = SEEDS / "003_11110d5589b8cc2d.yaml"
    source = seed.read_text(encoding="utf-8").replace("text: 003_11110d5589b8cc2d.txt", "text: t96_same_text.txt")
    report = validate(validation_context, source, seed.with_name("t96_same_text.yaml"),
                      seed.with_suffix(".txt").read_text(encoding="utf-8"))
    found = [f for f in report.findings if "already in the graph" in f.message]
    assert len(found) == 1 and found[0].severity == "Violation"
    assert "'003_11110d5589b8cc2d'" in found[0].message
    assert found[0].line == source[:source.index("text: t96_same_text.txt")].count("\n") + 1


@pytest.mark.parametrize(("participants", "parties"), [
    ("[yun-byung-se]", "[south-korea]"),
    ("[yun-byung-se]", None),
    ("[yun-byung-se, lee-byung-kee]", "[south-korea]"),
])
def test_a_meeting_with_one_side_is_a_violation(validation_context: Context, participants: str,
                                                 parties: str | None) -> None:
    source = T03.read_text(encoding="utf-8")
    old = "    participants: [yun-byung-se, fumio-kishida]\n    parties: [south-korea, japan]\n    place: seoul\n"
    assert source.count(old) == 1
    new = f"    participants: {participants}\n" + (f"    parties: {parties}\n" if parties else "")
    new += "    place: seoul\n"
    report = validate(validation_context, source.replace(old, new), T03, T03.with_suffix(".txt").read_text("utf-8"))
    found = [f for f in report.findings if "a meeting needs two sides" in f.message]
    assert len(found) == 1 and found[0].severity == "Violation", report.as_text()
    assert "(south-korea)" in found[0].message


def test_a_meeting_of_one_minister_and_the_other_state_has_two_sides(validation_context: Context) -> None:
    source = T03.read_text(encoding="utf-8").replace(
        "    participants: [yun-byung-se, fumio-kishida]\n    parties: [south-korea, japan]\n",
        "    participants: [yun-byung-se]\n    parties: [japan]\n", 1)
    report = validate(validation_context, source, T03, T03.with_suffix(".txt").read_text("utf-8"))
    assert not any("a meeting needs two sides" in f.message for f in report.findings)


def test_an_unknown_class_is_one_error_with_a_did_you_mean(validation_context: Context) -> None:
    source = T04.read_text(encoding="utf-8")
    assert source.count("    class: Meeting\n") == 1
    report = validate(validation_context, source.replace("    class: Meeting\n", "    class: Meting\n"), T04,
                      T04.with_suffix(".txt").read_text("utf-8"))
    violations = [f.message for f in report.findings if f.severity == "Violation"]
    assert len(violations) == 1, violations
    assert violations[0].startswith("events[0].class: unknown class 'Meting'; did you mean Meeting?; classes: ")
    assert "Meeting" in violations[0].split("classes: ", 1)[1]


def test_a_new_spelling_in_mentions_is_kept_with_its_article_and_warns_nothing(validation_context: Context,
                                                                               seeds_copy: Path,
                                                                               settings: Settings) -> None:
    source = T01.read_text(encoding="utf-8").replace(
        "mentions:\n", "mentions:\n  government-of-japan: [The Japanese government]\n", 1)
    report = validate(validation_context, source, T01, T01.with_suffix(".txt").read_text("utf-8"))
    assert report.conforms and not any("government-of-japan" in f.message for f in report.findings), report.as_text()
    (seeds_copy / T01.name).write_text(source, encoding="utf-8")
    (seeds_copy / T01.with_suffix(".txt").name).write_bytes(T01.with_suffix(".txt").read_bytes())
    build = build_dataset(replace(settings, seeds_dir=seeds_copy))
    spelling = (mint("org", "government-of-japan"), SKOS.altLabel, Literal("The Japanese government", lang="en"))
    assert spelling in build.dataset.graph(article_graph(T01.stem))  # its source: the article's own graph


def test_post_articles_refuses_a_known_event_under_a_fresh_id(seeds_copy: Path, settings: Settings, pool) -> None:  # noqa: ANN001
    own = replace(settings, seeds_dir=seeds_copy, write_token=TOKEN)
    client = create_app(own, KnowledgeGraph.from_dataset(build_dataset(own).dataset), pool=pool).test_client()
    source, text, where = renamed(T02, "2018-10-30-supreme-court-forced-labour-ruling", "ruling-again", "t97_again")
    before = sorted(p.name for p in seeds_copy.iterdir())
    response = client.post("/articles", headers={"Authorization": f"Bearer {TOKEN}"},
                           content_type="multipart/form-data",
                           data={"mapping": (io.BytesIO(source.encode()), where.name),
                                 "text": (io.BytesIO(text.encode()), "t97_again.txt")})
    assert response.status_code == 422
    assert "probably the same event as '2018-10-30-supreme-court-forced-labour-ruling'" in response.get_data(
        as_text=True)
    assert sorted(p.name for p in seeds_copy.iterdir()) == before


def test_known_events_reads_every_article_graph_and_the_corrections(built) -> None:  # noqa: ANN001
    events = known_events(built.dataset)
    controls = events[mint("event", "2019-07-japan-export-controls")]
    assert controls.cls == "TradeMeasure"
    assert {s.earliest.isoformat() for s in controls.spans} >= {"2019-01-01", "2019-07-01"}  # 2019, 2019-07, fix
    assert len(controls.articles) >= 2 and controls.sides
    left_out = known_events(built.dataset, exclude={str(article_graph("000_c02e92ecd0172843"))})
    assert "000_c02e92ecd0172843" not in " ".join(left_out[controls.iri].articles)
