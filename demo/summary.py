"""Check the final report against what the replay did, and print it for a person."""

from pathlib import Path

from demo.scenario import Expected


def compare(expected: Expected, report: dict) -> list[str]:
    """Each way the report differs from what the scenario filed, approved and paid (empty: it matches)."""
    wanted = {"claims_filed": expected.filed, "approved": expected.approved, "rejected": expected.rejected,
              "pending": 0, "approved_krw": expected.approved_krw, "paid_count": expected.approved,
              "paid_krw": expected.approved_krw}
    problems = [f"{key}: report {report.get(key)} != scenario {value}"
                for key, value in wanted.items() if report.get(key) != value]
    for tier, (count, amount) in expected.by_tier.items():
        got = report["by_tier"].get(tier, {})
        if (got.get("approved"), got.get("approved_krw"), got.get("paid"), got.get("paid_krw")) != (
                count, amount, count, amount):
            problems.append(f"tier {tier}: report {got} != scenario {count} claims, {amount} KRW")
    paid_rounds = [r["claim_count"] for r in report["rounds"] if r["status"] == "paid"]
    if paid_rounds != [n for n in expected.rounds if n]:
        problems.append(f"rounds: report {paid_rounds} != scenario {expected.rounds}")
    return problems


def print_summary(expected: Expected, report: dict, problems: list[str], calls: int, html: Path) -> None:
    print()
    print(f"Business damage claims ({report['program_id']})")
    print(f"  filed {report['claims_filed']}, approved {report['approved']}, rejected {report['rejected']}, "
          f"pending {report['pending']}")
    print(f"  paid {report['paid_count']} claims, {report['paid_krw']:,} KRW of a {report['budget_krw']:,} KRW budget")
    print(f"  {'tier':<16}{'approved':>10}{'paid KRW':>16}")
    for tier, row in report["by_tier"].items():
        print(f"  {tier:<16}{row['approved']:>10}{row['paid_krw']:>16,}")
    for n, paid in enumerate(report["rounds"], 1):
        print(f"  round {n}: {paid['claim_count']} claims, {paid['paid_krw']:,} KRW, {paid['status']} "
              f"{paid['paid_at']}")
    print("Other programs: " + ", ".join(f"{k} {v}" for k, v in expected.notes.items()))
    print(f"{calls} HTTP calls. Report: {html}")
    print("The report matches what the scenario filed, approved and paid." if not problems
          else "MISMATCH:\n  " + "\n  ".join(problems))
