"""Saturday 15 October 2022: the data centre's power goes at about 15:30 KST. The components stop beating, the
detector opens the incident after three failed checks, riders are stranded, the ride API comes back hours
later and messaging last; the detector resolves the incident after three healthy checks of everything.
"""

import random
from dataclasses import dataclass
from datetime import datetime, timedelta

from demo.client import ADMIN, Api
from demo.rides import DRIVERS_GO_HOME, Fleet, spot
from demo.timeline import FIRE, MESSAGING_BACK, RIDES_BACK, in_kst, iso

DOWN, STILL_UP = ("api", "messaging", "payments"), ("maps",)
FIRST_FAILED_CHECK = FIRE + timedelta(seconds=30)
BUSAN = {"lat": 35.1796, "lng": 129.0756}


class NotOurIncident(RuntimeError):
    """The detector put the replay's failure into an incident that was open before it."""


@dataclass
class Outage:
    incident: dict                 # GET /incidents/{id} once resolved
    online_before: list[str]       # designated drivers online in the hour before it began
    stranded: dict[str, datetime]  # rider -> when their ride was cancelled or expired in it


def before_the_fire(api: Api, rng: random.Random, fleet: Fleet) -> list[str]:
    """The components are registered and beating; the night shift's designated drivers go home, some of the
    day's come online in the hour before the fire."""
    api.travel_to(DRIVERS_GO_HOME)
    api.each(lambda c: api.call("POST", "/components", ADMIN, {"name": c, "heartbeat_timeout_s": 60},
                                expect=(201, 409)), DOWN + STILL_UP)
    api.each(lambda n: api.call("POST", "/drivers/me/status", ("driver", fleet.daeri[n]),
                                {"status": "offline", **spot(n, 0.01)}), range(len(fleet.daeri)))
    online_before = [d for d in fleet.daeri if rng.random() < 0.6] or fleet.daeri[:1]
    api.travel_to(FIRE - timedelta(minutes=40))
    api.each(lambda d: api.call("POST", "/drivers/me/status", ("driver", d),
                                {"status": "online", **spot(fleet.daeri.index(d), 0.01)}), online_before)
    _check_at(api, FIRE - timedelta(minutes=1), DOWN + STILL_UP)  # all beating: the detector sees them up
    return online_before


def the_fire(api: Api, rng: random.Random, riders: list[str]) -> tuple[str, dict[str, datetime]]:
    """Three components fall silent: the incident the detector opens (only ever this replay's), and the
    riders stranded in it."""
    opened = []
    for n in range(3):
        opened = _check_at(api, FIRST_FAILED_CHECK + timedelta(minutes=n), STILL_UP).get("opened", [])
    incident_id = _ours(api, opened)
    api.travel_to(FIRE + timedelta(minutes=20))
    api.call("POST", f"/incidents/{incident_id}/updates", ADMIN, {
        "status": "identified", "message": "A fire at the data centre cut its power; rides, payments and "
                                           "messages are down. We are moving them to another data centre."},
        expect=201)
    return incident_id, _stranded_riders(api, rng, riders)


def rides_come_back(api: Api) -> None:
    """The ride API and payments answer again; messaging is still down, so the incident stays open."""
    for n in range(3):
        _check_at(api, RIDES_BACK + timedelta(minutes=n), tuple(c for c in DOWN if c != "messaging") + STILL_UP)


def messaging_comes_back(api: Api, incident_id: str) -> dict:
    """Everything beats again: three healthy checks resolve the incident; drivers are told what follows."""
    for n in range(3):
        _check_at(api, MESSAGING_BACK + timedelta(minutes=n), DOWN + STILL_UP)
    incident = api.call("GET", f"/incidents/{incident_id}", ADMIN)
    if incident["state"] != "resolved":
        raise NotOurIncident(f"incident {incident_id} did not resolve when everything was back: {incident}")
    api.travel_to(MESSAGING_BACK + timedelta(hours=1))
    api.call("POST", "/notices", ADMIN, {"title": "Service restored: we are sorry", "body": (
        "Rides, payments and messages work again. The lost income of taxi drivers will be made up in full and "
        "designated drivers will receive a support payment; details follow with the support policy.")},
        expect=201)
    return incident


def _check_at(api: Api, moment: datetime, beating: tuple[str, ...]) -> dict:
    api.travel_to(moment)
    api.each(lambda c: api.call("POST", f"/heartbeats/{c}", ("service", "probe")), beating)
    return api.run_job("detect-outages")


def _ours(api: Api, opened: list[str]) -> str:
    """The incident the third failed check opened: it must start at the replay's first failed check and hold
    the replay's components, whatever else the stack has open."""
    for incident_id in opened:
        incident = api.call("GET", f"/incidents/{incident_id}", ADMIN)
        names = {c if isinstance(c, str) else c["name"] for c in incident["components"]}
        if incident["started_at"] == iso(FIRST_FAILED_CHECK) and set(DOWN) <= names:
            return incident_id
    raise NotOurIncident(f"the detector opened no incident of its own for {', '.join(DOWN)} at "
                         f"{in_kst(FIRST_FAILED_CHECK)} (it reported {opened or 'none'}); an incident open "
                         "before the replay may hold these components: resolve it and run again")


def _stranded_riders(api: Api, rng: random.Random, riders: list[str]) -> dict[str, datetime]:
    """Riders caught by the outage: some gave up and cancelled, some waited until the search expired."""
    asked_at, expired_at = FIRE + timedelta(minutes=5), FIRE + timedelta(minutes=10)
    api.travel_to(asked_at)
    caught = rng.sample(riders, max(2, len(riders) // 4))

    def strand(entry: tuple[int, str]) -> tuple[str, datetime]:
        n, rider = entry
        pickup = {"lat": BUSAN["lat"] + 0.001 * n, "lng": BUSAN["lng"]}
        ride = api.call("POST", "/rides", ("rider", rider), {"service": "designated", "pickup": pickup,
                                                            "dropoff": {"lat": 35.16, "lng": 129.16}}, expect=201)
        if n % 2:
            api.call("POST", f"/rides/{ride['ride_id']}/cancel", ("rider", rider), {"reason": "app stopped working"})
            return rider, asked_at
        return rider, expired_at

    stranded = dict(api.each(strand, list(enumerate(caught))))
    api.travel_to(expired_at)
    api.run_job("expire-rides")
    return stranded
