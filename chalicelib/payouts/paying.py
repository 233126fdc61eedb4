"""Paying an approved round: queue workers pay each chunk of claims once; an admin re-queues what failed.

Paying a chunk of claims is one DynamoDB transaction: each claim approved -> paid (conditional), one ledger
entry per claim keyed by the claim (conditional), payees' wallets, the round's and the program's counters
(the program's conditional on its budget). Money that leaves the platform goes through the transfer
provider first, keyed by the ledger entry id, so a crash and a retry send it once.
"""

from datetime import datetime

from pynamodb.exceptions import TransactWriteError

from chalicelib.compensation import service as compensation
from chalicelib.core import audit
from chalicelib.core.auth import Caller
from chalicelib.core.clock import now as clock_now
from chalicelib.core.dynamo import failed_on_condition, transaction
from chalicelib.core.errors import Conflict
from chalicelib.core.notify import notify, notify_each
from chalicelib.core.observability import count, logger
from chalicelib.core.tasks import enqueue
from chalicelib.payouts import rules
from chalicelib.payouts.models import LedgerEntry, PayoutRound, RoundChunk, Wallet
from chalicelib.payouts.rounds import TASK, load_round, view_round
from chalicelib.payouts.rules import RoundStatus
from chalicelib.payouts.transfers import TransferFailed, provider

ATTEMPTS = 3


class PaymentsFailed(Exception):
    """Some claims of a chunk could not be paid; the message goes back to the queue to try again."""


def pay_chunk(payload: dict) -> None:
    """The queue task: pay the unpaid claims of one chunk. Safe to run twice, or at once on two workers."""
    round_id, chunk_no, now = payload["round_id"], int(payload["chunk_no"]), clock_now()
    record = load_round(round_id)
    if record.status not in rules.PAYABLE:
        raise PaymentsFailed(f"round {round_id} is {record.status}, not approved for payment")
    chunk = RoundChunk.get(round_id, chunk_no, consistent_read=True)
    if record.status == RoundStatus.PAID:
        _tell_payees(round_id, list(chunk.claim_ids), now)  # a notice lost to a crash after paying
        return
    failed = _pay_due(record, chunk, now)
    _tell_payees(round_id, list(chunk.claim_ids), now)
    _note_failures(record, failed, chunk.claim_ids)
    _finish_if_paid(record, now)
    if failed:
        raise PaymentsFailed(f"{len(failed)} payments of chunk {chunk_no} failed: {next(iter(failed.values()))}")


def retry_round(admin: Caller, round_id: str) -> dict:
    """Queue again the chunks of a paying round that still have unpaid claims (after failures)."""
    record = load_round(round_id)
    if record.status != RoundStatus.PAYING:
        raise Conflict(f"the round is {record.status}: nothing to retry")
    unfinished = [c.chunk_no for c in RoundChunk.query(round_id) if int(c.paid_count) < len(c.claim_ids)]
    if unfinished:
        enqueue(TASK, [{"round_id": round_id, "chunk_no": int(n)} for n in unfinished])
    else:
        _finish_if_paid(record, clock_now())  # every claim is paid; only marking the round was lost
        record = load_round(round_id)
    return {**view_round(record), "queued_chunks": len(unfinished)}


def _pay_due(record: PayoutRound, chunk: RoundChunk, now: datetime) -> dict[str, str]:
    """Pay the chunk's claims still due, re-reading them when another worker won a race: {claim: error}."""
    program = compensation.program_of(record.program_id)
    for _ in range(ATTEMPTS):
        due = [c for c in compensation.claims_by_ids(list(chunk.claim_ids))
               if c.status == "approved" and c.round_id == record.round_id]
        transfers, failed = _send_transfers(due, now)
        payable = [c for c in due if c.claim_id not in failed]
        try:
            if payable:
                _commit(record, chunk, program, payable, transfers, now)
            return failed
        except TransactWriteError as exc:
            if not failed_on_condition(exc):
                raise
            logger.info("chunk raced another worker; re-reading", extra={
                "round_id": record.round_id, "chunk": int(chunk.chunk_no),
                "reasons": [r and r.code for r in getattr(exc, "cancellation_reasons", None) or []]})
    raise PaymentsFailed(f"chunk {int(chunk.chunk_no)} of {record.round_id} kept losing races")


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
        record.update(condition=(PayoutRound.status == RoundStatus.PAYING)
                      & (PayoutRound.paid_count >= PayoutRound.claim_count),
                      actions=[PayoutRound.status.set(rules.next_status(record.status, "finish")),
                               PayoutRound.paid_at.set(now)])
    except Exception as exc:
        if failed_on_condition(exc):
            return  # claims left to pay, or another worker finished it
        raise
    audit.record_action("payout-worker", "service", "payout round paid", target=f"round_id={record.round_id}",
                        detail={"paid_krw": int(record.paid_krw), "claims": int(record.paid_count)}, at=now)
    notify("payout_round_paid", {"round_id": record.round_id, "program_id": record.program_id,
                                 "paid_krw": int(record.paid_krw)})

