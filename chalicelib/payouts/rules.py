"""The pure rules of paying out: who may approve, how a round is cut, how money reaches each payee."""

from dataclasses import dataclass

# A chunk's claims, ledger entries, wallets, tier tallies and three counters fit one transaction (100 items).
CHUNK_CLAIMS = 25
MAX_ROUND_CLAIMS = 10_000
TRANSFER_KINDS = frozenset({"business_claims"})   # damage payouts go to the business's bank account


class ApprovalRefused(Exception):
    """Why an admin may not approve a round; `status` is the HTTP answer it deserves."""

    def __init__(self, message: str, status: int):
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class Approver:
    sub: str
    is_approver: bool


def check_approval(approver: Approver, round_creator: str, round_status: str) -> None:
    """Four eyes: only an admin with the approver claim who did not create the round approves it, once."""
    if not approver.is_approver:
        raise ApprovalRefused("approving a payout round needs the approver claim", 403)
    if approver.sub == round_creator:
        raise ApprovalRefused("the admin who created a round may not approve it", 403)
    if round_status != "pending_approval":
        raise ApprovalRefused(f"the round is {round_status}, not pending approval", 409)


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
