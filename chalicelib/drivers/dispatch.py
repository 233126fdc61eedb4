"""What dispatch asks of drivers: the offer a driver holds, and the drivers' part of each dispatch transaction.

Dispatch composes one DynamoDB transaction across rides and drivers; the `*_in(tx, ...)` functions here add
the drivers' part to it, so a driver's item is only ever written by the drivers' domain.
"""

from datetime import datetime

from pynamodb.transactions import TransactWrite

from chalicelib.core.lazy import lazy_module
from chalicelib.drivers import rules
from chalicelib.drivers.listing import at_version, driver, list_in, unlist_in
from chalicelib.drivers.models import Driver, EarningsBucket
from chalicelib.drivers.rules import DriverStatus

rides = lazy_module("chalicelib.rides.service")  # rides imports drivers: read on first use, not at import


def offered_ride(driver_id: str) -> str | None:
    """The ride the driver holds an offer for, if any."""
    found = driver(driver_id)
    return found.offer_ride_id if found.status == DriverStatus.OFFERED else None


def offer_in(tx: TransactWrite, driver_id: str, ride_id: str, service: str, expires_at: datetime,
             now: datetime) -> None:
    """Take an available driver of `service` for one offer: fails the transaction if someone took them first."""
    available = (Driver.status == DriverStatus.AVAILABLE) & Driver.services.contains(service)
    tx.update(Driver(driver_id), condition=available, actions=[
        Driver.status.set(DriverStatus.OFFERED), Driver.offer_ride_id.set(ride_id),
        Driver.offer_expires_at.set(expires_at), Driver.available_since.remove(), Driver.updated_at.set(now),
        Driver.version.add(1)])
    unlist_in(tx, driver_id)


def accept_in(tx: TransactWrite, driver_id: str, ride_id: str, now: datetime) -> None:
    """The offered driver takes the ride: offered -> busy."""
    tx.update(Driver(driver_id), condition=(Driver.status == DriverStatus.OFFERED) & (Driver.offer_ride_id == ride_id),
              actions=[Driver.status.set(DriverStatus.BUSY), Driver.ride_id.set(ride_id), Driver.offer_ride_id.remove(),
                       Driver.offer_expires_at.remove(), Driver.updated_at.set(now), Driver.version.add(1)])


def release_in(tx: TransactWrite, driver_id: str, ride_id: str, now: datetime) -> None:
    """The driver is done with `ride_id` (declined, expired, cancelled or completed): available again.

    The driver is listed for the services and in the cell read here, so the transaction fails if any of
    them changed before it is written: the caller decides again.
    """
    held = driver(driver_id)
    holds_ride = (Driver.offer_ride_id == ride_id) | (Driver.ride_id == ride_id)
    tx.update(Driver(driver_id), condition=(Driver.status.is_in(DriverStatus.OFFERED, DriverStatus.BUSY) & holds_ride
                                            & at_version(held.version)), actions=[
        Driver.status.set(DriverStatus.AVAILABLE), Driver.available_since.set(now), Driver.offer_ride_id.remove(),
        Driver.offer_expires_at.remove(), Driver.ride_id.remove(), Driver.updated_at.set(now), Driver.version.add(1),
        *active_today_in(tx, held, now)])
    list_in(tx, driver_id, held.services, held.cell, now, held.affiliation)


def active_today_in(tx: TransactWrite, became_available: Driver, now: datetime) -> list:
    """The driver becomes available `now`: on their first time this UTC day, count them in the fairness
    report's `drivers` within `tx`, and return the action that marks the day on the driver (the caller's
    write of the driver, guarded by its version, makes the count happen once)."""
    today = rules.day_key(now)
    if became_available.active_day == today:
        return []
    rides.active_in(tx, became_available.driver_id, became_available.services,
                    became_available.affiliation or rules.INDEPENDENT, now)
    return [Driver.active_day.set(today)]


def earn_in(tx: TransactWrite, driver_id: str, at: datetime, amount_krw: int) -> None:
    """Add a completed ride's payout to the driver's bucket of that hour."""
    tx.update(EarningsBucket(driver_id, rules.hour_key(at)),
              actions=[EarningsBucket.total_krw.add(amount_krw), EarningsBucket.rides.add(1)])
