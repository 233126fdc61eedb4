"""Rides through the HTTP API: dispatch, the whole lifecycle for both services, and the rules around it."""

import json
from datetime import timedelta

import pytest

from chalicelib.core.clock import iso
from tests.integration.actors import GANGNAM, SEOUL_CITY_HALL, driver_on_duty

NEAR_CITY_HALL = {"lat": 37.5668, "lng": 126.9785}


def request(api, rider="rider-1", service="taxi", pickup=SEOUL_CITY_HALL, dropoff=GANGNAM, headers=None):
    return api("post", "/rides", ("rider", rider), {"service": service, "pickup": pickup, "dropoff": dropoff},
               headers=headers)


@pytest.mark.parametrize(("service", "commission_percent"), [("taxi", 3), ("designated", 20)])
def test_a_ride_goes_from_request_to_completion_with_a_transparent_fare(api, frozen_clock, service,
                                                                        commission_percent):
    driver_on_duty(api, "driver-1", services=(service,))
    created = request(api, service=service)
    assert created.status_code == 201
    ride = created.json_body
    assert ride["status"] == "offered"
    assert ride["driver_id"] == "driver-1"
    assert ride["fare_estimate_krw"] > 0
    ride_id = ride["ride_id"]

    offers = api("get", "/drivers/me/offers", ("driver", "driver-1")).json_body["items"]
    assert [o["ride_id"] for o in offers] == [ride_id]
    for step in ("accept", "arrive", "start"):
        frozen_clock.advance(seconds=5)
        assert api("post", f"/rides/{ride_id}/{step}", ("driver", "driver-1")).status_code == 200, step
    frozen_clock.advance(minutes=20)
    done = api("post", f"/rides/{ride_id}/complete", ("driver", "driver-1"), {"distance_m": 9000, "duration_s": 1200})
    assert done.status_code == 200
    fare = done.json_body["fare"]
    assert fare["insurance_paid_by"] == "platform"
    assert fare["commission_krw"] == round(fare["fare_krw"] * commission_percent / 100)
    assert fare["driver_payout_krw"] == fare["fare_krw"] - fare["commission_krw"]

    seen = api("get", f"/rides/{ride_id}", ("rider", "rider-1")).json_body
    assert (seen["status"], seen["fare"]) == ("completed", fare)
    driver = api("get", "/drivers/me", ("driver", "driver-1")).json_body
    assert driver["status"] == "available"
    hour = frozen_clock.now().replace(minute=0, second=0)
    earned = api("get", f"/drivers/me/earnings?from={iso(hour)}&to={iso(hour + timedelta(hours=1))}",
                 ("driver", "driver-1")).json_body
    assert (earned["total_krw"], earned["rides"]) == (fare["driver_payout_krw"], 1)


def test_the_nearest_driver_gets_the_offer_and_ties_go_to_the_longest_waiting(api, frozen_clock):
    driver_on_duty(api, "far-but-patient", at=GANGNAM)
    frozen_clock.advance(minutes=1)
    driver_on_duty(api, "near-newcomer", at=NEAR_CITY_HALL)
    frozen_clock.advance(minutes=1)
    driver_on_duty(api, "near-later", at=NEAR_CITY_HALL)
    assert request(api).json_body["driver_id"] == "near-newcomer"
    assert request(api, rider="rider-2").json_body["driver_id"] == "near-later"


def test_a_ride_is_only_offered_to_drivers_of_its_service(api):
    driver_on_duty(api, "taxi-driver", services=("taxi",))
    ride = request(api, service="designated").json_body
    assert (ride["status"], ride["driver_id"]) == ("searching", None)


def test_a_declined_ride_is_offered_to_the_next_driver_and_never_back(api, frozen_clock):
    driver_on_duty(api, "first")
    frozen_clock.advance(seconds=1)
    driver_on_duty(api, "second")
    ride_id = request(api).json_body["ride_id"]
    declined = api("post", f"/rides/{ride_id}/decline", ("driver", "first"))
    assert declined.status_code == 200
    assert declined.json_body["driver_id"] == "second"
    assert api("post", f"/rides/{ride_id}/decline", ("driver", "second")).json_body["status"] == "searching"
    assert api("get", "/drivers/me", ("driver", "first")).json_body["status"] == "available"


def test_an_offer_not_answered_in_time_moves_on(api, frozen_clock):
    driver_on_duty(api, "sleepy")
    frozen_clock.advance(seconds=1)
    driver_on_duty(api, "awake")
    ride_id = request(api).json_body["ride_id"]
    frozen_clock.advance(seconds=16)
    late = api("post", f"/rides/{ride_id}/accept", ("driver", "sleepy"))
    assert late.status_code == 409
    assert api("get", f"/rides/{ride_id}", ("rider", "rider-1")).json_body["driver_id"] == "awake"
    assert api("get", "/drivers/me/offers", ("driver", "sleepy")).json_body["items"] == []


def test_the_job_expires_rides_nobody_took_in_the_search_window(api, client, token, frozen_clock):
    ride_id = request(api).json_body["ride_id"]
    frozen_clock.advance(minutes=1)
    assert client.http.post("/jobs/expire-rides/run", headers=token("admin")).json_body["summary"]["searching"] == 1
    frozen_clock.advance(minutes=3)
    summary = client.http.post("/jobs/expire-rides/run", headers=token("admin")).json_body["summary"]
    assert summary["expired"] == 1
    assert api("get", f"/rides/{ride_id}", ("rider", "rider-1")).json_body["status"] == "expired"


def test_the_job_offers_a_waiting_ride_to_a_driver_who_came_online(api, client, token, frozen_clock):
    ride_id = request(api).json_body["ride_id"]
    driver_on_duty(api, "latecomer")
    frozen_clock.advance(minutes=1)
    assert client.http.post("/jobs/expire-rides/run", headers=token("admin")).json_body["summary"]["offered"] == 1
    assert api("get", f"/rides/{ride_id}", ("rider", "rider-1")).json_body["driver_id"] == "latecomer"


def test_a_driver_holds_one_offer_at_a_time(api):
    driver_on_duty(api, "only-driver")
    assert request(api).json_body["status"] == "offered"
    assert request(api, rider="rider-2").json_body["status"] == "searching"


@pytest.mark.parametrize("by", ["rider", "driver"])
def test_rider_or_driver_may_cancel_before_the_ride_starts_and_the_driver_is_freed(api, by):
    driver_on_duty(api, "driver-1")
    ride_id = request(api).json_body["ride_id"]
    api("post", f"/rides/{ride_id}/accept", ("driver", "driver-1"))
    who = ("rider", "rider-1") if by == "rider" else ("driver", "driver-1")
    cancelled = api("post", f"/rides/{ride_id}/cancel", who, {"reason": "plans changed"})
    assert cancelled.status_code == 200
    assert (cancelled.json_body["status"], cancelled.json_body["cancelled_by"]) == ("cancelled", by)
    assert api("get", "/drivers/me", ("driver", "driver-1")).json_body["status"] == "available"


def test_a_started_ride_cannot_be_cancelled(api):
    driver_on_duty(api, "driver-1")
    ride_id = request(api).json_body["ride_id"]
    for step in ("accept", "arrive", "start"):
        api("post", f"/rides/{ride_id}/{step}", ("driver", "driver-1"))
    assert api("post", f"/rides/{ride_id}/cancel", ("rider", "rider-1"), {}).status_code == 409


def test_steps_out_of_order_are_409(api):
    driver_on_duty(api, "driver-1")
    ride_id = request(api).json_body["ride_id"]
    assert api("post", f"/rides/{ride_id}/start", ("driver", "driver-1")).status_code == 409
    api("post", f"/rides/{ride_id}/accept", ("driver", "driver-1"))
    assert api("post", f"/rides/{ride_id}/accept", ("driver", "driver-1")).status_code == 409
    assert api("post", f"/rides/{ride_id}/complete", ("driver", "driver-1"),
               {"distance_m": 100, "duration_s": 60}).status_code == 409


def test_strangers_cannot_see_or_touch_a_ride(api):
    driver_on_duty(api, "driver-1")
    driver_on_duty(api, "driver-2")
    ride_id = request(api).json_body["ride_id"]
    assert api("get", f"/rides/{ride_id}", ("rider", "rider-2")).status_code == 404
    assert api("post", f"/rides/{ride_id}/accept", ("driver", "driver-2")).status_code == 403
    assert api("post", f"/rides/{ride_id}/cancel", ("rider", "rider-2"), {}).status_code == 403
    assert api("get", f"/rides/{ride_id}", ("admin", "ops-1")).status_code == 200
    assert api("get", "/rides/ride_unknown", ("admin", "ops-1")).status_code == 404


def test_a_completed_ride_is_rated_once_and_the_driver_rating_follows(api):
    driver_on_duty(api, "driver-1")
    ride_id = request(api).json_body["ride_id"]
    assert api("post", f"/rides/{ride_id}/rating", ("rider", "rider-1"), {"stars": 5}).status_code == 409
    for step in ("accept", "arrive", "start"):
        api("post", f"/rides/{ride_id}/{step}", ("driver", "driver-1"))
    api("post", f"/rides/{ride_id}/complete", ("driver", "driver-1"), {"distance_m": 3000, "duration_s": 600})
    assert api("post", f"/rides/{ride_id}/rating", ("rider", "rider-1"), {"stars": 4}).status_code == 201
    assert api("post", f"/rides/{ride_id}/rating", ("rider", "rider-1"), {"stars": 1}).status_code == 409
    driver = api("get", "/drivers/me", ("driver", "driver-1")).json_body
    assert (driver["rating"], driver["rating_count"]) == (4.0, 1)


def test_a_complaint_is_counted_on_the_driver(api):
    driver_on_duty(api, "driver-1")
    ride_id = request(api).json_body["ride_id"]
    filed = api("post", f"/rides/{ride_id}/complaints", ("rider", "rider-1"), {"category": "rude", "text": "shouted"})
    assert filed.status_code == 201
    assert api("get", "/drivers/me", ("driver", "driver-1")).json_body["complaint_count"] == 1


def test_a_retried_request_with_the_same_key_creates_one_ride(api):
    driver_on_duty(api, "driver-1")
    driver_on_duty(api, "driver-2")
    first = request(api, headers={"Idempotency-Key": "tap-1"})
    again = request(api, headers={"Idempotency-Key": "tap-1"})
    assert first.status_code == again.status_code == 201
    assert first.json_body == again.json_body
    other = request(api, headers={"Idempotency-Key": "tap-2"})
    assert other.json_body["ride_id"] != first.json_body["ride_id"]
    changed = request(api, dropoff=NEAR_CITY_HALL, headers={"Idempotency-Key": "tap-1"})
    assert changed.status_code == 409


@pytest.mark.parametrize(("body", "field"), [
    ({"service": "taxi", "pickup": {"lat": 35.68, "lng": 139.69}, "dropoff": GANGNAM}, "pickup.lng"),
    ({"service": "bus", "pickup": SEOUL_CITY_HALL, "dropoff": GANGNAM}, "service"),
    ({"service": "taxi", "pickup": SEOUL_CITY_HALL, "dropoff": SEOUL_CITY_HALL}, "dropoff"),
    ({"service": "taxi", "pickup": SEOUL_CITY_HALL}, "dropoff"),
])
def test_bad_ride_requests_are_400_and_write_nothing(api, body, field):
    response = api("post", "/rides", ("rider", "rider-1"), body)
    assert response.status_code == 400
    assert field in response.json_body["error"]["fields"]
    from chalicelib.rides.models import Ride

    assert Ride.count() == 0


@pytest.mark.parametrize(("body", "field"), [({"stars": 0}, "stars"), ({"stars": 6}, "stars"), ({}, "stars")])
def test_ratings_out_of_range_are_400(api, body, field):
    response = api("post", "/rides/ride_x/rating", ("rider", "rider-1"), body)
    assert response.status_code == 400
    assert field in response.json_body["error"]["fields"]


def test_a_driver_with_a_ride_cannot_go_offline(api):
    driver_on_duty(api, "driver-1")
    request(api)
    response = api("post", "/drivers/me/status", ("driver", "driver-1"), {"status": "offline", **SEOUL_CITY_HALL})
    assert response.status_code == 409


def test_dispatch_publishes_ride_metrics(api, capsys):
    driver_on_duty(api, "driver-1")
    capsys.readouterr()
    request(api)
    emitted = [json.loads(line) for line in capsys.readouterr().out.splitlines() if '"_aws"' in line]
    metric_names = {m["Name"] for line in emitted for d in line["_aws"]["CloudWatchMetrics"] for m in d["Metrics"]}
    assert {"RidesRequested", "RidesOffered"} <= metric_names
