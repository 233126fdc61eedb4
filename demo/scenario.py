"""The day of the fire, replayed through the HTTP API, scaled down: rides, the outage, notices, compensation, payouts.

Every step is an HTTP call a client could make; the local stack's clock is moved with PUT /dev/clock so that
two weeks of rides and five months of claims fit in a few minutes. Deterministic for a seed.
"""

import random
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from datetime import time as dt_time

from tqdm import tqdm

from demo.client import ADMIN, APPROVER, AUDITOR, Api

FIRE = datetime(2022, 10, 15, 6, 33, tzinfo=UTC)          # Saturday 15:33 in Seoul
RECOVERY = FIRE + timedelta(hours=4)
FIRST_DAY = FIRE - timedelta(days=14)
DOWN, STILL_UP = ("api", "messaging", "payments"), ("maps",)
ORDER_IN_A_DAY = {"extend": 0, "file": 1, "documents": 2, "review": 3, "round": 4, "close": 5}
CHANNELS = ("chatbot", "web", "phone", "mail", "visit")
CHANNEL_WEIGHTS = (35, 30, 15, 10, 10)
REJECTIONS = ("no operating margin was shown", "alternatives to the platform were available",
              "the platform's share of sales was too small")
VOUCHER_ITEMS = [{"name": "Emoticon pack (permanent)", "valid_days": None},
                 {"name": "Emoticon pack A (90 days)", "valid_days": 90},
                 {"name": "Emoticon pack B (90 days)", "valid_days": 90}]
SEOUL = (37.48, 126.88)
AFFILIATIONS = ("independent", "Kakao T Blue")   # every other driver drives for the franchise
BUSY_DAY = FIRE - timedelta(days=7)             # the day of rides the fairness figures are of (UTC)
OFFICE_OPENS = dt_time(9, 0)


@dataclass(frozen=True)
class Scale:
    """The real case (451 claims, 205 approved) and a fleet, times `factor` (never below a working minimum)."""

    factor: float = 1.0

    def of(self, full: int, least: int = 1) -> int:
        return max(least, round(full * self.factor))


@dataclass
class Expected:
    """What the scenario did, to check the report against."""

    filed: int = 0
    approved: int = 0
    rejected: int = 0
    approved_krw: int = 0
    by_tier: dict[str, list[int]] = field(default_factory=dict)
    rounds: list[int] = field(default_factory=list)
    programs: dict[str, str] = field(default_factory=dict)
    notes: dict[str, object] = field(default_factory=dict)
    fairness: dict[str, dict] = field(default_factory=dict)


def spot(n: int, offset: float = 0.0) -> dict[str, float]:
    """Driver n's waiting place: a grid ~2 km apart across Seoul, so each waits in their own H3 cell."""
    return {"lat": round(SEOUL[0] + (n // 8) * 0.02 + offset, 5), "lng": round(SEOUL[1] + (n % 8) * 0.02 + offset, 5)}


def run_scenario(api: Api, scale: float = 1.0, seed: int = 2022, progress: bool = True) -> tuple[Expected, dict]:
    """Replay the whole case; returns what was expected and the business claims program's report."""
    rng, size, expected = random.Random(seed), Scale(scale), Expected()
    taxi = [f"taxi-{n:03d}" for n in range(size.of(40, 4))]
    daeri = [f"daeri-{n:03d}" for n in range(size.of(20, 2))]
    riders = [f"rider-{n:04d}" for n in range(size.of(120, 10))]
    say = tqdm.write if progress else (lambda _: None)

    def bar(items, what):
        return tqdm(items, desc=what, unit="", leave=False, disable=not progress)

    api.travel_to(FIRST_DAY)
    _fleet(api, taxi, daeri)
    say(f"fleet: {len(taxi)} taxi and {len(daeri)} designated drivers, {len(riders)} riders around Seoul")
    rides = _two_weeks_of_rides(rng, size, taxi, daeri)
    for at, service, driver_n, rider in bar(rides, "two weeks of rides"):
        _ride(api, at, service, driver_n, rider, len(taxi))
    say(f"rides: {len(rides)} completed between {FIRST_DAY:%d %b} and the fire")
    incident_id, online_before = _the_fire(api, rng, riders, daeri, expected, say)
    _compensation(api, rng, size, incident_id, riders, expected, say, bar)
    api.travel_to(datetime(2023, 4, 30, tzinfo=UTC))
    report = api.call("GET", f"/programs/{expected.programs['business_claims']}/report", ADMIN)
    expected.notes["designated_online_before"] = online_before
    expected.fairness = _fairness(api)
    return expected, report


# --- rides ------------------------------------------------------------------------------------------------

def _fleet(api: Api, taxi: list[str], daeri: list[str]) -> None:
    for n, driver in enumerate(taxi):
        api.call("PUT", "/drivers/me", ("driver", driver), {"name": driver, "services": ["taxi"], "region": "seoul",
                                                            "affiliation": AFFILIATIONS[n % 2]})
        api.call("POST", "/drivers/me/status", ("driver", driver), {"status": "online", **spot(n)})
    for n, driver in enumerate(daeri):
        api.call("PUT", "/drivers/me", ("driver", driver), {"name": driver, "services": ["designated"],
                                                            "affiliation": AFFILIATIONS[n % 2]})
        api.call("POST", "/drivers/me/status", ("driver", driver), {"status": "online", **spot(n, 0.01)})


def _two_weeks_of_rides(rng: random.Random, size: Scale, taxi: list[str], daeri: list[str]) -> list[tuple]:
    """(completed at, service, driver index, rider) in time order: daily rides, and busy same hours a week before."""
    rides = []
    for day in range(14):
        for _ in range(size.of(3)):
            at = FIRST_DAY.replace(hour=0, minute=0) + timedelta(days=day, minutes=rng.randrange(60, 23 * 60))
            service = rng.choice(["taxi", "taxi", "designated"])
            drivers = taxi if service == "taxi" else daeri
            rides.append((at, service, rng.randrange(len(drivers)), f"rider-{rng.randrange(10_000):04d}"))
    week_before = FIRE - timedelta(days=7)
    for n in range(len(taxi)):                       # the same hours one week before: every taxi is busy
        for _ in range(2):
            at = week_before + timedelta(minutes=rng.randrange(0, 4 * 60))
            rides.append((at, "taxi", n, f"rider-{rng.randrange(10_000):04d}"))
    return sorted(r for r in rides if r[0] < FIRE - timedelta(minutes=5))


def _ride(api: Api, at: datetime, service: str, driver_n: int, rider: str, taxis: int) -> None:
    api.travel_to(at)
    where = spot(driver_n, 0.0 if service == "taxi" else 0.01)
    dropoff = {"lat": where["lat"] + 0.03, "lng": where["lng"] + 0.02}
    ride = api.call("POST", "/rides", ("rider", rider), {"service": service, "pickup": where, "dropoff": dropoff},
                    expect=201)
    driver = ride.get("driver_id")
    if driver is None:                               # nobody free nearby: the rider gives up
        api.call("POST", f"/rides/{ride['ride_id']}/cancel", ("rider", rider), {"reason": "no driver"})
        return
    for step in ("accept", "arrive", "start"):
        api.call("POST", f"/rides/{ride['ride_id']}/{step}", ("driver", driver))
    api.call("POST", f"/rides/{ride['ride_id']}/complete", ("driver", driver), {"distance_m": 6500, "duration_s": 1500})


def _fairness(api: Api) -> dict[str, dict]:
    """The drivers' council reads dispatch's fairness figures of the busy day a week before the fire."""
    day = BUSY_DAY.replace(hour=0, minute=0)
    window = f"from={_iso(day)}&to={_iso(day + timedelta(days=1))}"
    return {service: api.call("GET", f"/dispatch/fairness?{window}&service={service}", AUDITOR)
            for service in ("taxi", "designated")}


# --- the fire ---------------------------------------------------------------------------------------------

def _the_fire(api: Api, rng: random.Random, riders: list[str], daeri: list[str], expected: Expected,
              say) -> tuple[str, int]:
    api.travel_to(FIRE - timedelta(hours=3))
    for component in DOWN + STILL_UP:
        api.call("POST", "/components", ADMIN, {"name": component, "heartbeat_timeout_s": 60}, expect=(201, 409))
    for n, driver in enumerate(daeri):               # designated drivers went home after the night shift
        api.call("POST", "/drivers/me/status", ("driver", driver), {"status": "offline", **spot(n, 0.01)})
    online_before = [d for d in daeri if rng.random() < 0.6] or daeri[:1]
    api.travel_to(FIRE - timedelta(minutes=40))
    for driver in online_before:
        api.call("POST", "/drivers/me/status", ("driver", driver),
                 {"status": "online", **spot(daeri.index(driver), 0.01)})
    for minutes_before in (3, 2, 1):                 # healthy heartbeats, healthy checks
        api.travel_to(FIRE - timedelta(minutes=minutes_before))
        _heartbeats(api, DOWN + STILL_UP)
        api.run_job("detect-outages")
    incident_id = None
    for n in range(3):                               # the fire: three components fall silent
        api.travel_to(FIRE + timedelta(seconds=30 + 60 * n))
        _heartbeats(api, STILL_UP)
        opened = api.run_job("detect-outages")
        incident_id = incident_id or next(iter(opened.get("opened", [])), None)
    incidents = api.call("GET", "/incidents", ADMIN)["items"]
    incident = next(i for i in incidents if i["state"] == "open")
    incident_id = incident["incident_id"]
    say(f"fire: incident {incident_id} opened by the detector, started {incident['started_at']}, "
        f"components {', '.join(incident['components'])}")
    stranded = _stranded_riders(api, rng, riders)
    expected.notes["stranded_riders"] = len(stranded)
    for n in range(3):                               # the platform comes back
        api.travel_to(RECOVERY + timedelta(minutes=n))
        _heartbeats(api, DOWN + STILL_UP)
        api.run_job("detect-outages")
    incident = api.call("GET", f"/incidents/{incident_id}", ADMIN)
    say(f"recovery: incident {incident['state']} at {incident['resolved_at']} after {incident['duration_s'] // 60} min")
    api.travel_to(RECOVERY + timedelta(hours=1))
    api.call("POST", "/notices", ADMIN, {"title": "Compensation for the outage", "body": (
        "We are sorry. Lost income of taxi drivers will be made up in full, designated drivers will receive a "
        "support payment, and businesses can claim their losses. Details follow.")}, expect=201)
    notices = api.call("GET", "/notices", ("driver", "taxi-000"))["items"]
    say(f"notices: drivers see {len(notices)} notices (outage, recovery, compensation)")
    return incident_id, len(online_before)


def _heartbeats(api: Api, components: tuple[str, ...]) -> None:
    for component in components:
        api.call("POST", f"/heartbeats/{component}", ("service", "probe"))


def _stranded_riders(api: Api, rng: random.Random, riders: list[str]) -> set[str]:
    """Riders caught by the outage: some gave up and cancelled, some waited until the search expired."""
    api.travel_to(FIRE + timedelta(minutes=5))
    busan = {"lat": 35.1796, "lng": 129.0756}
    caught = rng.sample(riders, max(2, len(riders) // 4))
    for n, rider in enumerate(caught):
        pickup = {"lat": busan["lat"] + 0.001 * n, "lng": busan["lng"]}
        ride = api.call("POST", "/rides", ("rider", rider), {"service": "designated", "pickup": pickup,
                                                            "dropoff": {"lat": 35.16, "lng": 129.16}}, expect=201)
        if n % 2:
            api.call("POST", f"/rides/{ride['ride_id']}/cancel", ("rider", rider), {"reason": "app stopped working"})
    api.travel_to(FIRE + timedelta(minutes=10))
    api.run_job("expire-rides")
    return set(caught)


# --- compensation and payouts -----------------------------------------------------------------------------

def _compensation(api: Api, rng: random.Random, size: Scale, incident_id: str, riders: list[str],
                  expected: Expected, say, bar) -> None:
    api.travel_to(datetime(2022, 10, 20, 9, tzinfo=UTC))
    opens, closes = datetime(2022, 10, 24, tzinfo=UTC), datetime(2022, 11, 24, tzinfo=UTC)
    kinds = {"business_claims": {"intake_opens_at": _iso(opens), "intake_closes_at": _iso(closes),
                                 "budget_krw": 70_000_000},
             "driver_income": {"service": "taxi", "multiplier": 1.0},
             "driver_support": {"service": "designated", "amount_krw": 50_000},
             "rider_credit": {"amount_krw": 3_000}, "voucher": {"items": VOUCHER_ITEMS},
             "message_cash": {"amount_krw": 50_000, "budget_krw": 50_000 * size.of(25, 2)}}
    for kind, params in kinds.items():
        created = api.call("POST", "/programs", ADMIN, {"name": kind.replace("_", " ").title(),
                                                        "incident_id": incident_id, "kind": kind, "params": params},
                           expect=201)
        expected.programs[kind] = created["program_id"]
    computed = api.run_job("compute-entitlements")
    say(f"entitlements: computed for {len(computed['computed'])} programs, {computed['entitlements']} payees")
    _vouchers(api, rng, riders, expected, bar)
    _message_cash(api, size, expected)
    for kind in ("driver_income", "driver_support", "rider_credit", "message_cash"):
        _pay_round(api, expected.programs[kind], None)
    _business_claims(api, rng, size, expected, say, bar)


def _vouchers(api: Api, rng: random.Random, riders: list[str], expected: Expected, bar) -> None:
    program = expected.programs["voucher"]
    takers = [r for r in riders if rng.random() < 0.7]
    for rider in bar(takers, "vouchers taken"):
        first = api.call("POST", f"/programs/{program}/vouchers/claim", ("rider", rider))
        if rng.random() < 0.2:                       # some tap twice: same vouchers
            assert api.call("POST", f"/programs/{program}/vouchers/claim", ("rider", rider)) == first
    expected.notes["voucher_takers"] = len(takers)


def _message_cash(api: Api, size: Scale, expected: Expected) -> None:
    program, granted = expected.programs["message_cash"], 0
    for n in range(size.of(30, 3)):
        business = f"shop-{n:04d}"
        answer = api.call("POST", f"/programs/{program}/claims", ("business", business), {
            "business_id": business, "business_name": f"Shop {n}", "channel": "web", "evidence": []},
            expect=(201, 409))
        granted += answer.get("status") == "approved"
    expected.notes["message_cash_granted"] = granted


def _business_claims(api: Api, rng: random.Random, size: Scale, expected: Expected, say, bar) -> None:
    program = expected.programs["business_claims"]
    events = _claim_timeline(rng, size.of(451, 5), size.of(205, 3), size)
    claim_ids: dict[str, str] = {}
    today = None
    for at, action, business, detail in bar(events, "claims, reviews, rounds"):
        if at.date() != today:                       # the office works through each day's events at 09:00
            today = at.date()
            api.travel_to(datetime.combine(today, OFFICE_OPENS, tzinfo=UTC))
        if action == "file":
            filed = api.call("POST", f"/programs/{program}/claims", ("business", business), detail,
                             headers={"Idempotency-Key": f"{program}-{business}"}, expect=201)
            claim_ids[business] = filed["claim_id"]
            expected.filed += 1
        elif action == "documents":
            api.call("POST", f"/claims/{claim_ids[business]}/documents", ("business", business), detail)
        elif action == "review":
            decided = api.call("POST", f"/claims/{claim_ids[business]}/review", ADMIN, detail)
            _tally(expected, detail, decided)
        elif action == "extend":
            api.call("POST", f"/programs/{program}/extend", ADMIN, detail)
        elif action == "close":
            api.run_job("close-intake")
        elif action == "round":
            expected.rounds.append(_pay_round(api, program, detail.get("max_claims")))
    say(f"claims: {expected.filed} filed through {len(CHANNELS)} channels, {expected.approved} approved, "
        f"{expected.rejected} rejected; paid in {len(expected.rounds)} rounds")


def _claim_timeline(rng: random.Random, claims: int, approvals: int, size: Scale) -> list[tuple]:
    """Every dated step of the business claims program, in time order."""
    intake_end = datetime(2023, 3, 24, tzinfo=UTC)
    events = [(datetime(2022, 11, 20, tzinfo=UTC), "extend", "", {"intake_closes_at": "2022-12-24T00:00:00Z"}),
              (datetime(2022, 12, 20, tzinfo=UTC), "extend", "", {"intake_closes_at": "2023-01-24T00:00:00Z"}),
              (datetime(2023, 1, 20, tzinfo=UTC), "extend", "", {"intake_closes_at": _iso(intake_end)}),
              (intake_end + timedelta(hours=1), "close", "", {}),
              (datetime(2022, 12, 15, tzinfo=UTC), "round", "", {"max_claims": size.of(80)}),
              (datetime(2023, 2, 15, tzinfo=UTC), "round", "", {"max_claims": size.of(80)}),
              (datetime(2023, 4, 20, tzinfo=UTC), "round", "", {})]
    approved = set(rng.sample(range(claims), approvals))
    span = (intake_end - timedelta(days=10) - datetime(2022, 10, 24, tzinfo=UTC)).total_seconds()
    for n in range(claims):
        business = f"biz-{n:04d}"
        filed_at = datetime(2022, 10, 24, tzinfo=UTC) + timedelta(seconds=span * (n + rng.random()) / claims)
        loss = _loss(rng, n in approved)
        events.append((filed_at, "file", business, {
            "business_id": business, "business_name": f"Business {n}", "loss_krw": loss,
            "channel": rng.choices(CHANNELS, CHANNEL_WEIGHTS)[0], "evidence": [f"receipts-{n}.pdf"]}))
        reviewed_at = filed_at + timedelta(days=rng.randrange(3, 9))
        if rng.random() < 0.15:                      # incomplete: documents asked for and sent
            events.append((reviewed_at, "review", business, {"decision": "request_documents",
                                                            "reason": "please add the sales ledger"}))
            events.append((reviewed_at + timedelta(days=2), "documents", business, {"evidence": [f"ledger-{n}.pdf"]}))
            reviewed_at += timedelta(days=4)
        events.append((reviewed_at, "review", business, _decision(rng, loss, n in approved)))
    return sorted(events, key=lambda e: (e[0].date(), ORDER_IN_A_DAY[e[1]], e[0]))


def _loss(rng: random.Random, meets_criteria: bool) -> int:
    if not meets_criteria:
        return rng.randrange(5, 500) * 10_000
    band = rng.random()
    if band < 0.45:
        return rng.choice([300_000, rng.randrange(5, 30) * 10_000])
    if band < 0.75:
        return rng.choice([500_000, 300_001, rng.randrange(31, 50) * 10_000])
    return rng.randrange(60, 260) * 10_000


def _decision(rng: random.Random, loss: int, meets_criteria: bool) -> dict:
    if not meets_criteria:
        return {"decision": "reject", "reason": rng.choice(REJECTIONS)}
    if loss > 500_000:                               # above the top tier: reviewed one by one
        return {"decision": "approve", "amount_krw": loss // 2 // 10_000 * 10_000}
    return {"decision": "approve"}


def _tally(expected: Expected, decision: dict, answer: dict) -> None:
    if decision["decision"] == "approve":
        expected.approved += 1
        expected.approved_krw += answer["payout_krw"]
        tier = answer["tier"]
        counts = expected.by_tier.setdefault(tier, [0, 0])
        counts[0], counts[1] = counts[0] + 1, counts[1] + answer["payout_krw"]
    elif decision["decision"] == "reject":
        expected.rejected += 1


def _pay_round(api: Api, program_id: str, max_claims: int | None) -> int:
    """Create a round, have the approver approve it, wait until the queue has paid it; returns its claims."""
    body = {"program_id": program_id, **({"max_claims": max_claims} if max_claims else {})}
    created = api.call("POST", "/payouts", ADMIN, body, expect=(201, 409))
    if "round_id" not in created:
        return 0                                     # nothing to pay
    api.call("POST", f"/payouts/{created['round_id']}/approve", APPROVER, approver=True, expect=202)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        paid = api.call("GET", f"/payouts/{created['round_id']}", ADMIN)
        if paid["status"] == "paid":
            return paid["claim_count"]
        time.sleep(0.3)
    raise TimeoutError(f"round {created['round_id']} was not paid in time: {paid}")


def _iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")
