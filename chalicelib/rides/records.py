"""How rides are filed and found: the consistent read every conditional write builds on, a lost race on a ride,
the index keys (open rides, requests by minute, unserved riders), and the ride history other domains read."""

from contextlib import AbstractContextManager
from datetime import datetime, timedelta
from zlib import crc32

from chalicelib.core.clock import sort_key
from chalicelib.core.dynamo import get_or_404
from chalicelib.drivers import service as drivers
from chalicelib.rides import rules
from chalicelib.rides.models import Ride, RideTally

OPEN_SHARDS = 4
TALLY_SHARDS = 8
LOSS_SHARDS = 4
TALLY_KEPT = timedelta(days=2)


def current(ride_id: str) -> Ride:
    """The ride as stored now (a consistent read: what conditional writes build on), or a 404."""
    return get_or_404(Ride, ride_id, f"no ride {ride_id}", consistent_read=True)


def lost_race(ride: Ride) -> AbstractContextManager[None]:
    """A write of `ride` (and its driver) whose condition fails becomes a LostRace saying what the ride is now."""
    return drivers.lost_race_on_condition(lambda: f"the ride is {current(ride.ride_id).status} now")


def open_key(ride_id: str) -> str:
    """The shard of the open-rides index the expire-rides job reads the ride from."""
    return f"open#{crc32(ride_id.encode()) % OPEN_SHARDS}"


def minute_key(ride_id: str, at: datetime) -> str:
    """The shard of the minute `at` under which the ride's request (index) and expiry (tally) are counted."""
    return f"{at.strftime('%Y-%m-%dT%H:%M')}#{crc32(ride_id.encode()) % TALLY_SHARDS}"


def filed_as_unserved(ride_id: str, now: datetime) -> list:
    """The update actions that file a ride ending cancelled or expired `now` under its rider's loss."""
    shard = crc32(ride_id.encode()) % LOSS_SHARDS
    return [Ride.loss_key.set(f"lost#{now.strftime('%Y-%m-%d')}#{shard}"),
            Ride.loss_sort.set(f"{sort_key(now)}#{ride_id}")]


def tally_expiry(ride_id: str, now: datetime) -> None:
    """Count one expired ride in the tally of the minute it expired."""
    RideTally(minute_key(ride_id, now)).update(actions=[RideTally.failed.add(1),
                                                        RideTally.expires_at.set(now + TALLY_KEPT)])


def traffic(now: datetime, minutes: int) -> tuple[int, int]:
    """(requested, expired) ride counts of the last `minutes` minutes, for the outage detector.

    Requests are counted in the keys-only `by_minute` index (no write on the request path); expiries,
    which happen off the request path, in the tallies.
    """
    minute_shards = [f"{(now - timedelta(minutes=m)).strftime('%Y-%m-%dT%H:%M')}#{shard}"
                     for m in range(minutes) for shard in range(TALLY_SHARDS)]
    requested = sum(Ride.by_minute.count(key) for key in minute_shards)
    failed = sum(int(t.failed) for t in RideTally.batch_get(minute_shards))
    # An expiry is counted when it happens, its request when it was made: near the window's edge the
    # expiries can outnumber the requests still in it. All of them failing is the most it can mean.
    return requested, min(failed, requested)


def unserved_riders(start: datetime, end: datetime, cursor: dict | None, limit: int) -> tuple[list[str], dict | None]:
    """Riders whose rides ended cancelled or expired in [start, end), a page at a time.

    `cursor` is None for the first page; the answer's cursor is None after the last. A rider with several
    such rides may appear more than once.
    """
    days = rules.days_touched(start, end)
    keys = [f"lost#{day}#{shard}" for day in days for shard in range(LOSS_SHARDS)]
    position, last_key = (cursor["part"], cursor["last"]) if cursor else (0, None)
    riders: list[str] = []
    while position < len(keys) and len(riders) < limit:
        found = Ride.by_loss.query(keys[position], Ride.loss_sort.between(sort_key(start), sort_key(end)),
                                   limit=limit - len(riders), last_evaluated_key=last_key)
        riders += [ride.rider_id for ride in found]
        last_key = found.last_evaluated_key
        if last_key is None:
            position += 1
    return riders, ({"part": position, "last": last_key} if position < len(keys) else None)
