"""What the council and auditors read: a program's final report, and the audit log of admin actions.

The report is data; `report.py` renders it as a page for people.
"""

from datetime import date, datetime

from chalicelib.compensation import service as compensation
from chalicelib.core import audit
from chalicelib.core.clock import iso
from chalicelib.payouts.rounds import rounds_of

ROUND_FIELDS = ("round_id", "status", "claim_count", "paid_count", "failed_count", "total_krw", "paid_krw",
                "created_at", "approved_at", "paid_at")


def program_report(program_id: str, now: datetime) -> dict:
    """What was filed, decided and paid, by tier and by round, against the budget."""
    program = compensation.program_detail(program_id)
    counts = program["counts"]
    budget = program["budget_krw"]
    return {"program_id": program_id, "name": program["name"], "kind": program["kind"],
            "incident_id": program["incident_id"], "window": program["window"],
            "claims_filed": counts["filed"], "approved": counts["approved"], "rejected": counts["rejected"],
            "pending": counts["pending"], "documents_requested": counts["documents_requested"],
            "approved_krw": counts["approved_krw"], "paid_count": counts["paid"], "paid_krw": counts["paid_krw"],
            "budget_krw": budget, "budget_left_krw": None if budget is None else budget - counts["paid_krw"],
            "takers": counts.get("takers"), "extensions": program["extensions"],
            "intake_closes_at": program["intake_closes_at"],
            "by_tier": {t.pop("tier"): t for t in compensation.tier_tallies(program_id)},
            "rounds": [{key: r[key] for key in ROUND_FIELDS} for r in rounds_of(program_id)],
            "generated_at": iso(now)}


def audit_log(day: date, limit: int, cursor: str | None) -> dict:
    """Who did what on one UTC day (payouts and every other admin action)."""
    return audit.page_of_day(day, limit, cursor)
