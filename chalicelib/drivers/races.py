"""Deciding again after losing a race: the one way drivers and rides retry an action whose write lost.

An action reads what it needs, decides, and writes on a condition that what it read still holds. When
someone else wrote first, the condition fails: `lost_race_on_condition` turns that into `LostRace`, and
`decided_again` runs the whole action again on what is there now, until it fits or its last loss is a 409.
Rides use this through `drivers.service`, the drivers' one door (a ride and its driver change together).
"""

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TypeVar

from pynamodb.exceptions import PutError, TransactWriteError, UpdateError

from chalicelib.core.dynamo import failed_on_condition
from chalicelib.core.errors import Conflict

RACE_ATTEMPTS = 4  # an action whose write lost a race is decided again this many times, then 409
T = TypeVar("T")


class LostRace(Conflict):
    """A conditional write whose condition failed: someone changed what it was decided on since it was read.

    The action is decided again on what is there now (HTTP 409 if it keeps losing).
    """


@contextmanager
def lost_race_on_condition(message: str | Callable[[], str]) -> Iterator[None]:
    """Turn a failed DynamoDB condition (put, update or transaction) into `LostRace(message)`.

    `message` may be a function, called only when the race is lost (e.g. to say what the item is now).
    """
    try:
        yield
    except (PutError, UpdateError, TransactWriteError) as exc:
        if failed_on_condition(exc):
            raise LostRace(message() if callable(message) else message) from exc
        raise


def decided_again(decide: Callable[[], T], attempts: int = RACE_ATTEMPTS) -> T:
    """Run `decide` (read, decide, write on condition) again while it loses a race; the last loss is raised."""
    for attempt in range(attempts):
        try:
            return decide()
        except LostRace:
            if attempt == attempts - 1:
                raise
    raise AssertionError("unreachable")
