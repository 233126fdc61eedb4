"""Per-caller hourly caps on the queues people answer by hand: inquiries, complaints, feedback entries.

Each (queue, role, sub) gets a counter per fixed UTC hour. Taking a slot is one conditional UpdateItem
(`ADD taken 1` only while `taken < cap`), so concurrent requests can never pass the cap between them:
there is no read-then-write. Past the cap the caller gets a 429 whose `Retry-After` is the time left
until the hour ends. Counters expire (TTL) a couple of hours after their window.

The caps sit far above what a person does and far below a flood: a driver with a real problem writes an
inquiry or two in an hour, a rider rides (and so may complain about) a few rides an hour, and a campaign
gets a handful of answers from one driver; a script sends hundreds in seconds, each landing on an
operator's desk. Feedback entries get more room because a driver may answer several open campaigns.
"""

import math
from datetime import datetime, timedelta

from pynamodb.attributes import NumberAttribute, TTLAttribute, UnicodeAttribute
from pynamodb.exceptions import UpdateError
from pynamodb.models import Model

from chalicelib.core.auth import Caller
from chalicelib.core.clock import as_utc
from chalicelib.core.dynamo import TableMeta, failed_on_condition
from chalicelib.core.errors import TooManyRequests

CAPS = {"inquiries": 10, "complaints": 10, "feedback_entries": 20}
WINDOW = timedelta(hours=1)
KEPT_AFTER_WINDOW = timedelta(hours=2)


class QuotaCounter(Model):
    """How many slots one caller took from one queue in one UTC hour."""

    class Meta(TableMeta):
        table_setting = "quotas_table"

    counter_key = UnicodeAttribute(hash_key=True)
    taken = NumberAttribute(null=True)
    expires_at = TTLAttribute(null=True)


def take(queue: str, caller: Caller, now: datetime) -> None:
    """Take one of `caller`'s slots on `queue` for the hour of `now`; 429 `TooManyRequests` past the cap."""
    cap = CAPS[queue]
    counter = QuotaCounter(counter_key(queue, caller, now))
    try:
        counter.update(condition=QuotaCounter.taken.does_not_exist() | (QuotaCounter.taken < cap),
                       actions=[QuotaCounter.taken.add(1), QuotaCounter.expires_at.set(expiry(now))])
    except UpdateError as exc:
        if not failed_on_condition(exc):
            raise
        raise TooManyRequests(f"at most {cap} {queue.replace('_', ' ')} an hour; try again later",
                              retry_after_s=seconds_left(now)) from exc


def window_start(now: datetime) -> datetime:
    """The start of the UTC hour `now` falls in."""
    return as_utc(now).replace(minute=0, second=0, microsecond=0)


def window_end(now: datetime) -> datetime:
    """The start of the next UTC hour: when a caller's slots come back."""
    return window_start(now) + WINDOW


def seconds_left(now: datetime) -> int:
    """Whole seconds until the window of `now` ends, rounded up and at least 1 (a `Retry-After`)."""
    return max(1, math.ceil((window_end(now) - as_utc(now)).total_seconds()))


def expiry(now: datetime) -> datetime:
    """When the counter of `now`'s window may be deleted: a couple of hours after the window ends."""
    return window_end(now) + KEPT_AFTER_WINDOW


def counter_key(queue: str, caller: Caller, now: datetime) -> str:
    """The counter of (queue, hour, role, sub); the sub goes last, so a `#` in it cannot make two keys meet."""
    return f"{queue}#{window_start(now).strftime('%Y-%m-%dT%H')}#{caller.role}#{caller.sub}"
