"""Adding an article: refused on violations, never overwriting, serialised, all or nothing even when
killed, and served at once over HTTP. Every test works on a private copy of the seeds."""

from __future__ import annotations

import hashlib
import io
import logging
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import ARTICLES_DIR
from flask import Flask
from flask.testing import FlaskClient
from stepstop import stopping_env, wait_stopped

from kg_service.build import build_dataset
from kg_service.cli import cli
from kg_service.errors import Conflict
from kg_service.seeds import STEPS, recover, seeds_lock, write_article
from kg_service.settings import Settings
from kg_service.store import KnowledgeGraph
from kg_service.web import create_app
from kg_service.web.workers import WorkerPool

ARTICLES = sorted(ARTICLES_DIR.glob("t*.yaml"))
T01, T02, T03, T04 = ARTICLES
TOKEN = "test-token-7f3a"


def snapshot(folder: Path) -> dict[str, str]:
    """Every file of the folder with the hash of its bytes: what "exactly as before" compares."""
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


def expected_after(before: dict[str, str], mapping: Path) -> dict[str, str]:
    text = mapping.with_suffix(".txt")
    return {**before, text.name: hashlib.sha256(text.read_bytes()).hexdigest(),
            mapping.name: hashlib.sha256(mapping.read_bytes()).hexdigest()}


def add_cli(seeds: Path, mapping: Path, *extra: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, ["add", str(mapping), "--text", str(mapping.with_suffix(".txt")), *extra],
                                env={"KG_SEEDS_DIR": str(seeds)})
    return result.exit_code, result.output


def article_ids(seeds: Path, settings: Settings) -> set[str]:
    return {m.article_id for m in build_dataset(replace(settings, seeds_dir=seeds)).mappings}


# --- CLI ---------------------------------------------------------------------------------------------------


def test_cli_add_writes_text_and_mapping_verbatim(seeds_copy: Path, settings: Settings) -> None:
    before = snapshot(seeds_copy)
    code, output = add_cli(seeds_copy, T01)
    assert code == 0, output
    assert snapshot(seeds_copy) == expected_after(before, T01)
    assert "t01_export_controls_2019" in article_ids(seeds_copy, settings)
    assert "Added article t01_export_controls_2019" in output


def test_cli_add_refuses_an_article_with_violations(seeds_copy: Path, tmp_path: Path) -> None:
    broken = tmp_path / T02.name
    broken.write_text(T02.read_text(encoding="utf-8").replace("court: supreme-court-of-korea",
                                                              "court: supreme-court-korea"), encoding="utf-8")
    (tmp_path / TEXT_NAME(T02)).write_bytes(T02.with_suffix(".txt").read_bytes())
    before = snapshot(seeds_copy)
    code, output = add_cli(seeds_copy, broken)
    assert code == 1
    assert f"{broken}:20: Violation: events.2018-10-30-supreme-court-forced-labour-ruling.court: unknown key" in output
    assert "not added: validation found 1 violation" in output
    assert snapshot(seeds_copy) == before


def TEXT_NAME(mapping: Path) -> str:  # noqa: N802 - reads as a constant at the call site
    return mapping.with_suffix(".txt").name


def test_cli_add_never_overwrites(seeds_copy: Path) -> None:
    assert add_cli(seeds_copy, T02)[0] == 0
    after_first = snapshot(seeds_copy)
    code, output = add_cli(seeds_copy, T02)
    assert code == 1 and "article 't02_forced_labour_ruling_2018' already exists" in output
    assert snapshot(seeds_copy) == after_first


def test_adding_a_seed_again_is_a_conflict(seeds_copy: Path, settings: Settings) -> None:
    seed = next(settings.seeds_dir.glob("*.yaml"))
    before = snapshot(seeds_copy)
    code, output = add_cli(seeds_copy, seed)
    assert code == 1 and "already exists" in output
    assert snapshot(seeds_copy) == before


# --- serialised and atomic ---------------------------------------------------------------------------------


def test_concurrent_threads_add_one_article_once(seeds_copy: Path) -> None:
    outcomes: list[str] = []
    barrier = threading.Barrier(4)

    def attempt() -> None:
        barrier.wait()
        try:
            write_article(seeds_copy, "t03_comfort_women_agreement_2015", TEXT_NAME(T03),
                          T03.with_suffix(".txt").read_bytes(), T03.read_bytes())
            outcomes.append("added")
        except Conflict:
            outcomes.append("conflict")

    threads = [threading.Thread(target=attempt) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["added", "conflict", "conflict", "conflict"]
    assert not [p for p in seeds_copy.iterdir() if p.name.startswith(".")]


def test_concurrent_processes_are_serialised(seeds_copy: Path) -> None:
    """Two `kg-service add` processes of one article: one adds it, the other finds it there."""
    env = {**os.environ, "KG_SEEDS_DIR": str(seeds_copy)}
    command = [sys.executable, "-m", "kg_service.cli", "add", str(T03), "--text", str(T03.with_suffix(".txt"))]
    procs = [subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE) for _ in range(2)]
    codes = sorted(p.wait() for p in procs)
    for proc in procs:
        proc.stdout.close()
        proc.stderr.close()
    assert codes == [0, 1]
    assert (seeds_copy / T03.name).read_bytes() == T03.read_bytes()


def paused_add(seeds: Path, step: str) -> subprocess.Popen:
    """Start `kg-service add` that stops itself after `step`; return once it has stopped there."""
    marker = seeds.parent / f"stopped-{step}"
    env = {**os.environ, "KG_SEEDS_DIR": str(seeds), **stopping_env(step, marker)}
    proc = subprocess.Popen([sys.executable, "-m", "kg_service.cli", "add", str(T01), "--text",
                             str(T01.with_suffix(".txt"))], env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    try:
        assert wait_stopped(marker, lambda: proc.poll() is None) == proc.pid
    except AssertionError:
        proc.kill()
        proc.wait()
        raise
    return proc


# where an add killed after each step leaves the seeds once recovered
KILLED = {"locked": "before", "temporary-files": "before", "journal": "before", "text": "before",
          "mapping": "after", "done": "after"}


@pytest.mark.parametrize("step", STEPS)
def test_add_killed_after_each_step_leaves_seeds_before_or_after(seeds_copy: Path, settings: Settings,
                                                                 step: str) -> None:
    before = snapshot(seeds_copy)
    after = expected_after(before, T01)
    proc = paused_add(seeds_copy, step)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    # Before recovery the builder already sees the old or the new article set, never half of one.
    ids = article_ids(seeds_copy, settings)
    assert ("t01_export_controls_2019" in ids) == (KILLED[step] == "after")
    with seeds_lock(seeds_copy):  # the lock died with the process: it is free again
        recover(seeds_copy)
    assert snapshot(seeds_copy) == (before if KILLED[step] == "before" else after)


def test_builder_ignores_leftover_temporary_files(seeds_copy: Path, settings: Settings) -> None:
    (seeds_copy / ".t01_export_controls_2019.yaml.tmp").write_bytes(T01.read_bytes()[:200])
    (seeds_copy / ".half.yaml").write_bytes(b"article: [")
    assert "t01_export_controls_2019" not in article_ids(seeds_copy, settings)


# --- HTTP --------------------------------------------------------------------------------------------------


@pytest.fixture()
def writable_app(seeds_copy: Path, settings: Settings, pool: WorkerPool) -> Iterator[Flask]:
    own = replace(settings, seeds_dir=seeds_copy, write_token=TOKEN)
    application = create_app(own, KnowledgeGraph.from_dataset(build_dataset(own).dataset), pool=pool)
    application.config["TESTING"] = True
    yield application


def post_article(client: FlaskClient, mapping: Path, token: str | None = TOKEN, source: bytes | None = None):  # noqa: ANN201
    headers = {"Authorization": f"Bearer {token}"} if token is not None else {}
    data = {"mapping": (io.BytesIO(mapping.read_bytes() if source is None else source), mapping.name),
            "text": (io.BytesIO(mapping.with_suffix(".txt").read_bytes()), TEXT_NAME(mapping))}
    return client.post("/articles", data=data, content_type="multipart/form-data", headers=headers)


def ask_graph(client: FlaskClient, article_id: str) -> bool:
    query = f"ASK {{ GRAPH <https://w3id.org/kg-service/graph/article/{article_id}> {{ ?s ?p ?o }} }}"
    response = client.get("/sparql", query_string={"query": query},
                          headers={"Accept": "application/sparql-results+json"})
    return response.json["boolean"]


def test_post_articles_without_configured_token_is_403(client: FlaskClient) -> None:
    response = post_article(client, T01)
    assert response.status_code == 403 and response.json["error"] == "write-disabled"


@pytest.mark.parametrize("token", [None, "wrong", ""], ids=["missing", "wrong", "empty"])
def test_post_articles_without_the_token_is_401(writable_app: Flask, seeds_copy: Path, token: str | None) -> None:
    before = snapshot(seeds_copy)
    response = post_article(writable_app.test_client(), T01, token)
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert snapshot(seeds_copy) == before


def test_post_articles_adds_and_serves_the_new_graph_at_once(writable_app: Flask, seeds_copy: Path,
                                                             caplog: pytest.LogCaptureFixture) -> None:
    client = writable_app.test_client()
    version = client.get("/healthz").json["version"]
    assert not ask_graph(client, "t02_forced_labour_ruling_2018")
    with caplog.at_level(logging.DEBUG):
        response = post_article(client, T02)
    assert response.status_code == 201, response.json
    assert response.json["added"] == "t02_forced_labour_ruling_2018"
    assert response.headers["Location"] == "/articles/t02_forced_labour_ruling_2018"
    assert (seeds_copy / T02.name).read_bytes() == T02.read_bytes()
    assert ask_graph(client, "t02_forced_labour_ruling_2018")
    assert client.get("/healthz").json["version"] != version
    assert all(TOKEN not in record.getMessage() for record in caplog.records)


def test_post_articles_refuses_violations_with_the_report(writable_app: Flask, seeds_copy: Path) -> None:
    before = snapshot(seeds_copy)
    source = T03.read_bytes().replace(b"fumio-kishida]\n    parties", b"fumio-kishda]\n    parties")
    response = post_article(writable_app.test_client(), T03, source=source)
    assert response.status_code == 422 and response.json["error"] == "validation-failed"
    violation = next(r for r in response.json["report"]["results"] if r["severity"] == "Violation")
    assert (violation["file"], violation["line"]) == (T03.name, 25)
    assert snapshot(seeds_copy) == before


def test_post_articles_twice_is_409(writable_app: Flask) -> None:
    client = writable_app.test_client()
    assert post_article(client, T03).status_code == 201
    response = post_article(client, T03)
    assert response.status_code == 409 and response.json["error"] == "conflict"


def test_concurrent_http_adds_all_land(writable_app: Flask) -> None:
    statuses: dict[str, int] = {}

    def add(mapping: Path) -> None:
        statuses[mapping.stem] = post_article(writable_app.test_client(), mapping).status_code

    threads = [threading.Thread(target=add, args=(m,)) for m in ARTICLES]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert statuses == {m.stem: 201 for m in ARTICLES}
    client = writable_app.test_client()
    assert all(ask_graph(client, m.stem) for m in ARTICLES)


def test_validate_after_add_sees_the_new_article(writable_app: Flask) -> None:
    """The validation context follows the adds: the added article's events are now known."""
    client = writable_app.test_client()
    assert post_article(client, T03).status_code == 201
    source = T03.read_bytes().replace(b"t03_comfort_women_agreement_2015.txt", b"t03b.txt").replace(
        b"2015-12-28-yun-kishida-talks-seoul\n    class", b"2015-12-28-seoul-talks\n    class")
    data = {"mapping": (io.BytesIO(source), "t03b.yaml"),
            "text": (io.BytesIO(T03.with_suffix(".txt").read_bytes()), "t03b.txt")}
    report = client.post("/validate", data=data, content_type="multipart/form-data").json
    assert any("probably the same event as '2015-12-28-yun-kishida-talks-seoul'"
               in r["message"] for r in report["results"]), report


def test_post_articles_is_refused_when_serving_a_dataset_file(seeds_copy: Path, settings: Settings,
                                                                pool: WorkerPool, tmp_path: Path) -> None:
    """`serve --data` serves a published dump: an add would write the seeds and swap the seeds' graph in."""
    own = replace(settings, seeds_dir=seeds_copy, write_token=TOKEN)
    dump = tmp_path / "dump.nq"
    dump.write_bytes(b"<http://ex/a> <http://ex/p> \"x\" <http://ex/g> .\n")
    client = create_app(own, KnowledgeGraph.from_file(dump), pool=pool).test_client()
    before = snapshot(seeds_copy)
    response = post_article(client, T01)
    assert response.status_code == 403 and "--data" in response.get_json()["message"]
    assert snapshot(seeds_copy) == before


def test_serve_start_up_finishes_an_interrupted_add(seeds_copy: Path, settings: Settings) -> None:
    """An add killed after its journal: the next start-up undoes it before building, leaving no stray files."""
    from kg_service.web.serve import load_kg

    before = snapshot(seeds_copy)
    process = paused_add(seeds_copy, "text")  # the text is in place, its mapping not yet
    process.kill()
    process.wait(timeout=30)
    assert snapshot(seeds_copy) != before
    load_kg(replace(settings, seeds_dir=seeds_copy), data=None, union_default_graph=None)
    assert snapshot(seeds_copy) == before


def test_post_articles_sees_an_article_added_beside_the_server(writable_app: Flask, seeds_copy: Path,
                                                               tmp_path: Path) -> None:
    """A `kg-service add` while the server runs: the next HTTP add is validated against the seeds as they
    are now, so an article declaring an official the CLI's article already declared is refused (422), not
    written into seeds that would then no longer build."""
    client = writable_app.test_client()
    assert post_article(client, T02).status_code == 201  # the server's validation context is now built
    code, output = add_cli(seeds_copy, T04)
    assert code == 0, output
    twin = tmp_path / "t05_export_control_dialogue_again.yaml"
    twin.write_text(T04.read_text(encoding="utf-8").replace("t04_export_control_dialogue_2019", twin.stem)
                    .replace("2019-12-16-export-control-policy-dialogue-tokyo", "2019-12-16-dialogue-again"),
                    encoding="utf-8")
    twin.with_suffix(".txt").write_bytes(T04.with_suffix(".txt").read_bytes())
    before = snapshot(seeds_copy)
    response = post_article(client, twin)
    assert response.status_code == 422, response.get_data(as_text=True)
    assert "already defined" in response.get_data(as_text=True)
    assert snapshot(seeds_copy) == before
