"""Ride rules: status machine, fares, estimates, ratings. Pure: no AWS, no I/O, no clock.

Times are aware UTC datetimes compared in KST; money is integer KRW, fractions are handled exactly.
"""

import math
from dataclasses import asdict, dataclass, fields
from datetime import datetime, timedelta, timezone
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum

from chalicelib.core.errors import Conflict
from chalicelib.core.money import round_up_to, share_of
from chalicelib.core.states import Moves

SERVICES = ("taxi", "designated")
KST = timezone(timedelta(hours=9), "KST")
EARTH_RADIUS_M = 6_371_000


class RideStatus(StrEnum):
    SEARCHING = "searching"
    OFFERED = "offered"
    ACCEPTED = "accepted"
    ARRIVED = "arrived"
    IN_PROGRESS = "in_progress"
    COMPLETED = "completed"
    CANCELLED = "cancelled"
    EXPIRED = "expired"


S = RideStatus
WITH_DRIVER = frozenset({S.OFFERED, S.ACCEPTED, S.ARRIVED, S.IN_PROGRESS})
CANCELLABLE = frozenset({S.SEARCHING, S.OFFERED, S.ACCEPTED, S.ARRIVED})
FINISHED = frozenset({S.COMPLETED, S.CANCELLED, S.EXPIRED})

# action -> (statuses it may be taken from, status it leads to)
RIDE_MOVES = Moves(RideStatus, {
    "offer": ({S.SEARCHING}, S.OFFERED),
    "decline": ({S.OFFERED}, S.SEARCHING),
    "offer_expired": ({S.OFFERED}, S.SEARCHING),
    "accept": ({S.OFFERED}, S.ACCEPTED),
    "arrive": ({S.ACCEPTED}, S.ARRIVED),
    "start": ({S.ARRIVED}, S.IN_PROGRESS),
    "complete": ({S.IN_PROGRESS}, S.COMPLETED),
    "cancel": (CANCELLABLE, S.CANCELLED),
    "expire": ({S.SEARCHING, S.OFFERED}, S.EXPIRED),
})


class IllegalTransition(Conflict):
    """An action that the ride's current status does not allow (HTTP 409)."""


def days_touched(start: datetime, end: datetime) -> list[str]:
    """The UTC days (`YYYY-MM-DD`) that [start, end) touches, in order."""
    day, last = start.date(), (end - timedelta(microseconds=1)).date()
    days = []
    while day <= last:
        days.append(day.isoformat())
        day += timedelta(days=1)
    return days


def next_status(current: RideStatus | str, action: str) -> RideStatus:
    """The status a ride in `current` moves to on `action`; IllegalTransition if not allowed (or unknown).

    An unknown status string raises ValueError.
    """
    target = RIDE_MOVES.after(current, action)
    if target is None:
        raise IllegalTransition(f"cannot {action} a ride that is {current}")
    return target


@dataclass(frozen=True)
class TaxiTariff:
    base_fare_krw: int = 4800
    base_distance_m: int = 1600
    distance_unit_m: int = 131
    distance_unit_krw: int = 100
    time_unit_s: int = 30
    time_unit_krw: int = 100
    slow_speed_kmh: int = 15
    night_surcharge_percent: int = 20
    night_start_hour: int = 22
    night_end_hour: int = 4
    commission_percent: int = 3
    rounding_krw: int = 100


@dataclass(frozen=True)
class DesignatedTariff:
    base_fare_krw: int = 15000
    base_distance_m: int = 5000
    per_km_krw: int = 1000
    night_surcharge_percent: int = 20
    night_start_hour: int = 22
    night_end_hour: int = 6
    commission_percent: int = 20
    rounding_krw: int = 1000


def _check_whole(name: str, value: object, minimum: int) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < minimum:
        raise ValueError(f"{name} must be an integer of at least {minimum}")
    return value


def _tariff_from_dict(kind: type, data: dict) -> object:
    """A tariff of class `kind` from `data`: missing keys keep defaults, unknown keys or non-integers fail."""
    known = {field.name for field in fields(kind)}
    unknown = set(data) - known
    if unknown:
        raise ValueError(f"unknown {kind.__name__} keys: {sorted(unknown)}")
    for key, value in data.items():
        _check_whole(f"{kind.__name__}.{key}", value, minimum=0)
    return kind(**data)


@dataclass(frozen=True)
class Tariffs:
    taxi: TaxiTariff
    designated: DesignatedTariff
    detour_factor: Decimal = Decimal("1.3")
    estimate_speed_kmh: int = 25

    @classmethod
    def from_dict(cls, data: dict) -> "Tariffs":
        """Tariffs from the shape of tariffs.json; missing keys keep defaults, unknown keys raise ValueError."""
        unknown = set(data) - {"taxi", "designated", "detour_factor", "estimate_speed_kmh"}
        if unknown:
            raise ValueError(f"unknown tariff keys: {sorted(unknown)}")
        speed = _check_whole("estimate_speed_kmh", data.get("estimate_speed_kmh", cls.estimate_speed_kmh), minimum=1)
        return cls(taxi=_tariff_from_dict(TaxiTariff, data.get("taxi", {})),
                   designated=_tariff_from_dict(DesignatedTariff, data.get("designated", {})),
                   detour_factor=Decimal(str(data.get("detour_factor", cls.detour_factor))), estimate_speed_kmh=speed)


@dataclass(frozen=True)
class Fare:
    fare_krw: int
    commission_krw: int
    driver_payout_krw: int
    insurance_paid_by: str = "platform"

    def as_dict(self) -> dict:
        """The fare as stored and returned by the API."""
        return asdict(self)


def is_late_night(at: datetime, start_hour: int, end_hour: int) -> bool:
    """Whether `at` (aware) falls in [start_hour, end_hour) KST; the window may wrap midnight."""
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError("a ride time must be timezone-aware")
    hour = at.astimezone(KST).hour
    if start_hour <= end_hour:
        return start_hour <= hour < end_hour
    return hour >= start_hour or hour < end_hour


def _check_non_negative(**amounts: int) -> None:
    for name, value in amounts.items():
        if value < 0:
            raise ValueError(f"{name} must not be negative")


def _ceil_div(numerator: int, denominator: int) -> int:
    return -(-numerator // denominator)


def _settle(metered: int, started_at: datetime, tariff: TaxiTariff | DesignatedTariff) -> Fare:
    """Add the night surcharge, round up, and split the fare into commission and driver payout."""
    if is_late_night(started_at, tariff.night_start_hour, tariff.night_end_hour):
        metered += share_of(metered, tariff.night_surcharge_percent)
    fare = round_up_to(metered, tariff.rounding_krw)
    commission = share_of(fare, tariff.commission_percent)
    return Fare(fare_krw=fare, commission_krw=commission, driver_payout_krw=fare - commission)


def slow_time_units(distance_m: int, duration_s: int, tariff: TaxiTariff) -> int:
    """Full time units spent beyond what `distance_m` takes at the slow speed (exact integer arithmetic)."""
    # duration - distance / (kmh / 3.6), scaled by kmh * 10 to stay in integers
    slow_scaled = duration_s * tariff.slow_speed_kmh * 10 - distance_m * 36
    return max(0, slow_scaled) // (tariff.time_unit_s * tariff.slow_speed_kmh * 10)


def taxi_fare(distance_m: int, duration_s: int, started_at: datetime, tariff: TaxiTariff) -> Fare:
    """The metered taxi fare: base, per started distance unit, slow-time charge, night surcharge."""
    _check_non_negative(distance_m=distance_m, duration_s=duration_s)
    metered = tariff.base_fare_krw
    extra_m = distance_m - tariff.base_distance_m
    if extra_m > 0:
        metered += _ceil_div(extra_m, tariff.distance_unit_m) * tariff.distance_unit_krw
    metered += slow_time_units(distance_m, duration_s, tariff) * tariff.time_unit_krw
    return _settle(metered, started_at, tariff)


def designated_fare(distance_m: int, started_at: datetime, tariff: DesignatedTariff) -> Fare:
    """The designated-driver fare: base, per started km beyond the base distance, night surcharge."""
    _check_non_negative(distance_m=distance_m)
    metered = tariff.base_fare_krw
    extra_m = distance_m - tariff.base_distance_m
    if extra_m > 0:
        metered += _ceil_div(extra_m, 1000) * tariff.per_km_krw
    return _settle(metered, started_at, tariff)


def final_fare(service: str, distance_m: int, duration_s: int, started_at: datetime, tariffs: Tariffs) -> Fare:
    """The fare of a finished ride of `service`; ValueError for an unknown service or bad input."""
    _check_non_negative(distance_m=distance_m, duration_s=duration_s)
    if service == "taxi":
        return taxi_fare(distance_m, duration_s, started_at, tariffs.taxi)
    if service == "designated":
        return designated_fare(distance_m, started_at, tariffs.designated)
    raise ValueError(f"unknown service: {service}")


def haversine_m(a: tuple[float, float], b: tuple[float, float]) -> float:
    """Great-circle distance in metres between two (lat, lng) points."""
    lat1, lng1, lat2, lng2 = map(math.radians, (a[0], a[1], b[0], b[1]))
    h = math.sin((lat2 - lat1) / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin((lng2 - lng1) / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(math.sqrt(h))


def estimate_fare(service: str, pickup: tuple[float, float], dropoff: tuple[float, float],
                  requested_at: datetime, tariffs: Tariffs) -> int:
    """The quoted fare in KRW: straight line x detour factor, driven at the assumed average speed."""
    road_m = int((Decimal(str(haversine_m(pickup, dropoff))) * tariffs.detour_factor).to_integral_value(ROUND_HALF_UP))
    duration_s = _ceil_div(road_m * 36, tariffs.estimate_speed_kmh * 10)
    return final_fare(service, road_m, duration_s, requested_at, tariffs).fare_krw



# --- the dispatch record: what each decision weighed, and why each candidate was or was not offered ---------

DISPATCH_RULE = "nearest H3 ring (resolution 8), then longest available, then driver id"
TRIP_BANDS = ((1_000, "<1km"), (5_000, "1-5km"), (20_000, "5-20km"), (math.inf, ">20km"))
NUMBER_WORDS = ("no", "one", "two", "three", "four", "five", "six")


@dataclass(frozen=True)
class Judgement:
    """One candidate of one decision: the candidate data recorded, the outcome and why."""

    driver_id: str
    affiliation: str
    ring_distance: int
    available_since: datetime
    outcome: str            # offered | passed_over | excluded
    reason: str             # offered | nearer_driver_offered | longer_waiting_driver_offered | tie_broken_by_id
    #                         | declined_before | lost_race
    offered_ring: int
    waited_less_s: int      # how much less than the offered driver this one had waited (passed over, same ring)


def judge(weighed: list, offered_id: str, lost: set[str]) -> list[Judgement]:
    """Each weighed candidate's outcome when `offered_id` got the offer and the offers to `lost` failed.

    `weighed` is in offer order (items with `.candidate`, `.ring_distance`, `.declined`). Those ranked before
    the offered driver were excluded (declined earlier, or taken by something else first); those after
    were passed over for a nearer or longer-waiting driver.
    """
    offered = next(w for w in weighed if w.candidate.driver_id == offered_id)
    judged = []
    for w in weighed:
        c = w.candidate
        outcome, reason = _outcome(w, offered, lost)
        waited_less = (c.available_since - offered.candidate.available_since).total_seconds()
        judged.append(Judgement(c.driver_id, c.affiliation, w.ring_distance, c.available_since, outcome, reason,
                                offered.ring_distance, max(0, int(waited_less))))
    return judged


def _outcome(w, offered, lost: set[str]) -> tuple[str, str]:
    if w is offered:
        return "offered", "offered"
    if w.declined:
        return "excluded", "declined_before"
    if w.candidate.driver_id in lost:
        return "excluded", "lost_race"
    if w.ring_distance > offered.ring_distance:
        return "passed_over", "nearer_driver_offered"
    if w.candidate.available_since > offered.candidate.available_since:
        return "passed_over", "longer_waiting_driver_offered"
    return "passed_over", "tie_broken_by_id"


def passed_over_nearer(judged: list[Judgement]) -> int:
    """Candidates nearer than the offered driver who were passed over (not excluded): fair dispatch keeps it 0."""
    return sum(1 for j in judged if j.outcome == "passed_over" and j.ring_distance < j.offered_ring)


def in_words(outcome: str, reason: str, ring_distance: int, offered_ring: int, waited_less_s: int) -> str:
    """The reason as the driver reads it in their log; it never names another driver."""
    if reason == "offered":
        return "offered to you: you were the nearest available driver, and among them had waited longest"
    if reason == "declined_before":
        return "you had declined this ride earlier"
    if reason == "lost_race":
        return "you were no longer available at the moment of the offer (another offer or a status change came first)"
    if reason == "nearer_driver_offered":
        rings = ring_distance - offered_ring
        count = NUMBER_WORDS[rings] if rings < len(NUMBER_WORDS) else str(rings)
        return f"offered to a driver {count} ring{'s' if rings != 1 else ''} nearer"
    if reason == "longer_waiting_driver_offered":
        minutes = waited_less_s // 60
        longer = f"{minutes} minute{'s' if minutes != 1 else ''}" if minutes else "less than a minute"
        return f"equally near; a driver waiting {longer} longer was offered"
    return "equally near and waiting as long; the tie went by a fixed order of driver ids"


def trip_band(pickup: tuple[float, float], dropoff: tuple[float, float]) -> str:
    """The trip-length band of a ride (straight line, pickup to drop-off)."""
    distance = haversine_m(pickup, dropoff)
    return next(band for limit, band in TRIP_BANDS if distance < limit)


# --- the fairness report: hourly counters per service, cohort and trip band, summed over a window ----------

TALLY_SHARDS = 8  # spread an hour's counters: fewer transactions conflict on one item, no partition runs hot
LONGEST_STRETCH = timedelta(hours=24)  # an available stretch is credited for its last 24 hours at most
COUNTERS = ("decisions", "passed_over_nearer", "offers", "accepted", "completed", "available_s", "drivers",
            "requests", "offered")
BAND_NAMES = tuple(band for _, band in TRIP_BANDS)


def tally_partition(service: str, at: datetime, shard: int) -> str:
    """The counters' partition: one per service, UTC day and shard (a month is 30 x TALLY_SHARDS queries)."""
    return f"{service}#{at.strftime('%Y-%m-%d')}#{shard}"


def tally_slot(at: datetime, kind: str, name: str) -> str:
    """The counter item of the UTC hour of `at` in its partition: `HH#all|cohort|active|band#name` (by hour)."""
    return f"{at.strftime('%H')}#{kind}#{name}"


def counted(service: str, at: datetime, kind: str, name: str, shard: int, **counters: int) -> dict:
    """One counter item's additions, as `{(partition, slot): {counter: n}}`."""
    return {(tally_partition(service, at, shard), tally_slot(at, kind, name)): counters}


def merged(*adds: dict) -> dict:
    """Additions to the same item summed: a transaction may write each item once."""
    total: dict = {}
    for add in adds:
        for key, counters in add.items():
            item = total.setdefault(key, {})
            for name, n in counters.items():
                item[name] = item.get(name, 0) + n
    return {key: {k: n for k, n in item.items() if n} for key, item in total.items() if any(item.values())}


def available_by_hour(since: datetime, until: datetime) -> list[tuple[datetime, int]]:
    """A stretch of being available, cut into (a moment in each UTC hour, whole seconds in it), oldest first."""
    start, pieces = max(since, until - LONGEST_STRETCH), []
    while start < until:
        hour_end = start.replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
        end = min(hour_end, until)
        pieces.append((start, int((end - start).total_seconds())))
        start = end
    return [p for p in pieces if p[1] > 0]


def availability_counts(services, affiliation: str, since: datetime | None, until: datetime, shard: int) -> dict:
    """A driver of `affiliation` stops being available for `services` at `until`: their available seconds."""
    if since is None:
        return {}
    return merged(*(counted(service, at, "cohort", affiliation, shard, available_s=seconds)
                    for service in services for at, seconds in available_by_hour(since, until)))


def decision_counts(service: str, now: datetime, affiliation: str, passed_nearer: int, shard: int) -> dict:
    """One offer decision: counted, with its passed-over nearer candidates, and the offered driver's cohort's offer."""
    return merged(counted(service, now, "all", "all", shard, decisions=1, passed_over_nearer=passed_nearer),
                  counted(service, now, "cohort", affiliation, shard, offers=1))


def request_counts(service: str, created_at: datetime, band: str, shard: int, requested: bool,
                   first_offer: bool) -> dict:
    """A ride requested (counted when stored) and first offered (counted in its request's hour, so the offer
    rate of a window is that of the requests made in it)."""
    return counted(service, created_at, "band", band, shard, requests=int(requested), offered=int(first_offer))


def window_hours(start: datetime, end: datetime) -> tuple[datetime, datetime]:
    """The whole UTC hours the counters of [start, end) cover: start's hour up to the hour after end's last moment."""
    first = start.replace(minute=0, second=0, microsecond=0)
    last = (end - timedelta(microseconds=1)).replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
    return first, max(last, first + timedelta(hours=1))


def day_ranges(first: datetime, last: datetime) -> list[tuple[datetime, str, str]]:
    """Per UTC day of the hours [first, last): (a moment of the day, first slot prefix, last slot prefix)."""
    ranges, day = [], first
    while day < last:
        next_day = day.replace(hour=0) + timedelta(days=1)
        upto = min(next_day, last) - timedelta(hours=1)
        ranges.append((day, day.strftime("%H"), upto.strftime("%H")))
        day = next_day
    return ranges


def _share(part: int | float, whole: int | float) -> float:
    return round(part / whole, 4) if whole else 0.0


def fairness_report(service: str, first: datetime, last: datetime, items: list[tuple[str, dict]]) -> dict:
    """API.md's fairness report from the counter items of the window (`(slot, counters)` each), summed."""
    totals: dict[tuple[str, str], dict[str, int]] = {}
    for slot, counters in items:  # a name may hold "#": it is the rest of the slot
        _, kind, name = slot.split("#", 2)
        kind = "cohort" if kind == "active" else kind  # a cohort's distinct drivers, kept on items of their own
        item = totals.setdefault((kind, name), dict.fromkeys(COUNTERS, 0))
        for name in COUNTERS:
            item[name] += int(counters.get(name) or 0)
    everything = totals.get(("all", "all"), dict.fromkeys(COUNTERS, 0))
    cohorts = {name: c for (kind, name), c in totals.items() if kind == "cohort"}
    minutes = {name: c["available_s"] // 60 for name, c in cohorts.items()}
    all_minutes, all_offers = sum(minutes.values()), sum(c["offers"] for c in cohorts.values())
    bands = {name: totals.get(("band", name), dict.fromkeys(COUNTERS, 0)) for name in BAND_NAMES}
    return {
        "from": first, "to": last, "service": service, "decisions": everything["decisions"],
        "passed_over_nearer": everything["passed_over_nearer"],
        "cohorts": [{"affiliation": name, "drivers": c["drivers"], "available_minutes": minutes[name],
                     "available_share": _share(minutes[name], all_minutes), "offers": c["offers"],
                     "offer_share": _share(c["offers"], all_offers), "accepted": c["accepted"],
                     "completed": c["completed"]} for name, c in sorted(cohorts.items())],
        "by_trip_length": [{"band": name, "requests": b["requests"], "offered": b["offered"],
                            "offer_rate": _share(b["offered"], b["requests"])} for name, b in bands.items()],
    }
