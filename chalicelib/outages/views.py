"""Components and incidents as API.md shows them (to operators, and in part on the public status)."""

from datetime import datetime

from chalicelib.core.clock import iso
from chalicelib.outages import rules
from chalicelib.outages.models import Component, Incident


def view_component(record: Component) -> dict:
    """A watched component with its detector state."""
    return {"name": record.name, "state": record.state, "probe_url": record.probe_url,
            "heartbeat_timeout_s": int(record.heartbeat_timeout_s) if record.heartbeat_timeout_s else None,
            "last_check_at": iso(record.last_check_at) if record.last_check_at else None,
            "incident_id": record.incident_id}


def view_incident(incident: Incident, now: datetime) -> dict:
    """An incident with its component windows and timeline; `duration_s` runs to now while it is open."""
    return {"incident_id": incident.incident_id, "state": incident.state, "source": incident.source,
            "summary": incident.summary, "components": [a.name for a in incident.components],
            "component_windows": [{"name": a.name, "started_at": iso(a.started_at),
                                   "recovered_at": iso(a.recovered_at) if a.recovered_at else None}
                                  for a in incident.components],
            "started_at": iso(incident.started_at), "detected_at": iso(incident.detected_at),
            "resolved_at": iso(incident.resolved_at) if incident.resolved_at else None,
            "duration_s": rules.duration_s(incident.started_at, incident.resolved_at, now),
            "timeline": [{"at": iso(e.at), "event": e.event, "component": e.component, "note": e.note,
                          "status": e.status, "message": e.message} for e in incident.timeline]}
