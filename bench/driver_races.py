"""Driver races, longer: the stateful test of tests/integration/test_driver_state_machine.py, run for
thousands of steps and with more actions at once, counting broken dispatch rules instead of stopping.

Drivers save their profiles, go on and off line and move while riders request and cancel, drivers accept,
decline and drive, and the expire-rides job runs, several at once from threads, against a moto server that
serves one DynamoDB request at a time (atomic requests and transactions, as on AWS). After every step the
tables are checked: a driver holds at most one offer or live ride, has geo-index spots exactly when
available, and every live ride's driver points back at it; no action may fail with a 500. A run whose
rules break is counted and started afresh, so each violation counts once.
"""

import logging
import os
import time
from collections import Counter
from dataclasses import dataclass

import requests
from hypothesis import HealthCheck, Phase, settings
from hypothesis.stateful import run_state_machine_as_test
from moto.server import ThreadedMotoServer

from bench.counting import deploy_stack
from chalicelib.core.observability import logger, metrics
from devstack import cloud
from devstack.launcher import free_port
from tests.integration.test_driver_state_machine import DRIVERS, DriverRaces, Fleet, wipe

ROWS = ((4, 10, 60), (8, 6, 50))  # (most actions at once, runs, steps per run): about two minutes


@dataclass(frozen=True)
class Row:
    most_at_once: int
    steps: int
    actions: int
    conflicts: int
    profile_conflicts: int
    violations: int
    seconds: float
    first_violation: str | None


class CountingRaces(DriverRaces):
    """The test's machine; broken rules are tallied (and the world started afresh) instead of failing."""

    tally: Counter[str] = Counter()
    first_violation: list[str] = []

    def found(self, broken: list[str]) -> None:
        metrics.clear_metrics()  # otherwise powertools flushes EMF to stdout every 100 values
        if not broken:
            return
        self.tally["violations"] += 1
        if not self.first_violation:
            self.first_violation.append(broken[0])
        self.count(self.fleet)
        wipe()
        self.fleet = Fleet()
        for driver_id in DRIVERS:
            self.fleet.act(("profile", driver_id, ("taxi", "designated")))
            self.fleet.act(("online", driver_id, "city-hall"))

    def teardown(self) -> None:
        self.count(self.fleet)

    def count(self, fleet: Fleet) -> None:
        self.tally["steps"] += fleet.steps
        fleet.steps = 0
        for outcome, times in fleet.outcomes.items():
            self.tally["actions"] += times
            self.tally["conflicts"] += times if outcome.endswith(" 409") else 0
            self.tally["profile conflicts"] += times if outcome == "profile 409" else 0
        fleet.outcomes.clear()


def run(most_at_once: int, runs: int, steps: int) -> Row:
    machine = type("Races", (CountingRaces,), {"most_at_once": most_at_once, "tally": Counter(),
                                               "first_violation": []})
    started = time.perf_counter()
    run_state_machine_as_test(machine, settings=settings(
        max_examples=runs, stateful_step_count=steps, deadline=None, database=None, phases=(Phase.generate,),
        suppress_health_check=list(HealthCheck)))
    tally = machine.tally
    return Row(most_at_once, tally["steps"], tally["actions"], tally["conflicts"], tally["profile conflicts"],
               tally["violations"],
               time.perf_counter() - started, (machine.first_violation or [None])[0])


def main() -> None:
    logger.setLevel("WARNING")
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    with cloud.one_request_at_a_time():
        port = free_port()
        server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
        server.start()
        try:
            requests.post(f"http://127.0.0.1:{port}/moto-api/reset", timeout=10)
            os.environ["AWS_ENDPOINT_URL"] = f"http://127.0.0.1:{port}"
            deploy_stack()
            rows = [run(*row) for row in ROWS]
        finally:
            server.stop()
            os.environ.pop("AWS_ENDPOINT_URL", None)
    print("Driver races: profile, status and location writes against dispatch, several at once "
          "(moto server, one request at a time)")
    print(f"{'threads':>8}{'steps':>8}{'actions':>9}{'409s':>7}{'profile 409s':>14}{'violations':>12}"
          f"{'time s':>8}{'steps/s':>9}")
    for row in rows:
        print(f"{row.most_at_once:>8}{row.steps:>8,}{row.actions:>9,}{row.conflicts:>7,}{row.profile_conflicts:>14,}"
              f"{row.violations:>12}{row.seconds:>8.0f}{row.steps / row.seconds:>9.1f}")
    for row in rows:
        if row.first_violation:
            print(f"first violation with {row.most_at_once} threads: {row.first_violation}")
    print("target: 0 violations: " + ("met" if not any(row.violations for row in rows) else "NOT met"))


if __name__ == "__main__":
    main()
