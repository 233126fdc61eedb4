"""Drivers' own routes: profile, online status, location and earnings."""

from __future__ import annotations

from typing import TYPE_CHECKING

from chalicelib.core import clock
from chalicelib.core.api import ApiBlueprint
from chalicelib.core.auth import Caller
from chalicelib.core.errors import invalid_field
from chalicelib.core.lazy import lazy_module

if TYPE_CHECKING:
    from chalicelib.core.schemas import Point
    from chalicelib.drivers.schemas import DispatchLogQuery, DriverProfileIn, DriverStatusIn, EarningsQuery

service = lazy_module("chalicelib.drivers.service")

drivers = ApiBlueprint(__name__)
DRIVER = ["driver"]


@drivers.route("/drivers/me", methods=["PUT"], roles=DRIVER, body="DriverProfileIn", response="DriverOut",
                errors=[409])
def save_profile(caller: Caller, body: DriverProfileIn):
    """Create or update the caller's driver profile."""
    return service.save_profile(caller.sub, body, clock.now())


@drivers.route("/drivers/me", methods=["GET"], roles=DRIVER, response="DriverOut", errors=[404])
def my_profile(caller: Caller):
    """The caller's profile, status and rolling rating."""
    return service.profile(caller.sub)


@drivers.route("/drivers/me/status", methods=["POST"], roles=DRIVER, body="DriverStatusIn", response="DriverOut",
                errors=[404, 409])
def set_status(caller: Caller, body: DriverStatusIn):
    """Go online at a position (listed for dispatch) or offline."""
    return service.set_status(caller.sub, body, clock.now())


@drivers.route("/drivers/me/location", methods=["PUT"], roles=DRIVER, body="Point", response="DriverOut",
                errors=[404, 409])
def update_location(caller: Caller, body: Point):
    """Report the caller's current position."""
    return service.update_location(caller.sub, body.lat, body.lng, clock.now())


@drivers.route("/drivers/me/earnings", methods=["GET"], roles=DRIVER, query="EarningsQuery", response="EarningsOut")
def my_earnings(caller: Caller, query: EarningsQuery):
    """What the caller earned between `from` and `to` (UTC hours, from the hourly buckets)."""
    if query.to < query.from_:
        raise invalid_field("to", "must not be before from")
    return service.earnings(caller.sub, query.from_, query.to)


@drivers.route("/drivers/me/dispatch-log", methods=["GET"], roles=DRIVER, query="DispatchLogQuery",
               response="DispatchLog")
def my_dispatch_log(caller: Caller, query: DispatchLogQuery):
    """Every dispatch decision the caller was a candidate in, with the outcome and why; other drivers unnamed."""
    if query.to < query.from_:
        raise invalid_field("to", "must not be before from")
    return service.dispatch_log(caller.sub, query.from_, query.to, query.limit, query.cursor)
