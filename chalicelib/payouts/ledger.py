"""The money that moved: the ledger of a program (one entry per paid claim) and each payee's wallet."""

from pynamodb.exceptions import DoesNotExist

from chalicelib.core.auth import Caller
from chalicelib.core.clock import iso
from chalicelib.core.pagination import page_over
from chalicelib.payouts.models import LedgerEntry, Wallet
from chalicelib.payouts.schemas import LedgerQuery


def ledger(query: LedgerQuery) -> dict:
    """The ledger of one program, in entry order."""
    def entries(limit, last_key):
        return LedgerEntry.by_program.query(query.program_id, limit=limit, last_evaluated_key=last_key)

    items, cursor = page_over([entries], query.limit, query.cursor)
    return {"items": [view_entry(e) for e in items], "next": cursor}


def view_entry(entry: LedgerEntry) -> dict:
    """A ledger entry as the API shows it."""
    return {"entry_id": entry.entry_id, "claim_id": entry.claim_id, "payee_id": entry.payee_id,
            "amount_krw": int(entry.amount_krw), "round_id": entry.round_id, "program_id": entry.program_id,
            "method": entry.method, "transfer_id": entry.transfer_id, "created_at": iso(entry.created_at)}


def wallet_of(payee: Caller) -> dict:
    """The caller's balance of credits and compensation on the platform."""
    try:
        balance = int(Wallet.get(Wallet.owner_of(payee.role, payee.sub)).balance_krw)
    except DoesNotExist:
        balance = 0
    return {"payee_id": payee.sub, "balance_krw": balance}
