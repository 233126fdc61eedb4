import json
from dataclasses import asdict
from datetime import UTC, datetime
from decimal import Decimal
from itertools import product
from pathlib import Path

import pytest

from chalicelib.core.errors import Conflict
from chalicelib.rides.rules import (
    CANCELLABLE,
    FINISHED,
    WITH_DRIVER,
    DesignatedTariff,
    IllegalTransition,
    RideStatus,
    Tariffs,
    TaxiTariff,
    designated_fare,
    estimate_fare,
    final_fare,
    haversine_m,
    is_late_night,
    next_status,
    taxi_fare,
)

TARIFFS_JSON = Path(__file__).resolve().parents[2] / "chalicelib" / "rides" / "tariffs.json"
TAXI = TaxiTariff()
DESIGNATED = DesignatedTariff()
TARIFFS = Tariffs(taxi=TAXI, designated=DESIGNATED)
NOON_KST = datetime(2024, 5, 1, 3, 0, tzinfo=UTC)  # 12:00 KST
CITY_HALL = (37.5663, 126.9779)
GANGNAM_STATION = (37.4979, 127.0276)
YEOUIDO = (37.5219, 126.9245)


def utc(hour: int, minute: int = 0) -> datetime:
    return datetime(2024, 5, 1, hour, minute, tzinfo=UTC)


def day_taxi_fare(distance_m: int, duration_s: int = 0) -> int:
    return taxi_fare(distance_m, duration_s, NOON_KST, TAXI).fare_krw


# --- status machine ---------------------------------------------------------------------------

LEGAL = {
    ("searching", "offer"): "offered",
    ("offered", "decline"): "searching",
    ("offered", "offer_expired"): "searching",
    ("offered", "accept"): "accepted",
    ("accepted", "arrive"): "arrived",
    ("arrived", "start"): "in_progress",
    ("in_progress", "complete"): "completed",
    ("searching", "cancel"): "cancelled",
    ("offered", "cancel"): "cancelled",
    ("accepted", "cancel"): "cancelled",
    ("arrived", "cancel"): "cancelled",
    ("searching", "expire"): "expired",
    ("offered", "expire"): "expired",
}
ACTIONS = sorted({action for _, action in LEGAL})
ILLEGAL = sorted(set(product([s.value for s in RideStatus], ACTIONS)) - set(LEGAL))


@pytest.mark.parametrize(("current", "action"), list(LEGAL))
def test_every_legal_action_moves_the_ride_to_its_next_status(current, action):
    assert next_status(current, action) == RideStatus(LEGAL[current, action])
    assert next_status(RideStatus(current), action) == RideStatus(LEGAL[current, action])


@pytest.mark.parametrize(("current", "action"), ILLEGAL)
def test_every_other_action_status_pair_is_an_illegal_transition(current, action):
    with pytest.raises(IllegalTransition):
        next_status(current, action)


def test_accepting_a_completed_ride_is_a_conflict_that_says_why():
    with pytest.raises(IllegalTransition, match="cannot accept a ride that is completed") as caught:
        next_status(RideStatus.COMPLETED, "accept")
    assert isinstance(caught.value, Conflict)
    assert caught.value.status == 409


def test_a_ride_in_progress_can_no_longer_be_cancelled():
    with pytest.raises(IllegalTransition, match="cannot cancel a ride that is in_progress"):
        next_status("in_progress", "cancel")


@pytest.mark.parametrize("action", ["teleport", "", "CANCEL"])
def test_an_unknown_action_is_an_illegal_transition(action):
    with pytest.raises(IllegalTransition):
        next_status("searching", action)


def test_the_status_groups_name_exactly_their_statuses():
    assert {s.value for s in WITH_DRIVER} == {"offered", "accepted", "arrived", "in_progress"}
    assert {s.value for s in CANCELLABLE} == {"searching", "offered", "accepted", "arrived"}
    assert {s.value for s in FINISHED} == {"completed", "cancelled", "expired"}


# --- taxi fare --------------------------------------------------------------------------------

@pytest.mark.parametrize("distance_m", [0, 1, 1599, 1600])
def test_a_taxi_ride_within_the_base_distance_pays_the_base_fare(distance_m):
    assert day_taxi_fare(distance_m) == 4800


def test_the_first_metre_beyond_the_base_distance_adds_one_distance_unit():
    assert day_taxi_fare(1601) == 4900


def test_exactly_131_m_beyond_the_base_distance_is_one_unit_and_132_m_is_two():
    assert day_taxi_fare(1600 + 131) == 4900
    assert day_taxi_fare(1600 + 132) == 5000


def test_the_time_charge_applies_only_to_time_driven_below_the_slow_speed():
    # 10 km takes 2400 s at 15 km/h
    fast_ride = day_taxi_fare(10_000, duration_s=1200)
    traffic_jam = day_taxi_fare(10_000, duration_s=3000)  # 600 s slow -> 20 units
    assert fast_ride == day_taxi_fare(10_000, duration_s=2400)
    assert traffic_jam == fast_ride + 20 * 100


def test_only_full_time_units_are_charged():
    # 1600 m takes 384 s at 15 km/h
    assert day_taxi_fare(1600, duration_s=384 + 29) == 4800
    assert day_taxi_fare(1600, duration_s=384 + 30) == 4900
    assert day_taxi_fare(1600, duration_s=384 + 59) == 4900
    assert day_taxi_fare(1600, duration_s=384 + 60) == 5000


@pytest.mark.parametrize(("at", "night"), [
    (utc(12, 59), False),  # 21:59 KST
    (utc(13, 0), True),  # 22:00 KST
    (utc(15, 0), True),  # 00:00 KST
    (utc(18, 59), True),  # 03:59 KST
    (utc(19, 0), False),  # 04:00 KST
])
def test_the_taxi_night_surcharge_runs_from_22_00_to_04_00_kst(at, night):
    fare = taxi_fare(1000, 0, at, TAXI).fare_krw
    assert fare == (5800 if night else 4800)  # 4800 + 20% = 5760, rounded up


def test_the_fare_is_rounded_up_to_the_rounding_unit():
    assert taxi_fare(1601, 0, NOON_KST, TaxiTariff(rounding_krw=1000)).fare_krw == 5000
    assert taxi_fare(1600, 0, NOON_KST, TaxiTariff(rounding_krw=1000)).fare_krw == 5000
    assert taxi_fare(1600, 0, NOON_KST, TaxiTariff(base_fare_krw=4801)).fare_krw == 4900


def test_the_taxi_commission_is_3_percent_and_the_driver_gets_the_rest():
    fare = taxi_fare(1600, 0, NOON_KST, TAXI)
    assert (fare.fare_krw, fare.commission_krw, fare.driver_payout_krw) == (4800, 144, 4656)


@pytest.mark.parametrize(("distance_m", "duration_s"), [(-1, 0), (0, -1)])
def test_a_negative_distance_or_duration_is_rejected(distance_m, duration_s):
    with pytest.raises(ValueError, match="negative"):
        taxi_fare(distance_m, duration_s, NOON_KST, TAXI)
    with pytest.raises(ValueError, match="negative"):
        final_fare("designated", distance_m, duration_s, NOON_KST, TARIFFS)


def test_a_naive_start_time_is_rejected():
    with pytest.raises(ValueError, match="timezone-aware"):
        taxi_fare(1000, 0, datetime(2024, 5, 1, 12, 0), TAXI)
    with pytest.raises(ValueError, match="timezone-aware"):
        is_late_night(datetime(2024, 5, 1, 23, 0), 22, 4)


# --- designated driver fare -------------------------------------------------------------------

@pytest.mark.parametrize(("distance_m", "expected"), [
    (0, 15000), (5000, 15000), (5001, 16000), (6000, 16000), (6001, 17000),
])
def test_a_designated_ride_pays_per_started_km_beyond_5_km(distance_m, expected):
    assert designated_fare(distance_m, NOON_KST, DESIGNATED).fare_krw == expected


@pytest.mark.parametrize(("at", "night"), [
    (utc(12, 59), False),  # 21:59 KST
    (utc(13, 0), True),  # 22:00 KST
    (utc(20, 59), True),  # 05:59 KST
    (utc(21, 0), False),  # 06:00 KST
])
def test_the_designated_night_surcharge_runs_from_22_00_to_06_00_kst(at, night):
    assert designated_fare(5000, at, DESIGNATED).fare_krw == (18000 if night else 15000)


def test_a_designated_night_fare_is_rounded_up_to_1000_won():
    assert designated_fare(5001, utc(14, 0), DESIGNATED).fare_krw == 20000  # 16000 + 20% = 19200


@pytest.mark.parametrize("distance_m", [5000, 5001, 12_345, 40_000])
def test_the_designated_commission_is_exactly_20_percent_and_the_driver_gets_the_rest(distance_m):
    fare = designated_fare(distance_m, NOON_KST, DESIGNATED)
    assert fare.commission_krw * 5 == fare.fare_krw
    assert fare.driver_payout_krw == fare.fare_krw - fare.commission_krw


def test_driving_insurance_is_paid_by_the_platform():
    fare = final_fare("designated", 8000, 900, NOON_KST, TARIFFS)
    assert fare.insurance_paid_by == "platform"
    assert fare.as_dict() == {"fare_krw": 18000, "commission_krw": 3600, "driver_payout_krw": 14400,
                              "insurance_paid_by": "platform"}


def test_the_final_fare_uses_the_tariff_of_the_service():
    assert final_fare("taxi", 1601, 0, NOON_KST, TARIFFS).fare_krw == 4900
    assert final_fare("designated", 5001, 0, NOON_KST, TARIFFS).fare_krw == 16000
    with pytest.raises(ValueError, match="unknown service"):
        final_fare("helicopter", 1000, 0, NOON_KST, TARIFFS)


# --- estimates --------------------------------------------------------------------------------

def test_one_degree_of_latitude_is_about_111_km():
    assert haversine_m((37.0, 127.0), (38.0, 127.0)) == pytest.approx(111_195, rel=1e-3)
    assert haversine_m(CITY_HALL, CITY_HALL) == 0


def test_an_estimate_grows_with_distance():
    near = estimate_fare("taxi", CITY_HALL, (37.5700, 126.9830), NOON_KST, TARIFFS)
    mid = estimate_fare("taxi", CITY_HALL, YEOUIDO, NOON_KST, TARIFFS)
    far = estimate_fare("taxi", CITY_HALL, GANGNAM_STATION, NOON_KST, TARIFFS)
    assert near < mid < far


def test_a_10_km_seoul_taxi_trip_is_estimated_at_a_plausible_fare():
    straight_m = haversine_m(CITY_HALL, GANGNAM_STATION)
    assert 8_000 < straight_m < 10_000
    estimate = estimate_fare("taxi", CITY_HALL, GANGNAM_STATION, NOON_KST, TARIFFS)
    assert 10_000 <= estimate <= 20_000
    assert estimate % 100 == 0


def test_an_estimate_is_the_final_fare_of_the_detoured_distance_at_the_assumed_speed():
    road_m = round(haversine_m(CITY_HALL, GANGNAM_STATION) * 1.3)
    duration_s = road_m * 3600 // 25_000 + 1
    for service in ("taxi", "designated"):
        expected = final_fare(service, road_m, duration_s, utc(14, 0), TARIFFS).fare_krw
        assert estimate_fare(service, CITY_HALL, GANGNAM_STATION, utc(14, 0), TARIFFS) == expected


def test_a_slower_assumed_speed_adds_a_time_charge_to_the_taxi_estimate():
    slow_city = Tariffs(taxi=TAXI, designated=DESIGNATED, estimate_speed_kmh=10)
    normal = estimate_fare("taxi", CITY_HALL, GANGNAM_STATION, NOON_KST, TARIFFS)
    assert estimate_fare("taxi", CITY_HALL, GANGNAM_STATION, NOON_KST, slow_city) > normal


def test_an_estimate_for_an_unknown_service_is_rejected():
    with pytest.raises(ValueError, match="unknown service"):
        estimate_fare("bus", CITY_HALL, YEOUIDO, NOON_KST, TARIFFS)


# --- tariffs as data --------------------------------------------------------------------------

def test_the_tariffs_file_holds_exactly_the_default_tariffs():
    data = json.loads(TARIFFS_JSON.read_text())
    assert Tariffs.from_dict(data) == TARIFFS
    assert data["taxi"] == asdict(TaxiTariff())
    assert data["designated"] == asdict(DesignatedTariff())
    assert Decimal(data["detour_factor"]) == Decimal("1.3")


def test_missing_tariff_keys_keep_their_defaults():
    tariffs = Tariffs.from_dict({"taxi": {"base_fare_krw": 5000}, "detour_factor": "1.4"})
    assert tariffs.taxi == TaxiTariff(base_fare_krw=5000)
    assert tariffs.designated == DESIGNATED
    assert tariffs.detour_factor == Decimal("1.4")
    assert tariffs.estimate_speed_kmh == 25
    assert Tariffs.from_dict({}) == TARIFFS


@pytest.mark.parametrize("data", [
    {"bus": {}},
    {"taxi": {"base_fare": 4800}},
    {"designated": {"night_surcharge": 20}},
    {"taxi": {"base_fare_krw": "4800"}},
    {"taxi": {"base_fare_krw": 4800.5}},
    {"estimate_speed_kmh": 0},
])
def test_tariffs_with_unknown_keys_or_non_integer_values_are_rejected(data):
    with pytest.raises(ValueError, match=r"unknown|integer"):
        Tariffs.from_dict(data)
