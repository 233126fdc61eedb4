"""The channel's rules: who may connect, for how long, where pushes go, and which drivers a notice reaches.

Pure: no AWS, no I/O, no clock reads (`now` is passed in).
"""

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, timedelta

from chalicelib.core.auth import bearer_token
from chalicelib.core.errors import Forbidden, Unauthenticated

LISTENERS = frozenset({"rider", "driver"})  # the roles the channel has messages for
# API Gateway closes a WebSocket connection after two hours at most, whatever the client does.
MAX_CONNECTION = timedelta(hours=2)
NOTICE_PAGE = 100  # connections read (and pushed to) per queued chunk of a notice's fan-out
NOTICE_SEGMENTS = 4  # parallel scan segments a notice's fan-out starts with


def owner_key(role: str, sub: str) -> str:
    """The key of a caller's connections: identity is (role, sub), so a rider and a driver sharing a sub differ."""
    return f"{role}#{sub}"


def token_of(query: Mapping[str, str] | None, headers: Mapping[str, str] | None) -> str:
    """The JWT a connecting client sent: `?token=` first, else `Authorization: Bearer`; `Unauthenticated` if none."""
    token = (query or {}).get("token", "").strip()
    if token:
        return token
    authorization = next((value for name, value in (headers or {}).items() if name.lower() == "authorization"), None)
    if authorization is None:
        raise Unauthenticated("connect with ?token=<JWT> or an 'Authorization: Bearer <JWT>' header")
    return bearer_token(authorization)


def check_listener(role: str) -> None:
    """Only riders and drivers have messages on this channel: anyone else is refused at the handshake."""
    if role not in LISTENERS:
        raise Forbidden(f"the real-time channel is for: {', '.join(sorted(LISTENERS))}")


def connection_expiry(token_expires_at: int, now: datetime) -> datetime:
    """When a connection stops receiving: its token's expiry, or API Gateway's two hours, whichever is first."""
    longest = now + MAX_CONNECTION
    if not token_expires_at:
        return longest
    return min(longest, datetime.fromtimestamp(token_expires_at, UTC))


def live(expires_at: datetime, now: datetime) -> bool:
    """Whether a connection may still be pushed to (DynamoDB's TTL deletes expired items only eventually)."""
    return now < expires_at


def management_endpoint(domain_name: str, stage: str, secure: bool) -> str:
    """The management API (`@connections`) of the stage a client connected to, as API Gateway names it."""
    scheme = "https" if secure else "http"
    return f"{scheme}://{domain_name}/{stage}"


def in_audience(services: Iterable[str] | None, region: str | None, driver_services: Iterable[str] | None,
                driver_region: str | None) -> bool:
    """Whether a driver offering `driver_services` in `driver_region` is among the drivers a notice names:
    any of its `services` (None: every service) and its `region` (None: everywhere)."""
    if services and not set(services) & set(driver_services or ()):
        return False
    return region is None or region == driver_region
