"""Answer shapes of compensation (the OpenAPI document's response models): programs, claims, vouchers.

`schemas.py` re-exports them, since routes name their models in the domain's schemas module."""

from typing import Literal

from pydantic import Field

from chalicelib.compensation import rules
from chalicelib.compensation.params import (
    CHANNELS,
    BusinessClaimsParams,
    DriverIncomeParams,
    DriverSupportParams,
    MessageCashParams,
    RiderCreditParams,
    VoucherParams,
)
from chalicelib.compensation.rules import ClaimStatus, ProgramKind, ProgramStatus
from chalicelib.core.schemas import Krw as Amount
from chalicelib.core.schemas import NextCursor, Output, UtcTime

CLAIM_STATUSES = tuple(status.value for status in ClaimStatus)

Kind = Literal[tuple(kind.value for kind in ProgramKind)]


class WindowOut(Output):
    started_at: UtcTime
    ended_at: UtcTime | None


class ProgramCounts(Output):
    filed: int
    approved: int
    rejected: int
    pending: int
    documents_requested: int
    paid: int
    approved_krw: Amount
    paid_krw: Amount
    takers: int | None = Field(default=None, description="Vouchers: riders who took the pack")


class ProgramOut(Output):
    """A program with its counters (also flat, under the names the payout report used first)."""

    program_id: str
    name: str
    incident_id: str
    kind: Kind
    params: (BusinessClaimsParams | DriverIncomeParams | DriverSupportParams | RiderCreditParams | VoucherParams
             | MessageCashParams)
    status: Literal[tuple(status.value for status in ProgramStatus)]
    window: WindowOut
    intake_opens_at: UtcTime | None
    intake_closes_at: UtcTime | None
    extensions: int = Field(ge=0, le=rules.MAX_EXTENSIONS)
    extensions_left: int = Field(ge=0, le=rules.MAX_EXTENSIONS)
    budget_krw: Amount | None
    counts: ProgramCounts
    claims_filed: int
    approved: int
    rejected: int
    pending: int
    paid_count: int
    paid_krw: Amount
    computed_at: UtcTime | None
    created_at: UtcTime


class ClaimEventOut(Output):
    at: UtcTime
    status: Literal[CLAIM_STATUSES]
    by: str
    note: str | None


class IncomeBasis(Output):
    during_krw: int
    week_before_krw: int
    multiplier: str


class SupportBasis(Output):
    online_from: UtcTime
    online_to: UtcTime


class CreditBasis(Output):
    unserved_ride_in_window: Literal[True]


class ClaimOut(Output):
    """A claim or entitlement with its history; a business's claim also names the business and channel."""

    claim_id: str
    program_id: str
    kind: Kind
    status: Literal[CLAIM_STATUSES]
    payee_id: str
    payee_role: Literal["business", "driver", "rider"]
    business_id: str | None = None
    business_name: str | None = None
    channel: Literal[CHANNELS] | None = None
    loss_krw: Amount | None
    evidence: list[str]
    tier: str | None
    payout_krw: Amount | None
    basis: IncomeBasis | SupportBasis | CreditBasis | None = Field(description="How an entitlement was computed")
    reason: str | None
    filed_at: UtcTime
    reviewed_at: UtcTime | None
    round_id: str | None
    paid_at: UtcTime | None
    history: list[ClaimEventOut] = Field(min_length=1)


class ClaimPage(Output):
    items: list[ClaimOut]
    next: NextCursor


class VoucherOut(Output):
    voucher_id: str
    program_id: str
    name: str
    issued_at: UtcTime
    expires_at: UtcTime | None


class VoucherPack(Output):
    program_id: str
    taken_at: UtcTime
    vouchers: list[VoucherOut] = Field(min_length=1)


class VoucherPage(Output):
    items: list[VoucherOut]
    next: NextCursor
