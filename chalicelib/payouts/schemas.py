"""Request shapes of payout rounds, the ledger, the report and the audit log."""

from datetime import date
from typing import Literal

from pydantic import Field

from chalicelib.core.schemas import Input, PageQuery
from chalicelib.payouts.rules import MAX_ROUND_CLAIMS


class RoundIn(Input):
    program_id: str = Field(min_length=1, max_length=80)
    max_claims: int | None = Field(default=None, ge=1, le=MAX_ROUND_CLAIMS)


class LedgerQuery(PageQuery):
    program_id: str = Field(min_length=1, max_length=80)


class ReportQuery(PageQuery):
    format: Literal["json", "html"] = "json"


class AuditQuery(PageQuery):
    day: date | None = Field(default=None, ge=date(2000, 1, 1), le=date(2099, 12, 31),
                             description="UTC day, YYYY-MM-DD; today when left out")
