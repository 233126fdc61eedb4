"""The fleet and its rides: two weeks of ordinary days before the fire, and the rides driven once the ride API
was back while messaging was still down. What each taxi driver earned, hour by hour, is kept: the lost income
the platform owes them is checked against it.

Rides of one time slot run at once (the stack's clock stands still at the slot's moment); a slot never holds
two rides of one driver. No ride ends in the hours the incident's window only partly covers, so what a driver
earned in it is whole rides, as the income rule reads the hourly earnings.
"""

import random
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta

from demo.client import AUDITOR, Api
from demo.timeline import FIRE, FIRST_DAY, MESSAGING_BACK, RIDES_BACK, WEEK, iso

SEOUL = (37.48, 126.88)
AFFILIATIONS = ("independent", "Kakao T Blue")   # every other driver drives for the franchise
EDGE_HOURS = {FIRE.hour, MESSAGING_BACK.hour}    # UTC hours the incident's window covers only in part
BUSY_DAY = FIRE - WEEK                           # the same hours a week before: the fairness figures' day
DRIVERS_GO_HOME = FIRE - timedelta(hours=3)      # designated drivers end their night shift


@dataclass(frozen=True)
class Ride:
    at: datetime
    service: str
    driver_n: int
    rider: str


@dataclass
class Fleet:
    taxi: list[str]
    daeri: list[str]
    earned: dict[str, dict[datetime, int]]       # taxi driver -> completion moment -> payout
    cancelled: dict[str, datetime]               # rider -> when a ride of theirs ended without a driver

    def driver(self, ride: Ride) -> str:
        return (self.taxi if ride.service == "taxi" else self.daeri)[ride.driver_n]


def spot(n: int, offset: float = 0.0) -> dict[str, float]:
    """Driver n's waiting place: a grid ~2 km apart across Seoul, so each waits in their own H3 cell."""
    return {"lat": round(SEOUL[0] + (n // 8) * 0.02 + offset, 5), "lng": round(SEOUL[1] + (n % 8) * 0.02 + offset, 5)}


def set_up_fleet(api: Api, taxi: list[str], daeri: list[str], done) -> Fleet:
    """Every driver's profile, and each goes online at their waiting place."""
    drivers = [(d, "taxi", n) for n, d in enumerate(taxi)] + [(d, "designated", n) for n, d in enumerate(daeri)]

    def join(entry) -> None:
        driver, service, n = entry
        api.call("PUT", "/drivers/me", ("driver", driver), {"name": driver, "services": [service], "region": "seoul",
                                                            "affiliation": AFFILIATIONS[n % 2]})
        api.call("POST", "/drivers/me/status", ("driver", driver),
                 {"status": "online", **spot(n, 0.0 if service == "taxi" else 0.01)})

    api.each(join, drivers, done)
    return Fleet(taxi, daeri, defaultdict(dict), {})


def ordinary_rides(rng: random.Random, per_day: int, fleet: Fleet, riders: list[str]) -> list[Ride]:
    """Daily rides of the two weeks before the fire, and every taxi busy in the same hours a week before it."""
    rides = []
    for day in range(14):
        for _ in range(per_day):
            hour = rng.choice([h for h in range(24) if h not in EDGE_HOURS])
            at = FIRST_DAY.replace(hour=hour, minute=rng.choice((15, 45))) + timedelta(days=day)
            service = rng.choice(["taxi", "taxi", "designated"])
            pool = fleet.taxi if service == "taxi" else fleet.daeri
            rides.append(Ride(at, service, rng.randrange(len(pool)), rng.choice(riders)))
    busy_hours = [h for h in range(FIRE.hour + 1, MESSAGING_BACK.hour) if h not in EDGE_HOURS]
    for n in range(len(fleet.taxi)):
        for k in range(2):
            at = BUSY_DAY.replace(hour=busy_hours[(n + 4 * k) % len(busy_hours)], minute=30)
            rides.append(Ride(at, "taxi", n, rng.choice(riders)))
    return [r for r in rides if r.at < DRIVERS_GO_HOME - timedelta(minutes=5)]


def rides_while_messaging_is_down(rng: random.Random, count: int, fleet: Fleet, riders: list[str]) -> list[Ride]:
    """Taxis drive again once the ride API is back, in hours the incident (messaging) still covers in full."""
    hours = [h for h in range(RIDES_BACK.hour + 1, MESSAGING_BACK.hour) if h not in EDGE_HOURS]
    return [Ride(RIDES_BACK.replace(hour=rng.choice(hours), minute=rng.choice((15, 45))), "taxi",
                 rng.randrange(len(fleet.taxi)), rng.choice(riders)) for _ in range(count)]


def drive(api: Api, fleet: Fleet, rides: list[Ride], done) -> None:
    """Drive the rides slot by slot: the clock to the slot, then its rides at once."""
    for at, batch in _slots(rides, fleet):
        api.travel_to(at)
        api.each(lambda ride: _ride(api, fleet, ride), batch, done)


def _slots(rides: list[Ride], fleet: Fleet) -> list[tuple[datetime, list[Ride]]]:
    """Rides grouped by moment, a driver at most once a group (a second ride moves to a group of its own)."""
    slots: list[tuple[datetime, list[Ride], set[str]]] = []
    for ride in sorted(rides, key=lambda r: (r.at, r.service, r.driver_n)):
        open_slot = next((s for s in slots if s[0] == ride.at and fleet.driver(ride) not in s[2]), None)
        if open_slot is None:
            open_slot = (ride.at, [], set())
            slots.append(open_slot)
        open_slot[1].append(ride)
        open_slot[2].add(fleet.driver(ride))
    return [(at, batch) for at, batch, _ in slots]


def _ride(api: Api, fleet: Fleet, ride: Ride) -> None:
    where = spot(ride.driver_n, 0.0 if ride.service == "taxi" else 0.01)
    dropoff = {"lat": where["lat"] + 0.03, "lng": where["lng"] + 0.02}
    asked = api.call("POST", "/rides", ("rider", ride.rider), {"service": ride.service, "pickup": where,
                                                              "dropoff": dropoff}, expect=201)
    driver = asked.get("driver_id")
    if driver is None:                               # nobody free nearby: the rider gives up
        api.call("POST", f"/rides/{asked['ride_id']}/cancel", ("rider", ride.rider), {"reason": "no driver"})
        fleet.cancelled[ride.rider] = ride.at
        return
    for step in ("accept", "arrive", "start"):
        api.call("POST", f"/rides/{asked['ride_id']}/{step}", ("driver", driver))
    fare = api.call("POST", f"/rides/{asked['ride_id']}/complete", ("driver", driver),
                    {"distance_m": 6500, "duration_s": 1500})["fare"]
    if ride.service == "taxi":
        fleet.earned[driver][ride.at] = fleet.earned[driver].get(ride.at, 0) + fare["driver_payout_krw"]


def lost_income(fleet: Fleet, started_at: datetime, resolved_at: datetime) -> dict[str, int]:
    """What each taxi driver is owed: what they earned in the same hours a week before less what they earned
    during the incident, rounded up to 10 KRW (multiplier 1.0); only drivers owed something."""
    owed = {}
    for driver in fleet.taxi:
        earned = fleet.earned.get(driver, {})
        before = sum(krw for at, krw in earned.items() if started_at - WEEK <= at < resolved_at - WEEK)
        during = sum(krw for at, krw in earned.items() if started_at <= at < resolved_at)
        if before > during:
            owed[driver] = -(-(before - during) // 10) * 10
    return owed


def fairness(api: Api) -> dict[str, dict]:
    """The drivers' council reads dispatch's fairness figures of the busy day a week before the fire."""
    day = BUSY_DAY.replace(hour=0, minute=0)
    window = f"from={iso(day)}&to={iso(day + timedelta(days=1))}"
    return {service: api.call("GET", f"/dispatch/fairness?{window}&service={service}", AUDITOR)
            for service in ("taxi", "designated")}
