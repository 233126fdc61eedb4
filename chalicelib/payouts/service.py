"""Payout rounds: an admin cuts a round, a second admin approves it, queue workers pay each claim once.

Paying a chunk of claims is one DynamoDB transaction: each claim approved -> paid (conditional), one ledger
entry per claim keyed by the claim (conditional), payees' wallets, the round's and the program's counters
(the program's conditional on its budget). Money that leaves the platform goes through the transfer
provider first, keyed by the ledger entry id, so a crash and a retry send it once.
"""

from datetime import datetime, timedelta

from chalice import Response
from pynamodb.exceptions import DoesNotExist, TransactWriteError

from chalicelib.compensation import service as compensation
from chalicelib.core import audit, idempotency
from chalicelib.core.auth import Caller
from chalicelib.core.clock import iso
from chalicelib.core.clock import now as clock_now
from chalicelib.core.dynamo import conflict_on_condition, failed_on_condition, get_or_404, transaction
from chalicelib.core.errors import Conflict, Forbidden
from chalicelib.core.ids import new_id
from chalicelib.core.notify import notify, notify_each
from chalicelib.core.observability import count, logger
from chalicelib.core.pagination import page_over
from chalicelib.core.tasks import enqueue
from chalicelib.payouts import rules
from chalicelib.payouts.models import LedgerEntry, PayoutRound, RoundChunk, Wallet
from chalicelib.payouts.rules import ApprovalRefused, Approver
from chalicelib.payouts.schemas import LedgerQuery, RoundIn
from chalicelib.payouts.transfers import TransferFailed, provider

TASK = "pay-round-chunk"
STALE_CREATION = timedelta(minutes=5)
ATTEMPTS = 3


class PaymentsFailed(Exception):
    """Some claims of a chunk could not be paid; the message goes back to the queue to try again."""


# --- rounds -----------------------------------------------------------------------------------------------

def create_round(admin: Caller, request: RoundIn, idempotency_key: str | None, now: datetime) -> dict:
    """Freeze the next approved, unpaid claims of a program (in no other round) into a round awaiting approval."""
    return idempotency.once_per_key(f"payouts:{admin.sub}", idempotency_key, request.model_dump(mode="json"),
                                    lambda: _create(admin, request, now))


def _create(admin: Caller, request: RoundIn, now: datetime) -> dict:
    program = compensation.program_of(request.program_id)
    _settle_stale_rounds(program.program_id, now)
    members = compensation.payable_claims(program.program_id, request.max_claims or rules.MAX_ROUND_CLAIMS)
    if not members:
        raise Conflict("nothing to pay: the program has no approved claims outside other rounds")
    groups = rules.chunks(members)
    record = PayoutRound(new_id("rnd", now), program_id=program.program_id, status="creating",
                         claim_count=len(members), total_krw=sum(int(c.payout_krw) for c in members),
                         chunk_count=len(groups), created_by=admin.sub, created_at=now)
    record.save()
    try:
        for chunk_no, group in enumerate(groups):
            with transaction() as tx:
                tx.save(RoundChunk(record.round_id, chunk_no, claim_ids=[c.claim_id for c in group],
                                   total_krw=sum(int(c.payout_krw) for c in group)))
                for claim in group:
                    compensation.take_into_round_in(tx, claim, record.round_id, now)
    except Exception as exc:
        _abandon(record, now)
        if isinstance(exc, TransactWriteError) and failed_on_condition(exc):
            raise Conflict("another round took some of these claims meanwhile; try again") from exc
        raise
    record.update(condition=PayoutRound.status == "creating", actions=[PayoutRound.status.set("pending_approval")])
    count("PayoutRoundsCreated")
    return view_round(record)


def approve_round(approver: Caller, round_id: str, now: datetime) -> Response:
    """A second admin with the approver claim approves the round; its chunks are queued for payment (202)."""
    record = _round(round_id)
    try:
        rules.check_approval(Approver(approver.sub, approver.approver), record.created_by, record.status)
    except ApprovalRefused as exc:
        raise (Forbidden if exc.status == 403 else Conflict)(str(exc)) from exc
    with conflict_on_condition("the round was approved meanwhile"):
        record.update(condition=PayoutRound.status == "pending_approval", actions=[
            PayoutRound.status.set("paying"), PayoutRound.approved_by.set(approver.sub),
            PayoutRound.approved_at.set(now)])
    enqueue(TASK, [{"round_id": round_id, "chunk_no": n} for n in range(int(record.chunk_count))])
    notify("payout_round_approved", {"round_id": round_id, "program_id": record.program_id,
                                     "total_krw": int(record.total_krw)})
    return Response(body=view_round(record), status_code=202, headers={"Content-Type": "application/json"})


def retry_round(admin: Caller, round_id: str) -> Response:
    """Queue again the chunks of a paying round that still have unpaid claims (after failures)."""
    record = _round(round_id)
    if record.status != "paying":
        raise Conflict(f"the round is {record.status}: nothing to retry")
    unfinished = [c.chunk_no for c in RoundChunk.query(round_id) if int(c.paid_count) < len(c.claim_ids)]
    if unfinished:
        enqueue(TASK, [{"round_id": round_id, "chunk_no": int(n)} for n in unfinished])
    else:
        _finish_if_paid(record, clock_now())  # every claim is paid; only marking the round was lost
        record = _round(round_id)
    return Response(body={**view_round(record), "queued_chunks": len(unfinished)}, status_code=202,
                    headers={"Content-Type": "application/json"})


def round_detail(round_id: str) -> dict:
    return view_round(_round(round_id))


def rounds_of(program_id: str) -> list[dict]:
    """The program's rounds, oldest first (abandoned attempts left out)."""
    return [view_round(r) for r in PayoutRound.by_program.query(program_id) if r.status != "abandoned"]


def view_round(record: PayoutRound) -> dict:
    return {"round_id": record.round_id, "program_id": record.program_id, "status": record.status,
            "claim_count": int(record.claim_count), "paid_count": int(record.paid_count),
            "failed_count": len(record.failing or ()), "total_krw": int(record.total_krw),
            "paid_krw": int(record.paid_krw), "chunk_count": int(record.chunk_count),
            "created_by": record.created_by, "created_at": iso(record.created_at),
            "approved_by": record.approved_by, "approved_at": iso(record.approved_at) if record.approved_at else None,
            "paid_at": iso(record.paid_at) if record.paid_at else None, "last_error": record.last_error}


# --- paying -----------------------------------------------------------------------------------------------

def pay_chunk(payload: dict) -> None:
    """The queue task: pay the unpaid claims of one chunk. Safe to run twice, or at once on two workers."""
    round_id, chunk_no, now = payload["round_id"], int(payload["chunk_no"]), clock_now()
    record = _round(round_id)
    if record.status not in ("paying", "paid"):
        raise PaymentsFailed(f"round {round_id} is {record.status}, not approved for payment")
    chunk = RoundChunk.get(round_id, chunk_no, consistent_read=True)
    if record.status == "paid":
        _tell_payees(round_id, list(chunk.claim_ids), now)  # a notice lost to a crash after paying
        return
    program = compensation.program_of(record.program_id)
    failed: dict[str, str] = {}
    for _ in range(ATTEMPTS):
        due = [c for c in compensation.claims_by_ids(list(chunk.claim_ids))
               if c.status == "approved" and c.round_id == round_id]
        transfers, failed = _send_transfers(due, now)
        payable = [c for c in due if c.claim_id not in failed]
        try:
            if payable:
                _commit(record, chunk, program, payable, transfers, now)
            break
        except TransactWriteError as exc:
            if not failed_on_condition(exc):
                raise
            logger.info("chunk raced another worker; re-reading", extra={
                "round_id": round_id, "chunk": chunk_no,
                "reasons": [r and r.code for r in getattr(exc, "cancellation_reasons", None) or []]})
    else:
        raise PaymentsFailed(f"chunk {chunk_no} of {round_id} kept losing races")
    _tell_payees(round_id, list(chunk.claim_ids), now)
    _note_failures(record, failed, chunk.claim_ids)
    _finish_if_paid(record, now)
    if failed:
        raise PaymentsFailed(f"{len(failed)} payments of chunk {chunk_no} failed: {next(iter(failed.values()))}")



def _send_transfers(claims: list, now: datetime) -> tuple[dict[str, str], dict[str, str]]:
    """Bank transfers for the claims paid out of the platform: ({claim: transfer id}, {claim: error})."""
    sent, failed = {}, {}
    for claim in claims:
        if rules.method_for(claim.kind) != "transfer":
            continue
        try:
            sent[claim.claim_id] = provider().transfer(rules.ledger_entry_id(claim.claim_id), claim.payee_id,
                                                       int(claim.payout_krw), f"compensation {claim.program_id}", now)
        except TransferFailed as exc:
            failed[claim.claim_id] = str(exc)
    return sent, failed


def _commit(record: PayoutRound, chunk: RoundChunk, program, claims: list, transfers: dict[str, str],
            now: datetime) -> None:
    total = sum(int(c.payout_krw) for c in claims)
    with transaction() as tx:
        for claim in claims:
            entry_id = rules.ledger_entry_id(claim.claim_id)
            compensation.pay_in(tx, claim, record.round_id, entry_id, now)
            method = rules.method_for(claim.kind)
            tx.save(LedgerEntry(claim.claim_id, entry_id=entry_id, program_id=claim.program_id,
                                round_id=record.round_id, payee_id=claim.payee_id, amount_krw=int(claim.payout_krw),
                                method=method, transfer_id=transfers.get(claim.claim_id), created_at=now),
                    condition=LedgerEntry.claim_id.does_not_exist())
            if method == "wallet":
                tx.update(Wallet(Wallet.owner_of(claim.payee_role, claim.payee_id)),
                          actions=[Wallet.balance_krw.add(int(claim.payout_krw))])
        compensation.count_paid_in(tx, program, claims, now)
        tx.update(PayoutRound(record.round_id), actions=[PayoutRound.paid_count.add(len(claims)),
                                                         PayoutRound.paid_krw.add(total)])
        tx.update(RoundChunk(record.round_id, chunk.chunk_no), actions=[RoundChunk.paid_count.add(len(claims))])
    count("ClaimsPaid", len(claims))


def _tell_payees(round_id: str, claim_ids: list[str], now: datetime) -> None:
    """Notify the payees paid in this chunk and not told yet, so a crash after paying loses no notice."""
    claims = compensation.paid_unannounced(claim_ids, round_id)
    if claims:
        notify_each("compensation_paid", [({"claim_id": c.claim_id, "program_id": c.program_id,
                                            "amount_krw": int(c.payout_krw)}, {"payee": c.payee_id}) for c in claims])
        compensation.mark_announced(claims, now)


def _note_failures(record: PayoutRound, failed: dict[str, str], chunk_claims) -> None:
    settled = set(chunk_claims) - set(failed)
    fixed = settled & set(record.failing or ())
    actions = []
    if failed:
        actions += [PayoutRound.failing.add(set(failed)), PayoutRound.last_error.set(next(iter(failed.values())))]
        count("PaymentsFailed", len(failed))
    if fixed:
        actions.append(PayoutRound.failing.delete(fixed))
    if actions:
        PayoutRound(record.round_id).update(actions=actions)


def _finish_if_paid(record: PayoutRound, now: datetime) -> None:
    try:
        record.update(condition=(PayoutRound.status == "paying") & (PayoutRound.paid_count >= PayoutRound.claim_count),
                      actions=[PayoutRound.status.set("paid"), PayoutRound.paid_at.set(now)])
    except Exception as exc:
        if failed_on_condition(exc):
            return  # claims left to pay, or another worker finished it
        raise
    audit.record_action("payout-worker", "service", "payout round paid", target=f"round_id={record.round_id}",
                        detail={"paid_krw": int(record.paid_krw), "claims": int(record.paid_count)}, at=now)
    notify("payout_round_paid", {"round_id": record.round_id, "program_id": record.program_id,
                                 "paid_krw": int(record.paid_krw)})


def _abandon(record: PayoutRound, now: datetime) -> None:
    """Creating the round failed: give its claims back to the payable queue."""
    for chunk in RoundChunk.query(record.round_id):
        for claim_id in chunk.claim_ids:
            compensation.release_from_round(claim_id, record.round_id, now)
        chunk.delete()
    record.update(actions=[PayoutRound.status.set("abandoned")])


def _settle_stale_rounds(program_id: str, now: datetime) -> None:
    """A round whose creation crashed holds the claims of the chunks it wrote: finish it from those chunks."""
    for record in PayoutRound.by_program.query(program_id, filter_condition=PayoutRound.status == "creating"):
        if record.created_at > now - STALE_CREATION:
            raise Conflict("another round of this program is being created; try again in a moment")
        chunks = list(RoundChunk.query(record.round_id, consistent_read=True))
        record.update(condition=PayoutRound.status == "creating", actions=[
            PayoutRound.status.set("pending_approval" if chunks else "abandoned"),
            PayoutRound.claim_count.set(sum(len(c.claim_ids) for c in chunks)),
            PayoutRound.total_krw.set(sum(int(c.total_krw) for c in chunks)),
            PayoutRound.chunk_count.set(len(chunks))])


def _round(round_id: str) -> PayoutRound:
    return get_or_404(PayoutRound, round_id, f"no payout round {round_id}", consistent_read=True)


# --- ledger and wallets -----------------------------------------------------------------------------------

def ledger(query: LedgerQuery) -> dict:
    """The ledger of one program, in entry order."""
    def entries(limit, last_key):
        return LedgerEntry.by_program.query(query.program_id, limit=limit, last_evaluated_key=last_key)

    items, cursor = page_over([entries], query.limit, query.cursor)
    return {"items": [view_entry(e) for e in items], "next": cursor}


def view_entry(entry: LedgerEntry) -> dict:
    return {"entry_id": entry.entry_id, "claim_id": entry.claim_id, "payee_id": entry.payee_id,
            "amount_krw": int(entry.amount_krw), "round_id": entry.round_id, "program_id": entry.program_id,
            "method": entry.method, "transfer_id": entry.transfer_id, "created_at": iso(entry.created_at)}


def wallet_of(payee: Caller) -> dict:
    """The caller's balance of credits and compensation on the platform."""
    try:
        balance = int(Wallet.get(Wallet.owner_of(payee.role, payee.sub)).balance_krw)
    except DoesNotExist:
        balance = 0
    return {"payee_id": payee.sub, "balance_krw": balance}

# --- the final report -------------------------------------------------------------------------------------

def program_report(program_id: str, now: datetime) -> dict:
    """What was filed, decided and paid, by tier and by round, against the budget."""
    program = compensation.program_detail(program_id)
    counts = program["counts"]
    budget = program["budget_krw"]
    rounds = rounds_of(program_id)
    return {"program_id": program_id, "name": program["name"], "kind": program["kind"],
            "incident_id": program["incident_id"], "window": program["window"],
            "claims_filed": counts["filed"], "approved": counts["approved"], "rejected": counts["rejected"],
            "pending": counts["pending"], "documents_requested": counts["documents_requested"],
            "approved_krw": counts["approved_krw"], "paid_count": counts["paid"], "paid_krw": counts["paid_krw"],
            "budget_krw": budget, "budget_left_krw": None if budget is None else budget - counts["paid_krw"],
            "takers": counts.get("takers"), "extensions": program["extensions"],
            "intake_closes_at": program["intake_closes_at"],
            "by_tier": {t.pop("tier"): t for t in compensation.tier_tallies(program_id)},
            "rounds": [{key: r[key] for key in ("round_id", "status", "claim_count", "paid_count", "failed_count",
                                                 "total_krw", "paid_krw", "created_at", "approved_at", "paid_at")}
                       for r in rounds],
            "generated_at": iso(now)}


def audit_log(day, limit: int, cursor: str | None) -> dict:
    """Who did what on one UTC day (payouts and every other admin action)."""
    return audit.page_of_day(day, limit, cursor)
