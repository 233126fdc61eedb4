"""A program's final report as a page for people, in Korean (or English): the incident window, what was
filed, decided and paid, by tier (named by its range) and by round, and two bar charts (inline SVG)."""

from datetime import datetime
from string import Template

from chalicelib.core import pages
from chalicelib.payouts.report_parts import (
    KINDS,
    ROUND_STATUS,
    bar_chart,
    facts,
    page,
    table,
    tier_name,
    tier_order,
)

WORDS = {
    "ko": {"report": "보상 결과 보고서", "window": "장애 기간", "ongoing": "진행 중", "program": "프로그램",
           "kind": "종류", "incident": "장애", "generated": "작성", "summary": "요약", "filed": "접수",
           "approved": "승인", "rejected": "반려", "pending": "심사 중", "paid": "지급", "paid_krw": "지급액",
           "approved_krw": "승인액", "budget": "예산", "budget_left": "남은 예산", "intake_closes": "접수 마감",
           "extensions": "마감 연장", "by_tier": "구간별", "tier": "구간", "rounds": "지급 회차", "round": "회차",
           "status": "상태", "claims": "건수", "total": "회차 금액", "approved_at": "승인 시각",
           "paid_at": "지급 완료 시각", "nth": "{n}차", "chart_rounds": "회차별 지급액", "chart_tiers": "구간별 지급액",
           "count": "{n}건", "times": "{n}회", "no_rounds": "아직 지급 회차가 없습니다.",
           "no_tiers": "승인된 보상이 아직 없습니다."},
    "en": {"report": "Compensation report", "window": "Incident window", "ongoing": "ongoing",
           "program": "Program", "kind": "Kind", "incident": "Incident", "generated": "Generated",
           "summary": "Summary", "filed": "Filed", "approved": "Approved", "rejected": "Rejected",
           "pending": "Under review", "paid": "Paid", "paid_krw": "Amount paid", "approved_krw": "Amount approved",
           "budget": "Budget", "budget_left": "Budget left", "intake_closes": "Intake closes",
           "extensions": "Extensions", "by_tier": "By tier", "tier": "Tier", "rounds": "Payout rounds",
           "round": "Round", "status": "Status", "claims": "Claims", "total": "Round total",
           "approved_at": "Approved at", "paid_at": "Paid at", "nth": "Round {n}", "chart_rounds": "Paid per round",
           "chart_tiers": "Paid per tier", "count": "{n}", "times": "{n}", "no_rounds": "No payout round yet.",
           "no_tiers": "Nothing approved yet."},
}
HEADER = Template("""<section class="first"><h1>$name</h1>
<p class="muted">$report · $kind · $program_label $program_id</p>
<p><strong>$window_label</strong>: $window</p>
<p class="muted">$incident_label $incident_id · $generated_label $generated</p></section>""")
SECTION = Template('<section><h2>$title</h2>$content</section>')


def report_html(report: dict, tiers: list[dict], lang: str = "ko") -> str:
    """The report of `program_report` as one self-contained page; `tiers` are the program's payout tiers."""
    w = WORDS[lang]
    tiered = [(tier_name(label, tiers, report["kind"], lang), report["by_tier"][label])
              for label in sorted(report["by_tier"], key=tier_order)]
    rounds = report["rounds"]
    body = pages.joined([
        pages.html(HEADER, name=report["name"], report=w["report"],
                     kind=KINDS[lang].get(report["kind"], report["kind"]), program_label=w["program"],
                     program_id=report["program_id"], window_label=w["window"],
                     window=window_text(report["window"]["started_at"], report["window"]["ended_at"], lang, w),
                     incident_label=w["incident"], incident_id=report["incident_id"], generated_label=w["generated"],
                     generated=pages.kst(report["generated_at"], lang)),
        pages.html(SECTION, title=w["summary"], content=_summary(report, w, lang)),
        pages.html(SECTION, title=w["rounds"], content=_rounds(rounds, w, lang)),
        pages.html(SECTION, title=w["by_tier"], content=_tiers(tiered, w, lang))])
    return page(lang, f'{report["name"]}: {w["report"]}', body)


def window_text(started_at: str, ended_at: str | None, lang: str, w: dict) -> str:
    """"2022년 10월 15일 (토) 15:33 KST ~ 2022년 10월 16일 (일) 01:10 KST (9시간 37분)"."""
    start = pages.kst(started_at, lang)
    if ended_at is None:
        return f'{start} ~ ({w["ongoing"]})'
    seconds = int((datetime.fromisoformat(ended_at) - datetime.fromisoformat(started_at)).total_seconds())
    return f"{start} ~ {pages.kst(ended_at, lang)} ({pages.duration(seconds, lang)})"


def _summary(report: dict, w: dict, lang: str) -> pages.Markup:
    count = w["count"]
    pairs = [(w["filed"], count.format(n=f'{report["claims_filed"]:,}')),
             (w["approved"], count.format(n=f'{report["approved"]:,}')),
             (w["rejected"], count.format(n=f'{report["rejected"]:,}')),
             (w["pending"], count.format(n=f'{report["pending"]:,}')),
             (w["approved_krw"], pages.krw(report["approved_krw"], lang)),
             (w["paid"], count.format(n=f'{report["paid_count"]:,}')),
             (w["paid_krw"], pages.krw(report["paid_krw"], lang))]
    if report["budget_krw"] is not None:
        pairs += [(w["budget"], pages.krw(report["budget_krw"], lang)),
                  (w["budget_left"], pages.krw(report["budget_left_krw"], lang))]
    if report.get("intake_closes_at"):
        pairs += [(w["intake_closes"], pages.kst(report["intake_closes_at"], lang)),
                  (w["extensions"], w["times"].format(n=report["extensions"]))]
    return facts(pairs)


def _tiers(tiered: list[tuple[str, dict]], w: dict, lang: str) -> pages.Markup:
    if not tiered:
        return pages.html(Template("<p>$t</p>"), t=w["no_tiers"])
    rows = [[name, f'{t["approved"]:,}', pages.krw(t["approved_krw"], lang), f'{t["paid"]:,}',
             pages.krw(t["paid_krw"], lang)] for name, t in tiered]
    return pages.joined([
        table([w["tier"], w["approved"], w["approved_krw"], w["paid"], w["paid_krw"]], rows),
        bar_chart(w["chart_tiers"], [(name, t["paid_krw"]) for name, t in tiered], lang)])


def _rounds(rounds: list[dict], w: dict, lang: str) -> pages.Markup:
    if not rounds:
        return pages.html(Template("<p>$t</p>"), t=w["no_rounds"])
    rows = [[w["nth"].format(n=n), ROUND_STATUS[lang].get(r["status"], r["status"]), f'{r["claim_count"]:,}',
             f'{r["paid_count"]:,}', pages.krw(r["total_krw"], lang), pages.krw(r["paid_krw"], lang),
             pages.kst(r["approved_at"], lang, with_weekday=False),
             pages.kst(r["paid_at"], lang, with_weekday=False)] for n, r in enumerate(rounds, 1)]
    headers = [w["round"], w["status"], w["claims"], w["paid"], w["total"], w["paid_krw"], w["approved_at"],
               w["paid_at"]]
    return pages.joined([table(headers, rows), bar_chart(
        w["chart_rounds"], [(w["nth"].format(n=n), r["paid_krw"]) for n, r in enumerate(rounds, 1)], lang)])
