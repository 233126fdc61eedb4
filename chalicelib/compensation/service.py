"""Compensation's one door: the routes and other domains (payouts, the entitlements job) use only this module.

What users do lives by what they do it with: `programs.py` (set up, read, extend, close intake), `claims.py`
(filing, review, documents), `vouchers.py` (riders taking packs), and `claim_book.py`, the approved claims,
payments and counters that payouts and entitlements keep. Entitlements computed for drivers and riders live
in `entitlements.py`.
"""

from chalicelib.compensation.claim_book import (
    approved_entitlement,
    claim_of,
    claims_by_ids,
    count_entitlements_in,
    count_paid_in,
    mark_announced,
    paid_unannounced,
    pay_in,
    payable_claims,
    release_from_round,
    take_into_round_in,
    tier_tallies,
)
from chalicelib.compensation.claims import claim_for, file_claim, list_claims, my_claims, review, supplement
from chalicelib.compensation.programs import (
    close_intake,
    create_program,
    extend_intake,
    params_of,
    program_detail,
    program_of,
    programs_of_incident,
    tiers_of,
)
from chalicelib.compensation.views import view_claim, view_program
from chalicelib.compensation.vouchers import my_vouchers, take_vouchers

__all__ = [
    "approved_entitlement", "claim_for", "claim_of", "claims_by_ids", "close_intake", "count_entitlements_in",
    "count_paid_in", "create_program", "extend_intake", "file_claim", "list_claims", "mark_announced", "my_claims",
    "my_vouchers", "paid_unannounced", "params_of", "pay_in", "payable_claims", "program_detail", "program_of",
    "programs_of_incident",
    "release_from_round", "review", "supplement", "take_into_round_in", "take_vouchers", "tier_tallies", "tiers_of",
    "view_claim", "view_program",
]
