"""The council's one-page summary of an incident: every compensation program set up for it, how many people
it reached and the KRW approved and paid, as data and as a page for people (Korean, or English)."""

from datetime import datetime
from string import Template

from chalicelib.compensation import service as compensation
from chalicelib.core import pages
from chalicelib.core.clock import iso
from chalicelib.outages import service as outages
from chalicelib.payouts.report import window_text
from chalicelib.payouts.report_parts import KINDS, bar_chart, facts, page, table

WORDS = {
    "ko": {"title": "장애 보상 종합 보고서", "window": "장애 기간", "ongoing": "진행 중",
           "components": "영향받은 서비스",
           "summary": "개요", "programs": "보상 프로그램", "program": "프로그램", "kind": "종류",
           "beneficiaries": "보상 대상", "approved_krw": "승인액", "paid_krw": "지급액", "paid_share": "지급률",
           "total": "합계", "count": "{n}명", "generated": "작성", "chart": "프로그램별 지급액",
           "no_programs": "이 장애에 대한 보상 프로그램이 아직 없습니다.", "incident": "장애"},
    "en": {"title": "Incident compensation report", "window": "Incident window", "ongoing": "ongoing",
           "components": "Affected services", "summary": "Summary", "programs": "Compensation programs",
           "program": "Program", "kind": "Kind", "beneficiaries": "Beneficiaries", "approved_krw": "Amount approved",
           "paid_krw": "Amount paid", "paid_share": "Paid share", "total": "Total", "count": "{n}",
           "generated": "Generated", "chart": "Paid per program", "incident": "Incident",
           "no_programs": "No compensation program for this incident yet."},
}
HEADER = Template("""<section class="first"><h1>$title</h1>
<p><strong>$summary_text</strong></p>
<p><strong>$window_label</strong>: $window</p>
<p class="muted">$incident_label $incident_id · $components_label: $components · $generated_label $generated</p>
$facts</section>""")
SECTION = Template('<section><h2>$title</h2>$content</section>')


def incident_report(incident_id: str, now: datetime) -> dict:
    """Every program of the incident with its beneficiaries and KRW approved and paid, and the totals."""
    incident = outages.incident_for(incident_id, now)  # 404 for an unknown incident
    programs = [_program_line(p) for p in compensation.programs_of_incident(incident_id)]
    totals = {key: sum(p[key] for p in programs) for key in ("beneficiaries", "approved_krw", "paid_krw")}
    return {"incident_id": incident_id, "summary": incident["summary"], "components": incident["components"],
            "started_at": incident["started_at"], "resolved_at": incident["resolved_at"],
            "programs": programs, "totals": totals, "generated_at": iso(now)}


def _program_line(program: dict) -> dict:
    counts = program["counts"]
    beneficiaries = counts["takers"] if counts.get("takers") is not None else counts["approved"]
    return {"program_id": program["program_id"], "kind": program["kind"], "name": program["name"],
            "beneficiaries": beneficiaries, "approved_krw": counts["approved_krw"], "paid_krw": counts["paid_krw"]}


def incident_report_html(report: dict, lang: str = "ko") -> str:
    """The incident report as one self-contained page, print-ready on A4."""
    w = WORDS[lang]
    totals = report["totals"]
    header = pages.html(
        HEADER, title=w["title"], summary_text=report["summary"], window_label=w["window"],
        window=window_text(report["started_at"], report["resolved_at"], lang, w), incident_label=w["incident"],
        incident_id=report["incident_id"], components_label=w["components"],
        components=", ".join(report["components"]), generated_label=w["generated"],
        generated=pages.kst(report["generated_at"], lang),
        facts=facts([(w["programs"], f'{len(report["programs"]):,}'),
                     (w["beneficiaries"], w["count"].format(n=f'{totals["beneficiaries"]:,}')),
                     (w["approved_krw"], pages.krw(totals["approved_krw"], lang)),
                     (w["paid_krw"], pages.krw(totals["paid_krw"], lang))]))
    return page(lang, w["title"], pages.joined([header, pages.html(
        SECTION, title=w["programs"], content=_programs(report, w, lang))]))


def _programs(report: dict, w: dict, lang: str) -> pages.Markup:
    programs, totals = report["programs"], report["totals"]
    if not programs:
        return pages.html(Template("<p>$t</p>"), t=w["no_programs"])
    rows = [[p["name"], KINDS[lang].get(p["kind"], p["kind"]), w["count"].format(n=f'{p["beneficiaries"]:,}'),
             pages.krw(p["approved_krw"], lang), pages.krw(p["paid_krw"], lang),
             _share(p["paid_krw"], p["approved_krw"])] for p in programs]
    rows.append([w["total"], "-", w["count"].format(n=f'{totals["beneficiaries"]:,}'),
                 pages.krw(totals["approved_krw"], lang), pages.krw(totals["paid_krw"], lang),
                 _share(totals["paid_krw"], totals["approved_krw"])])
    headers = [w["program"], w["kind"], w["beneficiaries"], w["approved_krw"], w["paid_krw"], w["paid_share"]]
    return pages.joined([table(headers, rows),
                           bar_chart(w["chart"], [(p["name"], p["paid_krw"]) for p in programs], lang)])


def _share(paid: int, approved: int) -> str:
    return f"{100 * paid / approved:.1f}%" if approved else "-"
