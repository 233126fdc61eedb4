"""The pure rules of compensation: tiers, the claim's life, intake windows, lost income, vouchers."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from fractions import Fraction
from itertools import product

import pytest

from chalicelib.compensation import rules
from chalicelib.compensation.rules import (
    DEFAULT_TIERS,
    INDIVIDUAL,
    MAX_EXTENSIONS,
    ClaimRuleError,
    ClaimStatus,
    ProgramKind,
    Tier,
    VoucherItem,
    budget_allows,
    extension_problem,
    income_in,
    income_shortfall_payout,
    intake_problem,
    next_claim_status,
    review_payout,
    support_window,
    tier_for,
    tiers_problem,
    vouchers_for,
)

FIRE = datetime(2022, 10, 15, 6, 33, tzinfo=UTC)
OPENS, CLOSES = datetime(2022, 10, 20, tzinfo=UTC), datetime(2022, 11, 20, tzinfo=UTC)
DECISIONS = ("approve", "reject", "request_documents", "supplement")
ALLOWED = {
    ("approve", "submitted"): "approved",
    ("reject", "submitted"): "rejected",
    ("reject", "documents_requested"): "rejected",
    ("request_documents", "submitted"): "documents_requested",
    ("supplement", "documents_requested"): "submitted",
}


def at(hour: int, minute: int = 0, day: int = 15) -> datetime:
    return datetime(2022, 10, day, hour, minute, tzinfo=UTC)


# --- tiers ------------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("loss", "payout"), [
    (0, 30_000), (1, 30_000), (300_000, 30_000), (300_001, 50_000), (499_999, 50_000), (500_000, 50_000),
])
def test_a_loss_inside_a_default_tier_is_paid_the_tiers_amount(loss, payout):
    assert tier_for(loss, DEFAULT_TIERS).payout_krw == payout
    assert review_payout(loss, DEFAULT_TIERS, None) == (f"up_to_{300_000 if payout == 30_000 else 500_000}", payout)


@pytest.mark.parametrize("loss", [500_001, 10_000_000])
def test_a_loss_above_the_top_tier_is_in_no_tier(loss):
    assert tier_for(loss, DEFAULT_TIERS) is None


def test_the_default_tiers_are_those_of_the_source_report():
    assert [(t.max_loss_krw, t.payout_krw) for t in DEFAULT_TIERS] == [(300_000, 30_000), (500_000, 50_000)]
    assert [t.label for t in DEFAULT_TIERS] == ["up_to_300000", "up_to_500000"]
    assert tiers_problem(DEFAULT_TIERS) is None


def test_tiers_of_a_custom_table_are_found_by_their_upper_bound():
    tiers = (Tier(100, 10), Tier(1_000, 100), Tier(10_000, 1_000))
    assert [tier_for(loss, tiers) for loss in (100, 101, 1_000, 1_001, 10_000, 10_001)] == [
        tiers[0], tiers[1], tiers[1], tiers[2], tiers[2], None]


def test_a_tier_claim_may_be_approved_with_its_own_tier_amount_sent_again():
    assert review_payout(300_000, DEFAULT_TIERS, 30_000) == ("up_to_300000", 30_000)


@pytest.mark.parametrize(("loss", "amount"), [(300_000, 50_000), (300_001, 30_000), (1, 1), (500_000, 49_990)])
def test_another_amount_on_a_tier_claim_is_refused_naming_amount_krw(loss, amount):
    with pytest.raises(ClaimRuleError) as refused:
        review_payout(loss, DEFAULT_TIERS, amount)
    assert refused.value.field == "amount_krw"
    assert "tier amount" in str(refused.value)


def test_a_loss_above_the_top_tier_needs_the_reviewed_amount():
    with pytest.raises(ClaimRuleError) as refused:
        review_payout(500_001, DEFAULT_TIERS, None)
    assert refused.value.field == "amount_krw"
    assert "500000" in str(refused.value)


@pytest.mark.parametrize("amount", [1, 123_456, 500_001])
def test_a_reviewed_amount_up_to_the_loss_is_paid_as_an_individual_decision(amount):
    assert review_payout(500_001, DEFAULT_TIERS, amount) == (INDIVIDUAL, amount)


def test_a_reviewed_amount_above_the_loss_is_refused():
    with pytest.raises(ClaimRuleError) as refused:
        review_payout(600_000, DEFAULT_TIERS, 600_001)
    assert refused.value.field == "amount_krw"


@pytest.mark.parametrize(("tiers", "problem"), [
    ((), "at least one tier"),
    ((Tier(500_000, 50_000), Tier(300_000, 30_000)), "max_loss_krw must increase"),
    ((Tier(300_000, 30_000), Tier(300_000, 50_000)), "max_loss_krw must increase"),
    ((Tier(300_000, 50_000), Tier(500_000, 30_000)), "payout_krw must not decrease"),
    ((Tier(1_000, 2_000),), "may not pay more than its max_loss_krw"),
    ((Tier(300_000, 30_000), Tier(500_000, 500_001)), "may not pay more than its max_loss_krw"),
])
def test_a_tier_table_that_makes_no_sense_is_explained(tiers, problem):
    assert problem in tiers_problem(tiers)


@pytest.mark.parametrize("tiers", [
    (Tier(1, 1),), (Tier(300_000, 30_000), Tier(500_000, 30_000)), (Tier(10, 10), Tier(20, 20), Tier(30, 30)),
])
def test_sensible_tier_tables_pass(tiers):
    assert tiers_problem(tiers) is None


# --- a claim's life ---------------------------------------------------------------------------------------

@pytest.mark.parametrize(("decision", "status"), sorted(ALLOWED))
def test_each_allowed_move_of_a_claim(decision, status):
    assert next_claim_status(status, decision) == ClaimStatus(ALLOWED[(decision, status)])


@pytest.mark.parametrize(("decision", "status"),
                         [pair for pair in product(DECISIONS, list(ClaimStatus)) if pair not in ALLOWED])
def test_every_other_move_is_refused_as_a_state_conflict(decision, status):
    with pytest.raises(ClaimRuleError) as refused:
        next_claim_status(status, decision)
    assert refused.value.field is None
    assert str(status) in str(refused.value)


@pytest.mark.parametrize("final", ["approved", "rejected", "paid"])
def test_a_claim_never_moves_back_from_approved_rejected_or_paid(final):
    for decision in DECISIONS:
        with pytest.raises(ClaimRuleError):
            next_claim_status(final, decision)


def test_an_unknown_decision_is_refused_not_crashed():
    with pytest.raises(ClaimRuleError):
        next_claim_status("submitted", "pay_twice")


def test_claimed_and_automatic_kinds_and_who_is_paid():
    assert set(rules.AUTOMATIC_KINDS) | set(rules.CLAIMED_KINDS) | {ProgramKind.VOUCHER} == set(ProgramKind)
    assert not set(rules.AUTOMATIC_KINDS) & set(rules.CLAIMED_KINDS)
    assert {kind: rules.PAYEE_ROLE[kind] for kind in ProgramKind} == {
        "business_claims": "business", "message_cash": "business", "driver_income": "driver",
        "driver_support": "driver", "rider_credit": "rider", "voucher": "rider"}


# --- intake -----------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("now", "problem"), [
    (OPENS - timedelta(seconds=1), "not opened"),
    (OPENS, None),
    (CLOSES - timedelta(microseconds=1), None),
    (CLOSES, "closed"),
    (CLOSES + timedelta(days=100), "closed"),
])
def test_claims_are_taken_from_the_opening_up_to_but_not_at_the_deadline(now, problem):
    found = intake_problem(now, OPENS, CLOSES)
    assert found is None if problem is None else problem in found


def test_an_intake_without_bounds_is_always_open():
    assert intake_problem(FIRE, None, None) is None
    assert intake_problem(FIRE + timedelta(days=3650), OPENS, None) is None
    assert intake_problem(FIRE - timedelta(days=3650), None, CLOSES) is None


def test_the_intake_may_be_extended_three_times_then_no_more():
    closes = CLOSES
    for extensions in range(MAX_EXTENSIONS):
        later = closes + timedelta(days=30)
        assert extension_problem(extensions, closes, later, FIRE) is None
        closes = later
    assert MAX_EXTENSIONS == 3
    message, field = extension_problem(3, closes, closes + timedelta(days=30), FIRE)
    assert field is None, "a fourth extension is a conflict, not bad input"
    assert "3 times" in message


@pytest.mark.parametrize("new_closes_at", [CLOSES, CLOSES - timedelta(seconds=1), OPENS])
def test_an_extension_to_the_same_or_an_earlier_deadline_is_refused_naming_the_field(new_closes_at):
    message, field = extension_problem(0, CLOSES, new_closes_at, FIRE)
    assert field == "intake_closes_at"
    assert "later" in message


@pytest.mark.parametrize("now", [CLOSES, CLOSES + timedelta(days=1)])
def test_an_intake_that_has_closed_cannot_be_extended(now):
    message, field = extension_problem(0, CLOSES, CLOSES + timedelta(days=30), now)
    assert field is None
    assert "closed" in message


def test_a_program_without_a_deadline_has_nothing_to_extend():
    assert extension_problem(0, None, CLOSES, FIRE) == ("this program has no intake deadline to extend", None)


@pytest.mark.parametrize(("opens_at", "closes_at", "now", "problem"), [
    (OPENS, CLOSES, FIRE, None),
    (None, CLOSES, FIRE, None),
    (OPENS, None, FIRE, None),
    (FIRE - timedelta(days=30), FIRE + timedelta(seconds=1), FIRE, None),
    (FIRE - timedelta(days=30), FIRE, FIRE, "closed already"),
    (FIRE - timedelta(days=30), FIRE - timedelta(days=1), FIRE, "closed already"),
    (None, FIRE - timedelta(days=1), FIRE, "closed already"),
    (CLOSES, OPENS, FIRE, "after intake_opens_at"),
    (CLOSES, CLOSES, FIRE, "after intake_opens_at"),
])
def test_a_new_programs_intake_must_close_in_the_future_and_after_it_opens(opens_at, closes_at, now, problem):
    found = rules.new_intake_problem(opens_at, closes_at, now)
    assert found is None if problem is None else problem in found


# --- lost income ------------------------------------------------------------------------------------------

def test_income_in_takes_edge_hours_pro_rata_and_whole_hours_whole():
    buckets = {at(14): 99_999, at(15): 6_000, at(16): 12_000, at(17): 9_000, at(18): 6_000, at(19): 99_999}
    # 15:33-18:10: 27/60 of 15h, all of 16h and 17h, 10/60 of 18h; 14h and 19h are outside
    assert income_in(at(15, 33), at(18, 10), buckets) == 2_700 + 12_000 + 9_000 + 1_000


def test_income_in_keeps_fractions_exact():
    assert income_in(at(15, 33), at(16), {at(15): 1_000}) == Fraction(1_000 * 27, 60)
    assert income_in(at(15, 33), at(15, 34), {at(15): 1}) == Fraction(1, 60)


def test_income_in_a_window_inside_one_hour():
    assert income_in(at(15, 10), at(15, 40), {at(15): 6_000}) == 3_000


def test_income_in_counts_nothing_outside_the_window_nor_for_missing_hours():
    assert income_in(at(15), at(16), {at(14): 5_000, at(16): 5_000}) == 0
    assert income_in(at(15), at(18), {}) == 0
    assert income_in(at(15), at(15), {at(15): 5_000}) == 0


def test_income_in_spans_midnight():
    assert income_in(at(23, 30), at(0, 30, day=16), {at(23): 6_000, at(0, day=16): 6_000}) == 6_000


@pytest.mark.parametrize(("during", "before"), [(10_000, 10_000), (10_001, 10_000), (50_000, 0), (0, 0)])
def test_no_shortfall_pays_nothing(during, before):
    assert income_shortfall_payout(Fraction(during), Fraction(before), Decimal("1.5")) == 0


@pytest.mark.parametrize(("shortfall", "multiplier", "payout"), [
    (12_340, "1.0", 12_340),
    (12_341, "1.0", 12_350),
    (12_349, "1.0", 12_350),
    (12_350, "1.0", 12_350),
    (1, "1.0", 10),
    (20_000, "1.5", 30_000),
    (12_341, "1.5", 18_520),   # 18,511.5 -> 18,520
    (12_340, "1.5", 18_510),
    (10_000, "1.25", 12_500),
    (3, "1.5", 10),            # 4.5 -> 10
])
def test_the_shortfall_times_the_multiplier_is_rounded_up_to_10_krw(shortfall, multiplier, payout):
    assert income_shortfall_payout(Fraction(0), Fraction(shortfall), Decimal(multiplier)) == payout
    assert income_shortfall_payout(Fraction(1_000), Fraction(1_000 + shortfall), Decimal(multiplier)) == payout


def test_a_fractional_shortfall_is_rounded_up_not_down():
    # 24,700.5 earned a week before, 3,800 during: 20,900.5 short -> 20,910
    assert income_shortfall_payout(Fraction(3_800), Fraction(49_401, 2), Decimal("1.0")) == 20_910
    assert income_shortfall_payout(Fraction(0), Fraction(1, 60), Decimal("1.0")) == 10


def test_the_hour_before_the_incident_is_the_support_window():
    assert support_window(at(9)) == (at(8), at(9))
    assert support_window(at(0, 20)) == (at(23, 20, day=14), at(0, 20))


# --- budgets and vouchers ---------------------------------------------------------------------------------

@pytest.mark.parametrize(("committed", "amount", "budget", "allowed"), [
    (0, 30_000, 60_000, True),
    (30_000, 30_000, 60_000, True),
    (30_001, 30_000, 60_000, False),
    (60_000, 1, 60_000, False),
    (0, 60_001, 60_000, False),
    (10**12, 10**9, None, True),
])
def test_the_budget_allows_paying_up_to_exactly_the_budget(committed, amount, budget, allowed):
    assert budget_allows(committed, amount, budget) is allowed


def test_a_voucher_pack_has_one_permanent_voucher_and_two_for_90_days():
    items = (VoucherItem("Ryan forever", None), VoucherItem("Apeach 90", 90), VoucherItem("Muzi 90", 90))
    taken_at = datetime(2022, 10, 20, 12, 0, 30, tzinfo=UTC)
    vouchers = vouchers_for(items, taken_at)
    assert [v["name"] for v in vouchers] == ["Ryan forever", "Apeach 90", "Muzi 90"]
    assert [v["issued_at"] for v in vouchers] == [taken_at] * 3
    in_90_days = datetime(2023, 1, 18, 12, 0, 30, tzinfo=UTC)
    assert [v["expires_at"] for v in vouchers] == [None, in_90_days, in_90_days]


def test_vouchers_depend_only_on_the_items_and_the_moment():
    items = (VoucherItem("a", 1), VoucherItem("b", None))
    assert vouchers_for(items, FIRE) == vouchers_for(items, FIRE)
    assert vouchers_for(items, FIRE)[0]["expires_at"] == FIRE + timedelta(days=1)
    assert vouchers_for((), FIRE) == []
