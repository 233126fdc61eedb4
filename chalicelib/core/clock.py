"""Time, from one place that tests can move.

Rules never read the clock: services call `now()` once and pass the value down.
"""

from datetime import UTC, datetime, timedelta


class SystemClock:
    """The real clock, in UTC."""

    def now(self) -> datetime:
        return datetime.now(UTC)


class FrozenClock:
    """A clock that stands still until a test moves it."""

    def __init__(self, start: datetime):
        self._now = as_utc(start)

    def now(self) -> datetime:
        return self._now

    def advance(self, **delta: float) -> datetime:
        """Move forward by `timedelta(**delta)` and return the new time."""
        self._now += timedelta(**delta)
        return self._now

    def set(self, moment: datetime) -> None:
        self._now = as_utc(moment)


_clock: SystemClock | FrozenClock = SystemClock()


def now() -> datetime:
    """The current time, timezone-aware UTC."""
    return _clock.now()


def current_clock() -> SystemClock | FrozenClock:
    """The clock `now()` reads (the local scheduler pauses while it is a stopped one)."""
    return _clock


def use_clock(clock: SystemClock | FrozenClock) -> None:
    """Swap the process clock (tests and the demo's replayed day)."""
    global _clock
    _clock = clock


def as_utc(moment: datetime) -> datetime:
    """`moment` in UTC; a naive time is refused rather than guessed."""
    if moment.tzinfo is None:
        raise ValueError("naive datetime: times must carry a timezone")
    return moment.astimezone(UTC)


def iso(moment: datetime) -> str:
    """UTC ISO-8601 as API.md writes it: `2022-10-15T06:33:00Z` (milliseconds only when present)."""
    moment = as_utc(moment)
    if moment.microsecond:
        return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")
    return moment.isoformat(timespec="seconds").replace("+00:00", "Z")


def sort_key(moment: datetime) -> str:
    """`moment` as fixed-width UTC text (microseconds always), for DynamoDB keys that must sort by time.

    `iso()` drops zero milliseconds, and "07:00:00.250Z" sorts before "07:00:00Z": never use it in a key.
    """
    return as_utc(moment).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
