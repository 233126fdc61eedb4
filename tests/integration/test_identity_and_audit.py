"""Who a caller is, and what the audit log keeps of what they tried.

Identity is (role, sub), compared exactly: a rider whose sub happens to be a business's id is not that
business, and an admin `"ops-1 "` is nobody. The audit log keeps every admin action with the id it named or
created and what was asked, and every refused attempt with the reason; the authorizer logs under its own
correlation id.
"""

import json
import sys

import pytest

from chalicelib.core.auth import Caller
from chalicelib.core.errors import NotFound
from chalicelib.core.observability import logger
from chalicelib.notices import service as notices
from tests.integration.actors import (
    APPROVER,
    CASH_KRW,
    CREATOR_WITH_CLAIM,
    Desk,
)

# Without a Lambda context powertools' idempotency warns on every first use of a key; chalicelib expects it.
pytestmark = pytest.mark.filterwarnings("ignore:Couldn't determine the remaining time left")

TWIN = "twin-1"  # one sub, held by callers of different roles


@pytest.fixture
def desk(api, app, frozen_clock) -> Desk:
    return Desk(api, app, frozen_clock)


def audit_log(desk: Desk) -> list[dict]:
    answer = desk.ok(200, "get", "/audit?limit=200")
    assert answer["next"] is None
    return answer["items"]


def entries_of(desk: Desk, action: str) -> list[dict]:
    return [entry for entry in audit_log(desk) if entry["action"] == action]


# --- identity is (role, sub) ------------------------------------------------------------------------------

def test_a_rider_whose_sub_is_a_business_id_can_neither_read_nor_list_that_business_claim(desk):
    program_id = desk.program()
    claim_id = desk.file(program_id, 120_000, who=("business", TWIN))
    assert desk.ok(200, "get", f"/claims/{claim_id}", ("business", TWIN))["loss_krw"] == 120_000

    for role in ("rider", "driver"):
        assert desk.api("get", f"/claims/{claim_id}", (role, TWIN)).status_code == 403, role
        assert desk.ok(200, "get", "/me/claims", (role, TWIN))["items"] == [], role
    assert [c["claim_id"] for c in desk.ok(200, "get", "/me/claims", ("business", TWIN))["items"]] == [claim_id]


def test_a_business_whose_sub_is_a_driver_id_cannot_see_the_drivers_inquiry(desk):
    inquiry_id = desk.ok(201, "post", "/inquiries", ("driver", TWIN), {"category": "fare", "text": "?"})["inquiry_id"]

    assert desk.api("get", f"/inquiries/{inquiry_id}", ("business", TWIN)).status_code == 403
    with pytest.raises(NotFound):  # and behind the route's roles, the service compares the whole identity too
        notices.inquiry_for(Caller(TWIN, "business"), inquiry_id)
    assert notices.inquiry_for(Caller(TWIN, "driver"), inquiry_id)["inquiry_id"] == inquiry_id


def test_a_business_and_a_rider_with_the_same_sub_have_separate_wallets(desk):
    program_id = desk.program("message_cash")
    desk.file(program_id, None, who=("business", TWIN))
    assert desk.pay(program_id)["status"] == "paid"

    assert desk.ok(200, "get", "/me/wallet", ("business", TWIN))["balance_krw"] == CASH_KRW
    assert desk.ok(200, "get", "/me/wallet", ("rider", TWIN))["balance_krw"] == 0
    assert desk.ok(200, "get", "/me/wallet", ("driver", TWIN))["balance_krw"] == 0


def test_an_admin_whose_sub_has_a_trailing_space_is_refused_and_cannot_approve_its_twins_round(desk):
    program_id = desk.program()
    desk.approved_claims(program_id, [100_000])
    round_id = desk.new_round(program_id)["round_id"]  # cut by ops-1

    twin = desk.api("post", f"/payouts/{round_id}/approve", ("admin", "ops-1 ", {"approver": True}))

    assert twin.status_code == 401
    assert twin.json_body["error"]["code"] == "unauthorized"
    assert desk.round(round_id)["status"] == "pending_approval"
    assert desk.api("post", f"/payouts/{round_id}/approve", CREATOR_WITH_CLAIM).status_code == 403
    assert desk.approve_round(round_id)["status"] == "paying"


# --- the audit log ----------------------------------------------------------------------------------------

def test_a_creator_approving_their_own_round_is_refused_and_the_attempt_is_in_the_audit_log(desk):
    program_id = desk.program()
    desk.approved_claims(program_id, [100_000])
    round_id = desk.new_round(program_id)["round_id"]

    refused = desk.api("post", f"/payouts/{round_id}/approve", CREATOR_WITH_CLAIM)

    assert refused.status_code == 403
    (attempt,) = entries_of(desk, "POST /payouts/{round_id}/approve")
    assert (attempt["actor"], attempt["role"], attempt["target"]) == ("ops-1", "admin", f"round_id={round_id}")
    assert attempt["detail"] == {"outcome": "refused", "status": 403, "code": "forbidden",
                                 "reason": refused.json_body["error"]["message"]}

    desk.approve_round(round_id)
    outcomes = [(e["actor"], e["detail"]["outcome"]) for e in entries_of(desk, "POST /payouts/{round_id}/approve")]
    assert outcomes == [("ops-1", "refused"), (APPROVER[1], "done")]


def test_a_non_admin_calling_an_admin_only_route_is_recorded_as_refused(desk):
    answer = desk.api("post", "/notices", ("rider", "rider-1"), {"title": "Free rides for all", "body": "!"})

    assert answer.status_code == 403
    (attempt,) = entries_of(desk, "POST /notices")
    assert (attempt["actor"], attempt["role"]) == ("rider-1", "rider")
    assert (attempt["detail"]["outcome"], attempt["detail"]["status"], attempt["detail"]["code"]) == (
        "refused", 403, "forbidden")
    assert desk.ok(200, "get", "/notices")["items"] == []


def test_created_resources_are_audited_with_their_new_id_and_reviews_with_the_decision_and_amount(desk):
    program_id = desk.program()
    claim_id = desk.file(program_id, 800_000)
    desk.approve(claim_id, 800_000)
    round_id = desk.new_round(program_id)["round_id"]

    (created_program,) = entries_of(desk, "POST /programs")
    (created_round,) = entries_of(desk, "POST /payouts")
    (reviewed,) = entries_of(desk, "POST /claims/{claim_id}/review")
    assert created_program["target"] == f"program_id={program_id}"
    assert created_round["target"] == f"round_id={round_id}"
    assert reviewed["target"] == f"claim_id={claim_id}"
    assert reviewed["detail"]["outcome"] == "done"
    assert (reviewed["detail"]["input"]["decision"], reviewed["detail"]["input"]["amount_krw"]) == ("approve", 600_000)


# --- the authorizer's log lines ---------------------------------------------------------------------------

class CurrentStdout:
    """Writes to whatever `sys.stdout` is when a line is logged: capsys swaps its own in while a test runs."""

    def write(self, text: str) -> int:
        return sys.stdout.write(text)

    def flush(self) -> None:
        sys.stdout.flush()


@pytest.fixture
def log_lines(capsys, monkeypatch):
    """`log_lines()`: the app's JSON log lines since the last call (its handler kept the stdout of import time)."""
    monkeypatch.setattr(logger.registered_handler, "stream", CurrentStdout())

    def read() -> list[dict]:
        return [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith("{")]

    return read


def test_the_authorizer_logs_a_refused_token_under_its_own_correlation_id_not_the_last_requests(client, token,
                                                                                                dev_keys, log_lines):
    before = client.http.get("/notices", headers={**token("admin", "ops-1"), "x-request-id": "req-the-one-before"})
    assert before.status_code == 200
    log_lines()

    expired = dev_keys.token("admin", "ops-1", ttl_s=-3600)
    assert client.http.get("/notices", headers={"Authorization": f"Bearer {expired}"}).status_code == 401

    (refusal,) = [line for line in log_lines() if line.get("message") == "token refused"]
    assert refusal["reason"] == "token expired"
    assert refusal.get("correlation_id") not in (None, "", "req-the-one-before")
