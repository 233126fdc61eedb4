"""Routes of payout rounds, the ledger, wallets, the final report and the audit log."""

from __future__ import annotations

from typing import TYPE_CHECKING

from chalice import Response

from chalicelib.core import clock
from chalicelib.core.api import ApiBlueprint
from chalicelib.core.auth import Caller
from chalicelib.core.lazy import lazy_module

if TYPE_CHECKING:
    from chalicelib.payouts.schemas import AuditQuery, LedgerQuery, ReportQuery, RoundIn

service = lazy_module("chalicelib.payouts.service")
payouts = ApiBlueprint(__name__)
ADMIN = ["admin"]


@payouts.route("/payouts", methods=["POST"], roles=ADMIN, body="RoundIn", status=201, response="RoundOut",
               errors=[404])
def create_round(caller: Caller, body: RoundIn, idempotency_key: str | None):
    """Cut a payout round: the program's next approved, unpaid claims (in filing then review order).

    Send `Idempotency-Key` to make a retry safe: the same key and body return the first answer.
    """
    return service.create_round(caller, body, idempotency_key, clock.now())


@payouts.route("/payouts/{round_id}/approve", methods=["POST"], roles=ADMIN, status=202, response="RoundOut",
               errors=[409])
def approve_round(round_id: str, caller: Caller):
    """Approve a round (admins with the `approver` claim, not its creator); payment starts in the background."""
    return service.approve_round(caller, round_id, clock.now())


@payouts.route("/payouts/{round_id}/retry", methods=["POST"], roles=ADMIN, status=202, response="RetriedRound",
               errors=[409])
def retry_round(round_id: str, caller: Caller):
    """Queue again the unpaid claims of a paying round after failures."""
    return service.retry_round(caller, round_id)


@payouts.route("/payouts/{round_id}", methods=["GET"], roles=ADMIN, response="RoundOut")
def get_round(round_id: str):
    """A round's progress: claims, paid, failed, totals."""
    return service.round_detail(round_id)


@payouts.route("/programs/{program_id}/report", methods=["GET"], roles=ADMIN, query="ReportQuery",
               response="ProgramReport", media_type="text/html")
def report(program_id: str, query: ReportQuery):
    """The program's final report; `?format=html` renders it for people, with charts (Korean, or English with
    `?lang=en` or `Accept-Language: en`)."""
    if query.format == "html":
        return _page(service.program_report_page(program_id, _language(query), clock.now()))
    return service.program_report(program_id, clock.now())


@payouts.route("/incidents/{incident_id}/report", methods=["GET"], roles=["admin", "auditor"], query="ReportQuery",
               response="IncidentReport", media_type="text/html")
def incident_report(incident_id: str, query: ReportQuery):
    """Every compensation program of the incident with its beneficiaries and KRW, in one page for the council
    with `?format=html` (Korean, or English with `?lang=en` or `Accept-Language: en`)."""
    if query.format == "html":
        return _page(service.incident_report_page(incident_id, _language(query), clock.now()))
    return service.incident_report(incident_id, clock.now())


def _language(query: ReportQuery) -> str:
    return service.page_language(query.lang, payouts.current_request.headers.get("accept-language"))


def _page(html: str) -> Response:
    return Response(body=html, status_code=200, headers={"Content-Type": "text/html; charset=utf-8",
                                                          "Vary": "Accept-Language"})


@payouts.route("/ledger", methods=["GET"], roles=ADMIN, query="LedgerQuery", response="LedgerPage")
def ledger(query: LedgerQuery):
    """Every payment of a program: one entry per paid claim."""
    return service.ledger(query)


@payouts.route("/me/wallet", methods=["GET"], roles=["rider", "driver", "business"], response="Wallet")
def my_wallet(caller: Caller):
    """Your balance of credits and compensation on the platform."""
    return service.wallet_of(caller)


@payouts.route("/audit", methods=["GET"], roles=ADMIN, query="AuditQuery", response="AuditPage")
def audit_log(query: AuditQuery):
    """Who did what, when: one UTC day (`?day=`, default today), oldest first."""
    return service.audit_log(query.day or clock.now().date(), query.limit, query.cursor)


@payouts.task("pay-round-chunk")
def pay_round_chunk(payload: dict) -> None:
    """A queued chunk of an approved round: pay each of its claims once."""
    service.pay_chunk(payload)
