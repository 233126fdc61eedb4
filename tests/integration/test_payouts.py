"""Payout rounds through the HTTP API: cutting, four-eyes approval, paying through the work queue, the ledger,
the report and the audit log; then the worker failing at each step and its messages coming back, and two
workers paying the same chunk at once.

Whatever fails and however often a message is delivered, the end state is the same: every claim paid once,
one ledger entry and (for damage payouts) one bank transfer per claim, and the totals of the ledger, the
rounds and the program agree and stay within the budget.
"""

import functools
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import boto3
import pytest
from pynamodb.exceptions import TransactWriteError

from chalicelib.compensation import service as compensation
from chalicelib.compensation.schemas import ClaimIn, ProgramIn, ReviewIn
from chalicelib.core.audit import actions_on
from chalicelib.core.auth import Caller
from chalicelib.core.clock import iso
from chalicelib.outages import service as outages
from chalicelib.outages.schemas import ComponentIn, IncidentIn
from chalicelib.payouts import paying, rules, service
from chalicelib.payouts.models import LedgerEntry, PayoutRound, RoundChunk, Transfer, Wallet
from chalicelib.payouts.routes import pay_round_chunk
from chalicelib.payouts.rules import ledger_entry_id
from chalicelib.payouts.schemas import RoundIn
from chalicelib.payouts.transfers import LocalTransferProvider, TransferFailed
from devstack import cloud
from devstack import pump as pump_module
from tests.integration.actors import (
    ADMIN,
    APPROVER,
    BUDGET_KRW,
    CASH_KRW,
    CREATOR_WITH_CLAIM,
    LOSSES,
    PLAIN_ADMIN,
    Desk,
    payout_for,
)


@pytest.fixture
def desk(api, app, frozen_clock) -> Desk:
    return Desk(api, app, frozen_clock)


@pytest.fixture
def small_chunks(monkeypatch):
    """Rounds cut into chunks of two claims (rules.chunks binds its default size when defined)."""
    monkeypatch.setattr(rules, "chunks", functools.partial(rules.chunks, size=2))


@pytest.fixture
def redeliver_at_once(monkeypatch):
    """A failed message is visible again at once, so draining the queue retries it."""
    monkeypatch.setattr(pump_module, "RETRY_AFTER_S", 0)


@pytest.fixture
def keep_failures_back(monkeypatch):
    """A failed message stays invisible for the rest of the test: the test redelivers it by hand."""
    monkeypatch.setattr(pump_module, "RETRY_AFTER_S", 600)


def transfers_of(program_id: str) -> list[Transfer]:
    return [t for t in Transfer.scan() if t.memo == f"compensation {program_id}"]


def assert_paid_exactly_once(desk: Desk, program_id: str, owed: dict[str, int], round_ids: list[str],
                             by_transfer: bool = True) -> None:
    """Every claim paid once; ledger, rounds, program and bank agree; the budget holds."""
    total = sum(owed.values())
    for claim_id, amount in owed.items():
        claim = desk.claim(claim_id)
        assert (claim["status"], claim["payout_krw"]) == ("paid", amount), claim
        assert claim["round_id"] in round_ids
        assert [event["status"] for event in claim["history"]].count("paid") == 1, claim["history"]

    entries = desk.ledger(program_id)
    assert sorted(e["claim_id"] for e in entries) == sorted(owed), "one ledger entry per paid claim"
    assert {e["entry_id"] for e in entries} == {ledger_entry_id(c) for c in owed}
    assert {e["claim_id"]: e["amount_krw"] for e in entries} == owed
    assert sum(e["amount_krw"] for e in entries) == total

    rounds = [desk.round(round_id) for round_id in round_ids]
    for view in rounds:
        assert view["status"] == "paid", view
        assert view["paid_count"] == view["claim_count"], view
        assert view["paid_krw"] == view["total_krw"], view
        assert view["failed_count"] == 0, view
    assert sum(v["claim_count"] for v in rounds) == len(owed)
    assert sum(v["total_krw"] for v in rounds) == total == sum(v["paid_krw"] for v in rounds)

    program = desk.ok(200, "get", f"/programs/{program_id}")
    assert program["counts"]["approved_krw"] == total
    assert (program["paid_count"], program["paid_krw"]) == (len(owed), total)
    assert program["paid_krw"] <= program["budget_krw"]

    sent = transfers_of(program_id)
    if by_transfer:
        assert sorted(t.idempotency_key for t in sent) == sorted(ledger_entry_id(c) for c in owed), \
            "one bank transfer per claim"
        transfer_ids = {t.idempotency_key: t.transfer_id for t in sent}
        assert {e["entry_id"]: e["transfer_id"] for e in entries} == transfer_ids
        assert {t.idempotency_key: int(t.amount_krw) for t in sent} == {ledger_entry_id(c): a for c, a in owed.items()}
        assert {e["method"] for e in entries} == {"transfer"}
    else:
        assert sent == []
        assert {(e["method"], e["transfer_id"]) for e in entries} == {("wallet", None)}


def paid_notices(messages: list[dict]) -> list[dict]:
    return [m for m in messages if m["kind"] == "compensation_paid"]


# --- cutting rounds ---------------------------------------------------------------------------------------

def test_a_round_takes_approved_unpaid_claims_in_filing_then_review_order_and_the_next_round_the_rest(desk):
    program_id = desk.program()
    first = desk.file(program_id, 100_000)
    desk.clock.advance(seconds=1)
    second = desk.file(program_id, 400_000)
    desk.clock.advance(seconds=1)
    same_moment = [desk.file(program_id, 200_000), desk.file(program_id, 800_000)]   # filed in the same instant
    desk.clock.advance(seconds=1)
    rejected, pending = desk.file(program_id, 100_000), desk.file(program_id, 100_000)
    desk.clock.advance(seconds=1)
    # reviewed out of filing order: of the two filed together, the later one is reviewed first
    desk.approve(same_moment[1], 800_000)
    desk.clock.advance(seconds=1)
    desk.approve(second, 400_000)
    desk.clock.advance(seconds=1)
    desk.approve(same_moment[0], 200_000)
    desk.clock.advance(seconds=1)
    desk.approve(first, 100_000)
    desk.ok(200, "post", f"/claims/{rejected}/review", body={"decision": "reject", "reason": "no loss shown"})
    expected_order = [first, second, same_moment[1], same_moment[0]]

    one = desk.new_round(program_id, max_claims=3)
    assert (one["claim_count"], one["total_krw"]) == (3, 30_000 + 50_000 + 600_000)
    assert [c for c in expected_order if desk.claim(c)["round_id"] == one["round_id"]] == expected_order[:3]

    two = desk.new_round(program_id)
    assert (two["claim_count"], two["total_krw"]) == (1, 30_000)
    assert desk.claim(expected_order[3])["round_id"] == two["round_id"]
    for claim_id in (rejected, pending):
        assert desk.claim(claim_id)["round_id"] is None

    nothing = desk.api("post", "/payouts", ADMIN, {"program_id": program_id})
    assert nothing.status_code == 409, nothing.body
    assert nothing.json_body["error"]["code"] == "conflict"

    report = desk.ok(200, "get", f"/programs/{program_id}/report")
    assert [(r["round_id"], r["status"], r["claim_count"]) for r in report["rounds"]] == [
        (one["round_id"], "pending_approval", 3), (two["round_id"], "pending_approval", 1)]


def test_a_program_with_nothing_to_pay_unknown_ids_and_bad_requests(desk):
    program_id = desk.program()
    desk.file(program_id, 100_000)   # submitted, not approved
    assert desk.api("post", "/payouts", ADMIN, {"program_id": program_id}).status_code == 409
    assert desk.api("post", "/payouts", ADMIN, {"program_id": "prg_nope"}).status_code == 404
    for method, path, who in [("get", "/payouts/rnd_nope", ADMIN), ("post", "/payouts/rnd_nope/approve", APPROVER),
                              ("post", "/payouts/rnd_nope/retry", ADMIN), ("get", "/programs/prg_nope/report", ADMIN)]:
        response = desk.api(method, path, who)
        assert response.status_code == 404, (path, response.body)
        assert response.json_body["error"]["code"] == "not_found"
    for body in ({}, {"program_id": program_id, "max_claims": 0}, {"program_id": program_id, "max_claims": 10_001}):
        assert desk.api("post", "/payouts", ADMIN, body).status_code == 400, body
    assert desk.api("get", "/ledger", ADMIN).status_code == 400           # program_id is required
    business = ("business", "biz-01")
    assert desk.api("post", "/payouts", business, {"program_id": program_id}).status_code == 403
    assert desk.api("get", f"/ledger?program_id={program_id}", business).status_code == 403
    assert desk.api("get", f"/programs/{program_id}/report", business).status_code == 403
    assert desk.api("post", "/payouts", None, {"program_id": program_id}).status_code == 401
    assert desk.ok(200, "get", f"/programs/{program_id}/report")["rounds"] == []


def test_a_round_needs_a_second_admin_with_the_approver_claim_and_is_approved_once(desk):
    program_id = desk.program()
    desk.approved_claims(program_id, [100_000])
    round_id = desk.new_round(program_id)["round_id"]
    assert desk.api("post", f"/payouts/{round_id}/retry", ADMIN).status_code == 409     # not approved yet

    for who in (CREATOR_WITH_CLAIM, PLAIN_ADMIN, ("business", "biz-01")):
        refused = desk.api("post", f"/payouts/{round_id}/approve", who)
        assert refused.status_code == 403, (who, refused.body)
        assert desk.round(round_id)["status"] == "pending_approval"

    approved = desk.approve_round(round_id)
    assert (approved["status"], approved["approved_by"]) == ("paying", "ops-2")
    assert approved["approved_at"] == iso(desk.clock.now())
    twice = desk.api("post", f"/payouts/{round_id}/approve", APPROVER)
    assert twice.status_code == 409, twice.body
    assert desk.api("post", f"/payouts/{round_id}/approve", ("admin", "ops-4", {"approver": True})).status_code == 409
    assert desk.round(round_id)["approved_by"] == "ops-2"


# --- paying -----------------------------------------------------------------------------------------------

def test_an_approved_round_is_paid_through_the_queue_once_with_ledger_report_audit_and_notices(desk, inbox):
    program_id = desk.program()
    owed = desk.approved_claims(program_id)
    desk.ok(200, "post", f"/claims/{desk.file(program_id, 90_000)}/review",
            body={"decision": "reject", "reason": "duplicate"})
    desk.file(program_id, 90_000)                                       # still pending
    cut = desk.new_round(program_id)
    round_id = cut["round_id"]
    assert (cut["claim_count"], cut["total_krw"], cut["paid_count"], cut["paid_krw"]) == (5, sum(owed.values()), 0, 0)
    inbox()                                                              # what the reviews sent

    desk.approve_round(round_id)
    assert desk.drain() == 1
    paid = desk.round(round_id)
    assert paid["status"] == "paid"
    assert (paid["paid_count"], paid["paid_krw"]) == (paid["claim_count"], paid["total_krw"]) == (5, 740_000)
    assert paid["paid_at"] == iso(desk.clock.now())
    assert_paid_exactly_once(desk, program_id, owed, [round_id])

    messages = inbox()
    notices = paid_notices(messages)
    assert sorted(m["claim_id"] for m in notices) == sorted(owed), "one notice per paid claim"
    assert all(m["amount_krw"] == owed[m["claim_id"]] for m in notices)
    assert {m["attributes"]["payee"] for m in notices} == {desk.claim(c)["payee_id"] for c in owed}
    assert [m["round_id"] for m in messages if m["kind"] == "payout_round_approved"] == [round_id]
    assert [(m["round_id"], m["paid_krw"]) for m in messages if m["kind"] == "payout_round_paid"] == [
        (round_id, 740_000)]

    report = desk.ok(200, "get", f"/programs/{program_id}/report")
    assert {key: report[key] for key in ("claims_filed", "approved", "rejected", "pending", "paid_count", "paid_krw",
                                         "budget_krw")} == {
        "claims_filed": 7, "approved": 5, "rejected": 1, "pending": 1, "paid_count": 5, "paid_krw": 740_000,
        "budget_krw": BUDGET_KRW}
    assert report["budget_left_krw"] == BUDGET_KRW - 740_000
    assert report["by_tier"] == {
        "up_to_300000": {"approved": 3, "approved_krw": 90_000, "paid": 3, "paid_krw": 90_000},
        "up_to_500000": {"approved": 1, "approved_krw": 50_000, "paid": 1, "paid_krw": 50_000},
        "individual": {"approved": 1, "approved_krw": 600_000, "paid": 1, "paid_krw": 600_000}}
    (in_report,) = report["rounds"]
    assert {k: in_report[k] for k in ("round_id", "status", "claim_count", "paid_count", "total_krw", "paid_krw")} == {
        "round_id": round_id, "status": "paid", "claim_count": 5, "paid_count": 5, "total_krw": 740_000,
        "paid_krw": 740_000}

    page = desk.api("get", f"/programs/{program_id}/report?format=html", ADMIN)
    assert page.status_code == 200
    assert page.headers["Content-Type"].startswith("text/html")
    html = page.body.decode()
    assert html.count("<svg") == 2
    per_round, per_tier = html.split("<svg")[1:]
    assert per_round.split("</svg>")[0].count("<rect") == 1
    assert per_tier.split("</svg>")[0].count("<rect") == 3
    assert "740,000" in html
    assert "Pangyo fire: business_claims" in html

    audit = desk.ok(200, "get", "/audit?limit=200")["items"]
    actions = [(e["actor"], e["action"], e["target"]) for e in audit if "payout" in e["action"]]
    assert actions == [("ops-1", "POST /payouts", f"round_id={round_id}"),
                       ("ops-2", "POST /payouts/{round_id}/approve", f"round_id={round_id}"),
                       ("payout-worker", "payout round paid", f"round_id={round_id}")]
    assert [e["detail"] for e in audit if e["action"] == "payout round paid"] == [{"paid_krw": 740_000, "claims": 5}]

    # the same message delivered again, after success, changes nothing
    for chunk_no in range(paid["chunk_count"]):
        service.pay_chunk({"round_id": round_id, "chunk_no": chunk_no})
    assert desk.round(round_id) == paid
    assert_paid_exactly_once(desk, program_id, owed, [round_id])
    assert paid_notices(inbox()) == []
    assert len(desk.ok(200, "get", "/audit?limit=200")["items"]) == len(audit)


def test_message_cash_is_paid_into_wallets_once(desk, small_chunks):
    program_id = desk.program("message_cash", budget_krw=10 * CASH_KRW)
    owed = desk.cash_claims(program_id, 3)
    payees = [desk.claim(c)["payee_id"] for c in owed]
    outsider = desk.business()
    round_view = desk.pay(program_id)
    assert round_view["chunk_count"] == 2
    assert_paid_exactly_once(desk, program_id, owed, [round_view["round_id"]], by_transfer=False)
    for payee in payees:
        assert desk.ok(200, "get", "/me/wallet", ("business", payee)) == {"payee_id": payee, "balance_krw": CASH_KRW}
    assert desk.ok(200, "get", "/me/wallet", outsider)["balance_krw"] == 0

    for chunk_no in range(2):
        service.pay_chunk({"round_id": round_view["round_id"], "chunk_no": chunk_no})
    assert [int(Wallet.get(Wallet.owner_of("business", p)).balance_krw) for p in payees] == [CASH_KRW] * 3
    report = desk.ok(200, "get", f"/programs/{program_id}/report")
    assert report["by_tier"] == {"message_cash": {"approved": 3, "approved_krw": 3 * CASH_KRW, "paid": 3,
                                                  "paid_krw": 3 * CASH_KRW}}


def test_an_idempotency_key_makes_a_retried_round_the_same_round(desk):
    program_id = desk.program()
    desk.approved_claims(program_id, [100_000, 100_000, 400_000])
    key = {"Idempotency-Key": "cut-round-1"}
    first = desk.new_round(program_id, max_claims=2, headers=key)
    again = desk.new_round(program_id, max_claims=2, headers=key)
    assert again == first
    assert len(desk.ok(200, "get", f"/programs/{program_id}/report")["rounds"]) == 1

    other_body = desk.api("post", "/payouts", ADMIN, {"program_id": program_id, "max_claims": 1}, key)
    assert other_body.status_code == 409, other_body.body
    rest = desk.new_round(program_id, headers={"Idempotency-Key": "cut-round-2"})
    assert (rest["claim_count"], rest["total_krw"]) == (1, 50_000)
    assert [r["round_id"] for r in desk.ok(200, "get", f"/programs/{program_id}/report")["rounds"]] == [
        first["round_id"], rest["round_id"]]


def test_rounds_of_one_program_leave_other_programs_alone(desk):
    one, other = desk.program(), desk.program()
    owed_one, owed_other = desk.approved_claims(one, [100_000, 200_000]), desk.approved_claims(other, [450_000])
    paid = desk.pay(one)
    assert paid["claim_count"] == 2
    assert_paid_exactly_once(desk, one, owed_one, [paid["round_id"]])
    assert desk.ledger(other) == []
    (claim_id,) = owed_other
    assert desk.claim(claim_id)["status"] == "approved"
    assert desk.new_round(other)["total_krw"] == 50_000


def test_a_round_whose_creation_failed_gives_its_claims_back_in_their_order(desk, small_chunks, monkeypatch):
    program_id = desk.program()
    owed = desk.approved_claims(program_id)
    take, taken = compensation.take_into_round_in, []

    def failing_take(tx, claim, round_id, now):
        taken.append(claim.claim_id)
        if len(taken) == 3:                           # the second chunk: the first is written already
            raise RuntimeError("DynamoDB went away")
        take(tx, claim, round_id, now)

    monkeypatch.setattr(compensation, "take_into_round_in", failing_take)
    assert desk.api("post", "/payouts", ADMIN, {"program_id": program_id}).status_code == 500
    monkeypatch.setattr(compensation, "take_into_round_in", take)
    assert {desk.claim(c)["round_id"] for c in owed} == {None}
    assert desk.ok(200, "get", f"/programs/{program_id}/report")["rounds"] == []

    first_two = desk.new_round(program_id, max_claims=2)
    assert [c for c in owed if desk.claim(c)["round_id"] == first_two["round_id"]] == list(owed)[:2]
    rest = desk.new_round(program_id)
    assert rest["claim_count"] == 3
    for round_id in (first_two["round_id"], rest["round_id"]):
        desk.approve_round(round_id)
    desk.drain()
    assert_paid_exactly_once(desk, program_id, owed, [first_two["round_id"], rest["round_id"]])


class Died(BaseException):
    """The process running the request died (not an error the code could catch and clean up after)."""


def test_a_round_whose_creator_died_midway_is_settled_before_the_next_round(desk, small_chunks, monkeypatch):
    program_id = desk.program()
    owed = desk.approved_claims(program_id)
    take, taken = compensation.take_into_round_in, []

    def dying_take(tx, claim, round_id, now):
        taken.append(claim.claim_id)
        if len(taken) == 3:
            raise Died
        take(tx, claim, round_id, now)

    monkeypatch.setattr(compensation, "take_into_round_in", dying_take)
    with pytest.raises(Died):
        service.create_round(Caller("ops-1", "admin"), RoundIn(program_id=program_id), None, desk.clock.now())
    monkeypatch.setattr(compensation, "take_into_round_in", take)
    (half_made,) = PayoutRound.scan()
    assert half_made.status == "creating"

    busy = desk.api("post", "/payouts", ADMIN, {"program_id": program_id})
    assert busy.status_code == 409, busy.body                 # it may still be working on it
    desk.clock.advance(minutes=6)
    rest = desk.new_round(program_id)
    settled = desk.round(half_made.round_id)
    assert (settled["status"], settled["claim_count"]) == ("pending_approval", 2)
    assert settled["total_krw"] == sum(list(owed.values())[:2])
    assert (rest["claim_count"], rest["total_krw"]) == (3, sum(list(owed.values())[2:]))
    for round_id in (half_made.round_id, rest["round_id"]):
        desk.approve_round(round_id)
    desk.drain()
    assert_paid_exactly_once(desk, program_id, owed, [half_made.round_id, rest["round_id"]])


# --- the worker failing, and its messages coming back ----------------------------------------------------

class Fault:
    """Stands in for a function: fails `times` times (where `when` says), before or after calling through."""

    def __init__(self, original, error: Exception | None = None, after: bool = False, times: int = 1, when=None):
        self.original, self.after, self.left, self.when = original, after, times, when
        self.error = error or RuntimeError("the worker crashed")
        self.calls = 0

    def __call__(self, *args, **kwargs):
        self.calls += 1
        hit = self.left > 0 and (self.when is None or self.when(*args, **kwargs))
        if hit:
            self.left -= 1
            if not self.after:
                raise self.error
        result = self.original(*args, **kwargs)
        if hit:
            raise self.error
        return result


class FlakyBank(LocalTransferProvider):
    """The local provider, which can crash after a transfer went through, or refuse some payees."""

    def __init__(self, crash_after: int = 0, error: Exception | None = None):
        self.crash_after, self.error = crash_after, error or ConnectionResetError("the bank's answer was lost")
        self.refused: set[str] = set()
        self.answers: dict[str, list[str]] = {}

    def transfer(self, idempotency_key, payee_id, amount_krw, memo, now):
        if payee_id in self.refused:
            raise TransferFailed(f"the bank refused the account of {payee_id}")
        transfer_id = super().transfer(idempotency_key, payee_id, amount_krw, memo, now)
        self.answers.setdefault(idempotency_key, []).append(transfer_id)
        if self.crash_after:
            self.crash_after -= 1
            raise self.error
        return transfer_id


@pytest.fixture
def bank(monkeypatch) -> FlakyBank:
    flaky = FlakyBank()
    monkeypatch.setattr(paying, "provider", lambda: flaky)
    return flaky


@pytest.fixture
def approved_round(desk, small_chunks) -> tuple[str, dict[str, int], str]:
    """(program id, claim id -> payout, round id) of five approved claims in three chunks, queued for payment."""
    program_id = desk.program()
    owed = desk.approved_claims(program_id)
    round_id = desk.new_round(program_id)["round_id"]
    assert desk.round(round_id)["chunk_count"] == 3
    desk.approve_round(round_id)
    return program_id, owed, round_id


@pytest.mark.usefixtures("redeliver_at_once")
def test_a_worker_failing_before_the_transaction_pays_everything_once_on_redelivery(
        desk, approved_round, bank, monkeypatch):
    program_id, owed, round_id = approved_round
    fault = Fault(paying._commit)
    monkeypatch.setattr(paying, "_commit", fault)
    assert desk.drain() == 4          # three chunks, one of them twice
    assert fault.left == 0
    assert_paid_exactly_once(desk, program_id, owed, [round_id])
    assert max(len(ids) for ids in bank.answers.values()) == 2, "the failed chunk asked the bank again"
    assert all(len(set(ids)) == 1 for ids in bank.answers.values()), "asking again returned the same transfer"


@pytest.mark.usefixtures("redeliver_at_once")
@pytest.mark.parametrize("error", [ConnectionResetError("the bank's answer was lost"),
                                   TransferFailed("the bank timed out")], ids=["crash", "transfer-failed"])
def test_a_worker_failing_after_the_bank_sent_the_money_does_not_send_it_twice(desk, approved_round, bank, error):
    program_id, owed, round_id = approved_round
    bank.crash_after, bank.error = 1, error
    desk.drain()
    assert bank.crash_after == 0
    (asked_twice,) = [key for key, ids in bank.answers.items() if len(ids) > 1]
    assert len(set(bank.answers[asked_twice])) == 1, "the retry got the transfer id of the first call"
    assert_paid_exactly_once(desk, program_id, owed, [round_id])
    assert sum(1 for _ in Transfer.scan()) == len(owed)


@pytest.mark.usefixtures("redeliver_at_once")
@pytest.mark.parametrize("step", ["_tell_payees", "_note_failures"])
def test_a_worker_failing_after_the_transaction_pays_nothing_twice(desk, approved_round, bank, monkeypatch, step):
    program_id, owed, round_id = approved_round
    fault = Fault(getattr(paying, step), after=step == "_note_failures")
    monkeypatch.setattr(paying, step, fault)
    desk.drain()
    assert fault.left == 0
    assert_paid_exactly_once(desk, program_id, owed, [round_id])
    assert all(len(set(ids)) == 1 for ids in bank.answers.values())


@pytest.mark.usefixtures("redeliver_at_once")
def test_a_payee_is_told_of_a_payment_even_when_the_worker_crashed_after_paying(
        desk, approved_round, bank, monkeypatch, inbox):
    """SQS delivers at least once: a crash between the payment and the notice must not lose the notice."""
    program_id, owed, round_id = approved_round
    monkeypatch.setattr(paying, "_tell_payees", Fault(paying._tell_payees))
    desk.drain()
    assert_paid_exactly_once(desk, program_id, owed, [round_id])
    assert sorted({m["claim_id"] for m in paid_notices(inbox())}) == sorted(owed)


@pytest.mark.usefixtures("keep_failures_back")
def test_a_chunk_failing_between_others_is_paid_when_its_message_comes_back(desk, approved_round, bank, monkeypatch):
    program_id, owed, round_id = approved_round
    fault = Fault(paying._commit, when=lambda record, chunk, *rest: int(chunk.chunk_no) == 1)
    monkeypatch.setattr(paying, "_commit", fault)
    desk.drain()
    assert fault.left == 0
    second_chunk = list(RoundChunk.get(round_id, 1).claim_ids)
    halfway = desk.round(round_id)
    assert (halfway["status"], halfway["paid_count"]) == ("paying", 3)
    assert halfway["paid_krw"] == sum(a for c, a in owed.items() if c not in second_chunk)
    assert sorted(e["claim_id"] for e in desk.ledger(program_id)) == sorted(c for c in owed if c not in second_chunk)
    assert {desk.claim(c)["status"] for c in second_chunk} == {"approved"}

    service.pay_chunk({"round_id": round_id, "chunk_no": 0})           # a paid chunk's message, again
    assert desk.round(round_id) == halfway

    service.pay_chunk({"round_id": round_id, "chunk_no": 1})           # the failed one comes back
    assert_paid_exactly_once(desk, program_id, owed, [round_id])
    done = desk.round(round_id)
    for chunk_no in range(3):
        service.pay_chunk({"round_id": round_id, "chunk_no": chunk_no})
    assert desk.round(round_id) == done
    assert_paid_exactly_once(desk, program_id, owed, [round_id])
    audit = desk.ok(200, "get", "/audit?limit=200")["items"]
    assert [e["target"] for e in audit if e["action"] == "payout round paid"] == [f"round_id={round_id}"]


@pytest.mark.usefixtures("keep_failures_back")
def test_a_payee_the_bank_keeps_refusing_is_paid_after_the_fix_and_a_retry(desk, approved_round, bank):
    program_id, owed, round_id = approved_round
    refused_claim = list(owed)[2]
    refused_payee = desk.claim(refused_claim)["payee_id"]
    bank.refused.add(refused_payee)
    desk.drain()

    stuck = desk.round(round_id)
    assert stuck["status"] == "paying"
    assert (stuck["paid_count"], stuck["failed_count"]) == (4, 1)
    assert stuck["paid_krw"] == sum(owed.values()) - owed[refused_claim]
    assert refused_payee in stuck["last_error"]
    assert desk.claim(refused_claim)["status"] == "approved"
    assert refused_claim not in {e["claim_id"] for e in desk.ledger(program_id)}
    assert desk.ok(200, "get", f"/programs/{program_id}/report")["rounds"][0]["failed_count"] == 1

    bank.refused.clear()
    retried = desk.ok(202, "post", f"/payouts/{round_id}/retry")
    assert retried["queued_chunks"] == 1
    desk.drain()
    assert_paid_exactly_once(desk, program_id, owed, [round_id])
    assert desk.api("post", f"/payouts/{round_id}/retry", ADMIN).status_code == 409   # paid: nothing to retry


@pytest.mark.usefixtures("redeliver_at_once")
def test_a_round_whose_workers_kept_failing_to_mark_it_paid_is_finished_by_a_retry(desk, approved_round, bank, aws,
                                                                                  monkeypatch):
    """Every claim got paid, but marking the round paid kept failing until SQS dead-lettered the chunks' messages.
    After the fix, the operator's retry must finish the round: a round is paid when every claim in it is."""
    program_id, owed, round_id = approved_round
    broken = Fault(paying._finish_if_paid, RuntimeError("throttled"), times=1_000)
    monkeypatch.setattr(paying, "_finish_if_paid", broken)
    desk.drain()
    sqs = boto3.client("sqs", region_name=cloud.REGION)
    dead = sqs.get_queue_attributes(QueueUrl=aws["WORK_DLQ_URL"], AttributeNames=["ApproximateNumberOfMessages"])
    assert dead["Attributes"]["ApproximateNumberOfMessages"] == "3"
    stuck = desk.round(round_id)
    assert (stuck["status"], stuck["paid_count"], stuck["paid_krw"]) == ("paying", 5, stuck["total_krw"])

    monkeypatch.setattr(paying, "_finish_if_paid", broken.original)
    desk.ok(202, "post", f"/payouts/{round_id}/retry")
    desk.drain()
    assert_paid_exactly_once(desk, program_id, owed, [round_id])


# --- two workers at once ----------------------------------------------------------------------------------

def pay_when(start: threading.Event, payload: dict) -> None:
    """The work queue's worker for one message, taking it when `start` is set."""
    start.wait()
    pay_round_chunk(payload)


# Last in the module: `moto_server` (conftest.py) is module-scoped and points AWS at itself until the module ends.
# Each thread plays a separate Lambda invocation against that server, which serves one request at a time because
# moto's threaded transactions are not atomic (DynamoDB's are): the races left are the app's own.
def test_two_workers_paying_the_same_chunks_at_once_pay_each_claim_once(moto_server, small_chunks, monkeypatch):
    admin, approver = Caller("ops-1", "admin"), Caller("ops-2", "admin", approver=True)
    now = datetime.now(UTC)
    outages.register_component(ComponentIn(name="api", heartbeat_timeout_s=60), now)
    incident_id = outages.declare_incident(admin, IncidentIn(components=["api"], started_at=now - timedelta(hours=1),
                                                             summary="Fire"), now)["incident_id"]
    intake = {"intake_opens_at": iso(now - timedelta(minutes=5)), "intake_closes_at": iso(now + timedelta(days=1))}
    damage = compensation.create_program(admin, ProgramIn(name="damage", incident_id=incident_id,
                                                          kind="business_claims",
                                                          params={**intake, "budget_krw": 5 * BUDGET_KRW}),
                                         now)["program_id"]
    cash = compensation.create_program(admin, ProgramIn(name="cash", incident_id=incident_id, kind="message_cash",
                                                        params={"amount_krw": CASH_KRW, "budget_krw": BUDGET_KRW}),
                                       now)["program_id"]
    # the first time the workers race as they will; then both workers of a chunk meet just before committing,
    # so both have read the claims as due and sent the transfers, and exactly one of them loses
    meet_before_committing, lost_races, guard = {"on": False}, [], threading.Lock()
    meetings: dict[tuple[str, int], threading.Barrier] = {}
    commit = paying._commit

    def racing_commit(record, chunk, *rest):
        if meet_before_committing["on"]:
            with guard:
                meeting = meetings.setdefault((record.round_id, int(chunk.chunk_no)), threading.Barrier(2, timeout=30))
            meeting.wait()
        try:
            return commit(record, chunk, *rest)
        except TransactWriteError:
            with guard:
                lost_races.append((record.round_id, int(chunk.chunk_no)))
            raise

    monkeypatch.setattr(paying, "_commit", racing_commit)
    owed: dict[str, dict[str, int]] = {damage: {}, cash: {}}
    rounds: dict[str, list[str]] = {damage: [], cash: []}

    for attempt in range(3):
        payloads = []
        for program_id in (damage, cash):
            for n in range(4):
                business = Caller(f"biz-{attempt}-{n}", "business")
                loss = LOSSES[n] if program_id == damage else None
                filed = compensation.file_claim(business, program_id, ClaimIn(
                    business_id=business.sub, business_name="Shop", loss_krw=loss, channel="web"), None,
                    datetime.now(UTC))
                if program_id == damage:
                    compensation.review(admin, filed["claim_id"], ReviewIn(
                        decision="approve", amount_krw=payout_for(loss) if loss > 500_000 else None), datetime.now(UTC))
                owed[program_id][filed["claim_id"]] = payout_for(loss) if loss else CASH_KRW
            cut = service.create_round(admin, RoundIn(program_id=program_id), None, datetime.now(UTC))
            assert cut["chunk_count"] == 2
            service.approve_round(approver, cut["round_id"], datetime.now(UTC))
            rounds[program_id].append(cut["round_id"])
            payloads += [{"round_id": cut["round_id"], "chunk_no": n} for n in range(2)]

        meet_before_committing["on"] = attempt > 0
        start = threading.Event()
        with ThreadPoolExecutor(2 * len(payloads)) as pool:
            futures = [pool.submit(pay_when, start, payload) for payload in payloads for _ in range(2)]  # twice each
            start.set()
            for future in futures:
                future.result()

        for program_id in (damage, cash):
            entries = list(LedgerEntry.by_program.query(program_id))
            assert sorted(e.claim_id for e in entries) == sorted(owed[program_id]), "one ledger entry per claim"
            assert {e.claim_id: int(e.amount_krw) for e in entries} == owed[program_id]
            views = [PayoutRound.get(r) for r in rounds[program_id]]
            assert {(v.status, int(v.paid_count)) for v in views} == {("paid", 4)}
            assert sum(int(v.paid_krw) for v in views) == sum(owed[program_id].values())
            program = compensation.program_of(program_id)
            assert (int(program.paid_count), int(program.paid_krw)) == (
                len(owed[program_id]), sum(owed[program_id].values()))
            assert int(program.paid_krw) <= int(program.budget_krw)
            for claim in compensation.claims_by_ids(list(owed[program_id])):
                assert claim.status == "paid"
                assert [e.status for e in claim.history].count("paid") == 1
        sent = {t.idempotency_key: t for t in Transfer.scan()}
        assert sorted(sent) == sorted(ledger_entry_id(c) for c in owed[damage]), "one transfer per damage claim"
        assert {e.entry_id: e.transfer_id for e in LedgerEntry.by_program.query(damage)} == {
            key: t.transfer_id for key, t in sent.items()}
        assert {w.owner: int(w.balance_krw) for w in Wallet.scan()} == {
            Wallet.owner_of("business", compensation.claim_of(c).payee_id): CASH_KRW for c in owed[cash]}

    forced = [race for race in lost_races if race in meetings]
    assert sorted(forced) == sorted(meetings), "of each pair made to meet, exactly one worker lost"
    assert len(meetings) == 2 * 2 * 2   # two forced attempts, two rounds each, two chunks each

    days = sorted({now.date(), datetime.now(UTC).date()})
    finished = [e.target for day in days for e in actions_on(datetime(day.year, day.month, day.day, tzinfo=UTC))
                if e.action == "payout round paid"]
    assert sorted(finished) == sorted(f"round_id={r}" for r in rounds[damage] + rounds[cash])
