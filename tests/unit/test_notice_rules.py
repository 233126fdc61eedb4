"""Pure notice rules: audiences, the weekly cadence and when quality needs a follow-up."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from chalicelib.notices.rules import (
    Audience,
    QualityBar,
    Reader,
    cadence_ok,
    due,
    is_for,
    quality_concern,
    quality_period,
    weekly_counts,
)

NOW = datetime(2022, 10, 17, 0, 0, tzinfo=UTC)
SEOUL_TAXI = Reader("d1", frozenset({"taxi"}), "seoul")


@pytest.mark.parametrize(("audience", "expected"), [
    (Audience(), True),
    (Audience(services=frozenset({"taxi"})), True),
    (Audience(services=frozenset({"designated"})), False),
    (Audience(services=frozenset({"taxi", "designated"}), region="seoul"), True),
    (Audience(region="busan"), False),
    (Audience(driver_id="d1"), True),
    (Audience(driver_id="d2"), False),
])
def test_a_notice_reaches_the_drivers_of_its_audience(audience, expected):
    assert is_for(audience, SEOUL_TAXI) is expected


def test_a_notice_is_due_at_its_time_not_before():
    assert due(None, NOW)
    assert due(NOW, NOW)
    assert not due(NOW + timedelta(seconds=1), NOW)


def test_two_notices_a_week_keep_the_promise():
    assert not cadence_ok(1)
    assert cadence_ok(2)


def test_weekly_counts_put_each_notice_in_its_seven_day_window():
    published = [NOW - timedelta(days=1), NOW - timedelta(days=6, hours=23), NOW - timedelta(days=7),
                 NOW - timedelta(days=20)]
    weeks = weekly_counts(published, NOW, weeks=3)
    assert [w["published"] for w in weeks] == [2, 1, 1]
    assert [w["meets_cadence"] for w in weeks] == [True, False, False]


BAR = QualityBar(min_rating=Decimal("4.0"), min_ratings=5, max_complaints=3, period_days=30)


def test_a_low_rating_counts_only_after_enough_ratings():
    assert quality_concern(Decimal("3.2"), 4, 0, BAR) is None
    assert "rating" in quality_concern(Decimal("3.2"), 5, 0, BAR)
    assert quality_concern(Decimal("4.0"), 50, 0, BAR) is None


def test_complaints_beyond_the_limit_need_a_follow_up():
    assert quality_concern(None, 0, 3, BAR) is None
    assert "complaints" in quality_concern(None, 0, 4, BAR)


def test_periods_change_every_period_days():
    start = datetime.fromtimestamp(30 * 86400 * 640, tz=UTC)
    assert quality_period(start, BAR) == quality_period(start + timedelta(days=29, hours=23), BAR)
    assert quality_period(start + timedelta(days=30), BAR) == quality_period(start, BAR) + 1
