"""17.3 million riders took the emoticon pack. The replay's crowd is far smaller, so the full figure is an
estimate: the DynamoDB cost of one take as `make bench` measures it (bench.compensation, in-process moto,
every call counted), times 17.3 million. It runs in a child process while the replay goes on.

`python -m demo.estimate` prints the per-take cost as JSON.
"""

import json
import re
import statistics
import subprocess
import sys

from devstack.launcher import ROOT

REAL_TAKERS = 17_300_000
SAMPLE_RIDERS = 30
WRITES = {"PutItem", "UpdateItem", "DeleteItem"}


def start() -> subprocess.Popen:
    """Measure in the background; `result(started)` collects it."""
    return subprocess.Popen([sys.executable, "-m", "demo.estimate"], cwd=ROOT, stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, text=True)


def result(started: subprocess.Popen) -> dict:
    """The bench's per-take cost and its extrapolation to 17.3 million takes (an estimate)."""
    out, _ = started.communicate(timeout=300)
    if started.returncode:
        raise RuntimeError(f"the voucher cost measurement failed (exit {started.returncode})")
    per_take = json.loads(out.strip().splitlines()[-1])
    return {**per_take, "real_takers": REAL_TAKERS,
            "round_trips": round(per_take["round_trips_per_take"] * REAL_TAKERS),
            "items_written": round(per_take["items_written_per_take"] * REAL_TAKERS),
            "write_units": round(per_take["write_units_per_take"] * REAL_TAKERS)}


def _written(label: str) -> tuple[int, int]:
    """(items written, write request units) of one counted call, from its label; transactions cost double."""
    many = re.match(r"TransactWriteItems\((\d+) items\)", label)
    if many:
        return int(many.group(1)), 2 * int(many.group(1))
    return (1, 1) if label.split("(")[0] in WRITES else (0, 0)


def measure(riders: int = SAMPLE_RIDERS) -> dict:
    """Each rider's first take, as the bench counts it."""
    from bench.compensation import run_vouchers
    from bench.counting import items_read_of, round_trips_of
    from chalicelib.core.observability import logger

    logger.setLevel("WARNING")
    first, _, takers, _ = run_vouchers(riders)
    writes = [[_written(call.label) for call in calls] for calls in first]
    return {"sample": takers, "round_trips_per_take": statistics.mean(round_trips_of(c) for c in first),
            "items_read_per_take": statistics.mean(items_read_of(c) for c in first),
            "items_written_per_take": statistics.mean(sum(w[0] for w in take) for take in writes),
            "write_units_per_take": statistics.mean(sum(w[1] for w in take) for take in writes)}


if __name__ == "__main__":
    print(json.dumps(measure()))
