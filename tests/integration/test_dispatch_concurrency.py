"""Dispatch in a rush: many riders request at once against few drivers, from several threads, against a
real moto server over HTTP; then drivers accept, decline and finish rides while riders cancel and the
expire-rides job re-dispatches, all at the same time.

Each thread plays what would be a separate Lambda invocation, so the app's own races (read the ride or
the driver, then write it with a condition) are all open. The moto server handles one request at a time:
DynamoDB makes each request, a transaction included, atomic, but moto's threaded server does not (a
failed transaction restores a copy of the whole table taken before it started, undoing writes that
other requests made meanwhile), and this test is about the app, not about moto.
"""

import threading
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

from chalicelib.core.auth import Caller
from chalicelib.core.errors import Conflict
from chalicelib.drivers import service as drivers
from chalicelib.drivers.models import Driver, DriverSpot
from chalicelib.drivers.rules import DriverStatus
from chalicelib.drivers.schemas import DriverProfileIn, DriverStatusIn
from chalicelib.rides import service as rides
from chalicelib.rides.models import Ride
from chalicelib.rides.rules import WITH_DRIVER, RideStatus
from chalicelib.rides.schemas import Cancellation, Completion, RideRequest

SEOUL_CITY_HALL = {"lat": 37.5663, "lng": 126.9779}
NEAR_CITY_HALL = {"lat": 37.5668, "lng": 126.9785}
GANGNAM = {"lat": 37.4979, "lng": 127.0276}
DRIVERS = [f"driver-{n}" for n in range(4)]
RIDERS = [f"rider-{n:02d}" for n in range(24)]
LATER_CANCELLING = RIDERS[1::3]  # besides the riders of half the first offers, who cancel at once
JOBS = 2  # overlapping runs of the expire-rides job
THREADS = 8
RIDES_PER_DRIVER = 3
SHIFT_S = 10.0
LOST_RACE = "409"
ON_THE_ROAD = frozenset({RideStatus.ACCEPTED, RideStatus.ARRIVED, RideStatus.IN_PROGRESS})
OPEN = frozenset({RideStatus.SEARCHING, RideStatus.OFFERED})


def now() -> datetime:
    return datetime.now(UTC)


def unless_lost(action: Callable, *args) -> object:
    """`action(*args)`, or LOST_RACE when it was a 409 (someone acted first); any other error fails the test."""
    try:
        return action(*args)
    except Conflict:
        return LOST_RACE


def all_at_once(tasks: list[Callable[[], object]], threads: int = THREADS) -> list:
    """Run the tasks from `threads` threads, released together; their results in order (an error re-raises)."""
    start = threading.Event()

    def when_started(task):
        start.wait()
        return task()

    with ThreadPoolExecutor(threads) as pool:
        futures = [pool.submit(when_started, task) for task in tasks]
        start.set()
        return [future.result() for future in futures]


class Watcher(threading.Thread):
    """Scans the rides table over and over while the rush goes on; remembers any moment a driver held two rides.

    The server handles one request at a time and the table fits in one page, so each scan is one moment.
    """

    def __init__(self):
        super().__init__(daemon=True)
        self.stopping = threading.Event()
        self.double_booked: list[dict[str, list[str]]] = []
        self.scans = 0
        self.error: BaseException | None = None

    def run(self):
        try:
            while not self.stopping.is_set():
                held = drivers_holding(list(Ride.scan()))
                doubles = {driver: ids for driver, ids in held.items() if len(ids) > 1}
                if doubles:
                    self.double_booked.append(doubles)
                self.scans += 1
                time.sleep(0.01)
        except BaseException as exc:  # reported by the test, not lost in the thread
            self.error = exc

    def stop(self) -> "Watcher":
        self.stopping.set()
        self.join(timeout=30)
        return self


def drivers_holding(all_rides: list[Ride]) -> dict[str, list[str]]:
    """Driver id -> the rides offered to them or being driven by them."""
    held: dict[str, list[str]] = {}
    for ride in all_rides:
        if ride.status in WITH_DRIVER:
            held.setdefault(ride.driver_id, []).append(ride.ride_id)
    return held


def online_driver(driver_id: str, at: dict) -> None:
    drivers.save_profile(driver_id, DriverProfileIn(name=driver_id, services=["taxi"]), now())
    assert drivers.set_status(driver_id, DriverStatusIn(status="online", **at), now()).status == "available"


def request_taxi(rider_id: str) -> dict:
    ride = RideRequest(service="taxi", pickup=SEOUL_CITY_HALL, dropoff=GANGNAM)
    return rides.request_ride(rider_id, ride, None, now())


class Journal:
    """What each actor was told, kept from all threads."""

    def __init__(self):
        self.lock = threading.Lock()
        self.told: dict[str, tuple[str, RideStatus]] = {}  # ride -> (driver, the last status the driver moved it to)
        self.cancelled: set[str] = set()  # rides whose rider was told "cancelled"
        self.outcomes: Counter[str] = Counter()

    def note(self, what: str, result: object) -> bool:
        """Count the outcome of `what`; True when it went through."""
        with self.lock:
            self.outcomes[f"{what} {'lost' if result == LOST_RACE else 'ok'}"] += 1
        return result != LOST_RACE


TRIP = Completion(distance_m=9000, duration_s=1200)
DRIVING = {  # a driver's steps, in order, and the status each leads to
    "accept": (rides.accept, RideStatus.ACCEPTED),
    "arrive": (rides.arrive, RideStatus.ARRIVED),
    "start": (rides.start, RideStatus.IN_PROGRESS),
    "complete": (lambda driver_id, ride_id, at: rides.complete(driver_id, ride_id, TRIP, at), RideStatus.COMPLETED),
}


def drive_a_shift(driver_id: str, journal: Journal, declines_first: bool, last_ride_up_to: str) -> None:
    """Take offers as they come, RIDES_PER_DRIVER rides or until the shift ends; the last ride stops at
    `last_ride_up_to` (so drivers end busy in each status); `declines_first` passes on the first offer."""
    taken, declined, ends = 0, not declines_first, time.monotonic() + SHIFT_S
    while taken < RIDES_PER_DRIVER and time.monotonic() < ends:
        offers = unless_lost(rides.offers_for, driver_id, now())
        if not journal.note("look", offers) or not offers:
            time.sleep(0.02)
            continue
        ride_id = offers[0]["ride_id"]
        if not declined:
            declined = journal.note("decline", unless_lost(rides.decline, driver_id, ride_id, now()))
            continue
        up_to = last_ride_up_to if taken == RIDES_PER_DRIVER - 1 else "complete"
        for step, (action, status) in DRIVING.items():
            if not journal.note(step, unless_lost(action, driver_id, ride_id, now())):
                break  # the offer was lost, or the rider cancelled first
            with journal.lock:
                journal.told[ride_id] = (driver_id, status)
            if step == up_to:
                taken += 1
                break


def change_of_plans(rider_id: str, ride_id: str, journal: Journal, delay_s: float) -> None:
    time.sleep(delay_s)
    cancelled = unless_lost(rides.cancel, Caller(rider_id, "rider"), ride_id, Cancellation(), now())
    if journal.note("cancel", cancelled):
        assert cancelled["status"] == RideStatus.CANCELLED
        with journal.lock:
            journal.cancelled.add(ride_id)


def run_the_job(shift_over: threading.Event, journal: Journal) -> None:
    while not shift_over.is_set():
        summary = rides.expire_rides(now())
        journal.note("job", summary)
        time.sleep(0.05)


def test_a_rush_of_riders_never_gives_a_driver_two_rides_and_every_ride_ends_in_one_state(moto_server):
    online_driver(DRIVERS[0], SEOUL_CITY_HALL)
    for driver_id in DRIVERS[1:]:
        online_driver(driver_id, NEAR_CITY_HALL)
    watcher = Watcher()
    watcher.start()

    created = all_at_once([lambda rider_id=rider_id: request_taxi(rider_id) for rider_id in RIDERS])

    offered = [ride for ride in created if ride["status"] == RideStatus.OFFERED]
    assert {ride["status"] for ride in created} <= {RideStatus.OFFERED, RideStatus.SEARCHING}
    assert 1 <= len(offered) <= len(DRIVERS), "each driver holds at most one offer"
    assert len({ride["driver_id"] for ride in offered}) == len(offered), "no driver got two of the first offers"
    ride_of = dict(zip(RIDERS, (ride["ride_id"] for ride in created), strict=True))

    rider_of = {ride_id: rider_id for rider_id, ride_id in ride_of.items()}
    at_once = [rider_of[ride["ride_id"]] for ride in offered[::2]]
    later = [rider_id for rider_id in LATER_CANCELLING if rider_id not in at_once]
    journal, shift_over = Journal(), threading.Event()
    jobs = [threading.Thread(target=run_the_job, args=(shift_over, journal), daemon=True) for _ in range(JOBS)]
    for job in jobs:
        job.start()
    shifts = [lambda d=driver_id, n=n, up_to=up_to: drive_a_shift(d, journal, n == 0, up_to)
              for n, (driver_id, up_to) in enumerate(zip(DRIVERS, DRIVING, strict=True))]
    plans = [lambda r=rider_id, delay=delay: change_of_plans(r, ride_of[r], journal, delay)
             for rider_id, delay in [*((r, 0.0) for r in at_once), *((r, 0.2 * n) for n, r in enumerate(later))]]
    try:
        all_at_once(shifts + plans, threads=len(shifts) + len(plans))
    finally:
        shift_over.set()
        for job in jobs:
            job.join(timeout=30)
        watcher.stop()
    assert watcher.error is None, repr(watcher.error)
    assert not any(job.is_alive() for job in jobs)
    assert journal.outcomes["accept ok"] >= 1, journal.outcomes
    assert journal.outcomes["cancel ok"] >= 1, journal.outcomes

    all_rides = {ride.ride_id: ride for ride in Ride.scan()}
    all_drivers = {driver.driver_id: driver for driver in Driver.scan()}
    listed = {spot.driver_id for spot in DriverSpot.scan() if spot.service == "taxi"}

    # no driver is ever offered (or given) two rides: not at any moment the watcher saw, nor at the end
    assert watcher.scans > 0
    assert watcher.double_booked == []
    assert {driver: ids for driver, ids in drivers_holding(list(all_rides.values())).items() if len(ids) > 1} == {}

    # no ride was lost or made twice
    assert sorted(all_rides) == sorted(ride_of.values())
    assert {ride.ride_id: ride.rider_id for ride in all_rides.values()} == {v: k for k, v in ride_of.items()}

    # every ride is in exactly one valid state, and its fields agree with it
    for ride in all_rides.values():
        assert ride.status in set(RideStatus), ride.ride_id
        if ride.status == RideStatus.SEARCHING:
            assert (ride.driver_id, ride.offer_expires_at) == (None, None), ride.ride_id
        if ride.status == RideStatus.OFFERED:
            assert ride.driver_id in DRIVERS, ride.ride_id
            assert ride.offer_expires_at is not None, ride.ride_id
        assert (ride.open_key is not None) == (ride.status in OPEN), f"{ride.ride_id} {ride.status} {ride.open_key}"

    # every driver's status agrees with the rides
    for driver_id in DRIVERS:
        driver = all_drivers[driver_id]
        offers = [r.ride_id for r in all_rides.values() if r.status == RideStatus.OFFERED and r.driver_id == driver_id]
        trips = [r.ride_id for r in all_rides.values() if r.status in ON_THE_ROAD and r.driver_id == driver_id]
        seen = (driver_id, driver.status, driver.offer_ride_id, driver.ride_id, offers, trips)
        if driver.status == DriverStatus.OFFERED:
            assert (offers, trips) == ([driver.offer_ride_id], []), seen
        elif driver.status == DriverStatus.BUSY:
            assert (offers, trips) == ([], [driver.ride_id]), seen
        else:
            assert driver.status == DriverStatus.AVAILABLE, seen
            assert (offers, trips) == ([], []), seen
        assert (driver_id in listed) == (driver.status == DriverStatus.AVAILABLE), seen

    # what riders and drivers were told is what happened
    for ride_id in journal.cancelled:
        assert all_rides[ride_id].status == RideStatus.CANCELLED, ride_id
    for ride_id, (driver_id, status) in journal.told.items():
        ride = all_rides[ride_id]
        assert ride.driver_id == driver_id, ride_id
        assert ride.status == (RideStatus.CANCELLED if ride_id in journal.cancelled else status), ride_id
