"""Large reads: streamed from files written once per version, the same bytes and ETag for the same data on any
server, Last-Modified from the data's last change, 304 for a current copy, and a bounded number at once."""

from __future__ import annotations

import datetime as dt
import os

import pytest
from flask.testing import FlaskClient

from kg_service.errors import Busy
from kg_service.settings import Settings
from kg_service.store import KnowledgeGraph
from kg_service.web import create_app
from kg_service.web.reads import MAX_READS, MAX_READS_PER_CLIENT, ReadFiles

LINES = [f"<http://ex/s{i}> <http://ex/p> \"v{i}\" <http://ex/g{i % 3}> .".encode() for i in range(200)]
LINES += [b'<http://ex/a> <http://ex/p> "in the default graph" .']
READS = ["/dump.nq", "/dump.trig", "/dump.ttl", "/dump.nt", "/dump.jsonld", "/dump.rdf", "/data?default",
         "/data?graph=http://ex/g1"]


def app_on(pool, lines: list[bytes], **settings: object) -> FlaskClient:  # noqa: ANN001
    kg = KnowledgeGraph.from_nquads(b"\n".join(lines) + b"\n", union_default_graph=False)
    return create_app(Settings.from_env({}, **settings), kg, pool=pool).test_client()


@pytest.mark.parametrize("path", READS)
def test_the_same_data_in_another_order_gives_the_same_bytes_and_etag(pool, path: str) -> None:
    one = app_on(pool, LINES).get(path, headers={"Accept": "text/turtle"})
    other = app_on(pool, list(reversed(LINES))).get(path, headers={"Accept": "text/turtle"})
    assert one.status_code == other.status_code == 200
    assert one.get_data() == other.get_data() and one.headers["ETag"] == other.headers["ETag"]
    changed = app_on(pool, LINES[2:-1]).get(path, headers={"Accept": "text/turtle"})
    assert changed.headers["ETag"] != one.headers["ETag"]


def test_dumps_are_streamed_from_a_file_and_gzip_is_the_same_bytes_compressed(client: FlaskClient) -> None:
    import gzip

    plain = client.get("/dump.nq")
    zipped = client.get("/dump.nq", headers={"Accept-Encoding": "gzip"})
    assert plain.is_streamed and plain.direct_passthrough is False
    assert zipped.headers["Content-Encoding"] == "gzip"
    assert gzip.decompress(zipped.get_data()) == plain.get_data()
    assert int(plain.headers["Content-Length"]) == len(plain.get_data())
    lines = plain.get_data().splitlines()
    assert lines == sorted(set(lines))  # canonical: sorted, no duplicate


def test_conditional_gets_are_304(client: FlaskClient) -> None:
    first = client.get("/dump.ttl")
    assert client.get("/dump.ttl", headers={"If-None-Match": first.headers["ETag"]}).status_code == 304
    since = client.get("/dump.ttl", headers={"If-Modified-Since": first.headers["Last-Modified"]})
    assert since.status_code == 304
    stale = client.get("/dump.ttl", headers={"If-None-Match": '"other"',
                                             "If-Modified-Since": first.headers["Last-Modified"]})
    assert stale.status_code == 200  # If-None-Match decides when both are sent (RFC 9110 13.2.2)


def test_last_modified_is_the_newest_input_not_the_server_start(client: FlaskClient, settings: Settings) -> None:
    newest = max(os.stat(p).st_mtime for p in settings.seeds_dir.iterdir() if p.suffix in (".yaml", ".txt"))
    response = client.get("/data?default")
    assert response.last_modified == dt.datetime.fromtimestamp(int(newest), dt.UTC)


def test_last_modified_follows_an_update(pool) -> None:  # noqa: ANN001
    from test_web_update import make_client

    client = make_client(pool)
    before = client.get("/dump.nq")
    update = client.post("/sparql", data={"update": "INSERT DATA { <http://ex/n> <http://ex/p> 1 }"})
    assert update.status_code == 204
    after = client.get("/dump.nq")
    assert after.headers["ETag"] != before.headers["ETag"] and b"<http://ex/n>" in after.get_data()
    assert after.last_modified is not None and after.last_modified >= dt.datetime.now(dt.UTC).replace(
        microsecond=0) - dt.timedelta(minutes=5)
    assert client.get("/dump.nq", headers={"If-None-Match": before.headers["ETag"]}).status_code == 200


def test_large_reads_are_bounded_per_client_with_a_clear_503(pool) -> None:  # noqa: ANN001
    client = app_on(pool, LINES)
    open_reads = [client.get("/dump.nq", buffered=False) for _ in range(MAX_READS_PER_CLIENT)]
    assert all(r.status_code == 200 for r in open_reads)
    full = client.get("/dump.nq")
    assert full.status_code == 503 and full.headers["Retry-After"].isdigit()
    assert full.get_json()["error"] == "busy" and str(MAX_READS_PER_CLIENT) in full.get_json()["message"]
    assert client.get("/dump.nq", headers={"If-None-Match": open_reads[0].headers["ETag"]}).status_code == 304
    other = client.get("/dump.nq", environ_base={"REMOTE_ADDR": "127.0.0.2"})
    assert other.status_code == 200  # another client is not turned away
    for response in open_reads:
        response.close()
    assert client.get("/dump.nq").status_code == 200


def test_the_overall_bound_counts_every_client(tmp_path) -> None:  # noqa: ANN001
    reads = ReadFiles(tmp_path)
    tokens = [reads.admit(f"client-{i}") for i in range(MAX_READS)]
    with pytest.raises(Busy):
        reads.admit("client-new")
    reads.release("client-0", tokens[0])
    reads.admit("client-new")
