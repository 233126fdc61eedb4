"""Pure rules of drivers: where they are (H3 cells), who is a candidate, and who gets the ride.

Fair dispatch, as promised to drivers: the nearest available driver of the service gets the
offer, and among drivers equally near the one who has waited longest. "Near" is counted in H3
rings of resolution-8 cells (about 460 m across), so a few metres never outrank hours of waiting.
"""

from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum

import h3

CELL_RESOLUTION = 8      # ~0.74 km2 cells: the unit of "near"
AREA_RESOLUTION = 6      # ~36 km2 parents: the wider search when the pickup's own cell is empty
MAX_RING = 6             # ~5 km: farther drivers are not offered the ride
UNREACHABLE = 10_000
RATING_WINDOW = 50       # the rolling rating is the average of the last 50 ratings
INDEPENDENT = "independent"


class DriverStatus(StrEnum):
    OFFLINE = "offline"
    AVAILABLE = "available"
    OFFERED = "offered"     # holds exactly one offer
    BUSY = "busy"           # holds exactly one live ride


@dataclass(frozen=True)
class Candidate:
    """An available driver as the geo index knows them."""

    driver_id: str
    cell: str
    available_since: datetime
    affiliation: str = INDEPENDENT  # recorded with each decision; ranking never reads it
    services: frozenset[str] = frozenset()  # all the driver is listed for (the fairness counters); never ranked on


@dataclass(frozen=True)
class Weighed:
    """A candidate as one dispatch decision weighed them: ring distance from the pickup, and whether they
    were excluded (`declined`: they declined this ride before)."""

    candidate: Candidate
    ring_distance: int
    declined: bool


def cell_of(lat: float, lng: float) -> str:
    """The resolution-8 H3 cell of a position."""
    return h3.latlng_to_cell(lat, lng, CELL_RESOLUTION)


def area_of(cell: str) -> str:
    """The resolution-6 parent of a cell: one partition of the wide search."""
    return h3.cell_to_parent(cell, AREA_RESOLUTION)


def cell_key(service: str, cell: str) -> str:
    """Index partition of available drivers of `service` in one cell."""
    return f"{service}#{cell}"


def area_key(service: str, cell: str) -> str:
    """Index partition of available drivers of `service` in the cell's area."""
    return f"{service}#{area_of(cell)}"


def search_areas(pickup_cell: str, most: int = 2) -> list[str]:
    """The areas to search when the pickup's own cell is empty: its own, then the one its edge touches most."""
    touched: dict[str, int] = {}
    for cell in h3.grid_disk(pickup_cell, 2):
        touched[area_of(cell)] = touched.get(area_of(cell), 0) + 1
    own = area_of(pickup_cell)
    others = sorted((a for a in touched if a != own), key=lambda a: (-touched[a], a))
    return [own, *others][:most]


def overlaps(started_at: datetime, ended_at: datetime | None, start: datetime, end: datetime) -> bool:
    """Whether a stretch [started_at, ended_at) (None: still going) shares a moment with [start, end)."""
    return started_at < end and (ended_at is None or ended_at > start)


def idle_key(available_since: datetime, driver_id: str) -> str:
    """Sort key: who has waited longest sorts first (ISO UTC times sort as text)."""
    return f"{available_since.strftime('%Y-%m-%dT%H:%M:%S.%f')}#{driver_id}"


def hour_key(moment: datetime) -> str:
    """The earnings bucket of the UTC hour `moment` falls in (`YYYY-MM-DDTHH`)."""
    return moment.strftime("%Y-%m-%dT%H")


def day_key(moment: datetime) -> str:
    """The UTC day of `moment` (`YYYY-MM-DD`): a driver is counted once a day in the fairness report."""
    return moment.strftime("%Y-%m-%d")


def session_key(moment: datetime) -> str:
    """Sort key of an online session started at `moment` (ISO UTC with microseconds, sorts as text)."""
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def rings_between(a: str, b: str) -> int:
    """H3 grid distance between two cells (UNREACHABLE when H3 cannot tell, e.g. across a pentagon)."""
    try:
        return h3.grid_distance(a, b)
    except h3.H3BaseException:
        return UNREACHABLE


def rank_candidates(pickup_cell: str, candidates: list[Candidate], excluded: set[str]) -> list[Candidate]:
    """Candidates in offer order: nearest ring first, then longest idle, then id; far or excluded ones dropped."""
    return [w.candidate for w in weigh_candidates(pickup_cell, candidates, excluded) if not w.declined]


def weigh_candidates(pickup_cell: str, candidates: list[Candidate], excluded: set[str]) -> list[Weighed]:
    """Every reachable candidate (excluded ones too, marked) in offer order: nearest ring, longest idle, id.

    Only the ring distance, the time available and the exclusions decide the order.
    """
    unique = {c.driver_id: c for c in candidates}.values()
    weighed = [Weighed(c, rings_between(pickup_cell, c.cell), c.driver_id in excluded) for c in unique]
    return sorted((w for w in weighed if w.ring_distance <= MAX_RING),
                  key=lambda w: (w.ring_distance, w.candidate.available_since, w.candidate.driver_id))


def rolling_rating(recent: list[int], stars: int, window: int = RATING_WINDOW) -> tuple[list[int], Decimal]:
    """Add `stars` (1..5) to the last `window` ratings; return them and their average to 2 places."""
    if isinstance(stars, bool) or not isinstance(stars, int) or not 1 <= stars <= 5:
        raise ValueError("stars must be an integer from 1 to 5")
    if window < 1:
        raise ValueError("window must be at least 1")
    kept = [*recent, stars][-window:]
    return kept, (Decimal(sum(kept)) / len(kept)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
