"""After an outage: a business claim through review and documents, and a rider's vouchers, over HTTP against the
real local stack (its clock is the system clock, so every moment here is relative to now)."""

from datetime import UTC, datetime, timedelta

import pytest
import requests

from tests.e2e.conftest import bearer

pytestmark = pytest.mark.e2e


def call(stack, method: str, path: str, role: str, sub: str, body=None, headers=None) -> requests.Response:
    return requests.request(method, f"{stack['base']}{path}", json=body, timeout=15,
                            headers={**bearer(role, sub), **(headers or {})})


def admin(stack, method: str, path: str, body=None) -> requests.Response:
    return call(stack, method, path, "admin", "e2e-ops", body)


def iso_from_now(**delta: float) -> str:
    return (datetime.now(UTC) + timedelta(**delta)).isoformat(timespec="seconds").replace("+00:00", "Z")


@pytest.fixture(scope="module")
def incident_id(stack) -> str:
    """An incident of a component, declared by an operator as having started two hours ago."""
    registered = admin(stack, "POST", "/components", {"name": "e2e-comp-dispatch", "heartbeat_timeout_s": 60})
    assert registered.status_code == 201, registered.text
    declared = admin(stack, "POST", "/incidents", {"components": ["e2e-comp-dispatch"],
                                                   "started_at": iso_from_now(hours=-2), "summary": "dispatch down"})
    assert declared.status_code == 201, declared.text
    return declared.json()["incident_id"]


def test_a_business_claim_is_filed_once_supplemented_and_approved_at_its_tier(stack, incident_id):
    created = admin(stack, "POST", "/programs", {
        "name": "Merchants' losses", "incident_id": incident_id, "kind": "business_claims",
        "params": {"intake_opens_at": iso_from_now(hours=-1), "intake_closes_at": iso_from_now(days=14),
                   "budget_krw": 10_000_000}})
    assert created.status_code == 201, created.text
    program_id = created.json()["program_id"]
    assert created.json()["status"] == "intake_open"

    business = "e2e-cafe"
    claim = {"business_id": business, "business_name": "Cafe Namsan", "loss_krw": 450_000, "channel": "web",
             "evidence": ["sales-ledger.pdf"]}
    filed = [call(stack, "POST", f"/programs/{program_id}/claims", "business", business, claim,
                  {"Idempotency-Key": "e2e-cafe-claim-1"}) for _ in range(2)]
    assert [f.status_code for f in filed] == [201, 201], [f.text for f in filed]
    claim_id = filed[0].json()["claim_id"]
    assert filed[0].json()["status"] == "submitted"
    assert filed[1].json()["claim_id"] == claim_id
    again = call(stack, "POST", f"/programs/{program_id}/claims", "business", business, claim)
    assert again.status_code == 409, again.text
    assert call(stack, "GET", f"/claims/{claim_id}", "business", "e2e-other-shop").status_code == 403

    asked = admin(stack, "POST", f"/claims/{claim_id}/review", {"decision": "request_documents",
                                                                 "reason": "send the card terminal's report"})
    assert (asked.status_code, asked.json()["status"]) == (200, "documents_requested"), asked.text
    supplied = call(stack, "POST", f"/claims/{claim_id}/documents", "business", business,
                    {"evidence": ["card-terminal-report.pdf"]})
    assert (supplied.status_code, supplied.json()["status"]) == (200, "submitted"), supplied.text
    approved = admin(stack, "POST", f"/claims/{claim_id}/review", {"decision": "approve"})
    assert approved.status_code == 200, approved.text
    assert (approved.json()["status"], approved.json()["payout_krw"]) == ("approved", 50_000)

    seen = call(stack, "GET", f"/claims/{claim_id}", "business", business)
    assert seen.status_code == 200, seen.text
    assert (seen.json()["status"], seen.json()["loss_krw"], seen.json()["payout_krw"]) == ("approved", 450_000, 50_000)
    program = admin(stack, "GET", f"/programs/{program_id}")
    assert program.status_code == 200, program.text
    counts = program.json()["counts"]
    assert (counts["filed"], counts["approved"], counts["pending"], counts["documents_requested"],
            counts["approved_krw"]) == (1, 1, 0, 0, 50_000)


def test_a_rider_taking_vouchers_twice_gets_the_same_ones(stack, incident_id):
    created = admin(stack, "POST", "/programs", {
        "name": "Sorry vouchers", "incident_id": incident_id, "kind": "voucher",
        "params": {"items": [{"name": "3,000 KRW off a taxi", "valid_days": 30},
                             {"name": "free cancellation", "valid_days": None}]}})
    assert created.status_code == 201, created.text
    program_id = created.json()["program_id"]

    taken = [call(stack, "POST", f"/programs/{program_id}/vouchers/claim", "rider", "e2e-voucher-rider")
             for _ in range(2)]
    assert [t.status_code for t in taken] == [200, 200], [t.text for t in taken]
    vouchers = taken[0].json()["vouchers"]
    assert [v["name"] for v in vouchers] == ["3,000 KRW off a taxi", "free cancellation"]
    assert vouchers[0]["expires_at"] is not None
    assert vouchers[1]["expires_at"] is None
    assert taken[1].json()["vouchers"] == vouchers
    mine = call(stack, "GET", "/me/vouchers", "rider", "e2e-voucher-rider")
    assert [v["voucher_id"] for v in mine.json()["items"]] == [v["voucher_id"] for v in vouchers]
    assert admin(stack, "GET", f"/programs/{program_id}").json()["counts"]["takers"] == 1
