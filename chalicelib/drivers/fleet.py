"""The fleet as other domains' batch jobs read it: drivers of a service page by page, how to split that scan,
who was online when, and what each driver earned by the hour."""

from datetime import UTC, datetime, timedelta

from chalicelib.drivers import rules
from chalicelib.drivers.models import Driver, EarningsBucket, OnlineSession


def hourly_earnings(driver_id: str, start: datetime, end: datetime) -> dict[datetime, int]:
    """The start of each UTC hour touching [start, end) -> KRW earned in it; one read (compensation uses this)."""
    hours = EarningsBucket.hour.between(rules.hour_key(start), rules.hour_key(end - timedelta(microseconds=1)))
    return {datetime.strptime(b.hour, "%Y-%m-%dT%H").replace(tzinfo=UTC): int(b.total_krw)
            for b in EarningsBucket.query(driver_id, hours)}


def scan_segments(drivers_per_segment: int = 20_000, most: int = 16) -> int:
    """How many parallel scan segments suit the fleet (DynamoDB's item count, refreshed about every 6 hours)."""
    count = int(Driver.describe_table().get("ItemCount", 0))
    return max(1, min(most, count // drivers_per_segment))


def drivers_of(service: str, cursor: dict | None, limit: int) -> tuple[list[str], dict | None]:
    """A page of the ids of drivers offering `service` (a scan: for batch jobs, never a request path).

    `cursor` is None (the whole table from the start), a cursor this function returned, or
    `{"segment": n, "of": total, "key": None}` to start one of `total` parallel segments.
    """
    segment = cursor if cursor and "segment" in cursor else None
    found = Driver.scan(Driver.services.contains(service), limit=limit, page_size=limit,
                        segment=segment["segment"] if segment else None,
                        total_segments=segment["of"] if segment else None,
                        last_evaluated_key=segment["key"] if segment else cursor, attributes_to_get=["driver_id"])
    ids, last_key = [driver.driver_id for driver in found], found.last_evaluated_key
    if segment and last_key is not None:
        return ids, {**segment, "key": last_key}
    return ids, last_key


def was_online(driver_id: str, start: datetime, end: datetime) -> bool:
    """Whether the driver was online at some moment in [start, end); one read."""
    latest = next(iter(OnlineSession.query(driver_id, OnlineSession.started_key < rules.session_key(end),
                                           scan_index_forward=False, limit=1)), None)
    return latest is not None and rules.overlaps(latest.started_at, latest.ended_at, start, end)
