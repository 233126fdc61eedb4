"""What operators, businesses and riders do with compensation: programs, claims, reviews, vouchers.

Every change to a claim and the program's counters is one DynamoDB transaction whose conditions check
the claim's state and the program's budget, so a claim is counted once and a budget is never exceeded.
Entitlements computed for drivers and riders live in `entitlements.py`.
"""

import heapq
import time
from datetime import datetime
from itertools import islice
from zlib import crc32

from pydantic import BaseModel
from pynamodb.exceptions import TransactWriteError

from chalicelib.compensation import rules
from chalicelib.compensation.models import Claim, Claimant, ClaimEvent, Program, ProgramTally, VoucherGrant
from chalicelib.compensation.rules import ClaimRuleError, ClaimStatus, ProgramKind, Tier, VoucherItem
from chalicelib.compensation.schemas import PARAMS, ClaimIn, ClaimListQuery, DocumentsIn, ExtendIn, ProgramIn, ReviewIn
from chalicelib.core import idempotency
from chalicelib.core.auth import Caller
from chalicelib.core.clock import iso, sort_key
from chalicelib.core.dynamo import (
    condition_failed_at,
    conflict_on_condition,
    failed_on_condition,
    get_or_404,
    only_contended,
    retry_contended,
    transaction,
)
from chalicelib.core.errors import Conflict, Forbidden, invalid_field
from chalicelib.core.ids import new_id, stable_id
from chalicelib.core.inputs import parse_part
from chalicelib.core.notify import notify
from chalicelib.core.observability import count
from chalicelib.core.pagination import page_over
from chalicelib.core.schemas import PageQuery
from chalicelib.outages import service as outages

PAYABLE_SHARDS = 4
TAKER_SHARDS = 16
NEVER = "~"
VOUCHER_PACK_KEPT_S = 60
_VOUCHER_PACKS: dict[str, tuple[float, tuple[VoucherItem, ...]]] = {}


# --- programs ---------------------------------------------------------------------------------------------

def create_program(admin: Caller, program: ProgramIn, now: datetime) -> dict:
    """Set up a program of one kind for an incident; its window is the incident's."""
    params = parse_part(PARAMS[program.kind], program.params, "params")
    opens_at, closes_at = getattr(params, "intake_opens_at", None), getattr(params, "intake_closes_at", None)
    problem = rules.new_intake_problem(opens_at, closes_at, now)
    if problem:
        raise invalid_field("params.intake_closes_at", problem)
    started_at, resolved_at = outages.incident_window(program.incident_id)
    record = Program(new_id("prg", now), name=program.name, incident_id=program.incident_id, kind=program.kind,
                     params=params.model_dump(mode="json"), window_start=started_at, window_end=resolved_at,
                     budget_krw=getattr(params, "budget_krw", None), created_by=admin.sub, created_at=now,
                     updated_at=now, intake_opens_at=getattr(params, "intake_opens_at", None),
                     intake_closes_at=getattr(params, "intake_closes_at", None), status="", due_key="")
    record.status, record.due_key = _first_status(record, now)
    record.save()
    count("ProgramsCreated")
    return view_program(record)


def program_detail(program_id: str) -> dict:
    """A program with its counts (and, for vouchers, how many riders took them)."""
    program = program_of(program_id)
    answer = view_program(program)
    if program.kind == ProgramKind.VOUCHER:
        answer["counts"]["takers"] = sum(int(t.count) for t in ProgramTally.query(program_id, ProgramTally.tally
                                                                                   .startswith("takers#")))
    return answer


def extend_intake(admin: Caller, program_id: str, extension: ExtendIn, now: datetime) -> dict:
    """Move the intake deadline later, at most three times and only while intake is open."""
    program = program_of(program_id)
    problem = rules.extension_problem(int(program.extensions), program.intake_closes_at,
                                      extension.intake_closes_at, now)
    if problem:
        message, field = problem
        raise invalid_field(field, message) if field else Conflict(message)
    previous = program.intake_closes_at
    with conflict_on_condition("the program changed meanwhile; read it and try again"):
        program.update(condition=(Program.intake_closes_at == previous) & (Program.extensions < rules.MAX_EXTENSIONS)
                       & (Program.status == "intake_open"), actions=[
            Program.intake_closes_at.set(extension.intake_closes_at), Program.extensions.add(1),
            Program.params.set({**program.params, "intake_closes_at": iso(extension.intake_closes_at)}),
            Program.due_key.set(_due(extension.intake_closes_at, program_id)), Program.updated_at.set(now)])
    notify("intake_extended", {"program_id": program_id, "intake_closes_at": iso(extension.intake_closes_at)})
    return view_program(program)


def close_intake(now: datetime) -> dict:
    """The `close-intake` job: programs whose intake deadline has passed stop taking claims."""
    closed = []
    for program in Program.by_status.query("intake_open", Program.due_key <= f"{sort_key(now)}#~"):
        try:
            program.update(condition=(Program.status == "intake_open") & (Program.intake_closes_at <= now),
                           actions=[Program.status.set("intake_closed"), Program.due_key.set(sort_key(now)),
                                    Program.updated_at.set(now)])
            closed.append(program.program_id)
        except Exception as exc:
            if not failed_on_condition(exc):
                raise  # else extended meanwhile: it stays open
    return {"closed": closed}


def view_program(program: Program) -> dict:
    filed, approved, rejected = int(program.filed_count), int(program.approved_count), int(program.rejected_count)
    counts = {"filed": filed, "approved": approved, "rejected": rejected, "pending": filed - approved - rejected,
              "documents_requested": int(program.awaiting_documents_count), "paid": int(program.paid_count),
              "approved_krw": int(program.approved_krw), "paid_krw": int(program.paid_krw)}
    return {"program_id": program.program_id, "name": program.name, "incident_id": program.incident_id,
            "kind": program.kind, "params": program.params, "status": program.status,
            "window": {"started_at": iso(program.window_start),
                       "ended_at": iso(program.window_end) if program.window_end else None},
            "intake_opens_at": _iso_or_none(program.intake_opens_at),
            "intake_closes_at": _iso_or_none(program.intake_closes_at),
            "extensions": int(program.extensions), "extensions_left": rules.MAX_EXTENSIONS - int(program.extensions),
            "budget_krw": None if program.budget_krw is None else int(program.budget_krw),
            "counts": counts, "claims_filed": filed, "approved": approved, "rejected": rejected,
            "pending": counts["pending"], "paid_count": counts["paid"], "paid_krw": counts["paid_krw"],
            "computed_at": _iso_or_none(program.computed_at), "created_at": iso(program.created_at)}


def program_of(program_id: str) -> Program:
    """The program, or 404."""
    return get_or_404(Program, program_id, f"no program {program_id}")


def params_of(program: Program) -> BaseModel:
    """The program's params as their validated model."""
    return PARAMS[ProgramKind(program.kind)].model_validate(program.params)


def tiers_of(program: Program) -> tuple[Tier, ...]:
    return tuple(Tier(t["max_loss_krw"], t["payout_krw"]) for t in program.params.get("tiers", ()))


# --- claims -----------------------------------------------------------------------------------------------

def file_claim(business: Caller, program_id: str, claim: ClaimIn, idempotency_key: str | None,
               now: datetime) -> dict:
    """A business files a damage claim (or applies for message cash); one per business per program."""
    if claim.business_id != business.sub:
        raise Forbidden("business_id must be your own")
    return idempotency.once_per_key(f"claims:{business.sub}", idempotency_key,
                                    {"program_id": program_id, **claim.model_dump(mode="json")},
                                    lambda: _file(business.sub, program_of(program_id), claim, now))


def _file(business_id: str, program: Program, claim: ClaimIn, now: datetime) -> dict:
    if program.kind not in rules.CLAIMED_KINDS:
        raise Conflict(f"a {program.kind} program takes no claims")
    problem = rules.intake_problem(now, program.intake_opens_at, program.intake_closes_at)
    if problem or program.status != "intake_open":
        raise Conflict(problem or "intake has closed")
    if program.kind == ProgramKind.BUSINESS_CLAIMS and claim.loss_krw is None:
        raise invalid_field("loss_krw", "required: the revenue lost in the outage, in KRW")
    record = Claim(new_id("clm", now), program_id=program.program_id, kind=program.kind, payee_id=business_id,
                   payee_role="business", payee_name=claim.business_name, channel=claim.channel,
                   loss_krw=claim.loss_krw, evidence=claim.evidence, filed_at=now, updated_at=now,
                   status=ClaimStatus.SUBMITTED, history=[ClaimEvent(at=now, status="submitted", by=business_id,
                                                                     note=f"via {claim.channel}")])
    amount = int(program.params["amount_krw"]) if program.kind == ProgramKind.MESSAGE_CASH else 0
    if amount:  # message cash: first come, paid while the budget lasts
        _approve_fields(record, program.kind, amount, now, "first come")
        record.history.append(ClaimEvent(at=now, status="approved", by="first come", note="within the budget"))
    _index(record)
    still_open = Program.status == "intake_open"
    if amount:
        still_open &= _budget_condition(program, amount)

    def write() -> None:
        with transaction() as tx:
            tx.save(Claimant(f"claimant#{program.program_id}#{business_id}", filed_claim_id=record.claim_id),
                    condition=Claimant.claim_id.does_not_exist())
            tx.save(record)
            _count_in(tx, program, now, filed=1, approved=1 if amount else 0, approved_krw=amount, condition=still_open)
            if amount:
                _tally_in(tx, program.program_id, record.tier, amount)

    try:
        retry_contended(write)
    except TransactWriteError as exc:
        raise _filing_conflict(exc, program.program_id) from exc
    count("ClaimsFiled")
    return view_claim(record)


def _filing_conflict(exc: TransactWriteError, program_id: str) -> Exception:
    if condition_failed_at(exc, 0):
        return Conflict("this business has already filed a claim in this program")
    if condition_failed_at(exc, 2):
        closed = program_of(program_id).status != "intake_open"
        return Conflict("intake has closed" if closed else "the program's budget is used up")
    if only_contended(exc):
        return Conflict("many claims are arriving at once; please try again")
    return exc


def claim_for(caller: Caller, claim_id: str) -> dict:
    """A claim: its payee sees their own, admins any."""
    return view_claim(_visible_claim(caller, claim_id))


def supplement(business: Caller, claim_id: str, documents: DocumentsIn, now: datetime) -> dict:
    """The business sends the documents asked for; the claim goes back to review."""
    record = _visible_claim(business, claim_id)
    _moved(record, "supplement")
    event = ClaimEvent(at=now, status="submitted", by=business.sub, note=f"{len(documents.evidence)} documents added")

    def write() -> None:
        with transaction() as tx:
            tx.update(record, condition=Claim.status == record.status, actions=[
                Claim.status.set(ClaimStatus.SUBMITTED), Claim.evidence.set(list(record.evidence) + documents.evidence),
                Claim.program_status.set(f"{record.program_id}#submitted"), Claim.updated_at.set(now),
                Claim.history.set(Claim.history.append([event]))])
            _count_in(tx, Program(record.program_id), now, awaiting_documents=-1)

    with _ClaimRace(record):
        retry_contended(write)
    return view_claim(Claim.get(claim_id))


def review(admin: Caller, claim_id: str, decision: ReviewIn, now: datetime) -> dict:
    """Approve (tier amount, or the reviewed amount above the top tier), reject, or ask for documents."""
    record = _claim(claim_id)
    if record.kind != ProgramKind.BUSINESS_CLAIMS:
        raise Conflict(f"{record.kind} claims are not reviewed one by one")
    was, new_status = record.status, _moved(record, decision.decision)
    program = program_of(record.program_id)
    if decision.decision != "approve" and decision.amount_krw is not None:
        raise invalid_field("amount_krw", "only when approving")
    amount = 0
    if decision.decision == "approve":
        try:
            tier, amount = rules.review_payout(int(record.loss_krw), tiers_of(program), decision.amount_krw)
        except ClaimRuleError as exc:
            raise invalid_field(exc.field or "decision", str(exc)) from exc
        if not rules.budget_allows(int(program.approved_krw), amount, _budget(program)):
            raise Conflict("approving this claim would exceed the program's budget")
        _approve_fields(record, record.kind, amount, now, admin.sub, tier)
    counts = {"approve": {"approved": 1, "approved_krw": amount},
              "reject": {"rejected": 1, "awaiting_documents": -1 if was == ClaimStatus.DOCUMENTS_REQUESTED else 0},
              "request_documents": {"awaiting_documents": 1}}[decision.decision]
    event = ClaimEvent(at=now, status=new_status, by=admin.sub, note=decision.reason)
    actions = [Claim.status.set(new_status), Claim.program_status.set(f"{record.program_id}#{new_status}"),
               Claim.reviewed_at.set(now), Claim.reviewed_by.set(admin.sub), Claim.reason.set(decision.reason),
               Claim.updated_at.set(now), Claim.history.set(Claim.history.append([event]))]
    if amount:
        actions += [Claim.tier.set(record.tier), Claim.payout_krw.set(amount),
                    Claim.payable_key.set(record.payable_key), Claim.payable_sort.set(record.payable_sort)]
    budget_left = _budget_condition(program, amount)

    def write() -> None:
        with transaction() as tx:
            tx.update(record, condition=Claim.status == was, actions=actions)
            _count_in(tx, program, now, condition=budget_left, **counts)
            if amount:
                _tally_in(tx, program.program_id, record.tier, amount)

    with _ClaimRace(record):
        retry_contended(write)
    notify("claim_reviewed", {"claim_id": claim_id, "status": new_status, "payout_krw": amount or None},
           payee=record.payee_id)
    return {**view_claim(Claim.get(claim_id)), "status": new_status, "payout_krw": amount or None}


def list_claims(program_id: str, query: ClaimListQuery) -> dict:
    """A program's claims in one status, in filing order (the reviewers' queue)."""
    program_of(program_id)

    def in_status(limit, last_key):
        return Claim.by_program_status.query(f"{program_id}#{query.status}", limit=limit, last_evaluated_key=last_key)

    items, cursor = page_over([in_status], query.limit, query.cursor)
    return {"items": [view_claim(c) for c in items], "next": cursor}


def my_claims(caller: Caller, page: PageQuery) -> dict:
    """What the caller is owed or has claimed, across programs, newest first."""
    def own(limit, last_key):
        return Claim.by_payee.query(caller.sub, scan_index_forward=False, limit=limit, last_evaluated_key=last_key)

    items, cursor = page_over([own], page.limit, page.cursor, keep=lambda c: c.payee_role == caller.role)
    return {"items": [view_claim(c) for c in items], "next": cursor}


def view_claim(claim: Claim) -> dict:
    return {"claim_id": claim.claim_id, "program_id": claim.program_id, "kind": claim.kind, "status": claim.status,
            "payee_id": claim.payee_id, "payee_role": claim.payee_role,
            **({"business_id": claim.payee_id, "business_name": claim.payee_name, "channel": claim.channel}
               if claim.payee_role == "business" else {}),
            "loss_krw": None if claim.loss_krw is None else int(claim.loss_krw), "evidence": list(claim.evidence),
            "tier": claim.tier, "payout_krw": None if claim.payout_krw is None else int(claim.payout_krw),
            "basis": claim.basis, "reason": claim.reason, "filed_at": iso(claim.filed_at),
            "reviewed_at": _iso_or_none(claim.reviewed_at), "round_id": claim.round_id,
            "paid_at": _iso_or_none(claim.paid_at),
            "history": [{"at": iso(e.at), "status": e.status, "by": e.by, "note": e.note} for e in claim.history]}


def claim_of(claim_id: str) -> Claim:
    """The claim, or 404."""
    return _claim(claim_id)


# --- vouchers ---------------------------------------------------------------------------------------------

def take_vouchers(rider_id: str, program_id: str, now: datetime) -> dict:
    """A rider takes the program's voucher pack; taking it again returns the same vouchers. At most 3 reads/writes.

    Millions take the pack within days: the pack (fixed once the program exists) is kept in the container for a
    minute, so the program's item is not read by every take.
    """
    items = _voucher_pack(program_id)
    vouchers = [{"voucher_id": stable_id("vch", now, program_id, rider_id, str(n)), "program_id": program_id,
                 "name": v["name"], "issued_at": iso(v["issued_at"]), "expires_at": _iso_or_none(v["expires_at"])}
                for n, v in enumerate(rules.vouchers_for(items, now))]
    grant = VoucherGrant(rider_id, program_id, vouchers=vouchers, taken_at=now)

    def write() -> None:
        with transaction() as tx:
            tx.save(grant, condition=VoucherGrant.rider_id.does_not_exist())
            tx.update(ProgramTally(program_id, f"takers#{crc32(rider_id.encode()) % TAKER_SHARDS}"),
                      actions=[ProgramTally.count.add(1)])

    try:
        retry_contended(write)
        count("VoucherPacksTaken")
    except TransactWriteError as exc:
        if not condition_failed_at(exc, 0):
            raise
        grant = VoucherGrant.get(rider_id, program_id, consistent_read=True)
    return {"program_id": program_id, "taken_at": iso(grant.taken_at), "vouchers": grant.vouchers}


def _voucher_pack(program_id: str) -> tuple[VoucherItem, ...]:
    cached = _VOUCHER_PACKS.get(program_id)
    if cached and cached[0] > time.monotonic():
        return cached[1]
    program = program_of(program_id)
    if program.kind != ProgramKind.VOUCHER:
        raise Conflict(f"a {program.kind} program has no vouchers")
    items = tuple(VoucherItem(i["name"], i["valid_days"]) for i in program.params["items"])
    _VOUCHER_PACKS[program_id] = (time.monotonic() + VOUCHER_PACK_KEPT_S, items)
    return items


def my_vouchers(rider_id: str, page: PageQuery) -> dict:
    """The vouchers a rider took, newest program first."""
    def own(limit, last_key):
        return VoucherGrant.query(rider_id, scan_index_forward=False, limit=limit, last_evaluated_key=last_key)

    grants, cursor = page_over([own], page.limit, page.cursor)
    return {"items": [voucher for grant in grants for voucher in grant.vouchers], "next": cursor}


# --- shared by entitlements and payouts -------------------------------------------------------------------

def approved_entitlement(program: Program, payee_id: str, amount_krw: int, basis: dict, now: datetime) -> Claim:
    """An approved claim for an entitlement computed by the platform; its id is the same on every run."""
    role = rules.PAYEE_ROLE[ProgramKind(program.kind)]
    record = Claim(stable_id("clm", program.created_at, program.program_id, payee_id), program_id=program.program_id,
                   kind=program.kind, payee_id=payee_id, payee_role=role, filed_at=now, updated_at=now,
                   status=ClaimStatus.SUBMITTED, basis=basis,
                   history=[ClaimEvent(at=now, status="approved", by="compute-entitlements")])
    _approve_fields(record, program.kind, amount_krw, now, "compute-entitlements")
    _index(record)
    return record


def count_entitlements_in(tx, program: Program, claims: list[Claim], now: datetime) -> None:
    """Add freshly written entitlements to the program's counters, inside the transaction writing them."""
    total = sum(int(c.payout_krw) for c in claims)
    _count_in(tx, program, now, filed=len(claims), approved=len(claims), approved_krw=total)
    _tally_in(tx, program.program_id, program.kind, total, len(claims))


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
    claim = _claim(claim_id)
    _approve_fields(claim, claim.kind, int(claim.payout_krw), claim.reviewed_at, claim.reviewed_by, claim.tier)
    claim.update(condition=(Claim.round_id == round_id) & (Claim.status == ClaimStatus.APPROVED), actions=[
        Claim.round_id.remove(), Claim.payable_key.set(claim.payable_key), Claim.payable_sort.set(claim.payable_sort),
        Claim.updated_at.set(now)])


def pay_in(tx, claim: Claim, round_id: str, entry_id: str, now: datetime) -> None:
    """Mark the claim paid by `round_id` (fails the transaction if it was paid already)."""
    tx.update(claim, condition=(Claim.status == ClaimStatus.APPROVED) & (Claim.round_id == round_id), actions=[
        Claim.status.set(ClaimStatus.PAID), Claim.program_status.set(f"{claim.program_id}#paid"),
        Claim.paid_at.set(now), Claim.ledger_entry_id.set(entry_id), Claim.updated_at.set(now),
        Claim.history.set(Claim.history.append([ClaimEvent(at=now, status="paid", by=round_id)]))])


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
    budget = _budget(program)
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


def _approve_fields(record: Claim, kind: str, amount: int, now: datetime, by: str, tier: str | None = None) -> None:
    record.status, record.payout_krw, record.tier = ClaimStatus.APPROVED, amount, tier or kind
    record.reviewed_at, record.reviewed_by = now, by
    shard = crc32(record.claim_id.encode()) % PAYABLE_SHARDS
    record.payable_key = f"{record.program_id}#{shard}"
    record.payable_sort = f"{sort_key(record.filed_at)}#{sort_key(now)}#{record.claim_id}"


def _index(record: Claim) -> None:
    record.program_status = f"{record.program_id}#{record.status}"
    record.filed_key = f"{sort_key(record.filed_at)}#{record.claim_id}"


def _count_in(tx, program: Program, now: datetime, condition=None, filed: int = 0, approved: int = 0,
              approved_krw: int = 0, rejected: int = 0, awaiting_documents: int = 0) -> None:
    changes = [(Program.filed_count, filed), (Program.approved_count, approved), (Program.approved_krw, approved_krw),
               (Program.rejected_count, rejected), (Program.awaiting_documents_count, awaiting_documents)]
    actions = [attribute.add(delta) for attribute, delta in changes if delta]
    tx.update(Program(program.program_id), condition=condition, actions=[*actions, Program.updated_at.set(now)])


def _tally_in(tx, program_id: str, tier: str, amount: int, claims: int = 1) -> None:
    tx.update(ProgramTally(program_id, f"tier#{tier}"),
              actions=[ProgramTally.count.add(claims), ProgramTally.amount_krw.add(amount)])


def _budget(program: Program) -> int | None:
    return None if program.budget_krw is None else int(program.budget_krw)


def _budget_condition(program: Program, amount: int):
    budget = _budget(program)
    return None if budget is None or not amount else Program.approved_krw <= budget - amount


def _moved(record: Claim, decision: str) -> ClaimStatus:
    try:
        return rules.next_claim_status(record.status, decision)
    except ClaimRuleError as exc:
        raise Conflict(str(exc)) from exc


class _ClaimRace:
    """A lost race on a claim or its program's budget becomes a 409 that says what the state is now."""

    def __init__(self, record: Claim):
        self.record = record

    def __enter__(self):
        return self

    def __exit__(self, kind, exc, traceback):
        if not isinstance(exc, TransactWriteError):
            return False
        if condition_failed_at(exc, 1):
            raise Conflict("approving this claim would exceed the program's budget") from exc
        if condition_failed_at(exc, 0):
            raise Conflict(f"the claim is {_claim(self.record.claim_id).status} now") from exc
        if only_contended(exc):
            raise Conflict("the program is busy; please try again") from exc
        return False


def _first_status(program: Program, now: datetime) -> tuple[str, str]:
    kind = ProgramKind(program.kind)
    if kind in rules.CLAIMED_KINDS:
        return "intake_open", _due(program.intake_closes_at, program.program_id)
    if kind == ProgramKind.VOUCHER:
        return "open", sort_key(now)
    return "to_compute", f"{sort_key(now)}#{program.program_id}"


def _due(closes_at: datetime | None, program_id: str) -> str:
    return f"{sort_key(closes_at)}#{program_id}" if closes_at else NEVER


def _claim(claim_id: str) -> Claim:
    return get_or_404(Claim, claim_id, f"no claim {claim_id}")


def _visible_claim(caller: Caller, claim_id: str) -> Claim:
    record = _claim(claim_id)
    if caller.role != "admin" and not caller.is_the(record.payee_role, record.payee_id):
        raise Forbidden("this claim is not yours")
    return record


def _iso_or_none(moment: datetime | None) -> str | None:
    return iso(moment) if moment else None
