"""The public status for people: 90-day uptime and history with every update, incident updates, the page in
Korean or English, and the Atom feed, all read from the one snapshot."""

import xml.etree.ElementTree as ET
from datetime import timedelta

import pytest

from chalicelib.core.clock import iso
from tests.integration.test_status_snapshot import dynamodb_operations

ADMIN, DRIVER = ("admin", "ops-1"), ("driver", "taxi-1")
ATOM = "{http://www.w3.org/2005/Atom}"


def ok(api, status: int, method: str, path: str, body=None, who=ADMIN, headers=None):
    answer = api(method, path, who, body, headers)
    assert answer.status_code == status, (path, answer.status_code, answer.body)
    return answer


@pytest.fixture
def fire(api, frozen_clock):
    """billing down two days ago to now (resolved by a `resolved` update), maps down now and still open."""
    now = frozen_clock.now()
    for name in ("billing", "maps"):
        ok(api, 201, "post", "/components", {"name": name, "heartbeat_timeout_s": 3600})
    past = ok(api, 201, "post", "/incidents", {"components": ["billing"], "started_at": iso(now - timedelta(days=2)),
                                               "summary": "fire"}).json_body["incident_id"]
    ok(api, 201, "post", f"/incidents/{past}/updates", {"status": "identified", "message": "the UPS burned"})
    resolved = ok(api, 201, "post", f"/incidents/{past}/updates", {"status": "resolved", "message": "back"}).json_body
    assert (resolved["state"], resolved["resolved_at"]) == ("resolved", iso(now))
    current = ok(api, 201, "post", "/incidents", {"components": ["maps"], "started_at": iso(now - timedelta(hours=1)),
                                                  "summary": "tiles slow"}).json_body["incident_id"]
    return past, current


def test_the_status_gives_uptime_and_a_history_with_the_open_incident_and_every_update(api, fire):
    past, current = fire
    status = ok(api, 200, "get", "/status", who=None).json_body
    assert [i["incident_id"] for i in status["history"]] == [current, past]
    assert [i["incident_id"] for i in status["open_incidents"]] == [current]
    assert [(u["status"], u["message"]) for u in status["history"][1]["updates"]] == [
        ("investigating", None), ("identified", "the UPS burned"), ("resolved", "back")]
    components = {c["name"]: c for c in status["components"]}
    assert components["billing"]["uptime_90d"] == 97.77  # two days of ninety, rounded down
    assert components["maps"]["state"] == "down"
    assert status["status"] == "degraded"
    days = components["billing"]["uptime_days"]
    assert len(days) == 90
    assert [d["state"] for d in days[-3:]] == ["down", "down", "down"]
    assert sum(d["down_s"] for d in days) == 2 * 86_400
    assert {d["state"] for d in days[:-3]} == {"no_data"}  # registered today; nothing down before


def test_updates_follow_the_incident_and_are_refused_naming_what_is_wrong(api, fire):
    past, current = fire
    refused = ok(api, 400, "post", f"/incidents/{current}/updates", {"status": "fixed", "message": "x"})
    assert "status" in refused.json_body["error"]["fields"]
    assert "message" in ok(api, 400, "post", f"/incidents/{current}/updates",
                           {"status": "monitoring"}).json_body["error"]["fields"]
    ok(api, 409, "post", f"/incidents/{past}/updates", {"status": "monitoring", "message": "again?"})
    ok(api, 201, "post", f"/incidents/{past}/updates", {"status": "resolved", "message": "cause: a battery"})
    ok(api, 404, "post", "/incidents/inc_nope/updates", {"status": "monitoring", "message": "x"})
    ok(api, 403, "post", f"/incidents/{current}/updates", {"status": "monitoring", "message": "x"}, who=DRIVER)
    timeline = ok(api, 200, "get", f"/incidents/{past}").json_body["timeline"]
    assert [(e["event"], e["status"]) for e in timeline] == [
        ("declared", None), ("update", "identified"), ("resolved", "resolved"), ("update", "resolved")]


def test_the_page_speaks_korean_unless_asked_for_english_and_reads_one_item(api, fire):
    with dynamodb_operations() as operations:
        korean = ok(api, 200, "get", "/status.html", who=None)
    assert operations == ["GetItem"]
    page = korean.body.decode()
    assert '<html lang="ko">' in page
    assert "일부 서비스에 장애가 있습니다" in page
    assert "KST" in page
    assert '<meta http-equiv="refresh" content="60">' in page
    assert "<script" not in page
    assert "http://" not in page
    assert "https://" not in page
    assert page.count('id="open-') == 1
    assert page.count('id="past-') == 2
    english = ok(api, 200, "get", "/status.html", who=None, headers={"Accept-Language": "en-GB,en;q=0.9"}).body
    assert b'<html lang="en">' in english
    assert b"Some systems are down" in english
    assert b'lang="ko"' in ok(api, 200, "get", "/status.html?lang=ko", who=None,
                              headers={"Accept-Language": "en"}).body
    assert "lang" in ok(api, 400, "get", "/status.html?lang=fr", who=None).json_body["error"]["fields"]


def test_the_feed_is_atom_with_an_entry_per_incident_and_per_update(api, fire, frozen_clock):
    past, _current = fire
    with dynamodb_operations() as operations:
        answer = ok(api, 200, "get", "/status/feed.atom", who=None)
    assert operations == ["GetItem"]
    assert answer.headers["Content-Type"].startswith("application/atom+xml")
    feed = ET.fromstring(answer.body)
    assert feed.tag == f"{ATOM}feed"
    assert feed.findtext(f"{ATOM}id")
    assert feed.find(f"{ATOM}author") is not None
    entries = feed.findall(f"{ATOM}entry")
    ids = [e.findtext(f"{ATOM}id") for e in entries]
    assert len(ids) == len(set(ids)) == 2 + 3 + 1  # two incidents, billing's three updates, maps' opening
    assert f"urn:o2o-mobility:incident:{past}:update:2" in ids
    updated = [e.findtext(f"{ATOM}updated") for e in entries]
    assert all(updated)
    assert updated == sorted(updated, reverse=True)
    assert feed.findtext(f"{ATOM}updated") == max(updated) == iso(frozen_clock.now())
    assert all(e.find(f"{ATOM}link").get("href").startswith("http") for e in entries)
