"""The fairness report: what dispatch did over a window, per affiliation cohort and trip length, from counters
kept by the offers, accepts, completions and drivers' availability themselves (never a scan of the rides)."""

from datetime import timedelta

import pytest

from tests.integration.actors import GANGNAM, SEOUL_CITY_HALL

AUDITOR, ADMIN = ("auditor", "council-1"), ("admin", "ops-1")
DAY = "from=2022-10-15T00:00:00Z&to=2022-10-16T00:00:00Z"
NEAR = {"lat": SEOUL_CITY_HALL["lat"] + 0.005, "lng": SEOUL_CITY_HALL["lng"]}          # ~0.6 km
ACROSS_TOWN = {"lat": SEOUL_CITY_HALL["lat"] + 0.03, "lng": SEOUL_CITY_HALL["lng"]}    # ~3.3 km: 1-5km
INCHEON = {"lat": 37.4563, "lng": 126.7052}                                             # ~26 km: >20km


def joined(api, sub: str, affiliation: str) -> None:
    assert api("put", "/drivers/me", ("driver", sub),
               {"name": sub, "services": ["taxi"], "affiliation": affiliation}).status_code == 200
    online = api("post", "/drivers/me/status", ("driver", sub), {"status": "online", **SEOUL_CITY_HALL})
    assert online.status_code == 200, online.body


def requested(api, dropoff: dict) -> dict:
    answer = api("post", "/rides", ("rider", "rider-1"), {"service": "taxi", "pickup": SEOUL_CITY_HALL,
                                                          "dropoff": dropoff})
    assert answer.status_code == 201, answer.body
    return answer.json_body


def act(api, clock, driver: str, ride_id: str, *steps: str) -> dict:
    """The driver takes each step ten seconds after the last (an offer lasts 15 s); the last answer."""
    for step in steps:
        clock.advance(seconds=10)
        body = {"distance_m": 3000, "duration_s": 600} if step == "complete" else None
        answer = api("post", f"/rides/{ride_id}/{step}", ("driver", driver), body)
        assert answer.status_code == 200, (step, answer.body)
    return answer.json_body


def report(api, query: str = DAY, who=AUDITOR) -> dict:
    answer = api("get", f"/dispatch/fairness?{query}&service=taxi", who)
    assert answer.status_code == 200, answer.body
    return answer.json_body


@pytest.fixture
def a_morning(api, frozen_clock):
    """Two drivers of two affiliations, four rides of four lengths: two declines, three accepts, two completions,
    and one ride nobody could be offered."""
    clock = frozen_clock
    joined(api, "blue-1", "Kakao T Blue")                                    # 06:33:00
    clock.advance(minutes=1)
    joined(api, "indie-1", "independent")                                    # 06:34:00
    clock.advance(minutes=1)
    long_ride = requested(api, GANGNAM)                                      # 06:35:00 -> blue-1 (waited longer)
    assert long_ride["driver_id"] == "blue-1"                                # blue-1 was available 120 s
    assert act(api, clock, "blue-1", long_ride["ride_id"], "decline")["driver_id"] == "indie-1"  # indie-1: 70 s
    act(api, clock, "indie-1", long_ride["ride_id"], "accept", "arrive", "start", "complete")    # 06:35:50
    clock.advance(minutes=1)
    short_ride = requested(api, NEAR)                                        # 06:36:50 -> blue-1 (since 06:35:10)
    assert short_ride["driver_id"] == "blue-1"                               # blue-1: 100 s
    act(api, clock, "blue-1", short_ride["ride_id"], "accept", "arrive", "start", "complete")    # 06:37:30
    clock.advance(minutes=1)
    middle_ride = requested(api, ACROSS_TOWN)                                # 06:38:30 -> indie-1 (since 06:35:50)
    assert middle_ride["driver_id"] == "indie-1"                             # indie-1: 160 s
    assert act(api, clock, "indie-1", middle_ride["ride_id"], "decline")["driver_id"] == "blue-1"  # blue-1: 70 s
    act(api, clock, "blue-1", middle_ride["ride_id"], "accept")             # never completed
    clock.advance(minutes=1)
    assert api("post", "/drivers/me/status", ("driver", "indie-1"),
               {"status": "offline", **SEOUL_CITY_HALL}).status_code == 200  # 06:39:50, indie-1: 70 s
    clock.advance(minutes=1)
    assert requested(api, INCHEON)["status"] == "searching"                  # nobody available


def test_the_report_counts_what_dispatch_did_per_cohort_and_trip_length(api, a_morning):
    shown = report(api)

    assert (shown["from"], shown["to"], shown["service"]) == ("2022-10-15T00:00:00Z", "2022-10-16T00:00:00Z", "taxi")
    assert shown["decisions"] == 5
    assert shown["passed_over_nearer"] == 0
    assert shown["cohorts"] == [
        {"affiliation": "Kakao T Blue", "drivers": 1, "available_minutes": (120 + 100 + 70) // 60,
         "available_share": 0.4444,
         "offers": 3, "offer_share": 0.6, "accepted": 2, "completed": 1},
        {"affiliation": "independent", "drivers": 1, "available_minutes": (70 + 160 + 70) // 60,
         "available_share": 0.5556,
         "offers": 2, "offer_share": 0.4, "accepted": 1, "completed": 1},
    ]
    assert shown["by_trip_length"] == [
        {"band": "<1km", "requests": 1, "offered": 1, "offer_rate": 1.0},
        {"band": "1-5km", "requests": 1, "offered": 1, "offer_rate": 1.0},
        {"band": "5-20km", "requests": 1, "offered": 1, "offer_rate": 1.0},
        {"band": ">20km", "requests": 1, "offered": 0, "offer_rate": 0.0},
    ]


def test_a_window_counts_only_its_own_hours_and_service(api, a_morning):
    later = report(api, "from=2022-10-15T07:00:00Z&to=2022-10-15T09:00:00Z")
    assert later["decisions"] == 0
    assert later["cohorts"] == []
    assert [b["requests"] for b in later["by_trip_length"]] == [0, 0, 0, 0]
    designated = api("get", f"/dispatch/fairness?{DAY}&service=designated", ADMIN).json_body
    assert designated["decisions"] == 0
    hour = report(api, "from=2022-10-15T06:30:00Z&to=2022-10-15T06:50:00Z", ADMIN)
    assert (hour["from"], hour["to"], hour["decisions"]) == ("2022-10-15T06:00:00Z", "2022-10-15T07:00:00Z", 5)


def test_only_admins_and_auditors_read_the_report(api):
    for who in (AUDITOR, ADMIN):
        assert api("get", f"/dispatch/fairness?{DAY}&service=taxi", who).status_code == 200
    for who in (("driver", "blue-1"), ("rider", "rider-1")):
        assert api("get", f"/dispatch/fairness?{DAY}&service=taxi", who).status_code == 403


@pytest.mark.parametrize(("query", "field"), [
    ("from=2022-10-16T00:00:00Z&to=2022-10-15T00:00:00Z&service=taxi", "to"),
    ("from=2022-10-15T00:00:00Z&to=2023-01-17T00:00:00Z&service=taxi", "to"),     # 94 days
    ("from=yesterday&to=2022-10-15T00:00:00Z&service=taxi", "from"),
    ("from=2022-10-15T00:00:00Z&to=2022-10-16T00:00:00Z&service=bus", "service"),
    ("from=2022-10-15T00:00:00Z&to=2022-10-16T00:00:00Z", "service"),
])
def test_a_bad_window_or_service_is_a_400_naming_the_field(api, query, field):
    answer = api("get", f"/dispatch/fairness?{query}", AUDITOR)
    assert answer.status_code == 400, answer.body
    assert field in answer.body.decode()


def test_a_completion_that_is_the_drivers_first_availability_of_the_day_counts_both(aws, frozen_clock):
    """Completing a ride frees the driver: on their first time that day both counters share one transaction,
    even when the driver's and the ride's counter shards are the same (DynamoDB refuses two writes of one item)."""
    from chalicelib.core.dynamo import transaction
    from chalicelib.rides import fairness
    from chalicelib.rides.models import Ride

    now = frozen_clock.now()
    ride_id = next(f"ride-{n}" for n in range(100) if fairness.shard_of(f"ride-{n}") == fairness.shard_of("blue-1"))
    done = Ride(ride_id, service="taxi", driver_affiliation="Kakao T Blue")
    with transaction() as tx:
        fairness.active_in(tx, "blue-1", {"taxi"}, "Kakao T Blue", now)
        fairness.outcome_in(tx, done, "completed", now)

    [cohort] = fairness.report("taxi", now, now + timedelta(hours=1))["cohorts"]
    assert (cohort["affiliation"], cohort["drivers"], cohort["completed"]) == ("Kakao T Blue", 1, 1)
