"""Uptime of the last 90 days per component, from the windows its incidents took it down.

Pure: no AWS, no I/O, no clock; `now` is passed in. Days are calendar days in Korea (KST), as people read them.
"""

import math
from collections.abc import Iterable
from datetime import datetime, time, timedelta
from enum import StrEnum

from chalicelib.core.pages import KST

UPTIME_DAYS = 90
UPTIME_SPAN = timedelta(days=UPTIME_DAYS)

Window = tuple[datetime, datetime]  # (down from, down until) of one component


class DayState(StrEnum):
    UP = "up"            # no downtime that day
    DOWN = "down"        # down for part of the day or all of it
    NO_DATA = "no_data"  # the component was not watched yet


def merged(windows: Iterable[Window]) -> list[Window]:
    """The windows sorted, overlapping ones joined (two incidents of one component never count twice)."""
    joined: list[Window] = []
    for start, end in sorted(w for w in windows if w[1] > w[0]):
        if joined and start <= joined[-1][1]:
            joined[-1] = (joined[-1][0], max(end, joined[-1][1]))
        else:
            joined.append((start, end))
    return joined


def down_seconds(windows: list[Window], start: datetime, end: datetime) -> int:
    """Whole seconds of [start, end) that `windows` (merged) cover."""
    covered = sum(((min(e, end) - max(s, start)) for s, e in windows if s < end and e > start), timedelta())
    return int(covered.total_seconds())


def uptime_percent(windows: list[Window], now: datetime) -> float:
    """Percent of the last 90 days the component was up, rounded down to 0.01 so that any downtime shows below
    100. The whole 90 days count, also before it was watched (an incident may be declared for that time)."""
    since = now - UPTIME_SPAN
    up_share = 1 - down_seconds(windows, since, now) / UPTIME_SPAN.total_seconds()
    return max(0.0, math.floor(up_share * 10_000) / 100)


def uptime_days(windows: list[Window], watched_since: datetime, now: datetime) -> list[dict]:
    """One cell per KST day of the last 90, oldest first: the worst state of the day and its seconds down."""
    today = now.astimezone(KST).date()
    cells = []
    for back in range(UPTIME_DAYS - 1, -1, -1):
        day = today - timedelta(days=back)
        start = datetime.combine(day, time(), KST)
        end = min(start + timedelta(days=1), now)
        down = down_seconds(windows, start, end)
        if down:
            state = DayState.DOWN
        elif end <= watched_since:
            state = DayState.NO_DATA
        else:
            state = DayState.UP
        cells.append({"date": day.isoformat(), "state": str(state), "down_s": down})
    return cells
