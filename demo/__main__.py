"""`python -m demo [--scale 1.0] [--seed 2022] [--url http://127.0.0.1:8000]`: the fire and its aftermath, replayed.

Without --url it starts its own local stack on free ports (and stops it after); with --url it uses a running
`make run` (local stage: the replay moves its clock, and uses only the incident it opens). It ends with the
council's report of the incident (out/incident-report.json and .html) and the business claims program's
(out/report.json and .html), checked program by program against what the replay did.
"""

import argparse
import json
import sys
import tempfile
from contextlib import nullcontext
from pathlib import Path
from urllib.parse import quote

from demo import estimate
from demo.client import ADMIN, Api, UnexpectedAnswer
from demo.scenario import Replay, incident_report, run_scenario
from demo.stack import demo_stack
from demo.summary import check_fairness, check_incident_report, check_ledgers, check_program_report, print_summary
from devstack.launcher import ROOT


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m demo", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scale", type=float, default=1.0, help="1.0 = the real 451 claims; 0.1 for a quick run")
    parser.add_argument("--seed", type=int, default=2022)
    parser.add_argument("--url", help="a running local stack (default: start one)")
    parser.add_argument("--out", type=Path, default=ROOT / "out")
    parser.add_argument("--no-estimate", action="store_true", help="skip the 17.3 million voucher estimate")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    measuring = None if args.no_estimate else estimate.start()
    log = Path(tempfile.gettempdir()) / "o2o-demo-stack.log"
    with nullcontext({"base": args.url}) if args.url else demo_stack(log) as stack:
        print(f"replaying the fire of 15 October 2022 against {stack['base']} (scale {args.scale}, seed {args.seed})")
        api = Api(stack["base"])
        try:
            replay = run_scenario(api, args.scale, args.seed, progress=sys.stderr.isatty())
            report, problem = _council_report(api, replay, args.out)
            ledgers = _ledgers(api, replay)
        finally:
            api.resume_clock()
            api.close()
    problems = (check_incident_report(replay, report, problem) + check_program_report(replay, replay.program_report)
                + check_ledgers(replay, ledgers) + check_fairness(replay.fairness))
    print_summary(replay, report, problems, estimate.result(measuring) if measuring else None, api.calls, args.out)
    return 1 if problems else 0


def _council_report(api: Api, replay: Replay, out: Path) -> tuple[dict | None, str | None]:
    """Write the reports to `out`; the incident report and why it is missing (if it is)."""
    program = replay.programs["business_claims"]
    replay.program_report = api.call("GET", f"/programs/{program}/report", ADMIN)
    (out / "report.json").write_text(json.dumps(replay.program_report, indent=2))
    (out / "report.html").write_text(api.call("GET", f"/programs/{program}/report?format=html", ADMIN)["text"])
    try:
        report, page = incident_report(api, replay.incident["incident_id"])
    except UnexpectedAnswer as exc:
        print(f"\nTHE COUNCIL'S REPORT IS MISSING: {exc}", file=sys.stderr)
        return None, str(exc)
    (out / "incident-report.json").write_text(json.dumps(report, indent=2))
    (out / "incident-report.html").write_text(page)
    return report, None


def _ledgers(api: Api, replay: Replay) -> dict[str, dict[str, int]]:
    """Who each automatic program paid, from the ledger: kind -> payee -> KRW."""
    paid: dict[str, dict[str, int]] = {}
    for kind in replay.owed:
        entries, cursor = paid.setdefault(kind, {}), ""
        while cursor is not None:
            page = api.call("GET", f"/ledger?program_id={replay.programs[kind]}&limit=200"
                            + (f"&cursor={quote(cursor)}" if cursor else ""), ADMIN)
            for entry in page["items"]:
                entries[entry["payee_id"]] = entries.get(entry["payee_id"], 0) + entry["amount_krw"]
            cursor = page["next"]
    return paid


if __name__ == "__main__":
    sys.exit(main())
