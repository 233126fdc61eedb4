"""Payout round throughput: pay a round of 10,000 approved claims through the work queue's handler.

In-process moto with the infra/ stack. The approved claims are written straight into the claims table (as
the compute-entitlements job leaves them); the round is created and approved through `payouts.service`, and
its chunk messages are delivered from SQS to the app's queue handler the way the local pump does. Every
DynamoDB call is counted with `bench.counting`'s botocore wrapper. Two rows: rider credits (wallets) and
business damage payouts (bank transfers through the transfer provider).
"""

import time
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from moto import mock_aws

from bench.counting import (
    STACK_NAME,
    counting_dynamodb,
    deploy_stack,
    item_level_moto_rollback,
    items_read_of,
    recorded,
    round_trips_of,
)
from chalicelib.compensation import service as compensation
from chalicelib.compensation.models import Claim, Program
from chalicelib.core import clock
from chalicelib.core.auth import Caller
from chalicelib.core.observability import logger
from chalicelib.payouts import service as payouts
from chalicelib.payouts.models import LedgerEntry
from chalicelib.payouts.schemas import RoundIn
from devstack import cloud
from devstack.pump import Pump

ROWS = (("rider_credit", 10_000), ("business_claims", 2_000))
AMOUNT_KRW = 3_000
AT = datetime(2022, 10, 20, 9, tzinfo=UTC)
CREATOR, APPROVER = Caller("bench-ops", "admin"), Caller("bench-approver", "admin", approver=True)


@dataclass
class Row:
    kind: str
    claims: int
    chunks: int
    create_round_trips: int
    pay_round_trips: int
    transactions: int
    items_read: int
    pay_s: float
    ledger_sum_ok: bool
    operations: Counter


def approved_claims(kind: str, count: int) -> str:
    """A program of `kind` with `count` approved, unpaid claims (written in batches); returns its id."""
    program = Program(f"prg_bench_{kind}", name=kind, incident_id="inc_bench", kind=kind, params={},
                      status="computed", due_key="-", window_start=AT - timedelta(days=5), created_by="bench",
                      created_at=AT, updated_at=AT, approved_count=count, approved_krw=count * AMOUNT_KRW,
                      filed_count=count)
    program.save()
    with Claim.batch_write() as batch:
        for n in range(count):
            claim = compensation.approved_entitlement(program, f"payee-{n:06d}", AMOUNT_KRW, {}, AT)
            claim.kind = kind
            batch.save(claim)
    return program.program_id


def pay(kind: str, count: int, app) -> Row:
    program_id = approved_claims(kind, count)
    with recorded() as creating:
        created = payouts.create_round(CREATOR, RoundIn(program_id=program_id), None, AT)
    payouts.approve_round(APPROVER, created["round_id"], AT)
    pump = Pump(app, cloud.physical_ids(STACK_NAME), log=lambda _: None)
    (binding,) = pump.bindings
    started = time.perf_counter()
    with recorded() as paying:
        while pump.deliver_once(*binding):
            pass
    elapsed = time.perf_counter() - started
    paid = payouts.round_detail(created["round_id"])
    ledger_sum = sum(int(e.amount_krw) for e in LedgerEntry.by_program.query(program_id))
    operations = Counter(call.label.split("(")[0] for call in paying)
    return Row(kind, paid["paid_count"], created["chunk_count"], round_trips_of(creating), round_trips_of(paying),
               operations["TransactWriteItems"], items_read_of(paying), elapsed,
               ledger_sum == paid["total_krw"] == count * AMOUNT_KRW and paid["status"] == "paid", operations)


def run() -> list[Row]:
    rows = []
    for kind, count in ROWS:
        with mock_aws(), counting_dynamodb(), item_level_moto_rollback():
            deploy_stack()
            from app import app
            clock.use_clock(clock.FrozenClock(AT))
            try:
                rows.append(pay(kind, count, app))
            finally:
                clock.use_clock(clock.SystemClock())
    return rows


def main() -> None:
    logger.setLevel("WARNING")
    started = time.perf_counter()
    rows = run()
    print("Payout round throughput (round created, approved, then paid through the queue handler; in-process moto)")
    print(f"{'kind':<17}{'claims':>8}{'chunks':>8}{'create RT':>11}{'pay RT':>8}{'RT/claim':>10}"
          f"{'tx/claim':>10}{'reads/claim':>13}{'claims/s':>10}{'ledger = total':>16}")
    for row in rows:
        print(f"{row.kind:<17}{row.claims:>8,}{row.chunks:>8}{row.create_round_trips:>11,}{row.pay_round_trips:>8,}"
              f"{row.pay_round_trips / row.claims:>10.3f}{row.transactions / row.claims:>10.3f}"
              f"{row.items_read / row.claims:>13.2f}{row.claims / row.pay_s:>10.0f}"
              f"{'yes' if row.ledger_sum_ok else 'NO':>16}")
    for row in rows:
        print(f"{row.kind} paying: " + ", ".join(f"{n} x {op}" for op, n in row.operations.most_common()))
    print("target: 1 transaction per paid claim at most, plus amortised reads: "
          + ("met" if all(r.transactions <= r.claims for r in rows) else "NOT met"))
    print(f"total {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
