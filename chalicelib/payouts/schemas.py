"""Request and response shapes of payout rounds, the ledger, the report and the audit log."""

from datetime import date
from typing import Any, Literal

from pydantic import Field

from chalicelib.core.schemas import Input, Krw, NextCursor, Output, PageQuery, UtcTime
from chalicelib.payouts.rules import MAX_ROUND_CLAIMS, RoundStatus


class RoundIn(Input):
    program_id: str = Field(min_length=1, max_length=80)
    max_claims: int | None = Field(default=None, ge=1, le=MAX_ROUND_CLAIMS)


class LedgerQuery(PageQuery):
    program_id: str = Field(min_length=1, max_length=80)


class ReportQuery(PageQuery):
    format: Literal["json", "html"] = "json"
    lang: Literal["ko", "en"] | None = Field(default=None, description="the page's language: ko (default) or en; "
                                                                       "else Accept-Language")


class AuditQuery(PageQuery):
    day: date | None = Field(default=None, ge=date(2000, 1, 1), le=date(2099, 12, 31),
                             description="UTC day, YYYY-MM-DD; today when left out")


# --- answers ----------------------------------------------------------------------------------------------

RoundState = Literal[tuple(status.value for status in RoundStatus)]


class RoundOut(Output):
    round_id: str
    program_id: str
    status: RoundState
    claim_count: int = Field(ge=0)
    paid_count: int = Field(ge=0)
    failed_count: int = Field(ge=0)
    total_krw: Krw
    paid_krw: Krw
    chunk_count: int = Field(ge=0)
    created_by: str
    created_at: UtcTime
    approved_by: str | None
    approved_at: UtcTime | None
    paid_at: UtcTime | None
    last_error: str | None


class RetriedRound(RoundOut):
    queued_chunks: int = Field(ge=0)


class TierTally(Output):
    approved: int = Field(ge=0)
    approved_krw: Krw
    paid: int = Field(ge=0)
    paid_krw: Krw


class ReportRound(Output):
    round_id: str
    status: RoundState
    claim_count: int = Field(ge=0)
    paid_count: int = Field(ge=0)
    failed_count: int = Field(ge=0)
    total_krw: Krw
    paid_krw: Krw
    created_at: UtcTime
    approved_at: UtcTime | None
    paid_at: UtcTime | None


class ReportWindow(Output):
    started_at: UtcTime
    ended_at: UtcTime | None


class ProgramReport(Output):
    """What was filed, decided and paid, by tier and by round, against the budget."""

    program_id: str
    name: str
    kind: str
    incident_id: str
    window: ReportWindow
    claims_filed: int = Field(ge=0)
    approved: int = Field(ge=0)
    rejected: int = Field(ge=0)
    pending: int
    documents_requested: int = Field(ge=0)
    approved_krw: Krw
    paid_count: int = Field(ge=0)
    paid_krw: Krw
    budget_krw: Krw | None
    budget_left_krw: int | None
    takers: int | None
    extensions: int = Field(ge=0)
    intake_closes_at: UtcTime | None
    by_tier: dict[str, TierTally]
    rounds: list[ReportRound]
    generated_at: UtcTime


class LedgerEntryOut(Output):
    entry_id: str
    claim_id: str
    payee_id: str
    amount_krw: Krw
    round_id: str
    program_id: str
    method: Literal["wallet", "transfer"]
    transfer_id: str | None
    created_at: UtcTime


class LedgerPage(Output):
    items: list[LedgerEntryOut]
    next: NextCursor


class Wallet(Output):
    payee_id: str
    balance_krw: Krw


class ActionDetail(Output):
    """An admin's (or auditor's) action through the API: done or refused, with what was asked."""

    outcome: Literal["done", "refused"]
    status: int | None = None
    code: str | None = None
    reason: str | None = None
    input: dict[str, Any] | None = Field(default=None, description="The body sent, long texts cut")


class RoundPaidDetail(Output):
    """The payout worker finished a round."""

    paid_krw: Krw
    claims: int = Field(ge=0)


class AuditEntryOut(Output):
    audit_id: str
    at: UtcTime
    actor: str
    role: str
    action: str
    target: str
    detail: ActionDetail | RoundPaidDetail


class AuditPage(Output):
    items: list[AuditEntryOut]
    next: NextCursor


class IncidentProgramLine(Output):
    program_id: str
    kind: str
    name: str
    beneficiaries: int = Field(ge=0, description="approved claims (riders who took vouchers, for vouchers)")
    approved_krw: Krw
    paid_krw: Krw


class IncidentReportTotals(Output):
    beneficiaries: int = Field(ge=0)
    approved_krw: Krw
    paid_krw: Krw


class IncidentReport(Output):
    """Every compensation program of an incident, its beneficiaries and KRW: the council's summary."""

    incident_id: str
    summary: str
    components: list[str]
    started_at: UtcTime
    resolved_at: UtcTime | None
    programs: list[IncidentProgramLine]
    totals: IncidentReportTotals
    generated_at: UtcTime
