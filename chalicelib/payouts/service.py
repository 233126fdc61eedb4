"""The one door to payouts, for routes and other domains: what admins, payees and queue workers do.

- rounds: an admin cuts a round, a second admin approves it (`rounds`);
- paying: queue workers pay each chunk of claims once, an admin re-queues what failed (`paying`);
- the money that moved: the ledger and payees' wallets (`ledger`);
- what overseers read: a program's final report and the audit log (`final_report`), the report of an
  incident across its programs (`incident_report`), and both as pages for people (`report`).
"""

from datetime import datetime

from chalicelib.compensation import service as compensation
from chalicelib.core.pages import page_language
from chalicelib.payouts.final_report import audit_log, program_report
from chalicelib.payouts.incident_report import incident_report, incident_report_html
from chalicelib.payouts.ledger import ledger, view_entry, wallet_of
from chalicelib.payouts.paying import PaymentsFailed, pay_chunk, retry_round
from chalicelib.payouts.report import report_html
from chalicelib.payouts.rounds import approve_round, create_round, round_detail, rounds_of, view_round

__all__ = [
    "PaymentsFailed",
    "approve_round",
    "audit_log",
    "create_round",
    "incident_report",
    "ledger",
    "page_language",
    "pay_chunk",
    "program_report",
    "retry_round",
    "round_detail",
    "rounds_of",
    "view_entry",
    "view_round",
    "wallet_of",
]


def program_report_page(program_id: str, lang: str, now: datetime) -> str:
    """The program's final report as a page for people, in `lang` (ko or en)."""
    tiers = compensation.program_detail(program_id)["params"].get("tiers", [])
    return report_html(program_report(program_id, now), tiers, lang)


def incident_report_page(incident_id: str, lang: str, now: datetime) -> str:
    """The incident's report across its programs as a page for people, in `lang` (ko or en)."""
    return incident_report_html(incident_report(incident_id, now), lang)
