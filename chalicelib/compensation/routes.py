"""Routes of compensation programs, business claims and vouchers, and the intake and entitlement jobs."""

from __future__ import annotations

from typing import TYPE_CHECKING

from chalicelib.core import clock
from chalicelib.core.api import ApiBlueprint
from chalicelib.core.auth import Caller
from chalicelib.core.lazy import lazy_module

if TYPE_CHECKING:
    from chalicelib.compensation.schemas import ClaimIn, ClaimListQuery, DocumentsIn, ExtendIn, ProgramIn, ReviewIn
    from chalicelib.core.schemas import PageQuery

service = lazy_module("chalicelib.compensation.service")
entitlements = lazy_module("chalicelib.compensation.entitlements")

compensation = ApiBlueprint(__name__)
ADMIN, BUSINESS, RIDER = ["admin"], ["business"], ["rider"]


@compensation.route("/programs", methods=["POST"], roles=ADMIN, body="ProgramIn", status=201,
                    response="ProgramOut", errors=[404])
def create_program(caller: Caller, body: ProgramIn):
    """Set up a compensation program for an incident: `kind` decides which `params` it takes."""
    return service.create_program(caller, body, clock.now())


@compensation.route("/programs/{program_id}", methods=["GET"], roles=ADMIN, response="ProgramOut")
def get_program(program_id: str):
    """A program with its counts."""
    return service.program_detail(program_id)


@compensation.route("/programs/{program_id}/extend", methods=["POST"], roles=ADMIN, body="ExtendIn",
                    response="ProgramOut", errors=[409])
def extend(program_id: str, caller: Caller, body: ExtendIn):
    """Extend the claim intake (at most three times)."""
    return service.extend_intake(caller, program_id, body, clock.now())


@compensation.route("/programs/{program_id}/claims", methods=["POST"], roles=BUSINESS, body="ClaimIn", status=201,
                    response="ClaimOut", errors=[409])
def file_claim(program_id: str, caller: Caller, body: ClaimIn, idempotency_key: str | None):
    """File a damage claim (or apply for message cash) for your own business.

    Send `Idempotency-Key` to make a retry safe: the same key and body return the first answer.
    """
    return service.file_claim(caller, program_id, body, idempotency_key, clock.now())


@compensation.route("/programs/{program_id}/claims", methods=["GET"], roles=ADMIN, query="ClaimListQuery",
                    response="ClaimPage")
def list_claims(program_id: str, query: ClaimListQuery):
    """The program's claims in one `?status=` (default `submitted`), in filing order."""
    return service.list_claims(program_id, query)


@compensation.route("/claims/{claim_id}", methods=["GET"], roles=["business", "driver", "rider", "admin"],
                    response="ClaimOut")
def get_claim(claim_id: str, caller: Caller):
    """One claim or entitlement: its payee's own, or any for admins."""
    return service.claim_for(caller, claim_id)


@compensation.route("/claims/{claim_id}/documents", methods=["POST"], roles=BUSINESS, body="DocumentsIn",
                    response="ClaimOut", errors=[409])
def add_documents(claim_id: str, caller: Caller, body: DocumentsIn):
    """Send the documents a reviewer asked for; the claim returns to review."""
    return service.supplement(caller, claim_id, body, clock.now())


@compensation.route("/claims/{claim_id}/review", methods=["POST"], roles=ADMIN, body="ReviewIn",
                    response="ClaimOut", errors=[409])
def review(claim_id: str, caller: Caller, body: ReviewIn):
    """Approve, reject (with a reason) or ask for documents."""
    return service.review(caller, claim_id, body, clock.now())


@compensation.route("/me/claims", methods=["GET"], roles=["business", "driver", "rider"], query="PageQuery",
                    response="ClaimPage")
def my_claims(caller: Caller, query: PageQuery):
    """Your claims and entitlements across programs, newest first."""
    return service.my_claims(caller, query)


@compensation.route("/programs/{program_id}/vouchers/claim", methods=["POST"], roles=RIDER, response="VoucherPack",
                    errors=[409])
def take_vouchers(program_id: str, caller: Caller):
    """Take the program's voucher pack; taking it again returns the same vouchers."""
    return service.take_vouchers(caller.sub, program_id, clock.now())


@compensation.route("/me/vouchers", methods=["GET"], roles=RIDER, query="PageQuery", response="VoucherPage")
def my_vouchers(caller: Caller, query: PageQuery):
    """The vouchers you took."""
    return service.my_vouchers(caller.sub, query)


@compensation.job("close-intake", every_minutes=60)
def close_intake(now) -> dict:
    """Close the intake of programs whose deadline has passed."""
    return service.close_intake(now)


@compensation.job("compute-entitlements", every_minutes=60)
def compute_entitlements(now) -> dict:
    """Turn driver income, driver support and rider credit programs into approved entitlements."""
    return entitlements.compute_entitlements(now)


@compensation.task("compute-entitlements")
def continue_computing(payload: dict) -> None:
    """A queued chunk of a program's entitlements."""
    entitlements.continue_computing(payload)
