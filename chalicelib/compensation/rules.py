"""The pure rules of compensation: tiers, the life of claims and programs, intake windows, lost income, vouchers.

No AWS, no clock: every function takes the moments it needs.
"""

import itertools
import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from enum import StrEnum
from fractions import Fraction

from chalicelib.core.errors import AppError, Conflict, InvalidInput
from chalicelib.core.states import Moves

MAX_EXTENSIONS = 3
INCOME_ROUNDING_KRW = 10
SAME_HOURS_LAST_WEEK = timedelta(days=7)
ONLINE_BEFORE_INCIDENT = timedelta(hours=1)
INDIVIDUAL = "individual"


class ProgramKind(StrEnum):
    BUSINESS_CLAIMS = "business_claims"
    DRIVER_INCOME = "driver_income"
    DRIVER_SUPPORT = "driver_support"
    RIDER_CREDIT = "rider_credit"
    VOUCHER = "voucher"
    MESSAGE_CASH = "message_cash"


AUTOMATIC_KINDS = (ProgramKind.DRIVER_INCOME, ProgramKind.DRIVER_SUPPORT, ProgramKind.RIDER_CREDIT)
CLAIMED_KINDS = (ProgramKind.BUSINESS_CLAIMS, ProgramKind.MESSAGE_CASH)
PAYEE_ROLE = {ProgramKind.BUSINESS_CLAIMS: "business", ProgramKind.MESSAGE_CASH: "business",
              ProgramKind.DRIVER_INCOME: "driver", ProgramKind.DRIVER_SUPPORT: "driver",
              ProgramKind.RIDER_CREDIT: "rider", ProgramKind.VOUCHER: "rider"}


class ProgramStatus(StrEnum):
    INTAKE_OPEN = "intake_open"        # claimed kinds, until the intake deadline
    INTAKE_CLOSED = "intake_closed"
    OPEN = "open"                      # vouchers: taken on demand, never closed
    TO_COMPUTE = "to_compute"          # automatic kinds, until the incident has ended
    COMPUTING = "computing"
    COMPUTED = "computed"


class ClaimStatus(StrEnum):
    SUBMITTED = "submitted"
    DOCUMENTS_REQUESTED = "documents_requested"
    APPROVED = "approved"
    REJECTED = "rejected"
    PAID = "paid"


class ClaimRuleError(AppError):
    """A review or filing that breaks a rule; `field` names the input at fault (None: the claim's state)."""

    def __init__(self, message: str, field: str | None = None):
        super().__init__(f"{field}: {message}" if field else message, fields={field: message} if field else None)
        self.field = field


class ClaimInputRefused(ClaimRuleError, InvalidInput):
    """A review whose input breaks a rule of the program (HTTP 400 naming the field)."""


class IllegalClaimMove(ClaimRuleError, Conflict):
    """A decision the claim's current status does not allow (HTTP 409)."""


class IllegalProgramMove(Conflict):
    """A step the program's current status does not allow (HTTP 409)."""


# --- tiers ------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Tier:
    """Losses up to `max_loss_krw` (and above the tier below) are paid `payout_krw`."""

    max_loss_krw: int
    payout_krw: int

    @property
    def label(self) -> str:
        return f"up_to_{self.max_loss_krw}"


DEFAULT_TIERS = (Tier(300_000, 30_000), Tier(500_000, 50_000))


def tier_for(loss_krw: int, tiers: tuple[Tier, ...]) -> Tier | None:
    """The tier a loss falls in (tiers sorted by bound), or None above the top tier (individual review)."""
    return next((tier for tier in tiers if loss_krw <= tier.max_loss_krw), None)


def tiers_problem(tiers: tuple[Tier, ...]) -> str | None:
    """Why a tier table makes no sense, or None: bounds must rise, and so must payouts, never above the bound."""
    if not tiers:
        return "at least one tier is needed"
    for lower, upper in itertools.pairwise(tiers):
        if upper.max_loss_krw <= lower.max_loss_krw:
            return "max_loss_krw must increase from tier to tier"
        if upper.payout_krw < lower.payout_krw:
            return "payout_krw must not decrease as losses grow"
    if any(tier.payout_krw > tier.max_loss_krw for tier in tiers):
        return "a tier may not pay more than its max_loss_krw"
    return None


def review_payout(loss_krw: int, tiers: tuple[Tier, ...], amount_krw: int | None) -> tuple[str, int]:
    """(tier label, payout) for approving a claim of `loss_krw`.

    A loss inside a tier takes the tier's amount (another `amount_krw` is refused); above the top tier the
    reviewer sets the amount, which is required and may not exceed the loss.
    """
    tier = tier_for(loss_krw, tiers)
    if tier is not None:
        if amount_krw is not None and amount_krw != tier.payout_krw:
            raise ClaimInputRefused(f"a loss of {loss_krw} KRW is paid the tier amount of {tier.payout_krw} KRW; "
                                 "leave amount_krw out", "amount_krw")
        return tier.label, tier.payout_krw
    if amount_krw is None:
        raise ClaimInputRefused(f"a loss above {tiers[-1].max_loss_krw} KRW needs the reviewed amount_krw",
                                "amount_krw")
    if amount_krw > loss_krw:
        raise ClaimInputRefused("the payout may not exceed the claimed loss", "amount_krw")
    return INDIVIDUAL, amount_krw


# --- a claim's life ---------------------------------------------------------------------------------------

C = ClaimStatus
# decision -> (statuses it may be taken in, status it leads to); approved, rejected and paid never move back
CLAIM_MOVES = Moves(ClaimStatus, {
    "approve": ({C.SUBMITTED}, C.APPROVED),
    "reject": ({C.SUBMITTED, C.DOCUMENTS_REQUESTED}, C.REJECTED),
    "request_documents": ({C.SUBMITTED}, C.DOCUMENTS_REQUESTED),
    "supplement": ({C.DOCUMENTS_REQUESTED}, C.SUBMITTED),
    "pay": ({C.APPROVED}, C.PAID),
})


def next_claim_status(status: str, decision: str) -> ClaimStatus:
    """The claim's status after `decision`; IllegalClaimMove when its status does not allow it (nor any, if unknown)."""
    target = CLAIM_MOVES.after(status, decision)
    if target is None:
        raise IllegalClaimMove(f"a claim that is {status} cannot take '{decision}'")
    return target


# --- a program's life -------------------------------------------------------------------------------------

P = ProgramStatus
# step -> (statuses it may be taken in, status it leads to); a stalled computation is started again, and the
# last two chains of a computation may both finish it
PROGRAM_MOVES = Moves(ProgramStatus, {
    "close_intake": ({P.INTAKE_OPEN}, P.INTAKE_CLOSED),
    "start_computing": ({P.TO_COMPUTE, P.COMPUTING}, P.COMPUTING),
    "finish_computing": ({P.COMPUTING, P.COMPUTED}, P.COMPUTED),
})


def first_program_status(kind: ProgramKind) -> ProgramStatus:
    """Claimed kinds open their intake, vouchers are open for taking, automatic kinds wait to be computed."""
    if kind in CLAIMED_KINDS:
        return P.INTAKE_OPEN
    return P.OPEN if kind == ProgramKind.VOUCHER else P.TO_COMPUTE


def next_program_status(status: str, step: str) -> ProgramStatus:
    """The program's status after `step`; IllegalProgramMove when its status does not allow it (nor any, if unknown)."""
    target = PROGRAM_MOVES.after(status, step)
    if target is None:
        raise IllegalProgramMove(f"a program that is {status} cannot take '{step}'")
    return target


# --- intake -----------------------------------------------------------------------------------------------

def intake_problem(now: datetime, opens_at: datetime | None, closes_at: datetime | None) -> str | None:
    """Why a claim filed at `now` is refused by the intake window, or None when it is open."""
    if opens_at is not None and now < opens_at:
        return "intake has not opened yet"
    if closes_at is not None and now >= closes_at:
        return "intake has closed"
    return None


def new_intake_problem(opens_at: datetime | None, closes_at: datetime | None, now: datetime) -> str | None:
    """Why a new program's claims intake makes no sense (it would never take a claim), or None."""
    if closes_at is None:
        return None
    if closes_at <= now:
        return "the intake would be closed already: must be in the future"
    if opens_at is not None and closes_at <= opens_at:
        return "must be after intake_opens_at"
    return None


def extension_problem(extensions: int, closes_at: datetime | None, new_closes_at: datetime,
                      now: datetime) -> tuple[str, str | None] | None:
    """Why an extension of the intake to `new_closes_at` is refused: (message, field or None for a 409)."""
    if closes_at is None:
        return "this program has no intake deadline to extend", None
    if now >= closes_at:
        return "intake has closed already", None
    if extensions >= MAX_EXTENSIONS:
        return f"intake was extended {MAX_EXTENSIONS} times already", None
    if new_closes_at <= closes_at:
        return "must be later than the current intake_closes_at", "intake_closes_at"
    return None


# --- entitlements -----------------------------------------------------------------------------------------

def income_in(start: datetime, end: datetime, hourly_krw: dict[datetime, int]) -> Fraction:
    """Income earned in [start, end) from hourly buckets (keyed by the hour's start); edge hours pro rata."""
    total = Fraction(0)
    for hour, amount in hourly_krw.items():
        overlap = min(end, hour + timedelta(hours=1)) - max(start, hour)
        if overlap > timedelta(0):
            total += Fraction(amount) * Fraction(int(overlap.total_seconds()), 3600)
    return total


def income_shortfall_payout(during: Fraction, week_before: Fraction, multiplier: Decimal) -> int:
    """`multiplier` x what the driver earned less than the same hours a week before, rounded up to 10 KRW."""
    shortfall = week_before - during
    if shortfall <= 0:
        return 0
    return math.ceil(shortfall * Fraction(multiplier) / INCOME_ROUNDING_KRW) * INCOME_ROUNDING_KRW


def support_window(incident_started_at: datetime) -> tuple[datetime, datetime]:
    """The hour before the incident: designated drivers online in it get the support payment."""
    return incident_started_at - ONLINE_BEFORE_INCIDENT, incident_started_at


def budget_allows(committed_krw: int, amount_krw: int, budget_krw: int | None) -> bool:
    """True when paying `amount_krw` more keeps the program within its budget (None: no budget)."""
    return budget_krw is None or committed_krw + amount_krw <= budget_krw


# --- vouchers ---------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class VoucherItem:
    name: str
    valid_days: int | None


def vouchers_for(items: tuple[VoucherItem, ...], taken_at: datetime) -> list[dict]:
    """The vouchers a rider gets when taking the pack at `taken_at`: permanent ones never expire."""
    return [{"name": item.name, "issued_at": taken_at,
             "expires_at": None if item.valid_days is None else taken_at + timedelta(days=item.valid_days)}
            for item in items]
