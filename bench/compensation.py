"""Compensation cost: DynamoDB round trips of the `compute-entitlements` job per payee, and per voucher take.

Runs in-process against moto with the infra/ stack deployed, counting every DynamoDB call with
`bench.counting`'s botocore wrapper. For each entitlement row a fresh stack gets a resolved incident,
one automatic program and its payees, written straight into the tables:

- `driver_income`: taxi drivers with hourly EarningsBucket items over the incident's day and the same day a
  week before; more rides per driver mean bigger totals and more buckets written, while each driver's two
  windows cover the same hours, so the job reads a bounded number of buckets with two queries per driver;
- `driver_support`: designated drivers with a few OnlineSession items each (one query per driver);
- `rider_credit`: riders with a ride cancelled during the incident (through `rides.service`).

The job runs its first chunks itself and queues the rest (the task is registered by importing the
compensation routes, as app.py does); the bench drains the work queue through the app's queue handler, and
counts both. Voucher takes call `compensation.service.take_vouchers` twice per rider.
"""

import random
import statistics
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from moto import mock_aws

import chalicelib.compensation.routes  # noqa: F401  (registers the compute-entitlements task, as app.py does)
from bench.counting import (
    Call,
    Counted,
    counting_dynamodb,
    deploy_stack,
    item_level_moto_rollback,
    items_read_of,
    partition_moto_queries,
    recorded,
    ride_request,
    round_trips_of,
)
from chalicelib.compensation import entitlements
from chalicelib.compensation import service as compensation
from chalicelib.compensation.schemas import ProgramIn
from chalicelib.core import tasks
from chalicelib.core.auth import Caller
from chalicelib.core.aws import client as aws_client
from chalicelib.core.config import get_settings
from chalicelib.core.observability import logger, metrics
from chalicelib.drivers.models import Driver, EarningsBucket, OnlineSession
from chalicelib.outages import service as outages
from chalicelib.outages.schemas import ComponentIn, IncidentIn, ResolveIn
from chalicelib.rides import service as rides
from chalicelib.rides.schemas import Cancellation
from devstack.pump import sqs_event

PAYEES = 200
RIDES_PER_DRIVER = (1, 10, 100)
VOUCHER_RIDERS = 500
INCIDENT_START = datetime(2024, 5, 1, 9, 30, tzinfo=UTC)
INCIDENT_END = datetime(2024, 5, 1, 12, 15, tzinfo=UTC)
BUCKETS_PER_WINDOW = 4               # the incident touches the UTC hours 09, 10, 11 and 12
COMPUTED_AT = INCIDENT_END + timedelta(hours=1)
WORKING_HOURS = range(6, 18)         # rides fall in these UTC hours of the incident's day and a week before
KEPT_DURING_OUTAGE = 0.2             # the share of rides still completed while the platform was down
WEEK = timedelta(days=7)
ADMIN = Caller(sub="bench-ops", role="admin")
TARGET_TAKE_ROUND_TRIPS = 3


@dataclass(frozen=True)
class Computation(Counted):
    """One run of the compute-entitlements job (and the queued chunks it left) over one program."""

    kind: str
    payees: int
    rides_per_driver: int | None
    items_written: int
    calls: tuple[Call, ...]
    queued: int
    entitlements: int
    seconds: float


# --- the incident and its program --------------------------------------------------------------------------

def resolved_incident() -> str:
    """A declared incident of one component, from INCIDENT_START to INCIDENT_END."""
    outages.register_component(ComponentIn(name="bench-dispatch", heartbeat_timeout_s=60), INCIDENT_START)
    declared = outages.declare_incident(ADMIN, IncidentIn(components=["bench-dispatch"], started_at=INCIDENT_START,
                                                          summary="dispatch down"), INCIDENT_START)
    outages.resolve_incident(ADMIN, declared["incident_id"], ResolveIn(resolved_at=INCIDENT_END), INCIDENT_END)
    return declared["incident_id"]


def create_program(incident_id: str, kind: str, params: dict) -> str:
    program = ProgramIn(name=f"bench {kind}", incident_id=incident_id, kind=kind, params=params)
    return compensation.create_program(ADMIN, program, INCIDENT_END)["program_id"]


# --- payees, written straight into the tables --------------------------------------------------------------

def driver_profile(driver_id: str, service: str) -> Driver:
    """A driver of one service, created when the incident started."""
    return Driver(driver_id, name=driver_id, services={service}, created_at=INCIDENT_START, updated_at=INCIDENT_START)


def add_taxi_drivers(rng: random.Random, drivers: int, rides_per_driver: int) -> int:
    """Taxi drivers with their rides summed into hourly buckets; returns how many buckets were written."""
    slots = [day.replace(hour=hour) for day in (INCIDENT_START, INCIDENT_START - WEEK) for hour in WORKING_HOURS]
    written = 0
    with Driver.batch_write() as profiles, EarningsBucket.batch_write() as buckets:
        for number in range(drivers):
            driver_id = f"bench-taxi-{number:04d}"
            profiles.save(driver_profile(driver_id, "taxi"))
            hourly: dict[datetime, list[int]] = {}
            for _ in range(rides_per_driver):
                hour = rng.choice(slots)
                if hour + timedelta(minutes=59) >= INCIDENT_START and hour < INCIDENT_END \
                        and rng.random() > KEPT_DURING_OUTAGE:
                    continue  # the ride did not happen: the outage
                hourly.setdefault(hour, []).append(rng.randrange(8_000, 40_000, 10))
            for hour, payouts in hourly.items():
                buckets.save(EarningsBucket(driver_id, hour.strftime("%Y-%m-%dT%H"), total_krw=sum(payouts),
                                            rides=len(payouts)))
            written += len(hourly)
    return written


def add_designated_drivers(rng: random.Random, drivers: int) -> int:
    """Designated drivers with three online sessions each; two in three were online in the hour before."""
    written = 0
    with Driver.batch_write() as profiles, OnlineSession.batch_write() as sessions:
        for number in range(drivers):
            driver_id = f"bench-designated-{number:04d}"
            profiles.save(driver_profile(driver_id, "designated"))
            last_ended = INCIDENT_START - timedelta(minutes=rng.choice((10, 30, 120)))
            for days_ago in (2, 1, 0):
                ended = last_ended - timedelta(days=days_ago)
                started = ended - timedelta(hours=rng.uniform(1, 5))
                sessions.save(OnlineSession(driver_id, started.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
                                            started_at=started, ended_at=ended))
                written += 1
    return written


def add_stranded_riders(rng: random.Random, riders: int) -> int:
    """Riders whose ride found no driver and was cancelled during the incident (one in ten twice)."""
    written = 0
    for number in range(riders):
        rider_id = f"bench-rider-{number:04d}"
        for _ in range(2 if number % 10 == 0 else 1):
            at = INCIDENT_START + timedelta(seconds=rng.uniform(60, (INCIDENT_END - INCIDENT_START).total_seconds()))
            ride = rides.request_ride(rider_id, ride_request(rng), None, at - timedelta(seconds=30))
            rides.cancel(Caller(sub=rider_id, role="rider"), ride["ride_id"], Cancellation(), at)
            metrics.clear_metrics()  # otherwise powertools flushes EMF to stdout every 100 values
            written += 1
    return written


# --- the job -----------------------------------------------------------------------------------------------

def drain_work_queue() -> int:
    """Deliver the work queue's messages to the app's queue handler until it is empty; returns how many."""
    sqs, queue_url, delivered = aws_client("sqs"), get_settings().work_queue_url, 0
    while messages := sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10).get("Messages", []):
        answer = tasks.run_queued_tasks(sqs_event(messages, "arn:aws:sqs:ap-northeast-2:000000000000:WorkQueue"))
        if answer.get("batchItemFailures"):
            raise RuntimeError(f"queued chunks failed: {answer['batchItemFailures']}")
        for message in messages:
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
        delivered += len(messages)
    return delivered


def computation(rng: random.Random, kind: str, params: dict, add_payees: Callable[[random.Random], int],
                rides_per_driver: int | None = None) -> Computation:
    """A fresh stack with one program of `kind`; the job over it, counted from its first call to its last."""
    with mock_aws(), item_level_moto_rollback(), partition_moto_queries(), counting_dynamodb():
        deploy_stack()
        program_id = create_program(resolved_incident(), kind, params)
        written = add_payees(rng)
        started = time.perf_counter()
        with recorded() as calls:
            summary = entitlements.compute_entitlements(COMPUTED_AT)
            queued = drain_work_queue()
        seconds = time.perf_counter() - started
        metrics.clear_metrics()
        program = compensation.program_detail(program_id)
        if program["status"] != "computed":
            raise RuntimeError(f"{kind} program left {program['status']}: {summary}")
    return Computation(kind, PAYEES, rides_per_driver, written, tuple(calls), queued, program["counts"]["approved"],
                       seconds)


def run_entitlements() -> list[Computation]:
    rng = random.Random(11)
    rows = [computation(rng, "driver_income", {"service": "taxi", "multiplier": "1.5"},
                        lambda r, n=n: add_taxi_drivers(r, PAYEES, n), rides_per_driver=n) for n in RIDES_PER_DRIVER]
    rows.append(computation(rng, "driver_support", {"service": "designated", "amount_krw": 30_000},
                            lambda r: add_designated_drivers(r, PAYEES)))
    rows.append(computation(rng, "rider_credit", {"amount_krw": 5_000}, lambda r: add_stranded_riders(r, PAYEES)))
    return rows


# --- vouchers ----------------------------------------------------------------------------------------------

def run_vouchers(riders: int = VOUCHER_RIDERS) -> tuple[list[tuple[Call, ...]], list[tuple[Call, ...]], int, float]:
    """(calls of each first take, calls of each repeated take, takers counted by the program, seconds)."""
    first, again = [], []
    with mock_aws(), item_level_moto_rollback(), partition_moto_queries(), counting_dynamodb():
        deploy_stack()
        program_id = create_program(resolved_incident(), "voucher", {"items": [
            {"name": "taxi 3,000 KRW off", "valid_days": 30}, {"name": "free cancellation", "valid_days": None}]})
        started = time.perf_counter()
        for number in range(riders):
            rider_id = f"bench-voucher-rider-{number:04d}"
            taken_at = COMPUTED_AT + timedelta(seconds=number)
            with recorded() as calls:
                took = compensation.take_vouchers(rider_id, program_id, taken_at)
            first.append(tuple(calls))
            with recorded() as calls:
                retook = compensation.take_vouchers(rider_id, program_id, taken_at + timedelta(minutes=5))
            again.append(tuple(calls))
            if retook["vouchers"] != took["vouchers"]:
                raise RuntimeError(f"{rider_id} got other vouchers the second time")
            metrics.clear_metrics()
        seconds = time.perf_counter() - started
        takers = compensation.program_detail(program_id)["counts"]["takers"]
    return first, again, takers, seconds


# --- tables ------------------------------------------------------------------------------------------------

def print_entitlements(rows: list[Computation]) -> None:
    """The table, the verdict on driver_income and the largest run's operations."""
    print(f"Entitlement computation cost (compute-entitlements job and its queued chunks, in-process moto; "
          f"{entitlements.CHUNK} payees per chunk)")
    print(f"{'kind':<16}{'payees':>8}{'rides/driver':>14}{'items written':>15}{'round trips':>13}{'per payee':>11}"
          f"{'items read/payee':>18}{'queued chunks':>15}{'entitlements':>14}{'wall s':>8}")
    for row in rows:
        rides_per_driver = "-" if row.rides_per_driver is None else f"{row.rides_per_driver:,}"
        print(f"{row.kind:<16}{row.payees:>8,}{rides_per_driver:>14}{row.items_written:>15,}{row.round_trips:>13,}"
              f"{row.round_trips / row.payees:>11.2f}{row.items_read / row.payees:>18.2f}{row.queued:>15}"
              f"{row.entitlements:>14,}{row.seconds:>8.1f}")
    print("items written: EarningsBucket items (driver_income), OnlineSession items (driver_support), "
          "cancelled rides (rider_credit)")
    income = [row for row in rows if row.kind == "driver_income"]
    per_driver = {f"{row.round_trips / row.payees:.2f}" for row in income}
    verdict = "constant" if len(per_driver) == 1 else f"NOT constant ({', '.join(sorted(per_driver))})"
    most = max(call.items_read for row in income for call in row.calls if call.label == "Query(earnings)")
    bounded = "met" if most <= BUCKETS_PER_WINDOW else "NOT met"
    print(f"driver_income round trips per driver, {income[0].rides_per_driver} to {income[-1].rides_per_driver:,} "
          f"rides per driver: {verdict}; buckets read per window query <= {BUCKETS_PER_WINDOW} (the hours the "
          f"incident touches; two queries per driver): {bounded} (max {most})")
    largest = income[-1]
    operations = Counter(call.label for call in largest.calls)
    print(f"driver_income at {largest.rides_per_driver:,} rides per driver: "
          + ", ".join(f"{times} x {operation}" for operation, times in operations.most_common()))


def print_vouchers(first: list[tuple[Call, ...]], again: list[tuple[Call, ...]], takers: int, seconds: float) -> None:
    """The table and the verdict."""
    print(f"Voucher taking cost per POST /programs/{{id}}/vouchers/claim (in-process moto; {len(first)} riders, "
          "each taking twice)")
    print(f"{'take':<10}{'round trips (mean / max)':>26}{'items read (mean / max)':>26}   typical operations")
    worst = 0
    for name, samples in (("first", first), ("repeated", again)):
        trips = [round_trips_of(calls) for calls in samples]
        reads = [items_read_of(calls) for calls in samples]
        typical = Counter(", ".join(call.label for call in calls) for calls in samples).most_common(1)[0][0]
        worst = max(worst, *trips)
        print(f"{name:<10}{statistics.mean(trips):>17.2f} / {max(trips):<6}{statistics.mean(reads):>17.2f} / "
              f"{max(reads):<6}   {typical}")
    verdict = "met" if worst <= TARGET_TAKE_ROUND_TRIPS else f"NOT met (max {worst})"
    print(f"target: round trips per take <= {TARGET_TAKE_ROUND_TRIPS}: {verdict}; takers counted by the program "
          f"{takers:,} of {len(first):,}; {seconds:.1f} s")


def main() -> None:
    started = time.perf_counter()
    logger.setLevel("WARNING")
    print_entitlements(run_entitlements())
    print()
    print_vouchers(*run_vouchers())
    print(f"total {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
