"""The params of each kind of program (part of a program's body, and shown back in its answers)."""

from decimal import Decimal
from typing import Literal

from pydantic import Field, ValidationInfo, field_validator

from chalicelib.compensation import rules
from chalicelib.compensation.rules import ProgramKind, Tier
from chalicelib.core.schemas import Input, Moment

# A small business's outage loss above a billion won is a typo, not a claim.
MAX_LOSS_KRW = 1_000_000_000
MAX_AMOUNT_KRW = 100_000_000_000
CHANNELS = ("chatbot", "web", "phone", "mail", "visit")
Krw = int


class TierIn(Input):
    max_loss_krw: Krw = Field(gt=0, le=MAX_LOSS_KRW)
    payout_krw: Krw = Field(gt=0, le=MAX_LOSS_KRW)


class BusinessClaimsParams(Input):
    intake_opens_at: Moment
    intake_closes_at: Moment
    tiers: list[TierIn] = Field(default_factory=lambda: [TierIn(max_loss_krw=t.max_loss_krw, payout_krw=t.payout_krw)
                                                         for t in rules.DEFAULT_TIERS], max_length=20)
    budget_krw: Krw = Field(gt=0, le=MAX_AMOUNT_KRW)

    @field_validator("intake_closes_at")
    @classmethod
    def closes_after_opening(cls, closes_at: Moment, info: ValidationInfo) -> Moment:
        opens_at = info.data.get("intake_opens_at")
        if opens_at is not None and closes_at <= opens_at:
            raise ValueError("must be after intake_opens_at")
        return closes_at

    @field_validator("tiers")
    @classmethod
    def tiers_make_sense(cls, tiers: list[TierIn]) -> list[TierIn]:
        problem = rules.tiers_problem(tuple(Tier(t.max_loss_krw, t.payout_krw) for t in tiers))
        if problem:
            raise ValueError(problem)
        return tiers


class DriverIncomeParams(Input):
    service: Literal["taxi"] = "taxi"
    multiplier: Decimal = Field(default=Decimal("1.0"), ge=1, le=10, max_digits=6, decimal_places=3)


class DriverSupportParams(Input):
    service: Literal["designated"] = "designated"
    amount_krw: Krw = Field(gt=0, le=10_000_000)


class RiderCreditParams(Input):
    amount_krw: Krw = Field(gt=0, le=1_000_000)


class VoucherItemIn(Input):
    name: str = Field(min_length=1, max_length=80)
    valid_days: int | None = Field(ge=1, le=3650)


class VoucherParams(Input):
    items: list[VoucherItemIn] = Field(min_length=1, max_length=10)


class MessageCashParams(Input):
    amount_krw: Krw = Field(gt=0, le=10_000_000)
    budget_krw: Krw = Field(gt=0, le=MAX_AMOUNT_KRW)
    intake_closes_at: Moment | None = None

    @field_validator("budget_krw")
    @classmethod
    def budget_pays_one(cls, budget_krw: int, info: ValidationInfo) -> int:
        if budget_krw < info.data.get("amount_krw", 0):
            raise ValueError("must cover at least one amount_krw")
        return budget_krw


PARAMS: dict[ProgramKind, type[Input]] = {
    ProgramKind.BUSINESS_CLAIMS: BusinessClaimsParams, ProgramKind.DRIVER_INCOME: DriverIncomeParams,
    ProgramKind.DRIVER_SUPPORT: DriverSupportParams, ProgramKind.RIDER_CREDIT: RiderCreditParams,
    ProgramKind.VOUCHER: VoucherParams, ProgramKind.MESSAGE_CASH: MessageCashParams,
}
