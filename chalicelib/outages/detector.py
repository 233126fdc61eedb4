"""The outage detector: what the `detect-outages` job does each minute. It checks every component (probe,
heartbeat, the platform's own ride traffic), moves each one's up/down state machine, and opens and resolves
incidents (one fire = one incident)."""

from datetime import datetime, timedelta
from decimal import Decimal

from pynamodb.exceptions import PutError

from chalicelib.core.clock import iso, sort_key
from chalicelib.core.config import get_settings
from chalicelib.core.dynamo import failed_on_condition
from chalicelib.core.observability import count, logger
from chalicelib.outages import probes, rules
from chalicelib.outages.incidents import ATTEMPTS, changed_if, close_incident, open_incident
from chalicelib.outages.models import AffectedComponent, Check, Component, Incident, TimelineEvent
from chalicelib.outages.rules import Change, IncidentSource, IncidentState, Thresholds, Tracker, Transition
from chalicelib.outages.snapshot import refresh_status_after_change
from chalicelib.rides import service as rides

RIDES = "rides"
CHECKS_KEPT = timedelta(days=7)


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
        if transition:
            (opened if transition.kind == Change.FAILED else resolved).append(_record(component, transition, now))
    count("DetectorHeartbeat")
    failing = sorted(name for name, (healthy, _) in results.items() if not healthy)
    summary = {"checked": len(components), "failing": failing, "opened": sorted({i for i in opened if i}),
               "resolved": sorted({i for i in resolved if i})}
    changed = sorted(set(summary["opened"]) | set(summary["resolved"]))
    refresh_status_after_change(now, Incident.batch_get(changed, consistent_read=True) if changed else ())
    logger.info("outage detector ran", extra=summary)
    return summary


def _record(component: Component, transition: Transition, now: datetime) -> str | None:
    """Record a component's change in its incident; the id of the incident it opened, joined or resolved."""
    if transition.kind == Change.FAILED:
        incident_id = _record_failure(component, transition, now)
    else:
        incident_id = _record_recovery(component, transition, now)
    component.update(actions=[Component.incident_id.set(component.incident_id)])
    return incident_id


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
    """A component went down: it joins the open incident it belongs to, or opens one. A join that lost to
    another writer (the incident was resolved or its start moved meanwhile) reads the open incidents again."""
    for _ in range(ATTEMPTS):
        open_incidents = list(Incident.by_state.query(IncidentState.OPEN))
        already = next((i for i in open_incidents if any(a.name == component.name and a.recovered_at is None
                                                         for a in i.components)), None)
        if already is not None:  # e.g. an operator declared it before the probes caught up: one incident per component
            component.incident_id = already.incident_id
            return already.incident_id
        incident = next((i for i in open_incidents if i.source == IncidentSource.DETECTOR
                         and rules.joins_incident(i.started_at, transition.at)), None)
        if incident is None:
            break
        if _join(incident, component, transition, now):
            component.incident_id = incident.incident_id
            return incident.incident_id
    incident = open_incident([component.name], transition.at, now, IncidentSource.DETECTOR,
                             f"{component.name} stopped answering")
    component.incident_id = incident.incident_id
    return incident.incident_id


def _join(incident: Incident, component: Component, transition: Transition, now: datetime) -> bool:
    """Add `component` to the open incident as read (its start moves earlier if the component failed first);
    False when that incident changed meanwhile."""
    added = TimelineEvent(at=now, event="component_added", component=component.name)
    actions = [Incident.components.set(Incident.components.append([AffectedComponent(name=component.name,
                                                                                     started_at=transition.at)])),
               Incident.timeline.set(Incident.timeline.append([added]))]
    as_read = Incident.state == IncidentState.OPEN
    if transition.at < incident.started_at:
        actions += [Incident.started_at.set(transition.at),
                    Incident.started_key.set(f"{sort_key(transition.at)}#{incident.incident_id}")]
        as_read &= Incident.started_at == incident.started_at
    return changed_if(incident, actions, as_read)


def _record_recovery(component: Component, transition: Transition, now: datetime) -> str | None:
    """A component is back: its window closes; the incident resolves when all of its components are back.
    Nothing happens to an incident another writer resolved meanwhile (its components recovered with it)."""
    incident_id, component.incident_id = component.incident_id, None
    if incident_id is None:
        return None
    incident = Incident.get(incident_id, consistent_read=True)
    index = next((n for n, a in enumerate(incident.components)
                  if a.name == component.name and a.recovered_at is None), None)
    if incident.state != IncidentState.OPEN or index is None:
        return None
    recovered = TimelineEvent(at=now, event="component_recovered", component=component.name,
                              note=f"healthy since {iso(transition.at)}")
    window = Incident.components[index]
    if not changed_if(incident, [window.recovered_at.set(transition.at),
                                 Incident.timeline.set(Incident.timeline.append([recovered]))],
                      (Incident.state == IncidentState.OPEN) & (window.name == component.name)
                      & window.recovered_at.does_not_exist()):
        return None
    resolved_at = rules.incident_resolved_at([a.recovered_at for a in incident.components])  # as now stored
    if resolved_at is None or not close_incident(incident, resolved_at, now, "recovered"):
        return None  # a component is still down, or it was resolved (or joined) since the recovery was stored
    return incident.incident_id
