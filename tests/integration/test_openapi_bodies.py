"""Every answer of a day of realistic flows, checked against GET /openapi.json.

Riders, drivers, rides, notices, inquiries, campaigns, compensation programs, claims, vouchers, payout
rounds, jobs and the dev clock all go through `checked`, a wrapper of the `api` fixture that looks up each
request's operation in the document and records every mismatch: a status the operation does not declare, a
content type it does not declare, or a body its schema refuses (2xx bodies against the operation's response
model, error bodies against API.md's error body). The test fails listing every mismatch, then fails if an
operation with a response model was never answered 2xx by the flows (its model would go unchecked).
"""

import json
import re
from datetime import timedelta

import pytest
from jsonschema import Draft202012Validator, FormatChecker

from chalicelib.core.clock import iso
from devstack import cloud
from devstack.pump import Pump
from tests.integration.actors import (
    ADMIN,
    CREATOR_WITH_CLAIM,
    GANGNAM,
    SEOUL_CITY_HALL,
    Desk,
    declare,
    driver_on_duty,
    resolve,
)

# Operations whose models their own engineer is adding (the status page's): checked when they declare one.
OWNED_ELSEWHERE = "chalicelib.outages."
REFUSED_BEFORE_THE_ROUTE = {405, 415, 431}  # the gateway's own answers, documented as 4XX
RIDER, RIDER_2, RIDER_3 = ("rider", "r-1"), ("rider", "r-2"), ("rider", "r-3")
TAXI = ("driver", "taxi-1")
AUDITOR = ("auditor", "council-1")


class DocumentCheck:
    """Finds each request's operation in the document and records what the answer does not match."""

    def __init__(self, document: dict):
        self.document = document
        self.mismatches: list[str] = []
        self.answered: set[str] = set()
        templates = sorted(document["paths"], key=lambda path: (path.count("{"), path))
        self.routes = [(re.compile("^" + re.sub(r"\\\{[^/]+?\\\}", "[^/]+", re.escape(path)) + "$"), path)
                       for path in templates]

    def operation(self, method: str, path: str) -> tuple[str, dict]:
        bare = path.split("?", 1)[0]
        template = next(template for pattern, template in self.routes if pattern.match(bare))
        return f"{method.upper()} {template}", self.document["paths"][template][method]

    def check(self, method: str, path: str, response) -> None:
        label, operation = self.operation(method, path)
        status = response.status_code
        declared = operation["responses"].get(str(status))
        if declared is None and not (status in REFUSED_BEFORE_THE_ROUTE and "4XX" in operation["responses"]):
            self.mismatches.append(f"{label}: {status} is not declared ({sorted(operation['responses'])})")
            return
        content = (declared or {}).get("content")
        if not content:
            return
        media_type = (response.headers.get("Content-Type") or response.headers.get("content-type") or "")
        media_type = media_type.split(";")[0].strip()
        if media_type not in content:
            self.mismatches.append(f"{label} {status}: answered {media_type!r}, declares {sorted(content)}")
            return
        if 200 <= status < 300:
            self.answered.add(label)
        if media_type == "application/json":
            self._validate(label, status, content[media_type]["schema"], json.loads(response.body))

    def _validate(self, label: str, status: int, schema: dict, body) -> None:
        rooted = {**schema, "components": self.document["components"]}
        validator = Draft202012Validator(rooted, format_checker=FormatChecker())
        for error in validator.iter_errors(body):
            where = "/".join(str(part) for part in error.absolute_path) or "(body)"
            self.mismatches.append(f"{label} {status}: {where}: {error.message[:300]}")


@pytest.fixture
def checked(api):
    """`checked(method, path, who, body, headers)`: the `api` fixture, each answer checked against the document."""
    document = api("get", "/openapi.json").json_body
    check = DocumentCheck(document)

    def call(method: str, path: str, who=None, body=None, headers=None):
        response = api(method, path, who, body, headers)
        check.check(method, path, response)
        return response

    call.check = check
    return call


def ok(checked, status: int, method: str, path: str, who=ADMIN, body=None, headers=None) -> dict:
    response = checked(method, path, who, body, headers)
    assert response.status_code == status, (method, path, response.status_code, response.body)
    return response.json_body if response.headers.get("Content-Type", "").startswith("application/json") else {}


def test_every_answer_of_the_flows_matches_the_document(checked, app, frozen_clock):
    now = frozen_clock.now()
    incident_id = declare(checked, now - timedelta(minutes=30))
    public_and_core(checked)
    rides_and_drivers(checked, frozen_clock)
    notices_inquiries_and_campaigns(checked, frozen_clock)
    desk = Desk(checked, app, frozen_clock)
    desk.incident_id = incident_id
    compensation_and_payouts(checked, desk, frozen_clock)
    refusals(checked)
    ok(checked, 200, "put", "/dev/clock", body={"now": iso(frozen_clock.now())})

    check = checked.check
    assert not check.mismatches, "answers that do not match /openapi.json:\n" + "\n".join(check.mismatches)
    unchecked = sorted(label for label in with_response_models(app) if label not in check.answered)
    assert not unchecked, f"operations with a response model the flows never answered 2xx: {unchecked}"


def with_response_models(app) -> set[str]:
    """`METHOD /path` of every operation declaring a 2xx body, but those of the domains owned elsewhere."""
    return {f"{method} {path}" for path, methods in app.routes.items() for method, entry in methods.items()
            if (entry.view_function.api_spec.response or entry.view_function.api_spec.media_type)
            and not entry.view_function.api_spec.schemas.startswith(OWNED_ELSEWHERE)}


def public_and_core(checked) -> None:
    ok(checked, 200, "get", "/health", who=None)
    ok(checked, 200, "get", "/openapi.json", who=None)
    for job in ("expire-rides", "publish-notices", "close-intake", "redrive-dead-letters", "detect-outages"):
        ok(checked, 200, "post", f"/jobs/{job}/run")


def rides_and_drivers(checked, clock) -> None:
    driver_on_duty(checked, TAXI[1])
    ok(checked, 200, "get", "/drivers/me", TAXI)
    ok(checked, 200, "put", "/drivers/me/location", TAXI, {"lat": 37.5665, "lng": 126.978})
    trip = {"service": "taxi", "pickup": SEOUL_CITY_HALL, "dropoff": GANGNAM}
    ride_id = ok(checked, 201, "post", "/rides", RIDER, trip, headers={"Idempotency-Key": "first-ride"})["ride_id"]
    assert len(ok(checked, 200, "get", "/drivers/me/offers", TAXI)["items"]) == 1
    for step in ("accept", "arrive", "start"):
        clock.advance(seconds=5)
        ok(checked, 200, "post", f"/rides/{ride_id}/{step}", TAXI)
    ok(checked, 200, "get", f"/rides/{ride_id}", RIDER)
    ok(checked, 200, "post", f"/rides/{ride_id}/complete", TAXI, {"distance_m": 9000, "duration_s": 1500})
    ok(checked, 201, "post", f"/rides/{ride_id}/rating", RIDER, {"stars": 5, "comment": "smooth"})
    ok(checked, 201, "post", f"/rides/{ride_id}/complaints", RIDER, {"category": "late", "text": "ten minutes late"})
    ok(checked, 200, "get", f"/rides/{ride_id}", ADMIN)
    ok(checked, 200, "get", f"/rides/{ride_id}/dispatch", AUDITOR)
    hour = clock.now().replace(minute=0, second=0, microsecond=0)
    window = f"from={iso(hour - timedelta(hours=1))}&to={iso(hour + timedelta(hours=1))}"
    ok(checked, 200, "get", f"/dispatch/fairness?{window}&service=taxi", AUDITOR)
    ok(checked, 200, "get", f"/drivers/me/earnings?{window}", TAXI)
    ok(checked, 200, "get", f"/drivers/me/dispatch-log?{window}", TAXI)
    declined = ok(checked, 201, "post", "/rides", RIDER_2, trip)["ride_id"]
    ok(checked, 200, "post", f"/rides/{declined}/decline", TAXI)
    cancelled = ok(checked, 201, "post", "/rides", RIDER_3, trip)["ride_id"]
    ok(checked, 200, "post", f"/rides/{cancelled}/cancel", RIDER_3, {"reason": "the app froze"})
    ok(checked, 200, "get", f"/rides/{cancelled}", RIDER_3)
    ok(checked, 409, "post", f"/rides/{ride_id}/rating", RIDER, {"stars": 4})
    complaint = {"category": "rude", "text": "again"}
    while (answer := checked("post", f"/rides/{ride_id}/complaints", RIDER, complaint)).status_code == 201:
        pass
    assert answer.status_code == 429, answer.body


def notices_inquiries_and_campaigns(checked, clock) -> None:
    now = clock.now()
    notice_id = ok(checked, 201, "post", "/notices", body={"title": "Fire at Pangyo", "body": "Dispatch is slow.",
                                                           "pinned": True})["notice_id"]
    ok(checked, 201, "post", "/notices", body={"title": "Back to normal", "body": "All good.",
                                               "audience": {"services": ["taxi"]},
                                               "publish_at": iso(now + timedelta(hours=1))})
    ok(checked, 200, "get", "/notices")
    ok(checked, 200, "get", "/notices?cadence=1")
    ok(checked, 200, "get", "/notices", TAXI)
    ok(checked, 200, "get", f"/notices/{notice_id}")
    ok(checked, 200, "get", f"/notices/{notice_id}", TAXI)
    ok(checked, 200, "post", f"/notices/{notice_id}/read", TAXI)
    inquiry_id = ok(checked, 201, "post", "/inquiries", TAXI, {"category": "fare", "text": "Where is my fare?"})[
        "inquiry_id"]
    ok(checked, 200, "get", "/inquiries", TAXI)
    ok(checked, 200, "post", f"/inquiries/{inquiry_id}/answer", body={"text": "Paid tonight."})
    ok(checked, 200, "get", "/inquiries?status=answered")
    ok(checked, 200, "get", f"/inquiries/{inquiry_id}", TAXI)
    ok(checked, 409, "post", f"/inquiries/{inquiry_id}/answer", body={"text": "Again."})
    campaign_id = ok(checked, 201, "post", "/feedback-campaigns", body={
        "title": "After the fire", "question": "What should we fix first?", "opens_at": iso(now),
        "closes_at": iso(now + timedelta(days=7))})["campaign_id"]
    ok(checked, 201, "post", f"/feedback-campaigns/{campaign_id}/entries", TAXI, {"text": "Faster notices"})
    ok(checked, 200, "get", f"/feedback-campaigns/{campaign_id}")


def compensation_and_payouts(checked, desk: Desk, clock) -> None:
    program_id = desk.program()
    first = desk.business()
    claim_id = ok(checked, 201, "post", f"/programs/{program_id}/claims", first,
                  {"business_id": first[1], "business_name": "Chicken", "loss_krw": 400_000, "channel": "web",
                   "evidence": ["s3://evidence/sales.pdf"]}, headers={"Idempotency-Key": "claim-1"})["claim_id"]
    ok(checked, 200, "get", f"/programs/{program_id}/claims")
    ok(checked, 200, "post", f"/claims/{claim_id}/review", body={"decision": "request_documents",
                                                                 "reason": "the sales slip"})
    ok(checked, 200, "post", f"/claims/{claim_id}/documents", first, {"evidence": ["s3://evidence/slip.pdf"]})
    desk.approve(claim_id, 400_000)
    rejected = desk.file(program_id, 250_000)
    ok(checked, 200, "post", f"/claims/{rejected}/review", body={"decision": "reject", "reason": "closed that day"})
    desk.approved_claims(program_id, [100_000, 800_000])
    ok(checked, 200, "get", f"/claims/{claim_id}", first)
    ok(checked, 200, "get", "/me/claims", first)
    ok(checked, 200, "post", f"/programs/{program_id}/extend",
       body={"intake_closes_at": iso(clock.now() + timedelta(days=40))})
    ok(checked, 200, "get", f"/programs/{program_id}")
    ok(checked, 409, "post", f"/claims/{claim_id}/documents", first, {"evidence": ["s3://late.pdf"]})

    first_round = desk.new_round(program_id, max_claims=2)
    ok(checked, 403, "post", f"/payouts/{first_round['round_id']}/approve", CREATOR_WITH_CLAIM)
    desk.approve_round(first_round["round_id"])
    ok(checked, 202, "post", f"/payouts/{first_round['round_id']}/retry")
    drain(desk)
    assert desk.round(first_round["round_id"])["status"] == "paid"
    ok(checked, 200, "get", f"/ledger?program_id={program_id}")
    ok(checked, 200, "get", "/me/wallet", first)
    ok(checked, 200, "get", f"/programs/{program_id}/report")
    html = checked("get", f"/programs/{program_id}/report?format=html", ADMIN)
    assert html.status_code == 200
    assert html.body.lstrip().startswith(b"<")
    ok(checked, 200, "get", "/audit")

    vouchers = desk.api("post", "/programs", ADMIN, {
        "name": "Sorry vouchers", "incident_id": desk.incident_id, "kind": "voucher",
        "params": {"items": [{"name": "3,000 KRW off", "valid_days": 30}, {"name": "Free upgrade",
                                                                            "valid_days": None}]}})
    assert vouchers.status_code == 201, vouchers.body
    for _ in range(2):
        ok(checked, 200, "post", f"/programs/{vouchers.json_body['program_id']}/vouchers/claim", RIDER)
    ok(checked, 200, "get", "/me/vouchers", RIDER)
    entitlements(checked, desk, clock)


def entitlements(checked, desk: Desk, clock) -> None:
    """A rider credit for the ride cancelled during the fire: an entitlement with its basis."""
    checked("post", "/programs", ADMIN, {"name": "Rider credit", "incident_id": desk.incident_id,
                                         "kind": "rider_credit", "params": {"amount_krw": 3000}})
    resolve(checked, desk.incident_id, clock.now())
    clock.advance(minutes=5)
    ok(checked, 200, "post", "/jobs/compute-entitlements/run")
    drain(desk)
    ok(checked, 200, "post", "/jobs/compute-entitlements/run")
    claims = ok(checked, 200, "get", "/me/claims", RIDER_3)["items"]
    assert [claim["basis"] for claim in claims] == [{"unserved_ride_in_window": True}], claims
    paths = checked.check.document["paths"]
    if "/incidents/{incident_id}/report" in paths:
        ok(checked, 200, "get", f"/incidents/{desk.incident_id}/report")
    # the status page's own routes (their models are its engineer's): checked here as well
    for path in ("/status", "/status.html", "/status/feed.atom"):
        if path in paths:
            ok(checked, 200, "get", path, who=None)
    ok(checked, 200, "get", "/incidents")
    ok(checked, 200, "get", f"/incidents/{desk.incident_id}")


def drain(desk: Desk) -> None:
    """`desk.drain()` without its last, empty receive (a second of long polling)."""
    if desk._pump is None:
        desk._pump = Pump(desk.app, cloud.physical_ids("o2o-mobility-test"), log=lambda line: None)
    pump = desk._pump
    ((source, url),) = pump.bindings
    while int(pump.sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"])[
            "Attributes"]["ApproximateNumberOfMessages"]):
        pump.deliver_once(source, url)


def refusals(checked) -> None:
    """Error answers are declared by their operations and carry API.md's error body."""
    ok(checked, 401, "get", "/drivers/me", who=None)
    ok(checked, 403, "get", "/drivers/me", RIDER)
    ok(checked, 404, "get", "/rides/ride_nothing", RIDER)
    ok(checked, 404, "get", "/drivers/me", ("driver", "nobody"))
    ok(checked, 400, "post", "/rides", RIDER, {"service": "rocket"})
    ok(checked, 400, "get", "/drivers/me/earnings?from=yesterday&to=today", TAXI)
    ok(checked, 413, "put", "/drivers/me", TAXI, {"name": "x" * (1024 * 1024 + 1), "services": ["taxi"]})
    ok(checked, 409, "post", "/rides", RIDER, {"service": "designated", "pickup": SEOUL_CITY_HALL,
                                               "dropoff": GANGNAM}, headers={"Idempotency-Key": "first-ride"})
