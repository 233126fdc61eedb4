"""What riders and drivers are told the moment it happens, over the real-time channel: called once a ride's
write has committed, never before; a push that fails never undoes or fails the ride action (see realtime)."""

from datetime import datetime

from chalicelib.core.clock import iso
from chalicelib.core.lazy import lazy_module
from chalicelib.rides.models import Ride

realtime = lazy_module("chalicelib.realtime.service")  # boto3's management client: on the first push only


def offer_made(ride: Ride, now: datetime) -> None:
    """The offered driver gets `ride.offered` (what GET /drivers/me/offers lists); the rider, `ride.updated`."""
    realtime.ride_offered(ride.driver_id, {
        "ride_id": ride.ride_id, "service": ride.service, "pickup": _point(ride.pickup),
        "dropoff": _point(ride.dropoff), "fare_estimate_krw": int(ride.fare_estimate_krw),
        "expires_at": iso(ride.offer_expires_at)}, now)
    realtime.ride_updated(ride.ride_id, str(ride.status), ride.driver_id, [("rider", ride.rider_id)], now)


def status_changed(ride: Ride, status: str, now: datetime, told_driver: str | None = None) -> None:
    """`ride.updated` to the ride's rider and driver: the ride is now `status`; `told_driver` is a driver who
    held the ride until now (their offer was declined or lapsed)."""
    parties = [("rider", ride.rider_id)] + [("driver", d) for d in (ride.driver_id, told_driver) if d]
    realtime.ride_updated(ride.ride_id, str(status), ride.driver_id, parties, now)


def _point(point) -> dict:
    return {"lat": float(point.lat), "lng": float(point.lng)}
