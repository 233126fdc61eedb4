"""Pure driver rules: cells, fair ranking of candidates, and the rolling rating."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from chalicelib.drivers.rules import (
    MAX_RING,
    Candidate,
    area_of,
    cell_of,
    idle_key,
    rank_candidates,
    rolling_rating,
    search_areas,
)

GANGNAM = (37.4979, 127.0276)
T0 = datetime(2022, 10, 15, 6, 0, tzinfo=UTC)


def candidate(driver_id: str, lat: float, lng: float, idle_minutes: int) -> Candidate:
    return Candidate(driver_id, cell_of(lat, lng), T0 - timedelta(minutes=idle_minutes))


def test_the_nearest_ring_wins_over_a_longer_wait():
    pickup = cell_of(*GANGNAM)
    near = candidate("near", *GANGNAM, idle_minutes=1)
    far = candidate("far", GANGNAM[0] + 0.02, GANGNAM[1], idle_minutes=60)
    assert [c.driver_id for c in rank_candidates(pickup, [far, near], set())] == ["near", "far"]


def test_in_the_same_ring_the_longest_waiting_driver_goes_first():
    pickup = cell_of(*GANGNAM)
    ranked = rank_candidates(pickup, [candidate("a", *GANGNAM, 5), candidate("b", *GANGNAM, 30),
                                      candidate("c", *GANGNAM, 10)], set())
    assert [c.driver_id for c in ranked] == ["b", "c", "a"]


def test_excluded_and_too_distant_drivers_are_not_candidates():
    pickup = cell_of(*GANGNAM)
    busan = candidate("busan", 35.1796, 129.0756, 90)
    ranked = rank_candidates(pickup, [candidate("declined", *GANGNAM, 50), busan, candidate("ok", *GANGNAM, 1)],
                             {"declined"})
    assert [c.driver_id for c in ranked] == ["ok"]


def test_the_search_reaches_a_few_kilometres_and_no_further():
    pickup = cell_of(*GANGNAM)
    about_4km = candidate("4km", GANGNAM[0] + 0.036, GANGNAM[1], 1)
    about_9km = candidate("9km", GANGNAM[0] + 0.081, GANGNAM[1], 1)
    assert [c.driver_id for c in rank_candidates(pickup, [about_4km, about_9km], set())] == ["4km"]
    assert MAX_RING >= 4


def test_the_wide_search_starts_with_the_pickups_own_area_and_reads_at_most_two():
    pickup = cell_of(*GANGNAM)
    areas = search_areas(pickup)
    assert areas[0] == area_of(pickup)
    assert 1 <= len(areas) <= 2


def test_idle_keys_sort_as_the_waiting_order():
    earlier = idle_key(T0, "zzz")
    later = idle_key(T0 + timedelta(microseconds=1), "aaa")
    assert earlier < later


def test_a_rating_is_the_average_of_the_recent_stars_to_two_places():
    assert rolling_rating([], 5) == ([5], Decimal("5.00"))
    assert rolling_rating([5, 4], 4) == ([5, 4, 4], Decimal("4.33"))
    assert rolling_rating([5, 5], 4) == ([5, 5, 4], Decimal("4.67"))


def test_only_the_last_window_of_ratings_counts():
    recent = [1] + [5] * 49
    kept, average = rolling_rating(recent, 5)
    assert kept == [5] * 50
    assert average == Decimal("5.00")
    assert len(recent) == 50  # the caller's list is left alone
    assert rolling_rating([1, 2, 3], 4, window=3) == ([2, 3, 4], Decimal("3.00"))


@pytest.mark.parametrize("stars", [0, 6, -1, True])
def test_stars_outside_1_to_5_are_rejected(stars):
    with pytest.raises(ValueError, match="stars"):
        rolling_rating([5], stars)
