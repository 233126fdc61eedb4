"""The claim book: approved claims waiting for a payout round, claims paid, and the program's counters.

Payouts and entitlements keep it through `service.py`; claims use it when a review approves. A program's
counters and per-tier tallies change only inside the transaction that changes the claims they count, so
they always add up, and their conditions keep a program within its budget.
"""

import heapq
from datetime import datetime
from itertools import islice
from zlib import crc32

from chalicelib.compensation import rules
from chalicelib.compensation.models import Claim, ClaimEvent, Program, ProgramTally
from chalicelib.compensation.rules import ClaimStatus, ProgramKind
from chalicelib.core.clock import sort_key
from chalicelib.core.dynamo import get_or_404
from chalicelib.core.ids import stable_id

PAYABLE_SHARDS = 4


def claim_of(claim_id: str) -> Claim:
    """The claim, or 404."""
    return get_or_404(Claim, claim_id, f"no claim {claim_id}")


def approved_entitlement(program: Program, payee_id: str, amount_krw: int, basis: dict, now: datetime) -> Claim:
    """An approved claim for an entitlement computed by the platform; its id is the same on every run."""
    role = rules.PAYEE_ROLE[ProgramKind(program.kind)]
    record = Claim(stable_id("clm", program.created_at, program.program_id, payee_id), program_id=program.program_id,
                   kind=program.kind, payee_id=payee_id, payee_role=role, filed_at=now, updated_at=now,
                   status=ClaimStatus.SUBMITTED, basis=basis,
                   history=[ClaimEvent(at=now, status=ClaimStatus.APPROVED, by="compute-entitlements")])
    mark_approved(record, program.kind, amount_krw, now, "compute-entitlements")
    index_claim(record)
    return record


def count_entitlements_in(tx, program: Program, claims: list[Claim], now: datetime) -> None:
    """Add freshly written entitlements to the program's counters, inside the transaction writing them."""
    total = sum(int(c.payout_krw) for c in claims)
    count_in(tx, program, now, filed=len(claims), approved=len(claims), approved_krw=total)
    tally_in(tx, program.program_id, program.kind, total, len(claims))


def payable_claims(program_id: str, limit: int) -> list[Claim]:
    """Up to `limit` approved claims of the program in no round, by filing then review time."""
    shards = [Claim.payable.query(f"{program_id}#{n}", page_size=min(limit, 100)) for n in range(PAYABLE_SHARDS)]
    return list(islice(heapq.merge(*shards, key=lambda c: c.payable_sort), limit))


def claims_by_ids(claim_ids: list[str]) -> list[Claim]:
    """The claims named, read consistently (payouts check their state before paying)."""
    return list(Claim.batch_get(claim_ids, consistent_read=True))


def take_into_round_in(tx, claim: Claim, round_id: str, now: datetime) -> None:
    """Put an approved claim in no round into `round_id` (fails the transaction if another round took it)."""
    tx.update(claim, condition=(Claim.status == ClaimStatus.APPROVED) & Claim.payable_key.exists(), actions=[
        Claim.round_id.set(round_id), Claim.payable_key.remove(), Claim.payable_sort.remove(),
        Claim.updated_at.set(now)])


def release_from_round(claim_id: str, round_id: str, now: datetime) -> None:
    """Give a claim back to the payable queue when the round taking it was abandoned."""
    claim = claim_of(claim_id)
    mark_approved(claim, claim.kind, int(claim.payout_krw), claim.reviewed_at, claim.reviewed_by, claim.tier)
    claim.update(condition=(Claim.round_id == round_id) & (Claim.status == ClaimStatus.APPROVED), actions=[
        Claim.round_id.remove(), Claim.payable_key.set(claim.payable_key), Claim.payable_sort.set(claim.payable_sort),
        Claim.updated_at.set(now)])


def pay_in(tx, claim: Claim, round_id: str, entry_id: str, now: datetime) -> None:
    """Mark the claim paid by `round_id` (fails the transaction if it was paid already)."""
    tx.update(claim, condition=(Claim.status == ClaimStatus.APPROVED) & (Claim.round_id == round_id), actions=[
        Claim.status.set(ClaimStatus.PAID), Claim.program_status.set(f"{claim.program_id}#{ClaimStatus.PAID}"),
        Claim.paid_at.set(now), Claim.ledger_entry_id.set(entry_id), Claim.updated_at.set(now),
        Claim.history.set(Claim.history.append([ClaimEvent(at=now, status=ClaimStatus.PAID, by=round_id)]))])


def paid_unannounced(claim_ids: list[str], round_id: str) -> list[Claim]:
    """The claims of `round_id` among `claim_ids` that are paid but whose payee was not told yet."""
    return [c for c in claims_by_ids(claim_ids)
            if c.status == ClaimStatus.PAID and c.round_id == round_id and c.payee_notified_at is None]


def mark_announced(claims: list[Claim], now: datetime) -> None:
    """Record that the payees of these paid (hence final) claims were told; one batch write."""
    with Claim.batch_write() as batch:
        for claim in claims:
            claim.payee_notified_at = now
            batch.save(claim)


def count_paid_in(tx, program: Program, claims: list[Claim], now: datetime) -> None:
    """Add paid claims to the program's counters and tier tallies; fails the transaction past the budget."""
    total = sum(int(c.payout_krw) for c in claims)
    budget = budget_of(program)
    tx.update(Program(program.program_id), condition=None if budget is None else Program.paid_krw <= budget - total,
              actions=[Program.paid_count.add(len(claims)), Program.paid_krw.add(total), Program.updated_at.set(now)])
    by_tier: dict[str, list[int]] = {}
    for claim in claims:
        by_tier.setdefault(claim.tier, []).append(int(claim.payout_krw))
    for tier, amounts in by_tier.items():
        tx.update(ProgramTally(program.program_id, f"tier#{tier}"),
                  actions=[ProgramTally.paid_count.add(len(amounts)), ProgramTally.paid_krw.add(sum(amounts))])


def tier_tallies(program_id: str) -> list[dict]:
    """Per tier: approved and paid counts and amounts."""
    return [{"tier": t.tally.removeprefix("tier#"), "approved": int(t.count), "approved_krw": int(t.amount_krw),
             "paid": int(t.paid_count), "paid_krw": int(t.paid_krw)}
            for t in ProgramTally.query(program_id, ProgramTally.tally.startswith("tier#"))]


# --- the bookkeeping claims share -------------------------------------------------------------------------

def mark_approved(record: Claim, kind: str, amount: int, now: datetime, by: str, tier: str | None = None) -> None:
    """Set the claim approved for `amount` and queue it for payment, in filing then review order."""
    record.status, record.payout_krw, record.tier = ClaimStatus.APPROVED, amount, tier or kind
    record.reviewed_at, record.reviewed_by = now, by
    shard = crc32(record.claim_id.encode()) % PAYABLE_SHARDS
    record.payable_key = f"{record.program_id}#{shard}"
    record.payable_sort = f"{sort_key(record.filed_at)}#{sort_key(now)}#{record.claim_id}"


def index_claim(record: Claim) -> None:
    """The keys a new claim is found by: its program and status, and its filing order."""
    record.program_status = f"{record.program_id}#{record.status}"
    record.filed_key = f"{sort_key(record.filed_at)}#{record.claim_id}"


def count_in(tx, program: Program, now: datetime, condition=None, conflict: str | None = None, filed: int = 0,
             approved: int = 0, approved_krw: int = 0, rejected: int = 0, awaiting_documents: int = 0) -> None:
    """Change the program's counters inside `tx`; `conflict` is the 409 when `condition` fails."""
    changes = [(Program.filed_count, filed), (Program.approved_count, approved), (Program.approved_krw, approved_krw),
               (Program.rejected_count, rejected), (Program.awaiting_documents_count, awaiting_documents)]
    actions = [attribute.add(delta) for attribute, delta in changes if delta]
    tx.update(Program(program.program_id), condition=condition, actions=[*actions, Program.updated_at.set(now)],
              conflict=conflict)


def tally_in(tx, program_id: str, tier: str, amount: int, claims: int = 1) -> None:
    """Add approved claims to their tier's tally inside `tx`."""
    tx.update(ProgramTally(program_id, f"tier#{tier}"),
              actions=[ProgramTally.count.add(claims), ProgramTally.amount_krw.add(amount)])


def budget_of(program: Program) -> int | None:
    """The program's budget in KRW, or None when it has none."""
    return None if program.budget_krw is None else int(program.budget_krw)


def within_budget(program: Program, amount: int):
    """The condition that approving `amount` more keeps the program within its budget (None: nothing to check)."""
    budget = budget_of(program)
    return None if budget is None or not amount else Program.approved_krw <= budget - amount
