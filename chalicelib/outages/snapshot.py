"""The public status: one snapshot item every change keeps current, so a public request is one GetItem."""

from collections.abc import Iterable
from datetime import datetime, timedelta

from pynamodb.exceptions import DoesNotExist, PynamoDBException, UpdateError

from chalicelib.core.clock import iso
from chalicelib.core.dynamo import failed_on_condition
from chalicelib.core.observability import count, logger
from chalicelib.outages.models import STATUS_SNAPSHOT_KEY, Component, Incident, StatusSnapshot
from chalicelib.outages.rules import ComponentState, IncidentState
from chalicelib.outages.views import view_incident

STATUS_HISTORY = timedelta(days=90)


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
    since = f"{iso(now - STATUS_HISTORY)}"
    found = {i.incident_id: i for i in Incident.by_state.query(IncidentState.OPEN)}
    found |= {i.incident_id: i for i in Incident.by_state.query(IncidentState.RESOLVED, Incident.started_key >= since)}
    found |= {i.incident_id: i for i in changed}
    newest_first = sorted(found.values(), key=lambda i: i.started_key, reverse=True)
    open_incidents = [i for i in newest_first if i.state == IncidentState.OPEN]
    recent = [i for i in newest_first if i.state == IncidentState.RESOLVED and i.started_key >= since]
    down = [c.name for c in components if c.state == ComponentState.DOWN]
    overall = "operational" if not down else ("major_outage" if len(down) > len(components) / 2 else "degraded")
    public = lambda i: {k: v for k, v in view_incident(i, now).items() if k not in ("timeline",)}  # noqa: E731
    return {"status": overall, "updated_at": iso(now),
            "components": [{"name": c.name, "state": c.state} for c in components],
            "open_incidents": [public(i) for i in open_incidents],
            "recent_incidents": [public(i) for i in recent]}
