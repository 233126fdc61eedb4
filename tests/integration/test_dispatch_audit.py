"""Fair dispatch you can check: every offer's decision is recorded, auditors read it, drivers see their own."""

import json

from tests.integration.actors import SEOUL_CITY_HALL, driver_on_duty, ride

AUDITOR, ADMIN = ("auditor", "council-1"), ("admin", "ops-1")
ONE_RING_AWAY = {"lat": SEOUL_CITY_HALL["lat"] + 0.009, "lng": SEOUL_CITY_HALL["lng"]}
TWO_RINGS_AWAY = {"lat": SEOUL_CITY_HALL["lat"] + 0.015, "lng": SEOUL_CITY_HALL["lng"]}
WINDOW = "?from=2022-10-15T00:00:00Z&to=2022-10-16T00:00:00Z"


def joined(api, sub: str, affiliation: str, at=SEOUL_CITY_HALL) -> None:
    """A driver of `affiliation` online at `at`."""
    answer = api("put", "/drivers/me", ("driver", sub), {"name": sub, "services": ["taxi"], "affiliation": affiliation})
    assert answer.status_code == 200, answer.body
    assert answer.json_body["affiliation"] == affiliation
    online = api("post", "/drivers/me/status", ("driver", sub), {"status": "online", **at})
    assert online.status_code == 200, online.body


def record(api, ride_id: str, who=AUDITOR) -> dict:
    answer = api("get", f"/rides/{ride_id}/dispatch", who)
    assert answer.status_code == 200, answer.body
    return answer.json_body


def by_driver(decision: dict) -> dict:
    return {c["driver_id"]: c for c in decision["candidates"]}


def test_a_nearer_independent_driver_wins_over_a_farther_franchise_driver_who_waited_longer(api, frozen_clock):
    joined(api, "franchise-far", "Kakao T Blue", at=TWO_RINGS_AWAY)
    frozen_clock.advance(minutes=20)
    joined(api, "independent-near", "independent", at=ONE_RING_AWAY)
    ride_id = ride(api, "rider-1")

    [decision] = record(api, ride_id)["decisions"]
    assert decision["offered_to"] == "independent-near"
    assert "nearest" in decision["rule"]
    near, far = by_driver(decision)["independent-near"], by_driver(decision)["franchise-far"]
    assert (near["outcome"], near["affiliation"], near["ring_distance"]) == ("offered", "independent", 1)
    assert (far["outcome"], far["affiliation"], far["ring_distance"]) == ("passed_over", "Kakao T Blue", 2)
    assert far["available_since"] == "2022-10-15T06:33:00Z"
    log = api("get", f"/drivers/me/dispatch-log{WINDOW}", ("driver", "franchise-far")).json_body
    assert [(e["ride_id"], e["outcome"], e["reason"]) for e in log["items"]] == [
        (ride_id, "passed_over", "offered to a driver one ring nearer")]


def test_equally_near_the_longer_waiting_driver_wins(api, frozen_clock):
    driver_on_duty(api, "waited-long")
    frozen_clock.advance(minutes=6)
    driver_on_duty(api, "just-arrived")
    ride_id = ride(api, "rider-1")

    [decision] = record(api, ride_id)["decisions"]
    assert decision["offered_to"] == "waited-long"
    assert by_driver(decision)["just-arrived"]["outcome"] == "passed_over"
    log = api("get", f"/drivers/me/dispatch-log{WINDOW}", ("driver", "just-arrived"))
    assert log.status_code == 200, log.body
    [entry] = log.json_body["items"]
    assert entry["reason"] == "equally near; a driver waiting 6 minutes longer was offered"
    assert (entry["outcome"], entry["ring_distance"]) == ("passed_over", 0)


def test_a_decline_shows_as_excluded_in_the_next_decision(api, frozen_clock):
    driver_on_duty(api, "first")
    frozen_clock.advance(minutes=1)
    driver_on_duty(api, "second")
    ride_id = ride(api, "rider-1")
    frozen_clock.advance(seconds=5)
    assert api("post", f"/rides/{ride_id}/decline", ("driver", "first")).status_code == 200

    first, second = record(api, ride_id, ADMIN)["decisions"]
    assert first["offered_to"] == "first"
    assert second["offered_to"] == "second"
    declined = by_driver(second)["first"]
    assert (declined["outcome"], declined["reason"]) == ("excluded", "declined_before")
    log = api("get", f"/drivers/me/dispatch-log{WINDOW}", ("driver", "first")).json_body["items"]
    assert [e["outcome"] for e in log] == ["offered", "excluded"]
    assert log[1]["reason"] == "you had declined this ride earlier"


def test_a_drivers_log_shows_their_own_candidacy_and_names_no_other_driver(api, frozen_clock):
    driver_on_duty(api, "taxi-alpha")
    frozen_clock.advance(minutes=2)
    driver_on_duty(api, "taxi-bravo")
    ride_id = ride(api, "rider-1")

    answer = api("get", f"/drivers/me/dispatch-log{WINDOW}", ("driver", "taxi-bravo"))
    assert answer.status_code == 200, answer.body
    assert [e["ride_id"] for e in answer.json_body["items"]] == [ride_id]
    assert "taxi-alpha" not in json.dumps(answer.json_body)
    elsewhere = api("get", "/drivers/me/dispatch-log?from=2022-10-16T00:00:00Z&to=2022-10-17T00:00:00Z",
                    ("driver", "taxi-bravo"))
    assert elsewhere.json_body["items"] == []


def test_the_log_pages_with_a_cursor(api, frozen_clock):
    driver_on_duty(api, "taxi-alpha")
    frozen_clock.advance(minutes=2)
    driver_on_duty(api, "taxi-bravo")
    rides = [ride(api, "rider-1")]
    frozen_clock.advance(seconds=5)
    assert api("post", f"/rides/{rides[0]}/decline", ("driver", "taxi-alpha")).status_code == 200
    first = api("get", f"/drivers/me/dispatch-log{WINDOW}&limit=1", ("driver", "taxi-alpha")).json_body
    assert len(first["items"]) == 1
    assert first["next"]
    rest = api("get", f"/drivers/me/dispatch-log{WINDOW}&limit=1&cursor={first['next']}",
               ("driver", "taxi-alpha")).json_body
    assert [e["outcome"] for e in first["items"] + rest["items"]] == ["offered", "excluded"]


def test_auditors_and_admins_read_the_record_riders_and_drivers_may_not(api, frozen_clock):
    driver_on_duty(api, "taxi-1")
    ride_id = ride(api, "rider-1")
    assert api("get", f"/rides/{ride_id}/dispatch", AUDITOR).status_code == 200
    assert api("get", f"/rides/{ride_id}/dispatch", ADMIN).status_code == 200
    assert api("get", f"/rides/{ride_id}/dispatch", ("rider", "rider-1")).status_code == 403
    assert api("get", f"/rides/{ride_id}/dispatch", ("driver", "taxi-1")).status_code == 403
    assert api("get", "/rides/ride-nope/dispatch", AUDITOR).status_code == 404
    assert api("get", f"/drivers/me/dispatch-log{WINDOW}", AUDITOR).status_code == 403


def test_what_an_auditor_reads_is_on_the_audit_log(api, frozen_clock):
    driver_on_duty(api, "taxi-1")
    ride_id = ride(api, "rider-1")
    api("get", f"/rides/{ride_id}/dispatch", AUDITOR)
    api("get", f"/rides/{ride_id}", ADMIN)  # an admin's read is not
    entries = api("get", "/audit?limit=200", ADMIN).json_body["items"]
    reads = [(e["actor"], e["role"], e["action"], e["target"]) for e in entries if e["action"].startswith("GET")]
    assert reads == [("council-1", "auditor", "GET /rides/{ride_id}/dispatch", f"ride_id={ride_id}")]


def test_the_audit_routes_are_in_the_openapi_document_with_their_roles(api):
    paths = api("get", "/openapi.json").json_body["paths"]
    assert paths["/rides/{ride_id}/dispatch"]["get"]["x-roles"] == ["admin", "auditor"]
    assert paths["/drivers/me/dispatch-log"]["get"]["x-roles"] == ["driver"]


def test_affiliation_defaults_to_independent_and_is_checked(api):
    answer = api("put", "/drivers/me", ("driver", "taxi-1"), {"name": "taxi-1", "services": ["taxi"]})
    assert answer.json_body["affiliation"] == "independent"
    too_long = api("put", "/drivers/me", ("driver", "taxi-1"),
                   {"name": "taxi-1", "services": ["taxi"], "affiliation": "x" * 41})
    assert too_long.status_code == 400
