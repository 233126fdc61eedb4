"""`make demo` at a small scale: the final report's totals are what the replay filed, approved and paid."""

from demo.__main__ import main as demo_main
from demo.client import ADMIN, Api
from demo.scenario import run_scenario
from demo.summary import compare


def test_the_replayed_case_reports_what_was_filed_approved_and_paid(stack):
    api = Api(stack["base"])
    try:
        expected, report = run_scenario(api, scale=0.03, seed=7, progress=False)
    finally:
        api.call("PUT", "/dev/clock", ADMIN, {"now": None})
    assert compare(expected, report) == []
    assert report["claims_filed"] == expected.filed >= 13
    assert report["approved"] == expected.approved >= 6
    assert report["paid_krw"] == expected.approved_krw > 0
    assert report["paid_krw"] <= report["budget_krw"]
    assert sum(row["paid_krw"] for row in report["by_tier"].values()) == report["paid_krw"]
    assert expected.notes["stranded_riders"] >= 2


def test_make_demo_writes_the_report_page_against_a_running_stack(stack, tmp_path, capsys):
    assert demo_main(["--scale", "0.02", "--seed", "3", "--url", stack["base"], "--out", str(tmp_path)]) == 0
    page = (tmp_path / "report.html").read_text()
    assert page.count("<svg") == 2
    assert "matches what the scenario filed, approved and paid" in capsys.readouterr().out
