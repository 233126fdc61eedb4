"""The public status: one snapshot item every change keeps current, so a public request is one GetItem."""

from collections.abc import Iterable
from datetime import datetime, timedelta

from pynamodb.exceptions import DoesNotExist, PynamoDBException, UpdateError

from chalicelib.core.clock import iso
from chalicelib.core.dynamo import failed_on_condition
from chalicelib.core.observability import count, logger
from chalicelib.outages import uptime
from chalicelib.outages.models import STATUS_SNAPSHOT_KEY, Component, Incident, StatusSnapshot, TimelineEvent
from chalicelib.outages.rules import ComponentState, IncidentState, UpdateStatus
from chalicelib.outages.views import view_incident

STATUS_HISTORY = uptime.UPTIME_SPAN
LONGEST_INCIDENT = timedelta(days=30)  # resolved incidents that began this long before the 90 days may end in them
# timeline events the public sees, with the status an automatic one stands for (operators' updates carry theirs)
PUBLIC_EVENTS = {"detected": UpdateStatus.INVESTIGATING, "declared": UpdateStatus.INVESTIGATING,
                 "update": UpdateStatus.INVESTIGATING, "resolved": UpdateStatus.RESOLVED}


def status(now: datetime) -> dict:
    """What the public may know: each component's state, open incidents and the last 90 days of incidents.

    Read from the snapshot every change keeps current, in one GetItem; a stage that has none yet (nothing
    changed since snapshots began, e.g. just after this shipped onto existing tables) builds it once."""
    try:
        snapshot = StatusSnapshot.get(*STATUS_SNAPSHOT_KEY)
    except DoesNotExist:
        snapshot = None
    if snapshot is None or snapshot.document is None:
        return _refresh_status(now)
    return snapshot.document


def refresh_status_after_change(now: datetime, changed: Iterable[Incident] = ()) -> None:
    """Bring the snapshot up to date after a change. A failure never undoes the change that was made: it is
    logged and counted, and the detector's next run (every minute) stores a current snapshot.

    `changed` are incidents the caller just wrote: the by_state index may not show them yet."""
    try:
        _refresh_status(now, changed)
    except PynamoDBException:
        logger.exception("status snapshot not refreshed")
        count("StatusSnapshotFailures")


def _refresh_status(now: datetime, changed: Iterable[Incident] = ()) -> dict:
    """Take a ticket, build the status from the tables, and store it unless a later ticket stored one first."""
    ticket = _take_status_ticket()
    document = _status_document(now, changed)
    _store_status(ticket, now, document)
    return document


def _take_status_ticket() -> int:
    snapshot = StatusSnapshot(*STATUS_SNAPSHOT_KEY)
    snapshot.update(actions=[StatusSnapshot.tickets.add(1)])
    return int(snapshot.tickets)


def _store_status(ticket: int, now: datetime, document: dict) -> bool:
    """Store `document` as the snapshot of `ticket`; False when a refresh with a later ticket stored one already."""
    newer = StatusSnapshot.built_ticket.does_not_exist() | (StatusSnapshot.built_ticket < ticket)
    try:
        StatusSnapshot(*STATUS_SNAPSHOT_KEY).update(
            actions=[StatusSnapshot.built_ticket.set(ticket), StatusSnapshot.as_of.set(now),
                     StatusSnapshot.document.set(document)], condition=newer)
    except UpdateError as exc:
        if failed_on_condition(exc):
            return False
        raise
    return True


def _status_document(now: datetime, changed: Iterable[Incident]) -> dict:
    """The public status from the tables (the minute job and incident changes only, never a public request).
    `changed` are incidents this writer just wrote: the by_state index may not show them yet."""
    components = sorted(Component.scan(consistent_read=True), key=lambda c: c.name)
    newest_first = _incidents_of_the_window(now, changed)
    in_open_incident = {a.name for i in newest_first if i.state == IncidentState.OPEN for a in i.components
                        if a.recovered_at is None}  # declared by hand before the probes see it
    down = {c.name for c in components if c.state == ComponentState.DOWN or c.name in in_open_incident}
    overall = "operational" if not down else ("major_outage" if len(down) > len(components) / 2 else "degraded")
    windows = _down_windows(newest_first, now)
    public = [public_incident(i, now) for i in newest_first]
    return {"status": overall, "updated_at": iso(now),
            "components": [_public_component(c, c.name in down, windows.get(c.name, []), now) for c in components],
            "open_incidents": [i for i in public if i["state"] == IncidentState.OPEN],
            "recent_incidents": [i for i in public if i["state"] == IncidentState.RESOLVED],
            "history": public}


def _incidents_of_the_window(now: datetime, changed: Iterable[Incident]) -> list[Incident]:
    """Open incidents and those that ended in the last 90 days, newest start first."""
    since = now - STATUS_HISTORY
    found = {i.incident_id: i for i in Incident.by_state.query(IncidentState.OPEN)}
    found |= {i.incident_id: i for i in Incident.by_state.query(
        IncidentState.RESOLVED, Incident.started_key >= iso(since - LONGEST_INCIDENT))}
    found |= {i.incident_id: i for i in changed}
    kept = [i for i in found.values() if i.state == IncidentState.OPEN or i.resolved_at >= since]
    return sorted(kept, key=lambda i: i.started_key, reverse=True)


def _down_windows(incidents: list[Incident], now: datetime) -> dict[str, list[uptime.Window]]:
    windows: dict[str, list[uptime.Window]] = {}
    for incident in incidents:
        for affected in incident.components:
            end = affected.recovered_at or incident.resolved_at or now
            windows.setdefault(affected.name, []).append((affected.started_at, end))
    return {name: uptime.merged(found) for name, found in windows.items()}


def _public_component(component: Component, down: bool, windows: list[uptime.Window], now: datetime) -> dict:
    return {"name": component.name, "state": str(ComponentState.DOWN if down else ComponentState.UP),
            "uptime_90d": uptime.uptime_percent(windows, now),
            "uptime_days": uptime.uptime_days(windows, component.registered_at, now)}


def public_incident(incident: Incident, now: datetime) -> dict:
    """An incident as the public sees it: its windows and its updates in order, no operator notes."""
    shown = {k: v for k, v in view_incident(incident, now).items() if k != "timeline"}
    return {**shown, "updates": [_public_update(e) for e in incident.timeline if e.event in PUBLIC_EVENTS]}


def _public_update(event: TimelineEvent) -> dict:
    status = event.status or PUBLIC_EVENTS[event.event]
    return {"at": iso(event.at), "status": status, "message": event.message}
