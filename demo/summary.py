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
    for service, shown in expected.fairness.items():
        if shown["passed_over_nearer"]:
            problems.append(f"fairness ({service}): {shown['passed_over_nearer']} nearer drivers passed over")
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
    print_fairness(expected.fairness)


def print_fairness(fairness: dict[str, dict]) -> None:
    """Dispatch's fairness figures of the demo's day of rides, as the drivers' council reads them."""
    for service, shown in fairness.items():
        print(f"Dispatch fairness, {service}, {shown['from'][:10]}: {shown['decisions']} decisions, "
              f"{shown['passed_over_nearer']} nearer drivers passed over")
        print(f"  {'affiliation':<16}{'drivers':>8}{'avail. min':>11}{'share':>7}{'offers':>8}{'share':>7}"
              f"{'accepted':>10}{'completed':>10}")
        for c in shown["cohorts"]:
            print(f"  {c['affiliation']:<16}{c['drivers']:>8}{c['available_minutes']:>11}{c['available_share']:>7.0%}"
                  f"{c['offers']:>8}{c['offer_share']:>7.0%}{c['accepted']:>10}{c['completed']:>10}")
        print("  trip length: " + ", ".join(f"{b['band']} {b['offered']}/{b['requests']} offered"
                                            for b in shown["by_trip_length"]))
