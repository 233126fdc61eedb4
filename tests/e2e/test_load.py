"""A bounded load test on loopback against the real local stack: many clients at once, then an audit of
what they were told against what the stack stored.

For about 20 seconds: taxi drivers online at distinct places around Seoul take the offers they get
(accept, arrive, start, complete); riders request rides near them with an `Idempotency-Key` (some retried
with the same key, some sent twice at once) and cancel what nobody takes in time; businesses file damage
claims in two `business_claims` programs (some retried with the same key, some filed twice without one).
Each client is a thread with its own `requests.Session`.

Afterwards: every ride id a client got back exists exactly once (the rides table holds exactly those rides
for these riders) and every retried key answered with the first ride; each driver's earnings are the sum
of the completions that driver was told about; every claim is readable by its business and an admin;
each program's `counts.filed` and its claims in the table equal the distinct claims filed; and no request
got a 5xx. Latency percentiles per operation are printed (`pytest -s`), not asserted.
"""

import math
import random
import threading
import time
from collections import Counter, defaultdict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import boto3
import pytest
import requests
from boto3.dynamodb.conditions import Attr

from tests.e2e.conftest import bearer

pytestmark = pytest.mark.e2e

DURATION_S = 20.0
RIDERS, DRIVERS, BUSINESSES = 10, 12, 6  # one thread each: 28 clients
MAX_RIDES_PER_RIDER, MAX_CLAIMS_PER_BUSINESS = 40, 40
WAIT_FOR_DRIVER_S = 4.0  # a rider cancels a ride still searching or offered after this long
FOLLOW_S = 20.0  # a rider stops following a ride after this long (it is then cancelled in the clean-up)
TIMEOUT_S = 30
SEOUL = (37.5663, 126.9779)
# A 4 x 3 grid, ~2.2 km apart, from Mapo to Gwangjin: distinct H3 cells, each a pickup area of its own.
SPOTS = [(37.535 + 0.02 * row, 126.92 + 0.025 * col) for row in range(3) for col in range(4)]
EXPECTED_REFUSALS = {409}  # races (offer expired, ride cancelled meanwhile) and duplicates: nothing else
RIDE_STATES_DONE = {"completed", "cancelled", "expired"}
SEED = 8


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


class Recorder:
    """Every request's operation, status and latency, from all threads."""

    def __init__(self):
        self.lock = threading.Lock()
        self.calls: list[tuple[str, int | str, float]] = []
        self.failures: list[str] = []

    def call(self, session: requests.Session, base: str, operation: str, method: str, path: str, headers: dict,
             body=None, retry_transport: bool = False) -> requests.Response | None:
        """One request; a transport error is recorded, and retried as is when the request is safe to repeat."""
        for attempt in range(4):
            started = time.perf_counter()
            try:
                response = session.request(method, f"{base}{path}", json=body, headers=headers, timeout=TIMEOUT_S)
            except requests.RequestException as exc:
                self.record(operation, f"transport:{type(exc).__name__}", time.perf_counter() - started)
                if retry_transport and attempt < 3:
                    continue
                return None
            self.record(operation, response.status_code, time.perf_counter() - started)
            if response.status_code >= 500:
                self.fail(f"{method} {path} -> {response.status_code} {response.text[:300]}")
            return response
        return None

    def record(self, operation: str, status: int | str, seconds: float) -> None:
        with self.lock:
            self.calls.append((operation, status, seconds))

    def fail(self, message: str) -> None:
        with self.lock:
            self.failures.append(message)

    def report(self) -> None:
        by_operation: dict[str, list[float]] = defaultdict(list)
        statuses: dict[str, Counter] = defaultdict(Counter)
        for operation, status, seconds in self.calls:
            by_operation[operation].append(seconds)
            statuses[operation][status] += 1
        print(f"\n== load: {len(self.calls)} requests")
        print(f"  {'operation':34} {'n':>5} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8}  statuses")
        for operation in sorted(by_operation):
            times = sorted(by_operation[operation])
            p50, p95, p99 = (percentile(times, p) * 1000 for p in (50, 95, 99))
            shown = dict(sorted(statuses[operation].items(), key=str))
            print(f"  {operation:34} {len(times):5} {p50:8.0f} {p95:8.0f} {p99:8.0f}  {shown}")
        errors = Counter((operation, status) for operation, status, _ in self.calls
                         if not (isinstance(status, int) and status < 400))
        print("== load: errors by operation and status: " + (
            ", ".join(f"{op} {status} x{n}" for (op, status), n in sorted(errors.items(), key=str)) or "none"))

    def unexpected(self) -> list[tuple[str, int | str]]:
        return sorted({(op, status) for op, status, _ in self.calls
                       if not (isinstance(status, int) and (status < 400 or status in EXPECTED_REFUSALS))}, key=str)


def percentile(ordered: list[float], p: float) -> float:
    """Nearest-rank percentile of an ascending list."""
    return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]


class World:
    """What the clients were told, shared by all threads."""

    def __init__(self):
        self.lock = threading.Lock()
        self.ride_by_key: dict[str, str] = {}            # idempotency key -> the ride id of its first answer
        self.retried_keys: dict[str, list[str]] = {}     # key -> ride ids of every later answer to it
        self.completions: dict[str, tuple[str, dict]] = {}  # ride id -> (driver, fare)
        self.open_rides: dict[str, str] = {}             # ride id -> rider, until seen done
        self.claims: dict[str, dict] = {}                # claim id -> {program, business, loss_krw, key}
        self.claim_by_key: dict[str, str] = {}
        self.claim_retries: dict[str, list[str]] = {}
        self.riders_done = threading.Event()
        self.retries: Counter = Counter()                # operation -> sequential retries sent
        self.refused_retries: dict[str, list[str]] = defaultdict(list)  # operation -> what the refused ones got

    def note_retry(self, operation: str, caller: str, key: str, answer: requests.Response | None, field: str,
                   answers: dict[str, list[str]]) -> None:
        """A retry sent after the first answer arrived: it must answer 201 with the same id."""
        with self.lock:
            self.retries[operation] += 1
            if answer is not None and answer.status_code == 201:
                answers[key].append(answer.json()[field])
            else:
                self.refused_retries[operation].append(
                    f"{caller} key {key!r} -> {getattr(answer, 'status_code', None)} {getattr(answer, 'text', '')}")


@pytest.fixture(scope="module")
def programs(stack) -> list[str]:
    """An incident declared by hand on a fresh component, and two business_claims programs for it."""
    admin, base, now = bearer("admin", "load-ops"), stack["base"], datetime.now(UTC)
    registered = requests.post(f"{base}/components", json={"name": "load-dispatch", "heartbeat_timeout_s": 60},
                               headers=admin, timeout=TIMEOUT_S)
    assert registered.status_code == 201, registered.text
    declared = requests.post(f"{base}/incidents", headers=admin, timeout=TIMEOUT_S, json={
        "components": ["load-dispatch"], "started_at": iso(now - timedelta(hours=2)), "summary": "dispatch down"})
    assert declared.status_code == 201, declared.text
    made = []
    for name in ("Merchants' losses (card)", "Merchants' losses (cash)"):
        created = requests.post(f"{base}/programs", headers=admin, timeout=TIMEOUT_S, json={
            "name": name, "incident_id": declared.json()["incident_id"], "kind": "business_claims",
            "params": {"intake_opens_at": iso(now - timedelta(hours=1)),
                       "intake_closes_at": iso(now + timedelta(days=14)), "budget_krw": 1_000_000_000}})
        assert created.status_code == 201, created.text
        made.append(created.json()["program_id"])
    return made


@pytest.fixture(scope="module")
def drivers_online(stack) -> dict[str, tuple[float, float]]:
    """Taxi drivers online, one at each spot."""
    online = {}
    for number, (lat, lng) in enumerate(SPOTS):
        driver = f"load-driver-{number:02}"
        headers = bearer("driver", driver)
        profile = requests.put(f"{stack['base']}/drivers/me", json={"name": f"Driver {number}", "services": ["taxi"]},
                               headers=headers, timeout=TIMEOUT_S)
        assert profile.status_code == 200, profile.text
        status = requests.post(f"{stack['base']}/drivers/me/status", headers=headers, timeout=TIMEOUT_S,
                               json={"status": "online", "lat": lat, "lng": lng})
        assert status.status_code == 200, status.text
        online[driver] = (lat, lng)
    return online


def near(place: tuple[float, float], rng: random.Random, metres: float) -> dict[str, float]:
    """A point within about `metres` of `place`."""
    return {"lat": round(place[0] + rng.uniform(-1, 1) * metres / 111_000, 6),
            "lng": round(place[1] + rng.uniform(-1, 1) * metres / 88_000, 6)}


def post(rec: Recorder, session: requests.Session, base: str, operation: str, path: str, headers: dict, body: dict,
         twice: bool) -> list[requests.Response | None]:
    """POST once, or the same request twice at once on two connections (a double tap)."""
    if not twice:
        return [rec.call(session, base, operation, "POST", path, headers, body, retry_transport=True)]
    with ThreadPoolExecutor(2) as both:
        sent = [both.submit(rec.call, s, base, operation, "POST", path, headers, body, retry_transport=True)
                for s in (session, requests.Session())]
        return [future.result() for future in sent]


def rider_client(base: str, number: int, deadline: float, rec: Recorder, world: World) -> None:
    rider, rng = f"load-rider-{number:02}", random.Random(SEED * 1000 + number)
    headers, session = bearer("rider", rider), requests.Session()
    for n in range(MAX_RIDES_PER_RIDER):
        if time.monotonic() >= deadline:
            break
        key = f"{rider}-ride-{n}"
        body = {"service": "taxi", "pickup": near(rng.choice(SPOTS), rng, 300),
                "dropoff": near(SEOUL, rng, 6000)}
        with_key = {**headers, "Idempotency-Key": key}
        # now and then a double tap: the same request twice at once
        answers = post(rec, session, base, "POST /rides", "/rides", with_key, body, twice=rng.random() < 0.1)
        created = [a.json()["ride_id"] for a in answers if a is not None and a.status_code == 201]
        if len(created) < len(answers):  # a twin refused as in progress, or no answer: ask again with the key
            time.sleep(0.3)
            again = rec.call(session, base, "POST /rides", "POST", "/rides", with_key, body, retry_transport=True)
            if again is not None and again.status_code == 201:
                created.append(again.json()["ride_id"])
        if not created:
            rec.fail(f"{rider}: POST /rides with key {key} never answered 201")
            continue
        with world.lock:
            world.ride_by_key[key] = created[0]
            world.retried_keys[key] = created[1:]
            world.open_rides[created[0]] = rider
        if rng.random() < 0.3:  # a retry after a lost answer: the same key and body
            retried = rec.call(session, base, "POST /rides", "POST", "/rides", with_key, body, retry_transport=True)
            world.note_retry("POST /rides", rider, key, retried, "ride_id", world.retried_keys)
        follow(base, session, headers, created[0], rec, world)


def follow(base: str, session: requests.Session, headers: dict, ride_id: str, rec: Recorder, world: World) -> None:
    """Watch the ride until it is done; cancel it when no driver has taken it in time."""
    started, cancelled = time.monotonic(), False
    while time.monotonic() - started < FOLLOW_S:
        seen = rec.call(session, base, "GET /rides/{id}", "GET", f"/rides/{ride_id}", headers)
        status = seen.json()["status"] if seen is not None and seen.status_code == 200 else None
        if status in RIDE_STATES_DONE:
            with world.lock:
                world.open_rides.pop(ride_id, None)
            return
        if status in ("searching", "offered") and not cancelled and time.monotonic() - started > WAIT_FOR_DRIVER_S:
            rec.call(session, base, "POST /rides/{id}/cancel", "POST", f"/rides/{ride_id}/cancel", headers,
                     {"reason": "waited too long"})
            cancelled = True
            continue
        time.sleep(0.25)


def driver_client(base: str, driver: str, rec: Recorder, world: World, rng: random.Random) -> None:
    headers, session = bearer("driver", driver), requests.Session()
    while not world.riders_done.is_set():
        offers = rec.call(session, base, "GET /drivers/me/offers", "GET", "/drivers/me/offers", headers)
        items = offers.json()["items"] if offers is not None and offers.status_code == 200 else []
        if not items:
            time.sleep(0.15)
            continue
        ride_id = items[0]["ride_id"]
        steps_ok = True
        for step in ("accept", "arrive", "start"):
            answer = rec.call(session, base, f"POST /rides/{{id}}/{step}", "POST", f"/rides/{ride_id}/{step}", headers)
            if answer is None or answer.status_code != 200:
                steps_ok = False  # the rider cancelled meanwhile, or the offer expired: both a 409
                break
        if not steps_ok:
            continue
        trip = {"distance_m": rng.randint(1_000, 15_000), "duration_s": rng.randint(300, 2_400)}
        done = rec.call(session, base, "POST /rides/{id}/complete", "POST", f"/rides/{ride_id}/complete", headers, trip)
        if done is not None and done.status_code == 200:
            with world.lock:
                world.completions[ride_id] = (driver, done.json()["fare"])
        elif done is not None:
            rec.fail(f"{driver}: complete {ride_id} -> {done.status_code} {done.text[:200]}")


def business_client(base: str, number: int, programs: list[str], deadline: float, rec: Recorder,
                    world: World) -> None:
    rng, session = random.Random(SEED * 2000 + number), requests.Session()
    for n in range(MAX_CLAIMS_PER_BUSINESS):
        if time.monotonic() >= deadline:
            break
        business, program = f"load-biz-{number:02}-{n:03}", programs[n % len(programs)]
        headers = bearer("business", business)
        key = f"{business}-claim"
        body = {"business_id": business, "business_name": f"Shop {number}-{n}", "loss_krw": rng.randrange(0, 800_000),
                "channel": rng.choice(["chatbot", "web", "phone", "mail", "visit"]), "evidence": [f"receipt-{n}.pdf"]}
        with_key = {**headers, "Idempotency-Key": key}
        path = f"/programs/{program}/claims"
        answers = post(rec, session, base, "POST /programs/{id}/claims", path, with_key, body,
                       twice=rng.random() < 0.1)
        filed = [a.json()["claim_id"] for a in answers if a is not None and a.status_code == 201]
        if len(filed) < len(answers):
            time.sleep(0.3)
            again = rec.call(session, base, "POST /programs/{id}/claims", "POST", path, with_key, body,
                             retry_transport=True)
            if again is not None and again.status_code == 201:
                filed.append(again.json()["claim_id"])
        if not filed:
            rec.fail(f"{business}: claim with key {key} never answered 201")
            continue
        with world.lock:
            world.claim_by_key[key] = filed[0]
            world.claim_retries[key] = filed[1:]
            world.claims[filed[0]] = {"program": program, "business": business, "loss_krw": body["loss_krw"]}
        if rng.random() < 0.3:
            retried = rec.call(session, base, "POST /programs/{id}/claims", "POST", path, with_key, body,
                               retry_transport=True)
            world.note_retry("POST /programs/{id}/claims", business, key, retried, "claim_id", world.claim_retries)
        if rng.random() < 0.1:  # filing again without the key is a second claim: refused, one per business
            twice = rec.call(session, base, "POST /programs/{id}/claims (no key)", "POST", path, headers, body)
            if twice is None or twice.status_code != 409:
                rec.fail(f"{business}: a second claim without a key -> {getattr(twice, 'status_code', None)}")


def table(stack, suffix: str):
    dynamodb = boto3.resource("dynamodb", endpoint_url=stack["moto"], region_name="ap-northeast-2",
                              aws_access_key_id="local", aws_secret_access_key="local")
    names = [t.name for t in dynamodb.tables.all() if t.name.endswith(f"-{suffix}")]
    assert len(names) == 1, names
    return dynamodb.Table(names[0])


def scan(table_, condition) -> list[dict]:
    items, kwargs = [], {"FilterExpression": condition}
    while True:
        page = table_.scan(**kwargs)
        items += page["Items"]
        if "LastEvaluatedKey" not in page:
            return items
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def test_many_clients_at_once_lose_and_duplicate_nothing(stack, programs, drivers_online):
    base, rec, world = stack["base"], Recorder(), World()
    began = datetime.now(UTC)
    elapsed = run_clients(base, programs, drivers_online, rec, world)

    admin = bearer("admin", "load-ops")
    session = requests.Session()
    for ride_id, rider in list(world.open_rides.items()):  # rides a rider stopped following: end them now
        rec.call(session, base, "POST /rides/{id}/cancel (clean-up)", "POST", f"/rides/{ride_id}/cancel",
                 bearer("rider", rider), {"reason": "load test over"})
    rec.report()
    print(f"== load: {elapsed:.1f} s of traffic from {RIDERS + DRIVERS + BUSINESSES} clients; "
          f"{len(world.ride_by_key)} rides ({len(world.completions)} completed), {len(world.claims)} claims, "
          f"{sum(len(v) for v in world.retried_keys.values())} ride and "
          f"{sum(len(v) for v in world.claim_retries.values())} claim answers to repeated keys")

    checked = Checked(stack, rec, session, admin)
    problems = [*rec.failures, *key_problems(world), *checked.rides(world),
                *checked.earnings(world, drivers_online, began), *checked.claims(world, programs)]
    problems += [f"unexpected answer: {op} -> {status}" for op, status in rec.unexpected()]
    if problems:
        pytest.fail("\n".join(problems), pytrace=False)
    assert world.ride_by_key, "the load produced no rides"
    assert world.completions, "the load completed no ride"
    assert world.claims, "the load filed no claim"


def run_clients(base: str, programs, drivers_online, rec: "Recorder", world: "World") -> float:
    """Riders, businesses and drivers at once for DURATION_S; returns the seconds of traffic."""
    deadline = time.monotonic() + DURATION_S
    threads = [threading.Thread(target=rider_client, args=(base, n, deadline, rec, world)) for n in range(RIDERS)]
    threads += [threading.Thread(target=business_client, args=(base, n, programs, deadline, rec, world))
                for n in range(BUSINESSES)]
    drivers = [threading.Thread(target=driver_client, args=(base, d, rec, world, random.Random(f"{SEED}{d}")))
               for d in drivers_online]
    started = time.monotonic()
    for thread in drivers + threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=DURATION_S + FOLLOW_S + 60)
    world.riders_done.set()
    for thread in drivers:
        thread.join(timeout=60)
    assert not any(t.is_alive() for t in drivers + threads), "a client thread hung"
    return time.monotonic() - started


def key_problems(world: "World") -> list[str]:
    """Retried keys answered with the first ride / claim; distinct keys got distinct ones."""
    problems = []
    for operation, refused in world.refused_retries.items():
        problems.append(f"{operation}: {len(refused)} of {world.retries[operation]} retries with the same key and "
                        f"body, sent after the first 201, did not get the first answer back; e.g. {refused[0]}")
    for key, later in world.retried_keys.items():
        if any(ride_id != world.ride_by_key[key] for ride_id in later):
            problems.append(f"ride key {key}: first {world.ride_by_key[key]}, then {later}")
    for key, later in world.claim_retries.items():
        if any(claim_id != world.claim_by_key[key] for claim_id in later):
            problems.append(f"claim key {key}: first {world.claim_by_key[key]}, then {later}")
    if len(set(world.ride_by_key.values())) != len(world.ride_by_key):
        problems.append(f"{len(world.ride_by_key)} ride keys but {len(set(world.ride_by_key.values()))} distinct rides")
    if len(world.claims) != len(world.claim_by_key):
        problems.append(f"{len(world.claim_by_key)} claim keys but {len(world.claims)} distinct claims")
    return problems


@dataclass
class Checked:
    """What the stack holds after the load, read back through the API and the tables."""

    stack: dict
    rec: "Recorder"
    session: requests.Session
    admin: dict

    def get(self, operation: str, path: str, who: dict):
        return self.rec.call(self.session, self.stack["base"], operation, "GET", path, who)

    def rides(self, world: "World") -> list[str]:
        """Every ride the clients were told about exists exactly once, ended, with the fare they were told."""
        problems, ride_ids = [], set(world.ride_by_key.values())
        stored = scan(table(self.stack, "rides"), Attr("rider_id").begins_with("load-rider-"))
        stored_ids = Counter(item["ride_id"] for item in stored)
        if set(stored_ids) != ride_ids or any(n != 1 for n in stored_ids.values()):
            extra, missing = sorted(set(stored_ids) - ride_ids), sorted(ride_ids - set(stored_ids))
            problems.append(f"rides stored for the riders: {len(stored_ids)} (extra {extra}, missing {missing}); "
                            f"answered: {len(ride_ids)}")
        for ride_id in sorted(ride_ids):
            seen = self.get("GET /rides/{id} (audit)", f"/rides/{ride_id}", self.admin)
            if seen is None or seen.status_code != 200 or seen.json()["ride_id"] != ride_id:
                problems.append(f"GET /rides/{ride_id} -> {getattr(seen, 'status_code', None)}")
                continue
            problems += ride_problems(seen.json(), world.completions.get(ride_id))
        return problems

    def earnings(self, world: "World", drivers_online, began: datetime) -> list[str]:
        """Each driver earned exactly the completions they were told about, and holds no offer or ride."""
        problems = []
        window = f"from={iso(began - timedelta(hours=1))}&to={iso(datetime.now(UTC) + timedelta(hours=1))}"
        for driver in drivers_online:
            mine = [fare for who, fare in world.completions.values() if who == driver]
            earned = self.get("GET /drivers/me/earnings", f"/drivers/me/earnings?{window}", bearer("driver", driver))
            if earned is None or earned.status_code != 200:
                problems.append(f"earnings of {driver} -> {getattr(earned, 'status_code', None)}")
                continue
            expected = (len(mine), sum(fare["driver_payout_krw"] for fare in mine))
            if (earned.json()["rides"], earned.json()["total_krw"]) != expected:
                problems.append(f"{driver} earned {earned.json()['rides']} rides / {earned.json()['total_krw']} "
                                f"KRW, completions told: {expected}")
            me = self.get("GET /drivers/me", "/drivers/me", bearer("driver", driver))
            if me is None or me.status_code != 200 or me.json()["status"] != "available":
                problems.append(f"{driver} after the load: {getattr(me, 'text', None)}")
        return problems

    def claims(self, world: "World", programs) -> list[str]:
        """Every claim is readable by its business and an admin, and each program counted exactly its claims."""
        problems = []
        for claim_id, claim in sorted(world.claims.items()):
            for who in (self.admin, bearer("business", claim["business"])):
                seen = self.get("GET /claims/{id}", f"/claims/{claim_id}", who)
                shown = (seen.json()["claim_id"], seen.json()["program_id"], seen.json()["loss_krw"]) \
                    if seen is not None and seen.status_code == 200 else None
                if shown != (claim_id, claim["program"], claim["loss_krw"]):
                    problems.append(f"GET /claims/{claim_id} -> {getattr(seen, 'status_code', None)} "
                                    f"{getattr(seen, 'text', '')[:200]}")
        claims_table = table(self.stack, "claims")
        for program in programs:
            filed = {claim_id for claim_id, claim in world.claims.items() if claim["program"] == program}
            detail = self.get("GET /programs/{id}", f"/programs/{program}", self.admin)
            counted = detail.json()["counts"]["filed"] if detail is not None and detail.status_code == 200 else None
            in_table = {item["claim_id"] for item in scan(claims_table, Attr("program_id").eq(program))}
            if counted != len(filed) or in_table != filed:
                problems.append(f"program {program}: counts.filed {counted}, {len(in_table)} claims stored "
                                f"(extra {sorted(in_table - filed)}), {len(filed)} filed")
        return problems


def ride_problems(ride: dict, told) -> list[str]:
    """A ride after the clean-up: ended, and completed exactly when its driver was told so, with that fare."""
    ride_id = ride["ride_id"]
    if ride["status"] not in RIDE_STATES_DONE:
        return [f"ride {ride_id} still {ride['status']} after the clean-up"]
    if (ride["status"] == "completed") != (told is not None):
        return [f"ride {ride_id} is {ride['status']} but completion told: {told}"]
    if told and (ride["driver_id"], ride["fare"]) != told:
        return [f"ride {ride_id}: stored {ride['driver_id']} {ride['fare']}, told {told}"]
    return []
