"""Incidents: what operators do by hand (declare, resolve, read), and how one opens and closes, which the
detector does too. Every change is told to drivers and the notification topic, and shown on the status."""

from datetime import datetime

from pynamodb.exceptions import UpdateError
from pynamodb.expressions.condition import Condition, size

from chalicelib.core.auth import Caller
from chalicelib.core.clock import iso, sort_key
from chalicelib.core.dynamo import conflict_on_condition, failed_on_condition, get_or_404
from chalicelib.core.errors import Conflict, invalid_field
from chalicelib.core.ids import new_id
from chalicelib.core.notify import notify
from chalicelib.core.observability import count
from chalicelib.core.pagination import page_over
from chalicelib.core.schemas import PageQuery
from chalicelib.notices import service as notices
from chalicelib.outages import rules
from chalicelib.outages.models import AffectedComponent, Component, Incident, TimelineEvent
from chalicelib.outages.rules import IncidentSource, IncidentState, UpdateStatus
from chalicelib.outages.schemas import IncidentIn, ResolveIn, UpdateIn
from chalicelib.outages.snapshot import refresh_status_after_change
from chalicelib.outages.views import view_incident

ATTEMPTS = 3  # reads of an incident a writer makes when others keep changing it meanwhile
CHANGING = "the incident kept changing meanwhile; read it and try again"


def declare_incident(admin: Caller, declared: IncidentIn, now: datetime) -> dict:
    """An operator declares an incident by hand (e.g. learned from the data centre before the probes)."""
    if declared.started_at > now:
        raise invalid_field("started_at", "must not be in the future")
    known = {c.name for c in Component.batch_get(list(set(declared.components)))}
    unknown = sorted(set(declared.components) - known)
    if unknown:
        raise invalid_field("components", f"unknown components: {', '.join(unknown)}")
    incident = open_incident(sorted(set(declared.components)), declared.started_at, now, IncidentSource.DECLARED,
                             declared.summary, declared_by=admin.sub)
    refresh_status_after_change(now, [incident])
    return view_incident(incident, now)


def resolve_incident(admin: Caller, incident_id: str, resolution: ResolveIn, now: datetime) -> dict:
    """An operator resolves an open incident, at `resolved_at` or now. 409 when it is resolved already,
    by whoever came first (another operator, or the detector) even a moment before."""
    for _ in range(ATTEMPTS):
        incident = _incident(incident_id, consistent_read=True)  # a retry must see what beat it
        rules.next_incident_state(incident.state, "resolve")  # 409 unless it is open
        resolved_at = resolution.resolved_at or now
        if resolved_at < incident.started_at or resolved_at > now:
            raise invalid_field("resolved_at", "must lie between the incident's start and now")
        if close_incident(incident, resolved_at, now, f"resolved by {admin.sub}"):
            refresh_status_after_change(now, [incident])
            return view_incident(incident, now)
    raise Conflict(CHANGING)


def post_update(admin: Caller, incident_id: str, update: UpdateIn, now: datetime) -> dict:
    """An operator tells the public where an incident stands. A `resolved` update of an open incident
    resolves it now (as `POST /resolve` would), its message shown with the resolution; if another writer
    resolved it meanwhile, the update follows that resolution, as it would have a moment later."""
    for _ in range(ATTEMPTS):
        incident = _incident(incident_id, consistent_read=True)  # a retry must see what beat it
        if rules.update_resolves(incident.state, update.status):  # 409 for a non-resolved update of a resolved one
            if not close_incident(incident, now, now, f"resolved by {admin.sub}", update.message):
                continue
        else:
            event = TimelineEvent(at=now, event="update", status=update.status, message=update.message,
                                  note=admin.sub)
            with conflict_on_condition("the incident was resolved meanwhile; read it and try again"):
                incident.update(actions=[Incident.timeline.set(Incident.timeline.append([event]))],
                                condition=Incident.state == incident.state)
        count("IncidentUpdates")
        refresh_status_after_change(now, [incident])
        return view_incident(incident, now)
    raise Conflict(CHANGING)


def incident_window(incident_id: str) -> tuple[datetime, datetime | None]:
    """(started_at, resolved_at) of an incident; resolved_at is None while it is open. 404 if unknown."""
    incident = _incident(incident_id)
    return incident.started_at, incident.resolved_at


def incident_for(incident_id: str, now: datetime) -> dict:
    """One incident with its component windows and timeline."""
    return view_incident(_incident(incident_id), now)


def list_incidents(page: PageQuery, now: datetime) -> dict:
    """Open incidents first, then resolved ones, newest first."""
    def by_state(state: IncidentState):
        def run(limit: int, last_key):
            return Incident.by_state.query(state, scan_index_forward=False, limit=limit, last_evaluated_key=last_key)
        return run

    items, cursor = page_over([by_state(IncidentState.OPEN), by_state(IncidentState.RESOLVED)], page.limit,
                              page.cursor)
    return {"items": [view_incident(i, now) for i in items], "next": cursor}


def open_incident(names: list[str], started_at: datetime, now: datetime, source: IncidentSource, summary: str,
                  declared_by: str | None = None) -> Incident:
    """Store a new open incident of the components `names`; tell the topic and the drivers."""
    incident = Incident(new_id("inc", started_at), state=IncidentState.OPEN, source=source, summary=summary,
                        started_at=started_at, detected_at=now, started_key="",
                        components=[AffectedComponent(name=n, started_at=started_at) for n in names],
                        timeline=[TimelineEvent(at=now, note=declared_by,
                                                event="detected" if source == IncidentSource.DETECTOR else "declared")])
    incident.started_key = f"{sort_key(started_at)}#{incident.incident_id}"
    incident.save()
    count("IncidentsOpened")
    notify("incident_opened", {"incident_id": incident.incident_id, "components": names,
                               "started_at": iso(started_at)})
    notices.announce_to_drivers("Service disruption", (
        f"Part of the platform ({', '.join(names)}) has been unavailable since {iso(started_at)} (UTC). "
        "We are working on it and will tell you when it is back. Lost income will be reviewed."), now)
    return incident


def close_incident(incident: Incident, resolved_at: datetime, now: datetime, note: str,
                   message: str | None = None) -> bool:
    """Resolve the open incident as read at `resolved_at` (`message`: an operator's words for the public):
    components not recovered yet recover then. Tell the topic and the drivers. False, with nothing written
    or told, when it changed since it was read: another writer resolved it, or a component joined it."""
    state = rules.next_incident_state(incident.state, "resolve")
    event = TimelineEvent(at=now, event="resolved", note=note, status=UpdateStatus.RESOLVED, message=message)
    actions = [Incident.state.set(state), Incident.resolved_at.set(resolved_at),
               Incident.timeline.set(Incident.timeline.append([event]))]
    as_read = (Incident.state == IncidentState.OPEN) & (size(Incident.components) == len(incident.components))
    for index, affected in enumerate(incident.components):
        if affected.recovered_at is None:
            actions.append(Incident.components[index].recovered_at.set(resolved_at))
            as_read &= Incident.components[index].recovered_at.does_not_exist()
    if not changed_if(incident, actions, as_read):
        return False
    count("IncidentsResolved")
    notify("incident_resolved", {"incident_id": incident.incident_id, "resolved_at": iso(resolved_at)})
    notices.announce_to_drivers("Service restored", (
        f"The disruption that began {iso(incident.started_at)} (UTC) ended {iso(resolved_at)} (UTC). "
        "Thank you for your patience; compensation will be announced in a separate notice."), now)
    return True


def changed_if(incident: Incident, actions: list, condition: Condition) -> bool:
    """Apply `actions` to the stored incident if `condition` holds (then `incident` is the item as stored);
    False when it does not: another writer changed it since it was read."""
    try:
        incident.update(actions=actions, condition=condition)
    except UpdateError as exc:
        if failed_on_condition(exc):
            return False
        raise
    return True


def _incident(incident_id: str, consistent_read: bool = False) -> Incident:
    return get_or_404(Incident, incident_id, f"no incident {incident_id}", consistent_read=consistent_read)
