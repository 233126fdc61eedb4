"""The `compute-entitlements` job: what drivers and riders are owed after an outage, without anyone asking.

A program is computed in chunks of payees, along chains: one, or for a large fleet one per parallel
segment of the drivers table. The job runs the first few chunks itself and hands the rest to the work
queue one chunk per message, each message naming where its chain's next chunk starts; the last chain
to end marks the program computed. A chunk is
idempotent: entitlement ids derive from (program, payee), existing ones are skipped, and new ones are
written in one transaction with the program's counters, so running a chunk twice changes nothing.
"""

from collections.abc import Callable
from datetime import datetime, timedelta

from pynamodb.exceptions import TransactWriteError

from chalicelib.compensation import rules
from chalicelib.compensation import service as compensation
from chalicelib.compensation.models import Claim, Program
from chalicelib.compensation.rules import ProgramKind, ProgramStatus
from chalicelib.core.clock import iso, sort_key
from chalicelib.core.clock import now as clock_now
from chalicelib.core.dynamo import failed_on_condition, transaction
from chalicelib.core.observability import count, logger
from chalicelib.core.tasks import enqueue
from chalicelib.drivers import service as drivers
from chalicelib.outages import service as outages
from chalicelib.rides import service as rides

TASK = "compute-entitlements"
CHUNK = 50            # payees per chunk: a chunk's claims and counters fit one transaction (100 items)
INLINE_CHUNKS = 4     # the job computes this many chunks itself before handing over to the queue
ATTEMPTS = 3
STALLED_AFTER = timedelta(minutes=30)   # a chain of chunks that made no progress this long is started again

Owed = tuple[str, int, dict]            # (payee_id, amount_krw, basis)
Chunk = tuple[list[Owed], dict | None]  # what a chunk owes, and where the next chunk starts (None: done)


def compute_entitlements(now: datetime) -> dict:
    """Compute every automatic program whose incident has ended, and restart any whose computing stalled."""
    summary = {"computed": [], "queued": [], "waiting": [], "entitlements": 0}
    stalled = Program.by_status.query(ProgramStatus.COMPUTING, Program.due_key <= sort_key(now - STALLED_AFTER))
    for program in [*Program.by_status.query(ProgramStatus.TO_COMPUTE), *stalled]:
        _, ended_at = outages.incident_window(program.incident_id)
        if ended_at is None:
            summary["waiting"].append(program.program_id)
            continue
        chains = _first_cursors(program)
        if not _start(program, ended_at, len(chains), now):
            continue  # another run took it
        for _ in range(INLINE_CHUNKS):        # the first chunks here, the chains taking turns
            if not chains:
                break
            chain, cursor = chains.pop(0)
            added, cursor = compute_chunk(program, cursor, now)
            summary["entitlements"] += added
            if cursor is None:
                _chain_done(program, chain, now)
            else:
                chains.append((chain, cursor))
        if chains:
            enqueue(TASK, [{"program_id": program.program_id, "chain": chain, "cursor": cursor}
                           for chain, cursor in chains])
            summary["queued"].append(program.program_id)
        else:
            summary["computed"].append(program.program_id)
    return summary


def compute_chunk(program: Program, cursor: dict | None, now: datetime) -> tuple[int, dict | None]:
    """Compute and record one chunk of the program's payees; returns (entitlements written, next cursor)."""
    owed, next_cursor = CHUNKS[ProgramKind(program.kind)](program, cursor)
    claims = [compensation.approved_entitlement(program, payee, amount, basis, now)
              for payee, amount, basis in _once_per_payee(owed) if amount > 0]
    return _record(program, claims, now), next_cursor


def continue_computing(payload: dict) -> None:
    """The work queue's task: one chunk, then queue the next, or mark the program computed."""
    program = compensation.program_of(payload["program_id"])
    if program.status != ProgramStatus.COMPUTING:
        return  # computed already (a redelivered message)
    now, chain = clock_now(), payload.get("chain", "0")
    _, cursor = compute_chunk(program, payload["cursor"], now)
    if cursor is None:
        _chain_done(program, chain, now)
    else:
        program.update(actions=[Program.due_key.set(f"{sort_key(now)}#{program.program_id}")])  # still going
        enqueue(TASK, [{"program_id": program.program_id, "chain": chain, "cursor": cursor}])



# --- what each kind owes ----------------------------------------------------------------------------------

def _lost_income(program: Program, cursor: dict | None) -> Chunk:
    """Taxi drivers: multiplier x (same hours a week before - income during the outage), edge hours pro rata."""
    start, end = program.window_start, program.window_end
    before_start, before_end = start - rules.SAME_HOURS_LAST_WEEK, end - rules.SAME_HOURS_LAST_WEEK
    multiplier = compensation.params_of(program).multiplier
    driver_ids, next_cursor = drivers.drivers_of("taxi", cursor, CHUNK)
    owed = []
    for driver_id in driver_ids:
        during = rules.income_in(start, end, drivers.hourly_earnings(driver_id, start, end))
        before = rules.income_in(before_start, before_end, drivers.hourly_earnings(driver_id, before_start,
                                                                                   before_end))
        amount = rules.income_shortfall_payout(during, before, multiplier)
        owed.append((driver_id, amount, {"during_krw": round(during), "week_before_krw": round(before),
                                         "multiplier": str(multiplier)}))
    return owed, next_cursor


def _support(program: Program, cursor: dict | None) -> Chunk:
    """Designated drivers who were online in the hour before the outage began."""
    amount = int(program.params["amount_krw"])
    start, end = rules.support_window(program.window_start)
    driver_ids, next_cursor = drivers.drivers_of("designated", cursor, CHUNK)
    return ([(d, amount, {"online_from": iso(start), "online_to": iso(end)})
             for d in driver_ids if drivers.was_online(d, start, end)], next_cursor)


def _stranded_riders(program: Program, cursor: dict | None) -> Chunk:
    """Riders whose rides were cancelled or expired during the outage."""
    amount = int(program.params["amount_krw"])
    rider_ids, next_cursor = rides.unserved_riders(program.window_start, program.window_end, cursor, CHUNK)
    return [(r, amount, {"unserved_ride_in_window": True}) for r in rider_ids], next_cursor


DRIVER_KINDS = (ProgramKind.DRIVER_INCOME, ProgramKind.DRIVER_SUPPORT)
CHUNKS: dict[ProgramKind, Callable[[Program, dict | None], Chunk]] = {
    ProgramKind.DRIVER_INCOME: _lost_income, ProgramKind.DRIVER_SUPPORT: _support,
    ProgramKind.RIDER_CREDIT: _stranded_riders,
}


# --- writing ----------------------------------------------------------------------------------------------

def _record(program: Program, claims: list[Claim], now: datetime) -> int:
    """Write the claims not written yet, with the counters, in one transaction; returns how many were new."""
    for _ in range(ATTEMPTS):
        existing = {c.claim_id for c in Claim.batch_get([c.claim_id for c in claims], attributes_to_get=["claim_id"])}
        fresh = [c for c in claims if c.claim_id not in existing]
        if not fresh:
            return 0
        try:
            with transaction() as tx:
                for claim in fresh:
                    tx.save(claim, condition=Claim.claim_id.does_not_exist())
                compensation.count_entitlements_in(tx, program, fresh, now)
            count("EntitlementsComputed", len(fresh))
            return len(fresh)
        except TransactWriteError as exc:
            if not failed_on_condition(exc):
                raise
            logger.info("entitlement chunk raced another run; retrying", extra={"program_id": program.program_id})
    raise RuntimeError(f"could not record a chunk of {program.program_id} after {ATTEMPTS} attempts")


def _once_per_payee(owed: list[Owed]) -> list[Owed]:
    """A rider stranded twice is credited once."""
    return list({payee: (payee, amount, basis) for payee, amount, basis in reversed(owed)}.values())


def _first_cursors(program: Program) -> list[tuple[str, dict | None]]:
    """(chain, cursor) to start from: one chain, or a large fleet scanned in parallel segments."""
    segments = drivers.scan_segments() if program.kind in DRIVER_KINDS else 1
    if segments == 1:
        return [("0", None)]
    return [(str(n), {"segment": n, "of": segments, "key": None}) for n in range(segments)]


def _chain_done(program: Program, chain: str, now: datetime) -> None:
    """One chain reached its end; the last one marks the program computed (a redelivered end counts once)."""
    program.update(actions=[Program.chains_done.add({chain})])
    if len(program.chains_done or ()) >= int(program.chains):
        _finish(program, now)


def _start(program: Program, ended_at: datetime, chains: int, now: datetime) -> bool:
    """Take the program for this run (a stalled one too, chunks being idempotent); False if another run has it."""
    try:
        program.update(condition=(Program.status == program.status) & (Program.due_key == program.due_key), actions=[
            Program.status.set(rules.next_program_status(program.status, "start_computing")),
            Program.due_key.set(f"{sort_key(now)}#{program.program_id}"),
            Program.window_end.set(ended_at), Program.chains.set(chains), Program.chains_done.remove(),
            Program.updated_at.set(now)])
        return True
    except Exception as exc:
        if failed_on_condition(exc):
            return False
        raise


def _finish(program: Program, now: datetime) -> None:
    program.update(actions=[Program.status.set(rules.next_program_status(program.status, "finish_computing")),
                            Program.computed_at.set(now),
                            Program.due_key.set(f"{sort_key(now)}#{program.program_id}"), Program.updated_at.set(now)])
    logger.info("entitlements computed", extra={"program_id": program.program_id})
