"""Pure rules of driver notices: their life and inquiries', who a notice is for, the cadence, quality follow-up."""

from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from enum import StrEnum

from chalicelib.core.errors import Conflict
from chalicelib.core.states import Moves

CADENCE_MIN_PER_WEEK = 2     # the platform promised drivers at least two official notices a week
CADENCE_WINDOW = timedelta(days=7)
ANSWERED_ALREADY = "this inquiry is answered already"


class NoticeStatus(StrEnum):
    SCHEDULED = "scheduled"
    PUBLISHED = "published"


class InquiryStatus(StrEnum):
    OPEN = "open"
    ANSWERED = "answered"


# action -> (status it may be taken from, status it leads to): each machine moves one way, once
NOTICE_MOVES = Moves(NoticeStatus, {"publish": ({NoticeStatus.SCHEDULED}, NoticeStatus.PUBLISHED)})
INQUIRY_MOVES = Moves(InquiryStatus, {"answer": ({InquiryStatus.OPEN}, InquiryStatus.ANSWERED)})


class IllegalTransition(Conflict):
    """An action that the notice's or inquiry's current status does not allow (HTTP 409)."""


class InquiryAnswered(IllegalTransition):
    """The inquiry has its answer already (HTTP 409)."""

    def __init__(self) -> None:
        super().__init__(ANSWERED_ALREADY)


def next_notice_status(current: NoticeStatus | str, action: str) -> NoticeStatus:
    """The status a notice in `current` moves to on `action`; IllegalTransition if not allowed."""
    target = NOTICE_MOVES.after(current, action)
    if target is None:
        raise IllegalTransition(f"this notice is {current} already")
    return target


def next_inquiry_status(current: InquiryStatus | str, action: str) -> InquiryStatus:
    """The status an inquiry in `current` moves to on `action`; InquiryAnswered if it has its answer."""
    target = INQUIRY_MOVES.after(current, action)
    if target is None:
        raise InquiryAnswered()
    return target


@dataclass(frozen=True)
class Audience:
    """Who a notice is for: None means everyone on that axis; `driver_id` makes it personal."""

    services: frozenset[str] | None = None
    region: str | None = None
    driver_id: str | None = None


@dataclass(frozen=True)
class Reader:
    """A driver as notices see them."""

    driver_id: str
    services: frozenset[str]
    region: str | None


def is_for(audience: Audience, reader: Reader) -> bool:
    """True when the notice is meant for this driver."""
    if audience.driver_id is not None:
        return audience.driver_id == reader.driver_id
    if audience.services is not None and not (audience.services & reader.services):
        return False
    return audience.region is None or audience.region == reader.region


def due(publish_at: datetime | None, now: datetime) -> bool:
    """A notice without a time, or whose time has come, is published."""
    return publish_at is None or publish_at <= now


def cadence_ok(published_in_last_week: int) -> bool:
    """At least two official notices in the last seven days."""
    return published_in_last_week >= CADENCE_MIN_PER_WEEK


def weekly_counts(published_at: list[datetime], now: datetime, weeks: int) -> list[dict]:
    """Official notices per 7-day window, newest window first (window 0 ends at `now`)."""
    counts = Counter(int((now - at) / CADENCE_WINDOW) for at in published_at if at <= now)
    return [{"week_ending": now - CADENCE_WINDOW * week, "published": counts.get(week, 0),
             "meets_cadence": cadence_ok(counts.get(week, 0))} for week in range(weeks)]


@dataclass(frozen=True)
class QualityBar:
    """When a driver's service quality needs a follow-up (config)."""

    min_rating: Decimal = Decimal("4.0")
    min_ratings: int = 5          # a rating below the bar counts only after this many ratings
    max_complaints: int = 3
    period_days: int = 30


def quality_concern(rating: Decimal | None, rating_count: int, complaints: int, bar: QualityBar) -> str | None:
    """Why the driver needs an education notice, or None when quality is fine."""
    if rating is not None and rating_count >= bar.min_ratings and rating < bar.min_rating:
        return f"rating {rating} is below {bar.min_rating}"
    if complaints > bar.max_complaints:
        return f"{complaints} complaints is more than {bar.max_complaints}"
    return None


def quality_period(now: datetime, bar: QualityBar) -> int:
    """The follow-up period `now` falls in: at most one education notice per driver per period."""
    return int(now.timestamp() // (bar.period_days * 86400))
