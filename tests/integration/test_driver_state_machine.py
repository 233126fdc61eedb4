"""Drivers' own writes racing dispatch, as a randomized, stateful test.

Hypothesis plays a few drivers and riders against a moto server that, like DynamoDB, makes each request
(a transaction included) atomic. Each step runs two to four actions at once from threads, each as a
separate Lambda invocation would: profile saves, going online or offline, moving, ride requests, accepts,
declines, driving, cancels by either side and the expire-rides job; between steps time may pass, so offers
and searches run out. After every step the tables are read directly and the dispatch rules checked:

- a driver holds at most one offer or live ride, and their status says which;
- a driver has a geo-index spot (one per service, in their cell, since they became available) exactly
  when available;
- every live ride's driver points back at it;
- no action failed other than with a 403, 404 or 409 (never a 500).

The schedule is derandomized (the same steps every run); the threads' timing is not, so a broken rule may
not come back when Hypothesis replays the steps: it then reports a FlakyFailure holding the broken rule
and the steps that led to it. `bench/driver_races.py` runs the same machine longer, with more threads.
"""

import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule, run_state_machine_as_test

from chalicelib.core.auth import Caller
from chalicelib.core.errors import AppError
from chalicelib.drivers import service as drivers
from chalicelib.drivers.models import Driver, DriverSpot
from chalicelib.drivers.rules import DriverStatus
from chalicelib.drivers.schemas import DriverProfileIn, DriverStatusIn
from chalicelib.rides import service as rides
from chalicelib.rides.models import Ride
from chalicelib.rides.rules import WITH_DRIVER, RideStatus
from chalicelib.rides.schemas import Cancellation, Completion, RideRequest

DRIVERS = ("driver-a", "driver-b", "driver-c")
RIDERS = ("rider-a", "rider-b", "rider-c", "rider-d")
PLACES = {  # around Seoul City Hall: the same cell twice, then one and two rings away
    "city-hall": {"lat": 37.5663, "lng": 126.9779},
    "next-door": {"lat": 37.5668, "lng": 126.9785},
    "jongno": {"lat": 37.5700, "lng": 126.9850},
    "namdaemun": {"lat": 37.5560, "lng": 126.9720},
}
PICKUPS = ("city-hall", "jongno")
DROPOFF = {"lat": 37.4979, "lng": 127.0276}
SERVICE_SETS = (("taxi",), ("designated",), ("taxi", "designated"))
START = datetime(2024, 5, 1, 9, 0, tzinfo=UTC)
TRIP = Completion(distance_m=4000, duration_s=900)
RUNS, STEPS_PER_RUN = 4, 40  # 160 steps, 10 to 20 s (`make bench` runs it longer)
EXPECTED = frozenset({403, 404, 409})  # refused or lost a race: what a client is told, and may be
ON_THE_ROAD = frozenset({RideStatus.ACCEPTED, RideStatus.ARRIVED, RideStatus.IN_PROGRESS})
DRIVING = {RideStatus.ACCEPTED: rides.arrive, RideStatus.ARRIVED: rides.start,
           RideStatus.IN_PROGRESS: lambda driver_id, ride_id, at: rides.complete(driver_id, ride_id, TRIP, at)}


class Fleet:
    """The drivers, riders and clock of one run; `at_once` plays a step, `broken_rules` checks the tables."""

    def __init__(self):
        self.now = START
        self.lock = threading.Lock()
        self.rides_of: dict[str, list[str]] = {rider: [] for rider in RIDERS}
        self.crashes: list[str] = []
        self.outcomes: Counter[str] = Counter()
        self.steps = 0

    def at_once(self, actions: list[tuple]) -> None:
        """Run the actions from one thread each, released together."""
        self.steps += 1
        go = threading.Event()

        def when_released(action):
            go.wait()
            self.act(action)

        with ThreadPoolExecutor(len(actions)) as pool:
            futures = [pool.submit(when_released, action) for action in actions]
            go.set()
            for future in futures:
                future.result()

    def act(self, action: tuple) -> None:
        kind, *args = action
        try:
            getattr(self, kind)(*args)
            outcome = "ok"
        except AppError as exc:
            outcome = str(exc.status)
            if exc.status not in EXPECTED:
                self.crash(action, exc)
        except Exception as exc:  # a 500: reported by the invariant, with the action
            outcome = "500"
            self.crash(action, exc)
        with self.lock:
            self.outcomes[f"{kind} {outcome}"] += 1

    def crash(self, action: tuple, exc: BaseException) -> None:
        with self.lock:
            self.crashes.append(f"{action}: {exc!r}")

    # --- what drivers and riders do ------------------------------------------------------------------------

    def profile(self, driver_id: str, services: tuple[str, ...]) -> None:
        drivers.save_profile(driver_id, DriverProfileIn(name=driver_id, services=list(services)), self.now)

    def online(self, driver_id: str, place: str) -> None:
        drivers.set_status(driver_id, DriverStatusIn(status="online", **PLACES[place]), self.now)

    def offline(self, driver_id: str) -> None:
        drivers.set_status(driver_id, DriverStatusIn(status="offline", **PLACES["city-hall"]), self.now)

    def move(self, driver_id: str, place: str) -> None:
        drivers.update_location(driver_id, PLACES[place]["lat"], PLACES[place]["lng"], self.now)

    def request(self, rider_id: str, service: str, pickup: str) -> None:
        wanted = RideRequest(service=service, pickup=PLACES[pickup], dropoff=DROPOFF)
        ride_id = rides.request_ride(rider_id, wanted, None, self.now)["ride_id"]
        with self.lock:
            self.rides_of[rider_id].append(ride_id)

    def accept(self, driver_id: str) -> None:
        if ride_id := drivers.offered_ride(driver_id):
            rides.accept(driver_id, ride_id, self.now)

    def decline(self, driver_id: str) -> None:
        if ride_id := drivers.offered_ride(driver_id):
            rides.decline(driver_id, ride_id, self.now)

    def drive(self, driver_id: str) -> None:
        """The next step of the driver's live ride: arrive, start or complete."""
        driver = Driver.get(driver_id)
        if driver.ride_id:
            ride = Ride.get(driver.ride_id)
            if ride.status in DRIVING:
                DRIVING[ride.status](driver_id, ride.ride_id, self.now)

    def driver_cancels(self, driver_id: str) -> None:
        driver = Driver.get(driver_id)
        if ride_id := driver.offer_ride_id or driver.ride_id:
            rides.cancel(Caller(driver_id, "driver"), ride_id, Cancellation(reason="flat tyre"), self.now)

    def rider_cancels(self, rider_id: str) -> None:
        with self.lock:
            mine = list(self.rides_of[rider_id])
        if mine:
            rides.cancel(Caller(rider_id, "rider"), mine[-1], Cancellation(), self.now)

    def job(self) -> None:
        rides.expire_rides(self.now)

    # --- the rules ---------------------------------------------------------------------------------------------

    def broken_rules(self) -> list[str]:
        """Every dispatch rule the tables break now (read directly, while no action runs)."""
        all_rides = list(Ride.scan(consistent_read=True))
        by_id = {driver.driver_id: driver for driver in Driver.scan(consistent_read=True)}
        spots: dict[str, list[DriverSpot]] = {}
        for spot in DriverSpot.scan(consistent_read=True):
            spots.setdefault(spot.driver_id, []).append(spot)
        broken = list(self.crashes)
        for ride in all_rides:
            if ride.status in WITH_DRIVER:
                driver = by_id.get(ride.driver_id)
                points_at = driver and (driver.offer_ride_id if ride.status == RideStatus.OFFERED else driver.ride_id)
                if points_at != ride.ride_id:
                    broken.append(f"{ride.status} ride {ride.ride_id}: its driver {ride.driver_id} points at "
                                  f"{points_at!r}")
        for driver_id, driver in by_id.items():
            broken += driver_breaks(driver, all_rides, spots.get(driver_id, []))
        return broken


def driver_breaks(driver: Driver, all_rides: list[Ride], spots: list[DriverSpot]) -> list[str]:
    """The rules one driver breaks: what they hold agrees with their status, and spots with availability."""
    offers = [r.ride_id for r in all_rides if r.status == RideStatus.OFFERED and r.driver_id == driver.driver_id]
    trips = [r.ride_id for r in all_rides if r.status in ON_THE_ROAD and r.driver_id == driver.driver_id]
    holds = {DriverStatus.OFFERED: ([driver.offer_ride_id], []), DriverStatus.BUSY: ([], [driver.ride_id])}
    seen = f"driver {driver.driver_id} {driver.status}: offers {offers}, rides {trips}"
    broken = []
    if len(offers) + len(trips) > 1:
        broken.append(f"{seen}: holds more than one")
    elif (offers, trips) != holds.get(driver.status, ([], [])):
        broken.append(f"{seen}: offer_ride_id {driver.offer_ride_id}, ride_id {driver.ride_id}")
    listed = sorted((s.service, s.cell, s.available_since) for s in spots)
    if driver.status == DriverStatus.AVAILABLE:
        wanted = sorted((service, driver.cell, driver.available_since) for service in driver.services)
        if listed != wanted:
            broken.append(f"{seen}: spots {listed}, should be {wanted}")
    elif listed:
        broken.append(f"{seen}: listed in the geo index at {listed}")
    return broken


def wipe() -> None:
    """Empty the tables dispatch reads, so one run's drivers and rides never meet another's."""
    for model in (Ride, Driver, DriverSpot):
        with model.batch_write() as batch:
            for item in model.scan():
                batch.delete(item)


RIDER_IDS, PLACE_NAMES = st.sampled_from(RIDERS), st.sampled_from(list(PLACES))


REQUEST = st.tuples(st.just("request"), RIDER_IDS, st.sampled_from(("taxi", "designated")), st.sampled_from(PICKUPS))


def profile_saves(driver_ids: st.SearchStrategy[str]) -> st.SearchStrategy[tuple]:
    return st.tuples(st.just("profile"), driver_ids, st.sampled_from(SERVICE_SETS))


def actions(driver_ids: st.SearchStrategy[str]) -> st.SearchStrategy[tuple]:
    """One action of a driver drawn from `driver_ids`, of a rider, or of the job."""
    return st.one_of(
        profile_saves(driver_ids), REQUEST,
        st.tuples(st.just("online"), driver_ids, PLACE_NAMES),
        st.tuples(st.just("offline"), driver_ids),
        st.tuples(st.just("move"), driver_ids, PLACE_NAMES),
        st.tuples(st.just("accept"), driver_ids),
        st.tuples(st.just("decline"), driver_ids),
        st.tuples(st.just("drive"), driver_ids),
        st.tuples(st.just("driver_cancels"), driver_ids),
        st.tuples(st.just("rider_cancels"), RIDER_IDS),
        st.tuples(st.just("job")),
    )


ANYONE = actions(st.sampled_from(DRIVERS))


class DriverRaces(RuleBasedStateMachine):
    """Steps of two to `most_at_once` actions at once, and time passing; the dispatch rules after each."""

    most_at_once = 4

    def __init__(self):
        super().__init__()
        wipe()
        self.fleet = Fleet()

    @initialize(services=st.lists(st.sampled_from(SERVICE_SETS), min_size=len(DRIVERS), max_size=len(DRIVERS)),
                places=st.lists(PLACE_NAMES, min_size=len(DRIVERS), max_size=len(DRIVERS)))
    def drivers_sign_up_and_go_online(self, services, places):
        for driver_id, offered, place in zip(DRIVERS, services, places, strict=True):
            self.fleet.act(("profile", driver_id, offered))
            self.fleet.act(("online", driver_id, place))

    @rule(data=st.data())
    def several_act_at_once(self, data):
        self.fleet.at_once(data.draw(st.lists(ANYONE, min_size=2, max_size=self.most_at_once), label="actions"))

    @rule(driver_id=st.sampled_from(DRIVERS), data=st.data())
    def everyone_acts_around_one_driver_at_once(self, driver_id, data):
        around = actions(st.just(driver_id))
        self.fleet.at_once(data.draw(st.lists(around, min_size=2, max_size=self.most_at_once), label="actions"))

    @rule(driver_id=st.sampled_from(DRIVERS), data=st.data())
    def riders_rush_while_a_driver_saves_their_profile(self, driver_id, data):
        """What once gave a driver several offers: the profile write put back what it had read."""
        saves = data.draw(st.lists(profile_saves(st.just(driver_id)), min_size=1, max_size=2), label="saves")
        rush = data.draw(st.lists(REQUEST, min_size=1, max_size=self.most_at_once - len(saves)), label="requests")
        self.fleet.at_once(saves + rush)

    @rule(seconds=st.sampled_from((3, 10, 20, 200)))
    def time_passes(self, seconds):
        self.fleet.steps += 1
        self.fleet.now += timedelta(seconds=seconds)

    @invariant()
    def dispatch_rules_hold(self):
        self.found(self.fleet.broken_rules())

    def found(self, broken: list[str]) -> None:
        """What the machine does with broken rules: fail (the benchmark counts them instead)."""
        assert broken == [], "\n".join(broken)


def test_drivers_writing_their_own_state_never_break_dispatch(moto_server):
    run_state_machine_as_test(DriverRaces, settings=settings(
        max_examples=RUNS, stateful_step_count=STEPS_PER_RUN, deadline=None, derandomize=True, database=None,
        phases=(Phase.generate,), suppress_health_check=list(HealthCheck)))
