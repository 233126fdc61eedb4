"""Compensation after an outage, through the HTTP API: business claims and their review, the intake
window, vouchers, message cash, and the entitlements the `compute-entitlements` job works out for taxi
drivers (lost income), designated drivers (support) and riders (credit)."""

import math
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest

from chalicelib.core.clock import iso
from devstack import cloud
from devstack.pump import Pump
from tests.integration.actors import (
    ADMIN,
    DAY,
    cancel,
    counts,
    declare,
    details,
    drive,
    driver,
    file_claim,
    filed,
    go,
    program,
    resolve,
    review,
    ride,
)

# Without a Lambda context powertools' idempotency warns on every first use of a key; chalicelib expects it.
pytestmark = pytest.mark.filterwarnings("ignore:Couldn't determine the remaining time left")



def on(day: int, hour: int, minute: int = 0, second: int = 0, ms: int = 0) -> datetime:
    return datetime(2022, 10, day, hour, minute, second, ms * 1000, tzinfo=UTC)


# --- helpers ----------------------------------------------------------------------------------------------

def my_claims(api, who: tuple) -> list[dict]:
    answer = api("get", "/me/claims", who)
    assert answer.status_code == 200, answer.body
    return answer.json_body["items"]


def payouts(api, program_id: str, people: list[str], role: str) -> dict[str, list[int]]:
    """Each person -> the payouts of their claims in the program."""
    return {person: [c["payout_krw"] for c in my_claims(api, (role, person)) if c["program_id"] == program_id]
            for person in people}


def earned(driver_id: str, hour: str, total_krw: int, rides: int = 1) -> None:
    """An hour of a driver's earnings, as completed rides leave it (`hour` is `YYYY-MM-DDTHH`)."""
    from chalicelib.drivers.models import EarningsBucket

    EarningsBucket(driver_id, hour, total_krw=total_krw, rides=rides).save()


def up_to_10(krw: float) -> int:
    return math.ceil(krw / 10) * 10


@pytest.fixture
def fire(api, frozen_clock) -> str:
    """An incident that started now (06:33Z) and is still open."""
    return declare(api, frozen_clock.now())


@pytest.fixture
def claims_program(api, fire, frozen_clock) -> dict:
    """A business claims program with the default tiers, intake open for a month from now."""
    now = frozen_clock.now()
    return program(api, fire, "business_claims", {"intake_opens_at": iso(now), "intake_closes_at": iso(now + 30 * DAY),
                                                  "budget_krw": 50_000_000})


# --- business claims --------------------------------------------------------------------------------------

def test_business_claims_are_paid_by_tier_at_300000_and_500000_and_above_that_by_review(api, claims_program, inbox):
    program_id = claims_program["program_id"]
    assert claims_program["params"]["tiers"] == [{"max_loss_krw": 300_000, "payout_krw": 30_000},
                                                 {"max_loss_krw": 500_000, "payout_krw": 50_000}]
    claim = {loss: filed(api, program_id, f"biz-{loss}", loss) for loss in (0, 300_000, 300_001, 500_000, 500_001)}

    tier_amount = review(api, claim[300_000], "approve", amount_krw=50_000)
    assert tier_amount.status_code == 400
    assert "amount_krw" in tier_amount.json_body["error"]["fields"]
    for loss, payout in ((0, 30_000), (300_000, 30_000), (300_001, 50_000), (500_000, 50_000)):
        approved = review(api, claim[loss], "approve")
        assert approved.status_code == 200, (loss, approved.body)
        assert (approved.json_body["status"], approved.json_body["payout_krw"]) == ("approved", payout), loss

    above = claim[500_001]
    no_amount = review(api, above, "approve")
    assert no_amount.status_code == 400
    assert "amount_krw" in no_amount.json_body["error"]["fields"]
    more_than_lost = review(api, above, "approve", amount_krw=500_002)
    assert more_than_lost.status_code == 400
    assert "amount_krw" in more_than_lost.json_body["error"]["fields"]
    reviewed = review(api, above, "approve", amount_krw=420_000)
    assert reviewed.status_code == 200, reviewed.body
    assert (reviewed.json_body["status"], reviewed.json_body["payout_krw"]) == ("approved", 420_000)

    seen = api("get", f"/claims/{above}", ("business", "biz-500001")).json_body
    assert (seen["status"], seen["loss_krw"], seen["payout_krw"], seen["tier"]) == (
        "approved", 500_001, 420_000, "individual")
    assert [h["status"] for h in seen["history"]] == ["submitted", "approved"]
    assert api("get", f"/claims/{claim[300_001]}", ("business", "biz-300001")).json_body["tier"] == "up_to_500000"
    assert counts(api, program_id) == {"filed": 5, "approved": 5, "rejected": 0, "pending": 0,
                                       "documents_requested": 0, "paid": 0, "paid_krw": 0,
                                       "approved_krw": 30_000 * 2 + 50_000 * 2 + 420_000}
    told = [m for m in inbox() if m["kind"] == "claim_reviewed"]
    assert sorted(m["payout_krw"] for m in told) == [30_000, 30_000, 50_000, 50_000, 420_000]


def test_a_business_files_once_per_program_for_itself_and_sees_only_its_own_claims(api, claims_program):
    program_id = claims_program["program_id"]
    claim_id = filed(api, program_id, "biz-a", 120_000)

    again = file_claim(api, program_id, "biz-a", 200_000, channel="phone")
    assert again.status_code == 409
    for_another = api("post", f"/programs/{program_id}/claims", ("business", "biz-a"),
                      {"business_id": "biz-b", "business_name": "not mine", "loss_krw": 1, "channel": "web"})
    assert for_another.status_code == 403
    for who in (("rider", "biz-a"), ("driver", "biz-a")):
        assert api("post", f"/programs/{program_id}/claims", who,
                   {"business_id": "biz-a", "business_name": "x", "loss_krw": 1, "channel": "web"}).status_code == 403

    assert api("get", f"/claims/{claim_id}", ("business", "biz-b")).status_code == 403
    assert api("get", f"/claims/{claim_id}", ("rider", "someone")).status_code == 403
    assert api("post", f"/claims/{claim_id}/documents", ("business", "biz-b"),
               {"evidence": ["s3://x"]}).status_code == 403
    assert api("get", f"/claims/{claim_id}", ADMIN).json_body["business_id"] == "biz-a"
    mine = my_claims(api, ("business", "biz-a"))
    assert [(c["claim_id"], c["loss_krw"], c["channel"]) for c in mine] == [(claim_id, 120_000, "web")]
    assert my_claims(api, ("business", "biz-b")) == []
    assert counts(api, program_id)["filed"] == 1
    assert api("get", f"/programs/{program_id}", ("business", "biz-a")).status_code == 403
    assert review(api, claim_id, "approve").status_code == 200
    assert api("post", f"/claims/{claim_id}/review", ("business", "biz-a"), {"decision": "approve"}).status_code == 403


def test_claims_are_taken_only_while_intake_is_open_and_the_job_closes_it(api, fire, frozen_clock, job):
    start = frozen_clock.now()
    opens, closes = start + DAY, start + 31 * DAY
    program_id = program(api, fire, "business_claims", {"intake_opens_at": iso(opens), "intake_closes_at": iso(closes),
                                                        "budget_krw": 10_000_000})["program_id"]
    early = file_claim(api, program_id, "biz-early", 10_000)
    assert early.status_code == 409
    assert "not opened" in early.json_body["error"]["message"]

    frozen_clock.set(opens)
    filed(api, program_id, "biz-on-time", 10_000)
    assert job("close-intake")["closed"] == []
    frozen_clock.set(closes - timedelta(seconds=1))
    filed(api, program_id, "biz-last-second", 10_000)

    frozen_clock.set(closes)
    assert file_claim(api, program_id, "biz-late", 10_000).status_code == 409  # refused before the job runs, too
    assert job("close-intake")["closed"] == [program_id]
    assert details(api, program_id)["status"] == "intake_closed"
    assert job("close-intake")["closed"] == []
    frozen_clock.advance(days=1)
    assert file_claim(api, program_id, "biz-later", 10_000).status_code == 409
    assert counts(api, program_id)["filed"] == 2
    assert my_claims(api, ("business", "biz-late")) == []


def test_intake_is_extended_three_times_at_most_and_only_to_a_later_date(api, fire, frozen_clock, job, inbox):
    start = frozen_clock.now()
    params = {"intake_opens_at": iso(start), "intake_closes_at": iso(start + 30 * DAY), "budget_krw": 10_000_000}
    program_id = program(api, fire, "business_claims", params)["program_id"]
    short = program(api, fire, "business_claims", {**params, "intake_closes_at": iso(start + 10 * DAY)})["program_id"]

    def extend(pid: str, closes_at: datetime):
        return api("post", f"/programs/{pid}/extend", ADMIN, {"intake_closes_at": iso(closes_at)})

    first = extend(program_id, start + 60 * DAY)
    assert first.status_code == 200, first.body
    assert (first.json_body["extensions"], first.json_body["extensions_left"]) == (1, 2)
    earlier = extend(program_id, start + 45 * DAY)
    assert earlier.status_code == 400
    assert "intake_closes_at" in earlier.json_body["error"]["fields"]
    assert extend(program_id, start + 60 * DAY).status_code == 400
    assert extend(program_id, start + 90 * DAY).status_code == 200
    third = extend(program_id, start + 150 * DAY)
    assert third.status_code == 200
    assert (third.json_body["extensions"], third.json_body["extensions_left"]) == (3, 0)
    assert third.json_body["intake_closes_at"] == iso(start + 150 * DAY)
    assert extend(program_id, start + 180 * DAY).status_code == 409
    assert details(api, program_id)["intake_closes_at"] == iso(start + 150 * DAY)  # five months in all
    assert api("post", f"/programs/{program_id}/extend", ("business", "biz"),
               {"intake_closes_at": iso(start + 200 * DAY)}).status_code == 403
    assert [m["intake_closes_at"] for m in inbox() if m["kind"] == "intake_extended"] == [
        iso(start + d * DAY) for d in (60, 90, 150)]

    frozen_clock.set(start + 31 * DAY)  # past the first deadline of both
    assert extend(short, start + 60 * DAY).status_code == 409  # closed already
    filed(api, program_id, "biz-in-extension", 50_000)
    assert job("close-intake")["closed"] == [short]
    assert details(api, program_id)["status"] == "intake_open"
    frozen_clock.set(start + 150 * DAY)
    assert job("close-intake")["closed"] == [program_id]
    assert file_claim(api, program_id, "biz-too-late", 50_000).status_code == 409


def test_an_incomplete_claim_is_asked_for_documents_and_approved_once_they_arrive(api, claims_program, inbox):
    program_id = claims_program["program_id"]
    claim_id = filed(api, program_id, "biz-a", 250_000)

    unexplained = review(api, claim_id, "request_documents")
    assert unexplained.status_code == 400
    assert "reason" in unexplained.json_body["error"]["fields"]
    asked = review(api, claim_id, "request_documents", reason="send the card sales statement for October")
    assert asked.status_code == 200, asked.body
    assert asked.json_body["status"] == "documents_requested"
    assert counts(api, program_id)["documents_requested"] == 1
    assert review(api, claim_id, "approve").status_code == 409  # not before the documents arrive
    assert review(api, claim_id, "request_documents", reason="again").status_code == 409
    assert [m["status"] for m in inbox() if m["kind"] == "claim_reviewed"] == ["documents_requested"]

    assert api("post", f"/claims/{claim_id}/documents", ("business", "biz-a"), {"evidence": []}).status_code == 400
    sent = api("post", f"/claims/{claim_id}/documents", ("business", "biz-a"),
               {"evidence": ["s3://evidence/biz-a/card-sales-2022-10.pdf"]})
    assert sent.status_code == 200, sent.body
    assert sent.json_body["status"] == "submitted"
    assert sent.json_body["evidence"] == ["s3://evidence/biz-a/sales.pdf", "s3://evidence/biz-a/card-sales-2022-10.pdf"]
    assert api("post", f"/claims/{claim_id}/documents", ("business", "biz-a"),
               {"evidence": ["s3://twice"]}).status_code == 409  # nothing was asked for now
    assert counts(api, program_id)["documents_requested"] == 0

    approved = review(api, claim_id, "approve")
    assert approved.status_code == 200, approved.body
    assert (approved.json_body["status"], approved.json_body["payout_krw"]) == ("approved", 30_000)
    seen = api("get", f"/claims/{claim_id}", ("business", "biz-a")).json_body
    assert [h["status"] for h in seen["history"]] == ["submitted", "documents_requested", "submitted", "approved"]
    assert seen["history"][1]["note"] == "send the card sales statement for October"
    assert counts(api, program_id) == {"filed": 1, "approved": 1, "rejected": 0, "pending": 0,
                                       "documents_requested": 0, "approved_krw": 30_000, "paid": 0, "paid_krw": 0}


def test_a_rejection_needs_a_reason_a_decided_claim_never_moves_back_and_the_counts_follow(api, claims_program,
                                                                                            frozen_clock):
    program_id = claims_program["program_id"]
    approved_id, rejected_id, waiting_id = (filed(api, program_id, f"biz-{n}", 100_000) for n in range(3))
    assert review(api, approved_id, "approve").status_code == 200

    no_reason = review(api, rejected_id, "reject")
    assert no_reason.status_code == 400
    assert "reason" in no_reason.json_body["error"]["fields"]
    assert review(api, rejected_id, "reject", reason="   ").status_code == 400
    rejected = review(api, rejected_id, "reject", reason="the shop was closed that day anyway")
    assert rejected.status_code == 200, rejected.body
    assert (rejected.json_body["status"], rejected.json_body["payout_krw"]) == ("rejected", None)
    assert review(api, waiting_id, "reject", reason="x", amount_krw=5).status_code == 400  # amounts only approve

    for claim_id in (approved_id, rejected_id):
        for decision in ({"decision": "approve"}, {"decision": "reject", "reason": "changed my mind"},
                         {"decision": "request_documents", "reason": "more"}):
            moved = api("post", f"/claims/{claim_id}/review", ADMIN, decision)
            assert moved.status_code == 409, (claim_id, decision, moved.body)
        assert api("post", f"/claims/{claim_id}/documents", ("business", "biz-0" if claim_id == approved_id
                                                             else "biz-1"), {"evidence": ["x"]}).status_code == 409
    assert api("get", f"/claims/{approved_id}", ADMIN).json_body["status"] == "approved"
    assert api("get", f"/claims/{rejected_id}", ADMIN).json_body["status"] == "rejected"

    frozen_clock.advance(seconds=1)
    queued = [filed(api, program_id, "biz-3", 100_000), filed(api, program_id, "biz-4", 100_000)]
    review(api, waiting_id, "request_documents", reason="sales records please")
    summary = details(api, program_id)
    assert summary["counts"] == {"filed": 5, "approved": 1, "rejected": 1, "pending": 3, "documents_requested": 1,
                                 "approved_krw": 30_000, "paid": 0, "paid_krw": 0}
    assert (summary["claims_filed"], summary["approved"], summary["rejected"], summary["pending"]) == (5, 1, 1, 3)
    in_queue = api("get", f"/programs/{program_id}/claims?status=submitted", ADMIN).json_body["items"]
    assert sorted(c["claim_id"] for c in in_queue) == sorted(queued)

    assert review(api, waiting_id, "reject", reason="no records came").status_code == 200
    assert counts(api, program_id) == {"filed": 5, "approved": 1, "rejected": 2, "pending": 2,
                                       "documents_requested": 0, "approved_krw": 30_000, "paid": 0, "paid_krw": 0}


def test_reviewing_never_approves_past_the_budget(api, fire, frozen_clock):
    now = frozen_clock.now()
    program_id = program(api, fire, "business_claims", {"intake_opens_at": iso(now), "intake_closes_at":
                                                        iso(now + 30 * DAY), "budget_krw": 110_000})["program_id"]
    small, middle, big = (filed(api, program_id, f"biz-{loss}", loss) for loss in (100_000, 400_000, 900_000))
    assert review(api, middle, "approve").json_body["payout_krw"] == 50_000
    too_much = review(api, big, "approve", amount_krw=60_001)
    assert too_much.status_code == 409, too_much.body
    assert "budget" in too_much.json_body["error"]["message"]
    assert review(api, big, "approve", amount_krw=60_000).status_code == 200  # exactly the budget
    assert review(api, small, "approve").status_code == 409
    assert api("get", f"/claims/{small}", ADMIN).json_body["status"] == "submitted"
    assert review(api, small, "reject", reason="the budget is spent").status_code == 200
    summary = details(api, program_id)
    assert (summary["budget_krw"], summary["counts"]["approved_krw"], summary["counts"]["approved"]) == (
        110_000, 110_000, 2)


def test_a_retried_claim_with_the_same_idempotency_key_is_filed_once(api, claims_program):
    program_id = claims_program["program_id"]
    key = {"Idempotency-Key": "claim-biz-a-1"}
    first = file_claim(api, program_id, "biz-a", 210_000, headers=key)
    assert first.status_code == 201, first.body
    retried = file_claim(api, program_id, "biz-a", 210_000, headers=key)
    assert (retried.status_code, retried.json_body) == (201, first.json_body)
    assert counts(api, program_id)["filed"] == 1
    assert [c["claim_id"] for c in my_claims(api, ("business", "biz-a"))] == [first.json_body["claim_id"]]

    changed = file_claim(api, program_id, "biz-a", 999_000, headers=key)
    assert changed.status_code == 409
    assert "different body" in changed.json_body["error"]["message"]
    # another business may use the same key: keys are per caller
    assert file_claim(api, program_id, "biz-b", 210_000, headers=key).status_code == 201
    assert file_claim(api, program_id, "biz-c", 1, headers={"Idempotency-Key": ""}).status_code == 400
    assert counts(api, program_id)["filed"] == 2


def test_bad_input_is_a_4xx_naming_what_is_wrong_and_never_a_500_nor_a_partial_write(api, claims_program, fire,
                                                                                       frozen_clock):
    program_id = claims_program["program_id"]
    now = frozen_clock.now()
    window = {"intake_opens_at": iso(now), "intake_closes_at": iso(now + 30 * DAY), "budget_krw": 1_000_000}

    def new_program(kind: str, params: dict, incident_id: str = fire):
        return api("post", "/programs", ADMIN, {"name": "p", "incident_id": incident_id, "kind": kind,
                                                "params": params})

    bad_programs = [
        (("lottery", {}), 400, "kind"),
        (("driver_income", {"service": "taxi", "multiplier": 0.9}), 400, "params.multiplier"),
        (("driver_income", {"multiplier": "lots"}), 400, "params.multiplier"),
        (("driver_income", {"service": "designated"}), 400, "params.service"),
        (("business_claims", {**window, "tiers": []}), 400, "params.tiers"),
        (("business_claims", {**window, "tiers": [{"max_loss_krw": 500_000, "payout_krw": 50_000},
                                                  {"max_loss_krw": 300_000, "payout_krw": 30_000}]}),
         400, "params.tiers"),
        (("business_claims", {**window, "tiers": [{"max_loss_krw": 300_000, "payout_krw": 50_000},
                                                  {"max_loss_krw": 500_000, "payout_krw": 30_000}]}),
         400, "params.tiers"),
        (("business_claims", {**window, "tiers": [{"max_loss_krw": -1, "payout_krw": 1}]}),
         400, "params.tiers.0.max_loss_krw"),
        (("business_claims", {**window, "intake_closes_at": iso(now - DAY)}), 400, "params.intake_closes_at"),
        (("business_claims", {"intake_opens_at": iso(now), "budget_krw": 1}), 400, "params.intake_closes_at"),
        (("business_claims", {**window, "budget_krw": -5}), 400, "params.budget_krw"),
        (("rider_credit", {"amount_krw": 0}), 400, "params.amount_krw"),
        (("driver_support", {"amount_krw": 10_000, "surprise": True}), 400, "params.surprise"),
        (("voucher", {"items": []}), 400, "params.items"),
        (("message_cash", {"amount_krw": 50_000, "budget_krw": 10_000}), 400, "params.budget_krw"),
        (("rider_credit", {"amount_krw": 3_000}, "inc_nope"), 404, None),
    ]
    for args, status, field in bad_programs:
        answer = new_program(*args)
        assert answer.status_code == status, (args, answer.body)
        if field:
            assert field in answer.json_body["error"]["fields"], (args, answer.body)

    good = {"business_id": "biz-a", "business_name": "Mapo Chicken", "loss_krw": 100_000, "channel": "web"}
    bad_claims = [
        ({"loss_krw": -1}, "loss_krw"),
        ({"loss_krw": 1_000_000_001}, "loss_krw"),
        ({"loss_krw": 1e12}, "loss_krw"),
        ({"loss_krw": "a lot"}, "loss_krw"),
        ({"loss_krw": None}, "loss_krw"),
        ({"channel": "fax"}, "channel"),
        ({"evidence": [""]}, "evidence"),
        ({"business_name": ""}, "business_name"),
        ({"extra": 1}, "extra"),
    ]
    for change, field in bad_claims:
        answer = api("post", f"/programs/{program_id}/claims", ("business", "biz-a"), {**good, **change})
        assert answer.status_code == 400, (change, answer.body)
        assert field in answer.json_body["error"]["fields"], (change, answer.body)
    broken = api("post", f"/programs/{program_id}/claims", ("business", "biz-a"),
                 headers={"Content-Type": "application/json"})
    assert broken.status_code == 400
    assert api("post", "/programs/prg_nope/claims", ("business", "biz-a"), good).status_code == 404

    claim_id = filed(api, program_id, "biz-b", 100_000)
    for body, field in (({"decision": "maybe"}, "decision"), ({"decision": "approve", "amount_krw": -5}, "amount_krw"),
                        ({"decision": "approve", "amount_krw": 10**13}, "amount_krw")):
        answer = review(api, claim_id, **body)
        assert answer.status_code == 400, (body, answer.body)
        assert field in answer.json_body["error"]["fields"], (body, answer.body)
    bad_date = api("post", f"/programs/{program_id}/extend", ADMIN, {"intake_closes_at": "next month"})
    assert "intake_closes_at" in bad_date.json_body["error"]["fields"]

    unknown = [("get", "/programs/prg_nope", ADMIN, None), ("get", "/claims/clm_nope", ADMIN, None),
               ("get", "/claims/clm_nope", ("business", "biz-a"), None),
               ("post", "/claims/clm_nope/review", ADMIN, {"decision": "approve"}),
               ("post", "/claims/clm_nope/documents", ("business", "biz-a"), {"evidence": ["x"]}),
               ("post", "/programs/prg_nope/extend", ADMIN, {"intake_closes_at": iso(now + 90 * DAY)}),
               ("post", "/programs/prg_nope/vouchers/claim", ("rider", "r1"), None)]
    for method, path, who, body in unknown:
        assert api(method, path, who, body).status_code == 404, path

    assert counts(api, program_id)["filed"] == 1
    assert api("get", f"/claims/{claim_id}", ADMIN).json_body["status"] == "submitted"


# --- message cash -----------------------------------------------------------------------------------------

def test_message_cash_is_approved_at_once_while_the_budget_lasts_and_refused_after(api, fire):
    program_id = program(api, fire, "message_cash", {"amount_krw": 50_000, "budget_krw": 150_000})["program_id"]
    for n in range(3):
        applied = file_claim(api, program_id, f"shop-{n}", loss_krw=None, channel="chatbot")
        assert applied.status_code == 201, applied.body
        assert (applied.json_body["status"], applied.json_body["payout_krw"]) == ("approved", 50_000)
    assert file_claim(api, program_id, "shop-0", loss_krw=None).status_code == 409  # once per business

    late = file_claim(api, program_id, "shop-late", loss_krw=None)
    assert late.status_code == 409, late.body
    assert "budget" in late.json_body["error"]["message"]
    assert my_claims(api, ("business", "shop-late")) == []
    assert counts(api, program_id) == {"filed": 3, "approved": 3, "rejected": 0, "pending": 0,
                                       "documents_requested": 0, "approved_krw": 150_000, "paid": 0, "paid_krw": 0}
    (claim,) = my_claims(api, ("business", "shop-1"))
    assert review(api, claim["claim_id"], "reject", reason="x").status_code == 409  # not reviewed one by one


# --- vouchers ---------------------------------------------------------------------------------------------

def test_a_rider_takes_the_voucher_pack_on_demand_and_taking_again_gives_the_same_vouchers_no_one_else_takes(
        api, fire, frozen_clock, job):
    items = [{"name": "Ryan (permanent)", "valid_days": None}, {"name": "Apeach", "valid_days": 90},
             {"name": "Muzi", "valid_days": 90}]
    created = program(api, fire, "voucher", {"items": items})
    program_id = created["program_id"]
    assert created["status"] == "open"
    assert details(api, program_id)["counts"]["takers"] == 0

    taken_at = frozen_clock.advance(days=2)
    first = api("post", f"/programs/{program_id}/vouchers/claim", ("rider", "rider-1"))
    assert first.status_code == 200, first.body
    vouchers = first.json_body["vouchers"]
    assert [(v["name"], v["expires_at"]) for v in vouchers] == [
        ("Ryan (permanent)", None), ("Apeach", iso(taken_at + 90 * DAY)), ("Muzi", iso(taken_at + 90 * DAY))]
    assert len({v["voucher_id"] for v in vouchers}) == 3

    frozen_clock.advance(days=10)
    again = api("post", f"/programs/{program_id}/vouchers/claim", ("rider", "rider-1"))
    assert (again.status_code, again.json_body["vouchers"]) == (200, vouchers)
    assert api("get", "/me/vouchers", ("rider", "rider-1")).json_body["items"] == vouchers
    assert details(api, program_id)["counts"]["takers"] == 1

    other = api("post", f"/programs/{program_id}/vouchers/claim", ("rider", "rider-2")).json_body["vouchers"]
    assert {v["voucher_id"] for v in other}.isdisjoint(v["voucher_id"] for v in vouchers)
    assert details(api, program_id)["counts"]["takers"] == 2
    assert api("get", "/me/vouchers", ("rider", "rider-3")).json_body["items"] == []
    assert program_id not in str(job("compute-entitlements"))  # vouchers are taken, never computed

    credit_id = program(api, fire, "rider_credit", {"amount_krw": 3_000})["program_id"]
    assert api("post", f"/programs/{credit_id}/vouchers/claim", ("rider", "rider-1")).status_code == 409
    for who in (("driver", "taxi-1"), ("business", "biz-a"), ADMIN):
        assert api("post", f"/programs/{program_id}/vouchers/claim", who).status_code == 403, who
    assert api("get", "/me/vouchers", ("driver", "taxi-1")).status_code == 403
    assert file_claim(api, program_id, "biz-a", 1).status_code == 409  # vouchers are not claimed by businesses
    assert file_claim(api, credit_id, "biz-a", 1).status_code == 409
    assert details(api, program_id)["counts"]["takers"] == 2


# --- taxi drivers' lost income ----------------------------------------------------------------------------

def test_lost_income_is_the_shortfall_against_the_week_before_with_edge_hours_pro_rata_times_the_multiplier(
        api, frozen_clock, job):
    for taxi in ("kim", "lee", "park", "idle", "han"):
        driver(api, taxi)
    driver(api, "choi", services=("designated",))
    # han earns through real rides: a long one a week before, a short one during the outage, a long one after it
    frozen_clock.set(on(8, 16, 5))
    go(api, "han", "online")
    han_before = drive(api, frozen_clock, "han", "rider-1", distance_m=12_000, duration_s=1_500)
    frozen_clock.set(on(15, 16, 5))
    han_during = drive(api, frozen_clock, "han", "rider-2", distance_m=2_000, duration_s=400)
    frozen_clock.set(on(15, 19, 5))
    han_after = drive(api, frozen_clock, "han", "rider-3", distance_m=20_000, duration_s=1_200)
    assert han_before > han_during > 0
    assert han_after > han_before  # earned after the outage: it does not offset what was lost in it
    # kim: 15:33-18:10 takes 27/60 of 15h, 16h and 17h whole, 10/60 of 18h; 14h and 19h lie outside
    for hour, krw in (("14", 50_000), ("15", 6_000), ("16", 12_001), ("17", 9_000), ("18", 6_000), ("19", 40_000)):
        earned("kim", f"2022-10-08T{hour}", krw)
    for hour, krw in (("15", 6_000), ("17", 1_000), ("18", 600), ("19", 90_000)):
        earned("kim", f"2022-10-15T{hour}", krw)
    kim_before, kim_during = 2_700 + 12_001 + 9_000 + 1_000, 2_700 + 1_000 + 100  # 24,701 and 3,800
    earned("lee", "2022-10-08T16", 12_341)  # nothing during: 12,341 short
    earned("park", "2022-10-08T16", 10_000)  # earned more during the outage than a week before
    earned("park", "2022-10-15T16", 15_000)
    earned("choi", "2022-10-08T16", 20_000)  # a designated driver: not in the taxi program

    frozen_clock.set(on(15, 19))
    incident_id = declare(api, on(15, 15, 33), resolved_at=on(15, 18, 10))
    plain = program(api, incident_id, "driver_income", {"service": "taxi"})["program_id"]
    generous = program(api, incident_id, "driver_income", {"service": "taxi", "multiplier": 1.5})["program_id"]
    summary = job("compute-entitlements")
    assert sorted(summary["computed"]) == sorted([plain, generous])
    assert summary["entitlements"] == 6

    everyone = ["han", "kim", "lee", "park", "idle", "choi"]
    assert payouts(api, plain, everyone, "driver") == {
        "han": [up_to_10(han_before - han_during)],
        "kim": [20_910],   # 20,901 short -> 20,910
        "lee": [12_350],   # 12,341 -> 12,350
        "park": [], "idle": [], "choi": []}
    assert payouts(api, generous, everyone, "driver") == {
        "han": [up_to_10(1.5 * (han_before - han_during))],
        "kim": [31_360],   # 1.5 x 20,901 = 31,351.5 -> 31,360
        "lee": [18_520],   # 1.5 x 12,341 = 18,511.5 -> 18,520
        "park": [], "idle": [], "choi": []}
    kims = {c["program_id"]: c for c in my_claims(api, ("driver", "kim"))}
    assert kims[generous]["basis"] == {"during_krw": kim_during, "week_before_krw": kim_before, "multiplier": "1.5"}
    assert (kims[plain]["kind"], kims[plain]["status"], kims[plain]["payee_role"]) == (
        "driver_income", "approved", "driver")
    hans = {c["program_id"]: c for c in my_claims(api, ("driver", "han"))}
    assert hans[plain]["basis"] == {"during_krw": han_during, "week_before_krw": han_before, "multiplier": "1.0"}
    assert api("get", f"/claims/{hans[plain]['claim_id']}", ("driver", "han")).json_body == hans[plain]
    assert api("get", f"/claims/{hans[plain]['claim_id']}", ("driver", "kim")).status_code == 403
    assert counts(api, generous) == {"filed": 3, "approved": 3, "rejected": 0, "pending": 0, "documents_requested": 0,
                                     "approved_krw": hans[generous]["payout_krw"] + 31_360 + 18_520,
                                     "paid": 0, "paid_krw": 0}
    assert details(api, generous)["status"] == "computed"


def test_entitlements_wait_for_the_incident_to_end_and_computing_twice_writes_each_one_once(
        api, fire, frozen_clock, job, monkeypatch):
    from chalicelib.compensation import entitlements
    from chalicelib.compensation import service as compensation

    for name, krw in (("kim", 6_000), ("lee", 12_000), ("park", 18_000)):
        driver(api, name)
        earned(name, "2022-10-08T07", krw)  # 06:33-07:33 a week before takes 33/60 of it
    waiting_id = program(api, fire, "driver_income", {"service": "taxi"})["program_id"]
    assert details(api, waiting_id)["window"] == {"started_at": "2022-10-15T06:33:00Z", "ended_at": None}
    waiting = job("compute-entitlements")
    assert (waiting["waiting"], waiting["computed"], waiting["entitlements"]) == ([waiting_id], [], 0)
    assert details(api, waiting_id)["status"] == "to_compute"
    assert my_claims(api, ("driver", "kim")) == []

    frozen_clock.set(on(15, 9))
    resolve(api, fire, on(15, 7, 33))
    # a second program, made after the fire was out: compute its chunks by hand, each twice
    direct_id = program(api, fire, "driver_income", {"service": "taxi", "multiplier": 2})["program_id"]
    record, now = compensation.program_of(direct_id), frozen_clock.now()
    assert entitlements.compute_chunk(record, None, now) == (3, None)
    assert entitlements.compute_chunk(record, None, now) == (0, None)
    monkeypatch.setattr(entitlements, "CHUNK", 2)
    assert entitlements.compute_chunk(record, None, now)[0] == 0
    first = entitlements.compute_chunk(record, None, now)
    assert (first[0], first[1] is not None) == (0, True)
    assert entitlements.compute_chunk(record, first[1], now) == (0, None)
    assert counts(api, direct_id)["filed"] == 3
    monkeypatch.setattr(entitlements, "CHUNK", 50)

    computed = job("compute-entitlements")
    assert sorted(computed["computed"]) == sorted([waiting_id, direct_id])
    assert (computed["waiting"], computed["entitlements"]) == ([], 3)  # the direct program's were there already
    for program_id, multiplier in ((waiting_id, 1), (direct_id, 2)):
        assert payouts(api, program_id, ["kim", "lee", "park"], "driver") == {
            "kim": [3_300 * multiplier], "lee": [6_600 * multiplier], "park": [9_900 * multiplier]}
    after = {pid: details(api, pid) for pid in (waiting_id, direct_id)}
    assert (after[waiting_id]["status"], after[waiting_id]["computed_at"]) == ("computed", iso(on(15, 9)))
    assert after[waiting_id]["window"]["ended_at"] == "2022-10-15T07:33:00Z"
    assert after[direct_id]["counts"] == {"filed": 3, "approved": 3, "rejected": 0, "pending": 0,
                                          "documents_requested": 0, "approved_krw": 39_600, "paid": 0, "paid_krw": 0}

    frozen_clock.advance(hours=1)
    again = job("compute-entitlements")
    assert (again["computed"], again["queued"], again["entitlements"]) == ([], [], 0)
    assert {pid: details(api, pid)["counts"] for pid in after} == {pid: d["counts"] for pid, d in after.items()}
    assert len(my_claims(api, ("driver", "kim"))) == 2


# --- designated drivers' support --------------------------------------------------------------------------

def test_designated_drivers_online_in_the_hour_before_the_outage_get_the_support_payment(api, frozen_clock, job):
    for name in ("since-dawn", "went-home", "just-in-time", "latecomer", "never-online"):
        driver(api, name, services=("designated",))
    driver(api, "taxi-only")
    driver(api, "both", services=("taxi", "designated"))
    frozen_clock.set(on(15, 6, 40))
    go(api, "since-dawn", "online")  # and still online at the fire
    go(api, "went-home", "online")
    frozen_clock.set(on(15, 7, 50))
    go(api, "went-home", "offline")  # 70 minutes before the fire
    frozen_clock.set(on(15, 8, 30))
    go(api, "just-in-time", "online")
    go(api, "taxi-only", "online")
    go(api, "both", "online")
    frozen_clock.set(on(15, 8, 45))
    go(api, "just-in-time", "offline")
    frozen_clock.set(on(15, 9, 10))
    go(api, "latecomer", "online")  # only after the fire began

    frozen_clock.set(on(15, 10, 30))
    incident_id = declare(api, on(15, 9), resolved_at=on(15, 10))
    program_id = program(api, incident_id, "driver_support", {"service": "designated", "amount_krw": 50_000})[
        "program_id"]
    assert job("compute-entitlements")["entitlements"] == 3

    assert payouts(api, program_id, ["since-dawn", "went-home", "just-in-time", "latecomer", "never-online",
                                     "taxi-only", "both"], "driver") == {
        "since-dawn": [50_000], "went-home": [], "just-in-time": [50_000], "latecomer": [], "never-online": [],
        "taxi-only": [], "both": [50_000]}
    (claim,) = my_claims(api, ("driver", "just-in-time"))
    assert claim["basis"] == {"online_from": "2022-10-15T08:00:00Z", "online_to": "2022-10-15T09:00:00Z"}
    assert counts(api, program_id)["approved_krw"] == 150_000


# --- riders' credit ---------------------------------------------------------------------------------------

def test_riders_whose_rides_were_cancelled_or_expired_during_the_outage_are_credited_once_by_the_exact_moment(
        api, frozen_clock, job):
    frozen_clock.set(on(15, 6, 40))
    cancel(api, "early", ride(api, "early"))  # before the fire
    frozen_clock.set(on(15, 6, 59, 59))
    just_in = ride(api, "just-in")
    frozen_clock.set(on(15, 7, 0, 0, ms=250))  # a quarter second after the fire began
    cancel(api, "just-in", just_in)
    frozen_clock.set(on(15, 7, 5))
    cancel(api, "twice", ride(api, "twice"))
    frozen_clock.set(on(15, 7, 10))
    ride(api, "twice")
    ride(api, "waiting")
    frozen_clock.set(on(15, 7, 14))  # past the 180 s search window: nobody took them
    assert job("expire-rides")["expired"] == 2
    frozen_clock.set(on(15, 7, 59, 59))
    just_out = ride(api, "just-out")
    frozen_clock.set(on(15, 8, 0, 0, ms=250))  # a quarter second after the fire was out
    cancel(api, "just-out", just_out)
    frozen_clock.set(on(15, 8, 10))
    cancel(api, "after", ride(api, "after"))

    frozen_clock.set(on(15, 9))
    incident_id = declare(api, on(15, 7), resolved_at=on(15, 8))
    program_id = program(api, incident_id, "rider_credit", {"amount_krw": 3_000})["program_id"]
    summary = job("compute-entitlements")
    assert (summary["computed"], summary["entitlements"]) == ([program_id], 3)

    assert payouts(api, program_id, ["twice", "waiting", "just-in", "early", "just-out", "after"], "rider") == {
        "twice": [3_000], "waiting": [3_000], "just-in": [3_000], "early": [], "just-out": [], "after": []}
    assert counts(api, program_id) == {"filed": 3, "approved": 3, "rejected": 0, "pending": 0,
                                       "documents_requested": 0, "approved_krw": 9_000, "paid": 0, "paid_krw": 0}
    (claim,) = my_claims(api, ("rider", "twice"))
    assert (claim["kind"], claim["payee_role"], claim["status"]) == ("rider_credit", "rider", "approved")
    assert api("get", f"/claims/{claim['claim_id']}", ("rider", "twice")).json_body == claim
    assert api("get", f"/claims/{claim['claim_id']}", ("rider", "waiting")).status_code == 403


# --- many payees: through the queue -----------------------------------------------------------------------

def test_a_program_with_many_payees_is_computed_chunk_by_chunk_through_the_queue(api, app, frozen_clock, job,
                                                                                  monkeypatch):
    from chalicelib.compensation import entitlements

    monkeypatch.setattr(entitlements, "CHUNK", 2)
    monkeypatch.setattr(entitlements, "INLINE_CHUNKS", 1)
    riders = [f"rider-{n}" for n in range(5)]
    frozen_clock.set(on(15, 7, 10))
    for rider in riders:
        cancel(api, rider, ride(api, rider))
    frozen_clock.set(on(15, 9))
    incident_id = declare(api, on(15, 7), resolved_at=on(15, 8))
    program_id = program(api, incident_id, "rider_credit", {"amount_krw": 3_000})["program_id"]
    pump = Pump(app, cloud.physical_ids("o2o-mobility-test"))
    (binding,) = pump.bindings
    while pump.deliver_once(*binding):
        pass  # the incident's notices fan out to connected drivers (none here) first

    summary = job("compute-entitlements")
    assert (summary["queued"], summary["computed"], summary["entitlements"]) == ([program_id], [], 2)
    assert (details(api, program_id)["status"], counts(api, program_id)["filed"]) == ("computing", 2)
    assert job("compute-entitlements")["queued"] == []  # a program being computed is left to the queue

    for _ in range(10):  # a chunk per message, each queueing the next
        assert pump.deliver_once(*binding) == 1
        if details(api, program_id)["status"] == "computed":
            break

    assert details(api, program_id)["status"] == "computed"
    assert counts(api, program_id) == {"filed": 5, "approved": 5, "rejected": 0, "pending": 0,
                                       "documents_requested": 0, "approved_krw": 15_000, "paid": 0, "paid_krw": 0}
    assert payouts(api, program_id, riders, "rider") == {rider: [3_000] for rider in riders}


def test_a_large_fleet_is_scanned_in_parallel_segments_each_driver_paid_once(api, app, frozen_clock, job,
                                                                           monkeypatch):
    from chalicelib.compensation import entitlements
    from chalicelib.drivers import service as drivers

    monkeypatch.setattr(entitlements, "CHUNK", 2)
    monkeypatch.setattr(entitlements, "INLINE_CHUNKS", 2)
    monkeypatch.setattr(drivers, "scan_segments", lambda: 3)  # as DynamoDB's item count would say for a big fleet
    scanned: list[str] = []
    scan = drivers.drivers_of

    def recording(*args):
        ids, cursor = scan(*args)
        scanned.extend(ids)
        return ids, cursor

    monkeypatch.setattr(drivers, "drivers_of", recording)
    fleet = [f"taxi-{n}" for n in range(9)]
    for sub in fleet:
        driver(api, sub)
        earned(sub, "2022-10-08T07", 12_000)
    frozen_clock.set(on(15, 9))
    incident_id = declare(api, on(15, 7), resolved_at=on(15, 8))
    program_id = program(api, incident_id, "driver_income", {"multiplier": 1.0})["program_id"]

    assert job("compute-entitlements")["queued"] == [program_id]
    assert details(api, program_id)["status"] == "computing"
    pump = Pump(app, cloud.physical_ids("o2o-mobility-test"))
    (binding,) = pump.bindings
    while pump.deliver_once(*binding):
        pass

    assert details(api, program_id)["status"] == "computed"
    assert counts(api, program_id)["filed"] == len(fleet)
    assert payouts(api, program_id, fleet, "driver") == {sub: [12_000] for sub in fleet}
    assert sorted(scanned) == sorted(fleet)  # the segments split the table: no driver was read twice


# --- message cash at the budget's edge, from many threads at once -----------------------------------------
# Each thread plays a separate Lambda invocation against a moto server over HTTP (the `moto_server` fixture of
# conftest.py, which serves one request at a time because moto's threaded transactions are not atomic).

def test_businesses_applying_for_message_cash_at_once_get_exactly_what_the_budget_pays(moto_server):
    from chalicelib.compensation import service as compensation
    from chalicelib.compensation.models import Claim
    from chalicelib.compensation.rules import ProgramKind
    from chalicelib.compensation.schemas import ClaimIn, ProgramIn
    from chalicelib.core.auth import Caller
    from chalicelib.core.errors import Conflict
    from chalicelib.outages import service as outages
    from chalicelib.outages.schemas import ComponentIn, IncidentIn

    admin, now = Caller("ops-1", "admin"), datetime.now(UTC)
    outages.register_component(ComponentIn(name="messaging", heartbeat_timeout_s=60), now)
    incident = outages.declare_incident(admin, IncidentIn(components=["messaging"], started_at=now - timedelta(hours=1),
                                                          summary="Messaging is down"), now)
    program_id = compensation.create_program(admin, ProgramIn(
        name="Channel message cash", incident_id=incident["incident_id"], kind=ProgramKind.MESSAGE_CASH,
        params={"amount_krw": 50_000, "budget_krw": 250_000}), now)["program_id"]
    shops = [f"shop-{n:02d}" for n in range(12)]
    start = threading.Event()

    def apply(shop: str):
        start.wait()
        try:
            return compensation.file_claim(Caller(shop, "business"), program_id, ClaimIn(
                business_id=shop, business_name=shop, channel="chatbot"), None, datetime.now(UTC))
        except Conflict:
            return "409"

    with ThreadPoolExecutor(len(shops)) as pool:
        futures = [pool.submit(apply, shop) for shop in shops]
        start.set()
        answers = [future.result() for future in futures]

    approved = [a for a in answers if a != "409"]
    assert len(approved) == 5, answers
    assert all((a["status"], a["payout_krw"]) == ("approved", 50_000) for a in approved)
    claims = [c for c in Claim.scan() if c.claim_id.startswith("clm_") and c.program_id == program_id]
    assert sorted(c.payee_id for c in claims) == sorted(a["payee_id"] for a in approved)
    detail = compensation.program_detail(program_id)
    assert detail["counts"]["approved_krw"] == detail["budget_krw"] == 250_000
    assert (detail["counts"]["filed"], detail["counts"]["approved"]) == (len(claims), len(claims))
