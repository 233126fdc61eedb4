"""The pure rules of paying out (four eyes, chunks, method, ledger ids) and the report page for people."""

import re

import pytest

from chalicelib.core.pages import krw
from chalicelib.payouts import rules
from chalicelib.payouts.report import report_html
from chalicelib.payouts.report_parts import BAR_HEIGHT, BAR_ROW, CHART_WIDTH, LABEL_GAP, bar_chart, table
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

TIERS = [{"max_loss_krw": 300_000, "payout_krw": 300_000}, {"max_loss_krw": 1_000_000, "payout_krw": 1_000_000}]


def tally(approved: int, approved_krw: int, paid: int, paid_krw: int) -> dict:
    return {"approved": approved, "approved_krw": approved_krw, "paid": paid, "paid_krw": paid_krw}


def a_report(**changes) -> dict:
    """The shape of `final_report.program_report`; tiers in the order DynamoDB keeps them (as strings)."""
    report = {
        "program_id": "prg_<1>", "name": "Pangyo fire <damage> & co", "kind": "business_claims",
        "incident_id": "inc_<1>", "window": {"started_at": "2022-10-15T06:33:00Z", "ended_at": "2022-10-15T16:10:00Z"},
        "claims_filed": 1_234, "approved": 5, "rejected": 1, "pending": 1, "documents_requested": 0,
        "approved_krw": 2_730_000, "paid_count": 4, "paid_krw": 1_230_000, "budget_krw": 5_000_000,
        "budget_left_krw": 3_770_000, "takers": None, "extensions": 1, "intake_closes_at": "2022-11-15T14:59:00Z",
        "by_tier": {"individual": tally(2, 1_640_000, 1, 1_140_000), "up_to_1000000": tally(1, 1_000_000, 0, 0),
                    "up_to_300000": tally(3, 90_000, 3, 90_000)},
        "rounds": [{"round_id": "rnd_1", "status": "paid", "claim_count": 3, "paid_count": 3, "failed_count": 0,
                    "total_krw": 90_000, "paid_krw": 90_000, "created_at": "2022-10-15T06:50:00Z",
                    "approved_at": "2022-10-15T07:00:00Z", "paid_at": "2022-10-15T07:01:00Z"},
                   {"round_id": "rnd_2", "status": "paying", "claim_count": 2, "paid_count": 1, "failed_count": 0,
                    "total_krw": 1_640_000, "paid_krw": 1_140_000, "created_at": "2022-10-15T07:50:00Z",
                    "approved_at": "2022-10-15T08:00:00Z", "paid_at": None}],
        "generated_at": "2022-10-16T03:00:00Z",
    }
    return {**report, **changes}


def svgs(page: str) -> list[str]:
    return re.findall(r"<svg\b.*?</svg>", page, flags=re.S)


def cells(page: str, header: str) -> list[str]:
    """The values of one column of the page's data tables, top to bottom."""
    return re.findall(rf'<td data-label="{re.escape(header)}"[^>]*>(.*?)</td>', page)


def fact(page: str, label: str) -> str | None:
    found = re.search(rf'<th scope="row">{re.escape(label)}</th><td>(.*?)</td>', page)
    return found and found.group(1)


def bar_labels(chart: str) -> list[str]:
    return re.findall(r'<text x="0" y="\d+" font-size="13">(.*?)</text>', chart)


def bar_widths(chart: str) -> list[int]:
    return [int(w) for w in re.findall(r'<rect x="0" y="\d+" width="(\d+)"', chart)]


def test_names_and_ids_are_escaped_on_the_page_and_in_the_charts():
    page = report_html(a_report(kind="<odd>", by_tier={"<b>": tally(1, 5, 1, 5)}), TIERS)
    assert "<damage>" not in page
    assert "<b>" not in page
    assert "<odd>" not in page
    assert "<1>" not in page
    assert "<title>Pangyo fire &lt;damage&gt; &amp; co: 보상 결과 보고서</title>" in page
    assert "<h1>Pangyo fire &lt;damage&gt; &amp; co</h1>" in page
    assert "prg_&lt;1&gt;" in page
    assert "inc_&lt;1&gt;" in page
    assert "&lt;odd&gt;" in page
    assert cells(page, "구간") == ["&lt;b&gt;"]
    assert bar_labels(svgs(page)[1]) == ["&lt;b&gt;"]
    assert "<title>&lt;b&gt;: 5원</title>" in svgs(page)[1]


def test_a_bar_chart_escapes_its_title_and_labels():
    chart = bar_chart('"Q" & <A>', [("<x>", 1)], "ko")
    assert "<A>" not in chart
    assert "<x>" not in chart
    assert 'aria-label="&quot;Q&quot; &amp; &lt;A&gt;"' in chart
    assert bar_labels(chart) == ["&lt;x&gt;"]


def test_the_report_is_in_korean_by_default():
    page = report_html(a_report(), TIERS)
    assert page.startswith("<!doctype html>")
    assert '<html lang="ko">' in page
    assert 'hreflang="en">English</a>' in page
    assert fact(page, "접수") == "1,234건"
    assert fact(page, "지급액") == "1,230,000원"
    assert fact(page, "승인액") == "2,730,000원"
    assert "<h2>지급 회차</h2>" in page
    assert "<h2>구간별</h2>" in page
    assert "<figcaption>회차별 지급액</figcaption>" in page
    assert "<figcaption>구간별 지급액</figcaption>" in page
    assert "소상공인 피해 보상" in page
    assert "KRW" not in page


def test_the_report_is_in_english_on_request():
    page = report_html(a_report(), TIERS, lang="en")
    assert '<html lang="en">' in page
    assert "<title>Pangyo fire &lt;damage&gt; &amp; co: Compensation report</title>" in page
    assert 'hreflang="ko">한국어</a>' in page
    assert fact(page, "Filed") == "1,234"
    assert fact(page, "Amount paid") == "KRW 1,230,000"
    assert "<figcaption>Paid per round</figcaption>" in page
    assert "<figcaption>Paid per tier</figcaption>" in page
    assert "Business damage claims" in page
    assert "원" not in page
    assert not re.search("[가-힣]", page.replace("한국어", ""))


def test_tiers_are_named_by_their_range_lowest_first_and_individual_review_after():
    ko, en = report_html(a_report(), TIERS), report_html(a_report(), TIERS, lang="en")
    korean = ["30만원 이하", "30만원 초과 ~ 100만원 이하", "100만원 초과 (개별 심사)"]
    english = ["up to KRW 300,000", "over KRW 300,000, up to KRW 1,000,000", "over KRW 1,000,000 (individual review)"]
    assert cells(ko, "구간") == korean
    assert bar_labels(svgs(ko)[1]) == korean
    assert cells(en, "Tier") == english
    assert bar_labels(svgs(en)[1]) == english
    assert "up_to_" not in ko
    assert "individual<" not in ko


def test_each_tier_row_shows_its_own_counts_and_amounts():
    page = report_html(a_report(), TIERS)
    assert cells(page, "승인") == ["3", "1", "2"]
    assert cells(page, "승인액") == ["90,000원", "1,000,000원", "1,640,000원"]
    assert cells(page, "지급액")[-3:] == ["90,000원", "0원", "1,140,000원"]


def test_the_incident_window_is_shown_in_kst_with_its_length():
    ko, en = report_html(a_report(), TIERS), report_html(a_report(), TIERS, lang="en")
    assert ("<strong>장애 기간</strong>: 2022년 10월 15일 (토) 15:33 KST ~ 2022년 10월 16일 (일) 01:10 KST "
            "(9시간 37분)") in ko
    assert ("<strong>Incident window</strong>: Sat 15 Oct 2022, 15:33 KST ~ Sun 16 Oct 2022, 01:10 KST "
            "(9 h 37 min)") in en


def test_an_incident_still_going_on_is_shown_as_ongoing():
    window = {"started_at": "2022-10-15T06:33:00Z", "ended_at": None}
    assert "2022년 10월 15일 (토) 15:33 KST ~ (진행 중)" in report_html(a_report(window=window), TIERS)
    assert "Sat 15 Oct 2022, 15:33 KST ~ (ongoing)" in report_html(a_report(window=window), TIERS, lang="en")


def test_one_bar_per_round_and_per_tier():
    per_round, per_tier = svgs(report_html(a_report(), TIERS))
    assert bar_labels(per_round) == ["1차", "2차"]
    assert "<title>1차: 90,000원</title>" in per_round
    assert "<title>2차: 1,140,000원</title>" in per_round
    assert per_tier.count("<rect") == 3
    assert "<title>30만원 이하: 90,000원</title>" in per_tier


def test_the_widest_bar_fills_the_chart_and_the_others_are_in_proportion():
    chart = bar_chart("T", [("a", 50_000), ("b", 100_000), ("c", 25_000)], "ko")
    widest = bar_widths(bar_chart("T", [("only", 7)], "ko"))[0]
    assert CHART_WIDTH / 2 <= widest < CHART_WIDTH
    assert bar_widths(chart) == [widest // 2, widest, widest // 4]
    assert f'viewBox="0 0 {CHART_WIDTH} {3 * BAR_ROW}"' in chart
    values = re.findall(r'<text x="(\d+)" y="\d+" font-size="12">(.*?)</text>', chart)
    assert [v for _, v in values] == ["50,000원", "100,000원", "25,000원"]
    assert all(width < int(x) < CHART_WIDTH for width, (x, _) in zip(bar_widths(chart), values, strict=True))


def test_bars_stay_in_their_own_row_under_their_label():
    chart = bar_chart("T", [("a", 1), ("b", 2), ("c", 3)], "ko")
    tops = [int(y) for y in re.findall(r'<rect x="0" y="(\d+)"', chart)]
    labels = [int(y) for y in re.findall(r'<text x="0" y="(\d+)" font-size="13">', chart)]
    assert f'height="{BAR_HEIGHT}"' in chart
    for row, (top, label) in enumerate(zip(tops, labels, strict=True)):
        assert row * BAR_ROW < label < top
        assert top >= row * BAR_ROW + LABEL_GAP
        assert top + BAR_HEIGHT <= (row + 1) * BAR_ROW


def test_zero_amounts_do_not_divide_by_zero():
    zeros = bar_chart("T", [("a", 0), ("b", 0)], "en")
    assert len(set(bar_widths(zeros))) == 1
    assert bar_widths(zeros)[0] < CHART_WIDTH / 10
    assert zeros.count(">KRW 0</text>") == 2
    mixed = bar_widths(bar_chart("T", [("a", 0), ("b", 10)], "ko"))
    assert mixed[0] < CHART_WIDTH / 10 < CHART_WIDTH / 2 <= mixed[1]


def test_a_chart_of_nothing_has_no_bars():
    assert "<rect" not in bar_chart("Nothing", [], "ko")


def test_a_report_with_no_rounds_and_no_tiers_says_so_without_bars_or_empty_rows():
    ko = report_html(a_report(by_tier={}, rounds=[]), TIERS)
    assert "<rect" not in ko
    assert "<p>아직 지급 회차가 없습니다.</p>" in ko
    assert "<p>승인된 보상이 아직 없습니다.</p>" in ko
    assert "<tr></tr>" not in ko
    assert '<table class="data">' not in ko
    en = report_html(a_report(by_tier={}, rounds=[]), TIERS, lang="en")
    assert "<p>No payout round yet.</p>" in en
    assert "<p>Nothing approved yet.</p>" in en


def test_no_table_row_is_empty():
    page = report_html(a_report(), TIERS)
    for row in re.findall(r"<tr>(.*?)</tr>", page, flags=re.S):
        assert re.sub(r"<[^>]+>", "", row).strip()
    built = table(["a", "b"], [["", " "], ["x", ""], ["", ""]])
    assert "<tr></tr>" not in built
    assert re.findall(r"<tbody>(.*?)</tbody>", built) == [
        '<tr><td data-label="a" class="text">x</td><td data-label="b" class="num"></td></tr>']


def test_the_budget_and_what_is_left_are_shown_when_there_is_one():
    page = report_html(a_report(), TIERS)
    assert fact(page, "예산") == "5,000,000원"
    assert fact(page, "남은 예산") == "3,770,000원"


def test_no_budget_shows_a_dash_or_no_budget_line_never_none():
    page = report_html(a_report(budget_krw=None, budget_left_krw=None), TIERS)
    assert fact(page, "예산") in (None, "-")
    assert fact(page, "남은 예산") in (None, "-")
    assert "None" not in page
    assert krw(None, "ko") == "-"
    assert krw(None, "en") == "-"


def test_unpaid_rounds_are_shown_as_such():
    ko, en = report_html(a_report(), TIERS), report_html(a_report(), TIERS, lang="en")
    assert cells(ko, "회차") == ["1차", "2차"]
    assert cells(ko, "상태") == ["지급 완료", "지급 중"]
    assert cells(ko, "지급 완료 시각") == ["2022년 10월 15일 16:01 KST", "-"]
    assert cells(ko, "회차 금액") == ["90,000원", "1,640,000원"]
    assert cells(en, "Status") == ["Paid", "Paying"]
    assert cells(en, "Paid at") == ["15 Oct 2022, 16:01 KST", "-"]
    pending = [{**a_report()["rounds"][1], "status": "pending_approval", "approved_at": None, "paid_krw": 0}]
    page = report_html(a_report(rounds=pending), TIERS)
    assert cells(page, "상태") == ["승인 대기"]
    assert cells(page, "승인 시각") == ["-"]
    assert cells(page, "지급 완료 시각") == ["-"]


def test_words_are_aligned_left_and_figures_right_in_a_table():
    built = table(["종류", "승인액", "지급률"], [["소상공인 피해 보상", "680,000원", "100.0%"]])
    assert re.findall(r'<td [^>]*class="(\w+)">', built) == ["text", "num", "num"]
