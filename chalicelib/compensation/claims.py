"""What businesses and reviewers do with claims: file one, review it, send the documents asked for, read them.

Every change to a claim is one DynamoDB transaction with its program's counters, whose conditions check the
claim's state, the program's intake and its budget, so a claim is counted once and a budget never exceeded.
"""

from collections.abc import Callable
from datetime import datetime

from pynamodb.exceptions import TransactWriteError

from chalicelib.compensation import claim_book, rules
from chalicelib.compensation.claim_book import claim_of
from chalicelib.compensation.models import Claim, Claimant, ClaimEvent, Program
from chalicelib.compensation.programs import program_of, tiers_of
from chalicelib.compensation.rules import ClaimStatus, ProgramKind, ProgramStatus
from chalicelib.compensation.schemas import ClaimIn, ClaimListQuery, DocumentsIn, ReviewIn
from chalicelib.compensation.views import view_claim
from chalicelib.core import idempotency
from chalicelib.core.auth import Caller
from chalicelib.core.dynamo import failed_on_condition, only_contended, retry_contended, transaction
from chalicelib.core.errors import Conflict, Forbidden, invalid_field
from chalicelib.core.ids import new_id
from chalicelib.core.notify import notify
from chalicelib.core.observability import count
from chalicelib.core.pagination import page_over
from chalicelib.core.schemas import PageQuery

FILED_ALREADY = "this business has already filed a claim in this program"
OVER_BUDGET = "approving this claim would exceed the program's budget"


# --- filing -----------------------------------------------------------------------------------------------

def file_claim(business: Caller, program_id: str, claim: ClaimIn, idempotency_key: str | None,
               now: datetime) -> dict:
    """A business files a damage claim (or applies for message cash); one per business per program."""
    if claim.business_id != business.sub:
        raise Forbidden("business_id must be your own")
    return idempotency.once_per_key(f"claims:{business.sub}", idempotency_key,
                                    {"program_id": program_id, **claim.model_dump(mode="json")},
                                    lambda: _file(business.sub, program_of(program_id), claim, now))


def _file(business_id: str, program: Program, claim: ClaimIn, now: datetime) -> dict:
    _check_filing(program, claim, now)
    record = Claim(new_id("clm", now), program_id=program.program_id, kind=program.kind, payee_id=business_id,
                   payee_role="business", payee_name=claim.business_name, channel=claim.channel,
                   loss_krw=claim.loss_krw, evidence=claim.evidence, filed_at=now, updated_at=now,
                   status=ClaimStatus.SUBMITTED, history=[ClaimEvent(at=now, status=ClaimStatus.SUBMITTED,
                                                                     by=business_id, note=f"via {claim.channel}")])
    amount = int(program.params["amount_krw"]) if program.kind == ProgramKind.MESSAGE_CASH else 0
    still_open = Program.status == ProgramStatus.INTAKE_OPEN
    if amount:  # message cash: first come, paid while the budget lasts
        claim_book.mark_approved(record, program.kind, amount, now, "first come")
        record.history.append(ClaimEvent(at=now, status=ClaimStatus.APPROVED, by="first come",
                                         note="within the budget"))
        still_open &= claim_book.within_budget(program, amount)
    claim_book.index_claim(record)

    def write() -> None:
        with transaction() as tx:
            tx.save(Claimant(f"claimant#{program.program_id}#{business_id}", filed_claim_id=record.claim_id),
                    condition=Claimant.claim_id.does_not_exist(), conflict=FILED_ALREADY)
            tx.save(record)
            claim_book.count_in(tx, program, now, filed=1, approved=1 if amount else 0, approved_krw=amount,
                                condition=still_open)
            if amount:
                claim_book.tally_in(tx, program.program_id, record.tier, amount)

    try:
        retry_contended(write)
    except TransactWriteError as exc:
        raise _not_counted(exc, program.program_id) from exc
    count("ClaimsFiled")
    return view_claim(record)


def _check_filing(program: Program, claim: ClaimIn, now: datetime) -> None:
    if program.kind not in rules.CLAIMED_KINDS:
        raise Conflict(f"a {program.kind} program takes no claims")
    problem = rules.intake_problem(now, program.intake_opens_at, program.intake_closes_at)
    if problem or program.status != ProgramStatus.INTAKE_OPEN:
        raise Conflict(problem or "intake has closed")
    if program.kind == ProgramKind.BUSINESS_CLAIMS and claim.loss_krw is None:
        raise invalid_field("loss_krw", "required: the revenue lost in the outage, in KRW")


def _not_counted(exc: TransactWriteError, program_id: str) -> Exception:
    """Why the program would not count a claim: many at once, or its intake or budget ran out meanwhile."""
    if only_contended(exc):
        return Conflict("many claims are arriving at once; please try again")
    if failed_on_condition(exc):  # the program's own condition: the claimant's has its message
        closed = program_of(program_id).status != ProgramStatus.INTAKE_OPEN
        return Conflict("intake has closed" if closed else "the program's budget is used up")
    return exc


# --- review and documents ---------------------------------------------------------------------------------

def review(admin: Caller, claim_id: str, decision: ReviewIn, now: datetime) -> dict:
    """Approve (tier amount, or the reviewed amount above the top tier), reject, or ask for documents."""
    record = claim_of(claim_id)
    if record.kind != ProgramKind.BUSINESS_CLAIMS:
        raise Conflict(f"{record.kind} claims are not reviewed one by one")
    was, new_status = record.status, rules.next_claim_status(record.status, decision.decision)
    program = program_of(record.program_id)
    amount = _approved_amount(admin, record, program, decision, now)
    event = ClaimEvent(at=now, status=new_status, by=admin.sub, note=decision.reason)
    actions = [Claim.status.set(new_status), Claim.program_status.set(f"{record.program_id}#{new_status}"),
               Claim.reviewed_at.set(now), Claim.reviewed_by.set(admin.sub), Claim.reason.set(decision.reason),
               Claim.updated_at.set(now), Claim.history.set(Claim.history.append([event]))]
    if amount:
        actions += [Claim.tier.set(record.tier), Claim.payout_krw.set(amount),
                    Claim.payable_key.set(record.payable_key), Claim.payable_sort.set(record.payable_sort)]

    def write() -> None:
        with transaction() as tx:
            tx.update(record, condition=Claim.status == was, actions=actions)
            claim_book.count_in(tx, program, now, condition=claim_book.within_budget(program, amount),
                                conflict=OVER_BUDGET, **_counted(decision.decision, was, amount))
            if amount:
                claim_book.tally_in(tx, program.program_id, record.tier, amount)

    _write_decision(record, write)
    notify("claim_reviewed", {"claim_id": claim_id, "status": new_status, "payout_krw": amount or None},
           payee=record.payee_id)
    return {**view_claim(Claim.get(claim_id)), "status": new_status, "payout_krw": amount or None}


def _approved_amount(admin: Caller, record: Claim, program: Program, decision: ReviewIn, now: datetime) -> int:
    """What approving pays, with the claim marked approved (0 for another decision); refused past the budget."""
    if decision.decision != "approve":
        if decision.amount_krw is not None:
            raise invalid_field("amount_krw", "only when approving")
        return 0
    tier, amount = rules.review_payout(int(record.loss_krw), tiers_of(program), decision.amount_krw)
    if not rules.budget_allows(int(program.approved_krw), amount, claim_book.budget_of(program)):
        raise Conflict(OVER_BUDGET)
    claim_book.mark_approved(record, record.kind, amount, now, admin.sub, tier)
    return amount


def _counted(decision: str, was: str, amount: int) -> dict[str, int]:
    """How a decision changes the program's counters."""
    if decision == "approve":
        return {"approved": 1, "approved_krw": amount}
    if decision == "reject":
        return {"rejected": 1, "awaiting_documents": -1 if was == ClaimStatus.DOCUMENTS_REQUESTED else 0}
    return {"awaiting_documents": 1}


def supplement(business: Caller, claim_id: str, documents: DocumentsIn, now: datetime) -> dict:
    """The business sends the documents asked for; the claim goes back to review."""
    record = _visible_claim(business, claim_id)
    new_status = rules.next_claim_status(record.status, "supplement")
    event = ClaimEvent(at=now, status=new_status, by=business.sub, note=f"{len(documents.evidence)} documents added")

    def write() -> None:
        with transaction() as tx:
            tx.update(record, condition=Claim.status == record.status, actions=[
                Claim.status.set(new_status), Claim.evidence.set(list(record.evidence) + documents.evidence),
                Claim.program_status.set(f"{record.program_id}#{new_status}"), Claim.updated_at.set(now),
                Claim.history.set(Claim.history.append([event]))])
            claim_book.count_in(tx, Program(record.program_id), now, awaiting_documents=-1)

    _write_decision(record, write)
    return view_claim(Claim.get(claim_id))


def _write_decision(record: Claim, write: Callable[[], None]) -> None:
    """Run a decision's transaction; a lost race becomes a 409 that says what the claim is now."""
    try:
        retry_contended(write)
    except TransactWriteError as exc:
        if only_contended(exc):
            raise Conflict("the program is busy; please try again") from exc
        if failed_on_condition(exc):  # the claim's own condition: the budget's has its message
            raise Conflict(f"the claim is {claim_of(record.claim_id).status} now") from exc
        raise


# --- reading ----------------------------------------------------------------------------------------------

def claim_for(caller: Caller, claim_id: str) -> dict:
    """A claim: its payee sees their own, admins any."""
    return view_claim(_visible_claim(caller, claim_id))


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


def _visible_claim(caller: Caller, claim_id: str) -> Claim:
    record = claim_of(claim_id)
    if caller.role != "admin" and not caller.is_the(record.payee_role, record.payee_id):
        raise Forbidden("this claim is not yours")
    return record
