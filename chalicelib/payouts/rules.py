"""The pure rules of paying out: a round's life, who may approve, how a round is cut, how money reaches each payee."""

from dataclasses import dataclass
from enum import StrEnum

from chalicelib.core.errors import AppError, Conflict, Forbidden
from chalicelib.core.states import Moves

# A chunk's claims, ledger entries, wallets, tier tallies and three counters fit one transaction (100 items).
CHUNK_CLAIMS = 25
MAX_ROUND_CLAIMS = 10_000
TRANSFER_KINDS = frozenset({"business_claims"})   # damage payouts go to the business's bank account


class RoundStatus(StrEnum):
    CREATING = "creating"
    PENDING_APPROVAL = "pending_approval"
    PAYING = "paying"
    PAID = "paid"
    ABANDONED = "abandoned"


R = RoundStatus
# action -> (statuses it may be taken from, status it leads to)
ROUND_MOVES = Moves(RoundStatus, {
    "cut": ({R.CREATING}, R.PENDING_APPROVAL),        # every chunk frozen (or settled after a crash)
    "abandon": ({R.CREATING}, R.ABANDONED),           # creating failed: claims given back
    "approve": ({R.PENDING_APPROVAL}, R.PAYING),
    "finish": ({R.PAYING}, R.PAID),                   # every claim of the round is paid
})
PAYABLE = frozenset({R.PAYING, R.PAID})   # workers may run chunks of these (a paid round's only to tell payees)


class IllegalTransition(Conflict):
    """An action that the round's current status does not allow (HTTP 409)."""


class ApprovalRefused(AppError):
    """Why an admin may not approve a round."""


class ApprovalForbidden(ApprovalRefused, Forbidden):
    """This admin may not approve this round, whatever its state (HTTP 403)."""


class NotPendingApproval(ApprovalRefused, IllegalTransition):
    """The round is not waiting for approval (HTTP 409)."""


def next_status(current: RoundStatus | str, action: str) -> RoundStatus:
    """The status a round in `current` moves to on `action`; IllegalTransition if not allowed."""
    target = ROUND_MOVES.after(current, action)
    if target is None:
        raise IllegalTransition(f"cannot {action} a round that is {current}")
    return target


@dataclass(frozen=True)
class Approver:
    sub: str
    is_approver: bool


def check_approval(approver: Approver, round_creator: str, round_status: str) -> None:
    """Four eyes: only an admin with the approver claim who did not create the round approves it, once."""
    if not approver.is_approver:
        raise ApprovalForbidden("approving a payout round needs the approver claim")
    if approver.sub == round_creator:
        raise ApprovalForbidden("the admin who created a round may not approve it")
    try:
        next_status(round_status, "approve")
    except IllegalTransition as exc:
        raise NotPendingApproval(f"the round is {round_status}, not pending approval") from exc


def chunks(items: list, size: int = CHUNK_CLAIMS) -> list[list]:
    """`items` cut into consecutive slices of at most `size`."""
    return [items[start:start + size] for start in range(0, len(items), size)]


def method_for(kind: str) -> str:
    """`transfer` for money sent out through the bank, `wallet` for credit on the platform."""
    return "transfer" if kind in TRANSFER_KINDS else "wallet"


def ledger_entry_id(claim_id: str) -> str:
    """The ledger entry of a claim: derived from it, so a second payment has nowhere to go."""
    return f"led_{claim_id.removeprefix('clm_')}"


def round_is_paid(claim_count: int, paid_count: int) -> bool:
    return paid_count >= claim_count
