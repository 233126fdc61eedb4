from datetime import UTC, datetime, timedelta, timezone

import pytest

from chalicelib.core.clock import FrozenClock, as_utc, iso
from chalicelib.core.ids import new_id

FIRE = datetime(2022, 10, 15, 6, 33, tzinfo=UTC)


def test_ids_carry_their_prefix_and_sort_by_creation_time():
    earlier = new_id("ride", FIRE)
    later = new_id("ride", FIRE + timedelta(milliseconds=1))
    assert earlier.startswith("ride_")
    assert later.startswith("ride_")
    assert earlier < later


def test_ids_made_in_the_same_millisecond_are_distinct():
    assert len({new_id("claim", FIRE) for _ in range(1000)}) == 1000


def test_times_are_written_as_utc_iso_with_a_z():
    seoul = timezone(timedelta(hours=9))
    assert iso(datetime(2022, 10, 15, 15, 33, tzinfo=seoul)) == "2022-10-15T06:33:00Z"
    assert iso(FIRE.replace(microsecond=250_000)) == "2022-10-15T06:33:00.250Z"


def test_a_naive_time_is_refused_rather_than_guessed():
    with pytest.raises(ValueError, match="naive"):
        as_utc(datetime(2022, 10, 15, 6, 33))


def test_a_frozen_clock_moves_only_when_told():
    clock = FrozenClock(FIRE)
    assert clock.now() == FIRE
    assert clock.advance(minutes=3) == FIRE + timedelta(minutes=3)
    assert clock.now() == FIRE + timedelta(minutes=3)
