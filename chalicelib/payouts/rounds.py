"""Payout rounds: an admin cuts a round from a program's approved claims, a second admin approves it.

A round is cut in chunks (one transaction each) that freeze its claims; approving it queues the chunks for the
workers of `paying`. A round whose creation crashed is settled from the chunks it wrote before the next is cut.
"""

from datetime import datetime, timedelta

from chalicelib.compensation import service as compensation
from chalicelib.core import idempotency
from chalicelib.core.auth import Caller
from chalicelib.core.clock import iso
from chalicelib.core.dynamo import conflict_on_condition, get_or_404, transaction
from chalicelib.core.errors import Conflict
from chalicelib.core.ids import new_id
from chalicelib.core.notify import notify
from chalicelib.core.observability import count
from chalicelib.core.tasks import enqueue
from chalicelib.payouts import rules
from chalicelib.payouts.models import PayoutRound, RoundChunk
from chalicelib.payouts.rules import Approver, RoundStatus
from chalicelib.payouts.schemas import RoundIn

TASK = "pay-round-chunk"
STALE_CREATION = timedelta(minutes=5)
TAKEN_MEANWHILE = "another round took some of these claims meanwhile; try again"


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
    record = PayoutRound(new_id("rnd", now), program_id=program.program_id, status=RoundStatus.CREATING,
                         claim_count=len(members), total_krw=sum(int(c.payout_krw) for c in members),
                         chunk_count=len(groups), created_by=admin.sub, created_at=now)
    record.save()
    try:
        with conflict_on_condition(TAKEN_MEANWHILE):
            _freeze(record, groups, now)
    except Exception:
        _abandon(record, now)
        raise
    record.update(condition=PayoutRound.status == RoundStatus.CREATING,
                  actions=[PayoutRound.status.set(rules.next_status(record.status, "cut"))])
    count("PayoutRoundsCreated")
    return view_round(record)


def _freeze(record: PayoutRound, groups: list[list], now: datetime) -> None:
    """Write the round's chunks, each taking its claims out of the payable queue in the same transaction."""
    for chunk_no, group in enumerate(groups):
        with transaction() as tx:
            tx.save(RoundChunk(record.round_id, chunk_no, claim_ids=[c.claim_id for c in group],
                               total_krw=sum(int(c.payout_krw) for c in group)))
            for claim in group:
                compensation.take_into_round_in(tx, claim, record.round_id, now)


def approve_round(approver: Caller, round_id: str, now: datetime) -> dict:
    """A second admin with the approver claim approves the round; its chunks are queued for payment."""
    record = load_round(round_id)
    rules.check_approval(Approver(approver.sub, approver.approver), record.created_by, record.status)
    with conflict_on_condition("the round was approved meanwhile"):
        record.update(condition=PayoutRound.status == RoundStatus.PENDING_APPROVAL, actions=[
            PayoutRound.status.set(rules.next_status(record.status, "approve")),
            PayoutRound.approved_by.set(approver.sub), PayoutRound.approved_at.set(now)])
    enqueue(TASK, [{"round_id": round_id, "chunk_no": n} for n in range(int(record.chunk_count))])
    notify("payout_round_approved", {"round_id": round_id, "program_id": record.program_id,
                                     "total_krw": int(record.total_krw)})
    return view_round(record)


def round_detail(round_id: str) -> dict:
    """A round's progress: claims, paid, failed, totals."""
    return view_round(load_round(round_id))


def rounds_of(program_id: str) -> list[dict]:
    """The program's rounds, oldest first (abandoned attempts left out)."""
    return [view_round(r) for r in PayoutRound.by_program.query(program_id) if r.status != RoundStatus.ABANDONED]


def view_round(record: PayoutRound) -> dict:
    """A round as the API shows it."""
    return {"round_id": record.round_id, "program_id": record.program_id, "status": record.status,
            "claim_count": int(record.claim_count), "paid_count": int(record.paid_count),
            "failed_count": len(record.failing or ()), "total_krw": int(record.total_krw),
            "paid_krw": int(record.paid_krw), "chunk_count": int(record.chunk_count),
            "created_by": record.created_by, "created_at": iso(record.created_at),
            "approved_by": record.approved_by, "approved_at": iso(record.approved_at) if record.approved_at else None,
            "paid_at": iso(record.paid_at) if record.paid_at else None, "last_error": record.last_error}


def load_round(round_id: str) -> PayoutRound:
    """The round read consistently, or 404."""
    return get_or_404(PayoutRound, round_id, f"no payout round {round_id}", consistent_read=True)


def _abandon(record: PayoutRound, now: datetime) -> None:
    """Creating the round failed: give its claims back to the payable queue."""
    for chunk in RoundChunk.query(record.round_id):
        for claim_id in chunk.claim_ids:
            compensation.release_from_round(claim_id, record.round_id, now)
        chunk.delete()
    record.update(actions=[PayoutRound.status.set(rules.next_status(record.status, "abandon"))])


def _settle_stale_rounds(program_id: str, now: datetime) -> None:
    """A round whose creation crashed holds the claims of the chunks it wrote: finish it from those chunks."""
    for record in PayoutRound.by_program.query(program_id,
                                               filter_condition=PayoutRound.status == RoundStatus.CREATING):
        if record.created_at > now - STALE_CREATION:
            raise Conflict("another round of this program is being created; try again in a moment")
        chunks = list(RoundChunk.query(record.round_id, consistent_read=True))
        record.update(condition=PayoutRound.status == RoundStatus.CREATING, actions=[
            PayoutRound.status.set(rules.next_status(record.status, "cut" if chunks else "abandon")),
            PayoutRound.claim_count.set(sum(len(c.claim_ids) for c in chunks)),
            PayoutRound.total_krw.set(sum(int(c.total_krw) for c in chunks)),
            PayoutRound.chunk_count.set(len(chunks))])
