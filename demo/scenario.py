"""The fire of 15 October 2022 and its aftermath, replayed through the HTTP API on the real calendar, scaled.

Every step is an HTTP call a client could make; the local stack's clock is stopped at each moment with
PUT /dev/clock, so two weeks of rides and nine months of compensation fit in a few minutes. At scale 1.0 the
figures are the real case's: 451 claims filed, 205 approved, three rounds; 900 message-cash grants of
50,000 KRW (the 901st refused). Deterministic for a seed. Only the incident this replay opened is used,
whatever else the stack holds.
"""

import random
import sys
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from tqdm import tqdm

from demo import claims, fire, rides
from demo.claims import Claims
from demo.client import ADMIN, APPROVER, AUDITOR, Api
from demo.timeline import (
    COUNCIL,
    DRIVERS_PAID,
    EMOTICONS,
    FINAL_REPORT,
    FIRST_DAY,
    INTAKE_FIRST_CLOSE,
    MESSAGE_CASH_CLOSES,
    MESSAGE_CASH_PAID,
    POLICY,
    in_kst,
    iso,
)

VOUCHER_ITEMS = [{"name": "Emoticon pack (permanent)", "valid_days": None},
                 {"name": "Emoticon pack A (90 days)", "valid_days": 90},
                 {"name": "Emoticon pack B (90 days)", "valid_days": 90}]
PROGRAM_NAMES = {"business_claims": "Small-business damage claims", "driver_income": "Taxi drivers' lost income",
                 "driver_support": "Designated drivers' support payment", "rider_credit": "Riders' in-app credit",
                 "voucher": "Emoticon pack for every user", "message_cash": "Channel-message cash for businesses"}
SUPPORT_KRW, CREDIT_KRW = 50_000, 3_000
CROWD_SHARE = 20_000          # the replay's crowd: one rider for every 20,000 of the 17.3 million who took it
PAID_WITHIN_S = 120


@dataclass(frozen=True)
class Scale:
    """The real case times `factor` (never below a working minimum)."""

    factor: float = 1.0

    def of(self, full: int, least: int = 1) -> int:
        return max(least, round(full * self.factor))


@dataclass
class Replay:
    """What the scenario did (to check the reports against), and what the stack reported."""

    incident: dict = field(default_factory=dict)
    programs: dict[str, str] = field(default_factory=dict)         # kind -> program id
    owed: dict[str, dict[str, int]] = field(default_factory=dict)  # kind -> payee -> KRW the scenario expects
    claims: Claims = field(default_factory=Claims)
    message_cash: dict = field(default_factory=dict)
    voucher_takers: int = 0
    rounds: dict[str, list[dict]] = field(default_factory=dict)    # kind -> its paid rounds
    fairness: dict[str, dict] = field(default_factory=dict)
    program_report: dict = field(default_factory=dict)
    notes: dict[str, object] = field(default_factory=dict)


def run_scenario(api: Api, scale: float = 1.0, seed: int = 2022, progress: bool = True) -> Replay:
    """Replay the whole case; the reports are fetched by the caller (see demo.__main__)."""
    rng, size, replay = random.Random(seed), Scale(scale), Replay()
    taxi = [f"taxi-{n:03d}" for n in range(size.of(40, 4))]
    daeri = [f"daeri-{n:03d}" for n in range(size.of(20, 2))]
    riders = [f"rider-{n:04d}" for n in range(size.of(120, 10))]
    say = tqdm.write

    @contextmanager
    def phase(what: str, total: int):
        started = time.monotonic()
        with tqdm(total=total, desc=what, unit="", leave=True, disable=not progress, dynamic_ncols=True) as bar:
            yield bar
        if not progress:
            print(f"  {what}: {total} steps in {time.monotonic() - started:.1f} s", file=sys.stderr, flush=True)

    with phase("fleet", len(taxi) + len(daeri)) as bar:
        api.travel_to(FIRST_DAY)
        fleet = rides.set_up_fleet(api, taxi, daeri, bar.update)
    ordinary = rides.ordinary_rides(rng, size.of(3, 0), fleet, riders)
    with phase("two weeks of rides", len(ordinary)) as bar:
        rides.drive(api, fleet, ordinary, bar.update)
    say(f"fleet: {len(taxi)} taxi and {len(daeri)} designated drivers; {len(ordinary)} rides "
        f"{in_kst(FIRST_DAY)[:10]} to the fire")
    _the_fire(api, rng, size, fleet, riders, replay, say, phase)
    with phase("council and policy", 4) as bar:
        _council(api, bar.update)
        _policy(api, size, replay, bar.update)
    _paid_automatically(api, fleet, replay, phase)
    _emoticons(api, rng, size, replay, phase)
    _message_cash(api, rng, size, replay, say, phase)
    _business_claims(api, rng, size, replay, say, phase)
    api.travel_to(FINAL_REPORT)
    replay.fairness = rides.fairness(api)
    return replay


# --- the fire ---------------------------------------------------------------------------------------------

def _the_fire(api: Api, rng: random.Random, size: Scale, fleet: rides.Fleet, riders: list[str], replay: Replay,
              say, phase) -> None:
    back_to_work = rides.rides_while_messaging_is_down(rng, size.of(12, 2), fleet, riders)
    with phase("the fire", 4 + len(back_to_work)) as bar:
        online_before = fire.before_the_fire(api, rng, fleet)
        bar.update()
        incident_id, stranded = fire.the_fire(api, rng, riders)
        bar.update()
        fire.rides_come_back(api)
        bar.update()
        rides.drive(api, fleet, back_to_work, bar.update)
        incident = fire.messaging_comes_back(api, incident_id)
        bar.update()
    replay.incident = incident
    started, resolved = _moment(incident["started_at"]), _moment(incident["resolved_at"])
    credited = {r for r, at in {**fleet.cancelled, **stranded}.items() if started <= at < resolved}
    replay.owed = {"driver_income": rides.lost_income(fleet, started, resolved),
                   "driver_support": dict.fromkeys(online_before, SUPPORT_KRW),
                   "rider_credit": dict.fromkeys(credited, CREDIT_KRW)}
    back = {c["name"]: c["recovered_at"] for c in incident.get("component_windows", [])}
    say(f"fire: incident {incident_id} opened by the detector, started {in_kst(incident['started_at'])}, "
        f"resolved {in_kst(incident['resolved_at'])} ({incident['duration_s'] // 3600} h "
        f"{incident['duration_s'] % 3600 // 60} min); "
        + ", ".join(f"{name} back {in_kst(at)[11:]}" for name, at in back.items() if at))
    say(f"       {len(stranded)} riders stranded, {len(back_to_work)} taxi rides once the ride API was back")


# --- council, policy, the automatic programs --------------------------------------------------------------

def _council(api: Api, done) -> None:
    api.travel_to(COUNCIL)
    api.call("POST", "/notices", ADMIN, {"title": "Damage-support council formed", "body": (
        "A council with partners and the drivers' unions will review the damage reports and set the support "
        "policy; we will announce it here.")}, expect=201)
    api.call("GET", "/notices", ("driver", "taxi-000"))
    done()


def _policy(api: Api, size: Scale, replay: Replay, done) -> None:
    """29 December 2022: the support policy: one program per kind for the replay's own incident."""
    api.travel_to(POLICY)
    incident_id = replay.incident["incident_id"]
    kinds = {"business_claims": {"intake_opens_at": iso(POLICY), "intake_closes_at": iso(INTAKE_FIRST_CLOSE),
                                 "budget_krw": 70_000_000},
             "driver_income": {"service": "taxi", "multiplier": 1.0},
             "driver_support": {"service": "designated", "amount_krw": SUPPORT_KRW},
             "rider_credit": {"amount_krw": CREDIT_KRW}, "voucher": {"items": VOUCHER_ITEMS},
             "message_cash": {"amount_krw": claims.MESSAGE_CASH_KRW, "intake_closes_at": iso(MESSAGE_CASH_CLOSES),
                              "budget_krw": claims.MESSAGE_CASH_KRW * size.of(900, 2)}}

    def create(kind: str) -> str:
        return api.call("POST", "/programs", ADMIN, {"name": PROGRAM_NAMES[kind],
                                                     "incident_id": incident_id, "kind": kind,
                                                     "params": kinds[kind]}, expect=201)["program_id"]

    replay.programs = dict(zip(kinds, api.each(create, list(kinds)), strict=True))
    done()
    api.call("POST", "/notices", ADMIN, {"title": "Support policy for the outage of 15 October", "body": (
        "Taxi drivers: the income lost in the outage, in full. Designated drivers: a support payment. Riders "
        "whose ride failed: in-app credit. Everyone: an emoticon pack from January. Small businesses: claims "
        "open today through chatbot, web, phone, mail or a visit.")}, expect=201)
    done()
    replay.notes["entitlements"] = api.run_job("compute-entitlements")["entitlements"]
    done()


def _paid_automatically(api: Api, fleet: rides.Fleet, replay: Replay, phase) -> None:
    kinds = ("driver_income", "driver_support", "rider_credit")
    with phase("drivers and riders paid", len(kinds)) as bar:
        api.travel_to(DRIVERS_PAID)
        paid = api.each(lambda kind: pay_round(api, replay.programs[kind]), kinds, bar.update)
    replay.rounds.update({kind: [r] for kind, r in zip(kinds, paid, strict=True) if r})


def _emoticons(api: Api, rng: random.Random, size: Scale, replay: Replay, phase) -> None:
    """Riders take the emoticon pack on demand through January; some tap twice and get the same pack."""
    program, crowd = replay.programs["voucher"], size.of(17_300_000 // CROWD_SHARE, 10)
    days = (EMOTICONS[1] - EMOTICONS[0]).days + 1
    by_day: dict[int, list[tuple[str, bool]]] = {}
    for n in range(crowd):                           # (rider, taps twice), most on the first days
        by_day.setdefault(int(days * rng.random() ** 3), []).append((f"fan-{n:05d}", rng.random() < 0.2))

    def take(entry: tuple[str, bool]) -> None:
        rider, twice = entry
        first = api.call("POST", f"/programs/{program}/vouchers/claim", ("rider", rider))
        if twice and api.call("POST", f"/programs/{program}/vouchers/claim", ("rider", rider)) != first:
            raise AssertionError(f"{rider} got other vouchers the second time")

    with phase("emoticon pack taken", crowd) as bar:
        for day in sorted(by_day):
            api.travel_to(EMOTICONS[0] + timedelta(days=day, hours=rng.randrange(0, 12)))
            api.each(take, by_day[day], bar.update)
    replay.voucher_takers = crowd


def _message_cash(api: Api, rng: random.Random, size: Scale, replay: Replay, say, phase) -> None:
    program, grants = replay.programs["message_cash"], size.of(900, 2)
    days = claims.message_cash_days(rng, grants)
    with phase("message cash", grants + 2) as bar:
        replay.message_cash = claims.apply_for_message_cash(api, program, days, bar.update)
        api.travel_to(MESSAGE_CASH_PAID)
        replay.rounds["message_cash"] = [pay_round(api, program)]
        bar.update()
    replay.owed["message_cash"] = {f"shop-{n:04d}": claims.MESSAGE_CASH_KRW for n in range(grants)
                                   if f"shop-{n:04d}" not in dict(replay.message_cash["refused"])}
    refused = "; ".join(f"{b}: {why}" for b, why in replay.message_cash["refused"])
    say(f"message cash: {replay.message_cash['granted']} grants of {claims.MESSAGE_CASH_KRW:,} KRW; refused {refused}")


def _business_claims(api: Api, rng: random.Random, size: Scale, replay: Replay, say, phase) -> None:
    program = replay.programs["business_claims"]
    steps = claims.claim_steps(rng, size.of(451, 5), size.of(205, 3))
    with phase("claims, reviews, rounds", len(steps)) as bar:
        replay.claims = claims.work_through(api, program, steps, lambda p: pay_round(api, p), bar.update)
    replay.rounds["business_claims"] = [r for r in replay.claims.rounds if r]
    say(f"claims: {replay.claims.filed} filed through {len(claims.CHANNELS)} channels, {replay.claims.approved} "
        f"approved, {replay.claims.rejected} rejected; paid in {len(replay.rounds['business_claims'])} rounds")


def pay_round(api: Api, program_id: str) -> dict | None:
    """Create a round, have the approver approve it, wait until the queue has paid it; None if nothing was due."""
    created = api.call("POST", "/payouts", ADMIN, {"program_id": program_id}, expect=(201, 409))
    if "round_id" not in created:
        return None
    api.call("POST", f"/payouts/{created['round_id']}/approve", APPROVER, approver=True, expect=202)
    deadline = time.monotonic() + PAID_WITHIN_S
    while time.monotonic() < deadline:
        paid = api.call("GET", f"/payouts/{created['round_id']}", ADMIN)
        if paid["status"] == "paid":
            return paid
        time.sleep(0.25)
    raise TimeoutError(f"round {created['round_id']} was not paid in time: {paid}")


def incident_report(api: Api, incident_id: str) -> tuple[dict, str]:
    """The council's report of every program of the incident: JSON and the page for people."""
    path = f"/incidents/{incident_id}/report"
    return api.call("GET", path, AUDITOR), api.call("GET", f"{path}?format=html", AUDITOR)["text"]


def _moment(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))
