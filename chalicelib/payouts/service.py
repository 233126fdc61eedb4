"""The one door to payouts, for routes and other domains: what admins, payees and queue workers do.

- rounds: an admin cuts a round, a second admin approves it (`rounds`);
- paying: queue workers pay each chunk of claims once, an admin re-queues what failed (`paying`);
- the money that moved: the ledger and payees' wallets (`ledger`);
- what overseers read: a program's final report and the audit log (`final_report`).
"""

from chalicelib.payouts.final_report import audit_log, program_report
from chalicelib.payouts.ledger import ledger, view_entry, wallet_of
from chalicelib.payouts.paying import PaymentsFailed, pay_chunk, retry_round
from chalicelib.payouts.rounds import approve_round, create_round, round_detail, rounds_of, view_round

__all__ = [
    "PaymentsFailed",
    "approve_round",
    "audit_log",
    "create_round",
    "ledger",
    "pay_chunk",
    "program_report",
    "retry_round",
    "round_detail",
    "rounds_of",
    "view_entry",
    "view_round",
    "wallet_of",
]
