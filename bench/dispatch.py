"""Dispatch cost: DynamoDB round trips and items read per `POST /rides` as the online fleet grows.

Runs `rides.service.request_ride` in-process against moto with the infra/ stack deployed, with
1,000, 10,000 and 100,000 available taxi drivers spread over Seoul, and counts every DynamoDB call
the request makes (PynamoDB's and powertools' idempotency alike) with `bench.counting`'s wrapper of botocore's
`BaseClient._make_api_call`. The fleet is written straight into the tables with batch writes.

The dispatch record (one item per candidate, in the offer's transaction) is included in the round trips;
its extra write units are computed from the stored items' sizes (moto reports no consumed capacity): a
transactional put costs 2 WCU per KB, and each item's `by_driver` index entry 1 WCU per KB. The fairness
counters the same transaction adds to (ADD on a few items under 1 KB: 2 WCU each) are counted apart.

The fairness report's cost: the counters 100,000 decisions over 30 days leave (written straight into the
table, as the offers would have added them), then one `GET /dispatch/fairness` of the month, counted.
"""

import json
import math
import random
import statistics
import time
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from moto import mock_aws

from bench.counting import (
    Call,
    Counted,
    counting_dynamodb,
    deploy_stack,
    item_level_moto_rollback,
    recorded,
    ride_request,
    seoul_point,
)
from chalicelib.core.auth import Caller
from chalicelib.core.observability import logger, metrics
from chalicelib.drivers import rules
from chalicelib.drivers.models import Driver, DriverSpot
from chalicelib.rides import fairness
from chalicelib.rides import rules as ride_rules
from chalicelib.rides import service as rides
from chalicelib.rides.models import DispatchEntry, FairnessTally
from chalicelib.rides.schemas import Cancellation

FLEETS = (1_000, 10_000, 100_000)
REQUESTS_PER_FLEET = 30
LOAD_BUDGET_S = 180          # the largest fleet step may take this long to write; beyond it the fleet is capped
TARGET_ROUND_TRIPS = 6
TARGET_MEAN_ROUND_TRIPS = 3.8
TARGET_ITEMS_RATIO = 1.2
START = datetime(2024, 5, 1, 9, 0, tzinfo=UTC)
REPORT_DECISIONS = 100_000
REPORT_DAYS = 30
REPORT_COHORTS = ("independent", "Kakao T Blue", "Macaron", "UT")
REPORT_SERVICE = "designated"  # not the taxi fleet the dispatch table measures: the month's counters stand alone
TALLY_WCU = 2                # a transactional ADD on an item under 1 KB
_tally_items: list[int] = []


def _counting_tallies() -> None:
    """Count the fairness counter items each transaction adds to (the offer's, or a new ride's)."""
    add_in = fairness.add_in

    def counted(tx, adds, now):
        _tally_items.append(len(ride_rules.merged(adds)))
        add_in(tx, adds, now)
    fairness.add_in = counted


@dataclass(frozen=True)
class Sample(Counted):
    """The DynamoDB calls of one `POST /rides`."""

    calls: tuple[Call, ...]
    keyed: bool
    offered: bool
    record_wcu: int = 0
    tally_wcu: int = 0

    @property
    def operations(self) -> str:
        return ", ".join(call.label for call in self.calls)


def add_drivers(rng: random.Random, first: int, last: int) -> None:
    """Write drivers `first`..`last - 1` as available taxi drivers, each with its geo-index spot."""
    with Driver.batch_write() as drivers, DriverSpot.batch_write() as spots:
        for number in range(first, last):
            driver_id = f"bench-driver-{number:06d}"
            lat, lng = seoul_point(rng)
            cell = rules.cell_of(lat, lng)
            since = START - timedelta(seconds=rng.uniform(0, 3600))
            drivers.save(Driver(driver_id, name=driver_id, services={"taxi"}, status=rules.DriverStatus.AVAILABLE,
                                lat=lat, lng=lng, cell=cell, position_at=since, available_since=since,
                                created_at=since, updated_at=since))
            spots.save(DriverSpot(driver_id, "taxi", cell=cell, cell_key=rules.cell_key("taxi", cell),
                                  area_key=rules.area_key("taxi", cell), idle_key=rules.idle_key(since, driver_id),
                                  available_since=since, affiliation="independent" if number % 2 else "franchise"))


def grow_fleet(rng: random.Random, current: int, wanted: int, rate: float | None) -> tuple[int, float]:
    """Grow the fleet towards `wanted`, capped to what LOAD_BUDGET_S allows at `rate`; (new size, drivers/s)."""
    target = wanted if rate is None else min(wanted, current + int(rate * LOAD_BUDGET_S))
    started = time.perf_counter()
    add_drivers(rng, current, target)
    elapsed = time.perf_counter() - started
    return target, (target - current) / elapsed if elapsed > 0 else float("inf")


def dispatch_once(rng: random.Random, name: str, keyed: bool, now: datetime) -> Sample:
    """One `POST /rides`, counted; the offered driver is freed again (uncounted) so the fleet keeps its size."""
    rider_id = f"bench-rider-{name}"
    request = ride_request(rng)
    _tally_items.clear()
    with recorded() as calls:
        answer = rides.request_ride(rider_id, request, f"bench-key-{name}" if keyed else None, now)
    tally_wcu = TALLY_WCU * sum(_tally_items)
    if answer["driver_id"]:
        rides.cancel(Caller(sub=rider_id, role="rider"), answer["ride_id"], Cancellation(), now)
    metrics.clear_metrics()  # otherwise powertools flushes EMF to stdout every 100 values
    return Sample(tuple(calls), keyed=keyed, offered=answer["driver_id"] is not None,
                  record_wcu=record_write_units(answer["ride_id"]), tally_wcu=tally_wcu)


def item_kb(item) -> int:
    """DynamoDB's size of an item in whole KB (names and values, as stored), at least 1."""
    size = sum(len(name) + len(json.dumps(value)) for name, value in item.serialize().items())
    return max(1, math.ceil(size / 1024))


def record_write_units(ride_id: str) -> int:
    """The write units the ride's dispatch record cost: 2 per KB per transactional put, 1 per KB of index."""
    return sum(3 * item_kb(entry) for entry in DispatchEntry.query(ride_id))


def measure(rng: random.Random, fleet: int, requests: int) -> list[Sample]:
    """`requests` dispatches, every other one with an Idempotency-Key."""
    return [dispatch_once(rng, f"{fleet}-{n}", keyed=n % 2 == 1, now=START + timedelta(seconds=n))
            for n in range(requests)]


def typical(samples: list[Sample], keyed: bool) -> Sample:
    """The most common sequence of operations among keyed (or unkeyed) requests."""
    chosen = [s for s in samples if s.keyed == keyed]
    most_common = Counter(s.operations for s in chosen).most_common(1)[0][0]
    return next(s for s in chosen if s.operations == most_common)


def month_of_counters(rng: random.Random) -> dict:
    """The counter items REPORT_DECISIONS offers over REPORT_DAYS leave, as the offer transactions add them."""
    start, adds = START.replace(hour=0), {}
    for n in range(REPORT_DECISIONS):
        at = start + timedelta(seconds=rng.uniform(0, REPORT_DAYS * 86400))
        cohort, shard, band = rng.choice(REPORT_COHORTS), rng.randrange(ride_rules.TALLY_SHARDS), rng.choice(
            ride_rules.BAND_NAMES)
        offer = ride_rules.merged(
            ride_rules.decision_counts(REPORT_SERVICE, at, cohort, 0, shard),
            ride_rules.availability_counts({REPORT_SERVICE}, cohort,
                                           max(start, at - timedelta(minutes=rng.uniform(1, 20))), at, shard),
            ride_rules.request_counts(REPORT_SERVICE, at, band, shard, True, n % 5 != 0),
            ride_rules.counted(REPORT_SERVICE, at, "cohort", cohort, shard, accepted=1, completed=1))
        for key, counters in offer.items():
            item = adds.setdefault(key, {})
            for name, value in counters.items():
                item[name] = item.get(name, 0) + value
    return adds


def fairness_report_cost(rng: random.Random) -> tuple[dict, fairness.ReadCost, int]:
    """(the month's report, what reading it cost, counter items stored) for REPORT_DECISIONS decisions."""
    adds = month_of_counters(rng)
    with FairnessTally.batch_write() as batch:
        for (partition, slot), counters in adds.items():
            batch.save(FairnessTally(partition, slot, **counters))
    cost, start = fairness.ReadCost(), START.replace(hour=0)
    with recorded() as calls:
        shown = fairness.report(REPORT_SERVICE, start, start + timedelta(days=REPORT_DAYS), cost)
    cost.queries = len(calls)
    return shown, cost, len(adds)


def run(fleets: tuple[int, ...] = FLEETS, requests: int = REQUESTS_PER_FLEET):
    """(fleet size, seconds to write that step, samples) for each fleet, growing one stack; and the fairness
    report's cost."""
    rng, size, rate, rows = random.Random(7), 0, None, []
    logger.setLevel("WARNING")
    _counting_tallies()
    with mock_aws(), item_level_moto_rollback(), counting_dynamodb():
        deploy_stack()
        for wanted in fleets:
            started = time.perf_counter()
            size, rate = grow_fleet(rng, size, wanted, rate)
            loaded = time.perf_counter() - started
            if size < wanted:
                print(f"note: {wanted:,} drivers would take over {LOAD_BUDGET_S} s to load; measured {size:,}")
            rows.append((size, loaded, measure(rng, size, requests)))
            if size < wanted:
                break
        report_cost = fairness_report_cost(rng)
    return rows, report_cost


def print_table(rows: list[tuple[int, float, list[Sample]]], requests: int) -> None:
    """The table, the verdict and a typical request's operations."""
    print(f"Dispatch cost per POST /rides (in-process moto; {requests} requests per fleet, half with Idempotency-Key)")
    print(f"{'fleet':<10}{'round trips (mean / max)':>26}{'no key / key max':>18}{'items read (mean / max)':>26}"
          f"{'offered':>10}{'load s':>9}{'record WCU (mean / max)':>26}{'counters WCU (mean / max)':>28}")
    for fleet, loaded, samples in rows:
        trips, reads = [s.round_trips for s in samples], [s.items_read for s in samples]
        plain = max(s.round_trips for s in samples if not s.keyed)
        keyed = max(s.round_trips for s in samples if s.keyed)
        offered = sum(s.offered for s in samples)
        wcu, tallies = [s.record_wcu for s in samples], [s.tally_wcu for s in samples]
        print(f"{fleet:<10,}{statistics.mean(trips):>17.1f} / {max(trips):<6}{plain:>11} / {keyed:<4}"
              f"{statistics.mean(reads):>17.1f} / {max(reads):<6}{offered:>6}/{len(samples):<3}{loaded:>9.1f}"
              f"{statistics.mean(wcu):>17.1f} / {max(wcu):<6}{statistics.mean(tallies):>19.1f} / {max(tallies):<6}")
    worst = max(s.round_trips for _, _, samples in rows for s in samples)
    first, last = (statistics.mean(s.items_read for s in rows[i][2]) for i in (0, -1))
    ratio = last / first if first else float("inf")
    mean = max(statistics.mean(s.round_trips for s in samples) for _, _, samples in rows)
    trips_verdict = ("met" if worst <= TARGET_ROUND_TRIPS and mean <= TARGET_MEAN_ROUND_TRIPS
                     else f"NOT met (mean {mean:.1f}, max {worst})")
    ratio_verdict = "met" if ratio <= TARGET_ITEMS_RATIO else "NOT met"
    print(f"target: round trips mean <= {TARGET_MEAN_ROUND_TRIPS}, max <= {TARGET_ROUND_TRIPS}: {trips_verdict};"
          f" items read {rows[-1][0]:,}/{rows[0][0]:,}"
          f" = {ratio:.2f} <= {TARGET_ITEMS_RATIO}: {ratio_verdict}")
    if worst > TARGET_ROUND_TRIPS:
        fleet, sample = next((f, s) for f, _, samples in rows for s in samples if s.round_trips == worst)
        print(f"worst request ({fleet:,} drivers, {'with' if sample.keyed else 'without'} key): {sample.operations}")
    samples = rows[-1][2]
    for keyed in (False, True):
        sample = typical(samples, keyed)
        print(f"typical request {'with' if keyed else 'without'} key at {rows[-1][0]:,} "
              f"({sample.round_trips} round trips, {sample.items_read} items read): {sample.operations}")


def print_report_cost(report_cost: tuple[dict, fairness.ReadCost, int]) -> None:
    """What the month's fairness report read, and whether it counted every decision."""
    shown, cost, stored = report_cost
    verdict = "all counted" if shown["decisions"] == REPORT_DECISIONS else f"NOT all counted ({shown['decisions']:,})"
    print(f"fairness report of {REPORT_DAYS} days, {REPORT_DECISIONS:,} decisions, {len(REPORT_COHORTS)} cohorts, "
          f"{ride_rules.TALLY_SHARDS} shards: {cost.queries} round trips (one query per day and shard), "
          f"{cost.items:,} counter items read of {stored:,} stored; {verdict}")


def main() -> None:
    started = time.perf_counter()
    rows, report_cost = run()
    print_table(rows, REQUESTS_PER_FLEET)
    print_report_cost(report_cost)
    print(f"total {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
