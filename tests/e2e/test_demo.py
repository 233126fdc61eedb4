"""`make demo` at a small scale, against a running stack that already has an open incident of its own: the
replay keeps to the real calendar, uses only the incident it opened, and the council's report matches it."""

import io
import json
from contextlib import redirect_stdout

import pytest
import requests

from demo.__main__ import main as demo_main
from tests.e2e.conftest import bearer

SCALE = 0.02          # 451 -> 9 claims filed, 205 -> 4 approved, 900 -> 18 message-cash grants


@pytest.fixture(scope="module")
def other_incident(stack):
    """An operator declared an incident of the billing system before the replay, and it is still open."""
    admin = bearer("admin", "ops-1")
    requests.post(f"{stack['base']}/components", json={"name": "billing", "heartbeat_timeout_s": 60},
                  headers=admin, timeout=30).raise_for_status()
    declared = requests.post(f"{stack['base']}/incidents", headers=admin, timeout=30, json={
        "components": ["billing"], "started_at": "2022-10-15T06:00:00Z", "summary": "billing is slow"})
    declared.raise_for_status()
    return declared.json()["incident_id"]


@pytest.fixture(scope="module")
def replayed(stack, other_incident, tmp_path_factory):
    out, printed = tmp_path_factory.mktemp("demo-out"), io.StringIO()
    with redirect_stdout(printed):
        code = demo_main(["--scale", str(SCALE), "--seed", "3", "--url", stack["base"], "--out", str(out),
                          "--no-estimate"])
    return code, out, printed.getvalue()


def read(out, name: str) -> dict:
    return json.loads((out / name).read_text())


def test_the_demo_ends_with_a_council_report_that_matches_the_replay(replayed):
    code, out, printed = replayed
    assert code == 0, printed
    assert "matches what the replay did, program by program" in printed
    page = (out / "incident-report.html").read_text()
    assert "<html" in page.lower()


def test_the_fire_is_the_replays_own_incident_on_the_afternoon_of_15_october(replayed, stack, other_incident):
    _, out, _ = replayed
    report = read(out, "incident-report.json")
    assert report["incident_id"] != other_incident
    assert report["started_at"] == "2022-10-15T06:30:30Z"          # 15:30:30 KST, the first failed check
    assert report["resolved_at"] == "2022-10-15T16:30:00Z"         # 01:30 KST: messaging came back last
    kinds = sorted(p["kind"] for p in report["programs"])
    assert kinds == ["business_claims", "driver_income", "driver_support", "message_cash", "rider_credit",
                     "voucher"]
    still = requests.get(f"{stack['base']}/incidents/{other_incident}", headers=bearer("admin"), timeout=30).json()
    assert still["state"] == "open"
    assert still["components"] == ["billing"]


def test_claims_follow_the_real_calendar_and_counts_at_scale(replayed):
    _, out, _ = replayed
    report = read(out, "report.json")
    assert (report["claims_filed"], report["approved"], report["pending"]) == (9, 4, 0)
    assert report["intake_closes_at"] == "2023-06-30T09:00:00Z"    # 18:00 KST, after three extensions
    assert report["extensions"] == 3
    paid = [r for r in report["rounds"] if r["status"] == "paid"]
    assert [r["paid_at"][:10] for r in paid] == ["2023-03-15", "2023-05-15", "2023-06-30"]
    assert sum(r["claim_count"] for r in paid) == 4
    assert report["paid_krw"] == report["approved_krw"] > 0


def test_message_cash_pays_its_budget_to_the_first_applicants_and_refuses_the_next(replayed):
    _, out, printed = replayed
    cash = next(p for p in read(out, "incident-report.json")["programs"] if p["kind"] == "message_cash")
    assert (cash["beneficiaries"], cash["approved_krw"], cash["paid_krw"]) == (18, 900_000, 900_000)
    assert "refused: shop-0018 (the program's budget is used up)" in printed
