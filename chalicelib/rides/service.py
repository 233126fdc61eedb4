"""What riders and drivers do with rides: request, accept, decline, arrive, start, complete,
cancel, rate and complain; and dispatch, which offers each ride to one driver at a time.

A ride and its driver always change together in one DynamoDB transaction whose conditions check
both states, so a driver never holds two offers or rides and a ride is never in two states. A transaction
that lost a race (say, the driver saved their profile meanwhile) is decided again on what is there now;
only an action that no longer fits is a 409.
"""

import json
from collections.abc import Callable
from datetime import datetime, timedelta
from functools import lru_cache
from pathlib import Path
from typing import TypeVar
from zlib import crc32

from pynamodb.exceptions import PutError, TransactWriteError, UpdateError

from chalicelib.core import idempotency
from chalicelib.core.auth import Caller
from chalicelib.core.clock import iso, sort_key
from chalicelib.core.config import get_settings
from chalicelib.core.dynamo import failed_on_condition, get_or_404, transaction
from chalicelib.core.errors import Conflict, Forbidden, NotFound
from chalicelib.core.ids import new_id
from chalicelib.core.observability import count, logger
from chalicelib.drivers import service as drivers
from chalicelib.notices import service as notices
from chalicelib.rides import rules
from chalicelib.rides.models import Complaint, Ride, RideTally
from chalicelib.rides.rules import IllegalTransition, LostRace, RideStatus
from chalicelib.rides.schemas import Cancellation, ComplaintIn, Completion, RatingIn, RideCreated, RideRequest

OPEN_SHARDS = 4
TALLY_SHARDS = 8
LOSS_SHARDS = 4
TALLY_KEPT = timedelta(days=2)
DRIVERS_TRIED_PER_DISPATCH = 2
TARIFFS_FILE = Path(__file__).with_name("tariffs.json")
RACE_ATTEMPTS = 4  # an action whose write lost a race is decided again this many times, then 409
T = TypeVar("T")


@lru_cache(maxsize=1)
def tariffs() -> rules.Tariffs:
    """The fare tariffs of tariffs.json (config, not code)."""
    return rules.Tariffs.from_dict(json.loads(TARIFFS_FILE.read_text()))


def request_ride(rider_id: str, request: RideRequest, idempotency_key: str | None, now: datetime) -> dict:
    """Store the ride and offer it to the nearest available driver; a retried key returns the first answer."""
    return idempotency.once_per_key(f"rides:{rider_id}", idempotency_key, request.model_dump(mode="json"),
                                    lambda: _new_ride(rider_id, request, now))


def ride_for(caller: Caller, ride_id: str, now: datetime) -> dict:
    """The ride as its rider, its driver or an admin sees it (an expired offer moves on first)."""
    ride = _ride(ride_id)
    if caller.role != "admin" and not _party_to(caller, ride):
        raise NotFound(f"no ride {ride_id}")
    return view(_settle_offer(ride, now))


def offers_for(driver_id: str, now: datetime) -> list[dict]:
    """The offer the driver holds, if any (at most one)."""
    ride_id = drivers.offered_ride(driver_id)
    if ride_id is None:
        return []
    ride = _settle_offer(_ride(ride_id), now)
    if ride.status != RideStatus.OFFERED or ride.driver_id != driver_id:
        return []
    return [{"ride_id": ride.ride_id, "service": ride.service, "pickup": _point(ride.pickup),
             "dropoff": _point(ride.dropoff), "fare_estimate_krw": int(ride.fare_estimate_krw),
             "expires_at": iso(ride.offer_expires_at)}]


def accept(driver_id: str, ride_id: str, now: datetime) -> dict:
    """The offered driver takes the ride."""
    _decided_again(lambda: _accept(driver_id, ride_id, now))
    count("RidesAccepted")
    return view(_ride(ride_id))


def decline(driver_id: str, ride_id: str, now: datetime) -> dict:
    """The offered driver passes; the ride goes to the next candidate."""
    ride = _decided_again(lambda: _decline(driver_id, ride_id, now))
    count("RidesDeclined")
    try:
        return view(_dispatch(ride, now))
    except Conflict:
        return view(_ride(ride_id))  # the decline stands; the rider or the job moved the ride on meanwhile


def arrive(driver_id: str, ride_id: str, now: datetime) -> dict:
    """The driver is at the pickup."""
    return _advance(_driven_by(driver_id, ride_id), "arrive", now)


def start(driver_id: str, ride_id: str, now: datetime) -> dict:
    """The rider is on board; the meter runs."""
    return _advance(_driven_by(driver_id, ride_id), "start", now, Ride.started_at.set(now))


def complete(driver_id: str, ride_id: str, trip: Completion, now: datetime) -> dict:
    """End the ride with the final fare; the driver is available again and earns the payout."""
    return _decided_again(lambda: _complete(driver_id, ride_id, trip, now))


def cancel(caller: Caller, ride_id: str, cancellation: Cancellation, now: datetime) -> dict:
    """The ride's rider or driver calls it off before it starts."""
    _decided_again(lambda: _cancel(caller, ride_id, cancellation, now))
    count("RidesCancelled")
    return view(_ride(ride_id))


def _accept(driver_id: str, ride_id: str, now: datetime) -> None:
    ride = _settle_offer(_offered_to(driver_id, ride_id), now)
    if ride.status != RideStatus.OFFERED or ride.driver_id != driver_id:
        raise Conflict("the offer expired and went to another driver")
    with _conflict_on_race(ride), transaction() as tx:
        tx.update(ride, condition=_offer_holds(ride, driver_id, now), actions=[
            Ride.status.set(rules.next_status(ride.status, "accept")), Ride.accepted_at.set(now),
            Ride.offer_expires_at.remove(), Ride.open_key.remove(), Ride.updated_at.set(now)])
        drivers.accept_in(tx, driver_id, ride_id, now)


def _decline(driver_id: str, ride_id: str, now: datetime) -> Ride:
    ride = _settle_offer(_offered_to(driver_id, ride_id), now)
    if ride.status != RideStatus.OFFERED or ride.driver_id != driver_id:
        raise Conflict("the offer is no longer yours")
    _take_back_offer(ride, "decline", now)
    return ride


def _complete(driver_id: str, ride_id: str, trip: Completion, now: datetime) -> dict:
    ride = _driven_by(driver_id, ride_id)
    status = rules.next_status(ride.status, "complete")
    fare = rules.final_fare(ride.service, trip.distance_m, trip.duration_s, ride.started_at or now, tariffs())
    with _conflict_on_race(ride), transaction() as tx:
        tx.update(ride, condition=(Ride.status == ride.status) & (Ride.driver_id == driver_id), actions=[
            Ride.status.set(status), Ride.fare.set(fare.as_dict()), Ride.distance_m.set(trip.distance_m),
            Ride.duration_s.set(trip.duration_s), Ride.ended_at.set(now), Ride.updated_at.set(now)])
        drivers.release_in(tx, driver_id, ride_id, now)
        drivers.earn_in(tx, driver_id, now, fare.driver_payout_krw)
    count("RidesCompleted")
    return {"ride_id": ride_id, "status": status, "fare": fare.as_dict()}


def _cancel(caller: Caller, ride_id: str, cancellation: Cancellation, now: datetime) -> None:
    ride = _ride(ride_id)
    if not _party_to(caller, ride):
        raise Forbidden("only the ride's rider or driver may cancel it")
    status = rules.next_status(ride.status, "cancel")
    actions = [Ride.status.set(status), Ride.cancel_reason.set(cancellation.reason), Ride.cancelled_by.set(caller.role),
               Ride.ended_at.set(now), Ride.updated_at.set(now), Ride.open_key.remove(), Ride.offer_expires_at.remove(),
               *_unserved(ride_id, now)]
    with _conflict_on_race(ride), transaction() as tx:
        tx.update(ride, condition=Ride.status == ride.status, actions=actions)
        if ride.driver_id and ride.status in rules.WITH_DRIVER:
            drivers.release_in(tx, ride.driver_id, ride_id, now)


def rate(rider_id: str, ride_id: str, rating: RatingIn, now: datetime) -> dict:
    """The rider rates a completed ride, once; the driver's rolling rating follows."""
    ride = _ridden_by(rider_id, ride_id)
    if ride.status != RideStatus.COMPLETED:
        raise Conflict(f"only a completed ride can be rated; this one is {ride.status}")
    try:
        ride.update(condition=(Ride.status == RideStatus.COMPLETED) & Ride.rating.does_not_exist(), actions=[
            Ride.rating.set(rating.stars), Ride.rating_comment.set(rating.comment), Ride.updated_at.set(now)])
    except UpdateError as exc:
        if exc.cause_response_code == "ConditionalCheckFailedException":
            raise Conflict("this ride is rated already") from exc
        raise
    drivers.record_rating(ride.driver_id, rating.stars)
    notices.follow_up_quality(ride.driver_id, now)
    return {"ride_id": ride_id, "stars": rating.stars, "comment": rating.comment}


def complain(rider_id: str, ride_id: str, complaint: ComplaintIn, now: datetime) -> dict:
    """The rider complains about the ride's driver."""
    ride = _ridden_by(rider_id, ride_id)
    if not ride.driver_id:
        raise Conflict("no driver took this ride, so there is nobody to complain about")
    record = Complaint(ride_id, new_id("cmp", now), rider_id=rider_id, driver_id=ride.driver_id,
                       category=complaint.category, text=complaint.text, created_at=now)
    record.save()
    drivers.record_complaint(ride.driver_id)
    notices.follow_up_quality(ride.driver_id, now)
    return {"complaint_id": record.complaint_id, "ride_id": ride_id, "category": complaint.category,
            "created_at": iso(now)}


def expire_rides(now: datetime) -> dict:
    """The `expire-rides` job: move on expired offers, retry searching rides, expire those past the window."""
    summary = {"checked": 0, "offered": 0, "expired": 0, "searching": 0}
    for shard in range(OPEN_SHARDS):
        for ride in Ride.by_open_status.query(f"open#{shard}"):
            summary["checked"] += 1
            try:
                ride = _dispatch(_settle_offer(ride, now), now)
            except Conflict:
                continue  # a rider or driver acted meanwhile; their action stands
            if ride.status in (RideStatus.OFFERED, RideStatus.EXPIRED, RideStatus.SEARCHING):
                summary[str(ride.status)] += 1
    return summary


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


def view(ride: Ride) -> dict:
    """The ride as API.md shows it."""
    shown = {"ride_id": ride.ride_id, "service": ride.service, "status": ride.status, "rider_id": ride.rider_id,
             "driver_id": ride.driver_id, "pickup": _point(ride.pickup), "dropoff": _point(ride.dropoff),
             "fare_estimate_krw": int(ride.fare_estimate_krw), "created_at": iso(ride.created_at),
             "updated_at": iso(ride.updated_at)}
    if ride.fare is not None:
        shown["fare"] = {k: (v if k == "insurance_paid_by" else int(v)) for k, v in ride.fare.as_dict().items()}
    for field in ("offer_expires_at", "accepted_at", "started_at", "ended_at"):
        if getattr(ride, field) is not None:
            shown[field] = iso(getattr(ride, field))
    for field in ("distance_m", "duration_s", "rating"):
        if getattr(ride, field) is not None:
            shown[field] = int(getattr(ride, field))
    for field in ("cancel_reason", "cancelled_by"):
        if getattr(ride, field):
            shown[field] = getattr(ride, field)
    return shown


def _new_ride(rider_id: str, request: RideRequest, now: datetime) -> dict:
    pickup, dropoff = (request.pickup.lat, request.pickup.lng), (request.dropoff.lat, request.dropoff.lng)
    ride_id = new_id("ride", now)
    ride = Ride(ride_id, service=request.service, status=RideStatus.SEARCHING, rider_id=rider_id,
                pickup={"lat": pickup[0], "lng": pickup[1]}, dropoff={"lat": dropoff[0], "lng": dropoff[1]},
                fare_estimate_krw=rules.estimate_fare(request.service, pickup, dropoff, now, tariffs()),
                created_at=now, updated_at=now, search_deadline=now + timedelta(seconds=get_settings().search_window_s),
                open_key=f"open#{crc32(ride_id.encode()) % OPEN_SHARDS}", created_key=f"{sort_key(now)}#{ride_id}",
                minute_key=_minute_key(ride_id, now))
    count("RidesRequested")
    ride = _dispatch(ride, now, new=True)
    return RideCreated(ride_id=ride.ride_id, status=ride.status, fare_estimate_krw=int(ride.fare_estimate_krw),
                       driver_id=ride.driver_id,
                       offer_expires_at=iso(ride.offer_expires_at) if ride.offer_expires_at else None).model_dump()


def _dispatch(ride: Ride, now: datetime, new: bool = False) -> Ride:
    """Offer a searching ride to the best candidate; expire it past its window; else leave it searching."""
    if ride.status != RideStatus.SEARCHING:
        return ride
    if not new and now >= ride.search_deadline:
        return _expire(ride, now)
    excluded = set(ride.declined_by or ())
    candidates = drivers.find_candidates(ride.service, float(ride.pickup.lat), float(ride.pickup.lng), excluded)
    for candidate in candidates[:DRIVERS_TRIED_PER_DISPATCH]:
        if _offer(ride, candidate.driver_id, now, new):
            count("RidesOffered")
            return ride
    if new:
        ride.save(condition=Ride.ride_id.does_not_exist())
    return ride


def _offer(ride: Ride, driver_id: str, now: datetime, new: bool) -> bool:
    """Offer `ride` to one driver in one transaction; False when the driver was taken first."""
    expires_at = now + timedelta(seconds=get_settings().offer_timeout_s)
    previous, last_change = ride.status, ride.updated_at
    ride.status, ride.driver_id, ride.offer_expires_at, ride.updated_at = (
        rules.next_status(previous, "offer"), driver_id, expires_at, now)
    # `updated_at` as a version: a copy read earlier (e.g. from the index by an overlapping job run) must not
    # overwrite what happened since, such as a decline that excluded this driver.
    unchanged = (Ride.status == previous) & Ride.driver_id.does_not_exist() & (Ride.updated_at == last_change)
    ride_unchanged = Ride.ride_id.does_not_exist() if new else unchanged
    try:
        with transaction() as tx:
            tx.save(ride, condition=ride_unchanged)
            drivers.offer_in(tx, driver_id, ride.ride_id, ride.service, expires_at, now)
        return True
    except TransactWriteError as exc:
        ride.status, ride.driver_id, ride.offer_expires_at, ride.updated_at = previous, None, None, last_change
        if not new and _ride(ride.ride_id).updated_at != last_change:
            raise Conflict("the ride changed meanwhile") from exc
        logger.info("driver taken by another ride first", extra={"driver_id": driver_id, "ride_id": ride.ride_id})
        return False


def _settle_offer(ride: Ride, now: datetime) -> Ride:
    """An offer past its time counts as declined: the ride moves on to the next candidate."""
    for _ in range(RACE_ATTEMPTS):
        if ride.status != RideStatus.OFFERED or ride.offer_expires_at is None or now < ride.offer_expires_at:
            return ride
        try:
            _take_back_offer(ride, "offer_expired", now)
            count("OffersExpired")
            return _dispatch(ride, now)
        except LostRace:
            ride = _ride(ride.ride_id)  # the ride or its driver changed: decide again on what is there now
        except Conflict:
            return _ride(ride.ride_id)  # someone else moved the ride on first: theirs stands
    return ride


def _take_back_offer(ride: Ride, action: str, now: datetime) -> None:
    driver_id, expires_at = ride.driver_id, ride.offer_expires_at
    with _conflict_on_race(ride), transaction() as tx:
        tx.update(ride, condition=(Ride.status == RideStatus.OFFERED) & (Ride.driver_id == driver_id), actions=[
            Ride.status.set(rules.next_status(ride.status, action)), Ride.declined_by.add({driver_id}),
            Ride.driver_id.remove(), Ride.offer_expires_at.remove(), Ride.updated_at.set(now)])
        drivers.release_in(tx, driver_id, ride.ride_id, now)
    ride.status, ride.driver_id, ride.offer_expires_at, ride.updated_at = RideStatus.SEARCHING, None, None, now
    ride.declined_by = set(ride.declined_by or ()) | {driver_id}
    logger.info("offer taken back", extra={"ride_id": ride.ride_id, "driver_id": driver_id, "why": action,
                                           "expired_at": iso(expires_at) if expires_at else None})


def _expire(ride: Ride, now: datetime) -> Ride:
    with _conflict_on_race(ride):
        ride.update(condition=Ride.status == RideStatus.SEARCHING, actions=[
            Ride.status.set(rules.next_status(ride.status, "expire")), Ride.open_key.remove(),
            Ride.ended_at.set(now), Ride.updated_at.set(now), *_unserved(ride.ride_id, now)])
    count("RidesExpired")
    _tally_expiry(ride.ride_id, now)
    return ride


def _minute_key(ride_id: str, at: datetime) -> str:
    return f"{at.strftime('%Y-%m-%dT%H:%M')}#{crc32(ride_id.encode()) % TALLY_SHARDS}"


def _unserved(ride_id: str, now: datetime) -> list:
    shard = crc32(ride_id.encode()) % LOSS_SHARDS
    return [Ride.loss_key.set(f"lost#{now.strftime('%Y-%m-%d')}#{shard}"),
            Ride.loss_sort.set(f"{sort_key(now)}#{ride_id}")]


def _tally_expiry(ride_id: str, now: datetime) -> None:
    RideTally(_minute_key(ride_id, now)).update(actions=[RideTally.failed.add(1),
                                                         RideTally.expires_at.set(now + TALLY_KEPT)])


def _advance(ride: Ride, action: str, now: datetime, *extra) -> dict:
    status = rules.next_status(ride.status, action)
    with _conflict_on_race(ride):
        ride.update(condition=(Ride.status == ride.status) & (Ride.driver_id == ride.driver_id),
                    actions=[Ride.status.set(status), Ride.updated_at.set(now), *extra])
    return view(ride)


def _offer_holds(ride: Ride, driver_id: str, now: datetime):
    return (Ride.status == RideStatus.OFFERED) & (Ride.driver_id == driver_id) & (Ride.offer_expires_at > now)


def _decided_again(action: Callable[[], T]) -> T:
    """Run `action` (read, decide, write on condition) again while its write loses a race; then its 409."""
    for attempt in range(RACE_ATTEMPTS):
        try:
            return action()
        except LostRace:
            if attempt == RACE_ATTEMPTS - 1:
                raise
    raise AssertionError("unreachable")


class _conflict_on_race:  # noqa: N801 - used as a context manager, reads as a phrase
    """A condition that failed because someone acted first becomes a LostRace saying what the ride is now."""

    def __init__(self, ride: Ride):
        self.ride = ride

    def __enter__(self):
        return self

    def __exit__(self, kind, exc, traceback):
        if isinstance(exc, (TransactWriteError, UpdateError, PutError)) and failed_on_condition(exc):
            current = _ride(self.ride.ride_id)
            raise LostRace(f"the ride is {current.status} now") from exc
        return False


def _ride(ride_id: str) -> Ride:
    return get_or_404(Ride, ride_id, f"no ride {ride_id}", consistent_read=True)  # what conditional writes build on


def _party_to(caller: Caller, ride: Ride) -> bool:
    """Whether the caller is the ride's rider or its driver: role and id together (ids may repeat across roles)."""
    return (caller.role, caller.sub) in {("rider", ride.rider_id), ("driver", ride.driver_id)}


def _offered_to(driver_id: str, ride_id: str) -> Ride:
    ride = _ride(ride_id)
    if ride.driver_id != driver_id and driver_id not in (ride.declined_by or ()):
        raise Forbidden("this ride was not offered to you")
    if ride.status != RideStatus.OFFERED:
        raise IllegalTransition(f"the ride is {ride.status}, not offered")
    return ride


def _driven_by(driver_id: str, ride_id: str) -> Ride:
    ride = _ride(ride_id)
    if ride.driver_id != driver_id:
        raise Forbidden("only the ride's driver may do this")
    return ride


def _ridden_by(rider_id: str, ride_id: str) -> Ride:
    ride = _ride(ride_id)
    if ride.rider_id != rider_id:
        raise Forbidden("only the ride's rider may do this")
    return ride


def _point(point) -> dict:
    return {"lat": float(point.lat), "lng": float(point.lng)}
