"""How a program and a claim read at the edge: the answers of API.md, built from the stored items."""

from datetime import datetime

from chalicelib.compensation import rules
from chalicelib.compensation.models import Claim, Program
from chalicelib.core.clock import iso


def view_program(program: Program) -> dict:
    """A program with its counters (also under the names the payout report used first)."""
    filed, approved, rejected = int(program.filed_count), int(program.approved_count), int(program.rejected_count)
    counts = {"filed": filed, "approved": approved, "rejected": rejected, "pending": filed - approved - rejected,
              "documents_requested": int(program.awaiting_documents_count), "paid": int(program.paid_count),
              "approved_krw": int(program.approved_krw), "paid_krw": int(program.paid_krw)}
    return {"program_id": program.program_id, "name": program.name, "incident_id": program.incident_id,
            "kind": program.kind, "params": program.params, "status": program.status,
            "window": {"started_at": iso(program.window_start),
                       "ended_at": iso(program.window_end) if program.window_end else None},
            "intake_opens_at": iso_or_none(program.intake_opens_at),
            "intake_closes_at": iso_or_none(program.intake_closes_at),
            "extensions": int(program.extensions), "extensions_left": rules.MAX_EXTENSIONS - int(program.extensions),
            "budget_krw": None if program.budget_krw is None else int(program.budget_krw),
            "counts": counts, "claims_filed": filed, "approved": approved, "rejected": rejected,
            "pending": counts["pending"], "paid_count": counts["paid"], "paid_krw": counts["paid_krw"],
            "computed_at": iso_or_none(program.computed_at), "created_at": iso(program.created_at)}


def view_claim(claim: Claim) -> dict:
    """A claim or entitlement with its history; a business's claim also names the business and channel."""
    return {"claim_id": claim.claim_id, "program_id": claim.program_id, "kind": claim.kind, "status": claim.status,
            "payee_id": claim.payee_id, "payee_role": claim.payee_role,
            **({"business_id": claim.payee_id, "business_name": claim.payee_name, "channel": claim.channel}
               if claim.payee_role == "business" else {}),
            "loss_krw": None if claim.loss_krw is None else int(claim.loss_krw), "evidence": list(claim.evidence),
            "tier": claim.tier, "payout_krw": None if claim.payout_krw is None else int(claim.payout_krw),
            "basis": claim.basis, "reason": claim.reason, "filed_at": iso(claim.filed_at),
            "reviewed_at": iso_or_none(claim.reviewed_at), "round_id": claim.round_id,
            "paid_at": iso_or_none(claim.paid_at),
            "history": [{"at": iso(e.at), "status": e.status, "by": e.by, "note": e.note} for e in claim.history]}


def iso_or_none(moment: datetime | None) -> str | None:
    """ISO-8601 UTC text of `moment`, or None."""
    return iso(moment) if moment else None
