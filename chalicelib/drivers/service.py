"""What drivers do: their profile, going online and offline, their location and earnings; and the one door
other domains use for drivers (what dispatch asks of them, what batch jobs read, ratings and complaints).

Every write is a partial update of what its writer owns (the profile its fields, dispatch the status and
the offer or ride, the driver's app the position), never a save of an item read earlier. A write that
changes what the geo-index spots depend on is guarded by the driver's version (see `listing`); one that
lost a race is read and decided again (see `races`).
"""

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import TypeVar

from pynamodb.exceptions import DoesNotExist

from chalicelib.core.dynamo import transaction
from chalicelib.core.errors import Conflict
from chalicelib.core.lazy import lazy_module
from chalicelib.drivers import rules
from chalicelib.drivers.dispatch import accept_in, active_today_in, earn_in, offer_in, offered_ride, release_in
from chalicelib.drivers.fleet import drivers_of, hourly_earnings, scan_segments, was_online
from chalicelib.drivers.listing import at_version, driver, find_candidates, list_in, unlist_in, weigh_candidates
from chalicelib.drivers.models import Driver, EarningsBucket, OnlineSession
from chalicelib.drivers.races import RACE_ATTEMPTS, LostRace, decided_again, lost_race_on_condition
from chalicelib.drivers.rules import DriverStatus
from chalicelib.drivers.schemas import DriverOut, DriverProfileIn, DriverStatusIn, EarningsOut

__all__ = [  # the door: what other domains may use, besides the drivers' own actions below
    "LostRace", "accept_in", "decided_again", "drivers_of", "earn_in", "find_candidates", "hourly_earnings",
    "lost_race_on_condition", "offer_in", "offered_ride", "release_in", "scan_segments", "was_online",
    "weigh_candidates",
]

rides = lazy_module("chalicelib.rides.service")  # rides imports drivers: read on first use, not at import

SESSIONS_KEPT = timedelta(days=400)
PROFILE_CHANGED = "your profile changed meanwhile; try again"
STATUS_CHANGED = "your status changed meanwhile; try again"
RATING_ATTEMPTS = 5
T = TypeVar("T")


def save_profile(driver_id: str, profile: DriverProfileIn, now: datetime) -> DriverOut:
    """Create or update the caller's profile; never changes their dispatch state (status, offer, ride).

    An available driver whose services change is re-listed in the same write.
    """
    return _raced(lambda: _save_profile(driver_id, profile, now), PROFILE_CHANGED)


def set_status(driver_id: str, change: DriverStatusIn, now: datetime) -> DriverOut:
    """Go online (listed for dispatch at the given position) or offline (unlisted)."""
    if change.status == "online":
        return _raced(lambda: _go_online(driver_id, change.lat, change.lng, now), STATUS_CHANGED)
    return _raced(lambda: _go_offline(driver_id, now), STATUS_CHANGED)


def update_location(driver_id: str, lat: float, lng: float, now: datetime) -> DriverOut:
    """Record the driver's position; the geo index is rewritten only when an available driver changes cell."""
    return _raced(lambda: _move(driver(driver_id), lat, lng, now), STATUS_CHANGED)


def profile(driver_id: str) -> DriverOut:
    """The caller's profile and status."""
    return view(driver(driver_id))


def earnings(driver_id: str, start: datetime, end: datetime) -> EarningsOut:
    """Earnings of the UTC hours from `start` up to `end`, from the hourly buckets."""
    hours = EarningsBucket.hour.between(rules.hour_key(start), rules.hour_key(end))
    buckets = list(EarningsBucket.query(driver_id, hours))
    return EarningsOut(total_krw=sum(int(b.total_krw) for b in buckets), rides=sum(int(b.rides) for b in buckets),
                       hours=[{"hour": b.hour, "total_krw": int(b.total_krw), "rides": int(b.rides)} for b in buckets])


def dispatch_log(driver_id: str, start: datetime, end: datetime, limit: int, cursor: str | None) -> dict:
    """The dispatch decisions the driver was a candidate in (`{items, next}`), never naming other drivers."""
    return rides.dispatch_log(driver_id, start, end, limit, cursor)


def record_rating(driver_id: str, stars: int) -> None:
    """Fold one rating into the driver's rolling rating (read, then write if nobody wrote meanwhile)."""
    _raced(lambda: _rate(driver(driver_id), stars), "the rating could not be recorded; try again", RATING_ATTEMPTS)


def record_complaint(driver_id: str) -> int:
    """Count a complaint against the driver; returns the driver's complaint count."""
    complained = Driver(driver_id)
    complained.update(actions=[Driver.complaint_count.add(1)])
    return int(complained.complaint_count)


def view(shown: Driver) -> DriverOut:
    """The driver as API.md shows them."""
    position = {"lat": float(shown.lat), "lng": float(shown.lng)} if shown.lat is not None else None
    return DriverOut(driver_id=shown.driver_id, name=shown.name, services=sorted(shown.services),
                     region=shown.region, affiliation=_affiliation(shown), status=shown.status, position=position,
                     rating=float(shown.rating) if shown.rating is not None else None,
                     rating_count=int(shown.rating_count), complaint_count=int(shown.complaint_count))


def _raced(decide: Callable[[], T], message: str, attempts: int = RACE_ATTEMPTS) -> T:
    """Decide again while a write of `decide` loses a race; after the last loss, a 409 saying `message`."""
    def once() -> T:
        with lost_race_on_condition(message):
            return decide()
    return decided_again(once, attempts)


def _save_profile(driver_id: str, profile: DriverProfileIn, now: datetime) -> DriverOut:
    found, services = _found(driver_id), set(profile.services)
    if found is None:
        found = Driver(driver_id, name=profile.name, services=services, region=profile.region,
                       affiliation=profile.affiliation, status=DriverStatus.OFFLINE, created_at=now, updated_at=now)
        found.save(condition=Driver.driver_id.does_not_exist())
        return view(found)
    actions = [Driver.name.set(profile.name), Driver.region.set(profile.region), Driver.updated_at.set(now)]
    if services == set(found.services) and profile.affiliation == _affiliation(found):
        found.update(condition=at_version(found.version), actions=actions)
        return view(found)
    # the spots carry the affiliation for the dispatch record: a change re-lists them like a change of services
    actions += [Driver.services.set(services), Driver.affiliation.set(profile.affiliation), Driver.version.add(1)]
    found.affiliation = profile.affiliation
    _write(found, at_version(found.version), actions,
           listed_for=services if found.status == DriverStatus.AVAILABLE else None)
    found.name, found.services, found.region, found.updated_at = profile.name, services, profile.region, now
    return view(found)


def _go_online(driver_id: str, lat: float, lng: float, now: datetime) -> DriverOut:
    offline = driver(driver_id)
    if offline.status != DriverStatus.OFFLINE:
        return _move(offline, lat, lng, now)
    session = OnlineSession(driver_id, rules.session_key(now), started_at=now, expires_at=now + SESSIONS_KEPT)
    cell = rules.cell_of(lat, lng)
    with transaction() as tx:
        tx.update(Driver(driver_id), condition=(Driver.status == DriverStatus.OFFLINE) & at_version(offline.version),
                  actions=[Driver.status.set(DriverStatus.AVAILABLE), Driver.available_since.set(now),
                           Driver.online_since.set(session.started_key), *_position(lat, lng, now),
                           Driver.cell.set(cell), Driver.version.add(1), *active_today_in(tx, offline, now)])
        tx.save(session)
        list_in(tx, driver_id, offline.services, cell, now, offline.affiliation)
    _place(offline, lat, lng, now)
    offline.status, offline.available_since = DriverStatus.AVAILABLE, now
    return view(offline)


def _go_offline(driver_id: str, now: datetime) -> DriverOut:
    online = driver(driver_id)
    if online.status in (DriverStatus.OFFERED, DriverStatus.BUSY):
        raise Conflict(f"you are {online.status}: decline or finish the ride before going offline")
    if online.status == DriverStatus.AVAILABLE:
        with transaction() as tx:
            tx.update(Driver(driver_id), condition=(Driver.status == DriverStatus.AVAILABLE)
                      & at_version(online.version), actions=[
                Driver.status.set(DriverStatus.OFFLINE), Driver.available_since.remove(),
                Driver.online_since.remove(), Driver.updated_at.set(now), Driver.version.add(1)])
            if online.online_since:
                tx.update(OnlineSession(driver_id, online.online_since), actions=[OnlineSession.ended_at.set(now)])
            unlist_in(tx, driver_id)
            rides.availability_in(tx, driver_id, online.services, _affiliation(online), online.available_since, now)
        online.status = DriverStatus.OFFLINE
    return view(online)


def _move(moved: Driver, lat: float, lng: float, now: datetime) -> DriverOut:
    cell = rules.cell_of(lat, lng)
    if cell == moved.cell:  # spots hold the cell only: nothing else depends on the exact position
        moved.update(condition=Driver.cell == cell, actions=_position(lat, lng, now))
        return view(moved)
    listed_for = moved.services if moved.status == DriverStatus.AVAILABLE else None
    moved.cell = cell
    _write(moved, at_version(moved.version), [*_position(lat, lng, now), Driver.cell.set(cell),
                                              Driver.version.add(1)], listed_for=listed_for)
    _place(moved, lat, lng, now)
    return view(moved)


def _rate(rated: Driver, stars: int) -> None:
    previous = int(rated.rating_count)
    recent, average = rules.rolling_rating([int(s) for s in rated.recent_ratings], stars)
    rated.update(condition=Driver.rating_count == previous, actions=[
        Driver.recent_ratings.set(recent), Driver.rating.set(float(average)), Driver.rating_count.set(previous + 1)])


def _write(written: Driver, condition, actions: list, listed_for: set[str] | None) -> None:
    """Update the driver; when `listed_for` services are given, re-list them in the same transaction."""
    if listed_for is None:
        Driver(written.driver_id).update(condition=condition, actions=actions)
        return
    with transaction() as tx:
        tx.update(Driver(written.driver_id), condition=condition, actions=actions)
        list_in(tx, written.driver_id, listed_for, written.cell, written.available_since, written.affiliation)


def _affiliation(of: Driver) -> str:
    return of.affiliation or rules.INDEPENDENT


def _found(driver_id: str) -> Driver | None:
    try:
        return Driver.get(driver_id, consistent_read=True)
    except DoesNotExist:
        return None


def _position(lat: float, lng: float, now: datetime) -> list:
    return [Driver.lat.set(lat), Driver.lng.set(lng), Driver.position_at.set(now), Driver.updated_at.set(now)]


def _place(placed: Driver, lat: float, lng: float, now: datetime) -> None:
    placed.lat, placed.lng, placed.cell, placed.position_at, placed.updated_at = (
        lat, lng, rules.cell_of(lat, lng), now, now)
