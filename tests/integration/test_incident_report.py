"""The council's report of an incident: every program of it, beneficiaries and KRW, as JSON and as a page in
Korean (English on request), and the program report's page naming tiers by their range."""

from datetime import timedelta

from chalicelib.core.clock import iso
from tests.integration.actors import ADMIN, declare, program, review

AUDITOR, BUSINESS = ("auditor", "council-1"), ("business", "biz-01")


def claim(api, program_id: str, shop: str, loss_krw: int) -> str:
    answer = api("post", f"/programs/{program_id}/claims", ("business", shop),
                 {"business_id": shop, "business_name": f"Shop {shop}", "channel": "web", "evidence": [],
                  "loss_krw": loss_krw})
    assert answer.status_code == 201, answer.body
    return answer.json_body["claim_id"]


def test_the_incident_report_sums_every_program_of_the_incident_and_reads_in_korean(api, frozen_clock):
    now = frozen_clock.now()
    incident = declare(api, now - timedelta(hours=9), resolved_at=now - timedelta(hours=1))
    other = declare(api, now - timedelta(minutes=30))
    intake = {"intake_opens_at": iso(now), "intake_closes_at": iso(now + timedelta(days=30)), "budget_krw": 10_000_000}
    damages = program(api, incident, "business_claims", intake, name="판교 화재 피해 보상")["program_id"]
    for shop, loss in (("biz-01", 100_000), ("biz-02", 400_000), ("biz-03", 450_000)):
        assert review(api, claim(api, damages, shop, loss), "approve").status_code == 200
    claim(api, damages, "biz-04", 200_000)  # filed, not decided: no beneficiary yet
    cash = program(api, incident, "message_cash", {"amount_krw": 50_000, "budget_krw": 45_000_000},
                   name="메시지 캐시")["program_id"]
    program(api, other, "business_claims", intake, name="another incident's program")

    answer = api("get", f"/incidents/{incident}/report", AUDITOR)
    assert answer.status_code == 200, answer.body
    report = answer.json_body
    assert [(p["program_id"], p["beneficiaries"], p["approved_krw"], p["paid_krw"]) for p in report["programs"]] == [
        (damages, 3, 30_000 + 50_000 + 50_000, 0), (cash, 0, 0, 0)]
    assert report["totals"] == {"beneficiaries": 3, "approved_krw": 130_000, "paid_krw": 0}
    window = (iso(now - timedelta(hours=9)), iso(now - timedelta(hours=1)))
    assert (report["started_at"], report["resolved_at"]) == window

    page = api("get", f"/incidents/{incident}/report?format=html", ADMIN)
    assert page.headers["Content-Type"].startswith("text/html")
    html = page.body.decode()
    assert '<html lang="ko">' in html
    assert "장애 기간" in html
    assert "8시간" in html
    assert "130,000원" in html
    assert "판교 화재 피해 보상" in html
    assert "another incident" not in html
    assert "<tr></tr>" not in html
    assert "<td></td>" not in html
    english = api("get", f"/incidents/{incident}/report?format=html&lang=en", ADMIN).body.decode()
    assert "Incident window" in english
    assert "KRW 130,000" in english

    program_page = api("get", f"/programs/{damages}/report?format=html", ADMIN).body.decode()
    assert "30만원 이하" in program_page
    assert "30만원 초과 ~ 50만원 이하" in program_page
    assert "up_to_" not in program_page
    assert "장애 기간" in program_page

    assert api("get", f"/incidents/{incident}/report", BUSINESS).status_code == 403
    assert api("get", "/incidents/inc_nope/report", ADMIN).status_code == 404
