"""The outage detector and incidents: what the detector does each minute, what operators do by hand,
and what the public status page shows."""

from collections.abc import Iterable
from datetime import datetime, timedelta
from decimal import Decimal

from pynamodb.exceptions import DoesNotExist, PutError, PynamoDBException, UpdateError

from chalicelib.core.auth import Caller
from chalicelib.core.clock import iso, sort_key
from chalicelib.core.config import get_settings
from chalicelib.core.dynamo import conflict_on_condition, failed_on_condition, get_or_404
from chalicelib.core.errors import Conflict, NotFound, invalid_field
from chalicelib.core.ids import new_id
from chalicelib.core.notify import notify
from chalicelib.core.observability import count, logger
from chalicelib.core.pagination import page_over
from chalicelib.core.schemas import PageQuery
from chalicelib.notices import service as notices
from chalicelib.outages import probes, rules
from chalicelib.outages.models import (
    STATUS_SNAPSHOT_KEY,
    AffectedComponent,
    Check,
    Component,
    Incident,
    StatusSnapshot,
    TimelineEvent,
)
from chalicelib.outages.rules import Thresholds, Tracker, Transition
from chalicelib.outages.schemas import ComponentIn, IncidentIn, ResolveIn
from chalicelib.rides import service as rides

RIDES = "rides"
CHECKS_KEPT = timedelta(days=7)
STATUS_HISTORY = timedelta(days=90)


# --- components -------------------------------------------------------------------------------------------

def register_component(component: ComponentIn, now: datetime) -> dict:
    """Watch a component by HTTP probe, heartbeat, or both."""
    if component.probe_url is None and component.heartbeat_timeout_s is None:
        raise invalid_field("probe_url", "give probe_url, heartbeat_timeout_s or both")
    if component.probe_url is not None:
        problem = rules.probe_url_problem(component.probe_url, https_only=not get_settings().is_local)
        if problem:
            raise invalid_field("probe_url", problem)
    record = Component(component.name, check="probe" if component.probe_url else "heartbeat",
                       probe_url=component.probe_url, heartbeat_timeout_s=component.heartbeat_timeout_s,
                       registered_at=now)
    with conflict_on_condition(f"a component called {component.name} exists already"):
        record.save(condition=Component.name.does_not_exist())
    _refresh_status_after_change(now)
    return view_component(record)


def heartbeat(name: str, now: datetime) -> dict:
    """A service says it is alive (the status page does not change: only the detector moves a component's state)."""
    try:
        Component(name).update(condition=Component.name.exists(), actions=[Component.last_heartbeat_at.set(now)])
    except UpdateError as exc:
        if failed_on_condition(exc):
            raise NotFound(f"no component {name}") from exc
        raise
    return {"component": name, "received_at": iso(now)}


def view_component(record: Component) -> dict:
    return {"name": record.name, "state": record.state, "probe_url": record.probe_url,
            "heartbeat_timeout_s": int(record.heartbeat_timeout_s) if record.heartbeat_timeout_s else None,
            "last_check_at": iso(record.last_check_at) if record.last_check_at else None,
            "incident_id": record.incident_id}


# --- the detector -----------------------------------------------------------------------------------------

def detect_outages(now: datetime) -> dict:
    """The `detect-outages` job: check every component, move each state machine, open and resolve incidents."""
    components = _components_with_rides(now)
    results = _check_all(components, now)
    opened, resolved = [], []
    for component in components:
        healthy, detail = results[component.name]
        Check(component.name, iso(now), healthy=int(healthy), detail=detail, expires_at=now + CHECKS_KEPT).save()
        tracker, transition = rules.observe(_tracker(component), healthy, now, Thresholds())
        if not _keep(component, tracker, healthy, now):
            continue  # an overlapping run (EventBridge retries, a manual run) counted this check already
        if transition and transition.kind == "failed":
            opened.append(_record_failure(component, transition, now))
        elif transition and transition.kind == "recovered":
            resolved.append(_record_recovery(component, transition, now))
        if transition:
            component.update(actions=[Component.incident_id.set(component.incident_id)])
    count("DetectorHeartbeat")
    failing = sorted(name for name, (healthy, _) in results.items() if not healthy)
    summary = {"checked": len(components), "failing": failing, "opened": sorted({i for i in opened if i}),
               "resolved": sorted({i for i in resolved if i})}
    changed = sorted(set(summary["opened"]) | set(summary["resolved"]))
    _refresh_status_after_change(now, Incident.batch_get(changed, consistent_read=True) if changed else ())
    logger.info("outage detector ran", extra=summary)
    return summary


def _components_with_rides(now: datetime) -> list[Component]:
    components = list(Component.scan())  # a handful of components, read by the minute job only
    if not any(c.name == RIDES for c in components):
        rides_component = Component(RIDES, check="ride_traffic", registered_at=now)
        rides_component.save(condition=Component.name.does_not_exist())
        components.append(rides_component)
    return components


def _check_all(components: list[Component], now: datetime) -> dict[str, tuple[bool, str]]:
    settings = get_settings()
    answers = probes.probe_all({c.name: c.probe_url for c in components if c.probe_url}, settings.probe_timeout_s)
    results = {}
    for component in components:
        healthy, details = True, []
        if component.probe_url:
            status, detail = answers[component.name]
            healthy &= rules.probe_healthy(status)
            details.append(detail)
        if component.heartbeat_timeout_s:
            beating = rules.heartbeat_healthy(component.last_heartbeat_at, component.registered_at,
                                              int(component.heartbeat_timeout_s), now)
            healthy &= beating
            details.append("heartbeat ok" if beating else "heartbeat missing")
        if component.check == "ride_traffic":
            requested, failed = rides.traffic(now, settings.ride_error_window_min)
            fine = rules.error_rate_healthy(requested, failed, settings.ride_error_min_volume,
                                            Decimal(settings.ride_error_max_share))
            healthy &= fine
            details.append(f"{failed}/{requested} rides failed")
        results[component.name] = (healthy, "; ".join(details))
    return results


def _tracker(component: Component) -> Tracker:
    return Tracker(component.state, int(component.fail_streak), int(component.ok_streak),
                   component.first_fail_at, component.first_ok_at)


def _keep(component: Component, tracker: Tracker, healthy: bool, now: datetime) -> bool:
    """Save the new tracker unless another run saved one since we read it (then False)."""
    previous = component.last_check_at
    unchanged = Component.last_check_at.does_not_exist() if previous is None else Component.last_check_at == previous
    component.state, component.fail_streak, component.ok_streak = tracker.state, tracker.fail_streak, tracker.ok_streak
    component.first_fail_at, component.first_ok_at = tracker.first_fail_at, tracker.first_ok_at
    component.last_check_at, component.last_check_ok = now, int(healthy)
    try:
        component.save(condition=unchanged)
    except PutError as exc:
        if failed_on_condition(exc):
            return False
        raise
    return True


def _record_failure(component: Component, transition: Transition, now: datetime) -> str:
    """A component went down: it joins the open incident it belongs to, or opens one."""
    open_incidents = list(Incident.by_state.query("open"))
    already = next((i for i in open_incidents if any(a.name == component.name and a.recovered_at is None
                                                     for a in i.components)), None)
    if already is not None:  # e.g. an operator declared it before the probes caught up: one incident per component
        component.incident_id = already.incident_id
        return already.incident_id
    incident = next((i for i in open_incidents
                     if i.source == "detector" and rules.joins_incident(i.started_at, transition.at)), None)
    if incident is None:
        incident = _open_incident([component.name], transition.at, now, "detector",
                                  f"{component.name} stopped answering")
    else:
        incident.components.append(AffectedComponent(name=component.name, started_at=transition.at))
        incident.started_at = min(incident.started_at, transition.at)
        incident.started_key = f"{sort_key(incident.started_at)}#{incident.incident_id}"
        incident.timeline.append(TimelineEvent(at=now, event="component_added", component=component.name))
        incident.save()
    component.incident_id = incident.incident_id
    return incident.incident_id


def _record_recovery(component: Component, transition: Transition, now: datetime) -> str | None:
    """A component is back: its window closes; the incident resolves when all of its components are back."""
    incident_id, component.incident_id = component.incident_id, None
    if incident_id is None:
        return None
    incident = Incident.get(incident_id)
    if incident.state != "open":
        return None
    for affected in incident.components:
        if affected.name == component.name and affected.recovered_at is None:
            affected.recovered_at = transition.at
    incident.timeline.append(TimelineEvent(at=now, event="component_recovered", component=component.name,
                                           note=f"healthy since {iso(transition.at)}"))
    resolved_at = rules.incident_resolved_at([a.recovered_at for a in incident.components])
    if resolved_at is None:
        incident.save()
        return None
    _close(incident, resolved_at, now, "recovered")
    return incident.incident_id


# --- incidents --------------------------------------------------------------------------------------------

def declare_incident(admin: Caller, declared: IncidentIn, now: datetime) -> dict:
    """An operator declares an incident by hand (e.g. learned from the data centre before the probes)."""
    if declared.started_at > now:
        raise invalid_field("started_at", "must not be in the future")
    known = {c.name for c in Component.batch_get(list(set(declared.components)))}
    unknown = sorted(set(declared.components) - known)
    if unknown:
        raise invalid_field("components", f"unknown components: {', '.join(unknown)}")
    incident = _open_incident(sorted(set(declared.components)), declared.started_at, now, "declared",
                              declared.summary, declared_by=admin.sub)
    _refresh_status_after_change(now, [incident])
    return view_incident(incident, now)


def resolve_incident(admin: Caller, incident_id: str, resolution: ResolveIn, now: datetime) -> dict:
    """An operator resolves an open incident, at `resolved_at` or now."""
    incident = _incident(incident_id)
    if incident.state != "open":
        raise Conflict("the incident is resolved already")
    resolved_at = resolution.resolved_at or now
    if resolved_at < incident.started_at or resolved_at > now:
        raise invalid_field("resolved_at", "must lie between the incident's start and now")
    for affected in incident.components:
        affected.recovered_at = affected.recovered_at or resolved_at
    _close(incident, resolved_at, now, f"resolved by {admin.sub}")
    _refresh_status_after_change(now, [incident])
    return view_incident(incident, now)


def incident_window(incident_id: str) -> tuple[datetime, datetime | None]:
    """(started_at, resolved_at) of an incident; resolved_at is None while it is open. 404 if unknown."""
    incident = _incident(incident_id)
    return incident.started_at, incident.resolved_at


def incident_for(incident_id: str, now: datetime) -> dict:
    return view_incident(_incident(incident_id), now)


def list_incidents(page: PageQuery, now: datetime) -> dict:
    """Open incidents first, then resolved ones, newest first."""
    def by_state(state: str):
        def run(limit: int, last_key):
            return Incident.by_state.query(state, scan_index_forward=False, limit=limit, last_evaluated_key=last_key)
        return run

    items, cursor = page_over([by_state("open"), by_state("resolved")], page.limit, page.cursor)
    return {"items": [view_incident(i, now) for i in items], "next": cursor}


def view_incident(incident: Incident, now: datetime) -> dict:
    return {"incident_id": incident.incident_id, "state": incident.state, "source": incident.source,
            "summary": incident.summary, "components": [a.name for a in incident.components],
            "component_windows": [{"name": a.name, "started_at": iso(a.started_at),
                                   "recovered_at": iso(a.recovered_at) if a.recovered_at else None}
                                  for a in incident.components],
            "started_at": iso(incident.started_at), "detected_at": iso(incident.detected_at),
            "resolved_at": iso(incident.resolved_at) if incident.resolved_at else None,
            "duration_s": rules.duration_s(incident.started_at, incident.resolved_at, now),
            "timeline": [{"at": iso(e.at), "event": e.event, "component": e.component, "note": e.note}
                         for e in incident.timeline]}


def _open_incident(names: list[str], started_at: datetime, now: datetime, source: str, summary: str,
                   declared_by: str | None = None) -> Incident:
    incident = Incident(new_id("inc", started_at), state="open", source=source, summary=summary,
                        started_at=started_at, detected_at=now, started_key="",
                        components=[AffectedComponent(name=n, started_at=started_at) for n in names],
                        timeline=[TimelineEvent(at=now, event="detected" if source == "detector" else "declared",
                                                note=declared_by)])
    incident.started_key = f"{sort_key(started_at)}#{incident.incident_id}"
    incident.save()
    count("IncidentsOpened")
    notify("incident_opened", {"incident_id": incident.incident_id, "components": names,
                               "started_at": iso(started_at)})
    notices.announce_to_drivers("Service disruption", (
        f"Part of the platform ({', '.join(names)}) has been unavailable since {iso(started_at)} (UTC). "
        "We are working on it and will tell you when it is back. Lost income will be reviewed."), now)
    return incident


def _close(incident: Incident, resolved_at: datetime, now: datetime, note: str) -> None:
    incident.state, incident.resolved_at = "resolved", resolved_at
    incident.timeline.append(TimelineEvent(at=now, event="resolved", note=note))
    incident.save()
    count("IncidentsResolved")
    notify("incident_resolved", {"incident_id": incident.incident_id, "resolved_at": iso(resolved_at)})
    notices.announce_to_drivers("Service restored", (
        f"The disruption that began {iso(incident.started_at)} (UTC) ended {iso(resolved_at)} (UTC). "
        "Thank you for your patience; compensation will be announced in a separate notice."), now)


def _incident(incident_id: str) -> Incident:
    return get_or_404(Incident, incident_id, f"no incident {incident_id}")


# --- status page ------------------------------------------------------------------------------------------

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


def _refresh_status_after_change(now: datetime, changed: Iterable[Incident] = ()) -> None:
    """Bring the snapshot up to date after a change. A failure never undoes the change that was made: it is
    logged and counted, and the detector's next run (every minute) stores a current snapshot."""
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
    found = {i.incident_id: i for i in Incident.by_state.query("open")}
    found |= {i.incident_id: i for i in Incident.by_state.query("resolved", Incident.started_key >= since)}
    found |= {i.incident_id: i for i in changed}
    newest_first = sorted(found.values(), key=lambda i: i.started_key, reverse=True)
    open_incidents = [i for i in newest_first if i.state == "open"]
    recent = [i for i in newest_first if i.state == "resolved" and i.started_key >= since]
    down = [c.name for c in components if c.state == "down"]
    overall = "operational" if not down else ("major_outage" if len(down) > len(components) / 2 else "degraded")
    public = lambda i: {k: v for k, v in view_incident(i, now).items() if k not in ("timeline",)}  # noqa: E731
    return {"status": overall, "updated_at": iso(now),
            "components": [{"name": c.name, "state": c.state} for c in components],
            "open_incidents": [public(i) for i in open_incidents],
            "recent_incidents": [public(i) for i in recent]}
