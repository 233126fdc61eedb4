"""Notices, inquiries, feedback campaigns and the quality follow-up, through the HTTP API."""

from datetime import timedelta

import pytest

from chalicelib.core.clock import iso

CITY_HALL = {"lat": 37.5663, "lng": 126.9779}


ADMIN, TAXI, DESIGNATED, BUSAN = ("admin", "ops-1"), ("driver", "taxi-1"), ("driver", "daeri-1"), ("driver", "busan-1")


@pytest.fixture
def fleet(api):
    api("put", "/drivers/me", TAXI, {"name": "Kim", "services": ["taxi"], "region": "seoul"})
    api("put", "/drivers/me", DESIGNATED, {"name": "Lee", "services": ["designated"], "region": "seoul"})
    api("put", "/drivers/me", BUSAN, {"name": "Park", "services": ["taxi"], "region": "busan"})


def titles(api, who) -> list[str]:
    return [n["title"] for n in api("get", "/notices", who).json_body["items"]]


def test_a_notice_for_everyone_reaches_every_driver_and_is_announced(api, fleet, inbox):
    created = api("post", "/notices", ADMIN, {"title": "New fee policy", "body": "Commission stays at 20%."})
    assert created.status_code == 201
    assert created.json_body["status"] == "published"
    for who in (TAXI, DESIGNATED, BUSAN):
        assert titles(api, who) == ["New fee policy"]
    (message,) = inbox()
    assert message["notice_id"] == created.json_body["notice_id"]
    assert message["attributes"]["service"] == "all"


def test_an_audience_narrows_who_sees_the_notice(api, fleet):
    api("post", "/notices", ADMIN, {"title": "Designated drivers in Seoul", "body": "x",
                                    "audience": {"services": ["designated"], "region": "seoul"}})
    api("post", "/notices", ADMIN, {"title": "Taxi only", "body": "x", "audience": {"services": ["taxi"]}})
    assert titles(api, DESIGNATED) == ["Designated drivers in Seoul"]
    assert titles(api, TAXI) == ["Taxi only"]
    assert titles(api, BUSAN) == ["Taxi only"]
    hidden = api("get", "/notices", ADMIN).json_body["items"][1]["notice_id"]
    assert api("get", f"/notices/{hidden}", TAXI).status_code == 404


def test_pinned_notices_list_first_then_newest_first(api, fleet, frozen_clock):
    for title, pinned in (("old", False), ("pinned", True), ("new", False)):
        api("post", "/notices", ADMIN, {"title": title, "body": "x", "pinned": pinned})
        frozen_clock.advance(minutes=1)
    assert titles(api, TAXI) == ["pinned", "new", "old"]


def test_lists_page_with_a_cursor(api, fleet, frozen_clock):
    for n in range(5):
        api("post", "/notices", ADMIN, {"title": f"n{n}", "body": "x"})
        frozen_clock.advance(minutes=1)
    first = api("get", "/notices?limit=3", TAXI).json_body
    second = api("get", f"/notices?limit=3&cursor={first['next']}", TAXI).json_body
    assert [n["title"] for n in first["items"] + second["items"]] == ["n4", "n3", "n2", "n1", "n0"]
    assert second["next"] is None


def test_a_scheduled_notice_is_published_by_the_job_when_due(api, client, token, fleet, frozen_clock, inbox):
    publish_at = iso(frozen_clock.now() + timedelta(hours=2))
    created = api("post", "/notices", ADMIN, {"title": "Tomorrow's event", "body": "x", "publish_at": publish_at})
    assert created.json_body["status"] == "scheduled"
    assert titles(api, TAXI) == []
    run = lambda: client.http.post("/jobs/publish-notices/run", headers=token("admin")).json_body["summary"]  # noqa: E731
    assert run()["published"] == 0
    frozen_clock.advance(hours=2)
    assert run()["published"] == 1
    assert run()["published"] == 0
    assert titles(api, TAXI) == ["Tomorrow's event"]
    assert len(inbox()) == 1


def test_read_flags_are_per_driver_and_counted_once(api, fleet):
    notice_id = api("post", "/notices", ADMIN, {"title": "Read me", "body": "x"}).json_body["notice_id"]
    assert api("post", f"/notices/{notice_id}/read", TAXI).status_code == 200
    assert api("post", f"/notices/{notice_id}/read", TAXI).status_code == 200
    api("post", f"/notices/{notice_id}/read", BUSAN)
    assert api("get", "/notices", TAXI).json_body["items"][0]["read"] is True
    assert api("get", "/notices", DESIGNATED).json_body["items"][0]["read"] is False
    assert api("get", f"/notices/{notice_id}", ADMIN).json_body["read_count"] == 2


def test_the_job_warns_when_fewer_than_two_notices_went_out_in_a_week(api, client, token, fleet, frozen_clock, capsys):
    api("post", "/notices", ADMIN, {"title": "only one", "body": "x"})
    capsys.readouterr()
    summary = client.http.post("/jobs/publish-notices/run", headers=token("admin")).json_body["summary"]
    assert (summary["last_7_days"], summary["cadence_ok"]) == (1, False)
    assert "NoticeCadenceShortfall" in capsys.readouterr().out
    api("post", "/notices", ADMIN, {"title": "second", "body": "x"})
    assert client.http.post("/jobs/publish-notices/run", headers=token("admin")).json_body["summary"]["cadence_ok"]
    frozen_clock.advance(days=8)
    weeks = api("get", "/notices?cadence=1", ADMIN).json_body["weeks"]
    assert [w["published"] for w in weeks[:2]] == [0, 2]
    assert weeks[1]["meets_cadence"] is True


@pytest.mark.parametrize(("body", "field"), [
    ({"title": "", "body": "x"}, "title"),
    ({"title": "t" * 121, "body": "x"}, "title"),
    ({"title": "t", "body": ""}, "body"),
    ({"title": "t", "body": "x", "audience": {"services": ["bus"]}}, "audience.services.0"),
    ({"title": "t", "body": "x", "publish_at": "2000-01-01T00:00:00Z"}, "publish_at"),
])
def test_bad_notices_are_400_naming_the_field(api, body, field):
    response = api("post", "/notices", ADMIN, body)
    assert response.status_code == 400
    assert field in response.json_body["error"]["fields"]


def test_only_admins_post_notices(api):
    assert api("post", "/notices", TAXI, {"title": "t", "body": "x"}).status_code == 403


def test_an_inquiry_gets_an_individual_answer_and_the_driver_is_told(api, fleet, inbox):
    asked = api("post", "/inquiries", TAXI, {"category": "fare", "text": "Why was my fare lower?"})
    assert asked.status_code == 201
    assert asked.json_body["status"] == "open"
    inquiry_id = asked.json_body["inquiry_id"]
    api("post", "/inquiries", BUSAN, {"category": "app", "text": "App crashes"})
    assert [i["inquiry_id"] for i in api("get", "/inquiries", TAXI).json_body["items"]] == [inquiry_id]
    assert len(api("get", "/inquiries?status=open", ADMIN).json_body["items"]) == 2
    answered = api("post", f"/inquiries/{inquiry_id}/answer", ADMIN, {"text": "A night surcharge ended at 04:00."})
    assert answered.json_body["status"] == "answered"
    assert api("post", f"/inquiries/{inquiry_id}/answer", ADMIN, {"text": "again"}).status_code == 409
    assert api("get", "/inquiries?status=answered", TAXI).json_body["items"][0]["answer"].startswith("A night")
    assert [m["attributes"].get("driver_id") for m in inbox() if m["kind"] == "inquiry_answered"] == ["taxi-1"]
    assert api("post", "/inquiries/inq_nope/answer", ADMIN, {"text": "x"}).status_code == 404


def test_a_campaign_takes_entries_only_while_open(api, frozen_clock):
    opens, closes = frozen_clock.now() + timedelta(hours=1), frozen_clock.now() + timedelta(days=3)
    campaign = api("post", "/feedback-campaigns", ADMIN, {"title": "Your stories", "question": "How was the outage?",
                                                          "opens_at": iso(opens), "closes_at": iso(closes)})
    assert campaign.status_code == 201
    campaign_id = campaign.json_body["campaign_id"]
    entry = {"text": "I lost a whole evening of calls."}
    assert api("post", f"/feedback-campaigns/{campaign_id}/entries", TAXI, entry).status_code == 409
    frozen_clock.advance(hours=2)
    for _ in range(3):
        assert api("post", f"/feedback-campaigns/{campaign_id}/entries", TAXI, entry).status_code == 201
    api("post", f"/feedback-campaigns/{campaign_id}/entries", DESIGNATED, entry)
    frozen_clock.advance(days=3)
    assert api("post", f"/feedback-campaigns/{campaign_id}/entries", TAXI, entry).status_code == 409
    detail = api("get", f"/feedback-campaigns/{campaign_id}?limit=2", ADMIN).json_body
    assert detail["entry_count"] == 4
    assert len(detail["entries"]) == 2
    assert detail["next"] is not None
    assert api("post", "/feedback-campaigns/camp_nope/entries", TAXI, entry).status_code == 404


def test_a_campaign_must_close_after_it_opens(api, frozen_clock):
    now = iso(frozen_clock.now())
    response = api("post", "/feedback-campaigns", ADMIN, {"title": "t", "question": "q", "opens_at": now,
                                                          "closes_at": now})
    assert response.status_code == 400
    assert "closes_at" in response.json_body["error"]["fields"]


def complete_ride(api, frozen_clock, rider: str) -> str:
    trip = {"service": "taxi", "pickup": CITY_HALL, "dropoff": {"lat": 37.4979, "lng": 127.0276}}
    ride_id = api("post", "/rides", ("rider", rider), trip).json_body["ride_id"]
    for step in ("accept", "arrive", "start"):
        api("post", f"/rides/{ride_id}/{step}", TAXI)
    api("post", f"/rides/{ride_id}/complete", TAXI, {"distance_m": 5000, "duration_s": 900})
    frozen_clock.advance(minutes=1)
    return ride_id


def test_a_falling_rating_brings_one_education_notice_per_period(api, fleet, frozen_clock):
    api("post", "/drivers/me/status", TAXI, {"status": "online", **CITY_HALL})
    for n in range(7):
        ride_id = complete_ride(api, frozen_clock, f"rider-{n}")
        api("post", f"/rides/{ride_id}/rating", ("rider", f"rider-{n}"), {"stars": 2})
    education = [n for n in api("get", "/notices", TAXI).json_body["items"] if n["kind"] == "education"]
    assert len(education) == 1
    assert titles(api, BUSAN) == []
    frozen_clock.advance(days=31)
    ride_id = complete_ride(api, frozen_clock, "rider-late")
    api("post", f"/rides/{ride_id}/rating", ("rider", "rider-late"), {"stars": 1})
    assert len([n for n in api("get", "/notices", TAXI).json_body["items"] if n["kind"] == "education"]) == 2


def test_good_drivers_get_no_education_notice(api, fleet, frozen_clock):
    api("post", "/drivers/me/status", TAXI, {"status": "online", **CITY_HALL})
    for n in range(6):
        ride_id = complete_ride(api, frozen_clock, f"rider-{n}")
        api("post", f"/rides/{ride_id}/rating", ("rider", f"rider-{n}"), {"stars": 5})
    assert titles(api, TAXI) == []
