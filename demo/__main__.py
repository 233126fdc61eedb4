"""`python -m demo [--scale 1.0] [--seed 2022] [--url http://127.0.0.1:8000]`: the fire and its aftermath, replayed.

Without --url it starts its own local stack on free ports (and stops it after); with --url it uses a running
`make run` (local stage: the replay moves its clock). The report lands in out/report.html and out/report.json.
"""

import argparse
import json
import sys
import tempfile
from contextlib import nullcontext
from pathlib import Path

from demo.client import ADMIN, Api
from demo.scenario import run_scenario
from demo.summary import compare, print_summary
from devstack.launcher import ROOT, local_stack


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m demo", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scale", type=float, default=1.0, help="1.0 = the real 451 claims; 0.1 for a quick run")
    parser.add_argument("--seed", type=int, default=2022)
    parser.add_argument("--url", help="a running local stack (default: start one)")
    parser.add_argument("--out", type=Path, default=ROOT / "out")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    log = Path(tempfile.gettempdir()) / "o2o-demo-stack.log"
    with (nullcontext({"base": args.url}) if args.url else local_stack(log)) as stack:
        print(f"replaying the fire of 15 October 2022 against {stack['base']} (scale {args.scale}, seed {args.seed})")
        api = Api(stack["base"])
        try:
            expected, report = run_scenario(api, args.scale, args.seed, progress=sys.stderr.isatty())
            program = expected.programs["business_claims"]
            html = api.call("GET", f"/programs/{program}/report?format=html", ADMIN)["text"]
        finally:
            api.call("PUT", "/dev/clock", ADMIN, {"now": None})
    (args.out / "report.html").write_text(html)
    (args.out / "report.json").write_text(json.dumps(report, indent=2))
    problems = compare(expected, report)
    print_summary(expected, report, problems, api.calls, args.out / "report.html")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
