"""What drivers do (profile, online/offline, location, earnings) and what dispatch asks of them.

Dispatch composes one DynamoDB transaction across rides and drivers; the `*_in(tx, ...)` functions
here add the drivers' part to it, so the driver's item is only ever written by this module.

Every write is a partial update of what its writer owns (the profile its fields, dispatch the status and
the offer or ride, the driver's app the position), never a save of an item read earlier. The geo-index
spots are derived from status, available_since, services and cell: each write of those adds one to the
driver's `version`, and each write of spots holds only if the version is still the one it read.
"""

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import TypeVar

from pynamodb.exceptions import DoesNotExist, PutError, TransactWriteError, UpdateError
from pynamodb.expressions.condition import Condition
from pynamodb.transactions import TransactWrite

from chalicelib.core.dynamo import failed_on_condition, get_or_404, transaction
from chalicelib.core.errors import Conflict
from chalicelib.drivers import rules
from chalicelib.drivers.models import Driver, DriverSpot, EarningsBucket, OnlineSession
from chalicelib.drivers.rules import Candidate, DriverStatus
from chalicelib.drivers.schemas import DriverOut, DriverProfileIn, DriverStatusIn, EarningsOut

NEAR_LIMIT = 10
WIDE_LIMIT = 20
SERVICES = ("taxi", "designated")
SESSIONS_KEPT = timedelta(days=400)
RACE_ATTEMPTS = 4  # a driver's write that lost a race is read and decided again this many times, then 409
T = TypeVar("T")


def save_profile(driver_id: str, profile: DriverProfileIn, now: datetime) -> DriverOut:
    """Create or update the caller's profile; never changes their dispatch state (status, offer, ride).

    An available driver whose services change is re-listed in the same write.
    """
    return _decided_again(lambda: _save_profile(driver_id, profile, now), "your profile changed meanwhile; try again")


def set_status(driver_id: str, change: DriverStatusIn, now: datetime) -> DriverOut:
    """Go online (listed for dispatch at the given position) or offline (unlisted)."""
    if change.status == "online":
        return _decided_again(lambda: _go_online(driver_id, change.lat, change.lng, now),
                              "your status changed meanwhile; try again")
    return _decided_again(lambda: _go_offline(driver_id, now), "your status changed meanwhile; try again")


def update_location(driver_id: str, lat: float, lng: float, now: datetime) -> DriverOut:
    """Record the driver's position; the geo index is rewritten only when an available driver changes cell."""
    return _decided_again(lambda: _move(driver_id, lat, lng, now), "your status changed meanwhile; try again")


def profile(driver_id: str) -> DriverOut:
    """The caller's profile and status."""
    return view(_driver(driver_id))


def earnings(driver_id: str, start: datetime, end: datetime) -> EarningsOut:
    """Earnings of the UTC hours from `start` up to `end`, from the hourly buckets."""
    buckets = list(EarningsBucket.query(driver_id, EarningsBucket.hour.between(_hour(start), _hour(end))))
    return EarningsOut(total_krw=sum(int(b.total_krw) for b in buckets), rides=sum(int(b.rides) for b in buckets),
                       hours=[{"hour": b.hour, "total_krw": int(b.total_krw), "rides": int(b.rides)} for b in buckets])


def hourly_earnings(driver_id: str, start: datetime, end: datetime) -> dict[datetime, int]:
    """The start of each UTC hour touching [start, end) -> KRW earned in it; one read (compensation uses this)."""
    hours = EarningsBucket.hour.between(_hour(start), _hour(end - timedelta(microseconds=1)))
    return {datetime.strptime(b.hour, "%Y-%m-%dT%H").replace(tzinfo=UTC): int(b.total_krw)
            for b in EarningsBucket.query(driver_id, hours)}


def scan_segments(drivers_per_segment: int = 20_000, most: int = 16) -> int:
    """How many parallel scan segments suit the fleet (DynamoDB's item count, refreshed about every 6 hours)."""
    count = int(Driver.describe_table().get("ItemCount", 0))
    return max(1, min(most, count // drivers_per_segment))


def drivers_of(service: str, cursor: dict | None, limit: int) -> tuple[list[str], dict | None]:
    """A page of the ids of drivers offering `service` (a scan: for batch jobs, never a request path).

    `cursor` is None (the whole table from the start), a cursor this function returned, or
    `{"segment": n, "of": total, "key": None}` to start one of `total` parallel segments.
    """
    segment = cursor if cursor and "segment" in cursor else None
    found = Driver.scan(Driver.services.contains(service), limit=limit, page_size=limit,
                        segment=segment["segment"] if segment else None,
                        total_segments=segment["of"] if segment else None,
                        last_evaluated_key=segment["key"] if segment else cursor, attributes_to_get=["driver_id"])
    ids, last_key = [driver.driver_id for driver in found], found.last_evaluated_key
    if segment and last_key is not None:
        return ids, {**segment, "key": last_key}
    return ids, last_key


def was_online(driver_id: str, start: datetime, end: datetime) -> bool:
    """Whether the driver was online at some moment in [start, end); one read."""
    latest = next(iter(OnlineSession.query(driver_id, OnlineSession.started_key < _session_key(end),
                                           scan_index_forward=False, limit=1)), None)
    return latest is not None and rules.overlaps(latest.started_at, latest.ended_at, start, end)


def offered_ride(driver_id: str) -> str | None:
    """The ride the driver holds an offer for, if any."""
    driver = _driver(driver_id)
    return driver.offer_ride_id if driver.status == DriverStatus.OFFERED else None


def find_candidates(service: str, lat: float, lng: float, excluded: set[str]) -> list[Candidate]:
    """Available drivers of `service` near the pickup, in offer order; reads a bounded number of items."""
    pickup = rules.cell_of(lat, lng)
    near = DriverSpot.by_cell.query(rules.cell_key(service, pickup), limit=NEAR_LIMIT)
    ranked = rules.rank_candidates(pickup, [_candidate(s) for s in near], excluded)
    if ranked:
        return ranked
    wide = [spot for area in rules.search_areas(pickup)
            for spot in DriverSpot.by_area.query(f"{service}#{area}", limit=WIDE_LIMIT)]
    return rules.rank_candidates(pickup, [_candidate(s) for s in wide], excluded)


def offer_in(tx: TransactWrite, driver_id: str, ride_id: str, service: str, expires_at: datetime,
             now: datetime) -> None:
    """Take an available driver of `service` for one offer: fails the transaction if someone took them first."""
    available = (Driver.status == DriverStatus.AVAILABLE) & Driver.services.contains(service)
    tx.update(Driver(driver_id), condition=available, actions=[
        Driver.status.set(DriverStatus.OFFERED), Driver.offer_ride_id.set(ride_id),
        Driver.offer_expires_at.set(expires_at), Driver.available_since.remove(), Driver.updated_at.set(now),
        Driver.version.add(1)])
    _unlist_in(tx, driver_id)


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
    driver = _driver(driver_id)
    holds_ride = (Driver.offer_ride_id == ride_id) | (Driver.ride_id == ride_id)
    tx.update(Driver(driver_id), condition=(Driver.status.is_in(DriverStatus.OFFERED, DriverStatus.BUSY) & holds_ride
                                            & _at_version(driver.version)), actions=[
        Driver.status.set(DriverStatus.AVAILABLE), Driver.available_since.set(now), Driver.offer_ride_id.remove(),
        Driver.offer_expires_at.remove(), Driver.ride_id.remove(), Driver.updated_at.set(now), Driver.version.add(1)])
    _list_in(tx, driver_id, driver.services, driver.cell, now)


def earn_in(tx: TransactWrite, driver_id: str, at: datetime, amount_krw: int) -> None:
    """Add a completed ride's payout to the driver's bucket of that hour."""
    tx.update(EarningsBucket(driver_id, _hour(at)),
              actions=[EarningsBucket.total_krw.add(amount_krw), EarningsBucket.rides.add(1)])


def record_rating(driver_id: str, stars: int) -> None:
    """Fold one rating into the driver's rolling rating (read, then write if nobody wrote meanwhile)."""
    for _ in range(5):
        driver = _driver(driver_id)
        previous = int(driver.rating_count)
        recent, average = rules.rolling_rating([int(s) for s in driver.recent_ratings], stars)
        try:
            driver.update(condition=Driver.rating_count == previous, actions=[
                Driver.recent_ratings.set(recent), Driver.rating.set(float(average)),
                Driver.rating_count.set(previous + 1)])
            return
        except UpdateError as exc:
            if exc.cause_response_code != "ConditionalCheckFailedException":
                raise
    raise Conflict("the rating could not be recorded; try again")


def record_complaint(driver_id: str) -> int:
    """Count a complaint against the driver; returns the driver's complaint count."""
    driver = Driver(driver_id)
    driver.update(actions=[Driver.complaint_count.add(1)])
    return int(driver.complaint_count)


def view(driver: Driver) -> DriverOut:
    position = {"lat": float(driver.lat), "lng": float(driver.lng)} if driver.lat is not None else None
    return DriverOut(driver_id=driver.driver_id, name=driver.name, services=sorted(driver.services),
                     region=driver.region, status=driver.status, position=position,
                     rating=float(driver.rating) if driver.rating is not None else None,
                     rating_count=int(driver.rating_count), complaint_count=int(driver.complaint_count))


def _save_profile(driver_id: str, profile: DriverProfileIn, now: datetime) -> DriverOut:
    driver, services = _found(driver_id), set(profile.services)
    if driver is None:
        driver = Driver(driver_id, name=profile.name, services=services, region=profile.region,
                        status=DriverStatus.OFFLINE, created_at=now, updated_at=now)
        driver.save(condition=Driver.driver_id.does_not_exist())
        return view(driver)
    actions = [Driver.name.set(profile.name), Driver.region.set(profile.region), Driver.updated_at.set(now)]
    if services == set(driver.services):
        driver.update(condition=_at_version(driver.version), actions=actions)
        return view(driver)
    actions += [Driver.services.set(services), Driver.version.add(1)]
    _write(driver, _at_version(driver.version), actions,
           listed_for=services if driver.status == DriverStatus.AVAILABLE else None)
    driver.name, driver.services, driver.region, driver.updated_at = profile.name, services, profile.region, now
    return view(driver)


def _go_online(driver_id: str, lat: float, lng: float, now: datetime) -> DriverOut:
    driver = _driver(driver_id)
    if driver.status != DriverStatus.OFFLINE:
        return update_location(driver_id, lat, lng, now)
    session = OnlineSession(driver_id, _session_key(now), started_at=now, expires_at=now + SESSIONS_KEPT)
    cell = rules.cell_of(lat, lng)
    with transaction() as tx:
        tx.update(Driver(driver_id), condition=(Driver.status == DriverStatus.OFFLINE) & _at_version(driver.version),
                  actions=[Driver.status.set(DriverStatus.AVAILABLE), Driver.available_since.set(now),
                           Driver.online_since.set(session.started_key), *_position(lat, lng, now),
                           Driver.cell.set(cell), Driver.version.add(1)])
        tx.save(session)
        _list_in(tx, driver_id, driver.services, cell, now)
    _place(driver, lat, lng, now)
    driver.status, driver.available_since = DriverStatus.AVAILABLE, now
    return view(driver)


def _go_offline(driver_id: str, now: datetime) -> DriverOut:
    driver = _driver(driver_id)
    if driver.status in (DriverStatus.OFFERED, DriverStatus.BUSY):
        raise Conflict(f"you are {driver.status}: decline or finish the ride before going offline")
    if driver.status == DriverStatus.AVAILABLE:
        with transaction() as tx:
            tx.update(Driver(driver_id), condition=(Driver.status == DriverStatus.AVAILABLE)
                      & _at_version(driver.version), actions=[
                Driver.status.set(DriverStatus.OFFLINE), Driver.available_since.remove(),
                Driver.online_since.remove(), Driver.updated_at.set(now), Driver.version.add(1)])
            if driver.online_since:
                tx.update(OnlineSession(driver_id, driver.online_since), actions=[OnlineSession.ended_at.set(now)])
            _unlist_in(tx, driver_id)
        driver.status = DriverStatus.OFFLINE
    return view(driver)


def _move(driver_id: str, lat: float, lng: float, now: datetime) -> DriverOut:
    driver = _driver(driver_id)
    cell = rules.cell_of(lat, lng)
    if cell == driver.cell:  # spots hold the cell only: nothing else depends on the exact position
        driver.update(condition=Driver.cell == cell, actions=_position(lat, lng, now))
        return view(driver)
    listed_for = driver.services if driver.status == DriverStatus.AVAILABLE else None
    driver.cell = cell
    _write(driver, _at_version(driver.version), [*_position(lat, lng, now), Driver.cell.set(cell),
                                                 Driver.version.add(1)], listed_for=listed_for)
    _place(driver, lat, lng, now)
    return view(driver)


def _write(driver: Driver, condition, actions: list, listed_for: set[str] | None) -> None:
    """Update the driver; when `listed_for` services are given, re-list them in the same transaction."""
    if listed_for is None:
        Driver(driver.driver_id).update(condition=condition, actions=actions)
        return
    with transaction() as tx:
        tx.update(Driver(driver.driver_id), condition=condition, actions=actions)
        _list_in(tx, driver.driver_id, listed_for, driver.cell, driver.available_since)


def _decided_again(decide: Callable[[], T], message: str) -> T:
    """Run `decide` (read the driver, then write on condition) again while its write loses a race; then 409."""
    for _ in range(RACE_ATTEMPTS):
        try:
            return decide()
        except (PutError, UpdateError, TransactWriteError) as exc:
            if not failed_on_condition(exc):
                raise
    raise Conflict(message)


def _at_version(version) -> Condition:
    """The driver is still as read: nothing changed what their geo-index spots depend on since.

    Every write of status, available_since, services or cell adds one to `version`; an item written
    before versions existed has none, which counts as 0.
    """
    if int(version or 0) == 0:
        return Driver.version.does_not_exist() | (Driver.version == 0)
    return Driver.version == version


def _driver(driver_id: str) -> Driver:
    return get_or_404(Driver, driver_id, "no driver profile: create it with PUT /drivers/me", consistent_read=True)


def _found(driver_id: str) -> Driver | None:
    try:
        return Driver.get(driver_id, consistent_read=True)
    except DoesNotExist:
        return None


def _position(lat: float, lng: float, now: datetime) -> list:
    return [Driver.lat.set(lat), Driver.lng.set(lng), Driver.position_at.set(now), Driver.updated_at.set(now)]


def _place(driver: Driver, lat: float, lng: float, now: datetime) -> None:
    driver.lat, driver.lng, driver.cell, driver.position_at, driver.updated_at = (
        lat, lng, rules.cell_of(lat, lng), now, now)


def _list_in(tx: TransactWrite, driver_id: str, services: set[str], cell: str, available_since: datetime) -> None:
    for service in SERVICES:
        if service in services:
            tx.save(DriverSpot(driver_id, service, cell=cell, cell_key=rules.cell_key(service, cell),
                               area_key=rules.area_key(service, cell),
                               idle_key=rules.idle_key(available_since, driver_id), available_since=available_since))
        else:
            tx.delete(DriverSpot(driver_id, service))


def _unlist_in(tx: TransactWrite, driver_id: str) -> None:
    for service in SERVICES:
        tx.delete(DriverSpot(driver_id, service))


def _candidate(spot: DriverSpot) -> Candidate:
    return Candidate(driver_id=spot.driver_id, cell=spot.cell, available_since=spot.available_since)


def _session_key(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _hour(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H")
