"""Opaque list cursors: DynamoDB's LastEvaluatedKey, url-safe base64 JSON."""

import base64
import binascii
import json
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
