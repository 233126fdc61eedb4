"""Opaque list cursors: DynamoDB's LastEvaluatedKey, url-safe base64 JSON, sealed for one caller's list.

Services page with `encode_cursor`/`decode_cursor`. At the edge (`core.api`) every `next` is sealed with an
HMAC over the list it pages (caller, route, filters), and every incoming cursor is unsealed first: a cursor
the server did not issue, or issued for another caller's list, is a 400 on `cursor` before any query runs.
"""

import base64
import binascii
import hashlib
import hmac
import json
from collections.abc import Callable, Iterable
from typing import Any

from chalicelib.core.errors import invalid_field


def encode_cursor(last_key: dict[str, Any] | None) -> str | None:
    """The `next` cursor for a page that stopped at `last_key` (None: no more pages)."""
    if not last_key:
        return None
    return base64.urlsafe_b64encode(json.dumps(last_key, sort_keys=True).encode()).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> dict[str, Any] | None:
    """The key to resume from; a cursor the client altered is a 400 on `cursor`."""
    if not cursor:
        return None
    try:
        key = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (ValueError, binascii.Error) as exc:
        raise invalid_field("cursor", "not a cursor this API returned") from exc
    if not isinstance(key, dict):
        raise invalid_field("cursor", "not a cursor this API returned")
    return key


def page(items: list[Any], last_key: dict[str, Any] | None) -> dict[str, Any]:
    """API.md's list answer."""
    return {"items": items, "next": encode_cursor(last_key)}


QuerySource = Callable[[int, dict[str, Any] | None], Iterable[Any]]


def page_over(sources: list[QuerySource], limit: int, cursor: str | None,
              keep: Callable[[Any], bool] = lambda item: True) -> tuple[list[Any], str | None]:
    """One page across several queries read one after the other (e.g. pinned notices, then the rest).

    Each source is `query(limit, last_key)` returning a PynamoDB result iterator; items `keep` refuses are
    skipped. The cursor remembers which source to resume and where.
    """
    position = decode_cursor(cursor) or {"source": 0, "key": None}
    source, last_key = int(position.get("source", 0)), position.get("key")
    items: list[Any] = []
    while source < len(sources) and len(items) < limit:
        results = sources[source](limit - len(items), last_key)
        items.extend(item for item in results if keep(item))
        last_key = results.last_evaluated_key
        if last_key is None:
            source, last_key = source + 1, None
    more = source < len(sources)
    return items, encode_cursor({"source": source, "key": last_key}) if more else None


MAX_CURSOR_LENGTH = 2048
SEAL_LENGTH = 32  # url-safe base64 characters of the HMAC-SHA256: 192 bits


def seal(cursor: str, scope: str, key: bytes) -> str:
    """`cursor` signed for the list `scope` names, as clients see it."""
    return f"{cursor}.{_seal_of(cursor, scope, key)}"


def unseal(sealed: str, scope: str, key: bytes) -> str:
    """The cursor inside `sealed`, if the server sealed it for `scope`; else a 400 on `cursor`."""
    cursor, _, signature = sealed.rpartition(".")
    if (not cursor or len(sealed) > MAX_CURSOR_LENGTH
            or not hmac.compare_digest(signature.encode(), _seal_of(cursor, scope, key).encode())):
        raise invalid_field("cursor", "not a cursor this API returned for this list")
    return cursor


def _seal_of(cursor: str, scope: str, key: bytes) -> str:
    digest = hmac.new(key, f"{scope}\n{cursor}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode()[:SEAL_LENGTH]
