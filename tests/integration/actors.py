"""The people and things integration tests are about, built through the HTTP API: an incident, a claims
program, a filed and reviewed claim, a driver on duty, a ride, and the operators' desk that cuts and pays rounds.

Tests read as the story they check: `fire = declare(api, now)`, `driver_on_duty(api, "taxi-1")`, `desk.pay(...)`.
"""

from datetime import datetime, timedelta

from chalicelib.core.clock import iso
from devstack import cloud
from devstack.pump import Pump

ADMIN = ("admin", "ops-1")                                    # cuts the rounds, declares incidents
APPROVER = ("admin", "ops-2", {"approver": True})              # the second pair of eyes
CREATOR_WITH_CLAIM = ("admin", "ops-1", {"approver": True})    # may approve, but not their own round
PLAIN_ADMIN = ("admin", "ops-3")                               # no approver claim
BUDGET_KRW = 2_000_000
CASH_KRW = 20_000
# a tier each, and one above the top tier (reviewed amount): 30,000 + 50,000 + 30,000 + 600,000 + 30,000
LOSSES = [100_000, 400_000, 250_000, 800_000, 50_000]


def payout_for(loss_krw: int) -> int:
    """What approving a loss pays under the default tiers (above the top tier: the amount the tests review)."""
    if loss_krw <= 300_000:
        return 30_000
    if loss_krw <= 500_000:
        return 50_000
    return loss_krw * 3 // 4


SEOUL_CITY_HALL = {"lat": 37.5663, "lng": 126.9779}
GANGNAM = {"lat": 37.4979, "lng": 127.0276}
DAY = timedelta(days=1)


# --- incidents, programs, claims --------------------------------------------------------------------------

def declare(api, started_at: datetime, resolved_at: datetime | None = None) -> str:
    """An incident on the `api` component (declared by hand), resolved at `resolved_at` if given."""
    registered = api("post", "/components", ADMIN, {"name": "api", "heartbeat_timeout_s": 60})
    assert registered.status_code in (201, 409), registered.body
    declared = api("post", "/incidents", ADMIN, {"components": ["api"], "started_at": iso(started_at),
                                                 "summary": "Fire at the Pangyo data centre"})
    assert declared.status_code == 201, declared.body
    incident_id = declared.json_body["incident_id"]
    if resolved_at is not None:
        resolve(api, incident_id, resolved_at)
    return incident_id


def resolve(api, incident_id: str, resolved_at: datetime) -> None:
    answer = api("post", f"/incidents/{incident_id}/resolve", ADMIN, {"resolved_at": iso(resolved_at)})
    assert answer.status_code == 200, answer.body


def program(api, incident_id: str, kind: str, params: dict, name: str | None = None) -> dict:
    created = api("post", "/programs", ADMIN, {"name": name or f"{kind} after the fire",
                                               "incident_id": incident_id, "kind": kind, "params": params})
    assert created.status_code == 201, created.body
    return created.json_body


def details(api, program_id: str) -> dict:
    answer = api("get", f"/programs/{program_id}", ADMIN)
    assert answer.status_code == 200, answer.body
    return answer.json_body


def counts(api, program_id: str) -> dict:
    return details(api, program_id)["counts"]


def file_claim(api, program_id: str, business: str, loss_krw: int | None = 100_000, channel: str = "web",
               headers=None, **extra):
    body = {"business_id": business, "business_name": f"{business} chicken", "channel": channel,
            "evidence": [f"s3://evidence/{business}/sales.pdf"], **extra}
    if loss_krw is not None:
        body["loss_krw"] = loss_krw
    return api("post", f"/programs/{program_id}/claims", ("business", business), body, headers=headers)


def filed(api, program_id: str, business: str, loss_krw: int) -> str:
    answer = file_claim(api, program_id, business, loss_krw)
    assert answer.status_code == 201, answer.body
    assert answer.json_body["status"] == "submitted"
    return answer.json_body["claim_id"]


def review(api, claim_id: str, decision: str, **extra):
    return api("post", f"/claims/{claim_id}/review", ADMIN, {"decision": decision, **extra})



# --- drivers and rides ------------------------------------------------------------------------------------

def driver(api, sub: str, services=("taxi",)) -> None:
    answer = api("put", "/drivers/me", ("driver", sub), {"name": sub, "services": list(services)})
    assert answer.status_code == 200, answer.body


def go(api, sub: str, status: str) -> None:
    answer = api("post", "/drivers/me/status", ("driver", sub), {"status": status, **SEOUL_CITY_HALL})
    assert answer.status_code == 200, answer.body


def driver_on_duty(api, sub: str, services=("taxi",), at=SEOUL_CITY_HALL) -> dict:
    """A driver with a profile who has just gone online at `at`; their profile as the API answers."""
    driver(api, sub, services)
    response = api("post", "/drivers/me/status", ("driver", sub), {"status": "online", **at})
    assert response.status_code == 200, response.body
    return response.json_body


def ride(api, rider: str) -> str:
    answer = api("post", "/rides", ("rider", rider), {"service": "taxi", "pickup": SEOUL_CITY_HALL,
                                                      "dropoff": GANGNAM})
    assert answer.status_code == 201, answer.body
    return answer.json_body["ride_id"]


def cancel(api, rider: str, ride_id: str) -> None:
    answer = api("post", f"/rides/{ride_id}/cancel", ("rider", rider), {"reason": "the app froze"})
    assert answer.status_code == 200, answer.body
    assert answer.json_body["status"] == "cancelled"


def drive(api, clock, driver_id: str, rider: str, distance_m: int, duration_s: int) -> int:
    """A whole taxi ride from request to completion; returns the driver's payout."""
    ride_id = ride(api, rider)
    assert api("get", f"/rides/{ride_id}", ("rider", rider)).json_body["driver_id"] == driver_id
    for step in ("accept", "arrive", "start"):
        clock.advance(seconds=5)
        assert api("post", f"/rides/{ride_id}/{step}", ("driver", driver_id)).status_code == 200, step
    clock.advance(seconds=duration_s)
    done = api("post", f"/rides/{ride_id}/complete", ("driver", driver_id),
               {"distance_m": distance_m, "duration_s": duration_s})
    assert done.status_code == 200, done.body
    return done.json_body["fare"]["driver_payout_krw"]



# --- the operators' desk ----------------------------------------------------------------------------------

class Desk:
    """The operators' side of a test: programs, claims, reviews and rounds through the API, and the queue."""

    def __init__(self, api, app, clock):
        self.api, self.app, self.clock = api, app, clock
        self.incident_id: str | None = None
        self.businesses = 0
        self._pump: Pump | None = None

    def ok(self, status: int, method: str, path: str, who=ADMIN, body=None, headers=None) -> dict:
        response = self.api(method, path, who, body, headers)
        assert response.status_code == status, (method, path, response.status_code, response.body)
        return response.json_body

    def incident(self) -> str:
        """The fire, declared half an hour ago the first time it is asked for."""
        if self.incident_id is None:
            self.incident_id = declare(self.api, self.clock.now() - timedelta(minutes=30))
            self.drain()  # the disruption notice fans out to connected drivers (none here) through the queue
        return self.incident_id

    def program(self, kind: str = "business_claims", budget_krw: int = BUDGET_KRW) -> str:
        now = self.clock.now()
        params = ({"intake_opens_at": iso(now), "intake_closes_at": iso(now + timedelta(days=30)),
                   "budget_krw": budget_krw} if kind == "business_claims"
                  else {"amount_krw": CASH_KRW, "budget_krw": budget_krw})
        return program(self.api, self.incident(), kind, params, name=f"Pangyo fire: {kind}")["program_id"]

    def business(self) -> tuple[str, str]:
        self.businesses += 1
        return ("business", f"biz-{self.businesses:02d}")

    def file(self, program_id: str, loss_krw: int | None = 100_000, who: tuple | None = None) -> str:
        who = who or self.business()
        body = {"business_id": who[1], "business_name": f"Shop {who[1]}", "channel": "web", "evidence": []}
        if loss_krw is not None:
            body["loss_krw"] = loss_krw
        return self.ok(201, "post", f"/programs/{program_id}/claims", who, body)["claim_id"]

    def approve(self, claim_id: str, loss_krw: int) -> int:
        body = {"decision": "approve"}
        if loss_krw > 500_000:
            body["amount_krw"] = payout_for(loss_krw)
        answer = self.ok(200, "post", f"/claims/{claim_id}/review", body=body)
        assert answer["payout_krw"] == payout_for(loss_krw)
        return answer["payout_krw"]

    def approved_claims(self, program_id: str, losses: list[int] = LOSSES) -> dict[str, int]:
        """Claims filed a second apart and approved: claim id -> payout, in filing order."""
        owed = {}
        for loss in losses:
            claim_id = self.file(program_id, loss)
            owed[claim_id] = self.approve(claim_id, loss)
            self.clock.advance(seconds=1)
        return owed

    def cash_claims(self, program_id: str, count: int) -> dict[str, int]:
        """Message cash applications (approved on filing): claim id -> payout."""
        owed = {}
        for _ in range(count):
            owed[self.file(program_id, None)] = CASH_KRW
            self.clock.advance(seconds=1)
        return owed

    def new_round(self, program_id: str, max_claims: int | None = None, headers=None) -> dict:
        body = {"program_id": program_id, **({} if max_claims is None else {"max_claims": max_claims})}
        answer = self.ok(201, "post", "/payouts", body=body, headers=headers)
        assert answer["status"] == "pending_approval"
        return answer

    def approve_round(self, round_id: str) -> dict:
        return self.ok(202, "post", f"/payouts/{round_id}/approve", APPROVER)

    def round(self, round_id: str) -> dict:
        return self.ok(200, "get", f"/payouts/{round_id}")

    def claim(self, claim_id: str) -> dict:
        return self.ok(200, "get", f"/claims/{claim_id}")

    def ledger(self, program_id: str) -> list[dict]:
        answer = self.ok(200, "get", f"/ledger?program_id={program_id}&limit=200")
        assert answer["next"] is None
        return answer["items"]

    def drain(self) -> int:
        """Deliver the work queue until it is empty (messages that failed come back after RETRY_AFTER_S)."""
        if self._pump is None:
            self._pump = Pump(self.app, cloud.physical_ids("o2o-mobility-test"), log=lambda line: None)
        (binding,) = self._pump.bindings
        delivered = 0
        while batch := self._pump.deliver_once(*binding, wait_s=0):  # moto: what was sent is there at once
            delivered += batch
        return delivered

    def pay(self, program_id: str, max_claims: int | None = None) -> dict:
        """Cut a round, have it approved and run the queue; the round as it is then."""
        cut = self.new_round(program_id, max_claims)
        self.approve_round(cut["round_id"])
        self.drain()
        return self.round(cut["round_id"])
