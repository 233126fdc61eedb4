"""The fairness report's counters: hourly items per service and cohort, trip band or all decisions, added
(ADD) inside the transactions that already happen, and read back for a window without touching rides.

Every counter is an ADD to one of TALLY_SHARDS partitions of its service and day (by ride or driver id), so
concurrent transactions rarely write the same item and no partition takes a city's whole write rate. A
report reads one query per shard and UTC day of its service.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta
from zlib import crc32

from pynamodb.transactions import TransactWrite

from chalicelib.core.clock import iso
from chalicelib.rides import rules
from chalicelib.rides.models import FairnessTally, Ride

KEPT = timedelta(days=400)


@dataclass
class ReadCost:
    """What a report read: queries (round trips, one page each) and counter items."""

    queries: int = 0
    items: int = 0


def shard_of(key: str) -> int:
    """The counter shard a ride or driver adds to."""
    return crc32(key.encode()) % rules.TALLY_SHARDS


def add_in(tx: TransactWrite, adds: dict, now: datetime) -> None:
    """Write the additions (`{(partition, slot): {counter: n}}`, from rules) into the transaction `tx`."""
    for (partition, slot), counters in rules.merged(adds).items():
        tx.update(FairnessTally(partition, slot), actions=[
            *(getattr(FairnessTally, name).add(n) for name, n in sorted(counters.items())),
            FairnessTally.expires_at.set(now + KEPT)])


def band_of(ride: Ride) -> str:
    """The ride's trip-length band."""
    return rules.trip_band((float(ride.pickup.lat), float(ride.pickup.lng)),
                           (float(ride.dropoff.lat), float(ride.dropoff.lng)))


def offer_counts(ride: Ride, offered, passed_nearer: int, new: bool, now: datetime) -> dict:
    """What one offer adds: the decision, the offered driver's cohort offer and ended availability, and the
    ride's request (when new) and first offer in its band."""
    candidate, shard = offered.candidate, shard_of(ride.ride_id)
    return rules.merged(
        rules.decision_counts(ride.service, now, candidate.affiliation, passed_nearer, shard),
        rules.availability_counts(candidate.services or {ride.service}, candidate.affiliation,
                                  candidate.available_since, now, shard_of(candidate.driver_id)),
        rules.request_counts(ride.service, ride.created_at, band_of(ride), shard, new, not ride.declined_by))


def request_in(tx: TransactWrite, ride: Ride, now: datetime) -> None:
    """A new ride stored searching (nobody could be offered it): its request, in the same transaction."""
    add_in(tx, rules.request_counts(ride.service, ride.created_at, band_of(ride), shard_of(ride.ride_id), True,
                                    False), now)


def outcome_in(tx: TransactWrite, ride: Ride, counter: str, now: datetime) -> None:
    """The ride was `accepted` or `completed` by the driver offered it: counted in that driver's cohort."""
    if ride.driver_affiliation:  # rides offered before the counters existed carry no cohort
        add_in(tx, rules.counted(ride.service, now, "cohort", ride.driver_affiliation, shard_of(ride.ride_id),
                                 **{counter: 1}), now)


def availability_in(tx: TransactWrite, driver_id: str, services, affiliation: str, since: datetime | None,
                    now: datetime) -> None:
    """A driver stops being available (going offline): their available seconds, per hour, in their cohort."""
    add_in(tx, rules.availability_counts(services, affiliation, since, now, shard_of(driver_id)), now)


def active_in(tx: TransactWrite, driver_id: str, services, affiliation: str, now: datetime) -> None:
    """The driver's first availability of the UTC day (the caller guards it by the driver's day marker)."""
    # its own item ("active"), never one of the cohort items the same transaction may add to (a completion)
    add_in(tx, rules.merged(*(rules.counted(s, now, "active", affiliation, shard_of(driver_id), drivers=1)
                              for s in services)), now)


def report(service: str, start: datetime, end: datetime, cost: ReadCost | None = None) -> dict:
    """The fairness report of the UTC hours [start, end) touches: one query per day and shard, summed in rules."""
    first, last = rules.window_hours(start, end)
    cost = cost if cost is not None else ReadCost()
    items: list[tuple[str, dict]] = []
    for day, low, high in rules.day_ranges(first, last):
        for shard in range(rules.TALLY_SHARDS):
            found = FairnessTally.query(rules.tally_partition(service, day, shard),
                                        FairnessTally.slot.between(f"{low}#", f"{high}#~"))
            for page in found.page_iter:  # one round trip per page (1 MB); a day's shard fits in one
                cost.queries += 1
                for raw in page.get("Items", []):
                    tally = FairnessTally.from_raw_data(raw)
                    items.append((tally.slot, {name: getattr(tally, name) for name in rules.COUNTERS}))
                    cost.items += 1
    shown = rules.fairness_report(service, first, last, items)
    return shown | {"from": iso(first), "to": iso(last)}
