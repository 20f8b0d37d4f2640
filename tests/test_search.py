"""Search what is known: search_index.py, search.py and event_match.py through their functions, `kg-service find`
and ``GET /search``."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner
from flask.testing import FlaskClient
from hypothesis import HealthCheck, given
from hypothesis import settings as hyp_settings
from hypothesis import strategies as st

from kg_service.cli import cli
from kg_service.errors import UsageError
from kg_service.event_match import Probe, match_events
from kg_service.search import find
from kg_service.search_index import Index, load_index
from kg_service.store import KnowledgeGraph


@pytest.fixture(scope="module")
def index(kg: KnowledgeGraph) -> Index:
    return load_index(kg)


def keys(hits) -> list[str]:  # noqa: ANN001 - list[Hit]
    return [h.key for h in hits]


def test_index_resolves_dates_with_corrections_first(index: Index) -> None:
    controls = index.events["2019-07-japan-export-controls"]
    assert controls.stated_dates == {"2019", "2019-07"}  # what the articles say
    assert (controls.date, controls.corrected) == ("2019-07-01", True)  # what the resolved layer holds (corrected)
    munich = index.events["2023-02-18-park-hayashi-talks-munich"]
    assert (munich.date, munich.corrected) == ("2023-02-18", False)
    assert munich.sides["participants"] == {"park-jin", "yoshimasa-hayashi"}
    assert index.entities["yoshimasa-hayashi"].country == "japan"
    assert "Lin Fangzheng" in index.entities["yoshimasa-hayashi"].spellings


def test_find_by_spelling_alias_and_misspelling(index: Index) -> None:
    assert keys(find(index, "Lin Fangzheng"))[0] == "yoshimasa-hayashi"
    assert "yoshimasa-hayashi" in keys(find(index, "Hayashy"))[:3]
    assert keys(find(index, "Zheng Yirong", cls="person"))[0] == "chung-eui-yong"
    assert find(index, "Zheng Yirong", cls="person")[0].why == ["spelled 'Zheng Yirong'"]


def test_find_by_date_range_uses_resolved_dates(index: Index) -> None:
    july = keys(find(index, cls="TradeMeasure", date_from="2019-07-01", date_to="2019-07-31"))
    assert july == ["2019-07-japan-export-controls"]
    # From August 2019: the white-list removal a correction adds (2 August), not the July controls.
    assert keys(find(index, cls="TradeMeasure", date_from="2019-08")) == ["2019-08-28-japan-white-list-removal"]
    # The 2015 agreement is stated as "2015" but corrected to 2015-12-28: it is in December, not June.
    assert "2015-12-28-comfort-women-agreement" in keys(find(index, date_from="2015-12", date_to="2015-12"))
    assert "2015-12-28-comfort-women-agreement" not in keys(find(index, date_from="2015-06", date_to="2015-06"))


def test_index_reads_the_resolved_layer_not_the_article_claims(index: Index) -> None:
    # Added by a correction: known only to the resolved layer, its date and sides the correction's.
    removal = index.events["2019-08-28-japan-white-list-removal"]
    assert (removal.date, removal.corrected, removal.stated_dates) == ("2019-08-02", True, set())
    assert removal.other_dates == {"2019-08-02", "2019-08-28"}
    # The article says "planned" with Kishida alone; the corrections say who: the resolved participants.
    dialogue = index.events["2014-proposed-kishida-yun-foreign-ministers-dialogue"]
    assert dialogue.sides["participants"] == {"fumio-kishida", "yun-byung-se"} and dialogue.date is None
    # Stated as October 2018 at the earliest, dated 2018-11-29 by a correction: the date wins.
    later = index.events["2018-later-forced-labour-rulings"]
    assert (later.date, later.corrected, later.earliest) == ("2018-11-29", True, "2018-10")


def test_an_event_known_between_two_dates_is_found_and_matched_in_that_span(index: Index) -> None:
    talks = index.events["2014-02-18-ihara-cho-talks-seoul"]
    assert talks.date is None and (talks.earliest, talks.latest) == ("2014-02-17", "2014-02-18")
    hits = {h.key: h for h in find(index, cls="Meeting", date_from="2014-02-18", date_to="2014-02-18")}
    assert hits["2014-02-18-ihara-cho-talks-seoul"].date == "2014-02-17/2014-02-18"
    assert "may fall outside the range" in hits["2014-02-18-ihara-cho-talks-seoul"].why[0]
    assert "2014-02-18-ihara-cho-talks-seoul" not in keys(find(index, cls="Meeting", date_from="2014-03"))
    people = set(talks.sides.get("participants", set()))
    inside = match_events(index, Probe("Meeting", "2014-02-17", "held", people, {"japan", "south-korea"}), limit=5)
    assert "2014-02-18-ihara-cho-talks-seoul" in [m[1].key for m in inside]
    outside = match_events(index, Probe("Meeting", "2014-03-10", "held", people, {"japan", "south-korea"}), limit=5)
    assert "2014-02-18-ihara-cho-talks-seoul" not in [m[1].key for m in outside]


def test_a_dated_report_does_not_match_an_undated_event_on_people_alone(index: Index) -> None:
    kishida_yun = {"fumio-kishida", "yun-byung-se"}
    call = match_events(index, Probe("Meeting", "2016-01-06", "held", kishida_yun, {"japan", "south-korea"}))
    assert "2014-proposed-kishida-yun-foreign-ministers-dialogue" not in [m[1].key for m in call]
    undated = match_events(index, Probe("Meeting", None, "held", kishida_yun, {"japan", "south-korea"}), limit=10)
    assert "2014-proposed-kishida-yun-foreign-ministers-dialogue" in [m[1].key for m in undated]


def test_year_precision_overlaps_a_month_and_says_so(index: Index) -> None:
    hits = {h.key: h for h in find(index, cls="Meeting", date_from="2015-06", date_to="2015-07")}
    assert "2015-lee-yachi-back-channel" in hits  # dated only 2015
    assert "may fall outside the range" in hits["2015-lee-yachi-back-channel"].why[0]


def test_find_by_participant(index: Index) -> None:
    hits = find(index, who="park-jin", limit=100)
    assert hits and all("park-jin" in index.events[h.key].who() for h in hits)
    by_spelling = keys(find(index, who="Motegi", cls="Meeting"))
    assert by_spelling == keys(find(index, who="toshimitsu-motegi", cls="Meeting"))
    assert "2021-09-23-motegi-chung-talks-new-york" in by_spelling


@pytest.mark.parametrize("options, field", [({"cls": "Meting"}, "--class"), ({"date_from": "2019-13"}, "--from"),
                                            ({"date_to": "19"}, "--to"), ({"who": "nobody at all"}, "--who")])
def test_find_refuses_bad_criteria_with_the_option_named(index: Index, options: dict, field: str) -> None:
    with pytest.raises(UsageError) as caught:
        find(index, "x", **options)
    assert caught.value.location.field == field


def test_match_events_needs_class_and_a_shared_date_or_person(index: Index) -> None:
    probe = Probe("Meeting", "2023-02-18", "held", {"park-jin"}, {"japan", "south-korea"}, "munich")
    best = match_events(index, probe)[0]
    assert best[1].key == "2023-02-18-park-hayashi-talks-munich"
    assert any("place munich" in why for why in best[2])
    assert match_events(index, Probe("Meeting", "2023-02-21", "held", set(), {"japan", "south-korea"})) == []
    assert match_events(index, Probe("Agreement", "2023-02-18", "held", {"park-jin"})) == []
    # A corrected date is matched: the 2015 agreement is "2015" in its article, 2015-12-28 in the corrections.
    agreement = match_events(index, Probe("Agreement", "2015-12-28", "held", set(), {"japan", "south-korea"}))
    assert agreement[0][1].key == "2015-12-28-comfort-women-agreement"
    # The seeds' Abe - Park summit was not held: a held summit of theirs is not it.
    assert match_events(index, Probe("Meeting", None, "held", {"shinzo-abe", "park-geun-hye"})) == []


def test_cli_find_prints_ids_and_json() -> None:
    result = CliRunner().invoke(cli, ["find", "Lin Fangzheng", "--format", "json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)[0]["id"] == "yoshimasa-hayashi"
    result = CliRunner().invoke(cli, ["find", "--class", "Meeting", "--from", "2023-02", "--to", "2023-02"])
    assert result.exit_code == 0
    assert "2023-02-18-park-hayashi-talks-munich" in result.output


def test_cli_find_bad_date_exits_2_with_the_option_named() -> None:
    result = CliRunner().invoke(cli, ["find", "x", "--from", "2019-13"])
    assert result.exit_code == 2
    assert "--from" in result.output and "Traceback" not in result.output


def test_search_json(client: FlaskClient) -> None:
    response = client.get("/search?q=hayashi&class=Meeting&from=2023&format=json")
    assert response.status_code == 200
    body = response.get_json()
    assert body["query"]["class"] == "Meeting"
    assert "2023-02-18-park-hayashi-talks-munich" in [r["id"] for r in body["results"]]
    assert all(r["class"] == "Meeting" for r in body["results"])


def test_search_negotiates_html_for_a_browser(client: FlaskClient) -> None:
    response = client.get("/search?q=Lin+Fangzheng", headers={"Accept": "text/html"})
    assert response.status_code == 200 and response.mimetype == "text/html"
    assert "<code>yoshimasa-hayashi</code>" in response.get_data(as_text=True)
    assert client.get("/search?q=hayashi", headers={"Accept": "application/json"}).mimetype == "application/json"


def test_search_bad_date_is_400_with_the_json_error_body(client: FlaskClient) -> None:
    response = client.get("/search?from=2019-13&format=json")
    assert response.status_code == 400
    body = response.get_json()
    assert set(body) >= {"error", "message", "status"} and "2019-13" in body["message"]
    page = client.get("/search?from=2019-13", headers={"Accept": "text/html"})
    assert page.status_code == 400 and "not a date" in page.get_data(as_text=True)
    assert client.get("/search?q=x&format=xml").status_code == 406


@hyp_settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=st.text(max_size=60), cls=st.sampled_from(["", "Meeting", "person"]))
def test_search_never_fails_on_any_text(client: FlaskClient, text: str, cls: str) -> None:
    response = client.get("/search", query_string={"q": text, "class": cls, "format": "json"})
    assert response.status_code == 200
    assert isinstance(response.get_json()["results"], list)


def test_a_trade_measure_matches_on_its_announced_or_effective_date() -> None:
    from kg_service.search_index import Event

    measure = Event("controls", "TradeMeasure", "Export controls", date="2019-07-04", other_dates={"2019-07-01"},
                    sides={"imposed_by": {"japan"}, "targets": {"south-korea"}})
    index = Index({"controls": measure}, {})
    found = match_events(index, Probe("TradeMeasure", "2019-07-01", "held", set(), {"japan", "south-korea"}))
    assert [m[1].key for m in found] == ["controls"] and "date 2019-07-01" in found[0][2]
    assert match_events(index, Probe("TradeMeasure", "2019-07-10", "held", set(), {"japan"})) == []


def test_live_server_search_and_draft_over_real_http(live_server) -> None:  # noqa: ANN001 - conftest.LiveServer
    import urllib.parse
    import urllib.request
    from pathlib import Path

    with urllib.request.urlopen(live_server.url + "/search?q=Lin+Fangzheng&format=json", timeout=30) as response:
        assert json.load(response)["results"][0]["id"] == "yoshimasa-hayashi"
    text = (Path(__file__).parent.parent / "bench" / "heldout" / "09_seoul_court_comfort_women.txt").read_text()
    request = urllib.request.Request(live_server.url + "/draft", data=urllib.parse.urlencode({"text": text}).encode())
    with urllib.request.urlopen(request, timeout=30) as response:
        assert response.headers["Content-Type"].startswith("text/yaml")
        assert "id: 2021-01-08-seoul-court-comfort-women-ruling" in response.read().decode()
