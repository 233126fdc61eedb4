"""What is watched and what is said about it: components and their heartbeats here; the one door the routes
and other domains use for outages (the detector in `detector`, incidents in `incidents`, the public status
in `snapshot`)."""

from datetime import datetime

from pynamodb.exceptions import UpdateError

from chalicelib.core.clock import iso
from chalicelib.core.config import get_settings
from chalicelib.core.dynamo import conflict_on_condition, failed_on_condition
from chalicelib.core.errors import NotFound, invalid_field
from chalicelib.outages import rules
from chalicelib.outages.detector import detect_outages
from chalicelib.outages.feed import render_feed
from chalicelib.outages.incidents import (
    declare_incident,
    incident_for,
    incident_window,
    list_incidents,
    post_update,
    resolve_incident,
)
from chalicelib.outages.models import Component
from chalicelib.outages.schemas import ComponentIn
from chalicelib.outages.snapshot import refresh_status_after_change, status
from chalicelib.outages.status_page import render_status_page
from chalicelib.outages.views import view_component, view_incident

__all__ = [  # the door: besides the actions below
    "declare_incident", "detect_outages", "incident_for", "incident_window", "list_incidents", "post_update",
    "resolve_incident", "status", "view_component", "view_incident",
]


def status_page(lang: str, now: datetime) -> str:
    """The public status page in `lang`, from the snapshot (one GetItem)."""
    return render_status_page(status(now), lang)


def status_feed(base_url: str, lang: str, now: datetime) -> str:
    """The Atom feed of the last 90 days' incidents and updates, from the snapshot (one GetItem)."""
    return render_feed(status(now), base_url, lang)


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
    refresh_status_after_change(now)
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
