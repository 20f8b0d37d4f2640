"""Inputs that used to poison the seeds (issue 16, item 2): keys and file names ending in a newline, a
journal naming files outside the seeds folder or not readable, IRIs the store refuses, and YAML
constructs the reader half-understood (merge keys, tags, aliases expanding without bound). Each is
refused with its file and line, at validate time, and nothing is written or deleted."""

from __future__ import annotations

import hashlib
import io
import json
import threading
from dataclasses import replace
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import ARTICLES_DIR
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st
from rdflib import Dataset, Literal, URIRef

from kg_service.build import build_dataset
from kg_service.buildcheck import unloadable_findings
from kg_service.cli import cli
from kg_service.errors import DamagedSeeds, InputError, MappingError, MappingErrors
from kg_service.mapping import load_mapping
from kg_service.register import load_register
from kg_service.seeds import JOURNAL, recover, seeds_lock
from kg_service.settings import Settings
from kg_service.store import KnowledgeGraph
from kg_service.validate import Context, validate_mapping
from kg_service.web import create_app
from kg_service.yamlread import MAX_EXPANDED_NODES, parse_yaml

T01 = ARTICLES_DIR / "t01_export_controls_2019.yaml"
TOKEN = "poison-token-1"


def snapshot(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


def edited(old: str, new: str, source: str | None = None) -> tuple[str, int]:
    """T01's mapping with `old` replaced by `new` (once), and the line where it is."""
    source = T01.read_text(encoding="utf-8") if source is None else source
    assert source.count(old) == 1, old
    return source.replace(old, new), source[:source.index(old)].count("\n") + 1


# (old, new): each puts a newline at the end of a key or a file name
NEWLINE_KEYS = {
    "event-id": ("  - id: 2019-07-japan-export-controls\n", '  - id: "2019-07-japan-export-controls\\n"\n'),
    "text-name": ("  text: t01_export_controls_2019.txt\n", '  text: "t01_export_controls_2019\\n.txt"\n'),
    "mention-key": ("  nippon-steel: [Nippon", '  "nippon-steel\\n": [Nippon'),
    "target-key": ("    targets: [south-korea]\n", '    targets: ["south-korea\\n"]\n'),
    "statement-id": ("  - id: seoul-retaliation\n", '  - id: "seoul-retaliation\\n"\n'),
    "date": ("    date: 2019-07-04\n", '    date: "2019-07-04\\n"\n'),
}


@pytest.mark.parametrize("case", NEWLINE_KEYS)
def test_a_key_or_file_name_ending_in_a_newline_is_a_violation_at_its_line(validation_context: Context,
                                                                            case: str) -> None:
    source, line = edited(*NEWLINE_KEYS[case])
    report, mapping = validate_mapping(validation_context, source, T01, T01.with_suffix(".txt").read_text("utf-8"))
    assert not report.conforms and mapping is None
    assert any(f.severity == "Violation" and f.line == line and f.file == str(T01) for f in report.findings), \
        report.as_text()


def test_a_register_key_ending_in_a_newline_is_refused_with_its_line(tmp_path: Path, settings: Settings) -> None:
    source = (settings.ontology_dir / "entities.yaml").read_text(encoding="utf-8")
    first = source.index("key: japan\n")
    register = tmp_path / "entities.yaml"
    register.write_text(source[:first] + 'key: "japan\\n"\n' + source[first + len("key: japan\n"):], "utf-8")
    with pytest.raises(MappingErrors) as raised:
        load_register(register)
    line = source[:first].count("\n") + 1
    assert any(e.location.line == line and "is not a key" in e.message for e in raised.value.errors)


def test_a_declared_entity_key_ending_in_a_newline_is_a_violation(validation_context: Context) -> None:
    source = T01.read_text(encoding="utf-8") + ('entities:\n  people:\n    - key: "yoichi-iida\\n"\n'
                                                "      name: Yoichi Iida\n")
    report, _ = validate_mapping(validation_context, source, T01, T01.with_suffix(".txt").read_text("utf-8"))
    assert not report.conforms
    assert any("is not a key" in f.message for f in report.findings), report.as_text()


@pytest.fixture()
def writable(seeds_copy: Path, settings: Settings, pool):  # noqa: ANN001, ANN201
    own = replace(settings, seeds_dir=seeds_copy, write_token=TOKEN)
    application = create_app(own, KnowledgeGraph.from_dataset(build_dataset(own).dataset), pool=pool)
    application.config["TESTING"] = True
    return application.test_client()


def test_post_articles_with_a_newline_key_is_422_and_writes_nothing(writable, seeds_copy: Path) -> None:  # noqa: ANN001
    before = snapshot(seeds_copy)
    for old, new in NEWLINE_KEYS.values():
        source, _line = edited(old, new)
        response = writable.post("/articles", headers={"Authorization": f"Bearer {TOKEN}"},
                                 content_type="multipart/form-data",
                                 data={"mapping": (io.BytesIO(source.encode()), T01.name),
                                       "text": (io.BytesIO(T01.with_suffix(".txt").read_bytes()),
                                                "t01_export_controls_2019.txt")})
        assert response.status_code == 422, response.get_data(as_text=True)
        assert response.get_json()["error"] == "validation-failed"
    assert snapshot(seeds_copy) == before
    assert build_dataset(replace(Settings.from_env(), seeds_dir=seeds_copy)).mappings  # still builds


def test_kg_service_add_with_a_newline_key_exits_1_and_writes_nothing(seeds_copy: Path, tmp_path: Path) -> None:
    source, _line = edited(*NEWLINE_KEYS["text-name"])
    mapping = tmp_path / T01.name
    mapping.write_text(source, encoding="utf-8")
    before = snapshot(seeds_copy)
    result = CliRunner().invoke(cli, ["add", str(mapping), "--text", str(T01.with_suffix(".txt"))],
                                env={"KG_SEEDS_DIR": str(seeds_copy)})
    assert result.exit_code == 1, result.output
    assert "article.text" in result.output
    assert snapshot(seeds_copy) == before


# --- the add journal -------------------------------------------------------------------------------------

@pytest.mark.parametrize("entry", [
    {"text": "../victim.txt", "mapping": "../victim.yaml"},
    {"text": "VICTIM", "mapping": "x.yaml"},
    {"text": "x.txt", "mapping": "y.yaml"},
    {"text": "x.txt"},
    ["x.txt", "x.yaml"],
])
def test_a_journal_naming_files_outside_one_article_is_refused_and_nothing_is_deleted(tmp_path: Path,
                                                                                      entry: object) -> None:
    seeds = tmp_path / "seeds"
    seeds.mkdir()
    victim = tmp_path / "victim.txt"
    victim.write_text("keep me", encoding="utf-8")
    entry = json.loads(json.dumps(entry).replace("VICTIM", str(victim)))
    (seeds / JOURNAL).write_text(json.dumps(entry), encoding="utf-8")
    (seeds / "x.txt").write_text("an article text", encoding="utf-8")
    with seeds_lock(seeds), pytest.raises(DamagedSeeds) as raised:
        recover(seeds)
    assert raised.value.location.file == JOURNAL and "damaged" in raised.value.message
    assert victim.read_text(encoding="utf-8") == "keep me"
    assert (seeds / "x.txt").exists() and (seeds / JOURNAL).exists()


def test_an_absolute_path_in_the_journal_is_refused(tmp_path: Path) -> None:
    seeds = tmp_path / "seeds"
    seeds.mkdir()
    victim = tmp_path / "victim.txt"
    victim.write_text("keep me", encoding="utf-8")
    (seeds / JOURNAL).write_text(json.dumps({"text": str(victim), "mapping": str(victim.with_suffix(".yaml"))}))
    with pytest.raises(DamagedSeeds):
        recover(seeds)
    assert victim.exists()


@pytest.mark.parametrize("content", [b"{not json", b"\xff\xfe", b"[" * 100_000, b""])
def test_a_malformed_journal_stops_serve_with_a_message_not_a_traceback(seeds_copy: Path, content: bytes) -> None:
    (seeds_copy / JOURNAL).write_bytes(content)
    before = snapshot(seeds_copy)
    result = CliRunner().invoke(cli, ["serve", "--port", "1"], env={"KG_SEEDS_DIR": str(seeds_copy)})
    assert result.exit_code == 2, result.output
    assert "add journal is damaged" in result.output and "Traceback" not in result.output
    assert snapshot(seeds_copy) == before


def test_a_recovered_journal_of_a_real_add_still_finishes_it(tmp_path: Path) -> None:
    seeds = tmp_path / "seeds"
    seeds.mkdir()
    (seeds / "a1.txt").write_text("text", encoding="utf-8")
    (seeds / JOURNAL).write_text(json.dumps({"text": "a1.txt", "mapping": "a1.yaml"}), encoding="utf-8")
    recover(seeds)
    assert sorted(p.name for p in seeds.iterdir()) == []  # the mapping never arrived: the text is undone


# --- what serve would die on -----------------------------------------------------------------------------

def test_a_correction_source_that_is_not_an_iri_is_a_violation_at_its_line(validation_context: Context) -> None:
    source = T01.read_text(encoding="utf-8") + ("corrections:\n  - subject: 2019-07-japan-export-controls\n"
                                                "    field: date\n    correct: 2019-07-04\n"
                                                '    source: "https://example.org/a b"\n')
    report, _ = validate_mapping(validation_context, source, T01, T01.with_suffix(".txt").read_text("utf-8"))
    line = source.count("\n")
    assert any(f.line == line and "is not a URL" in f.message for f in report.findings), report.as_text()


def test_build_refuses_a_register_source_the_store_would_refuse(tmp_path: Path, settings: Settings) -> None:
    ontology = tmp_path / "ontology"
    ontology.mkdir()
    for name in ("dkg.ttl", "shapes.ttl"):
        (ontology / name).write_bytes((settings.ontology_dir / name).read_bytes())
    source = (settings.ontology_dir / "entities.yaml").read_text(encoding="utf-8")
    japan = "sources: [https://en.wikipedia.org/wiki/Japan]"
    assert source.count(japan) == 1
    (ontology / "entities.yaml").write_text(source.replace(japan, 'sources: ["https://en.wikipedia.org/wiki/Ja pan"]'),
                                            encoding="utf-8")
    result = CliRunner().invoke(cli, ["build"], env={"KG_ONTOLOGY_DIR": str(ontology)})
    assert result.exit_code == 2 and "is not a URL" in result.output, result.output


def test_every_iri_the_store_would_refuse_is_a_build_violation() -> None:
    dataset = Dataset()
    dataset.add((URIRef("https://example.org/a\nb"), URIRef("https://example.org/p"), Literal("x")))
    dataset.add((URIRef("https://example.org/a"), URIRef("https://example.org/p"), URIRef("https://example.org/c")))
    findings = unloadable_findings(dataset)
    assert [f.value for f in findings] == ["https://example.org/a\nb"]
    assert all(f.severity == "Violation" for f in findings)


# --- YAML constructs -------------------------------------------------------------------------------------

@pytest.mark.parametrize(("text", "line", "message"), [
    ("article: &a {title: x}\nevents:\n  - <<: *a\n    id: x\n", 3, "merge keys"),
    ("article:\n  title: !!binary aGVsbG8=\n", 2, "tag"),
    ("article:\n  title: !custom x\n", 2, "tag"),
    ("article: !!set {a, b}\n", 1, "tag"),
    ("article:\n  ? [a, b]\n  : c\n", 2, "plain text"),
    ('article:\n  title: "a\\ud800b"\n', 2, "surrogate"),
    ("article: &x\n  title: [*x]\n", 1, "infinite value"),
])
def test_yaml_constructs_the_reader_does_not_read_are_refused_at_their_line(text: str, line: int,
                                                                            message: str) -> None:
    with pytest.raises(InputError) as raised:
        load_mapping(Path("m.yaml"), text)
    assert raised.value.location.line == line and message in raised.value.message


def alias_bomb(width: int = 9, depth: int = 8) -> str:
    lines = ["a0: &a0 [" + ", ".join(['"lol"'] * width) + "]"]
    lines += [f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * width) + "]" for i in range(1, depth + 1)]
    return "\n".join(lines) + f"\nevents: [*a{depth}]\n"


def test_an_alias_bomb_is_refused_at_the_alias_that_overflows(validation_context: Context) -> None:
    bomb = alias_bomb()
    assert len(bomb) < 2500
    with pytest.raises(InputError) as raised:
        validate_mapping(validation_context, bomb, Path("bomb.yaml"), "text")
    # a5 (about 9**6 values) is the first level over the bound: refused there, line 6, before any expansion
    assert raised.value.location.line == 6 and f"{MAX_EXPANDED_NODES:,}" in raised.value.message


def test_post_validate_of_an_alias_bomb_is_a_located_400(client) -> None:  # noqa: ANN001
    response = client.post("/validate", content_type="multipart/form-data",
                           data={"mapping": (io.BytesIO(alias_bomb().encode()), "bomb.yaml"),
                                 "text": (io.BytesIO(b"text"), "bomb.txt")})
    assert response.status_code == 400
    body = response.get_json()
    assert body["error"] == "unreadable-input" and body["location"]["line"] == 6


def test_aliases_within_the_bound_are_read() -> None:
    doc = parse_yaml("a: &x [1, 2]\nb: *x\n", Path("m.yaml"))
    assert list(doc["b"]) == [1, 2]


# --- fuzz ------------------------------------------------------------------------------------------------

YAML_BITS = st.sampled_from(["&a ", "*a", "<<: ", "!!", "!x ", "[", "]", "{", "}", ": ", "- ", "\n", "  ", "? ",
                             '"', "'", "\\", "\\n", "#", "|", ">", "%", "@", "`", ",", "id", "events", "2019-13-01",
                             "\t", "\x00", "\ud800", "é", "~", "null", "1e9", "-1", "0x1"])


@st.composite
def mutated_mapping(draw: st.DrawFn) -> str:
    source = T01.read_text(encoding="utf-8")
    for _ in range(draw(st.integers(1, 4))):
        at = draw(st.integers(0, len(source)))
        cut = draw(st.integers(0, 12))
        source = source[:at] + "".join(draw(st.lists(YAML_BITS, max_size=6))) + source[at + cut:]
    return source


@hsettings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(mutated_mapping(), st.lists(YAML_BITS, max_size=40).map("".join)))
def test_the_mapping_reader_raises_only_located_errors(source: str) -> None:
    try:
        load_mapping(T01, source)
    except MappingErrors as exc:
        assert all(e.location.file == str(T01) for e in exc.errors)
    except (InputError, MappingError) as exc:
        assert exc.location.file == str(T01)


# --- bounds (issue 16, item 3) ---------------------------------------------------------------------------

def test_the_closest_passage_is_found_in_a_megabyte_and_only_the_first_quotes_are_searched() -> None:
    from kg_service.quotes import MAX_SEARCHES, closest_passage, not_found_hint

    filler = "".join(f"Paragraph {n} says the ministers met again and talked about trade. " for n in range(15000))
    text = filler + "Park Jin and Yoshimasa Hayashi held talks in Munich on February 18. " + filler
    assert len(text) > 1_000_000
    assert closest_passage(text, "Park Jin and Yoshimasa Hayashi held talk in Munich") == \
        "Park Jin and Yoshimasa Hayashi held talks in Munic"
    assert not_found_hint(text, "Nothing like this occurs anywhere: zqxj") == "no passage of the text resembles it"
    assert "not searched" in not_found_hint(text, "Park Jin held talks", MAX_SEARCHES)


def test_a_mapping_with_many_missing_quotes_reports_each_but_searches_the_first_fifty(
        validation_context: Context) -> None:
    from kg_service.quotes import MAX_SEARCHES

    quotes = "".join(f"      - quote: an invented sentence number {n} of the article\n" for n in range(60))
    source = T01.read_text(encoding="utf-8").replace("        supports: [products]\n",
                                                     "        supports: [products]\n" + quotes, 1)
    report, _ = validate_mapping(validation_context, source, T01, T01.with_suffix(".txt").read_text("utf-8"))
    missing = [f for f in report.findings if "quote not found" in f.message]
    assert len(missing) == 60
    assert sum("not searched" in f.message for f in missing) == 60 - MAX_SEARCHES


def test_a_report_lists_at_most_max_shown_findings_violations_first_and_counts_the_rest() -> None:
    from kg_service.report import MAX_SHOWN, Finding, Report

    findings = [Finding("Info", f"info {i}", line=i) for i in range(MAX_SHOWN)]
    findings += [Finding("Violation", f"violation {i}", line=i) for i in range(500)]
    report = Report(findings)
    body = report.as_dict()
    assert len(body["results"]) == MAX_SHOWN and body["omitted"] == 500
    assert sum(r["severity"] == "Violation" for r in body["results"]) == 500
    assert body["counts"] == {"Violation": 500, "Warning": 0, "Info": MAX_SHOWN}
    assert "and 500 more findings not shown" in report.as_text()


def test_rdf_describing_too_many_resources_is_a_json_413(client) -> None:  # noqa: ANN001
    from kg_service.validate import MAX_RDF_SUBJECTS

    body = "".join(f"<https://w3id.org/kg-service/id/event/m{i}> <http://www.w3.org/1999/02/22-rdf-syntax-ns#type> "
                   "<https://w3id.org/kg-service/ontology#Meeting> .\n" for i in range(MAX_RDF_SUBJECTS + 1))
    response = client.post("/validate", data=body.encode(), content_type="application/n-triples")
    assert response.status_code == 413
    assert response.get_json()["error"] == "too-large" and "split it" in response.get_json()["message"]


def test_a_mapping_with_too_many_events_is_refused_at_its_section(validation_context: Context) -> None:
    from kg_service.mapping import MAX_ENTRIES

    events = "".join(f"  - id: e{i}\n    class: Visit\n    label: x\n    status: held\n    evidence: [x]\n"
                     for i in range(MAX_ENTRIES + 1))
    source = T01.read_text(encoding="utf-8").split("events:\n")[0] + "events:\n" + events
    report, mapping = validate_mapping(validation_context, source, T01, "x")
    assert mapping is None
    assert any(f"at most {MAX_ENTRIES}" in f.message for f in report.findings), report.as_text()


@pytest.fixture()
def one_slot(settings: Settings, kg, pool, seeds_copy: Path):  # noqa: ANN001, ANN201
    own = replace(settings, seeds_dir=seeds_copy, write_token=TOKEN, max_validations=1)
    application = create_app(own, KnowledgeGraph.from_dataset(build_dataset(own).dataset), pool=pool)
    return application


def test_a_validation_beyond_the_slots_is_503_with_retry_after_and_an_add_still_runs(one_slot) -> None:  # noqa: ANN001
    client = one_slot.test_client()
    validation = one_slot.extensions["kg_validation"]
    text = T01.with_suffix(".txt").read_bytes()
    form = {"mapping": (io.BytesIO(T01.read_bytes()), T01.name), "text": (io.BytesIO(text), "t.txt")}
    token = validation.slots.take()  # the one slot is taken, as by a running validation
    assert token is not None
    try:
        response = client.post("/validate", data=form, content_type="multipart/form-data")
        assert response.status_code == 503 and response.headers["Retry-After"] == "2"
        assert response.get_json()["error"] == "busy"
        added = client.post("/articles", headers={"Authorization": f"Bearer {TOKEN}"},
                            content_type="multipart/form-data",
                            data={"mapping": (io.BytesIO(T01.read_bytes()), T01.name),
                                  "text": (io.BytesIO(text), "t01_export_controls_2019.txt")})
        assert added.status_code == 201, added.get_data(as_text=True)  # adds take no validation slot
    finally:
        validation.slots.give_back(token)


def test_a_validation_does_not_take_the_lock_adds_hold(one_slot) -> None:  # noqa: ANN001
    client = one_slot.test_client()
    validation = one_slot.extensions["kg_validation"]
    form = {"mapping": (io.BytesIO(T01.read_bytes()), T01.name),
            "text": (io.BytesIO(T01.with_suffix(".txt").read_bytes()), "t.txt")}
    answers: list = []
    with validation.lock:  # an add in progress: the validation must not wait for it
        worker = threading.Thread(target=lambda: answers.append(
            client.post("/validate", data=form, content_type="multipart/form-data")))
        worker.start()
        worker.join(timeout=120)
        assert answers, "the validation waited for the add lock"
    assert answers[0].status_code == 200 and answers[0].get_json()["conforms"] is True


def test_the_servers_own_413_is_the_json_error_body(served) -> None:  # noqa: ANN001
    """A body over the limit is refused by waitress itself, before the app: in JSON, with nosniff."""
    import socket

    host, port = served.url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as conn:
        conn.sendall(f"POST /validate HTTP/1.1\r\nHost: {host}\r\nContent-Type: text/turtle\r\n"
                     "Content-Length: 50000000\r\n\r\n".encode())
        answer = b""
        while b"}" not in answer:
            chunk = conn.recv(4096)
            if not chunk:
                break
            answer += chunk
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 413"), head
    assert b"content-type: application/json" in head.lower() and b"x-content-type-options: nosniff" in head.lower()
    error = json.loads(body)
    assert error["error"] == "too-large" and error["status"] == 413 and error["message"]


def test_the_article_page_reads_only_a_text_file_name_matched_in_full(settings: Settings) -> None:
    import pyoxigraph as ox

    from kg_service.articletext import _read_text

    name = sorted(settings.seeds_dir.glob("*.txt"))[0].name
    assert _read_text(settings.seeds_dir, ox.Literal(name))
    for poisoned in (name.replace(".txt", "\n.txt"), name + "\n", "../" + name, "/etc/hostname.txt"):
        assert _read_text(settings.seeds_dir, ox.Literal(poisoned)) is None


def test_an_http_add_over_a_damaged_journal_is_503_and_deletes_nothing(writable, seeds_copy: Path,  # noqa: ANN001
                                                                        tmp_path: Path) -> None:
    victim = tmp_path / "victim.txt"
    victim.write_text("keep me", encoding="utf-8")
    (seeds_copy / JOURNAL).write_text(json.dumps({"text": "../victim.txt", "mapping": "../victim.yaml"}))
    before = snapshot(seeds_copy)
    response = writable.post("/articles", headers={"Authorization": f"Bearer {TOKEN}"},
                             content_type="multipart/form-data",
                             data={"mapping": (io.BytesIO(T01.read_bytes()), T01.name),
                                   "text": (io.BytesIO(T01.with_suffix(".txt").read_bytes()),
                                            "t01_export_controls_2019.txt")})
    assert response.status_code == 503 and response.get_json()["error"] == "damaged-seeds"
    assert snapshot(seeds_copy) == before and victim.read_text(encoding="utf-8") == "keep me"
