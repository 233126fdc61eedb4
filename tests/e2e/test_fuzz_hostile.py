"""Hostile clients against the real local stack: every operation of GET /openapi.json, as every role and as nobody.

Issue 13's classes, generated from the document (tests/e2e/hostile.py): JSON nested 10,000 deep and 33 deep,
bodies of 2 MiB and 1 MiB + 1 byte, bodies that are not JSON objects, NaN/Infinity, out-of-range and loosely typed
integers (`true`, `"100000"`, `12.0`), dates at the edges of time in bodies and queries, strings with control
characters, lone surrogates or 100 KB; forged cursors and cursors issued to another caller or by another route, odd
`limit`s; empty, long, NUL, `..`, unicode and broken-UTF-8 path segments; validly signed tokens whose claims have odd
shapes; 11 KB headers. A few ids and cursors are seeded first so the requests reach past "not found".

Three tests read the one run, so each kind of fault is reported on its own: crashes (>= 500, dropped connections),
error bodies (API.md's `{"error": {"code", "message", "fields"}}`, never HTML), and API.md's refusals (out-of-range
and loose values refused, 413 on big bodies, 401 on odd claims, `fields` naming the field). `pytest -s` prints the
counts and the first failing cases. `PUT /dev/clock` is left out: it moves the one clock of the whole stack.
"""

import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest
import requests

from devstack.keys import DevKeys
from tests.e2e.hostile import Case, Generator, Outcome, Seed, Signer, iso, params, problems, send
from tests.e2e.test_fuzz_api import GLOBAL_STATE, ROLES

pytestmark = pytest.mark.e2e

THREADS = 8
SHOWN = 20


def seed_stack(base: str, signer: Signer) -> Seed:
    """Ids for every path parameter, and a cursor (`?limit=1`'s `next`) for each list a seed caller can page."""
    seed = Seed(ids={"job": "expire-rides", "component": "hostile-comp"})
    now = datetime.now(UTC)

    def call(method: str, path: str, sub: str, body=None, key: str | None = None) -> dict:
        role = sub.split("-")[1]
        headers = {"Authorization": f"Bearer {signer.token(role, sub)}"}
        if key:
            headers["Idempotency-Key"] = key
        answer = requests.request(method, f"{base}{path}", json=body, headers=headers, timeout=30)
        if answer.status_code >= 300:
            seed.notes.append(f"{method} {path} as {sub}: {answer.status_code} {answer.text[:150]}")
            return {}
        return answer.json() if answer.content else {}

    def keep(name: str, answer: dict) -> None:
        if name in answer:
            seed.ids.setdefault(name, answer[name])

    for component in ("hostile-comp", "hostile-comp-2"):
        call("POST", "/components", "seed-admin", {"name": component, "heartbeat_timeout_s": 60})
        keep("incident_id", call("POST", "/incidents", "seed-admin", {
            "components": [component], "started_at": iso(now - timedelta(hours=2)), "summary": "hostile seed"}))
    intake = {"intake_opens_at": iso(now - timedelta(hours=1)), "intake_closes_at": iso(now + timedelta(days=14)),
              "budget_krw": 10_000_000}
    programs = [call("POST", "/programs", "seed-admin", {"name": f"Hostile {n}", "kind": "business_claims",
                                                         "incident_id": seed.ids.get("incident_id", "-"),
                                                         "params": intake}).get("program_id") for n in (1, 2)]
    seed.ids["program_id"] = programs[0] or "prg_missing"
    for sub, program in [("hostile-business", programs[0]), ("seed-business", programs[0]),
                         ("seed-business-2", programs[0]), ("seed-business", programs[1])]:
        keep("claim_id", call("POST", f"/programs/{program}/claims", sub, {
            "business_id": sub, "business_name": "Shop", "loss_krw": 100_000, "channel": "web",
            "evidence": ["receipt"]}, key=f"{sub}-{program}"))
    call("POST", f"/claims/{seed.ids.get('claim_id')}/review", "seed-admin", {"decision": "approve"})
    keep("round_id", call("POST", "/payouts", "seed-admin", {"program_id": programs[0]}, key="hostile-round"))
    for n in (1, 2):
        voucher = call("POST", "/programs", "seed-admin", {
            "name": f"Vouchers {n}", "incident_id": seed.ids.get("incident_id", "-"), "kind": "voucher",
            "params": {"items": [{"name": "3,000 KRW off", "valid_days": 30}]}}).get("program_id")
        call("POST", f"/programs/{voucher}/vouchers/claim", "seed-rider")
        keep("notice_id", call("POST", "/notices", "seed-admin", {"title": f"Notice {n}", "body": "Hostile seed."}))
    for sub in ("hostile-driver", "seed-driver"):
        call("PUT", "/drivers/me", sub, {"name": "Hostile", "services": ["taxi"]})
    call("POST", "/drivers/me/status", "hostile-driver", {"status": "online", "lat": 37.5663, "lng": 126.9779})
    keep("ride_id", call("POST", "/rides", "hostile-rider", {
        "service": "taxi", "pickup": {"lat": 37.5665, "lng": 126.978}, "dropoff": {"lat": 37.4979, "lng": 127.0276}},
        key="hostile-ride"))
    for sub in ("hostile-driver", "seed-driver", "seed-driver"):
        keep("inquiry_id", call("POST", "/inquiries", sub, {"category": "app", "text": "Hostile seed."}))
    keep("campaign_id", call("POST", "/feedback-campaigns", "seed-admin", {
        "title": "Hostile", "question": "Why?", "opens_at": iso(now - timedelta(hours=1)),
        "closes_at": iso(now + timedelta(days=1))}))
    for _ in range(2):
        call("POST", f"/feedback-campaigns/{seed.ids.get('campaign_id')}/entries", "seed-driver", {"text": "Because."})
    return seed


def harvest_cursors(base: str, signer: Signer, document: dict, seed: Seed) -> None:
    """The `next` of each list's first page of one, for each role that may page it (as `seed-<role>`)."""
    for path, item in document["paths"].items():
        for method, operation in item.items():
            if not any(p["name"] == "cursor" for p in params(operation, "query")):
                continue
            target = path.format(**{p["name"]: seed.ids.get(p["name"], "-") for p in params(operation, "path")})
            query = {"limit": 1, **{p["name"]: seed.ids.get(p["name"], "-") for p in params(operation, "query")
                                    if p.get("required")}}
            for role in operation.get("x-roles", []):
                headers = {"Authorization": f"Bearer {signer.token(role, f'seed-{role}')}"}
                answer = requests.request(method, f"{base}{target}", params=query, headers=headers, timeout=30)
                cursor = answer.json().get("next") if answer.status_code == 200 else None
                if cursor:
                    seed.cursors[(f"{method.upper()} {path}", role)] = cursor
                else:
                    seed.notes.append(f"no cursor from {method.upper()} {target} as {role}: {answer.status_code}")


@pytest.fixture(scope="module")
def fuzz(stack) -> list[tuple[Case, Outcome, dict[str, list[str]]]]:
    """Every hostile case sent once, with its answer and what is wrong with it; prints the summary."""
    base, signer = stack["base"], Signer(DevKeys())
    document = requests.get(f"{base}/openapi.json", timeout=30).json()
    seed = seed_stack(base, signer)
    harvest_cursors(base, signer, document, seed)
    documented = {role for item in document["paths"].values() for op in item.values() if isinstance(op, dict)
                  for role in op.get("x-roles", [])}
    tokens = {role: signer.token(role, f"hostile-{role}") for role in [*ROLES, *sorted(documented - set(ROLES))]}
    cases = Generator(document, tokens, seed, signer, skip=set(GLOBAL_STATE)).cases()

    def attempt(case: Case) -> Outcome:
        if stack["process"].poll() is not None:
            return Outcome(None, dropped="the stack had exited")
        return send(base, case)

    started = time.monotonic()
    with ThreadPoolExecutor(THREADS) as pool:
        outcomes = list(pool.map(attempt, cases))
    refused_bases = {(c.label, c.role) for c, o in zip(cases, outcomes, strict=True)
                     if c.hostility == "plain" and o.status == 400}
    results = [(case, outcome, problems(case, outcome, (case.label, case.role) in refused_bases))
               for case, outcome in zip(cases, outcomes, strict=True)]
    seed.notes += [f"base request refused (400 need not name the field): {label} as {role}"
                   for label, role in sorted(refused_bases, key=str)]
    print_summary(results, seed, time.monotonic() - started)
    return results


def print_summary(results, seed: Seed, elapsed_s: float) -> None:
    classes = Counter("dropped" if o.dropped else f"{o.status // 100}xx" for _, o, _ in results)
    print(f"\n== hostile fuzz: {len(results)} requests in {elapsed_s:.0f} s ({THREADS} threads): "
          + "  ".join(f"{name} {classes[name]}" for name in ("2xx", "3xx", "4xx", "5xx", "dropped")))
    accepted = Counter(c.hostility for c, o, _ in results if o.status and o.status < 300)
    print("   2xx by class (no refusal expected): " + ", ".join(f"{k} {n}" for k, n in sorted(accepted.items())))
    print(f"   seeded ids: {sorted(seed.ids)}; cursors from {len(seed.cursors)} (list, role) pairs")
    for note in seed.notes:
        print(f"   seed: {note}")
    failing = [(c, o, kind, what) for c, o, found in results for kind, whats in found.items() for what in whats]
    by_class = Counter((kind, c.hostility, what.split(" (")[0]) for c, _, kind, what in failing)
    print(f"== hostile fuzz: {len(failing)} failing checks, by test, class and problem:")
    for (kind, hostility, what), count in sorted(by_class.items()):
        labels = sorted({c.label for c, _, k, w in failing if (k, c.hostility, w.split(" (")[0]) == (kind, hostility,
                                                                                                     what)})
        print(f"   {kind:10} {hostility:26} {what:40} {count:4}  e.g. {', '.join(labels[:3])}"
              f"{' ...' if len(labels) > 3 else ''}")
    print(f"== hostile fuzz: first {SHOWN} failing cases")
    for case, outcome, _, what in failing[:SHOWN]:
        print(f"   {case.method:6} {case.target[:70]:70} {case.role or '-':8} {case.hostility:24} {what}: "
              f"{outcome.body[:120].decode(errors='replace')!a}")


def failures(results, kind: str) -> list[str]:
    return [f"{c.method} {c.target[:80]} as {c.role or 'nobody'} [{c.hostility}]: {what}"
            for c, _, found in results for what in found[kind]]


def test_no_hostile_request_gets_a_5xx_or_a_dropped_connection(fuzz):
    crashes = failures(fuzz, "crash")
    assert not crashes, f"{len(crashes)} of {len(fuzz)} hostile requests crashed:\n" + "\n".join(crashes[:SHOWN])


def test_every_refusal_is_api_md_error_body(fuzz):
    wrong = failures(fuzz, "error_body")
    assert not wrong, f"{len(wrong)} refusals without API.md's error body:\n" + "\n".join(wrong[:SHOWN])


def test_hostile_input_is_refused_as_api_md_says(fuzz):
    """Out-of-range and loose values are refused, big bodies get 413, odd claims 401, and a 400 names the field."""
    wrong = failures(fuzz, "contract")
    assert not wrong, f"{len(wrong)} answers break API.md's Conventions or Auth:\n" + "\n".join(wrong[:SHOWN])


def test_a_driver_flooding_inquiries_is_capped_with_retry_after(stack):
    base = stack["base"]
    headers = {"Authorization": f"Bearer {DevKeys().token('driver', 'hostile-flood-driver')}"}
    answers = [requests.post(f"{base}/inquiries", json={"category": "app", "text": f"Flood {n}"}, headers=headers,
                             timeout=30) for n in range(60)]
    statuses = Counter(answer.status_code for answer in answers)
    capped = [answer for answer in answers if answer.status_code == 429]
    assert set(statuses) <= {201, 429}, f"statuses of 60 inquiries: {dict(statuses)}"
    assert statuses[201], f"statuses of 60 inquiries: {dict(statuses)}"
    assert capped, f"statuses of 60 inquiries: {dict(statuses)}"
    for answer in capped:
        assert answer.json()["error"]["code"] == "too_many_requests", answer.text
        assert answer.headers.get("Retry-After", "").isdigit(), dict(answer.headers)
        assert int(answer.headers["Retry-After"]) > 0, dict(answer.headers)
