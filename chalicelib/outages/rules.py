"""Outage rules: health verdicts, the up/down detector, probe URL safety, incident grouping (one fire = one incident).

Pure: no AWS, no I/O, no DNS, no clock. Times are passed in as timezone-aware UTC datetimes.
"""

import ipaddress
import re
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from decimal import Decimal
from enum import StrEnum
from urllib.parse import urlsplit

from chalicelib.core.errors import Conflict
from chalicelib.core.states import Moves


class ComponentState(StrEnum):  # moved only by `observe`
    UP = "up"
    DOWN = "down"


class Change(StrEnum):  # a component's change of state, as `observe` reports it
    FAILED = "failed"  # up -> down
    RECOVERED = "recovered"  # down -> up


class IncidentState(StrEnum):
    OPEN = "open"
    RESOLVED = "resolved"


class UpdateStatus(StrEnum):  # what an operator's update says, as on Statuspage
    INVESTIGATING = "investigating"
    IDENTIFIED = "identified"
    MONITORING = "monitoring"
    RESOLVED = "resolved"


class IncidentSource(StrEnum):
    DETECTOR = "detector"  # opened by the detector's checks
    DECLARED = "declared"  # declared by an operator


UP, DOWN = ComponentState.UP, ComponentState.DOWN
FAILED, RECOVERED = Change.FAILED, Change.RECOVERED

# action -> (incident states it may be taken from, state it leads to)
INCIDENT_MOVES = Moves(IncidentState, {
    "resolve": ({IncidentState.OPEN}, IncidentState.RESOLVED),
})
EC2_IPV6_METADATA = ipaddress.ip_address("fd00:ec2::254")
NUMERIC_LABEL = re.compile(r"^(0x[0-9a-f]*|[0-9]+)$")
REFUSED_URL_CHARS = frozenset("\\\x7f")
HOST_LABEL = re.compile(r"^[a-z0-9_-]{1,63}$")
MAX_HOST_LENGTH = 253
NAT64_LOCAL_USE = ipaddress.ip_network("64:ff9b:1::/48")
IPV4_IN_LAST_32_BITS = tuple(ipaddress.ip_network(net) for net in (
    "::ffff:0:0/96",  # IPv4-mapped
    "::/96",  # IPv4-compatible (deprecated, still routed by some stacks)
    "::ffff:0:0:0/96",  # IPv4-translated (SIIT)
    "64:ff9b::/96",  # NAT64 well-known prefix
))


@dataclass(frozen=True)
class Thresholds:
    fail_after: int = 3  # failed checks in a row that open an incident
    recover_after: int = 3  # healthy checks in a row that resolve it
    join_window: timedelta = timedelta(hours=1)  # failures this close to an open incident's start join it

    def __post_init__(self) -> None:
        if self.fail_after < 1 or self.recover_after < 1 or self.join_window < timedelta(0):
            raise ValueError(f"thresholds need streaks >= 1 and a non-negative join window, got {self}")


@dataclass(frozen=True)
class Tracker:
    """Per-component detector state, stored between runs. Up counts only failures; down counts only health."""

    state: str = UP  # a ComponentState
    fail_streak: int = 0
    ok_streak: int = 0
    first_fail_at: datetime | None = None  # first failed check of the current failing streak
    first_ok_at: datetime | None = None  # first healthy check of the current healthy streak


@dataclass(frozen=True)
class Transition:
    kind: Change
    at: datetime  # failed: first failed check of the streak; recovered: first healthy check of the streak


Observation = tuple[Tracker, Transition | None]


class IllegalIncidentChange(Conflict):
    """An action that the incident's current state does not allow (HTTP 409)."""


def next_incident_state(current: IncidentState | str, action: str) -> IncidentState:
    """The state an incident in `current` moves to on `action`; IllegalIncidentChange if not allowed."""
    target = INCIDENT_MOVES.after(current, action)
    if target is None:
        raise IllegalIncidentChange(f"the incident is {current} already")
    return target


def update_resolves(incident_state: IncidentState | str, status: UpdateStatus | str) -> bool:
    """Whether an update resolves the incident: a `resolved` update of an open one does. A resolved incident
    takes only `resolved` updates (follow-ups, e.g. the cause): it never reads as investigated again."""
    if incident_state == IncidentState.OPEN:
        return status == UpdateStatus.RESOLVED
    if status != UpdateStatus.RESOLVED:
        raise IllegalIncidentChange(f"the incident is {incident_state}: only a resolved update may follow")
    return False


def _require_aware(**times: datetime | None) -> None:
    for name, value in times.items():
        if value is not None and (value.tzinfo is None or value.utcoffset() is None):
            raise ValueError(f"{name} must be timezone-aware (UTC), got naive {value!r}")


def observe(tracker: Tracker, healthy: bool, at: datetime, thresholds: Thresholds = Thresholds()) -> Observation:
    """Fold one check into the tracker; return the new tracker and the transition it caused, if any.

    Up: `fail_after` failures in a row go down with Transition("failed", first failure of the streak).
    Down: `recover_after` healthy checks in a row go up with Transition("recovered", first healthy check).
    A check of the opposite kind resets the streak, so flapping never opens or closes anything."""
    _require_aware(at=at)
    if tracker.state == UP:
        return _observe_while_up(tracker, healthy, at, thresholds)
    if tracker.state == DOWN:
        return _observe_while_down(tracker, healthy, at, thresholds)
    raise ValueError(f"unknown tracker state {tracker.state!r}")


def _observe_while_up(tracker: Tracker, healthy: bool, at: datetime, thresholds: Thresholds) -> Observation:
    if healthy:
        return Tracker(state=UP), None
    streak = tracker.fail_streak + 1
    first = tracker.first_fail_at if tracker.fail_streak else at
    if streak >= thresholds.fail_after:
        return Tracker(state=DOWN), Transition(FAILED, first)
    return replace(tracker, fail_streak=streak, first_fail_at=first), None


def _observe_while_down(tracker: Tracker, healthy: bool, at: datetime, thresholds: Thresholds) -> Observation:
    if not healthy:
        return Tracker(state=DOWN), None
    streak = tracker.ok_streak + 1
    first = tracker.first_ok_at if tracker.ok_streak else at
    if streak >= thresholds.recover_after:
        return Tracker(state=UP), Transition(RECOVERED, first)
    return replace(tracker, ok_streak=streak, first_ok_at=first), None


def heartbeat_healthy(
    last_heartbeat_at: datetime | None, registered_at: datetime, timeout_s: int, now: datetime
) -> bool:
    """Healthy while the last heartbeat (or, before the first one, the registration time) is at most timeout_s old."""
    _require_aware(last_heartbeat_at=last_heartbeat_at, registered_at=registered_at, now=now)
    last_sign_of_life = last_heartbeat_at if last_heartbeat_at is not None else registered_at
    return now - last_sign_of_life <= timedelta(seconds=timeout_s)


def probe_healthy(status_code: int | None) -> bool:
    """A probe answer is healthy only when it is 2xx; None (timeout, reset, garbage) is a failure."""
    return status_code is not None and 200 <= status_code <= 299


def error_rate_healthy(
    requested: int, failed: int, min_volume: int = 20, max_failed_share: Decimal = Decimal("0.5")
) -> bool:
    """The platform's own ride traffic: unhealthy when at least `min_volume` rides were requested in the window
    and the share that failed or expired is above `max_failed_share`. Too little traffic is healthy (no evidence)."""
    if requested < 0 or failed < 0 or failed > requested:
        raise ValueError(f"need 0 <= failed <= requested, got failed={failed} requested={requested}")
    if requested < min_volume or requested == 0:
        return True
    return Decimal(failed) <= max_failed_share * requested


def probe_url_problem(url: str, https_only: bool) -> str | None:
    """Why a probe URL is refused, or None. Refused: unparseable, scheme not http/https, http when https_only,
    no host, userinfo, hosts that cannot be normalised (see normalised_host), numeric hosts that are not plain
    IPs, literal IPs refused by address_problem, in whatever spelling (full-width digits, ideographic dots).
    Hostnames are not resolved here: the probe resolves them and calls address_problem on each address."""
    if not url or any(ch.isspace() or ord(ch) < 32 or ch in REFUSED_URL_CHARS for ch in url):
        return "URL is empty or contains whitespace, backslashes or control characters"
    try:
        parts = urlsplit(url)
        host = parts.hostname
        _ = parts.port  # raises ValueError on a port that is not a number in range
    except ValueError:
        return "URL cannot be parsed"
    if parts.scheme not in ("http", "https"):
        return "URL scheme must be http or https"
    if https_only and parts.scheme != "https":
        return "URL must use https"
    if not host:
        return "URL has no host"
    if "@" in parts.netloc:
        return "URL must not carry a user name or password"
    return _host_problem(host)


def normalised_host(host: str) -> str | None:
    """The host as the resolver gets it, or None when it cannot be normalised: an IPv6 literal in its canonical
    form, or a lowercase ASCII name after IDNA (full-width forms folded, ideographic and full-width dots read as
    dots, international names in xn-- form) without its trailing dot. Check and connect with this one form, so
    the name that was checked is the name that is resolved."""
    if ":" in host:
        try:
            return str(ipaddress.IPv6Address(host))
        except ValueError:
            return None
    try:
        name = host.encode("idna").decode("ascii").lower()  # what socket.getaddrinfo would send
    except UnicodeError:
        return None
    name = name.removesuffix(".")
    if len(name) > MAX_HOST_LENGTH or not all(HOST_LABEL.match(label) for label in name.split(".")):
        return None
    return name


def _host_problem(host: str) -> str | None:
    name = normalised_host(host)
    if name is None:
        return "host is not a valid host name"
    try:
        ipaddress.ip_address(name)
    except ValueError:
        if NUMERIC_LABEL.match(name.rsplit(".", 1)[-1]):
            return "numeric host that is not a plain IP address"
        return None
    return address_problem(name)


def address_problem(ip: str) -> str | None:
    """Why connecting to this IP is refused, or None: link-local 169.254.0.0/16 (EC2 metadata 169.254.169.254),
    IPv6 link-local fe80::/10, EC2 IPv6 metadata fd00:ec2::254, unspecified 0.0.0.0 / ::, and IPv6 addresses
    that carry one of these IPv4 addresses (see embedded_ipv4). Loopback and private ranges are allowed: the local
    stack and the tests use 127.0.0.1."""
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        return "not an IP address"
    if isinstance(address, ipaddress.IPv6Address):
        address = ipaddress.IPv6Address(address.packed)  # drop any %zone
        if address == EC2_IPV6_METADATA:
            return "cloud metadata address"
    if address.is_unspecified:
        return "unspecified address"
    if address.is_link_local:
        return "link-local address (cloud metadata lives here)"
    if isinstance(address, ipaddress.IPv6Address):
        for inner in embedded_ipv4(address):
            if problem := address_problem(str(inner)):
                return f"IPv6 address carrying {inner}: {problem}"
    return None


def embedded_ipv4(address: ipaddress.IPv6Address) -> list[ipaddress.IPv4Address]:
    """The IPv4 addresses an IPv6 address may be delivered to: IPv4-mapped ::ffff:0:0/96, IPv4-compatible ::/96,
    IPv4-translated ::ffff:0:0:0/96, NAT64 64:ff9b::/96 and 64:ff9b:1::/48 (at every RFC 6052 prefix length the
    operator may use there), 6to4 2002::/16, and Teredo 2001::/32 (its server and its client)."""
    found = []
    if any(address in network for network in IPV4_IN_LAST_32_BITS):
        found.append(ipaddress.IPv4Address(address.packed[12:]))
    if address in NAT64_LOCAL_USE:  # the operator picks the prefix length: each layout that yields an address
        layouts = (_rfc6052_ipv4(address.packed, prefix_length) for prefix_length in (48, 56, 64, 96))
        found.extend(inner for inner in layouts if not inner.is_unspecified)
    if address.sixtofour is not None:
        found.append(address.sixtofour)
    if address.teredo is not None:
        found.extend(address.teredo)
    return found


def _rfc6052_ipv4(packed: bytes, prefix_length: int) -> ipaddress.IPv4Address:
    if prefix_length == 96:
        return ipaddress.IPv4Address(packed[12:])
    without_u_octet = packed[:8] + packed[9:]  # RFC 6052: bits 64..71 are always zero and skipped
    start = prefix_length // 8
    return ipaddress.IPv4Address(without_u_octet[start:start + 4])


def joins_incident(
    incident_started_at: datetime, failure_started_at: datetime, thresholds: Thresholds = Thresholds()
) -> bool:
    """Whether a failure belongs to an open incident (one fire = one incident): it began within join_window
    after the incident started, or as much before it (detection order is not failure order)."""
    _require_aware(incident_started_at=incident_started_at, failure_started_at=failure_started_at)
    return abs(failure_started_at - incident_started_at) <= thresholds.join_window


def incident_resolved_at(recoveries: list[datetime | None]) -> datetime | None:
    """When an incident resolved: the latest recovery once every component recovered; None while any is down."""
    if not recoveries or any(at is None for at in recoveries):
        return None
    return max(recoveries)


def duration_s(started_at: datetime, resolved_at: datetime | None, now: datetime) -> int:
    """Whole seconds from start to resolution, or to now while the incident is open; never negative."""
    _require_aware(started_at=started_at, resolved_at=resolved_at, now=now)
    end = resolved_at if resolved_at is not None else now
    return max(0, (end - started_at) // timedelta(seconds=1))
