"""Hourly caps on the queues people answer by hand: a flood gets 429 with `Retry-After`, nobody else notices."""

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest

from chalicelib.core import quotas
from chalicelib.core.auth import Caller
from chalicelib.core.clock import iso
from chalicelib.core.errors import TooManyRequests

CITY_HALL = {"lat": 37.5663, "lng": 126.9779}
GANGNAM = {"lat": 37.4979, "lng": 127.0276}
ADMIN, TAXI, OTHER_TAXI = ("admin", "ops-1"), ("driver", "taxi-1"), ("driver", "taxi-2")
TO_NEXT_HOUR_S = 27 * 60  # the frozen clock stands at 06:33:00
INQUIRY = {"category": "fare", "text": "Why was my fare lower?"}
ENTRY = {"text": "I lost a whole evening of calls."}


def assert_flood_refused(response) -> None:
    assert response.status_code == 429, response.body
    assert response.headers["Retry-After"] == str(TO_NEXT_HOUR_S)
    error = response.json_body["error"]
    assert error["code"] == "too_many_requests"
    assert error["message"]


def test_a_driver_flooding_inquiries_is_refused_until_the_next_hour(api, frozen_clock):
    cap = quotas.CAPS["inquiries"]
    for _ in range(cap):
        assert api("post", "/inquiries", TAXI, INQUIRY).status_code == 201
    assert_flood_refused(api("post", "/inquiries", TAXI, INQUIRY))
    assert len(api("get", "/inquiries", TAXI).json_body["items"]) == cap
    assert api("post", "/inquiries", OTHER_TAXI, INQUIRY).status_code == 201

    frozen_clock.set(datetime(2022, 10, 15, 6, 59, 59, 500_000, tzinfo=UTC))
    refused = api("post", "/inquiries", TAXI, INQUIRY)
    assert refused.status_code == 429
    assert refused.headers["Retry-After"] == "1"
    frozen_clock.set(datetime(2022, 10, 15, 7, tzinfo=UTC))
    assert api("post", "/inquiries", TAXI, INQUIRY).status_code == 201
    assert len(api("get", "/inquiries", TAXI).json_body["items"]) == cap + 1


def test_a_refused_flood_does_not_touch_other_queues(api, frozen_clock):
    for _ in range(quotas.CAPS["inquiries"]):
        api("post", "/inquiries", TAXI, INQUIRY)
    assert api("post", "/inquiries", TAXI, INQUIRY).status_code == 429
    campaign_id = open_campaign(api, frozen_clock)
    assert api("post", f"/feedback-campaigns/{campaign_id}/entries", TAXI, ENTRY).status_code == 201


def open_campaign(api, frozen_clock) -> str:
    now = frozen_clock.now()
    campaign = api("post", "/feedback-campaigns", ADMIN, {"title": "Your stories", "question": "How was the outage?",
                                                          "opens_at": iso(now - timedelta(hours=1)),
                                                          "closes_at": iso(now + timedelta(days=3))})
    assert campaign.status_code == 201, campaign.body
    return campaign.json_body["campaign_id"]


def test_feedback_entries_are_capped_per_driver_and_hour(api, frozen_clock):
    campaign_id = open_campaign(api, frozen_clock)
    entries = f"/feedback-campaigns/{campaign_id}/entries"
    cap = quotas.CAPS["feedback_entries"]
    for _ in range(cap):
        assert api("post", entries, TAXI, ENTRY).status_code == 201
    assert_flood_refused(api("post", entries, TAXI, ENTRY))
    assert api("post", entries, OTHER_TAXI, ENTRY).status_code == 201
    assert api("get", f"/feedback-campaigns/{campaign_id}", ADMIN).json_body["entry_count"] == cap + 1
    frozen_clock.advance(hours=1)
    assert api("post", entries, TAXI, ENTRY).status_code == 201


def ride_with_driver(api, rider: str, driver: str) -> str:
    assert api("put", "/drivers/me", ("driver", driver), {"name": driver, "services": ["taxi"]}).status_code == 200
    assert api("post", "/drivers/me/status", ("driver", driver), {"status": "online", **CITY_HALL}).status_code == 200
    ride = api("post", "/rides", ("rider", rider), {"service": "taxi", "pickup": CITY_HALL, "dropoff": GANGNAM})
    assert ride.json_body["driver_id"] == driver, ride.body
    return ride.json_body["ride_id"]


def test_complaints_are_capped_per_rider_and_hour(api, frozen_clock):
    first, second = ride_with_driver(api, "rider-1", "driver-1"), ride_with_driver(api, "rider-2", "driver-2")
    complaint = {"category": "rude", "text": "shouted"}
    cap = quotas.CAPS["complaints"]
    for _ in range(cap):
        assert api("post", f"/rides/{first}/complaints", ("rider", "rider-1"), complaint).status_code == 201
    assert_flood_refused(api("post", f"/rides/{first}/complaints", ("rider", "rider-1"), complaint))
    assert api("get", "/drivers/me", ("driver", "driver-1")).json_body["complaint_count"] == cap
    assert api("post", f"/rides/{second}/complaints", ("rider", "rider-2"), complaint).status_code == 201
    frozen_clock.advance(hours=1)
    assert api("post", f"/rides/{first}/complaints", ("rider", "rider-1"), complaint).status_code == 201


def test_the_same_sub_in_another_role_has_its_own_cap(api, frozen_clock):
    """Identity is (role, sub): slots a rider `taxi-1` took are not driver `taxi-1`'s."""
    for _ in range(quotas.CAPS["inquiries"]):
        quotas.take("inquiries", Caller(sub="taxi-1", role="rider"), frozen_clock.now())
    assert api("post", "/inquiries", TAXI, INQUIRY).status_code == 201


def test_concurrent_requests_never_pass_the_cap(moto_server):
    """Many requests from one caller at once, each from its own thread (as separate Lambdas would be)."""
    cap, now = quotas.CAPS["inquiries"], datetime(2022, 10, 15, 6, 33, tzinfo=UTC)
    flooder, start = Caller(sub="flood-1", role="driver"), threading.Event()

    def one_inquiry() -> str:
        start.wait()
        try:
            quotas.take("inquiries", flooder, now)
        except TooManyRequests:
            return "429"
        return "taken"

    with ThreadPoolExecutor(8) as pool:
        futures = [pool.submit(one_inquiry) for _ in range(cap * 4)]
        start.set()
        outcomes = [future.result() for future in futures]
    assert outcomes.count("taken") == cap
    assert outcomes.count("429") == cap * 3
    assert int(quotas.QuotaCounter.get(quotas.counter_key("inquiries", flooder, now)).taken) == cap


@pytest.mark.parametrize("queue", sorted(quotas.CAPS))
def test_a_counter_expires_after_its_window(aws, queue):
    caller, now = Caller(sub="taxi-1", role="driver"), datetime(2022, 10, 15, 6, 33, tzinfo=UTC)
    quotas.take(queue, caller, now)
    counter = quotas.QuotaCounter.get(quotas.counter_key(queue, caller, now))
    assert counter.taken == 1
    assert counter.expires_at == datetime(2022, 10, 15, 9, tzinfo=UTC)
