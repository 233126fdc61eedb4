"""What riders and drivers do with rides: request, accept, decline, arrive, start, complete, cancel, rate
and complain; and the one door other domains and the routes use for rides (dispatch lives in `dispatch`).

A ride and its driver always change together in one DynamoDB transaction whose conditions check
both states, so a driver never holds two offers or rides and a ride is never in two states. A transaction
that lost a race (say, the driver saved their profile meanwhile) is decided again on what is there now;
only an action that no longer fits is a 409.
"""

import json
from datetime import datetime, timedelta
from functools import lru_cache
from pathlib import Path

from chalicelib.core import idempotency
from chalicelib.core.auth import Caller
from chalicelib.core.clock import iso, sort_key
from chalicelib.core.config import get_settings
from chalicelib.core.dynamo import conflict_on_condition, transaction
from chalicelib.core.errors import Conflict, Forbidden, NotFound
from chalicelib.core.ids import new_id
from chalicelib.core.observability import count
from chalicelib.drivers import service as drivers
from chalicelib.notices import service as notices
from chalicelib.rides import announce, decisions, dispatch, fairness, records, rules
from chalicelib.rides.dispatch import expire_rides
from chalicelib.rides.models import Complaint, Ride
from chalicelib.rides.records import current, lost_race, traffic, unserved_riders
from chalicelib.rides.rules import IllegalTransition, RideStatus
from chalicelib.rides.schemas import Cancellation, ComplaintIn, Completion, RatingIn, RideCreated, RideRequest

__all__ = ["expire_rides", "traffic", "unserved_riders"]  # the door: besides the actions below

TARIFFS_FILE = Path(__file__).with_name("tariffs.json")


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
    ride = current(ride_id)
    if caller.role != "admin" and not _party_to(caller, ride):
        raise NotFound(f"no ride {ride_id}")
    return view(dispatch.settle_offer(ride, now))


def offers_for(driver_id: str, now: datetime) -> list[dict]:
    """The offer the driver holds, if any (at most one)."""
    ride_id = drivers.offered_ride(driver_id)
    if ride_id is None:
        return []
    ride = dispatch.settle_offer(current(ride_id), now)
    if ride.status != RideStatus.OFFERED or ride.driver_id != driver_id:
        return []
    return [{"ride_id": ride.ride_id, "service": ride.service, "pickup": _point(ride.pickup),
             "dropoff": _point(ride.dropoff), "fare_estimate_krw": int(ride.fare_estimate_krw),
             "expires_at": iso(ride.offer_expires_at)}]


def dispatch_record(ride_id: str) -> dict:
    """Every dispatch decision of the ride, oldest first: whom it weighed, whom it offered, and why not the others."""
    current(ride_id)  # a 404 for a ride that does not exist, rather than an empty record
    return {"ride_id": ride_id, "decisions": decisions.decisions_of(ride_id)}


def dispatch_log(driver_id: str, start: datetime, end: datetime, limit: int, cursor: str | None) -> dict:
    """A page of the dispatch decisions the driver was a candidate in, with the reasons in words."""
    return decisions.log_of(driver_id, start, end, limit, cursor)


def fairness_report(service: str, start: datetime, end: datetime) -> dict:
    """The fairness report of a service over the UTC hours [start, end) touches, from the hourly counters."""
    return fairness.report(service, start, end)


def availability_in(tx, driver_id: str, services, affiliation: str, since: datetime | None, now: datetime) -> None:
    """For drivers: a driver stops being available (going offline); their available time is counted in `tx`."""
    fairness.availability_in(tx, driver_id, services, affiliation, since, now)


def active_in(tx, driver_id: str, services, affiliation: str, now: datetime) -> None:
    """For drivers: the driver's first availability of the UTC day, counted in `tx` (guarded by the caller)."""
    fairness.active_in(tx, driver_id, services, affiliation, now)


def accept(driver_id: str, ride_id: str, now: datetime) -> dict:
    """The offered driver takes the ride."""
    drivers.decided_again(lambda: _accept(driver_id, ride_id, now))
    count("RidesAccepted")
    ride = current(ride_id)
    announce.status_changed(ride, RideStatus.ACCEPTED, now)
    return view(ride)


def decline(driver_id: str, ride_id: str, now: datetime) -> dict:
    """The offered driver passes; the ride goes to the next candidate."""
    ride = drivers.decided_again(lambda: _decline(driver_id, ride_id, now))
    count("RidesDeclined")
    try:
        return view(dispatch.find_driver(ride, now))
    except Conflict:
        return view(current(ride_id))  # the decline stands; the rider or the job moved the ride on meanwhile


def arrive(driver_id: str, ride_id: str, now: datetime) -> dict:
    """The driver is at the pickup."""
    return _advance(_driven_by(driver_id, ride_id), "arrive", now)


def start(driver_id: str, ride_id: str, now: datetime) -> dict:
    """The rider is on board; the meter runs."""
    return _advance(_driven_by(driver_id, ride_id), "start", now, Ride.started_at.set(now))


def complete(driver_id: str, ride_id: str, trip: Completion, now: datetime) -> dict:
    """End the ride with the final fare; the driver is available again and earns the payout."""
    return drivers.decided_again(lambda: _complete(driver_id, ride_id, trip, now))


def cancel(caller: Caller, ride_id: str, cancellation: Cancellation, now: datetime) -> dict:
    """The ride's rider or driver calls it off before it starts."""
    drivers.decided_again(lambda: _cancel(caller, ride_id, cancellation, now))
    count("RidesCancelled")
    return view(current(ride_id))


def rate(rider_id: str, ride_id: str, rating: RatingIn, now: datetime) -> dict:
    """The rider rates a completed ride, once; the driver's rolling rating follows."""
    ride = _ridden_by(rider_id, ride_id)
    if ride.status != RideStatus.COMPLETED:
        raise Conflict(f"only a completed ride can be rated; this one is {ride.status}")
    with conflict_on_condition("this ride is rated already"):
        ride.update(condition=(Ride.status == RideStatus.COMPLETED) & Ride.rating.does_not_exist(), actions=[
            Ride.rating.set(rating.stars), Ride.rating_comment.set(rating.comment), Ride.updated_at.set(now)])
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
                open_key=records.open_key(ride_id), created_key=f"{sort_key(now)}#{ride_id}",
                minute_key=records.minute_key(ride_id, now))
    count("RidesRequested")
    ride = dispatch.find_driver(ride, now, new=True)
    return RideCreated(ride_id=ride.ride_id, status=ride.status, fare_estimate_krw=int(ride.fare_estimate_krw),
                       driver_id=ride.driver_id,
                       offer_expires_at=iso(ride.offer_expires_at) if ride.offer_expires_at else None).model_dump()


def _accept(driver_id: str, ride_id: str, now: datetime) -> None:
    ride = dispatch.settle_offer(_offered_to(driver_id, ride_id), now)
    if ride.status != RideStatus.OFFERED or ride.driver_id != driver_id:
        raise Conflict("the offer expired and went to another driver")
    offer_holds = (Ride.status == RideStatus.OFFERED) & (Ride.driver_id == driver_id) & (Ride.offer_expires_at > now)
    with lost_race(ride), transaction() as tx:
        tx.update(ride, condition=offer_holds, actions=[
            Ride.status.set(rules.next_status(ride.status, "accept")), Ride.accepted_at.set(now),
            Ride.offer_expires_at.remove(), Ride.open_key.remove(), Ride.updated_at.set(now)])
        drivers.accept_in(tx, driver_id, ride_id, now)
        fairness.outcome_in(tx, ride, "accepted", now)


def _decline(driver_id: str, ride_id: str, now: datetime) -> Ride:
    ride = dispatch.settle_offer(_offered_to(driver_id, ride_id), now)
    if ride.status != RideStatus.OFFERED or ride.driver_id != driver_id:
        raise Conflict("the offer is no longer yours")
    dispatch.take_back_offer(ride, "decline", now)
    return ride


def _complete(driver_id: str, ride_id: str, trip: Completion, now: datetime) -> dict:
    ride = _driven_by(driver_id, ride_id)
    status = rules.next_status(ride.status, "complete")
    fare = rules.final_fare(ride.service, trip.distance_m, trip.duration_s, ride.started_at or now, tariffs())
    with lost_race(ride), transaction() as tx:
        tx.update(ride, condition=(Ride.status == ride.status) & (Ride.driver_id == driver_id), actions=[
            Ride.status.set(status), Ride.fare.set(fare.as_dict()), Ride.distance_m.set(trip.distance_m),
            Ride.duration_s.set(trip.duration_s), Ride.ended_at.set(now), Ride.updated_at.set(now)])
        drivers.release_in(tx, driver_id, ride_id, now)
        drivers.earn_in(tx, driver_id, now, fare.driver_payout_krw)
        fairness.outcome_in(tx, ride, "completed", now)
    count("RidesCompleted")
    announce.status_changed(ride, status, now)
    return {"ride_id": ride_id, "status": status, "fare": fare.as_dict()}


def _cancel(caller: Caller, ride_id: str, cancellation: Cancellation, now: datetime) -> None:
    ride = current(ride_id)
    if not _party_to(caller, ride):
        raise Forbidden("only the ride's rider or driver may cancel it")
    status = rules.next_status(ride.status, "cancel")
    actions = [Ride.status.set(status), Ride.cancel_reason.set(cancellation.reason), Ride.cancelled_by.set(caller.role),
               Ride.ended_at.set(now), Ride.updated_at.set(now), Ride.open_key.remove(), Ride.offer_expires_at.remove(),
               *records.filed_as_unserved(ride_id, now)]
    with lost_race(ride), transaction() as tx:
        tx.update(ride, condition=Ride.status == ride.status, actions=actions)
        if ride.driver_id and ride.status in rules.WITH_DRIVER:
            drivers.release_in(tx, ride.driver_id, ride_id, now)
    announce.status_changed(ride, status, now)


def _advance(ride: Ride, action: str, now: datetime, *extra) -> dict:
    status = rules.next_status(ride.status, action)
    with lost_race(ride):
        ride.update(condition=(Ride.status == ride.status) & (Ride.driver_id == ride.driver_id),
                    actions=[Ride.status.set(status), Ride.updated_at.set(now), *extra])
    announce.status_changed(ride, status, now)
    return view(ride)


def _party_to(caller: Caller, ride: Ride) -> bool:
    """Whether the caller is the ride's rider or its driver: role and id together (ids may repeat across roles)."""
    return (caller.role, caller.sub) in {("rider", ride.rider_id), ("driver", ride.driver_id)}


def _offered_to(driver_id: str, ride_id: str) -> Ride:
    ride = current(ride_id)
    if ride.driver_id != driver_id and driver_id not in (ride.declined_by or ()):
        raise Forbidden("this ride was not offered to you")
    if ride.status != RideStatus.OFFERED:
        raise IllegalTransition(f"the ride is {ride.status}, not offered")
    return ride


def _driven_by(driver_id: str, ride_id: str) -> Ride:
    ride = current(ride_id)
    if ride.driver_id != driver_id:
        raise Forbidden("only the ride's driver may do this")
    return ride


def _ridden_by(rider_id: str, ride_id: str) -> Ride:
    ride = current(ride_id)
    if ride.rider_id != rider_id:
        raise Forbidden("only the ride's rider may do this")
    return ride


def _point(point) -> dict:
    return {"lat": float(point.lat), "lng": float(point.lng)}
