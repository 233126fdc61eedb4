"""Dispatch: offer each searching ride to one driver at a time, take offers back when declined or expired,
and expire rides nobody took within the search window (the expire-rides job).

A ride and its driver always change together in one DynamoDB transaction whose conditions check both
states, so a driver never holds two offers or rides and a ride is never in two states.
"""

from datetime import datetime, timedelta

from pynamodb.exceptions import TransactWriteError

from chalicelib.core.clock import iso
from chalicelib.core.config import get_settings
from chalicelib.core.dynamo import transaction
from chalicelib.core.errors import Conflict
from chalicelib.core.observability import count, logger
from chalicelib.drivers import service as drivers
from chalicelib.rides import announce, decisions, fairness, records, rules
from chalicelib.rides.models import Ride
from chalicelib.rides.rules import RideStatus

DRIVERS_TRIED_PER_DISPATCH = 2


def find_driver(ride: Ride, now: datetime, new: bool = False) -> Ride:
    """Offer a searching ride to the best candidate; expire it past its window; else leave it searching.

    A `new` ride is stored by this call (with its offer, or searching when no driver could be offered it).
    """
    if ride.status != RideStatus.SEARCHING:
        return ride
    if not new and now >= ride.search_deadline:
        return _expire(ride, now)
    excluded = set(ride.declined_by or ())
    weighed = drivers.weigh_candidates(ride.service, float(ride.pickup.lat), float(ride.pickup.lng), excluded)
    lost: set[str] = set()
    for candidate in [w.candidate for w in weighed if not w.declined][:DRIVERS_TRIED_PER_DISPATCH]:
        if _offer(ride, candidate, now, new, lambda tx, offered=candidate.driver_id: decisions.record_in(
                tx, ride, weighed, offered, set(lost), now, new)):
            count("RidesOffered")
            announce.offer_made(ride, now)
            return ride
        lost.add(candidate.driver_id)
    if new:  # one transaction, so the request is counted in the same round trip that stores it
        with transaction() as tx:
            tx.save(ride, condition=Ride.ride_id.does_not_exist())
            fairness.request_in(tx, ride, now)
    return ride


def settle_offer(ride: Ride, now: datetime) -> Ride:
    """An offer past its time counts as declined: the ride moves on to the next candidate."""
    copies = iter([ride])  # the first decision is made on the copy in hand, each later one on a fresh read

    def decide() -> Ride:
        return _move_on_if_expired(next(copies, None) or records.current(ride.ride_id), now)

    try:
        return drivers.decided_again(decide)
    except Conflict:
        return records.current(ride.ride_id)  # someone else moved the ride on first: theirs stands


def take_back_offer(ride: Ride, action: str, now: datetime) -> None:
    """The offered driver declined (`decline`) or let the offer lapse (`offer_expired`): both are free again.

    `ride` is updated in place to what was written: searching, with the driver among those who declined.
    """
    driver_id, expires_at = ride.driver_id, ride.offer_expires_at
    with records.lost_race(ride), transaction() as tx:
        tx.update(ride, condition=(Ride.status == RideStatus.OFFERED) & (Ride.driver_id == driver_id), actions=[
            Ride.status.set(rules.next_status(ride.status, action)), Ride.declined_by.add({driver_id}),
            Ride.driver_id.remove(), Ride.offer_expires_at.remove(), Ride.updated_at.set(now)])
        drivers.release_in(tx, driver_id, ride.ride_id, now)
    ride.status, ride.driver_id, ride.offer_expires_at, ride.updated_at = RideStatus.SEARCHING, None, None, now
    ride.declined_by = set(ride.declined_by or ()) | {driver_id}
    announce.status_changed(ride, ride.status, now, told_driver=driver_id)
    logger.info("offer taken back", extra={"ride_id": ride.ride_id, "driver_id": driver_id, "why": action,
                                           "expired_at": iso(expires_at) if expires_at else None})


def expire_rides(now: datetime) -> dict:
    """The `expire-rides` job: move on expired offers, retry searching rides, expire those past the window."""
    summary = {"checked": 0, "offered": 0, "expired": 0, "searching": 0}
    for shard in range(records.OPEN_SHARDS):
        for ride in Ride.by_open_status.query(f"open#{shard}"):
            summary["checked"] += 1
            try:
                ride = find_driver(settle_offer(ride, now), now)
            except Conflict:
                continue  # a rider or driver acted meanwhile; their action stands
            if ride.status in (RideStatus.OFFERED, RideStatus.EXPIRED, RideStatus.SEARCHING):
                summary[str(ride.status)] += 1
    return summary


def _move_on_if_expired(ride: Ride, now: datetime) -> Ride:
    if ride.status != RideStatus.OFFERED or ride.offer_expires_at is None or now < ride.offer_expires_at:
        return ride
    take_back_offer(ride, "offer_expired", now)
    count("OffersExpired")
    return find_driver(ride, now)


def _offer(ride: Ride, candidate, now: datetime, new: bool, record) -> bool:
    """Offer `ride` to one candidate driver in one transaction, with its decision (`record(tx)`); False when the
    driver was taken first."""
    driver_id, affiliation = candidate.driver_id, ride.driver_affiliation
    ride.driver_affiliation = candidate.affiliation
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
            record(tx)
        return True
    except TransactWriteError as exc:
        ride.status, ride.driver_id, ride.offer_expires_at, ride.updated_at = previous, None, None, last_change
        ride.driver_affiliation = affiliation
        if not new and records.current(ride.ride_id).updated_at != last_change:
            raise Conflict("the ride changed meanwhile") from exc
        logger.info("driver taken by another ride first", extra={"driver_id": driver_id, "ride_id": ride.ride_id})
        return False


def _expire(ride: Ride, now: datetime) -> Ride:
    with records.lost_race(ride):
        ride.update(condition=Ride.status == RideStatus.SEARCHING, actions=[
            Ride.status.set(rules.next_status(ride.status, "expire")), Ride.open_key.remove(),
            Ride.ended_at.set(now), Ride.updated_at.set(now), *records.filed_as_unserved(ride.ride_id, now)])
    count("RidesExpired")
    records.tally_expiry(ride.ride_id, now)
    announce.status_changed(ride, ride.status, now)
    return ride
