"""Ids that sort by creation time (ULIDs), with a short prefix naming what they identify."""

from datetime import datetime

from ulid import ULID

from chalicelib.core import clock


def new_id(prefix: str, at: datetime | None = None) -> str:
    """A new id such as `ride_01JB...`; ids made later sort after ids made earlier."""
    moment = at or clock.now()
    return f"{prefix}_{ULID.from_datetime(moment)}"
