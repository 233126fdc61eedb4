"""The window arithmetic of the hourly caps: fixed UTC hours, `Retry-After` to the next hour, counter keys."""

from datetime import UTC, datetime, timedelta, timezone

from chalicelib.core.auth import Caller
from chalicelib.core.quotas import CAPS, counter_key, expiry, seconds_left, window_end, window_start

FIRE = datetime(2022, 10, 15, 6, 33, tzinfo=UTC)
SEOUL = timezone(timedelta(hours=9))
DRIVER = Caller(sub="taxi-1", role="driver")


def test_a_window_is_the_utc_hour_whatever_the_offset_of_now():
    seoul_time = datetime(2022, 10, 15, 15, 33, 12, 345, tzinfo=SEOUL)
    assert window_start(seoul_time) == datetime(2022, 10, 15, 6, tzinfo=UTC)
    assert window_end(seoul_time) == datetime(2022, 10, 15, 7, tzinfo=UTC)


def test_retry_after_counts_whole_seconds_to_the_next_hour_rounded_up():
    assert seconds_left(FIRE) == 27 * 60
    assert seconds_left(FIRE.replace(minute=59, second=59, microsecond=1)) == 1
    assert seconds_left(FIRE.replace(minute=59, second=58, microsecond=500_000)) == 2
    assert seconds_left(FIRE.replace(minute=0)) == 3600


def test_an_hour_boundary_starts_a_new_window():
    assert window_start(FIRE.replace(minute=59, second=59, microsecond=999_999)) == FIRE.replace(minute=0)
    assert window_start(FIRE.replace(hour=7, minute=0)) == FIRE.replace(hour=7, minute=0)
    assert window_end(datetime(2022, 12, 31, 23, 30, tzinfo=UTC)) == datetime(2023, 1, 1, tzinfo=UTC)


def test_a_counter_lives_a_couple_of_hours_past_its_window():
    assert expiry(FIRE) == datetime(2022, 10, 15, 9, tzinfo=UTC)


def test_counters_are_per_queue_hour_role_and_caller():
    keys = {
        counter_key("inquiries", DRIVER, FIRE),
        counter_key("inquiries", DRIVER, FIRE + timedelta(hours=1)),
        counter_key("complaints", DRIVER, FIRE),
        counter_key("inquiries", Caller(sub="taxi-1", role="rider"), FIRE),
        counter_key("inquiries", Caller(sub="taxi-2", role="driver"), FIRE),
    }
    assert len(keys) == 5
    assert counter_key("inquiries", DRIVER, FIRE) == counter_key("inquiries", DRIVER, FIRE.replace(minute=59))


def test_every_human_queue_has_a_cap_above_what_a_person_sends():
    assert set(CAPS) == {"inquiries", "complaints", "feedback_entries"}
    assert all(5 <= cap <= 50 for cap in CAPS.values())
