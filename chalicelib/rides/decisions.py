"""The dispatch record: every offer's decision, written in the offer's own transaction, and how it is read
back (a ride's decisions for admins and auditors; a driver's own candidacies for the driver).

One item per candidate: DynamoDB indexes one key per item, and each candidate (not only the offered driver)
must find their own entries in the `by_driver` index. A decision weighs at most RECORDED candidates.
"""

from datetime import datetime, timedelta
from itertools import groupby

from pynamodb.transactions import TransactWrite

from chalicelib.core.clock import iso, sort_key
from chalicelib.core.pagination import decode_cursor, encode_cursor
from chalicelib.rides import fairness, rules
from chalicelib.rides.models import DispatchEntry, Ride

KEPT = timedelta(days=400)
RECORDED = 10  # the pickup's own cell is read 10 spots deep; the wider search is cut to the 10 best ranked


def weighed_for_record(weighed: list, offered_id: str) -> list:
    """The candidates a decision records: the best ranked RECORDED, the offered driver always among them."""
    position = next(i for i, w in enumerate(weighed) if w.candidate.driver_id == offered_id)
    return weighed[:max(RECORDED, position + 1)]


def record_in(tx: TransactWrite, ride: Ride, weighed: list, offered_id: str, lost: set[str], now: datetime,
              new: bool = False) -> None:
    """Write the decision that offers `ride` to `offered_id` into the offer's transaction `tx`, with the
    fairness report's counters it adds to (`new`: the ride is stored by this transaction, a request)."""
    judgements = rules.judge(weighed_for_record(weighed, offered_id), offered_id, lost)
    offered = next(w for w in weighed if w.candidate.driver_id == offered_id)
    fairness.add_in(tx, fairness.offer_counts(ride, offered, rules.passed_over_nearer(judgements), new, now), now)
    for rank, judged in enumerate(judgements):
        tx.save(DispatchEntry(
            ride.ride_id, f"{sort_key(now)}#{rank:02d}", at=now, service=ride.service, rule=rules.DISPATCH_RULE,
            offered_to=offered_id, driver_id=judged.driver_id, driver_key=f"{sort_key(now)}#{ride.ride_id}",
            affiliation=judged.affiliation, ring_distance=judged.ring_distance,
            available_since=judged.available_since, outcome=judged.outcome, reason=judged.reason,
            offered_ring=judged.offered_ring, waited_less_s=judged.waited_less_s, expires_at=now + KEPT))


def decisions_of(ride_id: str) -> list[dict]:
    """Every decision of the ride, oldest first, with all its candidates (API.md's `decisions`)."""
    entries = DispatchEntry.query(ride_id, consistent_read=True)
    return [_decision(list(group)) for _, group in groupby(entries, key=lambda e: e.entry_key.rpartition("#")[0])]


def log_of(driver_id: str, start: datetime, end: datetime, limit: int, cursor: str | None) -> dict:
    """A page of the driver's candidacies in [start, end), oldest first; other drivers are never named."""
    found = DispatchEntry.by_driver.query(
        driver_id, DispatchEntry.driver_key.between(sort_key(start), sort_key(end)), limit=limit,
        last_evaluated_key=decode_cursor(cursor))
    items = [{"ride_id": e.ride_id, "at": iso(e.at), "outcome": e.outcome, "ring_distance": int(e.ring_distance),
              "reason": rules.in_words(e.outcome, e.reason, int(e.ring_distance), int(e.offered_ring),
                                       int(e.waited_less_s))}
             for e in found if e.at < end]
    return {"items": items, "next": encode_cursor(found.last_evaluated_key)}


def _decision(entries: list[DispatchEntry]) -> dict:
    first = entries[0]
    return {"at": iso(first.at), "rule": first.rule, "offered_to": first.offered_to, "candidates": [
        {"driver_id": e.driver_id, "affiliation": e.affiliation, "ring_distance": int(e.ring_distance),
         "available_since": iso(e.available_since), "outcome": e.outcome, "reason": e.reason} for e in entries]}
