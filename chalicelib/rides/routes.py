"""Ride routes: riders request, cancel, rate and complain; drivers see offers and drive rides."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

from chalicelib.core import clock
from chalicelib.core.api import ApiBlueprint
from chalicelib.core.auth import Caller
from chalicelib.core.errors import invalid_field
from chalicelib.core.lazy import lazy_module

if TYPE_CHECKING:
    from chalicelib.rides.schemas import (
        Cancellation,
        ComplaintIn,
        Completion,
        FairnessQuery,
        RatingIn,
        RideRequest,
    )

service = lazy_module("chalicelib.rides.service")

rides = ApiBlueprint(__name__)
RIDER, DRIVER = ["rider"], ["driver"]
LONGEST_REPORT = timedelta(days=93)


@rides.route("/rides", methods=["POST"], roles=RIDER, body="RideRequest", response="RideCreated", status=201,
             errors=[409])
def request_ride(caller: Caller, body: RideRequest, idempotency_key: str | None):
    """Request a taxi or designated-driver ride; it is offered to the nearest available driver at once.

    Send `Idempotency-Key` to make a retry safe: the same key and body return the first answer.
    """
    return service.request_ride(caller.sub, body, idempotency_key, clock.now())


@rides.route("/rides/{ride_id}", methods=["GET"], roles=["rider", "driver", "admin"], response="RideOut")
def get_ride(ride_id: str, caller: Caller):
    """A ride, for its rider, its driver or an admin."""
    return service.ride_for(caller, ride_id, clock.now())


@rides.route("/rides/{ride_id}/dispatch", methods=["GET"], roles=["admin", "auditor"], response="DispatchRecord")
def dispatch_record(ride_id: str):
    """Every dispatch decision of the ride: the rule, the candidates weighed, who was offered and why not the others."""
    return service.dispatch_record(ride_id)


@rides.route("/dispatch/fairness", methods=["GET"], roles=["admin", "auditor"], query="FairnessQuery",
             response="FairnessReport")
def fairness_report(query: FairnessQuery):
    """Dispatch's fairness figures of a service over a window (whole UTC hours, at most 93 days): decisions,
    nearer drivers passed over (0 when fair), per affiliation cohort and per trip-length band."""
    if query.to <= query.from_:
        raise invalid_field("to", "must be after from")
    if query.to - query.from_ > LONGEST_REPORT:
        raise invalid_field("to", "the window may be at most 93 days")
    return service.fairness_report(query.service, query.from_, query.to)


@rides.route("/drivers/me/offers", methods=["GET"], roles=DRIVER, response="Offers")
def my_offers(caller: Caller):
    """The offer the caller holds (at most one), until it expires."""
    return {"items": service.offers_for(caller.sub, clock.now()), "next": None}


@rides.route("/rides/{ride_id}/accept", methods=["POST"], roles=DRIVER, response="RideOut", errors=[409])
def accept_ride(ride_id: str, caller: Caller):
    """The offered driver takes the ride."""
    return service.accept(caller.sub, ride_id, clock.now())


@rides.route("/rides/{ride_id}/decline", methods=["POST"], roles=DRIVER, response="RideOut", errors=[409])
def decline_ride(ride_id: str, caller: Caller):
    """The offered driver passes; the ride is offered to the next driver."""
    return service.decline(caller.sub, ride_id, clock.now())


@rides.route("/rides/{ride_id}/arrive", methods=["POST"], roles=DRIVER, response="RideOut", errors=[409])
def arrive(ride_id: str, caller: Caller):
    """The ride's driver is at the pickup."""
    return service.arrive(caller.sub, ride_id, clock.now())


@rides.route("/rides/{ride_id}/start", methods=["POST"], roles=DRIVER, response="RideOut", errors=[409])
def start_ride(ride_id: str, caller: Caller):
    """The rider is on board."""
    return service.start(caller.sub, ride_id, clock.now())


@rides.route("/rides/{ride_id}/complete", methods=["POST"], roles=DRIVER, body="Completion",
             response="RideCompleted", errors=[409])
def complete_ride(ride_id: str, caller: Caller, body: Completion):
    """End the ride; the answer holds the fare breakdown."""
    return service.complete(caller.sub, ride_id, body, clock.now())


@rides.route("/rides/{ride_id}/cancel", methods=["POST"], roles=["rider", "driver"], body="Cancellation",
             response="RideOut", errors=[409])
def cancel_ride(ride_id: str, caller: Caller, body: Cancellation):
    """The ride's rider or driver cancels it before it starts."""
    return service.cancel(caller, ride_id, body, clock.now())


@rides.route("/rides/{ride_id}/rating", methods=["POST"], roles=RIDER, body="RatingIn", status=201,
             response="RatingOut", errors=[409])
def rate_ride(ride_id: str, caller: Caller, body: RatingIn):
    """The ride's rider rates a completed ride, once."""
    return service.rate(caller.sub, ride_id, body, clock.now())


@rides.route("/rides/{ride_id}/complaints", methods=["POST"], roles=RIDER, body="ComplaintIn", status=201,
             hourly_cap="complaints", response="ComplaintOut", errors=[409])
def complain(ride_id: str, caller: Caller, body: ComplaintIn):
    """The ride's rider complains about its driver."""
    return service.complain(caller.sub, ride_id, body, clock.now())


@rides.job("expire-rides", every_minutes=1)
def expire_rides(now) -> dict:
    """Move on expired offers, retry searching rides, expire rides nobody took within the search window."""
    return service.expire_rides(now)
