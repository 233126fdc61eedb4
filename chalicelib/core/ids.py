"""Ids that sort by creation time (ULIDs), with a short prefix naming what they identify."""

import hashlib
from datetime import datetime

from ulid import ULID

from chalicelib.core import clock


def new_id(prefix: str, at: datetime | None = None) -> str:
    """A new id such as `ride_01JB...`; ids made later sort after ids made earlier."""
    moment = at or clock.now()
    return f"{prefix}_{ULID.from_datetime(moment)}"


def stable_id(prefix: str, at: datetime, *parts: str) -> str:
    """The same id for the same (`at`, `parts`) every time, still sorting by `at`: for "at most once" writes."""
    millis = int(at.timestamp() * 1000).to_bytes(6, "big")
    digest = hashlib.sha256("|".join(parts).encode()).digest()[:10]
    return f"{prefix}_{ULID.from_bytes(millis + digest)}"
