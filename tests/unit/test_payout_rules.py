"""The pure rules of paying out (four eyes, chunks, method, ledger ids) and the report page for people."""

import re

import pytest

from chalicelib.payouts import rules
from chalicelib.payouts.report import BAR_GAP, BAR_WIDTH, CHART_HEIGHT, bar_chart, report_html
from chalicelib.payouts.rules import (
    CHUNK_CLAIMS,
    ApprovalRefused,
    Approver,
    check_approval,
    chunks,
    ledger_entry_id,
    method_for,
    round_is_paid,
)

# --- who may approve --------------------------------------------------------------------------------------


def refusal(approver: Approver, creator: str = "ops-1", status: str = "pending_approval") -> ApprovalRefused:
    with pytest.raises(ApprovalRefused) as refused:
        check_approval(approver, creator, status)
    return refused.value


def test_an_admin_without_the_approver_claim_may_not_approve():
    assert refusal(Approver("ops-2", is_approver=False)).status == 403


def test_the_creator_may_not_approve_their_own_round_even_with_the_approver_claim():
    refused = refusal(Approver("ops-1", is_approver=True), creator="ops-1")
    assert refused.status == 403
    assert "created" in str(refused)


@pytest.mark.parametrize("status", ["creating", "paying", "paid", "abandoned"])
def test_a_round_not_pending_approval_is_a_conflict(status):
    refused = refusal(Approver("ops-2", is_approver=True), status=status)
    assert refused.status == 409
    assert status in str(refused)


def test_the_missing_claim_is_named_before_the_state():
    """Without the claim the answer is 403 whatever the round's state: no hint about rounds one may not act on."""
    assert refusal(Approver("ops-2", is_approver=False), status="paid").status == 403
    assert refusal(Approver("ops-1", is_approver=True), creator="ops-1", status="paid").status == 403


def test_another_admin_with_the_approver_claim_approves_a_pending_round():
    assert check_approval(Approver("ops-2", is_approver=True), "ops-1", "pending_approval") is None


# --- cutting a round --------------------------------------------------------------------------------------


@pytest.mark.parametrize(("count", "size", "lengths"), [
    (0, 25, []), (1, 25, [1]), (25, 25, [25]), (26, 25, [25, 1]), (50, 25, [25, 25]), (51, 25, [25, 25, 1]),
    (7, 3, [3, 3, 1]), (6, 3, [3, 3]), (5, 1, [1, 1, 1, 1, 1]),
])
def test_chunks_are_consecutive_slices_of_at_most_the_size(count, size, lengths):
    items = list(range(count))
    cut = chunks(items, size)
    assert [len(chunk) for chunk in cut] == lengths
    assert [item for chunk in cut for item in chunk] == items


def test_chunks_default_to_what_fits_one_transaction():
    assert CHUNK_CLAIMS == 25
    # claims + ledger entries + wallets + program, round, chunk and a tier tally fit DynamoDB's 100 items
    assert 3 * CHUNK_CLAIMS + 4 <= 100
    assert [len(c) for c in chunks(list(range(60)))] == [25, 25, 10]


@pytest.mark.parametrize(("kind", "method"), [
    ("business_claims", "transfer"), ("message_cash", "wallet"), ("rider_credit", "wallet"),
    ("driver_income", "wallet"), ("driver_support", "wallet"),
])
def test_damage_payouts_are_bank_transfers_and_the_rest_wallet_credit(kind, method):
    assert method_for(kind) == method


def test_a_ledger_entry_id_is_derived_from_the_claim():
    assert ledger_entry_id("clm_01GFAB") == "led_01GFAB"
    assert ledger_entry_id("clm_01GFAB") == ledger_entry_id("clm_01GFAB")
    assert ledger_entry_id("clm_01GFAB") != ledger_entry_id("clm_01GFAC")


def test_a_ledger_entry_id_only_drops_the_claim_prefix_at_the_start():
    assert ledger_entry_id("clm_x_clm_y") == "led_x_clm_y"
    assert ledger_entry_id("other") == "led_other"


@pytest.mark.parametrize(("claims", "paid", "done"), [(3, 0, False), (3, 2, False), (3, 3, True), (1, 1, True)])
def test_a_round_is_paid_when_every_claim_is(claims, paid, done):
    assert round_is_paid(claims, paid) is done


def test_a_round_is_capped():
    assert rules.MAX_ROUND_CLAIMS == 10_000


# --- the report for people --------------------------------------------------------------------------------


def a_report(**changes) -> dict:
    report = {
        "program_id": "prg_1", "name": "Pangyo fire <damage> & co", "kind": "business_claims", "incident_id": "inc_1",
        "generated_at": "2022-10-15T06:33:00Z", "claims_filed": 7, "approved": 5, "rejected": 1, "pending": 1,
        "paid_count": 4, "paid_krw": 1_230_000, "budget_krw": 5_000_000, "budget_left_krw": 3_770_000,
        "by_tier": {"up_to_300000": {"approved": 3, "approved_krw": 90_000, "paid": 3, "paid_krw": 90_000},
                    "individual": {"approved": 2, "approved_krw": 1_640_000, "paid": 1, "paid_krw": 1_140_000}},
        "rounds": [{"round_id": "rnd_1", "status": "paid", "claim_count": 3, "paid_count": 3, "total_krw": 90_000,
                    "paid_krw": 90_000, "approved_at": "2022-10-15T07:00:00Z", "paid_at": "2022-10-15T07:01:00Z"},
                   {"round_id": "rnd_<2>", "status": "paying", "claim_count": 2, "paid_count": 1,
                    "total_krw": 1_640_000, "paid_krw": 1_140_000, "approved_at": "2022-10-15T08:00:00Z",
                    "paid_at": None}],
    }
    return {**report, **changes}


def svgs(page: str) -> list[str]:
    return re.findall(r"<svg\b.*?</svg>", page, flags=re.S)


def test_the_report_page_escapes_names_and_ids():
    page = report_html(a_report())
    assert "Pangyo fire &lt;damage&gt; &amp; co" in page
    assert "<damage>" not in page
    assert "rnd_&lt;2&gt;" in page
    assert "rnd_<2>" not in page
    assert page.startswith("<!doctype html>")
    assert page.count("<title>Pangyo fire &lt;damage&gt; &amp; co: compensation report</title>") == 1


def test_a_tier_name_is_escaped_in_the_chart_too():
    page = report_html(a_report(by_tier={"<b>": {"approved": 1, "approved_krw": 5, "paid": 1, "paid_krw": 5}}))
    assert "<b>" not in page
    assert "&lt;b&gt;" in svgs(page)[1]


def test_the_report_page_has_one_chart_per_round_and_one_per_tier_with_one_bar_each():
    page = report_html(a_report())
    per_round, per_tier = svgs(page)
    assert per_round.count("<rect") == 2
    assert per_tier.count("<rect") == 2
    assert "Paid per round (KRW)" in page
    assert "Paid per tier (KRW)" in page
    assert "Round 1: 90,000 KRW" in per_round
    assert "Round 2: 1,140,000 KRW" in per_round
    assert "up_to_300000: 90,000 KRW" in per_tier
    assert "individual: 1,140,000 KRW" in per_tier


def test_the_report_page_formats_amounts_with_thousands_separators():
    page = report_html(a_report())
    for amount in ("1,230,000", "5,000,000", "3,770,000", "1,640,000"):
        assert f"<td>{amount}</td>" in page
    assert "<td>1230000</td>" not in page


def test_the_report_page_shows_a_dash_for_no_budget_and_blank_for_unpaid_rounds():
    page = report_html(a_report(budget_krw=None, budget_left_krw=None))
    assert "<td>Budget (KRW)</td><td>-</td>" in page
    assert "<td>Budget left (KRW)</td><td>-</td>" in page
    assert "<td>2022-10-15T08:00:00Z</td><td></td></tr>" in page  # round 2 is not paid yet


def test_a_report_without_rounds_or_tiers_still_has_both_charts_and_no_bars():
    page = report_html(a_report(by_tier={}, rounds=[]))
    assert [chart.count("<rect") for chart in svgs(page)] == [0, 0]


def bars(chart: str) -> list[tuple[int, int]]:
    """(y, height) of each bar."""
    return [(int(y), int(h)) for y, h in re.findall(r'<rect x="\d+" y="(-?\d+)" width="\d+" height="(-?\d+)"', chart)]


def test_a_bar_chart_of_zero_amounts_does_not_divide_by_zero():
    chart = bar_chart("Paid per round (KRW)", [("Round 1", 0), ("Round 2", 0)])
    assert bars(chart) == [(20 + CHART_HEIGHT, 0), (20 + CHART_HEIGHT, 0)]
    assert chart.count(">0</text>") == 2


def test_a_bar_chart_of_nothing_is_an_empty_chart():
    chart = bar_chart("Nothing", [])
    assert "<rect" not in chart
    assert f'width="{BAR_WIDTH + 2 * BAR_GAP}"' in chart


def test_the_tallest_bar_fills_the_chart_and_the_others_are_in_proportion():
    chart = bar_chart("T", [("a", 50_000), ("b", 100_000), ("c", 25_000)])
    assert [height for _, height in bars(chart)] == [CHART_HEIGHT // 2, CHART_HEIGHT, CHART_HEIGHT // 4]
    assert all(y + height == 20 + CHART_HEIGHT for y, height in bars(chart))
    assert f'width="{3 * (BAR_WIDTH + BAR_GAP) + BAR_GAP}"' in chart
    assert "100,000" in chart
    assert "a: 50,000 KRW" in chart


def test_a_bar_chart_escapes_its_title_and_labels():
    chart = bar_chart('"Q" & <A>', [("<x>", 1)])
    assert "<A>" not in chart
    assert "<x>" not in chart
    assert 'aria-label="&quot;Q&quot; &amp; &lt;A&gt;"' in chart
