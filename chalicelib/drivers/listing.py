"""How available drivers are listed for dispatch: the geo-index spots, the version that guards them, and
the candidates near a pickup.

The spots are derived from the driver's status, available_since, services, cell and affiliation (carried for
the dispatch record, never ranked on): each write of those
adds one to the driver's `version`, and each write of spots holds only if the version is still the one it read.
"""

from pynamodb.expressions.condition import Condition
from pynamodb.transactions import TransactWrite

from chalicelib.core.dynamo import get_or_404
from chalicelib.drivers import rules
from chalicelib.drivers.models import Driver, DriverSpot
from chalicelib.drivers.rules import Candidate, Weighed

NEAR_LIMIT = 10
WIDE_LIMIT = 20
SERVICES = ("taxi", "designated")


def driver(driver_id: str) -> Driver:
    """The driver as stored now (a consistent read: what versioned writes build on), or a 404."""
    return get_or_404(Driver, driver_id, "no driver profile: create it with PUT /drivers/me", consistent_read=True)


def at_version(version) -> Condition:
    """The driver is still as read: nothing changed what their geo-index spots depend on since.

    Every write of status, available_since, services or cell adds one to `version`; an item written
    before versions existed has none, which counts as 0.
    """
    if int(version or 0) == 0:
        return Driver.version.does_not_exist() | (Driver.version == 0)
    return Driver.version == version


def find_candidates(service: str, lat: float, lng: float, excluded: set[str]) -> list[Candidate]:
    """Available drivers of `service` near the pickup, in offer order; reads a bounded number of items."""
    return [w.candidate for w in weigh_candidates(service, lat, lng, excluded) if not w.declined]


def weigh_candidates(service: str, lat: float, lng: float, excluded: set[str]) -> list[Weighed]:
    """The candidates one dispatch decision weighs, excluded ones marked, in offer order (what it records).

    The pickup's own cell first; the wider areas only when nobody there may be offered the ride. Everything
    recorded comes from the geo-index spots read here: no extra read.
    """
    pickup = rules.cell_of(lat, lng)
    near = DriverSpot.by_cell.query(rules.cell_key(service, pickup), limit=NEAR_LIMIT)
    weighed = rules.weigh_candidates(pickup, [_candidate(s) for s in near], excluded)
    if any(not w.declined for w in weighed):
        return weighed
    wide = [spot for area in rules.search_areas(pickup)
            for spot in DriverSpot.by_area.query(f"{service}#{area}", limit=WIDE_LIMIT)]
    return rules.weigh_candidates(pickup, [_candidate(s) for s in wide], excluded)


def list_in(tx: TransactWrite, driver_id: str, services: set[str], cell: str, available_since,
            affiliation: str | None = None) -> None:
    """List the driver in `cell` for each of `services` (and unlist them for the others) within `tx`."""
    for service in SERVICES:
        if service in services:
            tx.save(DriverSpot(driver_id, service, cell=cell, cell_key=rules.cell_key(service, cell),
                               area_key=rules.area_key(service, cell),
                               idle_key=rules.idle_key(available_since, driver_id), available_since=available_since,
                               affiliation=affiliation or rules.INDEPENDENT,
                               services={s for s in services if s in SERVICES}))
        else:
            tx.delete(DriverSpot(driver_id, service))


def unlist_in(tx: TransactWrite, driver_id: str) -> None:
    """Take the driver off the geo index for every service within `tx`."""
    for service in SERVICES:
        tx.delete(DriverSpot(driver_id, service))


def _candidate(spot: DriverSpot) -> Candidate:
    return Candidate(driver_id=spot.driver_id, cell=spot.cell, available_since=spot.available_since,
                     affiliation=spot.affiliation or rules.INDEPENDENT,
                     services=frozenset(spot.services or {spot.service}))
