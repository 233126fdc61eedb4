"""Check the council's report against what the replay did, program by program, and print it for a person."""

from datetime import datetime
from pathlib import Path

from demo.scenario import CROWD_SHARE, Replay
from demo.timeline import INTAKE_CLOSES, ROUNDS, in_kst, iso

ROUNDS_FROM, ROUNDS_TO = "2023-03-10", "2023-06-30"      # the real rounds: mid-March to the close of intake
KINDS = ("business_claims", "message_cash", "driver_income", "driver_support", "rider_credit", "voucher")


def expected_programs(replay: Replay) -> dict[str, dict]:
    """kind -> {beneficiaries, approved_krw, paid_krw} as the scenario did it (vouchers carry no KRW)."""
    got = {kind: {"beneficiaries": len(owed), "approved_krw": sum(owed.values()), "paid_krw": sum(owed.values())}
           for kind, owed in replay.owed.items()}
    done = replay.claims
    got["business_claims"] = {"beneficiaries": done.approved, "approved_krw": done.approved_krw,
                              "paid_krw": done.approved_krw}
    got["voucher"] = {"beneficiaries": replay.voucher_takers}
    return got


def check_incident_report(replay: Replay, report: dict | None, problem: str | None) -> list[str]:
    """Each way the incident report differs from the replay (empty: it matches); a missing report is one."""
    if report is None:
        return [f"incident report: {problem}"]
    incident, problems = replay.incident, []
    for key in ("incident_id", "started_at", "resolved_at"):
        if report.get(key) != incident[key]:
            problems.append(f"incident report {key}: {report.get(key)} != the replay's {incident[key]}")
    listed = {p.get("program_id"): p for p in report.get("programs", [])}
    if set(listed) != set(replay.programs.values()):
        problems.append(f"incident report lists programs {sorted(listed)}, the replay set up "
                        f"{sorted(replay.programs.values())}")
    for kind, wanted in expected_programs(replay).items():
        shown = listed.get(replay.programs[kind], {})
        problems += [f"{kind} {key}: report {shown.get(key)} != scenario {value}"
                     for key, value in wanted.items() if shown.get(key) != value]
    totals = report.get("totals", {})
    for key in ("beneficiaries", "approved_krw", "paid_krw"):
        if totals.get(key) != sum(p.get(key) or 0 for p in listed.values()):
            problems.append(f"incident report totals {key} {totals.get(key)} != the sum of its programs")
    return problems


def check_program_report(replay: Replay, report: dict) -> list[str]:
    """Business claims: counts, tiers, intake, and three rounds in order of filing and completed review."""
    done = replay.claims
    wanted = {"claims_filed": done.filed, "approved": done.approved, "rejected": done.rejected, "pending": 0,
              "approved_krw": done.approved_krw, "paid_count": done.approved, "paid_krw": done.approved_krw,
              "intake_closes_at": iso(INTAKE_CLOSES), "extensions": 3}
    problems = [f"business claims {key}: report {report.get(key)} != scenario {value}"
                for key, value in wanted.items() if report.get(key) != value]
    for tier, (count, amount) in done.by_tier.items():
        got = report["by_tier"].get(tier, {})
        if (got.get("approved"), got.get("approved_krw"), got.get("paid"), got.get("paid_krw")) != (
                count, amount, count, amount):
            problems.append(f"tier {tier}: report {got} != scenario {count} claims, {amount} KRW")
    paid = [r for r in report["rounds"] if r["status"] == "paid"]
    if len(paid) != len(ROUNDS):
        problems.append(f"rounds: {len(paid)} paid, the real case had {len(ROUNDS)}")
    problems += [f"round paid {r['paid_at']}, outside {ROUNDS_FROM}..{ROUNDS_TO}" for r in paid
                 if not ROUNDS_FROM <= (r["paid_at"] or "")[:10] <= ROUNDS_TO]
    due = [sum(1 for at in done.approved_at.values() if before <= at < this)
           for before, this in zip((datetime.min.replace(tzinfo=ROUNDS[0].tzinfo), *ROUNDS), ROUNDS, strict=False)]
    if [r["claim_count"] for r in paid] != [n for n in due if n]:
        problems.append(f"rounds hold {[r['claim_count'] for r in paid]} claims; reviewed before each: {due}")
    return problems


def check_ledgers(replay: Replay, ledgers: dict[str, dict[str, int]]) -> list[str]:
    """Each automatic program paid exactly whom the scenario owed, and how much."""
    problems = []
    for kind, owed in replay.owed.items():
        paid = ledgers.get(kind, {})
        wrong = sorted(p for p in set(owed) | set(paid) if owed.get(p) != paid.get(p))
        if wrong:
            problems.append(f"{kind} ledger: {len(wrong)} payees differ, e.g. {wrong[0]}: paid "
                            f"{paid.get(wrong[0])}, owed {owed.get(wrong[0])}")
    return problems


def check_fairness(fairness: dict[str, dict]) -> list[str]:
    return [f"fairness ({service}): {shown['passed_over_nearer']} nearer drivers passed over"
            for service, shown in fairness.items() if shown["passed_over_nearer"]]


def print_summary(replay: Replay, incident_report: dict | None, problems: list[str], estimate: dict | None,
                  calls: int, out: Path) -> None:
    incident = replay.incident
    print()
    print(f"Incident {incident['incident_id']} ({', '.join(incident['components'])}): {in_kst(incident['started_at'])}"
          f" to {in_kst(incident['resolved_at'])}, opened and resolved by the detector")
    print(f"  {'program':<18}{'beneficiaries':>14}{'approved KRW':>16}{'paid KRW':>16}   scenario")
    listed = {p["program_id"]: p for p in (incident_report or {}).get("programs", [])}
    for kind, wanted in expected_programs(replay).items():
        shown = listed.get(replay.programs[kind], {})
        mark = "ok" if all(shown.get(k) == v for k, v in wanted.items()) else "DIFFERS"
        print(f"  {kind:<18}{_n(shown.get('beneficiaries')):>14}{_n(shown.get('approved_krw')):>16}"
              f"{_n(shown.get('paid_krw')):>16}   {mark}: " + ", ".join(f"{_n(v)}" for v in wanted.values()))
    if incident_report:
        totals = incident_report["totals"]
        print(f"  {'total':<18}{_n(totals['beneficiaries']):>14}{_n(totals['approved_krw']):>16}"
              f"{_n(totals['paid_krw']):>16}")
    _print_claims(replay)
    if estimate:
        _print_estimate(replay.voucher_takers, estimate)
    print_fairness(replay.fairness)
    print(f"{calls:,} HTTP calls. Reports: {out}/incident-report.html, {out}/incident-report.json, "
          f"{out}/report.html, {out}/report.json")
    print("The council's report matches what the replay did, program by program." if not problems
          else "MISMATCH:\n  " + "\n  ".join(problems))


def _print_estimate(takers: int, e: dict) -> None:
    print(f"Emoticon pack: {takers:,} riders took it in the replay (one in {CROWD_SHARE:,}). ESTIMATE for the real "
          f"{e['real_takers']:,}: {e['round_trips_per_take']:.2f} DynamoDB round trips and "
          f"{e['write_units_per_take']:.1f} write units a take (bench, {e['sample']} takes) -> about "
          f"{e['round_trips'] / 1e6:.1f} million round trips, {e['write_units'] / 1e6:.1f} million write units")


def _print_claims(replay: Replay) -> None:
    done, cash = replay.claims, replay.message_cash
    print(f"Business claims: {done.filed} filed, {done.approved} approved ({done.approved_krw:,} KRW), "
          f"{done.rejected} rejected; intake closed {in_kst(INTAKE_CLOSES)}")
    for n, paid in enumerate(replay.rounds.get("business_claims", []), 1):
        print(f"  round {n}: {paid['claim_count']} claims, {paid['paid_krw']:,} KRW, paid {in_kst(paid['paid_at'])}")
    print(f"Message cash: {cash['granted']} x 50,000 = {cash['granted'] * 50_000:,} KRW; refused: "
          + ("; ".join(f"{b} ({why})" for b, why in cash["refused"]) or "none"))


def print_fairness(fairness: dict[str, dict]) -> None:
    """Dispatch's fairness figures of the busy day a week before the fire, as the drivers' council reads them."""
    for service, shown in fairness.items():
        print(f"Dispatch fairness, {service}, {shown['from'][:10]}: {shown['decisions']} decisions, "
              f"{shown['passed_over_nearer']} nearer drivers passed over; offers by affiliation: "
              + ", ".join(f"{c['affiliation']} {c['offers']} ({c['offer_share']:.0%}, available "
                          f"{c['available_share']:.0%})" for c in shown["cohorts"]))


def _n(value) -> str:
    return "-" if value is None else f"{value:,}"
